/* evs_js_vault.c: the keys of a service's data subjects in a JetStream stream of their own:
 * put in one pipelined batch, read from the leader, erased on every replica, listed. */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs_js_internal.h"
#include "evs_js_vault.h"

/* Asynchronous writes in flight at once; a put of more waits for acknowledgements. */
#define S_MAX_PENDING 4096
/* Times an erasure looks again when a put slips in before its tombstone. */
#define S_ERASE_TRIES 5
/* A NATS subject: "tp.vault." service "." and the data subject in hex. */
#define S_NSUBJ_SIZE (16 + EVS_JS_MAX_NAME + 2 * EVS_VAULT_SUBJECT_MAX)
/* A data subject and its NUL. */
#define S_SUBJ_SIZE (EVS_VAULT_SUBJECT_MAX + 1)
#define S_TOMB_LEN  (sizeof EVS_JS_VAULT_ERASED - 1)

/* A write of a put's round that was refused or not answered: looked at, or sent again. */
typedef struct s_failed {
    struct s_failed *next;
    char *nsubj;                     /* its NATS subject */
    uint8_t key[EVS_VAULT_KEY_SIZE]; /* its key (zeroed when freed) */
    natsStatus status;               /* what libnats said */
    jsErrCode jerr;                  /* JetStream's error code, 0 if none */
    char text[160];                  /* and its words */
} s_failed_t;

struct _evs_js_vault_t {
    evs_js_t *js;                      /* the connection (borrowed) */
    jsCtx *ctx;                        /* our own JetStream context: its acks go to s_on_ack */
    char stream[EVS_JS_MAX_NAME + 12]; /* "TPVAULT_ORDER" */
    char prefix[EVS_JS_MAX_NAME + 12]; /* "tp.vault.order." */
    char filter[EVS_JS_MAX_NAME + 12]; /* "tp.vault.order.>" */
    size_t prefix_len;
    pthread_mutex_t lock; /* guards the three below: s_on_ack runs on libnats's thread */
    size_t answered;      /* writes of this round acknowledged, or noted as failed */
    s_failed_t *failed;   /* writes of this round refused or unanswered */
    bool lost;            /* a failure that could not be noted (no memory) */
};

/* ------------------------------------------------------------------ subjects */

static bool s_subject_ok(const char *s)
{
    size_t n = s ? strnlen(s, EVS_VAULT_SUBJECT_MAX + 1) : 0;
    if (n == 0 || n > EVS_VAULT_SUBJECT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* The NATS subject of data subject @p subject (checked) into @p out (S_NSUBJ_SIZE). */
static void s_nsubj(const evs_js_vault_t *self, const char *subject, char *out)
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, self->prefix, self->prefix_len);
    char *p = out + self->prefix_len;
    for (const unsigned char *s = (const unsigned char *) subject; *s; s++) {
        *p++ = hex[*s >> 4];
        *p++ = hex[*s & 15];
    }
    *p = '\0';
}

static int s_unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The data subject of NATS subject @p nsubj into @p out (S_SUBJ_SIZE); false when it is not
 * one of ours. */
