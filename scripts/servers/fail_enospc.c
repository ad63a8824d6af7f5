/*
 * An LD_PRELOAD shim for fault F20 (the disk is full when SQLite writes its WAL), used by
 * Tests/BlackBoxTests/DiskFullTests.swift:
 *
 *   cc -shared -fPIC -o fail_enospc.so scripts/servers/fail_enospc.c -ldl
 *   LD_PRELOAD=$PWD/fail_enospc.so FAIL_ENOSPC_FLAG=/tmp/flag contact-verify serve ...
 *
 * While the file named by FAIL_ENOSPC_FLAG exists, write(2), pwrite(2) and pwrite64 to a
 * file whose path ends in "-wal" fail with ENOSPC without writing anything, as they do on a
 * full file system; every other write, and every write while the flag is absent, passes
 * through to libc. These are the calls SQLite's unix VFS makes for the WAL (it uses pwrite64
 * on Linux; write or pwrite in other builds). libsqlite3.so calls them through the PLT, so
 * the shim sees them.
 *
 * With FAIL_ENOSPC_PATTERN set as well, only the WAL writes whose bytes contain that string
 * fail: a test can aim the fault at the one transaction that writes a value it knows (a
 * stored response body, say) and let every other transaction commit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*write_function)(int, const void *, size_t);
typedef ssize_t (*pwrite_function)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_function)(int, const void *, size_t, off64_t);

/* Whether a write of `count` bytes from `buffer` to `fd` is to fail now. errno is left as it was. */
static int failing(int fd, const void *buffer, size_t count) {
    const char *flag = getenv("FAIL_ENOSPC_FLAG");
    if (flag == NULL) return 0;
    int saved = errno;
    int fail = 0;
    if (access(flag, F_OK) == 0) {
        char link[64], path[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t length = readlink(link, path, sizeof path - 1);
        if (length >= 4 && memcmp(path + length - 4, "-wal", 4) == 0) {
            const char *pattern = getenv("FAIL_ENOSPC_PATTERN");
            fail = pattern == NULL || *pattern == '\0' || memmem(buffer, count, pattern, strlen(pattern)) != NULL;
        }
    }
    errno = saved;
    return fail;
}

ssize_t write(int fd, const void *buffer, size_t count) {
    if (failing(fd, buffer, count)) {
        errno = ENOSPC;
        return -1;
    }
    return ((write_function)dlsym(RTLD_NEXT, "write"))(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    if (failing(fd, buffer, count)) {
        errno = ENOSPC;
        return -1;
    }
    return ((pwrite_function)dlsym(RTLD_NEXT, "pwrite"))(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
    if (failing(fd, buffer, count)) {
        errno = ENOSPC;
        return -1;
    }
    return ((pwrite64_function)dlsym(RTLD_NEXT, "pwrite64"))(fd, buffer, count, offset);
}
