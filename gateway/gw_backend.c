/* gw_backend.c: per-thread service clients, time-outs, and the fail-fast memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "evs_bus.h"
#include "gw_backend.h"
#include "gw_task.h"

/* A call in flight from a task, waiting for its reply: lives on the task's stack. */
typedef struct s_pending s_pending_t;
struct s_pending {
    s_pending_t *prev, *next;     /* in the thread's list of calls in flight */
    s_pending_t *ready_next;      /* settled, in the list of tasks to wake */
    evs_client_t *client;         /* the socket it was sent on */
    const char *id;               /* its request id */
    int64_t deadline;             /* zclock_mono() ms */
    gw_task_t *task;              /* who waits */
    Tp__Reply *reply;             /* the reply, once it came */
    bool settled;                 /* replied, timed out or cancelled */
    bool cancelled;               /* the thread is stopping */
};

/* A task waiting until no call with its request id is in flight on its socket. */
typedef struct s_blocked s_blocked_t;
struct s_blocked {
    gw_task_t *task;
    s_blocked_t *next;
};

/* A client set aside after a time-out while other calls on it were still in flight;
 * destroyed once none is. */
typedef struct s_retired s_retired_t;
struct s_retired {
    evs_client_t *client;
    s_retired_t *next;
};

/* One worker thread's clients, one per service, created on first use, and what its
 * tasks wait for. */
typedef struct {
    evs_client_t *client[GW_SVC_COUNT];
    int client_fd[GW_SVC_COUNT];   /* its socket's ZMQ_FD as registered in epfd, or -1 */
    bool maybe[GW_SVC_COUNT];      /* replies may be waiting on it: sent on, or woken */
    s_retired_t *retired;
    s_pending_t *pending;          /* calls in flight */
    s_blocked_t *blocked;          /* tasks waiting for a request id to be free */
    int epfd;                      /* the thread's event loop (epoll), or -1 */
    uint64_t epoll_tag;            /* epoll data of service 0's descriptors (+ svc for others) */
    bool stopping;                 /* calls are refused; those in flight cancelled */
} s_thread_t;

static const gw_config_t *s_config;
static pthread_key_t s_key;
static pthread_once_t s_key_once = PTHREAD_ONCE_INIT;
/* monotonic ms until which each service counts as down (0: not known down) */
static _Atomic int64_t s_down_until[GW_SVC_COUNT];
/* monotonic ms of each service's last answer */
static _Atomic int64_t s_last_ok[GW_SVC_COUNT];

/* A service that has not answered for this long is probed (one connect()) before a
 * call, so that a stopped one is refused at once instead of after a time-out. Under
 * load services answer all the time and are never probed. */
#define S_PROBE_IDLE_MS 1000

static void s_unwatch(s_thread_t *t, evs_client_t *c)
{
    if (t->epfd >= 0 && c)
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, zsock_fd(evs_client_sock(c)), NULL);
}

static void s_thread_free(void *arg)
{
    s_thread_t *t = arg;
    if (!t)
        return;
    for (int i = 0; i < GW_SVC_COUNT; i++) {
        s_unwatch(t, t->client[i]);
        evs_client_destroy(&t->client[i]);
    }
    while (t->retired) {
        s_retired_t *r = t->retired;
        t->retired = r->next;
        s_unwatch(t, r->client);
        evs_client_destroy(&r->client);
        free(r);
    }
    free(t);
}

static void s_make_key(void)
{
    if (pthread_key_create(&s_key, s_thread_free) != 0)
        zsys_error("gateway: pthread_key_create failed");
}

int gw_backend_init(const gw_config_t *config)
{
    s_config = config;
    pthread_once(&s_key_once, s_make_key);
    for (int i = 0; i < GW_SVC_COUNT; i++) {
        atomic_store(&s_down_until[i], 0);
        atomic_store(&s_last_ok[i], 0);
    }
    return 0;
}

void gw_backend_thread_done(void)
{
    s_thread_t *t = pthread_getspecific(s_key);
    if (t) {
        pthread_setspecific(s_key, NULL);
        s_thread_free(t);
    }
}

