/* svc_lock.c: one process per service log (see svc_lock.h). */
#include "svc_lock.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "svc.h"

struct _svc_lock_t {
    int fd;   /* the open lock file: closing it releases the lock */
};

/* The program of process @p pid: its argv[0] without the folder, "?" when unknown.
 * Not /proc/PID/comm, which cuts "tp-identification" to 15 characters. */
static void s_program(pid_t pid, char *out, size_t outsz)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';   /* argv[0] ends at its own NUL */
    const char *slash = strrchr(buf, '/');
    snprintf(out, outsz, "%s", !buf[0] ? "?" : slash ? slash + 1 : buf);
}

/* The holder's "<pid> <program>\n" from the lock file open at @p fd: 0, or -1 when the
 * line is not (yet) whole: the holder writes it just after it took the lock. */
static int s_holder(int fd, pid_t *pid, char *program, size_t programsz)
{
    char buf[300];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    int p = 0, at = 0;
    char *nl = strchr(buf, '\n');
    if (!nl || sscanf(buf, "%d %n", &p, &at) != 1 || p <= 0 || buf + at > nl)
        return -1;
    *nl = '\0';
    *pid = p;
    snprintf(program, programsz, "%s", buf + at);
    return 0;
}

/* The folder, 0700 as evs_open() makes it; its parents first when they are missing. */
static int s_make_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    char parent[PATH_MAX];
    const char *slash = strrchr(dir, '/');
    if (errno != ENOENT || !slash || slash == dir || (size_t) (slash - dir) >= sizeof parent)
        return -1;
    memcpy(parent, dir, (size_t) (slash - dir));
    parent[slash - dir] = '\0';
    if (zsys_dir_create("%s", parent) != 0)
        return -1;
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* 0 when binding @p ep takes nothing from another live process: not an ipc:// socket
 * file (a tcp port in use fails the bind and touches nothing; an abstract "@name" has
 * no file), no socket file, or one that refuses connections (left by a process that
 * died). Costs one connect(); the other side sees a connection that closes at once. */
static int s_ipc_free(const char *name, const char *ep)
{
    if (strncmp(ep, "ipc://", 6) != 0 || ep[6] == '@')
        return 0;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(ep + 6) >= sizeof a.sun_path)
        return 0;   /* zmq_bind() refuses it with its own message */
    memcpy(a.sun_path, ep + 6, strlen(ep + 6) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        zsys_error("%s: cannot check %s: socket: %s; not starting", name, ep, strerror(errno));
        return -1;
    }
    int rc = connect(fd, (struct sockaddr *) &a, sizeof a);
    int err = rc == 0 ? 0 : errno;
    struct ucred peer = {0};
    socklen_t len = sizeof peer;
    if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0)
        peer.pid = 0;
    close(fd);
    if (err == ECONNREFUSED || err == ENOENT || (rc == 0 && peer.pid == getpid()))
        return 0;
    if (rc != 0 && err != EAGAIN) {   /* EAGAIN: a full backlog, so someone listens */
        zsys_error("%s: cannot check %s: connect: %s; not starting", name, ep, strerror(err));
        return -1;
    }
    char program[256] = "?";
    if (peer.pid > 0)
        s_program(peer.pid, program, sizeof program);
    zsys_error("%s: %s is served by process %d (%s); not starting", name, ep, (int) peer.pid,
               program);
    return -1;
}

/* Takes @p dir for @p self: 0; -1 with the reason in @p why; -2 when another process
 * holds it, @p why naming that process. */
