/* faultinj.c: an LD_PRELOAD library that makes one call on a service's data file fail,
 * or records every write and flush to it for the power-cut simulation.
 *
 * The calls LMDB makes on its files (liblmdb's imports): open, pwrite, writev (after
 * lseek), write, fdatasync, fsync, ftruncate. This library passes them through, counts
 * those on a file whose name ends in TP_FAULT_FILE (default "/data.mdb") and are of the
 * kind TP_FAULT_OP, and makes the TP_FAULT_NTH one (1 = the first) fail as TP_FAULT_ERR says:
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
 * Without TP_FAULT_NTH the library only passes calls through. Besides, or instead:
 *
 *   TP_FAULT_RECORD  a journal (pcjournal.h) every write, flush and truncate of the file
 *                    is appended to as it returns, with its times, offset and bytes; the
 *                    calls on the file are serialised meanwhile, so the journal's order is
 *                    theirs. LMDB writes its meta page through a second descriptor opened
 *                    O_DSYNC: such writes are recorded as durable when they return.
 *   TP_FAULT_PLANT   a bug planted in the "system", for the power-cut test to catch:
 *                    nosync   a flush of the file returns 0 without flushing (recorded so:
 *                             no barrier), as a disk that acknowledges its cache does;
 *                    nodsync  the file is opened without O_DSYNC, so the meta page, and the
 *                             commit with it, is not durable when the reply goes out.
 *
 * Not thread-hostile: the count is atomic, the table of watched descriptors is written by
 * open/close only, the journal under a lock.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "pcjournal.h"

#define S_FDS     4096
#define S_WATCHED 1 /* s.fds[fd]: a watched file */
#define S_DSYNC   2 /* opened O_DSYNC (or O_SYNC): its writes are durable when done */

enum { OP_FDATASYNC = 1, OP_FSYNC = 2, OP_PWRITE = 4, OP_WRITEV = 8, OP_WRITE = 16 };

