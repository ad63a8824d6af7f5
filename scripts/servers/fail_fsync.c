/*
 * An LD_PRELOAD shim for fault F21 (fsync returns EIO), used by
 * Tests/BlackBoxTests/FsyncFailureTests.swift:
 *
 *   cc -shared -fPIC -o fail_fsync.so scripts/servers/fail_fsync.c -ldl
 *   LD_PRELOAD=$PWD/fail_fsync.so FAIL_FSYNC_FLAG=/tmp/flag contact-verify serve ...
 *
 * While the file named by FAIL_FSYNC_FLAG exists, fsync(2) and fdatasync(2) fail with EIO
 * without syncing anything, as they do after a device error; otherwise they pass through to
 * libc. SQLite (libsqlite3.so, linked dynamically) calls fdatasync through the PLT, so the
 * shim sees its calls.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*sync_function)(int);

/* Whether the flag file exists now (errno is left as it was). */
static int failing(void) {
    const char *flag = getenv("FAIL_FSYNC_FLAG");
    int saved = errno;
    int exists = flag != NULL && access(flag, F_OK) == 0;
    errno = saved;
    return exists;
}

/* libc's own function `name`. */
static sync_function next(const char *name) {
    return (sync_function)dlsym(RTLD_NEXT, name);
}

int fsync(int fd) {
    if (failing()) {
        errno = EIO;
        return -1;
    }
    return next("fsync")(fd);
}

int fdatasync(int fd) {
    if (failing()) {
        errno = EIO;
        return -1;
    }
    return next("fdatasync")(fd);
}
