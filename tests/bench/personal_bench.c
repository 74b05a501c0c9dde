/* personal_bench.c: what sealing personal data per data subject costs (svc_seal.h).
 *
 * In one process, on one file system, the order service's OrderPlaced events (a full
 * applicant each, a new data subject each) are written the way the runtime writes them:
 * in groups of 64, one LMDB commit with its fsync a group,
 *   plain:  packed and appended;
 *   sealed: packed, sealed with a fresh key of the order's subject (made in the key
 *           store), appended; the key store's commit (its own fsync) before the log's.
 * Rounds alternate plain and sealed, each into a fresh folder, and the medians are
 * compared. Then both logs are replayed into the order service's state (svc_rebuild):
 * the plain one as it is, the sealed one opened with its key store. For scale, one
 * Argon2id hash at the cost the order service pays per order (its revocation password)
 * is timed in the same process.
 *
 * Prints one line per figure and the ratios; TP_BENCH_ORDERS (default 4096) and
 * TP_BENCH_ROUNDS (default 3) change the size. */
#include <czmq.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs.h"
#include "evs_vault.h"
#include "order.h"
#include "order.pb-c.h"
#include "svc.h"

#define S_GROUP 64

typedef struct {
    uint8_t **payload;   /* packed OrderPlaced, one per order */
    size_t *len;
    char (*stream)[40];
    size_t n;
} s_orders_t;

static void s_orders_make(s_orders_t *o, size_t n)
{
    o->n = n;
    o->payload = calloc(n, sizeof *o->payload);
    o->len = calloc(n, sizeof *o->len);
    o->stream = calloc(n, sizeof *o->stream);
    Tp__Order__Address home = TP__ORDER__ADDRESS__INIT;
    home.street = "Heidestraße 17";
    home.postal_code = "51147";
    home.city = "Köln";
    home.country = "DE";
    Tp__Order__Applicant a = TP__ORDER__APPLICANT__INIT;
    a.given_names = "Erika";
    a.family_name = "Mustermann";
    a.birth_date = "1984-08-12";
    a.birth_place = "Berlin";
    a.nationality = "DE";
    a.address = &home;
    a.email = "erika.mustermann@example.de";
    a.phone = "+49 30 1234567";
    a.document_type = "id-card";
    a.document_number = "L01X00T47";
    a.document_authority = "Stadt Köln";
    a.document_expiry = "2031-06-30";
    for (size_t i = 0; i < n; i++) {
        char id[32], account[32];
        snprintf(id, sizeof id, "TP-2026-%06zu", i + 1);
        snprintf(account, sizeof account, "acc-%016zx", i + 1);
        Tp__Order__OrderPlaced e = TP__ORDER__ORDER_PLACED__INIT;
        e.order_id = id;
        e.account_id = account;
        e.product_id = "signature-card";
        e.applicant = &a;
        e.ident_method = "postident";
        e.revocation_password_hash =
            "$argon2id$v=19$m=19456,t=2,p=1$UkIIX63f7p3AN2WixWk0tA$Wl2cDW+S6aXnLz6Rls0pV6hAHtUfOmTt";
        e.language = "de";
        e.placed_at_us = 1764000000000000 + (int64_t) i;
        o->len[i] = tp__order__order_placed__get_packed_size(&e);
        o->payload[i] = malloc(o->len[i]);
        tp__order__order_placed__pack(&e, o->payload[i]);
        snprintf(o->stream[i], sizeof o->stream[i], "order-%s", id);
    }
}

/* Writes the orders into a fresh log in @p dir (sealed with a key store when @p seal);
 * returns orders per second. */
static double s_write(const s_orders_t *o, const char *dir, bool seal)
{
    evs_opts_t opts = {0};
    opts.service = "order";
    evs_t *store = NULL;
    evs_vault_t *vault = NULL;
    char vdir[600];
    snprintf(vdir, sizeof vdir, "%s/vault", dir);
    if (evs_open(dir, &opts, &store) != 0 || (seal && evs_vault_open(vdir, false, &vault) != 0)) {
        fprintf(stderr, "personal_bench: cannot open %s\n", dir);
        exit(1);
    }
    int64_t t0 = zclock_usecs();
    for (size_t g = 0; g < o->n; g += S_GROUP) {
        evs_batch_t *b = NULL;
        if (evs_batch_begin(store, &b) != 0)
            exit(1);
        for (size_t i = g; i < g + S_GROUP && i < o->n; i++) {
            uint8_t *sealed = NULL;
            size_t slen = 0;
            char event_id[33] = "", ad[200];
            if (seal) {
                uint8_t rnd[16];
                randombytes_buf(rnd, sizeof rnd);
                sodium_bin2hex(event_id, sizeof event_id, rnd, sizeof rnd);
                svc_seal_event_ad(ad, sizeof ad, event_id, 32, o->stream[i], strlen(o->stream[i]),
                                  "OrderPlaced", 11);
                if (svc_seal(&tp__order__order_placed__descriptor, o->payload[i], o->len[i], ad,
                             0, svc_vault_key, vault, &sealed, &slen) != 0 || !sealed)
                    exit(1);
            }
            evs_event_t ev = {o->stream[i], "OrderPlaced", sealed ? sealed : o->payload[i],
                              sealed ? slen : o->len[i], NULL, NULL, NULL,
                              seal ? event_id : NULL};
            if (evs_batch_append(b, &ev, 1, NULL, 0, NULL, NULL, 0, NULL, NULL) != 0)
                exit(1);
            free(sealed);
        }
        if ((vault && evs_vault_pending(vault) && evs_vault_commit(vault) != 0) ||
            evs_batch_commit(b) != 0)
            exit(1);
        evs_batch_end(&b);
    }
    double secs = (double) (zclock_usecs() - t0) / 1e6;
    evs_vault_close(&vault);
    evs_destroy(&store);
    return (double) o->n / secs;
}

