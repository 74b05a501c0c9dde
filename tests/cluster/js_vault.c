/* js_vault.c: the keys' stream (eventstore/evs_js_vault.h) on three real nats-server nodes:
 * 1,000 keys put in one call (timed, beside keys put one at a time) and read back through
 * other nodes; retries taken, another key for a stored subject refused; an erasure seen on
 * every node, and the key's bytes looked for in every node's store files before and after
 * it (the stream's files at once, the Raft logs until each server's next snapshot); a
 * node SIGKILLed under puts: every key acknowledged is read back. */
#include <ftw.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "evs_js_vault.h"

#define S_KEYS 1000
static char s_subj[S_KEYS][48];
static const char *s_subjp[S_KEYS];
static uint8_t s_keys[S_KEYS][EVS_VAULT_KEY_SIZE];

/* Subjects of the three kinds services use, and random keys. */
static void s_make(void)
{
    for (int i = 0; i < S_KEYS; i++) {
        uint32_t r[2];
        randombytes_buf(r, sizeof r);
        if (i % 3 == 0)
            snprintf(s_subj[i], sizeof s_subj[i], "order:%08x%08x", r[0], r[1]);
        else if (i % 3 == 1)
            snprintf(s_subj[i], sizeof s_subj[i], "account:acc-%d.%08x_x", i, r[0]);
        else
            snprintf(s_subj[i], sizeof s_subj[i], "window:20261206%06d", i);
        s_subjp[i] = s_subj[i];
        randombytes_buf(s_keys[i], sizeof s_keys[i]);
    }
}

/* ---------------------------------------------------------- the store files */

/* What s_scan() looks for, and what it found (nftw() takes no argument). */
static const uint8_t *s_needle;
static size_t s_root_len;
static char s_found[4096];
static int s_found_n;

static int s_scan_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    if (type != FTW_F || st->st_size == 0)
        return 0;
    FILE *f = fopen(path, "rb");
    uint8_t *buf = f ? malloc((size_t) st->st_size) : NULL;
    size_t len = buf ? fread(buf, 1, (size_t) st->st_size, f) : 0;
    if (buf && memmem(buf, len, s_needle, EVS_VAULT_KEY_SIZE)) {
        size_t at = strlen(s_found);
        snprintf(s_found + at, sizeof s_found - at, "%s%s", s_found_n ? ", " : "",
                 path + s_root_len);
        s_found_n++;
    }
    free(buf);
    if (f)
        fclose(f);
    return 0;
}

/* The files of node @p node's store that hold @p key: how many, their paths in s_found. */
static int s_scan(th_t *th, int node, const uint8_t *key)
{
    char root[400];
    snprintf(root, sizeof root, "%s/nats/n%d/", th_dir(th), node + 1);
    s_needle = key;
    s_root_len = strlen(root);
    s_found[0] = '\0';
    s_found_n = 0;
    nftw(root, s_scan_file, 16, FTW_PHYS);
    return s_found_n;
}

/* Whether a file of node @p node's stream (not its Raft log) holds @p key. */
static bool s_in_stream(th_t *th, int node, const uint8_t *key, const char *stream)
{
    s_scan(th, node, key);
    char part[80];
    snprintf(part, sizeof part, "streams/%s/", stream);
    return strstr(s_found, part) != NULL;
}

/* ------------------------------------------------------------------- the stream */

