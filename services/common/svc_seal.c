/* svc_seal.c: personal fields sealed and opened per data subject (svc_seal.h). */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "evs.h"
#include "svc_seal.h"
#include "tp_personal.h"

#define S_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define S_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define S_SUBJECT_MAX 200
#define S_DEPTH_MAX 8

typedef enum { S_SEAL, S_OPEN, S_SUBJECTS } s_mode_t;

/* One walk over a message. */
typedef struct {
    s_mode_t mode;
    const char *ad;
    int64_t now_us;
    svc_key_fn *keys;
    void *arg;
    void (*subject_fn)(const char *subject, void *arg);
    size_t changed;     /* values sealed or opened */
    size_t erased;
    int rc;
    /* the last subject's key: the values of one message are mostly one subject's */
    char key_subject[S_SUBJECT_MAX + 1];
    uint8_t key[SVC_SEAL_KEY_SIZE];
    int key_rc;
} s_walk_t;

/* ------------------------------------------------------------------ which types */

/* A small cache of svc_seal_needed answers: descriptor -> 1 (personal) or 2 (not). */
#define S_CACHE 512
static const ProtobufCMessageDescriptor *s_cache_desc[S_CACHE];
static unsigned char s_cache_val[S_CACHE];
static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* What each field of a message type is (tp_personal_kind), cached per type: the table
 * is searched once per type, not once per field of every message. Entries are made once
 * and kept for the process (the types are the few the program has), so a reader never
 * sees one freed. */
typedef struct s_kinds {
    const ProtobufCMessageDescriptor *desc;
    signed char *kinds;   /* [n_fields] */
    struct s_kinds *next;
} s_kinds_t;
static s_kinds_t *s_kinds[S_CACHE];

static tp_personal_kind_t s_kind(const ProtobufCMessageDescriptor *m, unsigned field)
{
    size_t h = ((uintptr_t) m >> 4) % S_CACHE;
    pthread_mutex_lock(&s_cache_lock);
    s_kinds_t *e = s_kinds[h];
    while (e && e->desc != m)
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        e->kinds = malloc(m->n_fields ? m->n_fields : 1);
        if (!e->kinds) {
            free(e);
            e = NULL;
        }
        else {
            for (unsigned i = 0; i < m->n_fields; i++)
                e->kinds[i] = (signed char) tp_personal_kind(m, &m->fields[i]);
            e->desc = m;
            e->next = s_kinds[h];
            s_kinds[h] = e;
        }
    }
    pthread_mutex_unlock(&s_cache_lock);
    return e ? (tp_personal_kind_t) e->kinds[field] : tp_personal_kind(m, &m->fields[field]);
}

bool svc_seal_needed(const ProtobufCMessageDescriptor *desc)
{
    size_t h = ((uintptr_t) desc >> 4) % S_CACHE;
    pthread_mutex_lock(&s_cache_lock);
    unsigned char v = s_cache_desc[h] == desc ? s_cache_val[h] : 0;
    pthread_mutex_unlock(&s_cache_lock);
    if (v)
        return v == 1;
    bool any = tp_personal_any(desc) != 0;
    pthread_mutex_lock(&s_cache_lock);
    s_cache_desc[h] = desc;
    s_cache_val[h] = any ? 1 : 2;
    pthread_mutex_unlock(&s_cache_lock);
    return any;
}

/* ------------------------------------------------------------------ one value */

/* The associated data of a value: domain, the caller's ids, message and field. */
static size_t s_ad(char *out, size_t outsz, const char *ad, const ProtobufCMessageDescriptor *m,
                   const ProtobufCFieldDescriptor *f)
{
    int n = snprintf(out, outsz, "tp-seal-1|%s|%s.%s", ad, m->name, f->name);
    return n < 0 ? 0 : (size_t) n < outsz ? (size_t) n : outsz - 1;
}

/* The subject of a window field written at @p now_us: "window:YYYYMMDDHH" (UTC). */
static void s_window(int64_t now_us, char *out, size_t outsz)
{
    time_t t = (time_t) (now_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "window:%Y%m%d%H", &tm);
}

/* Splits a sealed value into its subject and its payload; false when it is not one. */
static bool s_parse(const char *v, char *subject, const char **b64)
{
    size_t plen = strlen(SVC_SEALED_PREFIX);
    if (strncmp(v, SVC_SEALED_PREFIX, plen) != 0)
        return false;
    const char *last = strrchr(v + plen, ':');
    if (!last || last == v + plen || (size_t) (last - (v + plen)) > S_SUBJECT_MAX)
        return false;
    memcpy(subject, v + plen, (size_t) (last - (v + plen)));
    subject[last - (v + plen)] = '\0';
    *b64 = last + 1;
    return true;
}

