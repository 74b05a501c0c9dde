/* gw_backend.c: per-thread service clients, time-outs, and the fail-fast memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "evs_bus.h"
#include "gw_backend.h"

/* One worker thread's clients, one per service, created on first use. */
typedef struct {
    evs_client_t *client[GW_SVC_COUNT];
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

static void s_thread_free(void *arg)
{
    s_thread_t *t = arg;
    if (!t)
        return;
    for (int i = 0; i < GW_SVC_COUNT; i++)
        evs_client_destroy(&t->client[i]);
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

/* The calling thread's client of @p svc; NULL when out of memory or a bad endpoint. */
static evs_client_t *s_client(gw_svc_t svc)
{
    s_thread_t *t = pthread_getspecific(s_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(s_key, t) != 0) {
            free(t);
            return NULL;
        }
    }
    if (!t->client[svc]) {
        t->client[svc] = evs_client_new(s_config->endpoint[svc]);
        if (!t->client[svc])
            zsys_error("gateway: bad endpoint of %s: %s", gw_svc_name(svc),
                       s_config->endpoint[svc]);
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
static bool s_refused(const char *endpoint)
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

static int s_call(gw_svc_t svc, const gw_actor_t *as, const char *command,
                  const ProtobufCMessage *body, int timeout_ms, bool use_memory,
                  Tp__Reply **reply)
{
    *reply = NULL;
    if ((unsigned) svc >= GW_SVC_COUNT)
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
    if (evs_client_call(client, &h, command, body, timeout_ms, reply) == 0) {
        atomic_store(&s_down_until[svc], 0);
        atomic_store(&s_last_ok[svc], zclock_mono());
        return GW_CALL_OK;
    }
    s_mark_down(svc);
    bool refused = s_refused(s_config->endpoint[svc]);
    zsys_warning("gateway: %s did not answer %s within %d ms (%s)", gw_svc_name(svc), command,
                 timeout_ms, refused ? "not running" : "slow");
    return refused ? GW_CALL_DOWN : GW_CALL_SLOW;
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