static int s_take(svc_lock_t *self, const char *dir, char *why, size_t whysz)
{
    char path[600];
    snprintf(path, sizeof path, "%s/" SVC_LOCK_FILE, dir);
    if (s_make_dir(dir) != 0) {
        snprintf(why, whysz, "cannot make the data folder %s: %s", dir, strerror(errno));
        return -1;
    }
    self->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (self->fd < 0) {
        snprintf(why, whysz, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(self->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            snprintf(why, whysz, "cannot lock %s: %s", path, strerror(errno));
            return -1;
        }
        pid_t pid = 0;
        char program[256];
        for (int i = 0; i < 20 && s_holder(self->fd, &pid, program, sizeof program) != 0; i++)
            zclock_sleep(10);   /* a holder that has just started: its line comes at once */
        if (pid > 0)
            snprintf(why, whysz, "the log in %s is in use by process %d (%s)", dir, (int) pid,
                     program);
        else
            snprintf(why, whysz, "the log in %s is in use by another process (%s names none)",
                     dir, path);
        return -2;
    }
    char program[256], line[300];
    s_program(getpid(), program, sizeof program);
    int len = snprintf(line, sizeof line, "%d %s\n", (int) getpid(), program);
    if (ftruncate(self->fd, 0) != 0 || pwrite(self->fd, line, (size_t) len, 0) != len) {
        snprintf(why, whysz, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

svc_lock_t *svc_lock_dir(const char *dir, char *why, size_t whysz)
{
    svc_lock_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    self->fd = -1;
    if (s_take(self, dir, why, whysz) != 0)
        svc_lock_destroy(&self);
    return self;
}

svc_lock_t *svc_lock_new(zconfig_t *config, const char *name)
{
    char dir[512], why[1400];
    svc_data_dir(config, name, dir, sizeof dir);
    svc_lock_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->fd = -1;
    int rc = s_take(self, dir, why, sizeof why);
    if (rc != 0) {
        zsys_error("%s: %s%s", name, why, rc == -2 ? "; not starting" : "");
        goto fail;
    }
    const char *kinds[] = {"pub", "router"};
    char ep[512];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        svc_endpoint(config, name, kinds[i], ep, sizeof ep);
        if (s_ipc_free(name, ep) != 0)
            goto fail;
    }
    const char *producer = svc_config_get(config, name, "producer", NULL);
    if (producer && s_ipc_free(name, producer) != 0)
        goto fail;
    return self;
fail:
    svc_lock_destroy(&self);
    return NULL;
}

void svc_lock_destroy(svc_lock_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->fd >= 0)
        close((*self_p)->fd);
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------------ self-test */

static int s_failed;
#define S_CHECK(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "svc_lock_test: %s:%d: failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                            \
            s_failed = 1;                                                              \
        }                                                                              \
    } while (0)

/* A child that runs @p body (which returns at once) and then waits to be killed; its
 * pid once @p body is done, or -1. Only _exit() in the child: the parent's atexit
 * handlers (CZMQ's) must not run there. */
static pid_t s_child(void (*body)(zconfig_t *config, const char *arg), zconfig_t *config,
                     const char *arg)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        body(config, arg);
        char c = 'y';
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c = 'n';
    if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'y')
        pid = -1;
    close(p[0]);
    close(p[1]);
    return pid;
}

static void s_child_lock(zconfig_t *config, const char *name)
{
    if (!svc_lock_new(config, name))   /* held until the child is killed */
        _exit(1);
}

