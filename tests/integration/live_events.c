/* live_events.c: GET /api/v1/events over real HTTP against the real gateway and services.
 *
 *  - Without a session: 401.
 *  - Customers A and B each hold a stream. A places an order in the portal; an operator
 *    records its application (tpctl): both changes reach A's stream within a second,
 *    B's stream gets nothing of them, ever.
 *  - A's stream closed, its last event id kept; the gateway stopped; the operator records
 *    a data problem (Wartend) meanwhile; the gateway started again: A's stream opened with
 *    Last-Event-ID gets that change, and not the ones it had.
 *  - B's stream, which saw no change, has an id all the same (its first message): opened
 *    again with it after the restart, it gets nothing of the past.
 *  - The gateway stopped with a stream open: the stream ends, the gateway exits 0.
 *  - Limits: two streams per account (429 too_many_streams), three in all (503), each
 *    with a JSON error; a closed stream's slot comes back; keep-alive comments.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"
#include "flow.h"
#include "gw_client.h"
#include "sse_client.h"

#define PASSWORD "correct horse battery staple"

static th_t *s_th;
static char s_base[64];

/* A stream that went live (the hub answered with its "live from" comment). Refused for a
 * limit, it tries again as a browser does: a stream closed just before holds its slot
 * until the gateway has seen the hang-up. */
static sse_t *s_live(const char *session, const char *last_id)
{
    for (int64_t end = zclock_mono() + 10000;;) {
        sse_t *s = sse_open(s_base, session, last_id);
        long at = sse_wait(s, ": live from ", 0, 2000);
        long status = sse_status(s);
        if ((at > 0 && status == 200) || (status != 429 && status != 503) ||
            zclock_mono() > end) {
            TH_CHECK(at > 0 && status == 200);
            return s;
        }
        sse_close(&s);
        zclock_sleep(300);
    }
}

/* A stream refused with @p status and error @p code. */
static void s_refused(const char *session, long status, const char *code)
{
    sse_t *s = sse_open(s_base, session, NULL);
    long at = sse_wait(s, code, 0, 5000);
    for (int i = 0; i < 50 && !sse_ended(s); i++)
        zclock_sleep(20);
    char *text = sse_text(s);
    if (at < 0 || sse_status(s) != status)
        fprintf(stderr, "expected %ld %s, got %ld: %s\n", status, code, sse_status(s), text);
    TH_CHECK(at > 0 && sse_status(s) == status && sse_ended(s));
    free(text);
    sse_close(&s);
}

