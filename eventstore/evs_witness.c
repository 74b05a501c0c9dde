/* evs_witness.c: signed heads (evs_witness.h): the witness key, signing, checking one
 * log against the heads of it that another log recorded. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "evs_witness.h"
#include "tp.pb-c.h"

#define S_CONTEXT "trustportal witness key v1"   /* the key derivation's context */
#define S_DOMAIN "tp-head-v1"                    /* what a signature is of */

int evs_witness_keypair(zcert_t *cert, uint8_t pk[EVS_WITNESS_PK], uint8_t sk[EVS_WITNESS_SK])
{
    static const uint8_t zero[32] = {0};
    const uint8_t *secret = cert ? zcert_secret_key(cert) : NULL;
    if (!secret || sodium_memcmp(secret, zero, sizeof zero) == 0)
        return -1;
    uint8_t seed[crypto_sign_SEEDBYTES];
    crypto_generichash(seed, sizeof seed, (const uint8_t *) S_CONTEXT, strlen(S_CONTEXT),
                       secret, 32);
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
    return 0;
}

int evs_witness_public(const char *dir, const char *stem, uint8_t pk[EVS_WITNESS_PK])
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.pub", dir, stem);
    zcert_t *cert = zcert_load(path);
    const char *hex = cert ? zcert_meta(cert, EVS_WITNESS_META) : NULL;
    size_t got = 0;
    int rc = hex && strlen(hex) == 2 * EVS_WITNESS_PK &&
                     sodium_hex2bin(pk, EVS_WITNESS_PK, hex, strlen(hex), NULL, &got, NULL) == 0 &&
                     got == EVS_WITNESS_PK
                 ? 0
                 : -1;
    zcert_destroy(&cert);
    return rc;
}

/* The bytes a signature is of: domain NUL service NUL seq hash signed_at (big-endian). */
static size_t s_message(const evs_head_t *h, uint8_t *out)
{
    size_t n = 0, sl = strlen(h->service);
    memcpy(out, S_DOMAIN, sizeof S_DOMAIN);   /* with its NUL */
    n += sizeof S_DOMAIN;
    memcpy(out + n, h->service, sl + 1);
    n += sl + 1;
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t) (h->seq >> (8 * i));
    memcpy(out + n, h->hash, EVS_HASH_SIZE);
    n += EVS_HASH_SIZE;
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t) ((uint64_t) h->signed_at_us >> (8 * i));
    return n;
}

#define S_MESSAGE_MAX (sizeof S_DOMAIN + EVS_MAX_ID + 1 + 8 + EVS_HASH_SIZE + 8)

void evs_witness_sign(evs_head_t *head, const uint8_t pk[EVS_WITNESS_PK],
                      const uint8_t sk[EVS_WITNESS_SK])
{
    uint8_t msg[S_MESSAGE_MAX];
    size_t n = s_message(head, msg);
    memcpy(head->key, pk, EVS_WITNESS_PK);
    crypto_sign_detached(head->signature, NULL, msg, n, sk);
}

bool evs_witness_signed_ok(const evs_head_t *head)
{
    uint8_t msg[S_MESSAGE_MAX];
    size_t n = s_message(head, msg);
    return crypto_sign_verify_detached(head->signature, msg, n, head->key) == 0;
}

size_t evs_witness_packed_size(void)
{
    return EVS_MAX_ID + EVS_HASH_SIZE + EVS_WITNESS_PK + EVS_WITNESS_SIG + 64;
}

size_t evs_witness_pack(const evs_head_t *head, uint8_t *out)
{
    Tp__SignedHead m = TP__SIGNED_HEAD__INIT;
    m.service = (char *) head->service;
    m.seq = head->seq;
    m.hash = (ProtobufCBinaryData) {EVS_HASH_SIZE, (uint8_t *) head->hash};
    m.signed_at_us = head->signed_at_us;
    m.key = (ProtobufCBinaryData) {EVS_WITNESS_PK, (uint8_t *) head->key};
    m.signature = (ProtobufCBinaryData) {EVS_WITNESS_SIG, (uint8_t *) head->signature};
    return tp__signed_head__pack(&m, out);
}

int evs_witness_unpack(const uint8_t *data, size_t len, evs_head_t *head)
{
    memset(head, 0, sizeof *head);
    Tp__SignedHead *m = tp__signed_head__unpack(NULL, len, data);
    int rc = m && strlen(m->service) <= EVS_MAX_ID && m->hash.len == EVS_HASH_SIZE &&
                     m->key.len == EVS_WITNESS_PK && m->signature.len == EVS_WITNESS_SIG
                 ? 0
                 : -1;
    if (rc == 0) {
        snprintf(head->service, sizeof head->service, "%s", m->service);
        head->seq = m->seq;
        memcpy(head->hash, m->hash.data, EVS_HASH_SIZE);
        head->signed_at_us = m->signed_at_us;
        memcpy(head->key, m->key.data, EVS_WITNESS_PK);
        memcpy(head->signature, m->signature.data, EVS_WITNESS_SIG);
    }
    if (m)
        tp__signed_head__free_unpacked(m, NULL);
    return rc;
}

