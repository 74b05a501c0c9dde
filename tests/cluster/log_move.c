/* log_move.c: `tpctl log import` and `tpctl log export` round trip on three real nats-server
 * nodes: the example service's embedded log (records in several groups, request results,
 * an upstream checkpoint with its hash), its key store (keys and erased subjects) and its
 * secret moved into the service's streams, and exported into a new folder that holds the
 * same log byte for byte, the same request results, checkpoints, keys, erasures and secret;
 * `tpctl log verify` passes on it, and the service started on it answers a retried request
 * from its kept result. A copy imported without --name goes to the stream of the log's
 * service. A second import, an import of a stream's local copy or of a log in use, and an
 * export into a folder not empty are refused; an export that fails leaves nothing. */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cluster.h"
#include "evs.h"
#include "evs_group.h"
#include "evs_vault.h"
#include "example.pb-c.h"

#define S_LOAD     2500 /* increments by the load client: 3 groups of records at least */
#define S_UPSTREAM 5    /* increments on beta, which alpha follows */
#define S_CALLS    3    /* increments with request ids of their own, replies kept */
#define S_KEYS     300  /* keys put into alpha's key store (more than one put of tpctl) */

/* ------------------------------------------------------------------ a log, whole */

typedef struct {
    zlist_t *records;      /* each record's bytes, hex */
    zhashx_t *requests;    /* request id -> result, hex */
    zhashx_t *checkpoints; /* upstream -> "seq:hash" */
} s_log_t;

static char *s_hex(const uint8_t *data, size_t len)
{
    char *hex = malloc(len * 2 + 1);
    if (hex)
        sodium_bin2hex(hex, len * 2 + 1, data, len);
    return hex;
}

static int s_record(const evs_record_t *rec, void *arg)
{
    s_log_t *l = arg;
    zlist_append(l->records, s_hex(rec->data, rec->len));
    return 0;
}

static int s_request(const char *id, const uint8_t *result, size_t len, void *arg)
{
    s_log_t *l = arg;
    char *hex = s_hex(result, len);
    zhashx_insert(l->requests, id, hex);
    free(hex);
    return 0;
}

static int s_checkpoint(const char *upstream, uint64_t seq, const uint8_t *hash, void *arg)
{
    s_log_t *l = arg;
    char *hex = hash ? s_hex(hash, EVS_HASH_SIZE) : NULL;
    char v[128];
    snprintf(v, sizeof v, "%" PRIu64 ":%s", seq, hex ? hex : "-");
    free(hex);
    zhashx_insert(l->checkpoints, upstream, v);
    return 0;
}