/* The calling thread's state; NULL when out of memory. */
static s_thread_t *s_thread(void)
{
    s_thread_t *t = pthread_getspecific(s_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(s_key, t) != 0) {
            free(t);
            return NULL;
        }
        t->epfd = -1;
        for (int i = 0; i < GW_SVC_COUNT; i++)
            t->client_fd[i] = -1;
    }
    return t;
}

/* Registers the client's socket with the thread's loop (again after it was recreated). */
static void s_watch(s_thread_t *t, gw_svc_t svc)
{
    if (t->epfd < 0 || !t->client[svc])
        return;
    int fd = zsock_fd(evs_client_sock(t->client[svc]));
    if (fd == t->client_fd[svc])
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = t->epoll_tag + (uint64_t) svc};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST)
        zsys_error("gateway: cannot watch the socket of %s: %s", gw_svc_name(svc),
                   strerror(errno));
    t->client_fd[svc] = fd;
}

/* The calling thread's client of @p svc; NULL when out of memory or a bad endpoint. */
static evs_client_t *s_client(gw_svc_t svc)
{
    s_thread_t *t = s_thread();
    if (!t)
        return NULL;
    if (!t->client[svc]) {
        t->client[svc] = evs_client_new_cert(s_config->endpoint[svc], s_config->cert,
                                             s_config->server_key[svc]);
        t->client_fd[svc] = -1;
        if (!t->client[svc])
            zsys_error("gateway: bad endpoint of %s: %s", gw_svc_name(svc),
                       s_config->endpoint[svc]);
        s_watch(t, svc);
    }
    return t->client[svc];
}

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The socket file of an ipc:// endpoint, or NULL for other transports. */
static const char *s_ipc_path(const char *endpoint)
{
    return strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : NULL;
}

/* True when nothing listens at the endpoint: connection refused, or no socket file.
 * Only ipc:// and numeric tcp:// endpoints are probed; others are never "refused".
 * Costs one connect(); the service sees a connection that closes at once. */
