/* svc_personal.c: the runtime's side of sealing personal data (svc_seal.h): the key
 * store beside the log, events sealed as they are appended and opened for the core,
 * kept replies, followers' keys ("$keys"), erasure.
 *
 * Order of writes: a group's new keys are written to the key store (durably) before the
 * group's events are committed, so a committed event's key is never missing; keys made
 * for a group that failed stay unused. An erasure is written to the log first
 * (SubjectErased), then its key is deleted; a crash between the two is mended at the
 * next start, which deletes the keys of every subject the log says was erased. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "evs_bus.h"
#include "svc_internal.h"
#include "tp_types.h"

#define S_ERASED_STREAM "$erased"
#define S_ERASED_TYPE "SubjectErased"
#define S_CACHE_MAX 100000   /* upstream keys kept in memory, then the cache starts anew */
#define S_KEYS_TIMEOUT_MS 2000   /* the loop waits this long at most; then it tries later */

/* ------------------------------------------------------------------ own keys */

/* A cached key (hex) goes: wiped first. */
static void s_key_free(void **item)
{
    char *hex = *item;
    if (hex)
        sodium_memzero(hex, strlen(hex));
    free(hex);
    *item = NULL;
}

int svci_personal_open(svci_svc_t *self, const char *dir)
{
    char vdir[600];
    snprintf(vdir, sizeof vdir, "%s/%s", dir, EVS_VAULT_DIR);
    int rc = evs_vault_open(vdir, false, &self->vault);
    if (rc != 0) {
        zsys_error("%s: cannot open the key store in %s: %s", self->name, vdir,
                   evs_strerror(rc));
        return -1;
    }
    self->window_hours = atoll(svc_config_get(self->config, self->name, "window_hours", "2"));
    self->up_keys = zhashx_new();
    if (!self->up_keys)
        return -1;
    zhashx_set_destructor(self->up_keys, s_key_free);
    return 0;
}

void svci_personal_close(svci_svc_t *self)
{
    for (size_t i = 0; self->key_clients && i < self->n_subs; i++)
        evs_client_destroy(&self->key_clients[i]);
    free(self->key_clients);
    self->key_clients = NULL;
    zhashx_destroy(&self->up_keys);
    for (size_t i = 0; i < self->n_erase_pending; i++) {
        free(self->erase_pending[i]);
        free(self->erase_pending_reason[i]);
    }
    free(self->erase_pending);
    free(self->erase_pending_reason);
    self->erase_pending = self->erase_pending_reason = NULL;
    self->n_erase_pending = 0;
    evs_vault_close(&self->vault);
}

int svc_vault_key(void *arg, const char *subject, bool create, uint8_t key[SVC_SEAL_KEY_SIZE])
{
    evs_vault_t *vault = arg;
    if (!vault)
        return EVS_NOTFOUND;
    return create ? evs_vault_get_or_create(vault, subject, key)
                  : evs_vault_get(vault, subject, key, NULL);
}

int svci_own_key(void *arg, const char *subject, bool create, uint8_t key[SVC_SEAL_KEY_SIZE])
{
    svci_svc_t *self = arg;
    if (!self->vault)
        return EVS_NOTFOUND;
    int rc = evs_vault_get(self->vault, subject, key, NULL);
    if (rc != EVS_NOTFOUND)
        return rc;
    if (self->cluster)   /* another instance may have made it: the cluster's key store */
        return svci_cluster_key(self, subject, create, key);
    return create ? evs_vault_get_or_create(self->vault, subject, key) : rc;
}

int svci_keys_durable(svci_svc_t *self)
{
    if (!self->vault || !evs_vault_pending(self->vault))
        return 0;
    /* with store = jetstream, the keys made here go to the cluster's key store first
     * (a quorum has them before any group sealed with them is appended); when they
     * cannot (the lease ran out, another instance stored another key), the group must not
     * be appended: the caller steps down */
    int rc = svci_cluster_keys_durable(self);
    if (rc != 0)
        return rc;
    rc = evs_vault_commit(self->vault);
    if (rc != 0) {
        /* the group's events need these keys: it is not committed */
        zsys_error("%s: cannot write the key store: %s; stopping", self->name,
                   evs_strerror(rc));
        exit(70);
    }
    return 0;
}