static void s_stream(tc_cluster_t *c, evs_js_t *js, evs_js_vault_t **v)
{
    TH_CHECK(evs_js_vault_open(js, "alpha", 0, v) == EVS_NOTFOUND && !*v);
    TH_CHECK(evs_js_vault_open(js, "Alpha", EVS_JS_CREATE, v) == EVS_INVALID && !*v);
    int rc = evs_js_vault_open(js, "alpha", EVS_JS_CREATE, v);
    if (rc != 0)
        fprintf(stderr, "open: %s\n", evs_js_error());
    TH_CHECK(rc == 0);
    if (!*v)
        return;
    TH_CHECK(strcmp(evs_js_vault_stream(*v), "TPVAULT_ALPHA") == 0);
    evs_js_info_t info;
    TH_CHECK(evs_js_vault_info(*v, &info) == 0 && info.replicas == 3 && info.last_seq == 0);
    printf("stream TPVAULT_ALPHA: 3 replicas, leader %s\n", info.leader);
    evs_js_vault_t *again = NULL;
    TH_CHECK(evs_js_vault_open(js, "alpha", 0, &again) == 0);
    evs_js_vault_destroy(&again);
    evs_js_vault_destroy(&again);

    /* streams of that name that deny deletes, or replace a subject's message, are refused */
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "TPVAULT_GAMMA";
    cfg.Subjects = (const char *[]){"tp.vault.gamma.>"};
    cfg.SubjectsLen = 1;
    cfg.MaxMsgsPerSubject = 1;
    cfg.Discard = js_DiscardNew;
    cfg.DiscardNewPerSubject = true;
    cfg.DenyDelete = true;
    cfg.DenyPurge = true;
    cfg.Replicas = 3;
    TH_CHECK(tc_add_stream(c, &cfg));
    TH_CHECK(evs_js_vault_open(js, "gamma", EVS_JS_CREATE, &again) == EVS_MISMATCH && !again);
    printf("a stream that denies deletes: %s\n", evs_js_error());
    cfg.Name = "TPVAULT_DELTA";
    cfg.Subjects = (const char *[]){"tp.vault.delta.>"};
    cfg.DenyDelete = false;
    cfg.DiscardNewPerSubject = false;
    cfg.Discard = js_DiscardOld;
    TH_CHECK(tc_add_stream(c, &cfg));
    TH_CHECK(evs_js_vault_open(js, "delta", EVS_JS_CREATE, &again) == EVS_MISMATCH && !again);
    printf("a stream that replaces a subject's message: %s\n", evs_js_error());
}

/* ------------------------------------------------------------------ put and get */

/* Reads every key of the table through @p v: how many differ or fail. */
static int s_get_all(evs_js_vault_t *v, int64_t *ms)
{
    int64_t t0 = zclock_mono();
    int bad = 0;
    for (int i = 0; i < S_KEYS; i++) {
        uint8_t key[EVS_VAULT_KEY_SIZE];
        int rc = evs_js_vault_get(v, s_subj[i], key);
        if (rc != 0 || memcmp(key, s_keys[i], sizeof key) != 0) {
            if (bad++ == 0)
                fprintf(stderr, "get %s: %s\n", s_subj[i], evs_js_error());
        }
    }
    *ms = zclock_mono() - t0;
    return bad;
}