static bool s_refused_one(const char *endpoint)
{
    const char *path = s_ipc_path(endpoint);
    if (path) {
        struct sockaddr_un a = {0};
        a.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof a.sun_path)
            return false;
        memcpy(a.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        bool refused = connect(fd, (struct sockaddr *) &a, sizeof a) != 0 &&
                       (errno == ECONNREFUSED || errno == ENOENT);
        close(fd);
        return refused;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    char host[64];
    const char *colon = strrchr(endpoint + 6, ':');
    size_t hl = colon ? (size_t) (colon - endpoint - 6) : 0;
    struct sockaddr_in a = {0};
    if (!colon || hl == 0 || hl >= sizeof host)
        return false;
    memcpy(host, endpoint + 6, hl);
    host[hl] = '\0';
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool refused = false;
    if (connect(fd, (struct sockaddr *) &a, sizeof a) != 0) {
        if (errno == ECONNREFUSED)
            refused = true;
        else if (errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int err = 0;
            socklen_t len = sizeof err;
            if (poll(&p, 1, 200) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
                refused = err == ECONNREFUSED;
        }
    }
    close(fd);
    return refused;
}

/* True when nothing listens at any endpoint of the list (every instance of the service
 * is gone): one connect() per endpoint. */
static bool s_refused(const char *endpoints)
{
    char ep[256];
    const char *at = endpoints;
    bool any = false;
    while (evs_bus_endpoint_next(&at, ep, sizeof ep)) {
        if (!s_refused_one(ep))
            return false;
        any = true;
    }
    return any;
}

static void s_mark_down(gw_svc_t svc)
{
    atomic_store(&s_down_until[svc], zclock_mono() + s_config->down_ms);
}

/* Fast checks before a call: known down, or (idle for a while) nothing listening. */
static bool s_known_down(gw_svc_t svc, bool use_memory)
{
    int64_t now = zclock_mono();
    if (use_memory) {
        int64_t until = atomic_load(&s_down_until[svc]);
        if (until && now < until)
            return true;
    }
    if (now - atomic_load(&s_last_ok[svc]) > S_PROBE_IDLE_MS &&
        s_refused(s_config->endpoint[svc])) {
        s_mark_down(svc);
        return true;
    }
    return false;
}

/* Results of s_call_async() besides 0 (a reply) and -1 (no reply in time). */
#define S_CANCELLED (-3)

static s_pending_t *s_find(s_thread_t *t, const evs_client_t *client, const char *id)
{
    for (s_pending_t *p = t->pending; p; p = p->next)
        if (p->client == client && strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

/* Sets the client aside: later calls get a fresh socket, so that a late answer to a
 * call that timed out is never taken for the answer to a later call with its id. */
static void s_retire(s_thread_t *t, gw_svc_t svc, evs_client_t *client)
{
    if (t->client[svc] != client)
        return;   /* already retired by another call */
    s_retired_t *r = malloc(sizeof *r);
    if (!r) {
        s_unwatch(t, client);
        evs_client_destroy(&t->client[svc]);   /* cannot keep it: the calls on it time out */
    }
    else {
        r->client = client;
        r->next = t->retired;
        t->retired = r;
        t->client[svc] = NULL;
    }
    t->client_fd[svc] = -1;
}

/* From inside a task: waits in the thread's list of calls in flight until @p p is
 * settled (replied, timed out at p->deadline, or cancelled). */
static void s_wait_settled(s_thread_t *t, s_pending_t *p)
{
    p->task = gw_task_self();
    p->next = t->pending;
    if (t->pending)
        t->pending->prev = p;
    t->pending = p;
    while (!p->settled)
        gw_task_wait();
}

/* From inside a task: yields to the thread's loop for @p ms (no client: no reply settles
 * it, only its deadline). Returns false when the thread is stopping meanwhile. */
static bool s_pause(s_thread_t *t, int64_t ms)
{
    s_pending_t p = {0};
    p.id = "";
    p.deadline = zclock_mono() + (ms > 0 ? ms : 0);
    s_wait_settled(t, &p);
    return !p.cancelled;
}

/* One call from inside a task: sends, then yields to the thread's loop until
 * gw_backend_dispatch() settles it. Several tasks of one thread have calls in flight on
 * the same socket at once; a call whose request id is already in flight there (a retry
 * with the same Idempotency-Key) waits for that one first.
 *
 * Failover, as evs_client_call does it (evs_bus.h), within the call's @p timeout_ms: a
 * standby's refusal (not_active) sends the same request again after a pause; with
 * several endpoints a try unanswered after evs_client_try_ms() retires the socket and
 * sends it again on a fresh one, and a fresh socket with no connection up yet is given a
 * pause too. Returns 0 with a reply (a standby's refusal only when nothing else came),
 * -1 when none came in time, S_CANCELLED or below when the thread stops or has no
 * client. */
static int s_call_async(s_thread_t *t, gw_svc_t svc, const Tp__RequestHeader *h,
                        const char *command, const ProtobufCMessage *body, int timeout_ms,
                        Tp__Reply **reply)
{
    int64_t end = zclock_mono() + timeout_ms;
    int pause = EVS_BUS_PAUSE_MIN_MS, rc = -1;
    Tp__Reply *standby = NULL; /* the last refusal of a standby */
    do {
        evs_client_t *client;
        while (true) {
            if (t->stopping) {
                rc = S_CANCELLED;
                goto done;
            }
            if (!(client = s_client(svc))) {
                rc = S_CANCELLED - 1;
                goto done;
            }
            if (!s_find(t, client, h->request_id))
                break;
            s_blocked_t b = {gw_task_self(), t->blocked};
            t->blocked = &b;
            gw_task_wait();
        }
        int64_t now = zclock_mono(), until = now + evs_client_try_ms(client, timeout_ms);
        bool several = evs_client_endpoints(client) > 1;
        s_pending_t p = {0};
        if (evs_client_send(client, h, command, body) != 0) {
            if (errno != EAGAIN)
                goto done; /* as a time-out */
        }
        else {
            t->maybe[svc] = true; /* a send can take in replies without waking the loop */
            p.client = client;
            p.id = h->request_id;
            p.deadline = until < end ? until : end;
            s_wait_settled(t, &p);
            if (p.reply && !evs_bus_not_active(p.reply)) {
                *reply = p.reply;
                rc = 0;
                goto done;
            }
            if (p.cancelled) {
                rc = S_CANCELLED;
                goto done;
            }
            if (!p.reply) {
                /* no answer in this try: a fresh socket for the next call (and try) */
                s_retire(t, svc, client);
                if (!several)
                    goto done;
                continue;
            }
            if (standby)
                tp__reply__free_unpacked(standby, NULL);
            standby = p.reply;
        }
        /* a standby answered, or no instance is connected yet: the same request again
         * after a pause */
        int64_t left = end - zclock_mono();
        if (!s_pause(t, left < pause ? left : pause)) {
            rc = S_CANCELLED;
            goto done;
        }
        pause = pause * 2 > EVS_BUS_PAUSE_MAX_MS ? EVS_BUS_PAUSE_MAX_MS : pause * 2;
    } while (zclock_mono() < end);
done:
    if (rc == -1 && standby) {
        *reply = standby; /* nothing but refusals of standbys came in time */
        return 0;
    }
    if (standby)
        tp__reply__free_unpacked(standby, NULL);
    return rc;
}

static int s_call(gw_svc_t svc, const gw_actor_t *as, const char *command,
                  const ProtobufCMessage *body, int timeout_ms, bool use_memory,
                  Tp__Reply **reply)
{
    *reply = NULL;
    if ((unsigned) svc >= GW_SVC_COUNT)
        return GW_CALL_DOWN;
    s_thread_t *t = s_thread();
    if (t && t->stopping)
        return GW_CALL_DOWN;
    if (s_known_down(svc, use_memory))
        return GW_CALL_DOWN;
    evs_client_t *client = s_client(svc);
    if (!client)
        return GW_CALL_DOWN;
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    char rid[33];
    if (as && as->request_id && *as->request_id)
        h.request_id = (char *) as->request_id;
    else {
        evs_bus_new_id(rid);
        h.request_id = rid;
    }
    h.correlation_id = h.request_id;
    h.actor_account = (char *) (as && as->actor_account ? as->actor_account : "");
    h.actor_role = (char *) (as && as->actor_role ? as->actor_role : "");
    h.client_addr = (char *) (as && as->client_addr ? as->client_addr : "");
    h.deadline_us = s_now_us() + (int64_t) timeout_ms * 1000;
    int rc;
    if (t && t->epfd >= 0 && gw_task_self())
        rc = s_call_async(t, svc, &h, command, body, timeout_ms, reply);
    else {
        rc = evs_client_call(client, &h, command, body, timeout_ms, reply);
        if (t)
            s_watch(t, svc);   /* a time-out recreated the socket */
    }
    if (rc == 0 && evs_bus_not_active(*reply)) {
        /* only standbys answered all this time: no instance is active (a failover under
         * way). Not an answer, and no time-out either: the fail-fast memory stays as it
         * is, and the next call tries again. */
        zsys_warning("gateway: no active instance of %s answered %s within %d ms", gw_svc_name(svc),
                     command, timeout_ms);
        tp__reply__free_unpacked(*reply, NULL);
        *reply = NULL;
        return GW_CALL_DOWN;
    }
    if (rc == 0) {
        atomic_store(&s_down_until[svc], 0);
        atomic_store(&s_last_ok[svc], zclock_mono());
        return GW_CALL_OK;
    }
    if (rc < -1)
        return GW_CALL_DOWN;   /* the gateway is stopping, or no client */
    s_mark_down(svc);
    bool refused = s_refused(s_config->endpoint[svc]);
    zsys_warning("gateway: %s did not answer %s within %d ms (%s)", gw_svc_name(svc), command,
                 timeout_ms, refused ? "not running" : "slow");
    return refused ? GW_CALL_DOWN : GW_CALL_SLOW;
}

/* ------------------------------------------------------------------ the thread's loop */

void gw_backend_thread_attach(int epfd, uint64_t tag)
{
    s_thread_t *t = s_thread();
    if (!t)
        return;
    t->epfd = epfd;
    t->epoll_tag = tag;
    for (int i = 0; i < GW_SVC_COUNT; i++)
        s_watch(t, (gw_svc_t) i);
}

int gw_backend_next_ms(void)
{
    s_thread_t *t = pthread_getspecific(s_key);
    if (!t || !t->pending)
        return -1;
    int64_t first = INT64_MAX;
    for (s_pending_t *p = t->pending; p; p = p->next)
        if (p->deadline < first)
            first = p->deadline;
    int64_t left = first - zclock_mono();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int) left;
}

/* Takes @p p out of the calls in flight, onto the list of tasks to wake. */
static void s_settle(s_thread_t *t, s_pending_t *p, s_pending_t **ready)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        t->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    p->settled = true;
    p->ready_next = *ready;
    *ready = p;
}

/* Replies waiting on @p client, onto the tasks to wake; others (late answers) dropped. */
static void s_drain(s_thread_t *t, evs_client_t *client, s_pending_t **ready)
{
    Tp__Reply *r;
    while (client && (r = evs_client_try_recv(client))) {
        s_pending_t *p = s_find(t, client, r->request_id);
        if (!p) {
            tp__reply__free_unpacked(r, NULL);
            continue;
        }
        p->reply = r;
        s_settle(t, p, ready);
    }
}

static bool s_in_flight(const s_thread_t *t, const evs_client_t *client)
{
    for (const s_pending_t *p = t->pending; p; p = p->next)
        if (p->client == client)
            return true;
    return false;
}

void gw_backend_dispatch(unsigned woken)
{
    s_thread_t *t = pthread_getspecific(s_key);
    if (!t)
        return;
    for (int i = 0; woken && i < GW_SVC_COUNT; i++)
        if (woken & 1u << i)
            t->maybe[i] = true;
    bool again = true;
    while (again) {
        again = false;
        s_pending_t *ready = NULL;
        for (int i = 0; i < GW_SVC_COUNT; i++) {
            if (t->maybe[i] || t->stopping)
                s_drain(t, t->client[i], &ready);
            t->maybe[i] = false;   /* drained: until the next send or wake-up */
        }
        for (s_retired_t *r = t->retired; r; r = r->next)
            s_drain(t, r->client, &ready);
        int64_t now = zclock_mono();
        for (s_pending_t *p = t->pending, *next; p; p = next) {
            next = p->next;
            if (t->stopping || p->deadline <= now) {
                p->cancelled = t->stopping;
                s_settle(t, p, &ready);
            }
        }
        /* a settled call may free a request id that blocked tasks wait for */
        s_blocked_t *blocked = ready || t->stopping ? t->blocked : NULL;
        if (blocked)
            t->blocked = NULL;
        while (ready) {
            s_pending_t *p = ready;
            ready = p->ready_next;   /* p lives on the task's stack: read it first */
            gw_task_wake(p->task);
            again = true;
        }
        while (blocked) {
            s_blocked_t *b = blocked;
            blocked = b->next;
            gw_task_wake(b->task);
            again = true;
        }
        for (s_retired_t **rp = &t->retired; *rp;) {
            s_retired_t *r = *rp;
            if (s_in_flight(t, r->client)) {
                rp = &r->next;
                continue;
            }
            *rp = r->next;
            s_unwatch(t, r->client);
            evs_client_destroy(&r->client);
            free(r);
        }
    }
}

void gw_backend_thread_stop(void)
{
    s_thread_t *t = pthread_getspecific(s_key);
    if (!t)
        return;
    t->stopping = true;
    gw_backend_dispatch(~0u);
}

int gw_backend_call(gw_svc_t svc, const gw_actor_t *as, const char *command,
                    const ProtobufCMessage *body, int timeout_ms, Tp__Reply **reply)
{
    return s_call(svc, as, command, body, timeout_ms, true, reply);
}

int gw_backend_ready(gw_svc_t svc, int timeout_ms)
{
    Tp__Reply *r = NULL;
    int rc = s_call(svc, NULL, "$status", NULL, timeout_ms, false, &r);
    if (rc == GW_CALL_OK && !r->ok)
        rc = GW_CALL_DOWN;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return rc;
}