/* ------------------------------------------------------------------ events */

/* The type of @p service's events named @p type (instance names that are no package,
 * such as a test's, find it by the name alone). */
static const ProtobufCMessageDescriptor *s_type(const char *service, const char *type)
{
    const ProtobufCMessageDescriptor *d = tp_types_find(service, type);
    return d ? d : tp_types_find(NULL, type);
}

void svc_seal_event_ad(char *out, size_t outsz, const char *event_id, size_t id_len,
                       const char *stream, size_t stream_len, const char *type,
                       size_t type_len)
{
    snprintf(out, outsz, "%.*s|%.*s|%.*s", (int) id_len, event_id, (int) stream_len, stream,
             (int) type_len, type);
}

int svci_seal_event(svci_svc_t *self, const svc_out_event_t *e, int64_t now_us,
                    char event_id[33], uint8_t **sealed, size_t *sealed_len)
{
    *sealed = NULL;
    *sealed_len = 0;
    event_id[0] = '\0';
    if (!self->vault || !e->desc || !svc_seal_needed(e->desc))
        return 0;
    uint8_t rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(event_id, 33, rnd, sizeof rnd);
    char ad[EVS_MAX_ID * 2 + 64];
    svc_seal_event_ad(ad, sizeof ad, event_id, 32, e->stream_id, strlen(e->stream_id), e->type,
               strlen(e->type));
    int rc = svc_seal(e->desc, e->payload, e->len, ad, now_us, svci_own_key, self,
                      sealed, sealed_len);
    if (rc != 0)
        zsys_error("%s: cannot seal a %s event: %s", self->name, e->type, evs_strerror(rc));
    return rc;
}

int svci_open_record(svc_key_fn *keys, void *arg, const char *service, const evs_record_t *rec,
                     svc_event_t *ev, uint8_t **opened)
{
    *opened = NULL;
    if (!keys || !svc_seal_holds_sealed(ev->payload, ev->payload_len))
        return 0;   /* nothing sealed: no type to look up, nothing to open */
    evs_view_t v;
    if (evs_view(rec->data, rec->len, &v) != 0)
        return EVS_CORRUPT;
    const ProtobufCMessageDescriptor *d = s_type(service, ev->event_type);
    if (!d || !svc_seal_needed(d))
        return 0;
    char ad[EVS_MAX_ID * 3 + 64];
    svc_seal_event_ad(ad, sizeof ad, v.event_id, v.event_id_len, v.stream_id, v.stream_id_len,
               v.event_type, v.event_type_len);
    size_t len = 0;
    int rc = svc_unseal(d, v.payload, v.payload_len, ad, keys, arg, opened, &len, NULL);
    if (rc == 0 && *opened) {
        ev->payload = *opened;
        ev->payload_len = len;
    }
    return rc;
}

bool svci_view_is_erasure(const evs_view_t *v)
{
    return v->stream_id_len == strlen(S_ERASED_STREAM) &&
           memcmp(v->stream_id, S_ERASED_STREAM, v->stream_id_len) == 0;
}

bool svci_is_erasure(const svc_event_t *ev)
{
    return strcmp(ev->stream_id, S_ERASED_STREAM) == 0 &&
           strcmp(ev->event_type, S_ERASED_TYPE) == 0;
}

/* ------------------------------------------------------------------ kept replies */

/* Seals (@p seal) or opens the body of the kept reply @p in as its command's reply type;
 * *out is the whole reply again, or NULL when nothing in it changed. */
