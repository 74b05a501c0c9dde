/* faultinj.c: an LD_PRELOAD library that makes one call on a service's data file fail.
 *
 * The calls LMDB makes on its files (liblmdb's imports): open, pwrite, writev (after
 * lseek), write, fdatasync, fsync. This library passes them through, counts those on a
 * file whose name ends in TP_FAULT_FILE (default "/data.mdb") and are of the kind
 * TP_FAULT_OP, and makes the TP_FAULT_NTH one (1 = the first) fail as TP_FAULT_ERR says:
 *
 *   TP_FAULT_OP   fdatasync | fsync | sync (either) | pwrite | writev | write |
 *                 io (pwrite, writev or write) | any
 *   TP_FAULT_ERR  EIO | ENOSPC (the call returns -1 with that errno) |
 *                 short (a write writes half and says so; a flush fails with EIO)
 *   TP_FAULT_STICKY=1  every matching call after the Nth fails too (a dead disk)
 *   TP_FAULT_MARK  a file created (empty) when the fault fires, so a test knows it did
 *   TP_FAULT_COUNT a file the count of matching calls is written to at exit (to choose
 *                  the range of N)
 *
 * Without TP_FAULT_NTH the library only passes calls through. Not thread-hostile: the
 * count is atomic, the table of watched descriptors is written by open/close only.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_FDS 4096

enum { OP_FDATASYNC = 1, OP_FSYNC = 2, OP_PWRITE = 4, OP_WRITEV = 8, OP_WRITE = 16 };

static struct {
    bool ready;
    unsigned ops;            /* which calls count */
    long nth;                /* the one that fails (0: none) */
    int err;                 /* its errno, or 0 for a short write */
    bool sticky;             /* every one after it too */
    const char *suffix;      /* the watched file's name ends so */
    const char *mark;        /* created when the fault fires */
    long count;              /* matching calls so far (atomic) */
    unsigned char fds[S_FDS];/* 1: a watched file */
    int (*open)(const char *, int, ...);
    int (*open64)(const char *, int, ...);
    int (*close)(int);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*pwrite64)(int, const void *, size_t, off_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*write)(int, const void *, size_t);
    int (*fdatasync)(int);
    int (*fsync)(int);
} s;

static void s_init(void)
{
    if (s.ready)
        return;
    s.open = dlsym(RTLD_NEXT, "open");
    s.open64 = dlsym(RTLD_NEXT, "open64");
    s.close = dlsym(RTLD_NEXT, "close");
    s.pwrite = dlsym(RTLD_NEXT, "pwrite");
    s.pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    s.writev = dlsym(RTLD_NEXT, "writev");
    s.write = dlsym(RTLD_NEXT, "write");
    s.fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    s.fsync = dlsym(RTLD_NEXT, "fsync");
    const char *op = getenv("TP_FAULT_OP");
    static const struct {
        const char *name;
        unsigned ops;
    } names[] = {{"fdatasync", OP_FDATASYNC},
                 {"fsync", OP_FSYNC},
                 {"sync", OP_FDATASYNC | OP_FSYNC},
                 {"pwrite", OP_PWRITE},
                 {"writev", OP_WRITEV},
                 {"write", OP_WRITE},
                 {"io", OP_PWRITE | OP_WRITEV | OP_WRITE},
                 {"any", 31}};
    for (size_t i = 0; op && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(op, names[i].name) == 0)
            s.ops = names[i].ops;
    const char *nth = getenv("TP_FAULT_NTH");
    s.nth = nth ? atol(nth) : 0;
    const char *err = getenv("TP_FAULT_ERR");
    s.err = !err || strcmp(err, "EIO") == 0 ? EIO : strcmp(err, "ENOSPC") == 0 ? ENOSPC : 0;
    s.sticky = getenv("TP_FAULT_STICKY") && strcmp(getenv("TP_FAULT_STICKY"), "1") == 0;
    s.suffix = getenv("TP_FAULT_FILE") ? getenv("TP_FAULT_FILE") : "/data.mdb";
    s.mark = getenv("TP_FAULT_MARK");
    s.ready = true;
}

__attribute__((destructor)) static void s_dtor(void)
{
    const char *path = getenv("TP_FAULT_COUNT");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%ld\n", s.count);
        fclose(f);
    }
}

/* Before any thread of the process runs: the table is read unlocked later. */
__attribute__((constructor)) static void s_ctor(void)
{
    s_init();
}

static void s_watch(const char *path, int fd)
{
    size_t n = strlen(path), k = strlen(s.suffix);
    if (fd >= 0 && fd < S_FDS)
        s.fds[fd] = n >= k && strcmp(path + n - k, s.suffix) == 0;
}

/* Whether this call (of kind @p op on @p fd) is the one to fail. */
static bool s_fire(int fd, unsigned op)
{
    s_init();
    if (!s.nth || !(s.ops & op) || fd < 0 || fd >= S_FDS || !s.fds[fd])
        return false;
    long n = __atomic_add_fetch(&s.count, 1, __ATOMIC_SEQ_CST);
    if (n < s.nth || (n > s.nth && !s.sticky))
        return false;
    if (n == s.nth && s.mark) {
        int m = s.open(s.mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (m >= 0)
            s.close(m);
    }
    return true;
}

static mode_t s_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
    s_init();
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    int fd = s.open(path, flags, mode);
    s_watch(path, fd);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    s_init();
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    int fd = s.open64 ? s.open64(path, flags, mode) : s.open(path, flags, mode);
    s_watch(path, fd);
    return fd;
}

int close(int fd)
{
    s_init();
    if (fd >= 0 && fd < S_FDS)
        s.fds[fd] = 0;
    return s.close(fd);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t at)
{
    if (s_fire(fd, OP_PWRITE)) {
        if (!s.err)
            return s.pwrite(fd, buf, n / 2, at);
        errno = s.err;
        return -1;
    }
    return s.pwrite(fd, buf, n, at);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t at)
{
    if (s_fire(fd, OP_PWRITE)) {
        if (!s.err)
            return s.pwrite64(fd, buf, n / 2, at);
        errno = s.err;
        return -1;
    }
    return s.pwrite64(fd, buf, n, at);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (s_fire(fd, OP_WRITEV)) {
        if (!s.err && n > 0)   /* half: the first buffer only, or half of it */
            return n > 1 ? s.write(fd, iov[0].iov_base, iov[0].iov_len)
                         : s.write(fd, iov[0].iov_base, iov[0].iov_len / 2);
        errno = s.err ? s.err : EIO;
        return -1;
    }
    return s.writev(fd, iov, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (s_fire(fd, OP_WRITE)) {
        if (!s.err)
            return s.write(fd, buf, n / 2);
        errno = s.err;
        return -1;
    }
    return s.write(fd, buf, n);
}

int fdatasync(int fd)
{
    if (s_fire(fd, OP_FDATASYNC)) {
        errno = s.err ? s.err : EIO;
        return -1;
    }
    return s.fdatasync(fd);
}

int fsync(int fd)
{
    if (s_fire(fd, OP_FSYNC)) {
        errno = s.err ? s.err : EIO;
        return -1;
    }
    return s.fsync(fd);
}