static void s_puts(evs_js_vault_t *v, evs_js_vault_t *other)
{
    int64_t t0 = zclock_mono();
    int rc = evs_js_vault_put(v, s_subjp, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) s_keys, S_KEYS);
    int64_t ms = zclock_mono() - t0;
    if (rc != 0)
        fprintf(stderr, "put: %s\n", evs_js_error());
    TH_CHECK(rc == 0);
    printf("put %d keys in one call: %" PRId64 " ms\n", S_KEYS, ms);
    evs_js_info_t info;
    TH_CHECK(evs_js_vault_info(v, &info) == 0 && info.groups == S_KEYS);

    /* the same way one key per call, for comparison */
    t0 = zclock_mono();
    for (int i = 0; i < 100; i++) {
        char subject[32];
        uint8_t key[EVS_VAULT_KEY_SIZE];
        snprintf(subject, sizeof subject, "single:%d", i);
        randombytes_buf(key, sizeof key);
        const char *sp = subject;
        TH_CHECK(evs_js_vault_put(v, &sp, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) key, 1) == 0);
    }
    printf("put 100 keys one per call: %" PRId64 " ms\n", zclock_mono() - t0);

    /* read back through a connection to another node */
    TH_CHECK(s_get_all(other, &ms) == 0);
    printf("got the %d keys back through another node, one get each: %" PRId64 " ms\n", S_KEYS, ms);

    /* a retry of the whole call is fine; another key for a stored subject is refused */
    t0 = zclock_mono();
    rc = evs_js_vault_put(other, s_subjp, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) s_keys, S_KEYS);
    TH_CHECK(rc == 0);
    printf("the same %d keys put again: %s in %" PRId64 " ms\n", S_KEYS,
           rc == 0 ? "accepted" : evs_js_error(), zclock_mono() - t0);
    uint8_t wrong[2][EVS_VAULT_KEY_SIZE];
    memcpy(wrong[0], s_keys[5], sizeof wrong[0]);
    wrong[0][31] ^= 1;
    rc = evs_js_vault_put(other, &s_subjp[5], (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) wrong, 1);
    TH_CHECK(rc == EVS_CONFLICT);
    printf("another key for %s: %s (%s)\n", s_subj[5], evs_js_strerror(rc), evs_js_error());
    /* in a batch: the new subject stored, the other refused, the call says so */
    const char *mixed[2] = {"mixed:1", s_subj[6]};
    randombytes_buf(wrong[0], sizeof wrong[0]);
    memcpy(wrong[1], s_keys[7], sizeof wrong[1]);
    rc = evs_js_vault_put(v, mixed, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) wrong, 2);
    TH_CHECK(rc == EVS_CONFLICT && strstr(evs_js_error(), s_subj[6]));
    uint8_t key[EVS_VAULT_KEY_SIZE];
    TH_CHECK(evs_js_vault_get(other, "mixed:1", key) == 0 && memcmp(key, wrong[0], 32) == 0);
    TH_CHECK(s_get_all(other, &ms) == 0);
    /* a subject given twice in one call, with the same key */
    const char *twice[2] = {"twice:1", "twice:1"};
    memcpy(wrong[1], wrong[0], sizeof wrong[1]);
    TH_CHECK(evs_js_vault_put(v, twice, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) wrong, 2) == 0);
    const char *bad[1] = {"tab\there"};
    TH_CHECK(evs_js_vault_put(v, bad, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) wrong, 1) ==
             EVS_INVALID);
    TH_CHECK(evs_js_vault_get(v, "", key) == EVS_INVALID);
    TH_CHECK(evs_js_vault_get(v, "never:1", key) == EVS_NOTFOUND);
}

/* ------------------------------------------------------------------------ erasure */

typedef struct {
    const char *erased; /* the subject that must come without a key */
    int keys, tombstones, wrong;
} s_each_t;

static int s_each_fn(const char *subject, const uint8_t *key, void *arg)
{
    s_each_t *e = arg;
    if (!key) {
        e->tombstones++;
        return 0;
    }
    e->keys++;
    if (strcmp(subject, e->erased) == 0)
        e->wrong++;
    for (int i = 0; i < S_KEYS; i++)
        if (strcmp(subject, s_subj[i]) == 0 && memcmp(key, s_keys[i], 32) != 0)
            e->wrong++;
    return 0;
}