static bool s_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

bool evs_witness_is_signed(const evs_view_t *v)
{
    return s_is(v->event_type, v->event_type_len, EVS_WITNESS_SIGNED) &&
           s_is(v->stream_id, v->stream_id_len, EVS_WITNESS_STREAM);
}

bool evs_witness_is(const evs_view_t *v)
{
    size_t pl = strlen(EVS_WITNESSED_PREFIX);
    return evs_witness_is_signed(v) ||
           (s_is(v->event_type, v->event_type_len, EVS_WITNESS_RECORDED) &&
            v->stream_id_len > pl && memcmp(v->stream_id, EVS_WITNESSED_PREFIX, pl) == 0);
}

/* ------------------------------------------------------------------ one log against another */

typedef struct {
    evs_t *log;
    const char *service;
    const uint8_t *key;
    uint64_t head;              /* the log's */
    evs_witness_report_t *r;
} s_check_t;

/* The hash the log holds at @p seq into @p hash. */
static int s_hash_at_fn(const evs_record_t *rec, void *arg)
{
    uint8_t prev[EVS_HASH_SIZE];
    return evs_chain(rec->data, rec->len, prev, arg) == 0 ? 1 : EVS_CORRUPT;
}

static int s_check_one(const evs_record_t *rec, void *arg)
{
    s_check_t *c = arg;
    evs_view_t v;
    evs_head_t h;
    if (evs_view(rec->data, rec->len, &v) != 0)
        return EVS_CORRUPT;
    if (evs_witness_unpack(v.payload, v.payload_len, &h) != 0 ||
        strcmp(h.service, c->service) != 0) {
        snprintf(c->r->reason, sizeof c->r->reason,
                 "its record seq %llu is not a signed head of %s", (unsigned long long) rec->seq,
                 c->service);
        c->r->contradicted = true;
        return 1;
    }
    c->r->heads++;
    if (h.seq > c->r->newest)
        c->r->newest = h.seq;
    char hex[2 * EVS_HASH_SIZE + 1];
    sodium_bin2hex(hex, sizeof hex, h.hash, 8);
    if (!evs_witness_signed_ok(&h) ||
        (c->key && sodium_memcmp(h.key, c->key, EVS_WITNESS_PK) != 0)) {
        snprintf(c->r->reason, sizeof c->r->reason,
                 "the head seq %llu (hash %s...) that it recorded at its seq %llu does not "
                 "carry a good signature of %s",
                 (unsigned long long) h.seq, hex, (unsigned long long) rec->seq, c->service);
        c->r->contradicted = true;
        return 1;
    }
    if (h.seq > c->head) {
        snprintf(c->r->reason, sizeof c->r->reason,
                 "it recorded head seq %llu (hash %s..., signed by %s), but the log ends at "
                 "seq %llu: truncated, or restored from an older backup",
                 (unsigned long long) h.seq, hex, c->service, (unsigned long long) c->head);
        c->r->contradicted = true;
        return 1;
    }
    uint8_t have[EVS_HASH_SIZE] = {0};
    int rc = h.seq ? evs_read(c->log, h.seq, h.seq, 1, s_hash_at_fn, have) : 1;
    if (rc != 1)
        return rc ? rc : EVS_CORRUPT;
    if (sodium_memcmp(have, h.hash, EVS_HASH_SIZE) != 0) {
        char hex2[2 * EVS_HASH_SIZE + 1];
        sodium_bin2hex(hex2, sizeof hex2, have, 8);
        snprintf(c->r->reason, sizeof c->r->reason,
                 "it recorded head seq %llu with hash %s... (signed by %s), but the log has "
                 "hash %s... there: rewritten, or restored from another history",
                 (unsigned long long) h.seq, hex, c->service, hex2);
        c->r->contradicted = true;
        return 1;
    }
    c->r->checked++;
    return 0;
}

