/* evs_failover_test.c: the request client against several instances of one service
 * (evs_bus.h: evs_client_t): stand-ins (evs_standin.h) over ipc://, CURVE with one key
 * for all of them, as in a deployment. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "evs_bus.h"
#include "evs_check.h"
#include "evs_standin.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "evs_failover_test: %s:%d: %s\n", __FILE__, __LINE__, #c);             \
            failed++;                                                                              \
        }                                                                                          \
    } while (0)

/* One call with request id @p id; its reply into *r (NULL on time-out), how long it
 * took into *ms. Returns evs_client_call's result. */
static int s_call(evs_client_t *c, const char *id, int timeout_ms, Tp__Reply **r, int64_t *ms)
{
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = (char *) id;
    int64_t t0 = zclock_mono();
    int rc = evs_client_call(c, &h, "svc.Do", NULL, timeout_ms, r);
    *ms = zclock_mono() - t0;
    return rc;
}

int evs_failover_test(bool verbose)
{
    int failed = 0;
    char dir[] = "/tmp/evs-failover-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char a[64], b[64], ab[160], dead_b[160];
    snprintf(a, sizeof a, "ipc://%s/a", dir);
    snprintf(b, sizeof b, "ipc://%s/b", dir);
    snprintf(ab, sizeof ab, "%s, %s", a, b);
    snprintf(dead_b, sizeof dead_b, "ipc://%s/dead,%s", dir, b);
    zcert_t *service = zcert_new(), *me = zcert_new();
    evs_standin_t *sa = evs_standin_new(a, service, EVS_STANDIN_STANDBY);
    evs_standin_t *sb = evs_standin_new(b, service, EVS_STANDIN_ACTIVE);
    evs_client_t *c = evs_client_new_cert(ab, me, zcert_public_txt(service));
    CHECK(sa && sb && c);
    if (!sa || !sb || !c)
        goto done;
    CHECK(evs_client_endpoints(c) == 2 && evs_client_try_ms(c, 1000) == 500);
    Tp__Reply *r = NULL;
    int64_t ms;

    /* a standby and the active: the active's answer, to the request the standby refused
     * (the same id); the instances take requests in turn, so one of the first calls
     * reaches the standby first */
    bool through_standby = false;
    for (int i = 0; i < 4 && !through_standby; i++) {
        char id[16];
        snprintf(id, sizeof id, "fo-%d", i);
        CHECK(s_call(c, id, 3000, &r, &ms) == 0 && r && r->ok && streq(r->request_id, id));
        CHECK(evs_standin_count(sb, id) == 1);
        through_standby = evs_standin_count(sa, id) == 1;
        if (through_standby)
            CHECK(ms >= EVS_BUS_PAUSE_MIN_MS); /* a pause before it went again */
        if (r)
            tp__reply__free_unpacked(r, NULL);
    }
    CHECK(through_standby);
    if (verbose)
        printf("evs_failover_test: a standby's refusal sent on to the active\n");

    /* standbys only: their refusal, once the time-out has run out and not before, after
     * the request went again and again to both */
    evs_standin_set(sb, EVS_STANDIN_STANDBY);
    CHECK(s_call(c, "fo-standbys", 600, &r, &ms) == 0 && r && evs_bus_not_active(r));
    CHECK(ms >= 590 && ms < 1500);
    CHECK(evs_standin_count(sa, "fo-standbys") >= 2 && evs_standin_count(sb, "fo-standbys") >= 2);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    if (verbose)
        printf("evs_failover_test: standbys only: not_active after %" PRId64 " ms\n", ms);

    /* an endpoint where nothing listens: every request goes to the live one, at once */
    evs_standin_set(sb, EVS_STANDIN_ACTIVE);
    evs_client_t *c2 = evs_client_new_cert(dead_b, me, zcert_public_txt(service));
    CHECK(c2);
    for (int i = 0; c2 && i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "fo-dead-%d", i);
        CHECK(s_call(c2, id, 2000, &r, &ms) == 0 && r && r->ok);
        CHECK(ms < 300); /* a request lost at the dead one would wait a try: 1000 ms */
        if (r)
            tp__reply__free_unpacked(r, NULL);
    }
    evs_client_destroy(&c2);

    /* an instance that takes a request and is killed: the request goes again after half
     * the time-out, on a fresh socket, to the other one */
    evs_standin_set(sa, EVS_STANDIN_LOSE_ONE);
    bool lost = false;
    for (int i = 0; i < 4 && !lost; i++) {
        char id[16];
        snprintf(id, sizeof id, "fo-lost-%d", i);
        CHECK(s_call(c, id, 1000, &r, &ms) == 0 && r && r->ok);
        lost = evs_standin_count(sa, id) == 1;
        CHECK(evs_standin_count(sb, id) == 1);
        if (lost)
            CHECK(ms >= 490);
        if (r)
            tp__reply__free_unpacked(r, NULL);
    }
    CHECK(lost);

    /* one endpoint, nothing listening: a time-out, one try of the whole time */
    evs_client_t *c3 = evs_client_new_cert(a, me, zcert_public_txt(service));
    CHECK(c3 && evs_client_endpoints(c3) == 1 && evs_client_try_ms(c3, 1000) == 1000);
    CHECK(c3 && s_call(c3, "fo-one", 200, &r, &ms) == -1 && errno == ETIMEDOUT && !r && ms >= 190);
    evs_client_destroy(&c3);
done:
    evs_client_destroy(&c);
    evs_standin_destroy(&sa);
    evs_standin_destroy(&sb);
    zcert_destroy(&service);
    zcert_destroy(&me);
    evs_check_rmtree(dir);
    return failed ? 1 : 0;
}