/* Erases s_subj[7]; returns when it was done (zclock_mono()). */
static int64_t s_erase(tc_cluster_t *c, th_t *th, evs_js_vault_t *v, evs_js_vault_t *nodes[3])
{
    const char *stream = evs_js_vault_stream(v);
    const uint8_t *key7 = s_keys[7];
    /* the key is in every node's files: its stream, and its Raft log */
    bool everywhere = false;
    for (int64_t until = zclock_mono() + 5000; !everywhere && zclock_mono() < until;) {
        everywhere = true;
        for (int n = 0; n < TC_NODES; n++)
            everywhere = everywhere && s_in_stream(th, n, key7, stream);
        if (!everywhere)
            zclock_sleep(100);
    }
    TH_CHECK(everywhere);
    for (int n = 0; n < TC_NODES; n++) {
        s_scan(th, n, key7);
        printf("before the erasure, %s's files holding the key: %s\n", tc_cluster_name(c, n),
               s_found);
    }

    int64_t t0 = zclock_mono();
    TH_CHECK(evs_js_vault_erase(v, s_subj[7]) == 0);
    int64_t erased = zclock_mono();
    printf("erased %s in %" PRId64 " ms\n", s_subj[7], erased - t0);
    TH_CHECK(evs_js_vault_erase(v, s_subj[7]) == 0); /* idempotent */
    uint8_t key[EVS_VAULT_KEY_SIZE];
    for (int n = 0; n < TC_NODES; n++)
        TH_CHECK(nodes[n] && evs_js_vault_get(nodes[n], s_subj[7], key) == EVS_ERASED);
    TH_CHECK(evs_js_vault_put(v, &s_subjp[7], (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) key7, 1) ==
             EVS_ERASED);
    TH_CHECK(evs_js_vault_get(v, s_subj[8], key) == 0 && memcmp(key, s_keys[8], 32) == 0);
    /* a subject never stored: erased all the same, and never gets a key */
    TH_CHECK(evs_js_vault_erase(nodes[2], "never:2") == 0);
    TH_CHECK(evs_js_vault_get(nodes[0], "never:2", key) == EVS_ERASED);
    const char *never = "never:2";
    TH_CHECK(evs_js_vault_put(v, &never, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) key7, 1) ==
             EVS_ERASED);

    /* the export: every subject once, the erased ones without a key */
    s_each_t e = {.erased = s_subj[7]};
    t0 = zclock_mono();
    TH_CHECK(evs_js_vault_each(nodes[1], s_each_fn, &e) == 0);
    /* 1,000 + 100 single + mixed:1 + twice:1 keys, less the erased one */
    TH_CHECK(e.keys == S_KEYS + 100 + 2 - 1 && e.tombstones == 2 && e.wrong == 0);
    printf("listed %d keys and %d tombstones in %" PRId64 " ms\n", e.keys, e.tombstones,
           zclock_mono() - t0);

    /* the stream's files no longer hold the erased key, on any node; they hold the others */
    for (int n = 0; n < TC_NODES; n++) {
        bool gone = false;
        for (int64_t until = zclock_mono() + 5000; !gone && zclock_mono() < until;)
            if (!(gone = !s_in_stream(th, n, key7, stream)))
                zclock_sleep(100);
        TH_CHECK(gone);
        TH_CHECK(s_in_stream(th, n, s_keys[8], stream));
        s_scan(th, n, key7);
        printf("after the erasure, %s's files holding the key: %s\n", tc_cluster_name(c, n),
               s_found_n ? s_found : "none");
    }
    return erased;
}

/* Waits until no file of any node holds the erased key (each server's snapshot compacts
 * its Raft log), looking every second, at most until @p erased + @p limit_ms. A server
 * that has no snapshot of the stream yet takes one when it restarts or becomes the
 * stream's leader (nats-server 2.9.10: raft.go, NeedSnapshot); the others at their
 * periodic snapshot, 2 to 3 minutes after the stream started and every 2 to 3 since. */
static void s_wait_shredded(tc_cluster_t *c, th_t *th, int64_t erased, int limit_ms)
{
    int64_t clean_at[TC_NODES] = {0};
    int left = TC_NODES;
    printf("looking for the erased key in every node's files each second from %.1f s after "
           "the erasure\n",
           (double) (zclock_mono() - erased) / 1000.0);
    while (left > 0 && zclock_mono() < erased + limit_ms) {
        for (int n = 0; n < TC_NODES; n++)
            if (!clean_at[n] && s_scan(th, n, s_keys[7]) == 0) {
                clean_at[n] = zclock_mono();
                left--;
                printf("%s's files hold the erased key no more, seen %.1f s after the erasure\n",
                       tc_cluster_name(c, n), (double) (clean_at[n] - erased) / 1000.0);
            }
        if (left > 0)
            zclock_sleep(1000);
    }
    for (int n = 0; n < TC_NODES; n++)
        if (!clean_at[n]) {
            s_scan(th, n, s_keys[7]);
            printf("%s's files still hold the erased key %d s after the erasure: %s\n",
                   tc_cluster_name(c, n), limit_ms / 1000, s_found);
        }
    TH_CHECK(left == 0);
    for (int n = 0; n < TC_NODES; n++) /* a key not erased is still there */
        TH_CHECK(s_scan(th, n, s_keys[8]) > 0);
}