/* The key of @p subject through the walk's cache of the last one. */
static int s_key(s_walk_t *w, const char *subject, bool create, uint8_t key[SVC_SEAL_KEY_SIZE])
{
    if (strcmp(w->key_subject, subject) != 0) {
        w->key_rc = w->keys(w->arg, subject, create, w->key);
        snprintf(w->key_subject, sizeof w->key_subject, "%s", subject);
    }
    memcpy(key, w->key, SVC_SEAL_KEY_SIZE);
    return w->key_rc;
}

static char *s_seal_value(s_walk_t *w, const char *value, const char *subject, const char *ad,
                          size_t ad_len)
{
    uint8_t key[SVC_SEAL_KEY_SIZE];
    int rc = s_key(w, subject, true, key);
    if (rc == EVS_ERASED) {
        /* nothing more is kept of an erased subject: the value goes, the event stays */
        w->erased++;
        return strdup(SVC_ERASED);
    }
    if (rc != 0) {
        w->rc = rc;
        return NULL;
    }
    size_t vlen = strlen(value), clen = S_NONCE + vlen + S_TAG;
    uint8_t *ct = malloc(clen);
    size_t b64len = sodium_base64_ENCODED_LEN(clen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t prefix = strlen(SVC_SEALED_PREFIX) + strlen(subject) + 1;
    char *out = malloc(prefix + b64len);
    if (!ct || !out) {
        free(ct);
        free(out);
        sodium_memzero(key, sizeof key);
        w->rc = -ENOMEM;
        return NULL;
    }
    randombytes_buf(ct, S_NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct + S_NONCE, NULL, (const uint8_t *) value, vlen,
                                               (const uint8_t *) ad, ad_len, NULL, ct, key);
    sodium_memzero(key, sizeof key);
    snprintf(out, prefix + 1, "%s%s:", SVC_SEALED_PREFIX, subject);
    sodium_bin2base64(out + prefix, b64len, ct, clen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(ct);
    return out;
}

/* The opened value (malloc'd), SVC_ERASED's copy when the key is gone; NULL on error. */
static char *s_open_value(s_walk_t *w, const char *subject, const char *b64, const char *ad,
                          size_t ad_len)
{
    uint8_t key[SVC_SEAL_KEY_SIZE];
    int rc = s_key(w, subject, false, key);
    if (rc == EVS_ERASED) {
        w->erased++;
        return strdup(SVC_ERASED);
    }
    if (rc != 0) {
        /* a key that is not there and was never erased (a key store lost or from another
         * log): the value is not passed off as erased */
        w->rc = rc == EVS_NOTFOUND ? EVS_CORRUPT : rc;
        return NULL;
    }
    size_t b64len = strlen(b64), cap = b64len / 4 * 3 + 3, clen = 0;
    uint8_t *ct = malloc(cap);
    char *out = NULL;
    if (!ct) {
        w->rc = -ENOMEM;
        goto done;
    }
    if (sodium_base642bin(ct, cap, b64, b64len, NULL, &clen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        clen < S_NONCE + S_TAG) {
        w->rc = EVS_CORRUPT;
        goto done;
    }
    size_t plen = clen - S_NONCE - S_TAG;
    out = malloc(plen + 1);
    if (!out) {
        w->rc = -ENOMEM;
        goto done;
    }
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *) out, &got, NULL, ct + S_NONCE,
                                                   clen - S_NONCE, (const uint8_t *) ad, ad_len,
                                                   ct, key) != 0 ||
        memchr(out, '\0', (size_t) got)) {
        free(out);
        out = NULL;
        w->rc = EVS_CORRUPT;
        goto done;
    }
    out[got] = '\0';
done:
    sodium_memzero(key, sizeof key);
    free(ct);
    return out;
}

/* Seals or opens one string field value in place (*slot). */
static void s_value(s_walk_t *w, const ProtobufCMessageDescriptor *m,
                    const ProtobufCFieldDescriptor *f, tp_personal_kind_t kind, char **slot,
                    const char *scope)
{
    char *v = *slot;
    if (!v || !*v || v == (char *) f->default_value)
        return;
    char subject[S_SUBJECT_MAX + 1], ad[600];
    const char *b64 = NULL;
    bool sealed = s_parse(v, subject, &b64);
    if (w->mode == S_SUBJECTS) {
        if (sealed)
            w->subject_fn(subject, w->arg);
        return;
    }
    size_t ad_len = s_ad(ad, sizeof ad, w->ad, m, f);
    char *repl = NULL;
    if (w->mode == S_OPEN) {
        if (!sealed)
            return;   /* written before sealing, or plain */
        repl = s_open_value(w, subject, b64, ad, ad_len);
    }
    else {
        /* everything is sealed, also what looks sealed already: a customer who types
         * "sealed:1:..." as a name gets it back as typed, and a log never holds a value
         * in the sealed form that was not sealed here */
        if (kind == TP_PERSONAL_WINDOW)
            s_window(w->now_us, subject, sizeof subject);
        else if (scope)
            snprintf(subject, sizeof subject, "%s", scope);
        else {
            w->rc = EVS_INVALID;   /* personal, and nobody's: the table or the proto is wrong */
            return;
        }
        repl = s_seal_value(w, v, subject, ad, ad_len);
    }
    if (!repl)
        return;
    sodium_memzero(v, strlen(v));
    free(v);
    *slot = repl;
    w->changed++;
}