/* A unix socket listening at @p path: the fd, or -1. */
static int s_listen(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (bind(fd, (struct sockaddr *) &a, sizeof a) != 0 || listen(fd, 8) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void s_child_listen(zconfig_t *config, const char *path)
{
    (void) config;
    if (s_listen(path) < 0)   /* listening until the child is killed */
        _exit(1);
}

static void s_kill(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* The holder named in @p dir's lock file; 0 when none. */
static pid_t s_holder_of(const char *dir, char *program, size_t programsz)
{
    char path[600];
    snprintf(path, sizeof path, "%s/" SVC_LOCK_FILE, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    pid_t pid = 0;
    if (fd >= 0 && s_holder(fd, &pid, program, programsz) != 0)
        pid = 0;
    if (fd >= 0)
        close(fd);
    return pid;
}

int svc_lock_test(bool verbose)
{
    s_failed = 0;
    char base[] = "/tmp/tp-lock-test-XXXXXX";
    S_CHECK(mkdtemp(base) != NULL);
    char data[100], dir[120], path[160], program[256];
    snprintf(data, sizeof data, "%s/a/data", base);   /* parents made too */
    snprintf(dir, sizeof dir, "%s/alpha", data);
    zconfig_t *config = zconfig_new("root", NULL);
    zconfig_put(config, "data", data);
    zconfig_put(config, "run", base);
    if (verbose)
        printf("svc_lock_test: in %s; the refusals below are expected\n", base);

    /* taken: the folder 0700, the file 0600 naming this process, close-on-exec */
    svc_lock_t *lock = svc_lock_new(config, "alpha");
    S_CHECK(lock);
    struct stat st;
    S_CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    snprintf(path, sizeof path, "%s/" SVC_LOCK_FILE, dir);
    S_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    S_CHECK(s_holder_of(dir, program, sizeof program) == getpid());
    S_CHECK(streq(program, program_invocation_short_name));
    S_CHECK(lock && (fcntl(lock->fd, F_GETFD) & FD_CLOEXEC));

    /* a second taker is refused, even in the same process; another folder is free */
    S_CHECK(svc_lock_new(config, "alpha") == NULL);
    svc_lock_t *beta = svc_lock_new(config, "beta");
    S_CHECK(beta);
    svc_lock_destroy(&beta);

    /* released: taken again; destroy is safe twice */
    svc_lock_destroy(&lock);
    S_CHECK(lock == NULL);
    svc_lock_destroy(&lock);
    lock = svc_lock_new(config, "alpha");
    S_CHECK(lock);
    svc_lock_destroy(&lock);

    /* a tool takes the folder as a service does: each refuses the other, naming it */
    char why[300];
    svc_lock_t *tool = svc_lock_dir(dir, why, sizeof why);
    S_CHECK(tool);
    S_CHECK(svc_lock_new(config, "alpha") == NULL);
    S_CHECK(svc_lock_dir(dir, why, sizeof why) == NULL);
    S_CHECK(strstr(why, "is in use by process") && strstr(why, program_invocation_short_name));
    svc_lock_destroy(&tool);

    /* held by another process: refused, the file names it; once it is killed the
     * kernel has let go and the folder is free with no clean-up */
    pid_t child = s_child(s_child_lock, config, "alpha");
    S_CHECK(child > 0);
    S_CHECK(svc_lock_new(config, "alpha") == NULL);
    S_CHECK(s_holder_of(dir, program, sizeof program) == child);
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "process %d (", (int) child);
    S_CHECK(svc_lock_dir(dir, why, sizeof why) == NULL && strstr(why, pid_text));
    s_kill(child);
    lock = svc_lock_new(config, "alpha");
    S_CHECK(lock);
    S_CHECK(s_holder_of(dir, program, sizeof program) == getpid());
    svc_lock_destroy(&lock);

    /* gamma's router socket served by another process (another data folder, the same
     * run folder): refused; the file it leaves when killed is not in the way */
    char sock[160];
    snprintf(sock, sizeof sock, "%s/gamma.router", base);
    child = s_child(s_child_listen, config, sock);
    S_CHECK(child > 0);
    S_CHECK(svc_lock_new(config, "gamma") == NULL);
    s_kill(child);
    S_CHECK(access(sock, F_OK) == 0);
    lock = svc_lock_new(config, "gamma");
    S_CHECK(lock);
    svc_lock_destroy(&lock);

    /* this process's own socket does not count (a previous actor's, still closing) */
    snprintf(sock, sizeof sock, "%s/delta.pub", base);
    int own = s_listen(sock);
    S_CHECK(own >= 0);
    lock = svc_lock_new(config, "delta");
    S_CHECK(lock);
    svc_lock_destroy(&lock);
    if (own >= 0)
        close(own);

    zconfig_destroy(&config);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    S_CHECK(system(cmd) == 0);
    return s_failed;
}