/* Runs tpctl as the operator; false when it failed. */
static bool s_tpctl(const char *args)
{
    char *err = NULL;
    int rc = ctl_run(s_th, NULL, &err, "%s", args);
    if (rc != 0)
        fprintf(stderr, "tpctl %s: exit %d: %s\n", args, rc, err ? err : "");
    free(err);
    return rc == 0;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    s_th = th_new("live");
    int port = th_smtp_start(s_th);
    TH_CHECK(port > 0);
    fl_configure(s_th, port);
    th_set(s_th, "gateway/sse_per_account", "2");
    th_set(s_th, "gateway/sse_max", "3");
    th_set(s_th, "gateway/sse_keepalive_ms", "300");
    bool up = port > 0 && th_start_services(s_th, 15000) &&
              th_start(s_th, th_env("TP_PRODUCTION"), "production", 15000) > 0 &&
              gwc_start_gateway(s_th, "account,order,identification,production", s_base,
                                sizeof s_base);
    TH_CHECK(up);
    gwc_t *a = gwc_new(s_base), *b = gwc_new(s_base);
    TH_CHECK(up && gwc_signup(s_th, a, PASSWORD, "anna.live@example.org"));
    TH_CHECK(up && gwc_signup(s_th, b, PASSWORD, "bernd.live@example.org"));
    char session_a[320], session_b[320];
    snprintf(session_a, sizeof session_a, "%s", gwc_session(a));
    snprintf(session_b, sizeof session_b, "%s", gwc_session(b));

    s_refused(NULL, 401, "unauthenticated");
    sse_t *sa = s_live(session_a, NULL), *sb = s_live(session_b, NULL);

    /* A's order: placed, then its application recorded */
    char *body = gwc_order_json("signature-card", NULL, "postident");
    gwc_resp_t r;
    int64_t t0 = zclock_mono();
    gwc_req(a, "POST", "/api/v1/orders", body, NULL, &r);
    free(body);
    char order[64], needle[128];
    snprintf(order, sizeof order, "%s", gwc_str(&r, "orderId"));
    TH_CHECK(gwc_is(&r, 201, NULL, NULL) && *order);
    gwc_resp_free(&r);
    snprintf(needle, sizeof needle, "\"type\":\"OrderPlaced\",\"orderId\":\"%s\"", order);
    /* within a second of the commit (the live benchmark measures it under load); a loaded
     * test machine gets more room here */
    long at = sse_wait(sa, needle, 0, 5000);
    int64_t placed_ms = zclock_mono() - t0;
    TH_CHECK(at > 0);
    char args[200];
    snprintf(args, sizeof args, "order application-received %s", order);
    t0 = zclock_mono();
    TH_CHECK(s_tpctl(args));
    snprintf(needle, sizeof needle, "\"type\":\"ApplicationReceived\",\"orderId\":\"%s\"", order);
    TH_CHECK(sse_wait(sa, needle, 0, 5000) > 0);
    fprintf(stderr, "live: OrderPlaced seen %lld ms after the POST began, ApplicationReceived "
                    "%lld ms after tpctl began\n",
            (long long) placed_ms, (long long) (zclock_mono() - t0));
    char *sofar = sse_text(sb);   /* B: only keep-alives, also from now on */
    TH_CHECK(sse_wait(sb, ": keep-alive", strlen(sofar), 3000) > 0);
    free(sofar);
    TH_CHECK(sse_count(sb, order) == 0 && sse_count(sb, "event: order") == 0);

    /* resume across a restart of the gateway */
    char last[64] = "", quiet[64] = "";
    TH_CHECK(sse_last_id(sa, last, sizeof last));
    TH_CHECK(sse_last_id(sb, quiet, sizeof quiet));   /* a stream that saw no change has one */
    int had = sse_count(sa, "event: order");
    sse_close(&sa);
    /* stopped with a stream open (B's): it ends, and the gateway exits cleanly */
    kill(th_pid(s_th, "gateway"), SIGTERM);
    int status = th_wait_exit(s_th, "gateway", 10000);
    TH_CHECK(status == 0);
    for (int i = 0; i < 100 && !sse_ended(sb); i++)
        zclock_sleep(20);
    TH_CHECK(sse_ended(sb));
    sse_close(&sb);
    snprintf(args, sizeof args, "order problem %s 'Die Unterschrift fehlt'", order);
    TH_CHECK(s_tpctl(args));
    /* from here on no keep-alive comes to find a closed stream (the check of the limits
     * at the end counts on it) */
    th_set(s_th, "gateway/sse_keepalive_ms", "600000");
    TH_CHECK(gwc_start_gateway(s_th, "account,order,identification,production", s_base,
                               sizeof s_base));
    sa = s_live(session_a, last);
    snprintf(needle, sizeof needle, "\"type\":\"DataProblemRecorded\",\"orderId\":\"%s\"", order);
    TH_CHECK(sse_wait(sa, needle, 0, 3000) > 0);
    TH_CHECK(sse_count(sa, "\"type\":\"OrderPlaced\"") == 0 &&
             sse_count(sa, "\"type\":\"ApplicationReceived\"") == 0);
    fprintf(stderr, "live: resumed after %s (%d events before): %d event(s)\n", last, had,
            sse_count(sa, "event: order"));
    /* B's quiet stream resumes from where it began: nothing of A's, none of the past */
    sb = s_live(session_b, quiet);
    TH_CHECK(sse_count(sb, "event: ") == 0);
    sse_close(&sb);

    /* limits: two per account, three in all */
    sse_t *sa2 = s_live(session_a, NULL);
    s_refused(session_a, 429, "too_many_streams");
    sb = s_live(session_b, NULL);
    s_refused(session_b, 503, "unavailable");
    /* a closed stream's slot comes back at once, though nothing is written to it: a
     * customer reloading the page again and again is never refused */
    for (int i = 0; i < 5; i++) {
        sse_close(&sa2);
        zclock_sleep(300);
        sa2 = sse_open(s_base, session_a, NULL);
        long live = sse_wait(sa2, ": live from ", 0, 5000);
        if (live < 0 || sse_status(sa2) != 200)
            fprintf(stderr, "reload %d: status %ld\n", i, sse_status(sa2));
        TH_CHECK(live > 0 && sse_status(sa2) == 200);
    }

    sse_close(&sa);
    sse_close(&sa2);
    sse_close(&sb);
    gwc_destroy(&a);
    gwc_destroy(&b);
    th_destroy(&s_th);
    printf("live_events: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
