/* live_bench.c: live updates under load, one `NAME VALUE UNIT` line each.
 *
 * The real account, order, identification and production daemons and the gateway; 100
 * customers with an order each and 10 open event streams each (1,000 streams, over real
 * HTTP from one libcurl multi loop). Operators then change those orders' status (a data
 * problem recorded, then resolved, in turn) at 500 changes a second for 10 s, from 8
 * threads with a request in flight each. For every message a stream reads, the time from
 * the event's commit (its `at`, stamped when the order service appends it, before the
 * fsync) to the moment the client parsed it: p50, p99 and the largest; messages lost
 * (each change must reach all 10 streams of its account); and the gateway's CPU time per
 * change and per message sent, from /proc before and after the load. The target: p99
 * under 100 ms (printed as a ratio to it).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "flow.h"
#include "gw_client.h"

#define N_ACCOUNTS 100
#define PER_ACCOUNT 10
#define N_STREAMS (N_ACCOUNTS * PER_ACCOUNT)
#define RATE 500            /* changes a second, in all */
#define SECONDS 10
#define SENDERS 8
#define MAX_SAMPLES (RATE * SECONDS * PER_ACCOUNT * 2)

static th_t *s_th;
static char s_orders[N_ACCOUNTS][64];

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ streams */

typedef struct {
    char line[2048];         /* the line being received */
    size_t len;
    bool live;               /* ": live from" seen */
    uint64_t messages;
} s_stream_t;

static s_stream_t s_streams[N_STREAMS];
static int64_t *s_lat;       /* latencies (us) of every message read */
static size_t s_n_lat;

static void s_line(s_stream_t *s)
{
    s->line[s->len] = '\0';
    if (strncmp(s->line, ": live from", 11) == 0)
        s->live = true;
    const char *at = strncmp(s->line, "data: ", 6) == 0 ? strstr(s->line, "\"at\":") : NULL;
    if (at) {
        int64_t t = atoll(at + 5);
        if (s_n_lat < MAX_SAMPLES)
            s_lat[s_n_lat++] = s_now_us() - t;
        s->messages++;
    }
    s->len = 0;
}

static size_t s_write(char *data, size_t size, size_t n, void *arg)
{
    s_stream_t *s = arg;
    for (size_t i = 0; i < size * n; i++) {
        if (data[i] == '\n')
            s_line(s);
        else if (s->len + 1 < sizeof s->line)
            s->line[s->len++] = data[i];
    }
    return size * n;
}

/* Runs the multi handle for @p ms. */
static void s_pump(CURLM *m, int ms)
{
    int64_t end = zclock_mono() + ms;
    int running = 0;
    while (zclock_mono() < end) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
}

/* ------------------------------------------------------------------ load */

typedef struct {
    int index;
    char ep[400];
    uint64_t sent, refused;
} s_sender_t;

static void *s_send(void *arg)
{
    s_sender_t *sd = arg;
    evs_client_t *c = evs_client_new_keyed(sd->ep, th_keys(s_th), "operator-test", "order");
    bool waiting[N_ACCOUNTS] = {false};
    int64_t t0 = zclock_usecs(), period = 1000000LL * SENDERS / RATE;
    for (int64_t i = 0; c && zclock_usecs() - t0 < SECONDS * 1000000LL; i++) {
        int64_t due = t0 + i * period, now = zclock_usecs();
        if (due > now)
            zclock_sleep((int) ((due - now) / 1000));
        int o = sd->index + SENDERS * (int) (i % ((N_ACCOUNTS + SENDERS - 1 - sd->index) / SENDERS));
        Tp__Reply *r = NULL;
        int rc;
        if (!waiting[o]) {
            Tp__Order__RecordDataProblem p = TP__ORDER__RECORD_DATA_PROBLEM__INIT;
            p.order_id = s_orders[o];
            p.reason = "Die Ausweisnummer ist unleserlich.";
            rc = evs_client_call(c, NULL, "order.RecordDataProblem", &p.base, 10000, &r);
        }
        else {
            Tp__Order__ResolveDataProblem p = TP__ORDER__RESOLVE_DATA_PROBLEM__INIT;
            p.order_id = s_orders[o];
            p.note = "nachgereicht";
            rc = evs_client_call(c, NULL, "order.ResolveDataProblem", &p.base, 10000, &r);
        }
        if (rc == 0 && r->ok) {
            waiting[o] = !waiting[o];
            sd->sent++;
        }
        else
            sd->refused++;
        if (r)
            tp__reply__free_unpacked(r, NULL);
    }
    evs_client_destroy(&c);
    return NULL;
}