/* ------------------------------------------------------------------ the walk */

/* The string value of field @p name (singular) of @p msg, or NULL. */
static const char *s_str_field(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *v = *(char *const *) ((const char *) msg + f->offset);
    return v && *v ? v : NULL;
}

static void s_walk(s_walk_t *w, ProtobufCMessage *msg, const char *outer, int depth)
{
    if (w->rc)
        return;
    if (depth > S_DEPTH_MAX) {
        if (w->mode == S_SEAL)
            w->rc = EVS_INVALID;   /* never left in the clear for being deep */
        return;
    }
    const ProtobufCMessageDescriptor *m = msg->descriptor;
    char scope[S_SUBJECT_MAX + 1];
    const char *order = s_str_field(msg, "order_id"), *account = s_str_field(msg, "account_id");
    const char *use = outer;
    if (order || account) {
        snprintf(scope, sizeof scope, "%s:%s", order ? "order" : "account",
                 order ? order : account);
        use = scope;
    }
    for (unsigned i = 0; i < m->n_fields && !w->rc; i++) {
        const ProtobufCFieldDescriptor *f = &m->fields[i];
        char *base = (char *) msg + f->offset;
        bool rep = f->label == PROTOBUF_C_LABEL_REPEATED;
        size_t n = rep ? *(size_t *) ((char *) msg + f->quantifier_offset) : 1;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage **subs = rep ? *(ProtobufCMessage ***) base
                                          : (ProtobufCMessage **) base;
            for (size_t k = 0; k < n && subs; k++)
                if (subs[k])
                    s_walk(w, subs[k], use, depth + 1);
            continue;
        }
        if (f->type != PROTOBUF_C_TYPE_STRING)
            continue;
        tp_personal_kind_t kind = s_kind(m, i);
        if (kind <= TP_PLAIN)
            continue;   /* only personal fields are sealed, so only they are opened */
        char **slots = rep ? *(char ***) base : (char **) base;
        for (size_t k = 0; k < n && slots; k++)
            s_value(w, m, f, kind, &slots[k], use);
    }
}

/* Unpacks, walks, packs again when something changed. */
static int s_run(s_walk_t *w, const ProtobufCMessageDescriptor *desc, const uint8_t *in,
                 size_t len, uint8_t **out, size_t *out_len)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, in);
    if (!msg)
        return EVS_INVALID;
    s_walk(w, msg, NULL, 0);
    sodium_memzero(w->key, sizeof w->key);
    int rc = w->rc;
    if (rc == 0 && w->changed && out) {
        size_t n = protobuf_c_message_get_packed_size(msg);
        *out = malloc(n ? n : 1);
        if (!*out)
            rc = -ENOMEM;
        else
            *out_len = protobuf_c_message_pack(msg, *out);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

bool svc_seal_holds_sealed(const uint8_t *in, size_t len)
{
    return in && memmem(in, len, SVC_SEALED_PREFIX, strlen(SVC_SEALED_PREFIX)) != NULL;
}

int svc_seal(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
             const char *ad, int64_t now_us, svc_key_fn *keys, void *arg, uint8_t **out,
             size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!svc_seal_needed(desc))
        return 0;
    s_walk_t w = {.mode = S_SEAL, .ad = ad ? ad : "", .now_us = now_us, .keys = keys, .arg = arg};
    return s_run(&w, desc, in, len, out, out_len);
}

int svc_unseal(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
               const char *ad, svc_key_fn *keys, void *arg, uint8_t **out, size_t *out_len,
               size_t *n_erased)
{
    *out = NULL;
    *out_len = 0;
    if (n_erased)
        *n_erased = 0;
    if (!svc_seal_needed(desc))
        return 0;
    s_walk_t w = {.mode = S_OPEN, .ad = ad ? ad : "", .keys = keys, .arg = arg};
    int rc = s_run(&w, desc, in, len, out, out_len);
    if (n_erased)
        *n_erased = w.erased;
    return rc;
}

int svc_sealed_subjects(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
                        void (*fn)(const char *subject, void *arg), void *arg)
{
    if (!svc_seal_needed(desc))
        return 0;
    s_walk_t w = {.mode = S_SUBJECTS, .subject_fn = fn, .arg = arg};
    return s_run(&w, desc, in, len, NULL, NULL);
}