/* ---------------------------------------------------------- a node killed under puts */

#define S_BATCH    25
#define S_LOAD_MAX 40000
static uint8_t s_load_keys[S_LOAD_MAX][EVS_VAULT_KEY_SIZE];

typedef struct {
    tc_tally_t load;          /* the tally; acked: keys, s_load_keys[0 .. acked) */
    evs_js_vault_t *v;       /* the loader's */
    int first;               /* the put under way: its first key */
    const char *sp[S_BATCH]; /* its subjects */
} s_load_t;

static void s_load_subject(int i, char *out, size_t outsz)
{
    snprintf(out, outsz, "load:%d", i);
}

static int s_load_put(void *arg)
{
    s_load_t *l = arg;
    return evs_js_vault_put(l->v, l->sp,
                            (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) s_load_keys[l->first], S_BATCH);
}

static void *s_load_run(void *arg)
{
    s_load_t *l = arg;
    while (!atomic_load(&l->load.stop) && atomic_load(&l->load.acked) + S_BATCH <= S_LOAD_MAX) {
        l->first = (int) atomic_load(&l->load.acked);
        char subjects[S_BATCH][32];
        for (int k = 0; k < S_BATCH; k++) {
            s_load_subject(l->first + k, subjects[k], sizeof subjects[k]);
            l->sp[k] = subjects[k];
            randombytes_buf(s_load_keys[l->first + k], EVS_VAULT_KEY_SIZE);
        }
        /* the same keys again until all are acknowledged */
        if (tc_tally_call(&l->load, s_load_put, l) != 0)
            break;
        atomic_store(&l->load.acked, (uint64_t) l->first + S_BATCH);
    }
    return NULL;
}

/* Reads the load's first @p n keys through @p v: how many differ or fail. */
static int s_check_load(evs_js_vault_t *v, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char subject[32];
        uint8_t key[EVS_VAULT_KEY_SIZE];
        s_load_subject(i, subject, sizeof subject);
        int rc = evs_js_vault_get(v, subject, key);
        if (rc != 0 || memcmp(key, s_load_keys[i], sizeof key) != 0)
            if (bad++ == 0)
                fprintf(stderr, "get %s: %d %s\n", subject, rc, evs_js_error());
    }
    return bad;
}

/* Waits until the stream has a leader; false when it has none after @p timeout_ms. */
static bool s_led(evs_js_vault_t *v, evs_js_info_t *info, int timeout_ms)
{
    int64_t until = zclock_mono() + timeout_ms;
    while (evs_js_vault_info(v, info) != 0 || !info->leader[0])
        if (zclock_mono() > until)
            return false;
        else
            zclock_sleep(50);
    return true;
}