int evs_witness_check_log(evs_t *log, const char *service, evs_t *witness,
                          const uint8_t *key, evs_witness_report_t *report)
{
    memset(report, 0, sizeof *report);
    char stream[EVS_MAX_ID + 1];
    snprintf(stream, sizeof stream, "%s%s", EVS_WITNESSED_PREFIX, service);
    s_check_t c = {log, service, key, 0, report};
    int rc = evs_head(log, &c.head, NULL);
    if (rc != 0)
        return rc;
    rc = evs_read_stream(witness, stream, 1, s_check_one, &c);
    if (rc == EVS_NOTFOUND || rc == 1)
        rc = 0;
    if (rc != 0 || report->contradicted)
        return rc;
    /* and the witness's checkpoint: the last record of the log it took, and its hash */
    uint8_t cp_hash[EVS_HASH_SIZE], have[EVS_HASH_SIZE] = {0};
    bool known = false;
    rc = evs_checkpoint_hash(witness, service, &report->checkpoint, cp_hash, &known);
    uint64_t cp = report->checkpoint;
    char a[17], b[17];
    if (rc != 0 || cp == 0)
        return rc;
    if (cp > c.head) {
        snprintf(report->reason, sizeof report->reason,
                 "it took %s's records up to seq %llu (its checkpoint), but the log ends at seq "
                 "%llu: truncated, or restored from an older backup",
                 service, (unsigned long long) cp, (unsigned long long) c.head);
        report->contradicted = true;
        return 0;
    }
    if (!known)
        return 0;
    rc = evs_read(log, cp, cp, 1, s_hash_at_fn, have);
    if (rc != 1)
        return rc ? rc : EVS_CORRUPT;
    if (sodium_memcmp(have, cp_hash, EVS_HASH_SIZE) != 0) {
        sodium_bin2hex(a, sizeof a, cp_hash, 8);
        sodium_bin2hex(b, sizeof b, have, 8);
        snprintf(report->reason, sizeof report->reason,
                 "it took seq %llu of %s with hash %s... (its checkpoint), but the log has hash "
                 "%s... there: rewritten, or restored from another history",
                 (unsigned long long) cp, service, a, b);
        report->contradicted = true;
    }
    return 0;
}

/* ------------------------------------------------------------------ self-test */

#define CHECK(x)                                                                   \
    do {                                                                           \
        if (!(x)) {                                                                \
            fprintf(stderr, "evs_witness: %s:%d: %s\n", __FILE__, __LINE__, #x);   \
            return 1;                                                              \
        }                                                                          \
    } while (0)

int evs_witness_test(bool verbose)
{
    if (sodium_init() < 0)
        return 1;
    zcert_t *cert = zcert_new(), *other = zcert_new();
    uint8_t pk[EVS_WITNESS_PK], sk[EVS_WITNESS_SK], pk2[EVS_WITNESS_PK], sk2[EVS_WITNESS_SK];
    CHECK(evs_witness_keypair(cert, pk, sk) == 0);
    CHECK(evs_witness_keypair(cert, pk2, sk2) == 0);
    CHECK(memcmp(pk, pk2, sizeof pk) == 0);           /* the same key, every time */
    CHECK(evs_witness_keypair(other, pk2, sk2) == 0);
    CHECK(memcmp(pk, pk2, sizeof pk) != 0);           /* another service, another key */

    evs_head_t h = {.service = "order", .seq = 42, .signed_at_us = 1700000000000000};
    memset(h.hash, 0xab, sizeof h.hash);
    evs_witness_sign(&h, pk, sk);
    CHECK(evs_witness_signed_ok(&h));
    uint8_t buf[512];
    CHECK(evs_witness_packed_size() <= sizeof buf);
    size_t n = evs_witness_pack(&h, buf);
    evs_head_t back;
    CHECK(evs_witness_unpack(buf, n, &back) == 0);
    CHECK(memcmp(&back, &h, sizeof h) == 0 && evs_witness_signed_ok(&back));
    CHECK(evs_witness_unpack(buf, n - 3, &back) != 0);   /* cut short */
    /* each field is covered */
    evs_head_t bad = h;
    bad.seq++;
    CHECK(!evs_witness_signed_ok(&bad));
    bad = h;
    bad.hash[31] ^= 1;
    CHECK(!evs_witness_signed_ok(&bad));
    bad = h;
    bad.signed_at_us++;
    CHECK(!evs_witness_signed_ok(&bad));
    bad = h;
    snprintf(bad.service, sizeof bad.service, "orders");
    CHECK(!evs_witness_signed_ok(&bad));
    bad = h;
    memcpy(bad.key, pk2, sizeof pk2);   /* another key claimed */
    CHECK(!evs_witness_signed_ok(&bad));
    CHECK(evs_witness_keypair(NULL, pk2, sk2) == -1);
    zcert_destroy(&cert);
    zcert_destroy(&other);
    if (verbose)
        printf("evs_witness: ok\n");
    return 0;
}