static int s_reply(svci_svc_t *self, const svc_command_t *cmd, const char *request_id, bool seal,
                   const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!self->vault || !cmd || !cmd->reply || !svc_seal_needed(cmd->reply))
        return 0;
    Tp__Reply *r = tp__reply__unpack(NULL, len, in);
    if (!r)
        return seal ? EVS_INVALID : EVS_CORRUPT;
    uint8_t *body = NULL;
    size_t blen = 0;
    int rc = seal ? svc_seal(cmd->reply, r->body.data, r->body.len, request_id,
                             self->clock(self->clock_arg), svci_own_key, self, &body, &blen)
                  : svc_unseal(cmd->reply, r->body.data, r->body.len, request_id, svci_own_key,
                               self, &body, &blen, NULL);
    if (rc == 0 && body) {
        free(r->body.data);
        r->body.data = body;
        r->body.len = blen;
        *out_len = tp__reply__get_packed_size(r);
        *out = malloc(*out_len ? *out_len : 1);
        if (*out)
            tp__reply__pack(r, *out);
        else
            rc = -ENOMEM;
    }
    tp__reply__free_unpacked(r, NULL);
    return rc;
}

int svci_seal_reply(svci_svc_t *self, const svc_command_t *cmd, const char *request_id,
                    const uint8_t *reply, size_t len, uint8_t **sealed, size_t *sealed_len)
{
    return s_reply(self, cmd, request_id, true, reply, len, sealed, sealed_len);
}

int svci_open_reply(svci_svc_t *self, const svc_command_t *cmd, const char *request_id,
                    const uint8_t *kept, size_t len, uint8_t **opened, size_t *opened_len)
{
    return s_reply(self, cmd, request_id, false, kept, len, opened, opened_len);
}

/* ------------------------------------------------------------------ erasure */

/* @p reason as the key store keeps it: printable ASCII, at most EVS_VAULT_REASON_MAX. */
static void s_reason(const char *reason, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *p = reason ? reason : ""; *p && n + 1 < outsz && n < EVS_VAULT_REASON_MAX;
         p++)
        out[n++] = *p >= 0x20 && *p < 0x7f ? *p : '?';
    out[n] = '\0';
}

/* Notes @p subject to be erased once the commit that records it is durable. */
static int s_erase_later(svci_svc_t *self, const char *subject, const char *why)
{
    char reason[EVS_VAULT_REASON_MAX + 1];
    s_reason(why, reason, sizeof reason);
    size_t n = self->n_erase_pending;
    char **a = realloc(self->erase_pending, (n + 1) * sizeof *a);
    if (a)
        self->erase_pending = a;
    char **b = a ? realloc(self->erase_pending_reason, (n + 1) * sizeof *b) : NULL;
    if (b)
        self->erase_pending_reason = b;
    if (!a || !b)
        return -ENOMEM;
    self->erase_pending[n] = strdup(subject);
    self->erase_pending_reason[n] = strdup(reason);
    if (!self->erase_pending[n] || !self->erase_pending_reason[n]) {
        free(self->erase_pending[n]);
        free(self->erase_pending_reason[n]);
        return -ENOMEM;
    }
    self->n_erase_pending++;
    return 0;
}

int svci_append_erasure(svci_svc_t *self, evs_batch_t *batch, const char *subject,
                        const char *reason, const char *causation)
{
    Tp__SubjectErased e = TP__SUBJECT_ERASED__INIT;
    char clean[EVS_VAULT_REASON_MAX + 1];
    s_reason(reason, clean, sizeof clean);
    e.subject = (char *) subject;
    e.reason = clean;
    e.erased_at_us = self->clock(self->clock_arg);
    uint8_t buf[512];
    size_t n = tp__subject_erased__get_packed_size(&e);
    if (n > sizeof buf)
        return EVS_INVALID;
    tp__subject_erased__pack(&e, buf);
    evs_event_t ev = {S_ERASED_STREAM, S_ERASED_TYPE, buf, n, causation, causation, NULL, NULL};
    int rc = evs_batch_append(batch, &ev, 1, NULL, 0, NULL, NULL, 0, NULL, NULL);
    if (rc == 0)
        rc = s_erase_later(self, subject, reason);
    return rc;
}

