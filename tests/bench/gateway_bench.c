/* gateway_bench.c: tp-gateway over real HTTP (libcurl multi) against the real daemons. */
/* In one run on one system started here (data under TP_BENCH_DIR): a static file, an
 * authenticated order list and placing durable orders, each phase a few seconds with
 * many requests in flight over keep-alive connections, its rate and p99 latency as
 * `NAME VALUE UNIT` lines. Every answer's status is checked; any error fails the run.
 * What bounds placing orders is measured too: one Argon2id hash of the order service's
 * cost in this process, and the order service's own time per order from its closing
 * log line (the service is restarted around the phase so that line covers it alone).
 * After the list phase the listing account places one more order, which its next list
 * must show. TP_BENCH_PHASE_S sets the seconds of each phase (default 5), e.g. longer
 * to attach a profiler. */
#include <curl/curl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "flow.h"
#include "gw_client.h"
#include "order.h"

#define PASSWORD "correct horse battery staple"
#define CONNECTIONS 32          /* keep-alive connections of the multi handle */
#define INFLIGHT 64             /* requests in flight (GET phases) */
#define PLACE_INFLIGHT 16       /* in flight while placing: keeps both hashing workers busy
                                   without queueing past the gateway's slow time-out */
#define LIST_ORDERS 5           /* orders of the listing account */
#define PHASE_SECS 5.0          /* TP_BENCH_PHASE_S overrides (e.g. longer, to profile) */

/* One phase: what to send, how long, what every answer must be. */
typedef struct {
    const char *name;
    const char *method;         /* "GET" or "POST" */
    const char *path;
    const char *body;           /* POST body (JSON) or NULL */
    const char *session;        /* session cookie value or NULL */
    const char *csrf;           /* X-CSRF-Token or NULL */
    const char *origin;         /* Origin header */
    const char *url_base;
    bool keyed;                 /* a fresh Idempotency-Key per request */
    int inflight;
    double seconds;
    long expect;                /* the status every answer must have */
} s_phase_t;

typedef struct {
    int done;                   /* answered */
    int errors;                 /* transport errors or another status */
    double rate;                /* answered per second */
    double p50_ms, p99_ms;
} s_result_t;

/* One easy handle and the request it carries. */
typedef struct {
    CURL *easy;
    struct curl_slist *hdrs;
    int64_t t0;                 /* submitted (us) */
} s_slot_t;

static size_t s_discard(char *ptr, size_t size, size_t n, void *arg)
{
    return size * n;
}

static const char *s_base(void)
{
    const char *d = getenv("TP_BENCH_DIR");
    return d && *d ? d : ".";
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* The value at quantile @p q of the sorted @p v (nearest rank). */
static double s_quantile(const double *v, int n, double q)
{
    if (n == 0)
        return 0;
    int i = (int) (q * n + 0.999999) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* Sets the headers of the next request on @p s and hands it to @p m. */
static void s_submit(CURLM *m, const s_phase_t *ph, s_slot_t *s, int seq)
{
    char line[512];
    curl_slist_free_all(s->hdrs);
    s->hdrs = curl_slist_append(NULL, "Expect:");
    snprintf(line, sizeof line, "Origin: %s", ph->origin);
    s->hdrs = curl_slist_append(s->hdrs, line);
    if (ph->session) {
        snprintf(line, sizeof line, "Cookie: tp_session=%s", ph->session);
        s->hdrs = curl_slist_append(s->hdrs, line);
    }
    if (ph->csrf) {
        snprintf(line, sizeof line, "X-CSRF-Token: %s", ph->csrf);
        s->hdrs = curl_slist_append(s->hdrs, line);
    }
    if (ph->body)
        s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/json");
    if (ph->keyed) {
        snprintf(line, sizeof line, "Idempotency-Key: bench-%ld-%d-%d", (long) time(NULL),
                 (int) getpid(), seq);
        s->hdrs = curl_slist_append(s->hdrs, line);
    }
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
    s->t0 = zclock_usecs();
    curl_multi_add_handle(m, s->easy);
}

/* Runs @p ph: keeps ph->inflight requests going until ph->seconds passed, then waits
 * for those in flight. Latency is from submission to the whole answer. */
static void s_run(const s_phase_t *ph, s_result_t *res)
{
    memset(res, 0, sizeof *res);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) CONNECTIONS);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long) CONNECTIONS);
    char url[512];
    snprintf(url, sizeof url, "%s%s", ph->url_base, ph->path);
    s_slot_t *slots = calloc((size_t) ph->inflight, sizeof *slots);
    size_t cap = 1 << 16;
    double *lat = malloc(cap * sizeof *lat);
    int seq = 0, running = 0;
    int64_t t0 = zclock_usecs(), deadline = t0 + (int64_t) (ph->seconds * 1e6), last = t0;
    for (int i = 0; i < ph->inflight; i++) {
        s_slot_t *s = &slots[i];
        s->easy = curl_easy_init();
        curl_easy_setopt(s->easy, CURLOPT_URL, url);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, s_discard);
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
        if (ph->body) {
            curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, ph->body);
            curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(ph->body));
        }
        s_submit(m, ph, s, seq++);
        running++;
    }
    while (running > 0) {
        int still = 0, left = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *easy = msg->easy_handle;
            CURLcode rc = msg->data.result;
            s_slot_t *s = NULL;
            long status = 0;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &s);
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
            int64_t now = zclock_usecs();
            curl_multi_remove_handle(m, easy);
            running--;
            last = now;
            if (rc != CURLE_OK || status != ph->expect) {
                if (res->errors++ < 5)
                    fprintf(stderr, "bench %s: %s %s -> %ld %s\n", ph->name, ph->method,
                            ph->path, status, rc != CURLE_OK ? curl_easy_strerror(rc) : "");
            }
            if ((size_t) res->done == cap) {
                cap *= 2;
                lat = realloc(lat, cap * sizeof *lat);
            }
            lat[res->done++] = (double) (now - s->t0) / 1000.0;
            if (now < deadline) {
                s_submit(m, ph, s, seq++);
                running++;
            }
        }
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    res->rate = (double) res->done * 1e6 / (double) (last - t0);
    qsort(lat, (size_t) res->done, sizeof *lat, s_cmp_double);
    res->p50_ms = s_quantile(lat, res->done, 0.50);
    res->p99_ms = s_quantile(lat, res->done, 0.99);
    for (int i = 0; i < ph->inflight; i++) {
        curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].hdrs);
    }
    free(slots);
    free(lat);
    curl_multi_cleanup(m);
}