static bool s_subject(const evs_js_vault_t *self, const char *nsubj, char *out)
{
    if (!nsubj || strncmp(nsubj, self->prefix, self->prefix_len) != 0)
        return false;
    const char *h = nsubj + self->prefix_len;
    size_t len = strlen(h);
    if (len == 0 || len % 2 || len / 2 > EVS_VAULT_SUBJECT_MAX)
        return false;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = s_unhex(h[2 * i]), lo = s_unhex(h[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (char) (hi << 4 | lo);
    }
    out[len / 2] = '\0';
    return s_subject_ok(out);
}

/* The data subject of @p nsubj for an error text, in @p out (S_SUBJ_SIZE): the NATS
 * subject, cut, when it is not ours. */
static const char *s_name(const evs_js_vault_t *self, const char *nsubj, char *out)
{
    if (!s_subject(self, nsubj, out))
        snprintf(out, S_SUBJ_SIZE, "%s", nsubj ? nsubj : "");
    return out;
}

/* ------------------------------------------------------------------ messages */

/* Zeroes a message's data (a key, perhaps) and frees it. NULL is fine. */
static void s_msg_destroy(natsMsg *m)
{
    if (!m)
        return;
    int len = natsMsg_GetDataLength(m);
    if (len > 0)
        sodium_memzero((void *) natsMsg_GetData(m), (size_t) len);
    natsMsg_Destroy(m);
}

/* What message @p m holds: 0 and its key into @p key, EVS_ERASED (a tombstone), or
 * EVS_CORRUPT (neither). */
static int s_read(const evs_js_vault_t *self, natsMsg *m, uint8_t key[EVS_VAULT_KEY_SIZE])
{
    int len = natsMsg_GetDataLength(m);
    const char *data = natsMsg_GetData(m);
    if (len == EVS_VAULT_KEY_SIZE) {
        memcpy(key, data, EVS_VAULT_KEY_SIZE);
        return 0;
    }
    if (len == (int) S_TOMB_LEN && memcmp(data, EVS_JS_VAULT_ERASED, S_TOMB_LEN) == 0)
        return EVS_ERASED;
    char name[S_SUBJ_SIZE];
    return evs_jsi_fail(EVS_CORRUPT, "%s: %s holds %d bytes, neither a key nor a tombstone",
                        self->stream, s_name(self, natsMsg_GetSubject(m), name), len);
}

/* The subject's last (only) message from the stream's leader into *m. */
static int s_last(evs_js_vault_t *self, const char *nsubj, natsMsg **m, const char *what)
{
    jsErrCode jerr = 0;
    natsStatus s = js_GetLastMsg(m, self->ctx, self->stream, nsubj, NULL, &jerr);
    char text[S_SUBJ_SIZE + 2 * EVS_JS_MAX_NAME + 64], name[S_SUBJ_SIZE];
    snprintf(text, sizeof text, "%s %s in %s", what, s_name(self, nsubj, name), self->stream);
    return evs_jsi_status(s, jerr, text);
}

/* ------------------------------------------------------------------ the stream */

static void s_config(const evs_js_vault_t *self, jsStreamConfig *cfg, const char **subjects)
{
    evs_jsi_stream_config(self->js, cfg, self->stream, self->filter, subjects);
    cfg->Description = "trustportal: a service's keys of data subjects (eventstore/evs_js_vault.h)";
    cfg->MaxMsgsPerSubject = 1;
    cfg->DiscardNewPerSubject = true; /* a second message for a subject is refused */
    cfg->DenyDelete = false;          /* erasure */
}

/* The first setting of @p c that can lose, replace or keep a key, or NULL. */
static const char *s_config_wrong(const jsStreamConfig *c, const void *arg)
{
    const evs_js_vault_t *self = arg;
    const char *wrong = evs_jsi_stream_wrong(self->js, c, self->filter);
    if (wrong)
        return wrong;
    if (c->MaxMsgsPerSubject != 1 || c->Discard != js_DiscardNew || !c->DiscardNewPerSubject)
        return "not one message per subject with discard new per subject";
    if (c->DenyDelete)
        return "deletes are denied (no erasure)";
    return NULL;
}

static void s_on_ack(jsCtx *ctx, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *arg);

int evs_js_vault_open(evs_js_t *js, const char *service, unsigned flags, evs_js_vault_t **out)
{
    *out = NULL;
    if (!evs_jsi_service_ok(service))
        return evs_jsi_fail(EVS_INVALID, "open vault: bad service name \"%s\"",
                            service ? service : "");
    evs_js_vault_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->js = js;
    pthread_mutex_init(&self->lock, NULL);
    evs_jsi_stream_name(self->stream, sizeof self->stream, "TPVAULT_", service);
    snprintf(self->prefix, sizeof self->prefix, "tp.vault.%s.", service);
    snprintf(self->filter, sizeof self->filter, "tp.vault.%s.>", service);
    self->prefix_len = strlen(self->prefix);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = js->timeout_ms;
    jo.PublishAsync.AckHandler = s_on_ack;
    jo.PublishAsync.AckHandlerClosure = self;
    jo.PublishAsync.MaxPending = S_MAX_PENDING;
    jo.PublishAsync.StallWait = js->timeout_ms;
    int rc = evs_jsi_status(natsConnection_JetStream(&self->ctx, js->nc, &jo), 0,
                            "open vault: JetStream context");
    if (rc == 0) {
        jsStreamConfig cfg;
        const char *subjects[1];
        s_config(self, &cfg, subjects);
        rc = evs_jsi_stream_open(js, &cfg, flags, s_config_wrong, self);
    }
    if (rc != 0) {
        evs_js_vault_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

static void s_failed_free(s_failed_t *f)
{
    while (f) {
        s_failed_t *next = f->next;
        free(f->nsubj);
        sodium_memzero(f->key, sizeof f->key);
        free(f);
        f = next;
    }
}

void evs_js_vault_destroy(evs_js_vault_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_js_vault_t *self = *self_p;
    jsCtx_Destroy(self->ctx);
    s_failed_free(self->failed);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

const char *evs_js_vault_stream(const evs_js_vault_t *self)
{
    return self->stream;
}

int evs_js_vault_info(evs_js_vault_t *self, evs_js_info_t *info)
{
    return evs_jsi_stream_info(self->js, self->stream, info);
}

/* ----------------------------------------------------------------------- put */

/* Notes write @p m as failed: @p s and @p jerr, the words @p text. */
static void s_note(evs_js_vault_t *self, natsMsg *m, natsStatus s, jsErrCode jerr, const char *text)
{
    s_failed_t *f = calloc(1, sizeof *f);
    if (f) {
        f->nsubj = strdup(natsMsg_GetSubject(m));
        if (natsMsg_GetDataLength(m) == EVS_VAULT_KEY_SIZE)
            memcpy(f->key, natsMsg_GetData(m), EVS_VAULT_KEY_SIZE);
        f->status = s;
        f->jerr = jerr;
        snprintf(f->text, sizeof f->text, "%s", text ? text : natsStatus_GetText(s));
    }
    pthread_mutex_lock(&self->lock);
    self->answered++;
    if (f && f->nsubj) {
        f->next = self->failed;
        self->failed = f;
    }
    else {
        self->lost = true;
        s_failed_free(f);
    }
    pthread_mutex_unlock(&self->lock);
}

/* libnats's answer to each asynchronous write, on its thread; the message is ours. */
static void s_on_ack(jsCtx *ctx, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *arg)
{
    evs_js_vault_t *self = arg;
    if (pa) {
        pthread_mutex_lock(&self->lock);
        self->answered++;
        pthread_mutex_unlock(&self->lock);
    }
    else {
        s_note(self, msg, pae ? pae->Err : NATS_ERR, pae ? pae->ErrCode : 0,
               pae ? pae->ErrText : NULL);
    }
    s_msg_destroy(msg);
}

/* Sends the key of @p nsubj, to be stored only when the subject has no message. */
static void s_send(evs_js_vault_t *self, const char *nsubj, const uint8_t *key, int64_t wait_ms)
{
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, nsubj, NULL, (const char *) key, EVS_VAULT_KEY_SIZE);
    if (s != NATS_OK) {
        pthread_mutex_lock(&self->lock);
        self->answered++;
        self->lost = true;
        pthread_mutex_unlock(&self->lock);
        return;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectNoMessage = true; /* Nats-Expected-Last-Subject-Sequence: 0 */
    po.MaxWait = wait_ms;      /* then s_on_ack gets NATS_TIMEOUT */
    s = js_PublishMsgAsync(self->ctx, &m, &po);
    if (s != NATS_OK) /* not taken (still ours): a stall past StallWait, a closed link */
        s_note(self, m, s, 0, nats_GetLastError(NULL));
    s_msg_destroy(m);
}

/* Waits for the answers to what s_send() sent; what got none is noted as timed out. */
static void s_wait(evs_js_vault_t *self, int64_t wait_ms)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = wait_ms;
    if (js_PublishAsyncComplete(self->ctx, &po) != NATS_TIMEOUT)
        return;
    natsMsgList pending = {0};
    if (js_PublishAsyncGetPendingList(&pending, self->ctx) == NATS_OK)
        for (int i = 0; i < pending.Count; i++) {
            s_note(self, pending.Msgs[i], NATS_TIMEOUT, 0, "no acknowledgement in time");
            s_msg_destroy(pending.Msgs[i]);
            pending.Msgs[i] = NULL;
        }
    natsMsgList_Destroy(&pending);
    po.MaxWait = 1000; /* answers being handled right now */
    js_PublishAsyncComplete(self->ctx, &po);
}

/* What a put's failed write comes to: 0 (the subject holds this key: a retry), a code to
 * report, or EVS_JS_TIMEOUT / EVS_JS_UNAVAILABLE (send it again). */
static int s_settle(evs_js_vault_t *self, s_failed_t *f)
{
    char name[S_SUBJ_SIZE];
    int code = evs_jsi_code(f->status, f->jerr);
    if (code != EVS_CONFLICT)
        return evs_jsi_fail(code, "put the key of %s in %s: %s", s_name(self, f->nsubj, name),
                            self->stream, f->text);
    natsMsg *m = NULL;
    int rc = s_last(self, f->nsubj, &m, "put: look at");
    uint8_t key[EVS_VAULT_KEY_SIZE];
    if (rc == 0)
        rc = s_read(self, m, key);
    s_msg_destroy(m);
    if (rc == 0 && sodium_memcmp(key, f->key, EVS_VAULT_KEY_SIZE) != 0)
        rc = evs_jsi_fail(EVS_CONFLICT, "put the key of %s in %s: it holds another key",
                          s_name(self, f->nsubj, name), self->stream);
    else if (rc == EVS_ERASED)
        evs_jsi_fail(rc, "put the key of %s in %s: it was erased", s_name(self, f->nsubj, name),
                     self->stream);
    else if (rc == EVS_NOTFOUND) /* erased this moment, the tombstone not there yet */
        rc = evs_jsi_fail(EVS_JS_UNAVAILABLE, "put the key of %s in %s: refused, then gone",
                          s_name(self, f->nsubj, name), self->stream);
    sodium_memzero(key, sizeof key);
    return rc;
}

/* Which of two failures a put reports: a refusal before an error, an error before "try
 * again". */
static int s_rank(int code)
{
    return code == EVS_CONFLICT                                   ? 4
           : code == EVS_ERASED                                   ? 3
           : code == EVS_JS_TIMEOUT || code == EVS_JS_UNAVAILABLE ? 1
                                                                  : 2;
}

/* What a put has come to so far. */
typedef struct {
    size_t sent;                                     /* writes of the round under way */
    size_t failed;                                   /* keys not stored, for good or not known */
    int rc;                                          /* what the put reports so far */
    char first[EVS_JS_MAX_NAME + S_SUBJ_SIZE + 200]; /* the words for rc */
} s_tally_t;

static void s_report(s_tally_t *t, int code)
{
    if (t->rc == 0 || s_rank(code) > s_rank(t->rc)) {
        t->rc = code;
        snprintf(t->first, sizeof t->first, "%s", evs_js_error());
    }
}

/* Ends a round of t->sent writes (sets it to 0 when every one was answered): each failed
 * write settled, reported, or returned to be sent again. */
static s_failed_t *s_round(evs_js_vault_t *self, s_tally_t *t)
{
    pthread_mutex_lock(&self->lock);
    s_failed_t *round = self->failed;
    bool lost = self->lost;
    size_t answered = self->answered;
    self->failed = NULL;
    self->lost = false;
    self->answered = 0;
    pthread_mutex_unlock(&self->lock);
    if (lost) {
        s_failed_free(round);
        evs_jsi_fail(-ENOMEM, "put in %s: out of memory", self->stream);
        s_report(t, -ENOMEM);
        return NULL;
    }
    if (answered != t->sent) { /* libnats lost track of some: their outcome is unknown */
        t->failed += t->sent - answered;
        evs_jsi_fail(EVS_JS_TIMEOUT, "put in %s: %zu of %zu writes got no answer", self->stream,
                     t->sent - answered, t->sent);
        s_report(t, EVS_JS_TIMEOUT);
    }
    else {
        t->sent = 0;
    }
    s_failed_t *again = NULL;
    for (s_failed_t *f = round, *next; f; f = next) {
        next = f->next;
        f->next = NULL;
        int code = s_settle(self, f);
        if (code != 0)
            s_report(t, code);
        if (code == EVS_JS_TIMEOUT || code == EVS_JS_UNAVAILABLE) {
            f->next = again;
            again = f;
            continue;
        }
        if (code != 0)
            t->failed++;
        s_failed_free(f);
    }
    return again;
}

int evs_js_vault_put(evs_js_vault_t *self, const char *const *subjects,
                     const uint8_t (*keys)[EVS_VAULT_KEY_SIZE], size_t n)
{
    if (n > 0 && (!subjects || !keys))
        return evs_jsi_fail(EVS_INVALID, "put %zu keys in %s: no subjects or keys", n,
                            self->stream);
    for (size_t i = 0; i < n; i++)
        if (!s_subject_ok(subjects[i]))
            return evs_jsi_fail(EVS_INVALID,
                                "put %zu keys in %s: subject %zu is not printable "
                                "ASCII of 1 to %d bytes",
                                n, self->stream, i, EVS_VAULT_SUBJECT_MAX);
    int64_t timeout = self->js->timeout_ms, deadline = zclock_mono() + timeout;
    char nsubj[S_NSUBJ_SIZE];
    for (size_t i = 0; i < n; i++) {
        s_nsubj(self, subjects[i], nsubj);
        s_send(self, nsubj, keys[i], timeout);
    }
    s_tally_t t = {.sent = n};
    for (;;) {
        s_wait(self, timeout + 1000);
        s_failed_t *again = s_round(self, &t);
        int64_t left = deadline - zclock_mono();
        if (!again || left <= 0 || t.rc == -ENOMEM || t.sent != 0) {
            for (s_failed_t *f = again; f; f = f->next)
                t.failed++;
            s_failed_free(again);
            break;
        }
        if (s_rank(t.rc) == 1)
            t.rc = 0; /* sent again: judged by the next round */
        zclock_sleep(left > 100 ? 100 : (int) left);
        left = deadline - zclock_mono();
        for (s_failed_t *f = again; f; f = f->next, t.sent++)
            s_send(self, f->nsubj, f->key, left > 500 ? left : 500);
        s_failed_free(again);
    }
    if (t.rc != 0)
        return evs_jsi_fail(t.rc, "%s (%zu of %zu keys not stored)", t.first, t.failed, n);
    return 0;
}

/* ----------------------------------------------------------- get, erase, each */

int evs_js_vault_get(evs_js_vault_t *self, const char *subject, uint8_t key[EVS_VAULT_KEY_SIZE])
{
    if (!s_subject_ok(subject))
        return evs_jsi_fail(EVS_INVALID, "get a key in %s: bad subject", self->stream);
    char nsubj[S_NSUBJ_SIZE];
    s_nsubj(self, subject, nsubj);
    natsMsg *m = NULL;
    int rc = s_last(self, nsubj, &m, "get the key of");
    if (rc == 0)
        rc = s_read(self, m, key);
    if (rc == EVS_ERASED)
        evs_jsi_fail(rc, "get the key of %s in %s: erased", subject, self->stream);
    s_msg_destroy(m);
    return rc;
}

/* Writes the tombstone of @p nsubj, when the subject has no message. */
static int s_tombstone(evs_js_vault_t *self, const char *nsubj, const char *subject)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectNoMessage = true;
    jsErrCode jerr = 0;
    jsPubAck *pa = NULL;
    natsStatus s =
        js_Publish(&pa, self->ctx, nsubj, EVS_JS_VAULT_ERASED, (int) S_TOMB_LEN, &po, &jerr);
    jsPubAck_Destroy(pa);
    char what[S_SUBJ_SIZE + 2 * EVS_JS_MAX_NAME + 64];
    snprintf(what, sizeof what, "erase %s in %s: the tombstone", subject, self->stream);
    return evs_jsi_status(s, jerr, what);
}

int evs_js_vault_erase(evs_js_vault_t *self, const char *subject)
{
    if (!s_subject_ok(subject))
        return evs_jsi_fail(EVS_INVALID, "erase a key in %s: bad subject", self->stream);
    char nsubj[S_NSUBJ_SIZE], what[S_SUBJ_SIZE + 2 * EVS_JS_MAX_NAME + 64];
    s_nsubj(self, subject, nsubj);
    snprintf(what, sizeof what, "erase %s in %s", subject, self->stream);
    for (int tries = 0; tries < S_ERASE_TRIES; tries++) {
        natsMsg *m = NULL;
        int rc = s_last(self, nsubj, &m, "erase: look at");
        uint8_t key[EVS_VAULT_KEY_SIZE];
        uint64_t seq = m ? natsMsg_GetSequence(m) : 0;
        if (rc == 0)
            rc = s_read(self, m, key);
        sodium_memzero(key, sizeof key);
        s_msg_destroy(m);
        if (rc == EVS_ERASED)
            return 0; /* its tombstone is there */
        if (rc == 0) {
            /* no "no_erase": every replica writes the record over (evs_js_vault.h) */
            jsErrCode jerr = 0;
            rc = evs_jsi_status(js_EraseMsg(self->ctx, self->stream, seq, NULL, &jerr), jerr, what);
            if (rc == EVS_NOTFOUND) /* another erasure took it this moment */
                rc = 0;
        }
        else if (rc == EVS_NOTFOUND) {
            rc = 0; /* never stored, or its tombstone is what is missing */
        }
        if (rc == 0)
            rc = s_tombstone(self, nsubj, subject);
        if (rc != EVS_CONFLICT)
            return rc;
        /* a put, or another erasure, got there before the tombstone: look again */
    }
    return evs_jsi_fail(EVS_CONFLICT, "%s: a key came back before the tombstone %d times", what,
                        S_ERASE_TRIES);
}

int evs_js_vault_each(evs_js_vault_t *self, evs_js_vault_each_fn *fn, void *arg)
{
    evs_js_info_t info;
    int rc = evs_js_vault_info(self, &info);
    for (uint64_t seq = info.first_seq; rc == 0 && seq && seq <= info.last_seq; seq++) {
        natsMsg *m = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetMsg(&m, self->ctx, self->stream, seq, NULL, &jerr);
        char what[128], subject[S_SUBJ_SIZE];
        snprintf(what, sizeof what, "list %s: message %" PRIu64, self->stream, seq);
        rc = evs_jsi_status(s, jerr, what);
        uint8_t key[EVS_VAULT_KEY_SIZE];
        if (rc == EVS_NOTFOUND) /* an erased key's place */
            rc = 0;
        else if (rc == 0 && !s_subject(self, natsMsg_GetSubject(m), subject))
            rc = evs_jsi_fail(EVS_CORRUPT, "%s: subject %s is not a data subject's", what,
                              natsMsg_GetSubject(m));
        else if (rc == 0 && (rc = s_read(self, m, key)) != EVS_CORRUPT)
            rc = fn(subject, rc == 0 ? key : NULL, arg);
        sodium_memzero(key, sizeof key);
        s_msg_destroy(m);
    }
    return rc;
}