/* The subjects an erasure event names (for the start's mending). */
static int s_collect_erased(const evs_record_t *rec, void *arg)
{
    svci_svc_t *self = arg;
    evs_view_t v;
    if (evs_view(rec->data, rec->len, &v) != 0)
        return 0;
    if (!svci_view_is_erasure(&v))
        return 0;
    Tp__SubjectErased *e = tp__subject_erased__unpack(NULL, v.payload_len, v.payload);
    if (!e)
        return 0;
    uint8_t key[SVC_SEAL_KEY_SIZE];
    if (evs_vault_get(self->vault, e->subject, key, NULL) == 0)
        s_erase_later(self, e->subject, e->reason);
    sodium_memzero(key, sizeof key);
    tp__subject_erased__free_unpacked(e, NULL);
    return 0;
}

/* Deletes the keys of the erasures recorded (durable by now); whether the state must be
 * built anew: not for throttling windows alone, whose addresses the cores' own windows
 * have dropped from the state long before. */
static bool s_erase_pending(svci_svc_t *self)
{
    if (!self->n_erase_pending)
        return false;
    bool rebuild = false;
    /* the cluster's key store first (the active instance; a standby's copy goes by the
     * same erasure events it reads): the SubjectErased event is in the stream already */
    svci_cluster_erase(self, (const char *const *) self->erase_pending, self->n_erase_pending);
    int rc = evs_vault_erase(self->vault, (const char *const *) self->erase_pending,
                             self->n_erase_pending, self->erase_pending_reason[0],
                             self->clock(self->clock_arg));
    if (rc != 0) {
        /* recorded in the log: the next start deletes them (svci_personal_mend) */
        zsys_error("%s: cannot delete erased keys from the key store: %s; stopping",
                   self->name, evs_strerror(rc));
        exit(70);
    }
    for (size_t i = 0; i < self->n_erase_pending; i++) {
        rebuild |= strncmp(self->erase_pending[i], "window:", 7) != 0;
        zsys_info("%s: erased %s (%s)", self->name, self->erase_pending[i],
                  self->erase_pending_reason[i]);
        free(self->erase_pending[i]);
        free(self->erase_pending_reason[i]);
    }
    self->n_erase_pending = 0;
    return rebuild;
}

void svci_personal_imported(svci_svc_t *self, const evs_record_t *rec)
{
    s_collect_erased(rec, self);
}

/* Collects every subject the $erased stream names (the cluster's key store is mended
 * from it when an instance becomes the active one). */
static int s_collect_all_erased(const evs_record_t *rec, void *arg)
{
    svci_svc_t *self = arg;
    evs_view_t v;
    if (rec->seq <= self->mend_from || evs_view(rec->data, rec->len, &v) != 0 ||
        !svci_view_is_erasure(&v))
        return 0;
    Tp__SubjectErased *e = tp__subject_erased__unpack(NULL, v.payload_len, v.payload);
    if (!e)
        return 0;
    const char *one[1] = {e->subject};
    svci_cluster_erase(self, one, 1);
    tp__subject_erased__free_unpacked(e, NULL);
    return 0;
}

void svci_personal_mend_cluster(svci_svc_t *self)
{
    /* those after the last one a group recorded as done in the key stream: a stop of
     * the instance before then left them in the log alone */
    self->mend_from = svci_cluster_erased_done(self);
    if (self->vault && self->cluster)
        evs_read_stream(self->store, S_ERASED_STREAM, 1, s_collect_all_erased, self);
}

int svci_personal_mend(svci_svc_t *self, bool *rebuild)
{
    *rebuild = false;
    if (!self->vault)
        return 0;
    /* the erasures' own stream, not the whole log: the start reads the log once, for
     * the state */
    int rc = evs_read_stream(self->store, S_ERASED_STREAM, 1, s_collect_erased, self);
    if (rc < 0 && rc != EVS_NOTFOUND)
        return rc;
    if (self->n_erase_pending)
        zsys_warning("%s: %zu erasures in the log still had their keys (stopped between the "
                     "two steps): deleting them now", self->name, self->n_erase_pending);
    *rebuild = s_erase_pending(self);
    return 0;
}

