/*
 * kannel_nodelay.c: preloaded into Kannel's bearerbox and smsbox by scripts/bench, it turns
 * Nagle's algorithm off (TCP_NODELAY) on every TCP socket they connect or accept.
 *
 * Why: fakesmsc answers each SMS with a delivery report at once. With dlr-mask set (as the
 * service's requests have), bearerbox then writes an ack and a report back to back on its
 * connection to smsbox; Kannel 1.4.5 leaves Nagle on there, so the second small write waits
 * for smsbox's delayed ACK: about one sendsms reply in four took 40 ms (measured in
 * docs/performance.md), whoever the client. A real SMSC reports seconds later, so this stall
 * is the test double's, not the gateway's; the bench removes it for every client alike.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void nodelay(int fd) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int connect(int fd, const struct sockaddr *address, socklen_t length) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
    if (address && (address->sa_family == AF_INET || address->sa_family == AF_INET6)) nodelay(fd);
    return real(fd, address, length);
}

int accept(int fd, struct sockaddr *address, socklen_t *length) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    int connection = real(fd, address, length);
    if (connection >= 0) nodelay(connection);
    return connection;
}