/* Reads the whole log of @p dir: head, records, request results, checkpoints. */
static bool s_read(const char *dir, s_log_t *l, evs_stat_t *st)
{
    l->records = zlist_new();
    zlist_autofree(l->records);
    l->requests = zhashx_new();
    l->checkpoints = zhashx_new();
    zhashx_set_duplicator(l->requests, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor(l->requests, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator(l->checkpoints, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor(l->checkpoints, (zhashx_destructor_fn *) zstr_free);
    evs_t *store = NULL;
    evs_opts_t opts = {.flags = EVS_RDONLY};
    bool ok = evs_open(dir, &opts, &store) == 0 && evs_stat(store, st) == 0 &&
              evs_read(store, 1, UINT64_MAX, 0, s_record, l) == 0 &&
              evs_requests_each(store, s_request, l) == 0 &&
              evs_checkpoints_each(store, s_checkpoint, l) == 0;
    evs_destroy(&store);
    return ok;
}

static void s_free(s_log_t *l)
{
    zlist_destroy(&l->records);
    zhashx_destroy(&l->requests);
    zhashx_destroy(&l->checkpoints);
}

/* How many entries of @p a are missing from @p b or differ there. */
static size_t s_differ(zhashx_t *a, zhashx_t *b)
{
    size_t n = 0;
    for (const char *v = zhashx_first(a); v; v = zhashx_next(a)) {
        const char *w = zhashx_lookup(b, zhashx_cursor(a));
        n += !w || strcmp(v, w) != 0;
    }
    return n;
}

/* The original log and the exported one: the same records byte for byte, head, request
 * results and checkpoints; no "$stream" checkpoint in either. */
static void s_compare(const char *orig, const char *copy)
{
    s_log_t a, b;
    evs_stat_t sa, sb;
    TH_CHECK(s_read(orig, &a, &sa));
    TH_CHECK(s_read(copy, &b, &sb));
    TH_CHECK(sa.head_seq == sb.head_seq && sa.head_seq >= S_LOAD + S_UPSTREAM + S_CALLS);
    TH_CHECK(memcmp(sa.head_hash, sb.head_hash, EVS_HASH_SIZE) == 0);
    TH_CHECK(strcmp(sa.service, sb.service) == 0 && strcmp(sb.service, "example") == 0);
    size_t records = 0, differ = 0;
    TH_CHECK(zlist_size(a.records) == zlist_size(b.records));
    for (char *x = zlist_first(a.records), *y = zlist_first(b.records); x && y;
         x = zlist_next(a.records), y = zlist_next(b.records), records++)
        differ += strcmp(x, y) != 0;
    TH_CHECK(differ == 0);
    size_t req_differ = s_differ(a.requests, b.requests);
    TH_CHECK(zhashx_size(a.requests) == zhashx_size(b.requests) && req_differ == 0);
    TH_CHECK(zhashx_size(a.requests) >= S_LOAD + S_CALLS);
    TH_CHECK(zhashx_size(a.checkpoints) == zhashx_size(b.checkpoints));
    TH_CHECK(s_differ(a.checkpoints, b.checkpoints) == 0);
    TH_CHECK(zhashx_lookup(a.checkpoints, "beta") && !zhashx_lookup(b.checkpoints, "$stream"));
    printf("exported log: head %" PRIu64 ", %zu records (%zu differ), %zu request results "
           "(%zu differ), %zu checkpoints, beta at %s\n",
           sb.head_seq, records, differ, zhashx_size(b.requests), req_differ,
           zhashx_size(b.checkpoints), (char *) zhashx_lookup(b.checkpoints, "beta"));
    s_free(&a);
    s_free(&b);
}

/* ------------------------------------------------------------------ keys */

static void s_subject(char *out, size_t outsz, int i)
{
    snprintf(out, outsz, "test:subject-%03d", i);
}

/* Puts S_KEYS keys into @p vdir's key store, and erases the first two and one never keyed. */
static void s_make_keys(const char *vdir)
{
    evs_vault_t *v = NULL;
    TH_CHECK(evs_vault_open(vdir, false, &v) == 0);
    if (!v)
        return;
    uint8_t key[EVS_VAULT_KEY_SIZE];
    char subject[64];
    for (int i = 0; i < S_KEYS; i++) {
        s_subject(subject, sizeof subject, i);
        TH_CHECK(evs_vault_get_or_create(v, subject, key) == 0);
    }
    TH_CHECK(evs_vault_commit(v) == 0);
    const char *gone[] = {"test:subject-000", "test:subject-001", "test:never-keyed"};
    TH_CHECK(evs_vault_erase(v, gone, 3, "test", 1) == 0);
    evs_vault_close(&v);
}

/* The key stores of @p a and @p b hold the same keys and erased subjects. */
static void s_compare_keys(const char *a, const char *b)
{
    evs_vault_t *va = NULL, *vb = NULL;
    TH_CHECK(evs_vault_open(a, true, &va) == 0 && evs_vault_open(b, true, &vb) == 0);
    if (!va || !vb) {
        evs_vault_close(&va);
        evs_vault_close(&vb);
        return;
    }
    uint8_t ka[EVS_VAULT_KEY_SIZE], kb[EVS_VAULT_KEY_SIZE];
    char subject[64];
    int same = 0, erased = 0;
    for (int i = 0; i < S_KEYS; i++) {
        s_subject(subject, sizeof subject, i);
        int ra = evs_vault_get(va, subject, ka, NULL), rb = evs_vault_get(vb, subject, kb, NULL);
        same += ra == 0 && rb == 0 && memcmp(ka, kb, sizeof ka) == 0;
        erased += ra == EVS_ERASED && rb == EVS_ERASED;
    }
    erased += evs_vault_get(vb, "test:never-keyed", kb, NULL) == EVS_ERASED;
    uint64_t keys_a, keys_b, erased_a, erased_b;
    evs_vault_counts(va, &keys_a, &erased_a);
    evs_vault_counts(vb, &keys_b, &erased_b);
    TH_CHECK(same == S_KEYS - 2 && erased == 3);
    TH_CHECK(keys_a == keys_b && erased_a == erased_b);
    printf("exported key store: %d keys the same, %d subjects erased in both\n", same, erased);
    evs_vault_close(&va);
    evs_vault_close(&vb);
}

static bool s_same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL;
    th_run(&x, "od -An -tx1 '%s'", a);
    th_run(&y, "od -An -tx1 '%s'", b);
    bool same = x && y && *x && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* ------------------------------------------------------------------ the example service */

/* One increment of @p counter on @p name with the request id @p rid; its reply's body into
 * @p body (hex) when not NULL. */
static bool s_increment(th_t *th, const char *name, const char *rid, const char *counter,
                        char **body)
{
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = (char *) counter;
    inc.by = 3;
    Tp__Reply *r = th_call(th, name, rid, "example.Increment", &inc.base, 10000);
    bool ok = r && r->ok;
    if (ok && body)
        *body = s_hex(r->body.data, r->body.len);
    if (r && !r->ok)
        th_reply_log(rid, r);
    th_reply_free(&r);
    return ok;
}

/* Writes alpha's log: a load of increments, some with replies kept, and the reactions to
 * beta's increments (an upstream checkpoint); then stops both. */
static void s_write_log(th_t *th, char **kept)
{
    const char *exe = th_env("TP_EXAMPLE");
    TH_CHECK(th_start(th, exe, "beta", 10000) > 0);
    TH_CHECK(th_start(th, exe, "alpha", 10000) > 0);
    char ep[400];
    th_router(th, "alpha", ep, sizeof ep);
    th_load_t load = {ep, "c0", S_LOAD, 64, 3000, 120000, calloc(S_LOAD, sizeof(uint64_t))};
    TH_CHECK(th_load_keys(&load, th_keys(th), "alpha") == 0);
    pthread_t t;
    pthread_create(&t, NULL, th_load_run, &load);
    for (int i = 0; i < S_UPSTREAM; i++) {
        char rid[16];
        snprintf(rid, sizeof rid, "up-%d", i);
        TH_CHECK(s_increment(th, "beta", rid, "u", NULL));
    }
    for (int i = 0; i < S_CALLS; i++) {
        char rid[16];
        snprintf(rid, sizeof rid, "r-%d", i);
        TH_CHECK(s_increment(th, "alpha", rid, "kept", &kept[i]));
    }
    pthread_join(t, NULL);
    TH_CHECK(load.acked == S_LOAD && load.refused == 0);
    free(load.acked_seq);
    char digest[128];
    TH_CHECK(th_settle(th, "alpha", digest, sizeof digest, 300, 30000));
    th_stop(th, "alpha", SIGTERM);
    th_stop(th, "beta", SIGTERM);
}

/* ------------------------------------------------------------------ the test */

/* A folder with a log that holds a "$stream" checkpoint: a stream's local copy. */
static void s_make_copy(const char *dir)
{
    evs_t *store = NULL;
    evs_batch_t *b = NULL;
    evs_opts_t opts = {.service = "example"};
    TH_CHECK(evs_open(dir, &opts, &store) == 0 && evs_batch_begin(store, &b) == 0 &&
             evs_batch_checkpoint(b, "$stream", 7) == 0 && evs_batch_commit(b) == 0);
    evs_batch_end(&b);
    evs_destroy(&store);
}

/* An export that fails: no stream (nothing made), and a stream whose group does not decode
 * (the empty folder given is left empty). */
static void s_broken(tc_cluster_t *c, th_t *th, const char *tpctl, const char *cfg)
{
    char *out = NULL;
    TH_CHECK(th_run(&out, "%s -c '%s' log export '%s/none/zeta' 2>&1", tpctl, cfg, th_dir(th)) ==
             1);
    TH_CHECK(out && strstr(out, "TP_ZETA"));
    free(out);
    TH_CHECK(th_run(NULL, "test -e '%s/none'", th_dir(th)) != 0);

    evs_js_t *js = tc_connect(c, NULL, "log-move");
    evs_js_log_t *log = NULL;
    evs_group_t *g = evs_group_new();
    uint8_t *body = NULL;
    size_t len = 0;
    const uint8_t junk[] = "not an envelope";
    TH_CHECK(js && g && evs_js_log_open(js, "broken", EVS_JS_CREATE, &log) == 0);
    TH_CHECK(evs_group_add_record(g, junk, sizeof junk) == 0 &&
             evs_group_add_checkpoint(g, "$stream", 1, NULL) == 0 &&
             evs_group_take(g, &body, &len) == 0);
    TH_CHECK(log && evs_js_append_raw(log, "test", 1, 0, body, len, NULL) == 0);
    free(body);
    evs_group_destroy(&g);
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
    TH_CHECK(th_run(NULL, "mkdir '%s/broken'", th_dir(th)) == 0);
    TH_CHECK(th_run(&out, "%s -c '%s' log export '%s/broken' 2>&1", tpctl, cfg, th_dir(th)) == 1);
    TH_CHECK(out && strstr(out, "does not decode") && strstr(out, "emptied"));
    printf("export of a broken stream: %s", out ? out : "(nothing)\n");
    free(out);
    TH_CHECK(th_run(&out, "ls -A '%s/broken'", th_dir(th)) == 0 && out && !*out);
    free(out);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const char *tpctl = th_env("TPCTL");
    th_t *th = NULL;
    tc_cluster_t *c = tc_cluster_up("log-move", &th);
    if (!c)
        return tc_cluster_down(&c, &th);
    th_set(th, "tick_ms", "60000");
    th_set(th, "js_servers", tc_cluster_urls(c));
    th_set(th, "js_replicas", "3");
    th_set(th, "alpha/upstreams", "beta");
    th_set(th, "beta/followers", "alpha");
    const char *cfg = th_config(th);

    char *kept[S_CALLS] = {0};
    s_write_log(th, kept);
    char dir[512], vdir[600];
    th_data_dir(th, "alpha", dir, sizeof dir);
    snprintf(vdir, sizeof vdir, "%s/vault", dir);
    s_make_keys(vdir);

    /* into the cluster */
    char *out = NULL, num[32];
    int64_t t0 = zclock_mono();
    TH_CHECK(th_run(&out, "%s -c '%s' log import '%s' --name alpha", tpctl, cfg, dir) == 0);
    printf("import (%" PRId64 " ms): %s", zclock_mono() - t0, out ? out : "(nothing)\n");
    TH_CHECK(out && strstr(out, "\"stream\":\"TP_ALPHA\""));
    TH_CHECK(out && th_json_str(out, "records", num, sizeof num) &&
             atol(num) >= S_LOAD + S_UPSTREAM + S_CALLS);
    TH_CHECK(out && th_json_str(out, "groups", num, sizeof num) && atol(num) >= 6);
    TH_CHECK(out && th_json_str(out, "checkpoints", num, sizeof num) && atol(num) == 1);
    TH_CHECK(out && th_json_str(out, "keys", num, sizeof num) && atol(num) == S_KEYS - 2);
    TH_CHECK(out && th_json_str(out, "erased", num, sizeof num) && atol(num) == 3);
    TH_CHECK(out && strstr(out, "\"secretKey\":true"));
    free(out);

    /* a second import, a stream's local copy: refused, nothing appended */
    TH_CHECK(th_run(&out, "%s -c '%s' log import '%s' --name alpha 2>&1", tpctl, cfg, dir) == 1);
    TH_CHECK(out && strstr(out, "already holds"));
    printf("second import: %s", out ? out : "(nothing)\n");
    free(out);
    /* without --name: the stream of the log's service */
    TH_CHECK(th_run(NULL, "cp -r '%s' '%s/example'", dir, th_dir(th)) == 0);
    TH_CHECK(th_run(&out, "%s -c '%s' log import '%s/example'", tpctl, cfg, th_dir(th)) == 0);
    TH_CHECK(out && strstr(out, "\"stream\":\"TP_EXAMPLE\""));
    free(out);
    char copy[600];
    snprintf(copy, sizeof copy, "%s/local-copy", th_dir(th));
    s_make_copy(copy);
    TH_CHECK(th_run(&out, "%s -c '%s' log import '%s' --name other 2>&1", tpctl, cfg, copy) == 1);
    TH_CHECK(out && strstr(out, "local copy of a stream"));
    free(out);

    /* out of it, into a new folder */
    char exported[600], evdir[700];
    snprintf(exported, sizeof exported, "%s/exported/alpha", th_dir(th));
    snprintf(evdir, sizeof evdir, "%s/vault", exported);
    t0 = zclock_mono();
    TH_CHECK(th_run(&out, "%s -c '%s' log export '%s' --service example", tpctl, cfg, exported) ==
             0);
    printf("export (%" PRId64 " ms): %s", zclock_mono() - t0, out ? out : "(nothing)\n");
    free(out);
    TH_CHECK(th_run(&out, "%s -c '%s' log export '%s' --service example 2>&1", tpctl, cfg,
                    exported) == 1);
    TH_CHECK(out && strstr(out, "not an empty folder"));
    free(out);
    s_broken(c, th, tpctl, cfg);
    s_compare(dir, exported);
    s_compare_keys(vdir, evdir);
    char sa[700], sb[800];
    snprintf(sa, sizeof sa, "%s/secret.key", dir);
    snprintf(sb, sizeof sb, "%s/secret.key", exported);
    struct stat st;
    TH_CHECK(s_same_file(sa, sb) && stat(sb, &st) == 0 && (st.st_mode & 0777) == 0600);
    TH_CHECK(th_run(&out, "%s log verify '%s'", tpctl, exported) == 0);
    TH_CHECK(out && strstr(out, "\"ok\":true"));
    free(out);

    /* the service on the exported folder (store = lmdb) answers a retried request from the
     * result it kept, without a new event */
    th_set(th, "alpha/data", exported);
    TH_CHECK(th_start(th, th_env("TP_EXAMPLE"), "alpha", 10000) > 0);
    uint64_t head = th_head(th, "alpha");
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = "kept";
    inc.by = 3;
    Tp__Reply *r = th_call(th, "alpha", "r-1", "example.Increment", &inc.base, 10000);
    char *body = r ? s_hex(r->body.data, r->body.len) : NULL;
    TH_CHECK(r && r->ok && r->replayed && body && kept[1] && strcmp(body, kept[1]) == 0);
    TH_CHECK(th_head(th, "alpha") == head);
    printf("the service on the exported folder: head %" PRIu64 ", r-1 answered from its kept "
           "result: %s\n",
           head, r && r->replayed ? "yes" : "no");
    free(body);
    th_reply_free(&r);
    /* a log in use is not imported */
    TH_CHECK(th_run(&out, "%s -c '%s' log import '%s' --name other 2>&1", tpctl, cfg, exported) ==
             1);
    TH_CHECK(out && strstr(out, "in use"));
    free(out);
    th_stop(th, "alpha", SIGTERM);
    for (int i = 0; i < S_CALLS; i++)
        free(kept[i]);
    return tc_cluster_down(&c, &th);
}