void svci_personal_after_commit(svci_svc_t *self)
{
    if (!self->n_erase_pending)
        return;
    svci_drain(self);   /* nothing decided against the state in memory stays unwritten */
    if (!s_erase_pending(self))
        return;
    /* the state in memory still holds what was erased: built again from the log, where
     * it now reads as erased */
    void *state = self->def->state_new();
    if (self->def->configure)
        self->def->configure(state, self->config, self->name);
    svc_keys_t keys = {svci_own_key, self};
    uint64_t applied = 0;
    int64_t t0 = zclock_usecs();
    int rc = svc_rebuild(self->def, state, self->store, UINT64_MAX, INT64_MAX, &applied, NULL,
                         NULL, &keys);
    if (rc != 0) {
        zsys_error("%s: rebuild after an erasure failed: %s; stopping", self->name,
                   evs_strerror(rc));
        exit(70);
    }
    self->def->state_destroy(&self->state);
    self->state = state;
    zsys_info("%s: state rebuilt after an erasure from %" PRIu64 " events in %.1f ms",
              self->name, applied, (double) (zclock_usecs() - t0) / 1000.0);
}

/* ------------------------------------------------------------------ followers */

bool svci_reads_personal(const svci_svc_t *self, const char *upstream)
{
    for (size_t i = 0; self->def->personal_from && self->def->personal_from[i]; i++)
        if (strcmp(self->def->personal_from[i], upstream) == 0)
            return true;
    return false;
}

typedef struct {
    svci_svc_t *self;
    const char *upstream;
    char **want;
    size_t n, cap;
} s_want_t;

/* The cache key of an upstream's subject. */
static void s_cache_key(char *out, size_t outsz, const char *upstream, const char *subject)
{
    snprintf(out, outsz, "%s|%s", upstream, subject);
}

static void s_want_subject(const char *subject, void *arg)
{
    s_want_t *w = arg;
    char k[300];
    s_cache_key(k, sizeof k, w->upstream, subject);
    if (zhashx_lookup(w->self->up_keys, k))
        return;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->want[i], subject) == 0)
            return;
    if (w->n == w->cap || w->n == SVC_BATCH_MAX)
        return;   /* the next run asks for the rest */
    w->want[w->n] = strdup(subject);
    w->n += w->want[w->n] != NULL;
}

/* Keeps @p key (NULL: erased) of @p subject in the cache, hex-encoded ("-": erased). */
static void s_cache_put(svci_svc_t *self, const char *upstream, const char *subject,
                        const uint8_t *key)
{
    char k[300], hex[2 * SVC_SEAL_KEY_SIZE + 1] = "-";
    s_cache_key(k, sizeof k, upstream, subject);
    if (key)
        sodium_bin2hex(hex, sizeof hex, key, SVC_SEAL_KEY_SIZE);
    zhashx_update(self->up_keys, k, strdup(hex));
    sodium_memzero(hex, sizeof hex);
}

/* Asks upstream @p index for the keys in @p w. */
static int s_fetch(svci_svc_t *self, size_t index, s_want_t *w)
{
    if (!self->key_clients)
        self->key_clients = calloc(self->n_subs, sizeof *self->key_clients);
    if (!self->key_clients)
        return -ENOMEM;
    if (!self->key_clients[index]) {
        char ep[1024];
        if (svc_connect_endpoints(self->config, w->upstream, "router", ep, sizeof ep) != 0)
            return EVS_INVALID;
        self->key_clients[index] =
            evs_client_new_keyed(ep, self->keys_dir, self->name, w->upstream);
        if (!self->key_clients[index])
            return EVS_INVALID;
    }
    Tp__KeysRequest rq = TP__KEYS_REQUEST__INIT;
    rq.subjects = w->want;
    rq.n_subjects = w->n;
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    Tp__Reply *r = NULL;
    if (evs_client_call(self->key_clients[index], &h, "$keys", &rq.base, S_KEYS_TIMEOUT_MS,
                        &r) != 0)
        return -ETIMEDOUT;
    int rc = 0;
    Tp__KeysReply *kr = r->ok ? tp__keys_reply__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (!kr) {
        zsys_error("%s: %s gives no keys: %s", self->name, w->upstream,
                   r->n_errors ? r->errors[0]->message : "bad reply");
        rc = EVS_INVALID;
    }
    for (size_t i = 0; kr && i < kr->n_keys; i++) {
        Tp__SubjectKey *k = kr->keys[i];
        bool has = !k->erased && k->key.len == SVC_SEAL_KEY_SIZE;
        s_cache_put(self, w->upstream, k->subject, has ? k->key.data : NULL);
        if (has)
            sodium_memzero(k->key.data, k->key.len);
    }
    if (kr)
        tp__keys_reply__free_unpacked(kr, NULL);
    tp__reply__free_unpacked(r, NULL);
    return rc;
}

