/* attack.c: the kit of the attack tests (attack.h): the system behind a trusted proxy,
 * times as distributions, a flood of the password routes. */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attack.h"
#include "flow.h"

th_t *at_new(const char *name, const char *path, const char *value)
{
    zsys_init();
    zsys_set_logstream(NULL);
    th_t *th = th_new(name);
    int port = th ? th_smtp_start(th) : -1;
    if (port <= 0) {
        th_destroy(&th);
        return NULL;
    }
    fl_configure(th, port);
    th_set(th, "gateway/trusted_proxy", "127.0.0.1");
    if (path)
        th_set(th, path, value);
    return th;
}

bool at_start(th_t **th, const char *services, char *base, size_t basesz)
{
    char list[256];
    snprintf(list, sizeof list, "%s", services);
    bool up = *th != NULL;
    for (char *save = NULL, *s = strtok_r(list, ",", &save); up && s;
         s = strtok_r(NULL, ",", &save))
        if (th_start(*th, th_exe_of(s), s, 20000) <= 0) {
            fprintf(stderr, "attack: %s did not come up\n", s);
            up = false;
        }
    up = up && gwc_start_gateway(*th, services, base, basesz);
    if (!up)
        th_destroy(th);
    return up;
}

int at_end(th_t **th, const char *name, int64_t t0)
{
    th_destroy(th);
    fprintf(stderr, "%s: %.1f s, %d checks failed\n", name, (double) (zclock_mono() - t0) / 1000.0,
            th_failed);
    return th_failed ? 1 : 0;
}

/* ------------------------------------------------------------------ times */

void at_times_add(at_times_t *t, double secs)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        double *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = secs;
}

void at_times_free(at_times_t *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* The median of @p n values (sorted in place). */
static double s_median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double at_median(const at_times_t *t)
{
    double *v = malloc((t->n ? t->n : 1) * sizeof *v);
    if (!v)
        return 0;
    memcpy(v, t->v, t->n * sizeof *v);
    double m = s_median_of(v, t->n);
    free(v);
    return m;
}

double at_se_median(const at_times_t *t)
{
    if (t->n < 2)
        return 0;
    double m = at_median(t);
    double *d = malloc(t->n * sizeof *d);
    if (!d)
        return 0;
    for (size_t i = 0; i < t->n; i++)
        d[i] = fabs(t->v[i] - m);
    double mad = s_median_of(d, t->n);
    free(d);
    return 1.2533 * 1.4826 * mad / sqrt((double) t->n);
}

bool at_same(const char *what, const at_times_t *a, const at_times_t *b, double floor_s)
{
    double ma = at_median(a), mb = at_median(b);
    double sa = at_se_median(a), sb = at_se_median(b);
    double band = 4 * sqrt(sa * sa + sb * sb);
    if (band < floor_s)
        band = floor_s;
    bool same = fabs(ma - mb) <= band;
    fprintf(stderr,
            "%s: medians %.2f ms (n=%zu) and %.2f ms (n=%zu), difference %+.2f ms, "
            "noise band %.2f ms: %s\n",
            what, ma * 1e3, a->n, mb * 1e3, b->n, (mb - ma) * 1e3, band * 1e3,
            same ? "the same" : "DIFFERENT");
    return same;
}

/* ------------------------------------------------------------------ flood */

struct _at_flood_t {
    pthread_t *threads;
    int n;
    atomic_int stop;
    char base[128], addr[64], email[128], number[64];
    long status[6]; /* answers by hundreds: [0] none, [1..5] 1xx..5xx */
    long throttled; /* of them 429 */
    pthread_mutex_t lock;
};

static size_t s_discard(char *ptr, size_t size, size_t n, void *arg)
{
    return size * n;
}

static void *s_flood_run(void *arg)
{
    at_flood_t *f = arg;
    CURL *c = curl_easy_init();
    char xff[128], origin[160], body[512], url[256];
    snprintf(xff, sizeof xff, "X-Forwarded-For: %s", f->addr);
    snprintf(origin, sizeof origin, "Origin: %s", f->base);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, xff);
    h = curl_slist_append(h, origin);
    long status[6] = {0}, throttled = 0;
    for (unsigned i = (unsigned) (uintptr_t) pthread_self(); !atomic_load(&f->stop); i++) {
        const char *path;
        switch (i % 4) {
        case 0:
            path = "/api/v1/session";
            snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"guess number %u\"}",
                     f->email, i);
            break;
        case 1:
            path = "/api/v1/accounts";
            snprintf(body, sizeof body,
                     "{\"email\":\"flood-%u@example.net\",\"password\":\"flooding password %u\"}",
                     i, i);
            break;
        case 2:
            path = "/api/v1/password/reset";
            snprintf(body, sizeof body,
                     "{\"token\":\"made-up-token-%u\",\"newPassword\":\"flooding password %u\"}", i,
                     i);
            break;
        default:
            path = "/api/v1/revocations";
            snprintf(body, sizeof body,
                     "{\"number\":\"%s\",\"password\":\"guess number %u\",\"reason\":\"other\"}",
                     f->number, i);
        }
        snprintf(url, sizeof url, "%s%s", f->base, path);
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_discard);
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        status[code >= 100 && code < 600 ? code / 100 : 0]++;
        throttled += code == 429;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    pthread_mutex_lock(&f->lock);
    for (int k = 0; k < 6; k++)
        f->status[k] += status[k];
    f->throttled += throttled;
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

at_flood_t *at_flood_start(const char *base, const char *addr, const char *email,
                           const char *number, int connections)
{
    at_flood_t *f = calloc(1, sizeof *f);
    if (!f || !(f->threads = calloc((size_t) connections, sizeof *f->threads))) {
        free(f);
        return NULL;
    }
    snprintf(f->base, sizeof f->base, "%s", base);
    snprintf(f->addr, sizeof f->addr, "%s", addr);
    snprintf(f->email, sizeof f->email, "%s", email);
    snprintf(f->number, sizeof f->number, "%s", number);
    pthread_mutex_init(&f->lock, NULL);
    for (int i = 0; i < connections; i++)
        if (pthread_create(&f->threads[f->n], NULL, s_flood_run, f) == 0)
            f->n++;
    return f;
}

void at_flood_stop(at_flood_t **self_p, long *throttled, long *total)
{
    at_flood_t *f = *self_p;
    if (!f)
        return;
    atomic_store(&f->stop, 1);
    for (int i = 0; i < f->n; i++)
        pthread_join(f->threads[i], NULL);
    long all = 0;
    for (int k = 0; k < 6; k++)
        all += f->status[k];
    fprintf(stderr,
            "flood from %s over %d connections: %ld requests answered: %ld 2xx, %ld 4xx (%ld "
            "429 throttled), %ld 5xx, %ld without an answer\n",
            f->addr, f->n, all, f->status[2], f->status[4], f->throttled, f->status[5],
            f->status[0]);
    if (throttled)
        *throttled = f->throttled;
    if (total)
        *total = all;
    pthread_mutex_destroy(&f->lock);
    free(f->threads);
    free(f);
    *self_p = NULL;
}