/* Places one order through @p c (retrying while the order service comes back). */
static bool s_place_one(gwc_t *c, const char *order, const char *key)
{
    char hdr[96];
    snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
    const char *extra[] = {hdr, NULL};
    for (int i = 0; i < 50; i++) {
        gwc_resp_t r;
        long st = gwc_req(c, "POST", "/api/v1/orders", order, extra, &r);
        if (st != 201 && st != 503 && st != 504)
            gwc_log("place", &r);
        gwc_resp_free(&r);
        if (st == 201)
            return true;
        if (st != 503 && st != 504)
            return false;
        zclock_sleep(200);
    }
    return false;
}

/* The number of @p c's active orders, or -1. */
static int s_count_orders(gwc_t *c)
{
    gwc_resp_t r;
    gwc_req(c, "GET", "/api/v1/orders", NULL, NULL, &r);
    int n = r.status == 200 ? (int) json_array_size(json_object_get(r.json, "orders")) : -1;
    gwc_resp_free(&r);
    return n;
}

/* Milliseconds of one Argon2id hash at the order service's cost, in this process (best
 * of five, before the system starts, so on an otherwise idle share of the machine). */
static double s_argon2_ms(void)
{
    char hash[crypto_pwhash_STRBYTES];
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        int64_t t0 = zclock_usecs();
        if (crypto_pwhash_str_alg(hash, "Sperr-Kennwort-42", 17, ORDER_PWHASH_OPSLIMIT,
                                  ORDER_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
            return -1;
        double ms = (double) (zclock_usecs() - t0) / 1000.0;
        if (ms < best)
            best = ms;
    }
    return best;
}

/* The order service's own account of its loop, from its last closing log line. */
typedef struct {
    long commits, requests, decide_ms, commit_ms, answer_ms;
} s_loop_t;

static bool s_order_loop(th_t *th, s_loop_t *out)
{
    char path[600], line[1024];
    snprintf(path, sizeof path, "%s/logs/order.log", th_dir(th));
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "stopping after");
        long events;
        s_loop_t l;
        if (p && sscanf(p, "stopping after %ld commits, %ld events written, %ld requests; "
                           "ms deciding %ld, committing %ld, answering %ld",
                        &l.commits, &events, &l.requests, &l.decide_ms, &l.commit_ms,
                        &l.answer_ms) == 6) {
            *out = l;
            found = true;
        }
    }
    if (f)
        fclose(f);
    return found;
}