static struct {
    bool ready;
    unsigned ops;             /* which calls count */
    long nth;                 /* the one that fails (0: none) */
    int err;                  /* its errno, or 0 for a short write */
    bool sticky;              /* every one after it too */
    const char *suffix;       /* the watched file's name ends so */
    const char *mark;         /* created when the fault fires */
    long count;               /* matching calls so far (atomic) */
    unsigned char fds[S_FDS]; /* S_WATCHED | S_DSYNC per descriptor */
    int journal;              /* TP_FAULT_RECORD's descriptor, or -1 */
    pthread_mutex_t lock;     /* the journal, and the recorded call with it */
    bool nosync;              /* planted: flushes of the file are not done */
    bool nodsync;             /* planted: the file is never opened O_DSYNC */
    int (*open)(const char *, int, ...);
    int (*open64)(const char *, int, ...);
    int (*close)(int);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*pwrite64)(int, const void *, size_t, off_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*write)(int, const void *, size_t);
    int (*fdatasync)(int);
    int (*fsync)(int);
    int (*ftruncate)(int, off_t);
} s = {.journal = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

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
    s.ftruncate = dlsym(RTLD_NEXT, "ftruncate");
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
    const char *plant = getenv("TP_FAULT_PLANT");
    s.nosync = plant && strcmp(plant, "nosync") == 0;
    s.nodsync = plant && strcmp(plant, "nodsync") == 0;
    /* appended to, never truncated: a process this one starts must not wipe it */
    const char *journal = getenv("TP_FAULT_RECORD");
    if (journal && *journal) {
        s.journal = s.open(journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (s.journal < 0) {
            fprintf(stderr, "faultinj: cannot open the journal %s\n", journal);
            abort();
        }
    }
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

static bool s_matches(const char *path)
{
    size_t n = strlen(path), k = strlen(s.suffix);
    return n >= k && strcmp(path + n - k, s.suffix) == 0;
}

static void s_watch(bool watched, int flags, int fd)
{
    if (fd >= 0 && fd < S_FDS)
        s.fds[fd] = watched ? S_WATCHED | ((flags & O_DSYNC) ? S_DSYNC : 0) : 0;
}

static bool s_watched(int fd)
{
    return fd >= 0 && fd < S_FDS && (s.fds[fd] & S_WATCHED);
}

/* Whether this call (of kind @p op on @p fd) is the one to fail. */
static bool s_fire(int fd, unsigned op)
{
    s_init();
    if (!s.nth || !(s.ops & op) || !s_watched(fd))
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

//  --------------------------------------------------------------------------
//  The journal

static int64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* All of @p n bytes into the journal. A journal with a hole would rebuild files that
 * never were, so a failure ends the process. */
static void s_put(const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = s.write(s.journal, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "faultinj: cannot write the journal\n");
            abort();
        }
        p += w;
        n -= (size_t) w;
    }
}

/* One record, begun at @p start, ending now; the first @p len bytes of @p v follow it. */
static void s_record(uint32_t kind, int64_t start, uint64_t off, uint64_t len,
                     const struct iovec *v, int nv)
{
    pc_rec_t r = {kind, 0, start, s_now(), off, len};
    s_put(&r, sizeof r);
    for (int i = 0; i < nv && len > 0; i++) {
        size_t k = v[i].iov_len < len ? v[i].iov_len : (size_t) len;
        s_put(v[i].iov_base, k);
        len -= k;
    }
}

static bool s_recording(int fd)
{
    s_init();
    return s.journal >= 0 && s_watched(fd);
}

/* The real write of @p v at @p at (the descriptor's offset when the call has none). */
typedef ssize_t(s_via_fn)(int fd, const struct iovec *v, int nv, off_t at);

static ssize_t s_via_pwrite(int fd, const struct iovec *v, int nv, off_t at)
{
    return s.pwrite(fd, v->iov_base, v->iov_len, at);
}

static ssize_t s_via_pwrite64(int fd, const struct iovec *v, int nv, off_t at)
{
    return s.pwrite64 ? s.pwrite64(fd, v->iov_base, v->iov_len, at)
                      : s.pwrite(fd, v->iov_base, v->iov_len, at);
}

static ssize_t s_via_writev(int fd, const struct iovec *v, int nv, off_t at)
{
    return s.writev(fd, v, nv);
}

static ssize_t s_via_write(int fd, const struct iovec *v, int nv, off_t at)
{
    return s.write(fd, v->iov_base, v->iov_len);
}

/* A write by @p via, recorded with what it wrote where when the file is recorded;
 * @p at < 0: where the descriptor stands. */
static ssize_t s_io(int fd, const struct iovec *v, int nv, off_t at, s_via_fn *via)
{
    if (!s_recording(fd))
        return via(fd, v, nv, at);
    pthread_mutex_lock(&s.lock);
    if (at < 0)
        at = lseek(fd, 0, SEEK_CUR);
    int64_t start = s_now();
    ssize_t w = via(fd, v, nv, at);
    int saved = errno;
    if (w > 0 && at >= 0)
        s_record(s.fds[fd] & S_DSYNC ? PC_DWRITE : PC_WRITE, start, (uint64_t) at, (uint64_t) w, v,
                 nv);
    pthread_mutex_unlock(&s.lock);
    errno = saved;
    return w;
}

/* A flush by @p real: recorded as a barrier when it did its work. */
static int s_sync(int fd, int (*real)(int))
{
    bool watched = s_watched(fd);
    if (!watched || (s.journal < 0 && !s.nosync))
        return real(fd);
    pthread_mutex_lock(&s.lock);
    int64_t start = s_now();
    int rc = s.nosync ? 0 : real(fd);
    int saved = errno;
    if (rc == 0 && s.journal >= 0)
        s_record(s.nosync ? PC_NOSYNC : PC_SYNC, start, 0, 0, NULL, 0);
    pthread_mutex_unlock(&s.lock);
    errno = saved;
    return rc;
}

//  --------------------------------------------------------------------------
//  The calls

static mode_t s_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

/* The flags a watched file is opened with: without O_DSYNC under the planted bug. */
static int s_flags(bool watched, int flags)
{
    return watched && s.nodsync ? flags & ~(O_DSYNC | O_SYNC) : flags;
}

int open(const char *path, int flags, ...)
{
    s_init();
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    bool watched = s_matches(path);
    flags = s_flags(watched, flags);
    int fd = s.open(path, flags, mode);
    s_watch(watched, flags, fd);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    s_init();
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    bool watched = s_matches(path);
    flags = s_flags(watched, flags);
    int fd = s.open64 ? s.open64(path, flags, mode) : s.open(path, flags, mode);
    s_watch(watched, flags, fd);
    return fd;
}

int close(int fd)
{
    s_init();
    if (fd >= 0 && fd < S_FDS)
        s.fds[fd] = 0;
    return s.close(fd);
}

/* One buffer written by @p via (at @p at; < 0: where the descriptor stands), unless the
 * fault fires on this call of kind @p op: then the error, or half of it ("short"). */
static ssize_t s_write_one(int fd, const void *buf, size_t n, off_t at, unsigned op,
                           s_via_fn *via)
{
    struct iovec v = {(void *) buf, n};
    if (s_fire(fd, op)) {
        if (s.err) {
            errno = s.err;
            return -1;
        }
        v.iov_len = n / 2;
    }
    return s_io(fd, &v, 1, at, via);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t at)
{
    return s_write_one(fd, buf, n, at, OP_PWRITE, s_via_pwrite);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t at)
{
    return s_write_one(fd, buf, n, at, OP_PWRITE, s_via_pwrite64);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (s_fire(fd, OP_WRITEV)) {
        if (!s.err && n > 0) { /* half: the first buffer only, or half of it */
            struct iovec v = {iov[0].iov_base, n > 1 ? iov[0].iov_len : iov[0].iov_len / 2};
            return s_io(fd, &v, 1, -1, s_via_write);
        }
        errno = s.err ? s.err : EIO;
        return -1;
    }
    return s_io(fd, iov, n, -1, s_via_writev);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    return s_write_one(fd, buf, n, -1, OP_WRITE, s_via_write);
}

int fdatasync(int fd)
{
    if (s_fire(fd, OP_FDATASYNC)) {
        errno = s.err ? s.err : EIO;
        return -1;
    }
    return s_sync(fd, s.fdatasync);
}

int fsync(int fd)
{
    if (s_fire(fd, OP_FSYNC)) {
        errno = s.err ? s.err : EIO;
        return -1;
    }
    return s_sync(fd, s.fsync);
}

int ftruncate(int fd, off_t size)
{
    if (!s_recording(fd))
        return s.ftruncate(fd, size);
    pthread_mutex_lock(&s.lock);
    int64_t start = s_now();
    int rc = s.ftruncate(fd, size);
    int saved = errno;
    if (rc == 0)
        s_record(PC_TRUNCATE, start, (uint64_t) size, 0, NULL, 0);
    pthread_mutex_unlock(&s.lock);
    errno = saved;
    return rc;
}