/* Replays the log in @p dir into the order service's state; events per second. */
static double s_replay(const char *dir, bool seal)
{
    evs_opts_t opts = {.flags = EVS_RDONLY};
    evs_t *store = NULL;
    evs_vault_t *vault = NULL;
    char vdir[600];
    snprintf(vdir, sizeof vdir, "%s/vault", dir);
    if (evs_open(dir, &opts, &store) != 0 || (seal && evs_vault_open(vdir, true, &vault) != 0))
        exit(1);
    svc_keys_t keys = {svc_vault_key, vault};
    void *state = order_def.state_new();
    uint64_t applied = 0;
    int64_t t0 = zclock_usecs();
    if (svc_rebuild(&order_def, state, store, UINT64_MAX, INT64_MAX, &applied, NULL, NULL,
                    seal ? &keys : NULL) != 0)
        exit(1);
    double secs = (double) (zclock_usecs() - t0) / 1e6;
    order_def.state_destroy(&state);
    evs_vault_close(&vault);
    evs_destroy(&store);
    return (double) applied / secs;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double s_median(double *v, int n)
{
    qsort(v, (size_t) n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void s_rmrf(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "personal_bench: cannot remove %s\n", dir);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    if (sodium_init() < 0)
        return 1;
    size_t n = getenv("TP_BENCH_ORDERS") ? (size_t) atol(getenv("TP_BENCH_ORDERS")) : 4096;
    int rounds = getenv("TP_BENCH_ROUNDS") ? atoi(getenv("TP_BENCH_ROUNDS")) : 3;
    if (rounds < 1 || rounds > 20 || n < S_GROUP)
        return 2;
    const char *base = getenv("TP_BENCH_DIR") ? getenv("TP_BENCH_DIR") : "/tmp";
    s_orders_t o;
    s_orders_make(&o, n);
    double w_plain[20], w_sealed[20], r_plain[20], r_sealed[20];
    for (int r = 0; r < rounds; r++) {
        char dp[600], ds[600];
        snprintf(dp, sizeof dp, "%s/personal-bench-plain-XXXXXX", base);
        snprintf(ds, sizeof ds, "%s/personal-bench-sealed-XXXXXX", base);
        if (!mkdtemp(dp) || !mkdtemp(ds))
            return 1;
        /* alternate which goes first, so that neither always meets a warmer cache */
        if (r % 2 == 0) {
            w_plain[r] = s_write(&o, dp, false);
            w_sealed[r] = s_write(&o, ds, true);
        }
        else {
            w_sealed[r] = s_write(&o, ds, true);
            w_plain[r] = s_write(&o, dp, false);
        }
        r_plain[r] = s_replay(dp, false);
        r_sealed[r] = s_replay(ds, true);
        printf("round %d: write plain %.0f/s sealed %.0f/s; replay plain %.0f/s sealed %.0f/s\n",
               r + 1, w_plain[r], w_sealed[r], r_plain[r], r_sealed[r]);
        s_rmrf(dp);
        s_rmrf(ds);
    }
    double wp = s_median(w_plain, rounds), ws = s_median(w_sealed, rounds);
    double rp = s_median(r_plain, rounds), rs = s_median(r_sealed, rounds);
    /* one Argon2id hash at the order service's cost (its revocation password) */
    char hash[crypto_pwhash_STRBYTES];
    int64_t t0 = zclock_usecs();
    if (crypto_pwhash_str(hash, "Sperr-Kennwort-42", 17, 2, 19456 * 1024) != 0)
        return 1;
    double argon_ms = (double) (zclock_usecs() - t0) / 1000.0;
    printf("orders %zu, groups of %d, %d rounds (medians)\n", n, S_GROUP, rounds);
    printf("order_placed_write_plain_per_s %.0f\n", wp);
    printf("order_placed_write_sealed_per_s %.0f\n", ws);
    printf("sealed_vs_plain_write_ratio %.2f\n", ws / wp);
    printf("order_replay_plain_events_per_s %.0f\n", rp);
    printf("order_replay_sealed_events_per_s %.0f\n", rs);
    printf("sealed_vs_plain_replay_ratio %.2f\n", rs / rp);
    printf("sealing_us_per_order %.1f (write time sealed minus plain)\n", 1e6 / ws - 1e6 / wp);
    printf("argon2id_ms_per_order %.1f (the revocation password's hash, for scale)\n", argon_ms);
    return 0;
}