static void s_node_kill(tc_cluster_t *c)
{
    evs_js_t *js = tc_connect(c, NULL, "loader");
    s_load_t l = {0};
    evs_js_vault_t *check = NULL; /* for the stream's state: on the loader's connection */
    TH_CHECK(js && evs_js_vault_open(js, "alpha", 0, &l.v) == 0 &&
             evs_js_vault_open(js, "alpha", 0, &check) == 0);
    if (!l.v || !check) {
        evs_js_vault_destroy(&l.v);
        evs_js_destroy(&js);
        return;
    }
    pthread_t t;
    pthread_create(&t, NULL, s_load_run, &l);
    TH_CHECK(tc_tally_wait(&l.load, 20 * S_BATCH, 10000) >= 0);
    evs_js_info_t info;
    TH_CHECK(evs_js_vault_info(check, &info) == 0);
    int leader = tc_cluster_node(c, info.leader);
    TH_CHECK(leader >= 0);
    if (leader < 0)
        leader = 0;
    int before = (int) atomic_load(&l.load.acked);
    tc_cluster_stop(c, leader, SIGKILL);
    int64_t went_on = tc_tally_wait(&l.load, (uint64_t) before + 20 * S_BATCH, 30000);
    TH_CHECK(went_on >= 0);
    printf("SIGKILL of %s (the stream's leader) after %d keys: %d more acknowledged within "
           "%" PRId64 " ms\n",
           tc_cluster_name(c, leader), before, 20 * S_BATCH, went_on);
    atomic_store(&l.load.stop, true);
    pthread_join(t, NULL);
    int acked = (int) atomic_load(&l.load.acked);
    TH_CHECK(l.load.failed == 0);
    printf("under the kill: %d keys acknowledged in puts of %d, %d puts tried again, longest "
           "wait %" PRId64 " ms\n",
           acked, S_BATCH, l.load.retries, l.load.max_gap_ms);
    TH_CHECK(s_led(check, &info, 20000));
    printf("%s leads the stream now\n", info.leader);

    /* every acknowledged key, through a node that stayed up, and the restarted one */
    int other = (leader + 1) % TC_NODES;
    evs_js_t *js2 = tc_connect(c, tc_cluster_url(c, other), "reader");
    evs_js_vault_t *r = NULL;
    TH_CHECK(js2 && evs_js_vault_open(js2, "alpha", 0, &r) == 0);
    int bad = r ? s_check_load(r, acked) : -1;
    TH_CHECK(bad == 0);
    printf("read back with %s down: %d keys, %d differ\n", tc_cluster_name(c, leader), acked, bad);
    evs_js_vault_destroy(&r);
    evs_js_destroy(&js2);
    TH_CHECK(tc_cluster_start(c, leader, 10000));
    int64_t t0 = zclock_mono();
    while ((evs_js_vault_info(check, &info) != 0 || info.current < TC_NODES) &&
           zclock_mono() - t0 < 30000)
        zclock_sleep(50);
    TH_CHECK(info.current == TC_NODES);
    js2 = tc_connect(c, tc_cluster_url(c, leader), "reader-2");
    TH_CHECK(js2 && evs_js_vault_open(js2, "alpha", 0, &r) == 0);
    bad = r ? s_check_load(r, acked) : -1;
    TH_CHECK(bad == 0);
    printf("read back through the restarted %s: %d keys, %d differ\n", tc_cluster_name(c, leader),
           acked, bad);
    evs_js_vault_destroy(&r);
    evs_js_destroy(&js2);
    evs_js_vault_destroy(&check);
    evs_js_vault_destroy(&l.v);
    evs_js_destroy(&js);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    s_make();
    th_t *th = NULL;
    tc_cluster_t *c = tc_cluster_up("cluster-vault", &th);
    if (!c)
        return 1;
    evs_js_t *js[TC_NODES];
    evs_js_vault_t *nodes[TC_NODES] = {NULL};
    for (int n = 0; n < TC_NODES; n++) {
        char name[16];
        snprintf(name, sizeof name, "node-%d", n + 1);
        js[n] = tc_connect(c, tc_cluster_url(c, n), name);
        TH_CHECK(js[n]);
    }
    if (js[0] && js[1] && js[2])
        s_stream(c, js[0], &nodes[0]);
    for (int n = 1; n < TC_NODES && nodes[0]; n++)
        TH_CHECK(evs_js_vault_open(js[n], "alpha", 0, &nodes[n]) == 0);
    if (nodes[0] && nodes[1] && nodes[2]) {
        s_puts(nodes[0], nodes[1]);
        int64_t erased = s_erase(c, th, nodes[0], nodes);
        s_node_kill(c);
        s_wait_shredded(c, th, erased, 240000);
    }
    for (int n = 0; n < TC_NODES; n++) {
        evs_js_vault_destroy(&nodes[n]);
        evs_js_destroy(&js[n]);
    }
    return tc_cluster_down(&c, &th);
}