/* The gateway's CPU time so far (us), from /proc. */
static int64_t s_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* after the name: state, then fields 4..13, then utime (14) and stime (15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (int64_t) ((ut + st) * 1000000ULL / (unsigned long long) sysconf(_SC_CLK_TCK));
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        setrlimit(RLIMIT_NOFILE, &rl);   /* the gateway inherits it */
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s_lat = calloc(MAX_SAMPLES, sizeof *s_lat);
    s_th = th_new("livebench");
    fl_configure(s_th, -1);
    th_set(s_th, "gateway/sse_per_account", "10");
    th_set(s_th, "gateway/sse_max", "5000");
    th_set(s_th, "gateway/per_ip_max", "5000");
    char base[64];
    if (!s_lat || !th_start_services(s_th, 20000) ||
        th_start(s_th, th_env("TP_PRODUCTION"), "production", 20000) <= 0 ||
        !gwc_start_gateway(s_th, "account,order,identification,production", base, sizeof base)) {
        fprintf(stderr, "live_bench: the system did not come up\n");
        th_destroy(&s_th);
        return 1;
    }
    /* the customers, an order each */
    static fl_customer_t customers[N_ACCOUNTS];
    for (int i = 0; i < N_ACCOUNTS; i++) {
        char email[64];
        snprintf(email, sizeof email, "bench-%03d@example.org", i);
        fl_order_t o;
        fl_order_init(&o, "signature-card", NULL, "postident");
        if (!fl_signup(s_th, email, &customers[i]) ||
            !fl_place(s_th, &customers[i], NULL, &o, s_orders[i], sizeof s_orders[i])) {
            fprintf(stderr, "live_bench: customer %d failed\n", i);
            th_destroy(&s_th);
            return 1;
        }
    }
    /* 1,000 streams */
    CURLM *m = curl_multi_init();
    CURL *easy[N_STREAMS];
    struct curl_slist *hdrs[N_ACCOUNTS];
    char url[128];
    snprintf(url, sizeof url, "%s/api/v1/events", base);
    for (int a = 0; a < N_ACCOUNTS; a++) {
        char cookie[256];
        snprintf(cookie, sizeof cookie, "Cookie: tp_session=%s", customers[a].session);
        hdrs[a] = curl_slist_append(NULL, cookie);
        for (int k = 0; k < PER_ACCOUNT; k++) {
            int i = a * PER_ACCOUNT + k;
            easy[i] = curl_easy_init();
            curl_easy_setopt(easy[i], CURLOPT_URL, url);
            curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdrs[a]);
            curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, s_write);
            curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &s_streams[i]);
            curl_multi_add_handle(m, easy[i]);
        }
    }
    int live = 0;
    for (int tries = 0; tries < 300 && live < N_STREAMS; tries++) {
        s_pump(m, 100);
        live = 0;
        for (int i = 0; i < N_STREAMS; i++)
            live += s_streams[i].live;
    }
    printf("live_streams %d streams\n", live);
    s_n_lat = 0;
    for (int i = 0; i < N_STREAMS; i++)
        s_streams[i].messages = 0;

    /* the load: the senders on their threads, the streams read on this one */
    s_sender_t senders[SENDERS];
    pthread_t threads[SENDERS];
    pid_t gw = th_pid(s_th, "gateway");
    int64_t cpu0 = s_cpu_us(gw), t0 = zclock_usecs();
    for (int i = 0; i < SENDERS; i++) {
        senders[i] = (s_sender_t) {.index = i};
        th_router(s_th, "order", senders[i].ep, sizeof senders[i].ep);
        pthread_create(&threads[i], NULL, s_send, &senders[i]);
    }
    s_pump(m, SECONDS * 1000);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(threads[i], NULL);
    double load_s = (double) (zclock_usecs() - t0) / 1e6;
    s_pump(m, 2000);   /* what is on its way */
    int64_t cpu = s_cpu_us(gw) - cpu0;

    uint64_t changes = 0, refused = 0, messages = 0;
    for (int i = 0; i < SENDERS; i++)
        changes += senders[i].sent, refused += senders[i].refused;
    for (int i = 0; i < N_STREAMS; i++)
        messages += s_streams[i].messages;
    qsort(s_lat, s_n_lat, sizeof *s_lat, s_cmp);
    double p50 = s_n_lat ? (double) s_lat[s_n_lat / 2] / 1000.0 : -1;
    double p99 = s_n_lat ? (double) s_lat[(s_n_lat * 99) / 100] / 1000.0 : -1;
    double max = s_n_lat ? (double) s_lat[s_n_lat - 1] / 1000.0 : -1;
    printf("live_changes %llu changes\n", (unsigned long long) changes);
    printf("live_changes_refused %llu changes\n", (unsigned long long) refused);
    printf("live_change_rate %.1f changes/s\n", (double) changes / load_s);
    printf("live_messages %llu messages\n", (unsigned long long) messages);
    printf("live_messages_lost %lld messages\n",
           (long long) (changes * PER_ACCOUNT) - (long long) messages);
    printf("live_latency_p50 %.1f ms\n", p50);
    printf("live_latency_p99 %.1f ms\n", p99);
    printf("live_latency_max %.1f ms\n", max);
    printf("live_latency_p99_vs_target_ratio %.3f\n", p99 / 100.0);
    printf("gateway_cpu_per_change %.1f us\n", changes ? (double) cpu / (double) changes : -1);
    printf("gateway_cpu_per_message %.1f us\n", messages ? (double) cpu / (double) messages : -1);

    for (int i = 0; i < N_STREAMS; i++) {
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    for (int a = 0; a < N_ACCOUNTS; a++)
        curl_slist_free_all(hdrs[a]);
    curl_multi_cleanup(m);
    th_destroy(&s_th);
    free(s_lat);
    curl_global_cleanup();
    return 0;
}
