/* gw_backend_test.c: the gateway's service calls against several instances of a service
 * (gw_backend.h: failover), with stand-ins (evs_standin.h) over ipc:// and CURVE: calls
 * from a task through this thread's event loop, and blocking calls outside any task. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "evs_bus.h"
#include "evs_check.h"
#include "evs_standin.h"
#include "gw_backend.h"
#include "gw_task.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "gw_backend_test: %s:%d: %s\n", __FILE__, __LINE__, #c);               \
            failed++;                                                                              \
        }                                                                                          \
    } while (0)

/* One call and what came of it. */
typedef struct {
    gw_svc_t svc;
    char id[32];
    int timeout_ms;
    int rc;
    Tp__Reply *reply;
    int64_t ms; /* how long it took */
    bool ended;
} s_call_t;

static void s_call_fn(void *arg)
{
    s_call_t *c = arg;
    gw_actor_t as = {c->id, NULL, NULL, "127.0.0.1"};
    int64_t t0 = zclock_mono();
    c->rc = gw_backend_call(c->svc, &as, "svc.Do", NULL, c->timeout_ms, &c->reply);
    c->ms = zclock_mono() - t0;
}

static void s_done_fn(void *arg)
{
    ((s_call_t *) arg)->ended = true;
}

/* Makes call @p c (its reply freed first): as a task whose waits go through the event
 * loop on @p epfd, run here until the task ended; blocking when @p epfd < 0. */
static void s_run(s_call_t *c, int epfd)
{
    if (c->reply)
        tp__reply__free_unpacked(c->reply, NULL);
    c->reply = NULL;
    c->ended = false;
    if (epfd < 0) {
        s_call_fn(c);
        return;
    }
    if (gw_task_run(s_call_fn, c, s_done_fn))
        return;
    while (!c->ended) {
        struct epoll_event ev[8];
        int next = gw_backend_next_ms();
        epoll_wait(epfd, ev, 8, next < 0 || next > 50 ? 50 : next);
        gw_backend_dispatch(~0u);
    }
}

int gw_backend_test(bool verbose)
{
    int failed = 0;
    char dir[] = "/tmp/gw-backend-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char a[64], b[64];
    snprintf(a, sizeof a, "ipc://%s/a", dir);
    snprintf(b, sizeof b, "ipc://%s/b", dir);
    zcert_t *service = zcert_new();
    gw_config_t *cfg = calloc(1, sizeof *cfg);
    evs_standin_t *sa = evs_standin_new(a, service, EVS_STANDIN_STANDBY);
    evs_standin_t *sb = evs_standin_new(b, service, EVS_STANDIN_ACTIVE);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    CHECK(cfg && sa && sb && epfd >= 0);
    if (!cfg || !sa || !sb || epfd < 0)
        goto done;
    /* the account service: two instances; the order service: one where nothing listens,
     * and one that answers. The fail-fast memory would hold a service down for a minute. */
    cfg->cert = zcert_new();
    cfg->down_ms = 60000;
    snprintf(cfg->endpoint[GW_SVC_ACCOUNT], sizeof cfg->endpoint[0], "%s,%s", a, b);
    snprintf(cfg->endpoint[GW_SVC_ORDER], sizeof cfg->endpoint[0], "ipc://%s/dead,%s", dir, b);
    for (int i = 0; i < GW_SVC_COUNT; i++)
        snprintf(cfg->server_key[i], sizeof cfg->server_key[i], "%s", zcert_public_txt(service));
    gw_backend_init(cfg);
    gw_backend_thread_attach(epfd, 100);
    s_call_t c = {0};
    for (int pass = 0; pass < 2; pass++) {
        int loop = pass == 0 ? epfd : -1; /* from a task, then blocking */
        const char *how = pass == 0 ? "task" : "blocking";
        /* a standby and the active: the active's reply to the request the standby refused
         * (the same id), never the refusal */
        evs_standin_set(sa, EVS_STANDIN_STANDBY);
        evs_standin_set(sb, EVS_STANDIN_ACTIVE);
        bool through_standby = false;
        for (int i = 0; i < 4 && !through_standby; i++) {
            c.svc = GW_SVC_ACCOUNT;
            c.timeout_ms = 3000;
            snprintf(c.id, sizeof c.id, "gw-%d-%d", pass, i);
            s_run(&c, loop);
            CHECK(c.rc == GW_CALL_OK && c.reply && c.reply->ok && streq(c.reply->request_id, c.id));
            CHECK(evs_standin_count(sb, c.id) == 1);
            through_standby = evs_standin_count(sa, c.id) == 1;
        }
        CHECK(through_standby);
        /* standbys only: 503 once the time-out ran out, and no fail-fast memory of it: the
         * next call, as soon as one is active, goes through */
        evs_standin_set(sb, EVS_STANDIN_STANDBY);
        c.timeout_ms = 500;
        snprintf(c.id, sizeof c.id, "gw-standbys-%d", pass);
        s_run(&c, loop);
        CHECK(c.rc == GW_CALL_DOWN && !c.reply && c.ms >= 490 && c.ms < 1500);
        CHECK(evs_standin_count(sa, c.id) >= 2 && evs_standin_count(sb, c.id) >= 2);
        if (verbose)
            printf("gw_backend_test (%s): standbys only: 503 after %" PRId64 " ms\n", how, c.ms);
        evs_standin_set(sb, EVS_STANDIN_ACTIVE);
        c.timeout_ms = 2000;
        snprintf(c.id, sizeof c.id, "gw-after-%d", pass);
        s_run(&c, loop);
        CHECK(c.rc == GW_CALL_OK && c.reply && c.reply->ok && c.ms < 1000);
        /* one endpoint where nothing listens: every call goes to the other, at once */
        for (int i = 0; i < 6; i++) {
            c.svc = GW_SVC_ORDER;
            snprintf(c.id, sizeof c.id, "gw-dead-%d-%d", pass, i);
            s_run(&c, loop);
            CHECK(c.rc == GW_CALL_OK && c.reply && c.reply->ok && c.ms < 300);
        }
    }
    /* an instance that takes a request and is killed: from a task, the request goes again
     * after half the time-out on a fresh socket, to the other instance */
    evs_standin_set(sa, EVS_STANDIN_LOSE_ONE);
    bool lost = false;
    for (int i = 0; i < 4 && !lost; i++) {
        c.svc = GW_SVC_ACCOUNT;
        c.timeout_ms = 1000;
        snprintf(c.id, sizeof c.id, "gw-lost-%d", i);
        s_run(&c, epfd);
        CHECK(c.rc == GW_CALL_OK && c.reply && c.reply->ok);
        lost = evs_standin_count(sa, c.id) == 1;
        CHECK(evs_standin_count(sb, c.id) == 1 && (!lost || c.ms >= 490));
    }
    CHECK(lost);
    if (c.reply)
        tp__reply__free_unpacked(c.reply, NULL);
    gw_backend_thread_done();
    gw_task_thread_done();
done:
    if (epfd >= 0)
        close(epfd);
    evs_standin_destroy(&sa);
    evs_standin_destroy(&sb);
    if (cfg)
        zcert_destroy(&cfg->cert);
    free(cfg);
    zcert_destroy(&service);
    evs_check_rmtree(dir);
    return failed ? 1 : 0;
}