static void s_print(const char *name, double v, const char *unit)
{
    printf("%s %.*f %s\n", name, v < 10 ? 2 : 0, v, unit);
    fflush(stdout);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const char *order_exe = th_env("TP_ORDER");
    const char *threads = getenv("TP_BENCH_GW_THREADS");
    threads = threads && *threads ? threads : "2";
    const char *secs_env = getenv("TP_BENCH_PHASE_S");
    double secs = secs_env && atof(secs_env) > 0 ? atof(secs_env) : PHASE_SECS;
    double argon2_ms = s_argon2_ms();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/gwbench-XXXXXX", s_base());
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    th_t *th = th_new("gwbench");
    char data[600], base[64];
    snprintf(data, sizeof data, "%s/data", dir);
    th_set(th, "data", data);
    fl_configure(th, -1);                           /* mails into the outbox folder */
    th_set(th, "gateway/threads", threads);
    int rc = 1;
    if (!th_start_services(th, 15000) ||
        !gwc_start_gateway(th, "account,order,identification", base, sizeof base)) {
        fprintf(stderr, "gateway_bench: the system did not come up (%s/logs)\n", th_dir(th));
        goto done;
    }
    gwc_t *lister = gwc_new(base), *placer = gwc_new(base);
    char *order = gwc_order_json("signature-card", NULL, "postident");
    bool ok = gwc_signup(th, lister, PASSWORD, "lister.bench@example.org") &&
              gwc_signup(th, placer, PASSWORD, "placer.bench@example.org");
    for (int i = 0; ok && i < LIST_ORDERS; i++) {
        char key[32];
        snprintf(key, sizeof key, "setup-%d", i);
        ok = s_place_one(lister, order, key);
    }
    ok = ok && s_count_orders(lister) == LIST_ORDERS;
    gwc_resp_t r;
    ok = ok && gwc_req(lister, "GET", "/css/portal.css", NULL, NULL, &r) == 200 && r.len > 0;
    if (r.headers)
        gwc_resp_free(&r);
    if (!ok) {
        fprintf(stderr, "gateway_bench: set-up failed\n");
        goto out;
    }
    printf("gateway_threads %s threads\n", threads);
    s_print("argon2id_hash_ms", argon2_ms, "ms");
    int errors = 0;
    s_result_t st, li, pl;
    s_phase_t ph = {"static", "GET", "/css/portal.css", NULL, NULL, NULL, base, base, false,
                    INFLIGHT, secs, 200};
    s_run(&ph, &st);
    errors += st.errors;
    s_print("static_req_per_s", st.rate, "req/s");
    s_print("static_p99_ms", st.p99_ms, "ms");
    ph = (s_phase_t) {"orders_list", "GET", "/api/v1/orders", NULL, gwc_session(lister), NULL,
                      base, base, false, INFLIGHT, secs, 200};
    s_run(&ph, &li);
    errors += li.errors;
    s_print("orders_list_req_per_s", li.rate, "req/s");
    s_print("orders_list_p99_ms", li.p99_ms, "ms");
    s_print("orders_list_vs_static_ratio", li.rate / st.rate, "x");
    /* fresh after the phase: an order placed now is in the next list */
    if (!s_place_one(lister, order, "after-list") || s_count_orders(lister) != LIST_ORDERS + 1) {
        fprintf(stderr, "gateway_bench: the order list missed an order placed after the phase\n");
        errors++;
    }
    /* a fresh order service, so that its closing line covers the placing phase alone */
    th_stop(th, "order", SIGTERM);
    if (th_start(th, order_exe, "order", 15000) <= 0 || !s_place_one(placer, order, "warm-up")) {
        fprintf(stderr, "gateway_bench: the order service did not come back\n");
        goto out;
    }
    ph = (s_phase_t) {"orders_place", "POST", "/api/v1/orders", order, gwc_session(placer),
                      NULL, base, base, true, PLACE_INFLIGHT, secs, 201};
    char csrf[160];
    {
        /* the placer's CSRF token (gw_client keeps it; ask "me" for it) */
        gwc_req(placer, "GET", "/api/v1/me", NULL, NULL, &r);
        snprintf(csrf, sizeof csrf, "%s", gwc_str(&r, "csrfToken"));
        gwc_resp_free(&r);
        ph.csrf = csrf;
    }
    s_run(&ph, &pl);
    errors += pl.errors;
    s_print("orders_place_per_s", pl.rate, "orders/s");
    s_print("orders_place_p99_ms", pl.p99_ms, "ms");
    /* durable and all there: every answered order is listed (plus the warm-up one) */
    int listed = s_count_orders(placer);
    if (listed != pl.done - pl.errors + 1) {
        fprintf(stderr, "gateway_bench: %d orders placed, %d listed\n", pl.done - pl.errors + 1,
                listed);
        errors++;
    }
    th_stop(th, "order", SIGTERM);
    s_loop_t loop;
    if (s_order_loop(th, &loop) && loop.commits > 0) {
        /* the service's single loop over the phase (and the warm-up, the list above and
         * a few probes): time per order deciding + answering, per commit (one fdatasync),
         * and commits per order (the order, then reactions to the identification
         * service's events, each its own commit): what is left of an order once its hash is done */
        double n = (double) (pl.done + 1);
        s_print("order_loop_decide_ms_per_order", (double) (loop.decide_ms + loop.answer_ms) / n,
                "ms");
        s_print("order_loop_commit_ms_per_commit", (double) loop.commit_ms / (double) loop.commits,
                "ms");
        s_print("order_loop_commits_per_order", (double) loop.commits / n, "commits");
    }
    /* two hashing workers (the default) on two cores: at most 2 / hash time */
    s_print("orders_place_argon2_bound_per_s", 2 * 1000.0 / argon2_ms, "orders/s");
    printf("errors %d requests\n", errors);
    rc = errors ? 1 : 0;
out:
    free(order);
    gwc_destroy(&lister);
    gwc_destroy(&placer);
done:
    th_destroy(&th);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