int svci_fetch_keys(svci_svc_t *self, size_t index, const char *upstream,
                    const evs_record_t *recs, size_t n)
{
    /* the cache starts anew between runs, never within one: what a run fetched stays
     * until it is taken */
    if (zhashx_size(self->up_keys) >= S_CACHE_MAX)
        zhashx_purge(self->up_keys);
    char *want[SVC_BATCH_MAX];
    int rc = 0;
    /* at most SVC_BATCH_MAX subjects a request: a run of many new subjects (a catch-up
     * read holds thousands) takes several */
    for (bool more = true; more && rc == 0;) {
        s_want_t w = {self, upstream, want, 0, SVC_BATCH_MAX};
        for (size_t i = 0; i < n; i++) {
            char strbuf[2][EVS_MAX_ID + 1];
            svc_event_t ev;
            if (svci_event_from_record(&recs[i], &ev, strbuf) != 0 ||
                !svc_seal_holds_sealed(ev.payload, ev.payload_len))
                continue;
            const ProtobufCMessageDescriptor *d = s_type(upstream, ev.event_type);
            if (d && svc_seal_needed(d))
                svc_sealed_subjects(d, ev.payload, ev.payload_len, s_want_subject, &w);
        }
        more = w.n == SVC_BATCH_MAX;
        rc = w.n ? s_fetch(self, index, &w) : 0;
        for (size_t i = 0; i < w.n; i++)
            free(want[i]);
    }
    return rc;
}

typedef struct {
    svci_svc_t *self;
    const char *upstream;
} s_up_arg_t;

/* Key function over the cache of an upstream's keys. */
static int s_up_key(void *arg, const char *subject, bool create, uint8_t key[SVC_SEAL_KEY_SIZE])
{
    s_up_arg_t *a = arg;
    if (create)
        return EVS_INVALID;
    char k[300];
    s_cache_key(k, sizeof k, a->upstream, subject);
    const char *hex = zhashx_lookup(a->self->up_keys, k);
    if (!hex)
        return -EAGAIN;   /* not fetched: the caller fetched first, so this is a bug */
    if (strcmp(hex, "-") == 0)
        return EVS_ERASED;
    size_t got = 0;
    if (sodium_hex2bin(key, SVC_SEAL_KEY_SIZE, hex, strlen(hex), NULL, &got, NULL) != 0 ||
        got != SVC_SEAL_KEY_SIZE)
        return EVS_CORRUPT;
    return 0;
}

int svci_open_upstream(svci_svc_t *self, const char *upstream, const evs_record_t *rec,
                       svc_event_t *ev, uint8_t **opened)
{
    s_up_arg_t a = {self, upstream};
    return svci_open_record(s_up_key, &a, upstream, rec, ev, opened);
}

bool svci_upstream_erasure(svci_svc_t *self, const char *ev_upstream, const svc_event_t *ev,
                           char *subject, size_t subjectsz, char *reason, size_t reasonsz)
{
    if (!svci_is_erasure(ev) || !self->vault)
        return false;
    Tp__SubjectErased *e = tp__subject_erased__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return false;
    /* the upstream's key of it is of no use any more, whatever we hold */
    char k[300];
    s_cache_key(k, sizeof k, ev_upstream, e->subject);
    zhashx_delete(self->up_keys, k);
    /* only an upstream whose personal data we take may erase a subject here (another
     * cannot erase what it never gave us); a throttling window is each service's own */
    uint8_t key[SVC_SEAL_KEY_SIZE];
    bool held = svci_reads_personal(self, ev_upstream) && strncmp(e->subject, "window:", 7) != 0 &&
                evs_vault_get(self->vault, e->subject, key, NULL) == 0;
    sodium_memzero(key, sizeof key);
    snprintf(subject, subjectsz, "%s", e->subject);
    snprintf(reason, reasonsz, "%s", e->reason);
    tp__subject_erased__free_unpacked(e, NULL);
    return held;
}

/* ------------------------------------------------------------------ "$keys" */

void svci_answer_keys(svci_svc_t *self, svci_pending_t *p)
{
    Tp__KeysRequest *rq = tp__keys_request__unpack(NULL, p->req->body.len, p->req->body.data);
    if (!rq || rq->n_subjects == 0 || rq->n_subjects > SVC_BATCH_MAX) {
        svci_reply_errors(p, NULL, "invalid", "subjects", "1 to 1024 subjects");
        if (rq)
            tp__keys_request__free_unpacked(rq, NULL);
        return;
    }
    Tp__SubjectKey *items = calloc(rq->n_subjects, sizeof *items);
    Tp__SubjectKey **ptrs = calloc(rq->n_subjects, sizeof *ptrs);
    uint8_t(*keys)[SVC_SEAL_KEY_SIZE] = calloc(rq->n_subjects, SVC_SEAL_KEY_SIZE);
    Tp__KeysReply out = TP__KEYS_REPLY__INIT;
    if (!items || !ptrs || !keys) {
        svci_reply_errors(p, NULL, "internal", "", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < rq->n_subjects; i++) {
        tp__subject_key__init(&items[i]);
        items[i].subject = rq->subjects[i];
        int rc = self->vault ? evs_vault_get(self->vault, rq->subjects[i], keys[i], NULL)
                             : EVS_NOTFOUND;
        if (rc == 0)
            items[i].key = (ProtobufCBinaryData) {SVC_SEAL_KEY_SIZE, keys[i]};
        else if (rc == EVS_ERASED)
            items[i].erased = true;
        else {
            /* a key that should be here and is not: never passed off as an erasure */
            zsys_error("%s: no key of %s for a follower: %s", self->name, rq->subjects[i],
                       evs_strerror(rc));
            svci_reply_errors(p, NULL, "unavailable", "subjects", "a key cannot be read");
            goto done;
        }
        ptrs[i] = &items[i];
    }
    out.keys = ptrs;
    out.n_keys = rq->n_subjects;
    if (!svci_reply_msg(p, &out.base))
        svci_reply_errors(p, NULL, "internal", "", "out of memory");
done:
    if (keys)
        sodium_memzero(keys, rq->n_subjects * SVC_SEAL_KEY_SIZE);
    free(keys);
    free(items);
    free(ptrs);
    tp__keys_request__free_unpacked(rq, NULL);
}

/* ------------------------------------------------------------------ throttling windows */

typedef struct {
    char cutoff[32];   /* "window:YYYYMMDDHH": subjects before it are due */
    svc_out_t *out;
} s_windows_t;

static int s_window_due(const char *subject, bool erased, int64_t erased_at_us,
                        const char *reason, void *arg)
{
    s_windows_t *w = arg;
    if (!erased && strncmp(subject, "window:", 7) == 0 && strcmp(subject, w->cutoff) < 0)
        svc_out_erase(w->out, subject, "throttling window passed");
    return 0;
}

void svci_personal_windows(svci_svc_t *self, int64_t now_us, svc_out_t *out)
{
    int64_t hour = now_us / 3600000000LL;
    if (!self->vault || hour == self->window_hour)
        return;   /* once an hour is enough */
    self->window_hour = hour;
    s_windows_t w = {.out = out};
    time_t t = (time_t) ((hour - self->window_hours) * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(w.cutoff, sizeof w.cutoff, "window:%Y%m%d%H", &tm);
    evs_vault_each(self->vault, s_window_due, &w);
}
