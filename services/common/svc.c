/* svc.c: the service actor: rebuild, request server with group commit, publication,
 * subscriptions, timers and the worker pool. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "evs_bus.h"
#include "evs_keys.h"
#include "svc.h"
#include "svc_internal.h"
#include "svc_lock.h"
#include "svc_mail.h"

#define S_ID_MAX 256          /* longest ROUTER routing id we keep */
#define S_MSG_MAX (4 << 20)   /* largest request accepted (bytes) */

/* Bump allocation for what a group unpacks (requests, command bodies): all of it is let
 * go at once when the group is answered, instead of a malloc and a free per field. */
typedef struct s_block {
    struct s_block *next;     /* older block */
    size_t used, size;
    max_align_t data[];
} s_block_t;
typedef struct {
    s_block_t *head;          /* the block handed out from, newest first */
    ProtobufCAllocator pb;    /* for protobuf-c: alloc from this arena, free is a no-op */
} s_arena_t;

#define S_BLOCK_SIZE (256u << 10)

static void *s_arena_alloc(void *data, size_t size)
{
    s_arena_t *a = data;
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    s_block_t *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t cap = size > S_BLOCK_SIZE ? size : S_BLOCK_SIZE;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        *b = (s_block_t){a->head, 0, cap};
        a->head = b;
    }
    void *p = (uint8_t *) b->data + b->used;
    b->used += size;
    return p;
}

static void s_arena_free(void *data, void *ptr)
{
    (void) data;
    (void) ptr;   /* all of it goes at s_arena_reset */
}

static void s_arena_init(s_arena_t *a)
{
    *a = (s_arena_t){NULL, {s_arena_alloc, s_arena_free, a}};
}

/* Lets go of everything handed out; keeps the newest block for the next group. */
static void s_arena_reset(s_arena_t *a)
{
    if (!a->head)
        return;
    s_block_t *b = a->head->next;
    while (b) {
        s_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->head->next = NULL;
    a->head->used = 0;
}

static void s_arena_destroy(s_arena_t *a)
{
    s_arena_reset(a);
    free(a->head);
    a->head = NULL;
}


/* One request taken off the ROUTER (or back from a worker). */
typedef struct {
    uint8_t id[S_ID_MAX];     /* routing id */
    size_t id_len;
    Tp__Request *req;         /* NULL when it did not decode */
    bool in_arena;            /* req lives in its group's arena (not freed alone) */
    bool prepared;            /* came back from the worker pool */
    uint8_t *reply;           /* the answer to send, owned */
    size_t reply_len;
    bool deferred;            /* query or $read: answered after the commit */
    bool reads_state;         /* deferred, and answered from the state in memory */
    bool handed_off;          /* sent to a worker; no answer now */
    unsigned who;             /* the sender as its key says (SVC_VISITOR ...; 0: a key
                                 with no rights here but "$status") */
} s_pending_t;

typedef struct {
    const svc_def_t *def;     /* the core */
    char name[64];            /* instance name (topic prefix, data folder) */
    zconfig_t *config;        /* borrowed */
    svc_lock_t *lock;         /* this process's hold on the data folder */
    evs_t *store;             /* our log */
    void *state;              /* the core's state */
    zsock_t *pipe;            /* to the actor's owner */
    zsock_t *pub;             /* publishes committed events */
    zsock_t *router;          /* commands and queries (and the producers' endpoint) */
    char keys_dir[512];       /* the keys folder */
    evs_keyring_t *keyring;   /* who may connect: the public keys in it */
    zcert_t *cert;            /* our own keypair (<keys>/<name>.secret) */
    char zap_router[80];      /* our ZAP domains ("" until registered) */
    char zap_pub[80];
    char **followers;         /* services that may read us and subscribe */
    size_t n_followers;
    uint64_t unknown_keys;    /* requests dropped: their key is not (or no longer) known */
    uint64_t forbidden;       /* requests refused: beyond their key's rights */
    zsock_t *jobs;            /* PUSH to workers */
    zsock_t *done;            /* PULL from workers */
    zactor_t **workers;       /* the worker pool */
    size_t n_workers;
    evs_sub_t **subs;         /* one per upstream */
    size_t n_subs;
    uint64_t *ckpt_pending;   /* per upstream: a checkpoint past skipped events that no
                                 commit has carried yet (0: none) */
    int64_t ckpt_due;         /* zclock_mono() by which they must be committed (0: none) */
    int64_t react_delay_ms;   /* svc_def_t.react_delay_ms, or the config's */
    int64_t *live_due;        /* per upstream: when its waiting live events are taken
                                 (zclock_mono(); 0: its live socket is polled) */
    zpoller_t *poller;
    svc_clock_fn *clock;      /* injectable clock */
    void *clock_arg;
    size_t batch_max;         /* requests per group commit */
    bool pipeline;            /* decide the next group while one commits */
    int64_t slow_commit_us;   /* commits taking longer are logged (0: none) */
    int64_t tick_ms;          /* tick period */
    int64_t next_tick;        /* zclock_mono() of the next tick */
    int64_t next_heartbeat;   /* zclock_mono() of the next heartbeat */
    svc_out_t *out;           /* reused collector */
    evs_record_t *pub_run;    /* a committed batch's records being published */
    size_t pub_n, pub_cap;
    s_pending_t *pending;     /* batch_max slots: the group being taken and decided */
    zactor_t *committer;      /* writes sealed batches (evs_batch_commit) off the loop */
    evs_batch_t *open;        /* the group being decided (requests pending[0..open_n)) */
    size_t open_n;
    bool open_barrier;        /* it has answers to give from the state */
    evs_batch_t *inflight;    /* the group handed to it and not finished, or NULL */
    s_pending_t *inflight_pending;   /* its requests (batch_max slots) */
    s_arena_t arenas[2];      /* what the two groups unpacked: */
    s_arena_t *pending_arena; /* the open group's (swapped with the arrays) */
    s_arena_t *inflight_arena;/* the group in flight's */
    s_arena_t scratch;        /* a command's body while it is decided */
    size_t inflight_n;
    bool inflight_barrier;    /* it has answers to give from the state: the next group
                                 must not be decided before they are given */
    uint8_t secret[SVC_SECRET_SIZE];   /* the service's key (secret.key in its folder) */
    uint8_t random[1024];     /* random bytes handed to commands, refilled when used up */
    size_t random_used;
    zactor_t *mailer;         /* sends mails off the loop (NULL when the core has none) */
    zhashx_t *mail_inflight;  /* mail id -> 0 while being sent, else retry time (mono ms) */
    svc_mail_cfg_t mail_cfg;  /* strings borrowed from the config */
    char outbox[512];
    uint64_t commits;         /* counters for the log line at exit */
    uint64_t events_written;
    uint64_t requests;        /* requests taken off the ROUTER or back from workers */
    int64_t us_decide;        /* time spent deciding, committing, answering (us) */
    int64_t us_commit;
    int64_t us_answer;
} s_svc_t;

static int64_t s_real_clock(void *arg)
{
    (void) arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ config */

const char *svc_config_get(zconfig_t *config, const char *name, const char *key,
                           const char *dflt)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", name, key);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    if (!v && config)
        v = zconfig_get(config, key, NULL);
    return v && *v ? v : dflt;
}

void svc_endpoint(zconfig_t *config, const char *name, const char *kind, char *out, size_t outsz)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", name, kind);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    if (v && *v) {
        snprintf(out, outsz, "%s", v);
        return;
    }
    const char *run = config ? zconfig_get(config, "run", "run") : "run";
    snprintf(out, outsz, "ipc://%s/%s.%s", run, name, kind);
}

const char *svc_keys_dir(zconfig_t *config)
{
    return config ? zconfig_get(config, "keys", "keys") : "keys";
}

void svc_data_dir(zconfig_t *config, const char *name, char *out, size_t outsz)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data", name);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    if (v && *v) {
        snprintf(out, outsz, "%s", v);
        return;
    }
    const char *data = config ? zconfig_get(config, "data", "data") : "data";
    snprintf(out, outsz, "%s/%s", data, name);
}

/* ------------------------------------------------------------------ events */

/* Fills an svc_event_t from a record; strings are copied into @p strbuf. */
static int s_event_from_record(const evs_record_t *rec, svc_event_t *ev,
                               char strbuf[2][EVS_MAX_ID + 1])
{
    evs_view_t v;
    if (evs_view(rec->data, rec->len, &v) != 0 || v.stream_id_len > EVS_MAX_ID ||
        v.event_type_len > EVS_MAX_ID)
        return -1;
    memcpy(strbuf[0], v.stream_id, v.stream_id_len);
    strbuf[0][v.stream_id_len] = '\0';
    memcpy(strbuf[1], v.event_type, v.event_type_len);
    strbuf[1][v.event_type_len] = '\0';
    ev->seq = v.seq;
    ev->stream_id = strbuf[0];
    ev->stream_version = v.stream_version;
    ev->event_type = strbuf[1];
    ev->recorded_at_us = v.recorded_at_us;
    ev->payload = v.payload;
    ev->payload_len = v.payload_len;
    return 0;
}

typedef struct {
    const svc_def_t *def;
    void *state;
    uint64_t to_seq;
    int64_t to_time_us;
    uint64_t applied;
    void (*progress)(uint64_t, void *);
    void *progress_arg;
    int bad;
} s_rebuild_t;

static int s_rebuild_one(const evs_record_t *rec, void *arg)
{
    s_rebuild_t *rb = arg;
    char strbuf[2][EVS_MAX_ID + 1];
    svc_event_t ev;
    if (s_event_from_record(rec, &ev, strbuf) != 0) {
        rb->bad = EVS_CORRUPT;
        return EVS_CORRUPT;
    }
    if (ev.seq > rb->to_seq || ev.recorded_at_us > rb->to_time_us)
        return 1;   /* stop: past the point asked for */
    rb->def->apply(rb->state, &ev);
    rb->applied++;
    if (rb->progress && (rb->applied & 0xffff) == 0)
        rb->progress(ev.seq, rb->progress_arg);
    return 0;
}

int svc_rebuild(const svc_def_t *def, void *state, evs_t *store, uint64_t to_seq,
                int64_t to_time_us, uint64_t *applied,
                void (*progress)(uint64_t seq, void *arg), void *progress_arg)
{
    s_rebuild_t rb = {def, state, to_seq, to_time_us, 0, progress, progress_arg, 0};
    int rc = evs_read(store, 1, to_seq, 0, s_rebuild_one, &rb);
    if (applied)
        *applied = rb.applied;
    if (rc == 1)
        rc = 0;
    return rb.bad ? rb.bad : rc;
}

/* Applies the records [first, last] the batch just appended. */
static void s_apply_appended(s_svc_t *self, evs_batch_t *batch, uint64_t first, uint64_t last)
{
    for (uint64_t seq = first; seq && seq <= last; seq++) {
        evs_record_t rec;
        char strbuf[2][EVS_MAX_ID + 1];
        svc_event_t ev;
        int rc = evs_batch_record(batch, seq, &rec);
        assert(rc == 0);   /* we just appended it */
        rc = s_event_from_record(&rec, &ev, strbuf);
        assert(rc == 0);
        self->def->apply(self->state, &ev);
    }
}

/* Collects a committed batch's records for s_publish (their bytes stay in the batch). */
static int s_collect_one(const evs_record_t *rec, void *arg)
{
    s_svc_t *self = arg;
    if (self->pub_n == self->pub_cap) {
        size_t cap = self->pub_cap ? self->pub_cap * 2 : 256;
        evs_record_t *more = realloc(self->pub_run, cap * sizeof *more);
        if (!more)
            return -1;
        self->pub_run = more;
        self->pub_cap = cap;
    }
    self->pub_run[self->pub_n++] = *rec;
    return 0;
}

/* Publishes a committed batch's events, several to a message (evs_bus_publish_run). A
 * failed publish loses nothing: subscribers read what they missed from the log. */
static void s_publish(s_svc_t *self, evs_batch_t *batch)
{
    self->pub_n = 0;
    int rc = evs_batch_each(batch, s_collect_one, self);
    if (evs_bus_publish_run(self->pub, self->name, self->pub_run, self->pub_n) != 0 || rc != 0)
        zsys_warning("%s: publishing %zu events failed", self->name, self->pub_n);
}

/* Puts the checkpoints past skipped upstream events into @p batch: they ride along
 * with whatever commits next. */
static int s_add_checkpoints(s_svc_t *self, evs_batch_t *batch)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < self->n_subs; i++)
        if (self->ckpt_pending[i])
            rc = evs_batch_checkpoint(batch, evs_sub_upstream(self->subs[i]),
                                      self->ckpt_pending[i]);
    for (size_t i = 0; i < self->n_subs; i++)
        self->ckpt_pending[i] = 0;
    self->ckpt_due = 0;
    return rc;
}

/* Ends the process after a failed commit: an unacknowledged failure must not be hidden,
 * and state in memory is already ahead of the log. */
static void s_commit_failed(s_svc_t *self, int rc)
{
    zsys_error("%s: commit failed: %s; stopping (state rebuilds from the log at restart)",
               self->name, evs_strerror(rc));
    exit(70);
}

static void s_wait_inflight(s_svc_t *self);
static void s_drain(s_svc_t *self);

/* Counts a commit of @p n requests (0: reactions, ticks, checkpoints) that took @p us;
 * one slower than slow_commit_ms is logged with where its time went, to tell a slow disk
 * (write + flush) from the log's own upkeep (index run, request-id move); "other" is
 * what the store did not time (growing the map and redoing the batch). */
static void s_count_commit(s_svc_t *self, evs_batch_t *batch, size_t n, uint64_t us)
{
    self->commits++;
    self->us_commit += (int64_t) us;
    if (!self->slow_commit_us || (int64_t) us <= self->slow_commit_us)
        return;
    evs_commit_timing_t t;
    evs_batch_timing(batch, &t);
    char what[48] = "of reactions, ticks or checkpoints";
    if (n)
        snprintf(what, sizeof what, "for %zu requests", n);
    zsys_warning("%s: slow commit: %.1f ms %s, %zu records (puts %.1f ms%s%s,"
                 " write + flush %.1f, other %.1f)",
                 self->name, us / 1000.0, what, t.ops, t.us_puts / 1000.0,
                 t.index_run ? " with an index run" : "",
                 t.request_move ? " with a request-id move" : "", t.us_sync / 1000.0,
                 ((int64_t) us - t.us_puts - t.us_sync) / 1000.0);
}

/* Commits a batch on the loop (after the group in flight) and publishes it. */
static void s_commit_or_die(s_svc_t *self, evs_batch_t **batch_p)
{
    assert(!self->inflight && !self->open);   /* s_drain() first */
    int rc = s_add_checkpoints(self, *batch_p);
    int64_t t0 = zclock_usecs();
    if (rc == 0)
        rc = evs_batch_commit(*batch_p);
    if (rc != 0)
        s_commit_failed(self, rc);
    s_count_commit(self, *batch_p, 0, (uint64_t) (zclock_usecs() - t0));
    s_publish(self, *batch_p);
}

/* Commits the checkpoints past skipped upstream events on their own. */
static void s_commit_checkpoints(s_svc_t *self)
{
    if (!self->ckpt_due)
        return;
    s_drain(self);
    if (!self->ckpt_due)
        return;   /* the groups carried them */
    evs_batch_t *batch = NULL;
    int rc = evs_batch_begin(self->store, &batch);
    if (rc != 0) {
        zsys_error("%s: cannot begin a write: %s; stopping", self->name, evs_strerror(rc));
        exit(70);
    }
    s_commit_or_die(self, &batch);
    evs_batch_end(&batch);
}

/* Appends the collected events of @p out; returns 0, EVS_CONFLICT or fatal codes. */
static int s_append_out(s_svc_t *self, evs_batch_t *batch, const svc_out_t *out,
                        const char *correlation, const char *causation, const char *actor,
                        const char *request_id,
                        const uint8_t *result, size_t result_len, uint64_t *first,
                        uint64_t *last)
{
    evs_event_t evs_stack[16];
    evs_expect_t exp_stack[8];
    evs_event_t *events = out->n_events <= 16 ? evs_stack : calloc(out->n_events, sizeof *events);
    evs_expect_t *expects =
        out->n_expects <= 8 ? exp_stack : calloc(out->n_expects, sizeof *expects);
    int rc = EVS_INVALID;
    if (!events || !expects)
        goto done;
    for (size_t i = 0; i < out->n_events; i++) {
        events[i] = (evs_event_t) {out->events[i].stream_id, out->events[i].type,
                                   out->events[i].payload, out->events[i].len, correlation,
                                   causation, actor};
    }
    for (size_t i = 0; i < out->n_expects; i++)
        expects[i] = (evs_expect_t) {out->expects[i].stream_id, out->expects[i].expected};
    rc = evs_batch_append(batch, events, out->n_events, expects, out->n_expects, request_id,
                          result, result_len, first, last);
done:
    if (events != evs_stack)
        free(events);
    if (expects != exp_stack)
        free(expects);
    return rc;
}

/* SVC_SECRET_SIZE fresh random bytes; one getrandom per 32 commands. */
static const uint8_t *s_random(s_svc_t *self)
{
    if (self->random_used + SVC_SECRET_SIZE > sizeof self->random) {
        randombytes_buf(self->random, sizeof self->random);
        self->random_used = 0;
    }
    const uint8_t *r = self->random + self->random_used;
    self->random_used += SVC_SECRET_SIZE;
    return r;
}

/* Loads <dir>/secret.key, creating it (0600) with fresh randomness on first start. */
static int s_load_secret(const char *dir, uint8_t *secret)
{
    char path[600];
    snprintf(path, sizeof path, "%s/secret.key", dir);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, secret, SVC_SECRET_SIZE);
        close(fd);
        if (n != SVC_SECRET_SIZE) {
            zsys_error("%s: not a %d-byte key", path, SVC_SECRET_SIZE);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        zsys_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    randombytes_buf(secret, SVC_SECRET_SIZE);
    char tmp[620];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* fchmod: a temporary file left over from a crash keeps its mode through O_TRUNC */
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
              write(fd, secret, SVC_SECRET_SIZE) == SVC_SECRET_SIZE && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        zsys_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Logs what the core asked to be logged. */
static void s_flush_logs(s_svc_t *self, svc_out_t *out)
{
    for (size_t i = 0; i < out->n_logs; i++) {
        const char *l = out->logs[i];
        if (l[0] == 'E')
            zsys_error("%s: %s", self->name, l + 1);
        else if (l[0] == 'W')
            zsys_warning("%s: %s", self->name, l + 1);
        else
            zsys_info("%s: %s", self->name, l + 1);
    }
}

/* ------------------------------------------------------------------ replies */

static void s_set_reply(s_pending_t *p, const Tp__Reply *reply)
{
    free(p->reply);
    p->reply_len = tp__reply__get_packed_size(reply);
    p->reply = malloc(p->reply_len ? p->reply_len : 1);
    if (p->reply)
        tp__reply__pack(reply, p->reply);
    else
        p->reply_len = 0;
}

static const char *s_request_id(const s_pending_t *p)
{
    return p->req && p->req->header && p->req->header->request_id ? p->req->header->request_id
                                                                    : "";
}

/* An ok reply whose body is @p msg; false when out of memory (no reply set). */
static bool s_reply_msg(s_pending_t *p, const ProtobufCMessage *msg, uint64_t last_seq)
{
    size_t blen = protobuf_c_message_get_packed_size(msg);
    uint8_t *body = malloc(blen ? blen : 1);
    if (!body)
        return false;
    protobuf_c_message_pack(msg, body);
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = true;
    reply.body.data = body;
    reply.body.len = blen;
    reply.last_seq = last_seq;
    s_set_reply(p, &reply);
    free(body);
    return p->reply != NULL;
}

/* A refusal with the errors in @p out, or a single error. */
static void s_reply_errors_at(s_pending_t *p, const svc_out_t *out, const char *code,
                              const char *field, const char *message, uint64_t last_seq)
{
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = false;
    reply.last_seq = last_seq;
    Tp__Error one = TP__ERROR__INIT;
    Tp__Error *one_p = &one;
    Tp__Error **list = NULL;
    if (out && out->n_errors > 0) {
        list = calloc(out->n_errors, sizeof *list);
        Tp__Error *errs = calloc(out->n_errors, sizeof *errs);
        if (list && errs) {
            for (size_t i = 0; i < out->n_errors; i++) {
                tp__error__init(&errs[i]);
                errs[i].code = out->errors[i].code;
                errs[i].field = out->errors[i].field;
                errs[i].message = out->errors[i].message;
                list[i] = &errs[i];
            }
            reply.errors = list;
            reply.n_errors = out->n_errors;
        }
        else
            free(errs);
    }
    if (!reply.n_errors) {
        one.code = (char *) (code ? code : "internal");
        one.field = (char *) (field ? field : "");
        one.message = (char *) (message ? message : "refused");
        reply.errors = &one_p;
        reply.n_errors = 1;
    }
    s_set_reply(p, &reply);
    if (list) {
        free(list[0]);
        free(list);
    }
}

static void s_reply_errors(s_pending_t *p, const svc_out_t *out, const char *code,
                           const char *field, const char *message)
{
    s_reply_errors_at(p, out, code, field, message, 0);
}

static void s_send_reply(s_svc_t *self, s_pending_t *p)
{
    if (!p->reply)
        return;
    if (p->id_len < 1)
        return;
    void *h = zsock_resolve(self->router);
    /* a client that went away just loses its answer; never block the loop on it */
    if (zmq_send(h, p->id, p->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(h, p->reply, p->reply_len, ZMQ_DONTWAIT);
}

static void s_pending_clear(s_pending_t *p)
{
    if (p->req && !p->in_arena)
        tp__request__free_unpacked(p->req, NULL);
    free(p->reply);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------ commands */

static const svc_command_t *s_find_command(s_svc_t *self, const char *wire)
{
    /* wire names are "<service>.<Command>"; the instance name is accepted too */
    const char *dot = strchr(wire, '.');
    if (!dot)
        return NULL;
    size_t plen = (size_t) (dot - wire);
    bool ours = (strlen(self->def->name) == plen && memcmp(wire, self->def->name, plen) == 0) ||
                (strlen(self->name) == plen && memcmp(wire, self->name, plen) == 0);
    if (!ours)
        return NULL;
    for (size_t i = 0; i < self->def->n_commands; i++)
        if (streq(self->def->commands[i].name, dot + 1))
            return &self->def->commands[i];
    return NULL;
}

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    ProtobufCBinaryData *items;
    size_t n, max_items;
} s_readbuf_t;

static int s_read_collect(const evs_record_t *rec, void *arg)
{
    s_readbuf_t *rb = arg;
    if (rb->n >= rb->max_items)
        return 1;
    if (rb->len + rec->len > rb->cap) {
        size_t ncap = (rb->cap + rec->len) * 2;
        uint8_t *nb = realloc(rb->buf, ncap);
        if (!nb)
            return -1;
        rb->buf = nb;
        rb->cap = ncap;
    }
    memcpy(rb->buf + rb->len, rec->data, rec->len);
    /* offsets now; turned into pointers once the buffer stops moving */
    rb->items[rb->n].data = (uint8_t *) (uintptr_t) rb->len;
    rb->items[rb->n].len = rec->len;
    rb->len += rec->len;
    rb->n++;
    return 0;
}

/* "$read": events from a seq, as stored. */
static void s_answer_read(s_svc_t *self, s_pending_t *p)
{
    Tp__ReadEventsRequest *rr =
        tp__read_events_request__unpack(NULL, p->req->body.len, p->req->body.data);
    if (!rr) {
        s_reply_errors(p, NULL, "invalid", "body", "not a ReadEventsRequest");
        return;
    }
    uint32_t max = rr->max_count ? rr->max_count : EVS_BUS_READ_MAX;
    if (max > EVS_BUS_READ_MAX)
        max = EVS_BUS_READ_MAX;
    s_readbuf_t rb = {NULL, 0, 0, calloc(max, sizeof(ProtobufCBinaryData)), 0, max};
    Tp__ReadEventsReply out = TP__READ_EVENTS_REPLY__INIT;
    evs_head(self->store, &out.head_seq, NULL);
    int rc = rb.items ? evs_read(self->store, rr->from_seq ? rr->from_seq : 1, UINT64_MAX, max,
                                 s_read_collect, &rb)
                      : -1;
    tp__read_events_request__free_unpacked(rr, NULL);
    if (rc < 0) {
        s_reply_errors(p, NULL, "unavailable", "", "read failed");
        goto done;
    }
    for (size_t i = 0; i < rb.n; i++)
        rb.items[i].data = rb.buf + (uintptr_t) rb.items[i].data;
    out.events = rb.items;
    out.n_events = rb.n;
    if (!s_reply_msg(p, &out.base, 0))
        s_reply_errors(p, NULL, "internal", "", "out of memory");
done:
    free(rb.items);
    free(rb.buf);
}

/* "$status": the head, for readiness checks. */
static void s_answer_status(s_svc_t *self, s_pending_t *p)
{
    uint8_t hash[EVS_HASH_SIZE];
    Tp__Heartbeat hb = TP__HEARTBEAT__INIT;
    hb.service = self->name;
    evs_head(self->store, &hb.head_seq, hash);
    hb.head_hash.data = hash;
    hb.head_hash.len = sizeof hash;
    hb.sent_at_us = self->clock(self->clock_arg);
    uint8_t body[256];
    size_t blen = tp__heartbeat__pack(&hb, body);
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = true;
    reply.body.data = body;
    reply.body.len = blen;
    s_set_reply(p, &reply);
}

/* "$summary": the core's one-line JSON summary of the live state. */
static void s_answer_summary(s_svc_t *self, s_pending_t *p)
{
    char *json = self->def->summary ? self->def->summary(self->state) : strdup("{}");
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = json != NULL;
    reply.body.data = (uint8_t *) json;
    reply.body.len = json ? strlen(json) : 0;
    s_set_reply(p, &reply);
    free(json);
}

static void s_answer_query(s_svc_t *self, s_pending_t *p, const svc_command_t *cmd)
{
    ProtobufCMessage *body = protobuf_c_message_unpack(cmd->body, NULL, p->req->body.len,
                                                       p->req->body.data);
    if (!body) {
        s_reply_errors(p, NULL, "invalid", "body", "does not decode");
        return;
    }
    svc_out_reset(self->out);
    svc_ctx_t ctx = {p->req->header, self->clock(self->clock_arg), self->secret, s_random(self)};
    cmd->decide(self->state, &ctx, body, self->out);
    protobuf_c_message_free_unpacked(body, NULL);
    if (svc_out_failed(self->out)) {
        s_reply_errors(p, self->out, "invalid", NULL, NULL);
        return;
    }
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = true;
    reply.body.data = self->out->reply;
    reply.body.len = self->out->reply_len;
    s_set_reply(p, &reply);
}

static void s_answer_deferred(s_svc_t *self, s_pending_t *p)
{
    const char *c = p->req->command;
    if (streq(c, EVS_BUS_READ))
        s_answer_read(self, p);
    else if (streq(c, "$status"))
        s_answer_status(self, p);
    else if (streq(c, "$summary"))
        s_answer_summary(self, p);
    else
        s_answer_query(self, p, s_find_command(self, c));
}

/* Hands a command to the worker pool: [routing id][request][lookup]. */
static void s_hand_off(s_svc_t *self, s_pending_t *p, const svc_command_t *cmd)
{
    char *lookup = NULL;
    if (cmd->lookup) {
        ProtobufCMessage *body = protobuf_c_message_unpack(cmd->body, NULL, p->req->body.len,
                                                           p->req->body.data);
        if (body) {
            lookup = cmd->lookup(self->state, body);
            protobuf_c_message_free_unpacked(body, NULL);
        }
    }
    size_t len = tp__request__get_packed_size(p->req);
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, p->id, p->id_len);
    zframe_t *f = zframe_new(NULL, len);
    tp__request__pack(p->req, zframe_data(f));
    zmsg_append(m, &f);
    zmsg_addmem(m, lookup, lookup ? strlen(lookup) + 1 : 0);
    zmsg_send(&m, self->jobs);
    if (lookup) {
        sodium_memzero(lookup, strlen(lookup));
        free(lookup);
    }
    p->handed_off = true;
}

static int s_decide_batch(s_svc_t *self, evs_batch_t *batch, s_pending_t *p, int64_t now);
static const char *s_actor(const Tp__RequestHeader *h, char *out, size_t outsz);
static void s_forbid(s_svc_t *self, s_pending_t *p, const char *c);
static bool s_allowed(s_svc_t *self, const s_pending_t *p, const char *c);

/* Decides one command into the open batch. */
static int s_decide_one(s_svc_t *self, evs_batch_t *batch, s_pending_t *p, int64_t now)
{
    if (p->reply)
        return 0;   /* a worker already refused it */
    if (!p->req) {
        s_reply_errors(p, NULL, "invalid", "", "request does not decode as tp.Request");
        return 0;
    }
    Tp__RequestHeader *h = p->req->header;
    if (!h) {
        s_reply_errors(p, NULL, "invalid", "header", "request header missing");
        return 0;
    }
    if (h->deadline_us && now > h->deadline_us) {
        s_reply_errors(p, NULL, "deadline", "", "deadline passed before the request was read");
        return 0;
    }
    const char *c = p->req->command;
    if (streq(c, SVC_BATCH))
        return s_decide_batch(self, batch, p, now);
    if (streq(c, EVS_BUS_READ) || streq(c, "$status") || streq(c, "$summary")) {
        p->deferred = true;
        p->reads_state = streq(c, "$summary");
        return 0;
    }
    const svc_command_t *cmd = s_find_command(self, c);
    if (!cmd) {
        s_reply_errors(p, NULL, "unknown_command", "command", "no such command here");
        return 0;
    }
    if (cmd->query) {
        p->deferred = true;
        p->reads_state = true;
        return 0;
    }
    if (!*h->request_id || strlen(h->request_id) > EVS_MAX_ID) {
        s_reply_errors(p, NULL, "invalid", "header.requestId", "must be 1..200 characters");
        return 0;
    }
    const uint8_t *kept = NULL;
    size_t kept_len = 0;
    int rc = evs_batch_request_get(batch, h->request_id, &kept, &kept_len);
    if (rc == 0) {
        /* answered before: the same reply, marked replayed (field 6 = true appended) */
        free(p->reply);
        p->reply = malloc(kept_len + 2);
        if (!p->reply)
            return 0;
        memcpy(p->reply, kept, kept_len);
        p->reply[kept_len] = 0x30;
        p->reply[kept_len + 1] = 0x01;
        p->reply_len = kept_len + 2;
        return 0;
    }
    if (rc != EVS_NOTFOUND)
        return rc;
    if (cmd->prepare && !p->prepared) {
        s_hand_off(self, p, cmd);
        return 0;
    }
    ProtobufCMessage *body = protobuf_c_message_unpack(cmd->body, &self->scratch.pb,
                                                       p->req->body.len, p->req->body.data);
    if (!body) {
        s_arena_reset(&self->scratch);
        s_reply_errors(p, NULL, "invalid", "body", "does not decode");
        return 0;
    }
    svc_out_t *out = self->out;
    svc_out_reset(out);
    svc_ctx_t ctx = {h, now, self->secret, s_random(self)};
    cmd->decide(self->state, &ctx, body, out);
    s_arena_reset(&self->scratch);   /* the body: decide keeps nothing of it */
    s_flush_logs(self, out);
    bool refused = svc_out_failed(out);
    if (refused && !(out->keep_events && out->n_events > 0)) {
        s_reply_errors(p, out, "invalid", NULL, NULL);
        return 0;
    }
    if (refused)   /* a recorded refusal: the errors, and the seq its events got */
        s_reply_errors_at(p, out, "invalid", NULL, NULL, evs_batch_head(batch) + out->n_events);
    else {
        Tp__Reply reply = TP__REPLY__INIT;
        reply.request_id = h->request_id;
        reply.ok = true;
        reply.body.data = out->reply;
        reply.body.len = out->reply_len;
        reply.last_seq = out->n_events ? evs_batch_head(batch) + out->n_events : 0;
        s_set_reply(p, &reply);
    }
    if (!p->reply)
        return EVS_INVALID;
    const char *corr = *h->correlation_id ? h->correlation_id : h->request_id;
    uint64_t first = 0, last = 0;
    /* a reply with a secret in it is not kept in the log's idempotency records */
    bool keep = !cmd->secret_reply;
    char actor[EVS_MAX_ID + 16];
    rc = s_append_out(self, batch, out, corr, h->request_id, s_actor(h, actor, sizeof actor),
                      keep ? h->request_id : NULL,
                      keep ? p->reply : NULL, keep ? p->reply_len : 0, &first, &last);
    if (rc == EVS_CONFLICT) {
        s_reply_errors(p, NULL, "conflict", "expectedVersion",
                       "the stream was changed meanwhile; read it again and retry");
        return 0;
    }
    if (rc == EVS_INVALID) {
        s_reply_errors(p, NULL, "internal", "", "the service produced an invalid event");
        return 0;
    }
    if (rc != 0)
        return rc;
    s_apply_appended(self, batch, first, last);
    self->events_written += out->n_events;
    return 0;
}

/* "$batch": each item decided by s_decide_one as a request of its own, under the outer
 * header with the item's request id; the items' replies go back together. Items that
 * would be answered later (queries, "$" commands) or by a worker are refused one by one:
 * the reply of a batch is complete when its group is durable. */
static int s_decide_batch(s_svc_t *self, evs_batch_t *batch, s_pending_t *p, int64_t now)
{
    /* in the group's arena, like the request that carries it */
    Tp__Batch *b = tp__batch__unpack(&self->pending_arena->pb, p->req->body.len,
                                     p->req->body.data);
    if (!b || b->n_items == 0 || b->n_items > SVC_BATCH_MAX) {
        s_reply_errors(p, NULL, "invalid", "body",
                       b ? "a batch holds 1 to 1024 items" : "not a tp.Batch");
        return 0;
    }
    ProtobufCBinaryData *replies = calloc(b->n_items, sizeof *replies);
    if (!replies) {
        s_reply_errors(p, NULL, "internal", "", "out of memory");
        return 0;
    }
    uint64_t written = self->events_written;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n_items; i++) {
        const Tp__BatchItem *it = b->items[i];
        Tp__RequestHeader h = *p->req->header;
        h.request_id = it->request_id;
        Tp__Request r = TP__REQUEST__INIT;
        r.header = &h;
        r.command = it->command;
        r.body = it->body;
        s_pending_t q = {0};
        q.req = &r;
        q.who = p->who;
        const svc_command_t *cmd = s_find_command(self, it->command);
        if (!s_allowed(self, p, it->command))
            s_forbid(self, &q, it->command);
        else if (it->command[0] == '$' || (cmd && (cmd->query || cmd->prepare)))
            s_reply_errors(&q, NULL, "invalid", "command",
                           "not in a batch: queries, $ commands and commands done by the "
                           "worker pool go alone");
        else
            rc = s_decide_one(self, batch, &q, now);
        replies[i].data = q.reply;
        replies[i].len = q.reply_len;
        if (rc == 0 && !q.reply)
            rc = ENOMEM;
    }
    if (rc == 0) {
        Tp__BatchReply br = TP__BATCH_REPLY__INIT;
        br.replies = replies;
        br.n_replies = b->n_items;
        if (!s_reply_msg(p, &br.base, self->events_written > written ? evs_batch_head(batch) : 0))
            rc = ENOMEM;
    }
    for (size_t i = 0; i < b->n_items; i++)
        free(replies[i].data);
    free(replies);
    /* out of memory: the items decided are in the group, so it cannot just be dropped */
    return rc == ENOMEM ? EVS_INVALID : rc;
}

/* The committer: writes each sealed batch it is handed, answers [rc][microseconds]. */
static void s_committer(zsock_t *pipe, void *args)
{
    zsock_signal(pipe, 0);
    while (true) {
        zmsg_t *m = zmsg_recv(pipe);
        if (!m)
            break;
        zframe_t *f = zmsg_first(m);
        if (!f || zframe_streq(f, "$TERM") || zframe_size(f) != sizeof(evs_batch_t *)) {
            zmsg_destroy(&m);
            break;
        }
        evs_batch_t *batch;
        memcpy(&batch, zframe_data(f), sizeof batch);
        zmsg_destroy(&m);
        int64_t t0 = zclock_usecs();
        int rc = evs_batch_commit(batch);
        zsock_send(pipe, "i8", rc, (uint64_t) (zclock_usecs() - t0));
    }
}

/* Answers a group whose commit is durable: publishes its events, then replies. */
static void s_finish(s_svc_t *self, evs_batch_t **batch_p, s_pending_t *pending, size_t n)
{
    int64_t t0 = zclock_usecs();
    s_publish(self, *batch_p);
    for (size_t i = 0; i < n; i++) {
        s_pending_t *p = &pending[i];
        if (p->deferred)
            s_answer_deferred(self, p);
        if (!p->handed_off)
            s_send_reply(self, p);
        s_pending_clear(p);
    }
    evs_batch_end(batch_p);
    self->us_answer += zclock_usecs() - t0;
}

static void s_submit(s_svc_t *self);

/* The group in flight is written (with @p rc, in @p us): hands the open group to the
 * committer first when @p next, so that it is not idle while this one is answered; then
 * publishes and answers this one. */
static void s_completed(s_svc_t *self, bool next, int rc, uint64_t us)
{
    if (rc != 0)
        s_commit_failed(self, rc);
    evs_batch_t *done = self->inflight;
    s_pending_t *pending = self->inflight_pending;
    size_t n = self->inflight_n;
    s_count_commit(self, done, n, us);
    bool barrier = self->inflight_barrier;
    self->inflight = NULL;
    self->inflight_n = 0;
    self->inflight_barrier = false;
    /* a group with answers from the state had no group decided after it */
    if (next && !barrier && self->pipeline)
        s_submit(self);   /* takes `pending` as the next array: it is answered first */
    s_finish(self, &done, pending, n);
    /* the arena went with its array: to the open group's side when s_submit swapped */
    s_arena_reset(pending == self->pending ? self->pending_arena : self->inflight_arena);
}

/* Waits for the committer to write the group in flight; then s_completed. */
static void s_complete(s_svc_t *self, bool next)
{
    if (!self->inflight)
        return;
    int rc = -1;
    uint64_t us = 0;
    if (zsock_recv(self->committer, "i8", &rc, &us) != 0)
        rc = EVS_BAD_BATCH;
    s_completed(self, next, rc, us);
}

static void s_wait_inflight(s_svc_t *self)
{
    s_complete(self, false);
}

/* Seals the open group and hands it to the committer (nothing may be in flight); a
 * group with nothing to write is answered at once. */
static void s_submit(s_svc_t *self)
{
    if (!self->open)
        return;
    assert(!self->inflight);
    int rc = s_add_checkpoints(self, self->open);
    if (rc == 0)
        rc = evs_batch_seal(self->open);
    if (rc != 0) {
        zsys_error("%s: write failed: %s; stopping", self->name, evs_strerror(rc));
        exit(70);
    }
    size_t n = self->open_n;
    bool barrier = self->open_barrier;
    self->open_n = 0;
    self->open_barrier = false;
    if (evs_batch_empty(self->open)) {
        /* nothing to write (queries, refusals, replays of what is durable): answer now */
        s_finish(self, &self->open, self->pending, n);
        s_arena_reset(self->pending_arena);
        return;
    }
    s_pending_t *swap = self->inflight_pending;
    self->inflight_pending = self->pending;
    self->pending = swap;
    s_arena_t *aswap = self->inflight_arena;
    self->inflight_arena = self->pending_arena;
    self->pending_arena = aswap;
    self->inflight_n = n;
    self->inflight_barrier = barrier;
    self->inflight = self->open;
    self->open = NULL;
    if (self->pipeline) {
        zsock_send(self->committer, "b", &self->inflight, sizeof self->inflight);
        return;
    }
    /* one group at a time: written here on the loop, no hand-over to the committer */
    int64_t t0 = zclock_usecs();
    rc = evs_batch_commit(self->inflight);
    s_completed(self, false, rc, (uint64_t) (zclock_usecs() - t0));
}

/* Writes and answers everything decided so far (before a write outside the groups). */
static void s_drain(s_svc_t *self)
{
    s_wait_inflight(self);
    if (self->open) {
        s_submit(self);
        s_wait_inflight(self);
    }
}

/* Decides requests pending[from, to) into the open group (begun when none is open).
 * Group commit: the group takes everything that arrives while the group before it is
 * written (one fsync), and is handed over when that one is durable. */
static void s_decide(s_svc_t *self, size_t from, size_t to)
{
    int rc = 0;
    if (!self->open && (rc = evs_batch_begin(self->store, &self->open)) != 0) {
        zsys_error("%s: cannot begin a write: %s; stopping", self->name, evs_strerror(rc));
        exit(70);
    }
    int64_t now = self->clock(self->clock_arg);
    int64_t t0 = zclock_usecs();
    for (size_t i = from; i < to; i++) {
        rc = s_decide_one(self, self->open, &self->pending[i], now);
        if (rc != 0) {
            zsys_error("%s: write failed: %s; stopping", self->name, evs_strerror(rc));
            exit(70);
        }
        self->open_barrier |= self->pending[i].reads_state;
    }
    self->open_n = to;
    self->requests += to - from;
    self->us_decide += zclock_usecs() - t0;
}

/* ------------------------------------------------------------------ rights */

static bool s_follower(const s_svc_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_followers; i++)
        if (streq(self->followers[i], name))
            return true;
    return false;
}

/* What any command of ours allows (SVC_* bits). */
static unsigned s_any_who(const svc_def_t *def)
{
    unsigned any = 0;
    for (size_t i = 0; i < def->n_commands; i++)
        any |= def->commands[i].who;
    return any;
}

/* ZAP, on the handler's thread (reads only what start-up wrote): who may connect to our
 * ROUTER. The gateway always (its readiness check asks "$status"); rights are checked
 * again at every request. */
static bool s_zap_router(void *arg, const evs_peer_t *peer)
{
    const s_svc_t *self = arg;
    unsigned any = s_any_who(self->def);
    switch (peer->kind) {
    case EVS_PEER_OPERATOR:
    case EVS_PEER_GATEWAY: return true;
    case EVS_PEER_PRODUCER: return (any & SVC_PRODUCER) != 0;
    case EVS_PEER_IDENT: return (any & SVC_IDENT) != 0;
    case EVS_PEER_SERVICE: return s_follower(self, peer->name);
    default: return false;
    }
}

/* ZAP: who may subscribe to our PUB socket: our followers. */
static bool s_zap_pub(void *arg, const evs_peer_t *peer)
{
    return peer->kind == EVS_PEER_SERVICE && s_follower(arg, peer->name);
}

/* "kind:name" into the group's arena. */
static char *s_arena_join(s_arena_t *a, const char *kind, const char *name)
{
    size_t k = strlen(kind), n = strlen(name);
    char *out = s_arena_alloc(a, k + n + 2);
    if (out) {
        memcpy(out, kind, k);
        out[k] = ':';
        memcpy(out + k + 1, name, n + 1);
    }
    return out;
}

/* The request in @p p as its key says: @p user_id (the message's ZAP User-Id) names the
 * key; the header's role and account are rewritten from it (the gateway keeps the
 * account of a session as customer or officer, nothing more) and p->who set. Returns
 * false when the key is not in the keys folder (any more): no answer then. */
static bool s_authenticate(s_svc_t *self, s_pending_t *p, const char *user_id)
{
    evs_peer_t peer;
    if (!evs_keyring_lookup(self->keyring, user_id, &peer)) {
        self->unknown_keys++;
        return false;
    }
    if (!p->req)
        return true;   /* refused as undecodable */
    s_arena_t *a = self->pending_arena;
    Tp__Request *req = p->req;
    if (!req->header) {
        req->header = s_arena_alloc(a, sizeof *req->header);
        if (!req->header)
            return false;
        tp__request_header__init(req->header);
    }
    Tp__RequestHeader *h = req->header;
    static const struct {
        evs_peer_kind_t kind;
        unsigned who;
        const char *role;
    } roles[] = {{EVS_PEER_OPERATOR, SVC_OPERATOR, "operator"},
                 {EVS_PEER_PRODUCER, SVC_PRODUCER, "producer"},
                 {EVS_PEER_IDENT, SVC_IDENT, "ident"},
                 {EVS_PEER_SERVICE, SVC_SERVICE, "service"}};
    p->who = 0;
    if (peer.kind == EVS_PEER_GATEWAY) {
        const char *role = h->actor_role ? h->actor_role : "";
        bool account = h->actor_account && *h->actor_account;
        if (!*role && !account)
            p->who = SVC_VISITOR;
        else if (account && streq(role, "customer"))
            p->who = SVC_CUSTOMER;
        else if (account && streq(role, "officer"))
            p->who = SVC_OFFICER;
        return true;   /* anything else it claims: no rights (refused as forbidden) */
    }
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (roles[i].kind != peer.kind)
            continue;
        char *account = s_arena_join(a, roles[i].role, peer.name);
        if (!account)
            return false;
        h->actor_role = (char *) roles[i].role;
        h->actor_account = account;
        /* a service that does not follow us may ask "$status" only */
        if (peer.kind != EVS_PEER_SERVICE || s_follower(self, peer.name))
            p->who = roles[i].who;
    }
    return true;
}

/* May the sender of @p p send command @p c? "$status": anyone with a key; "$read":
 * operators and followers; "$summary": operators; "$batch": who may send commands at all
 * (each item is checked again); a command: its table's `who`. An unknown command passes,
 * to be refused as unknown. */
static bool s_allowed(s_svc_t *self, const s_pending_t *p, const char *c)
{
    if (streq(c, "$status"))
        return true;
    if (streq(c, EVS_BUS_READ))
        return (p->who & (SVC_OPERATOR | SVC_SERVICE)) != 0;
    if (streq(c, "$summary"))
        return (p->who & SVC_OPERATOR) != 0;
    if (streq(c, SVC_BATCH))
        return (p->who & (SVC_OPERATOR | SVC_PRODUCER | SVC_IDENT)) != 0;
    const svc_command_t *cmd = s_find_command(self, c);
    return !cmd || (cmd->who & p->who) != 0;
}

/* Refuses @p p's command @p c: a visitor asking what an account may do is told to log
 * in ("unauthenticated"), anyone else "forbidden". Nothing is written. */
static void s_forbid(s_svc_t *self, s_pending_t *p, const char *c)
{
    self->forbidden++;
    const svc_command_t *cmd = s_find_command(self, c);
    if (p->who == SVC_VISITOR && cmd && (cmd->who & (SVC_CUSTOMER | SVC_OFFICER)))
        s_reply_errors(p, NULL, "unauthenticated", "", "please log in");
    else
        s_reply_errors(p, NULL, "forbidden", "",
                       "not allowed for the key this request came with");
}

/* Who caused what @p h's request writes (tp.Envelope.actor), into @p out. */
static const char *s_actor(const Tp__RequestHeader *h, char *out, size_t outsz)
{
    const char *role = h->actor_role ? h->actor_role : "";
    const char *account = h->actor_account ? h->actor_account : "";
    if (streq(role, "customer") || streq(role, "officer")) {
        snprintf(out, outsz, "%s:%s", role, account);
        return out;
    }
    return *account ? account : "visitor";
}

/* Takes one message off the ROUTER into slot @p p. Returns 1 when one was taken, 0 when
 * none was waiting. A request whose key is unknown is dropped unanswered (and 1
 * returned with p->id_len 0, so that the caller goes on taking). */
static int s_take(s_svc_t *self, zsock_t *sock, s_pending_t *p)
{
    void *h = zsock_resolve(sock);
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, h, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&id);
        return 0;
    }
    zmq_msg_init(&body);
    bool ok = zmq_msg_more(&id) && zmq_msg_recv(&body, h, 0) >= 0;
    bool more = ok && zmq_msg_more(&body);
    while (more) {
        /* a well-formed request has exactly two frames: drop the rest, refuse it */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        more = zmq_msg_recv(&extra, h, 0) >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        ok = false;
    }
    memset(p, 0, sizeof *p);
    size_t idn = zmq_msg_size(&id) < S_ID_MAX ? zmq_msg_size(&id) : 0;
    memcpy(p->id, zmq_msg_data(&id), idn);
    p->id_len = idn;
    if (ok) {
        p->req = tp__request__unpack(&self->pending_arena->pb, zmq_msg_size(&body),
                                     zmq_msg_data(&body));
        p->in_arena = true;
    }
    /* the key first: a sender we do not know gets nothing, not even an error */
    if (!s_authenticate(self, p, zmq_msg_gets(&body, "User-Id")))
        p->id_len = 0;
    else if (p->req && !s_allowed(self, p, p->req->command))
        s_forbid(self, p, p->req->command);
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return 1;
}

/* ------------------------------------------------------------------ workers */

typedef struct {
    const svc_def_t *def;
    char jobs_ep[128];
    char done_ep[128];
    const char *name;
} s_worker_args_t;

/* A worker: runs `prepare` of slow commands, sends the prepared request back,
 * or answers a refusal through the loop (which owns the ROUTER). */
static void s_worker(zsock_t *pipe, void *args)
{
    s_worker_args_t *wa = args;
    zsock_t *jobs = zsock_new(ZMQ_PULL);
    zsock_t *done = zsock_new(ZMQ_PUSH);
    if (jobs && done && (zsock_connect(jobs, "%s", wa->jobs_ep) != 0 ||
                         zsock_connect(done, "%s", wa->done_ep) != 0))
        zsock_destroy(&jobs);
    svc_out_t *out = svc_out_new();
    zsock_signal(pipe, jobs && done && out ? 0 : -1);
    zpoller_t *poller = zpoller_new(pipe, jobs, NULL);
    s_svc_t fake = {0};
    fake.def = wa->def;
    snprintf(fake.name, sizeof fake.name, "%s", wa->name);
    while (true) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (which != jobs)
            break;   /* $TERM or interrupted */
        zmsg_t *m = zmsg_recv(jobs);
        zframe_t *id = zmsg_pop(m);
        zframe_t *bf = zmsg_pop(m);
        zframe_t *lf = zmsg_pop(m);
        const char *lookup = lf && zframe_size(lf) > 0 ? (const char *) zframe_data(lf) : NULL;
        s_pending_t p = {0};
        p.req = bf ? tp__request__unpack(NULL, zframe_size(bf), zframe_data(bf)) : NULL;
        const svc_command_t *cmd = p.req ? s_find_command(&fake, p.req->command) : NULL;
        ProtobufCMessage *body = cmd ? protobuf_c_message_unpack(cmd->body, NULL,
                                                                 p.req->body.len,
                                                                 p.req->body.data)
                                     : NULL;
        zmsg_t *reply = zmsg_new();
        zmsg_append(reply, &id);
        svc_out_reset(out);
        if (!body)
            s_reply_errors(&p, NULL, "invalid", "body", "does not decode");
        else if (cmd->prepare(body, lookup, out) != 0)
            s_reply_errors(&p, out, "invalid", NULL, NULL);
        if (p.reply) {
            zmsg_addstr(reply, "R");   /* a refusal to send as it is */
            zmsg_addmem(reply, p.reply, p.reply_len);
        }
        else {
            /* put the prepared body back into the request */
            free(p.req->body.data);
            p.req->body.len = protobuf_c_message_get_packed_size(body);
            p.req->body.data = malloc(p.req->body.len ? p.req->body.len : 1);
            protobuf_c_message_pack(body, p.req->body.data);
            zframe_t *rf = zframe_new(NULL, tp__request__get_packed_size(p.req));
            tp__request__pack(p.req, zframe_data(rf));
            zmsg_addstr(reply, "P");
            zmsg_append(reply, &rf);
        }
        zmsg_send(&reply, done);
        if (body)
            protobuf_c_message_free_unpacked(body, NULL);
        s_pending_clear(&p);
        if (lf)
            sodium_memzero(zframe_data(lf), zframe_size(lf));
        zframe_destroy(&lf);
        zframe_destroy(&bf);
        zmsg_destroy(&m);
    }
    zpoller_destroy(&poller);
    svc_out_destroy(&out);
    zsock_destroy(&jobs);
    zsock_destroy(&done);
}

/* A message from a worker: [id]["R"|"P"][reply | prepared request]. */
static int s_take_done(s_svc_t *self, s_pending_t *p)
{
    zmsg_t *m = zmsg_recv(self->done);
    if (!m)
        return 0;
    memset(p, 0, sizeof *p);
    zframe_t *id = zmsg_pop(m);
    char *kind = zmsg_popstr(m);
    zframe_t *body = zmsg_pop(m);
    if (id && kind && body && zframe_size(id) <= S_ID_MAX) {
        p->id_len = zframe_size(id);
        memcpy(p->id, zframe_data(id), p->id_len);
        if (streq(kind, "R")) {
            p->reply_len = zframe_size(body);
            p->reply = malloc(p->reply_len);
            memcpy(p->reply, zframe_data(body), p->reply_len);
            /* it must still be sent; keep it out of decide with a dummy request */
            p->handed_off = false;
        }
        else {
            p->req = tp__request__unpack(&self->pending_arena->pb, zframe_size(body),
                                         zframe_data(body));
            p->in_arena = true;
            p->prepared = true;
        }
    }
    zframe_destroy(&id);
    zstr_free(&kind);
    zframe_destroy(&body);
    zmsg_destroy(&m);
    return 1;
}

/* ------------------------------------------------------------------ upstreams */

typedef struct {
    s_svc_t *self;
    const char *upstream;
    size_t index;             /* of its subscription */
} s_react_arg_t;

/* Whether react can act on events of @p type (svc_def_t.reacts_to). */
static bool s_reacts_to(const svc_def_t *def, const char *type, size_t len)
{
    if (!def->react)
        return false;
    if (!def->reacts_to)
        return true;
    for (size_t i = 0; def->reacts_to[i]; i++)
        if (strlen(def->reacts_to[i]) == len && memcmp(def->reacts_to[i], type, len) == 0)
            return true;
    return false;
}

/* Reacts to a run of upstream records: effects and the checkpoint in one commit. */
static int s_react_run(const evs_record_t *recs, size_t n, void *arg)
{
    s_react_arg_t *ra = arg;
    s_svc_t *self = ra->self;
    /* a run with nothing react can act on needs no commit now: its checkpoint waits for
     * the next one (see svc_def_t.reacts_to) */
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) {
        evs_view_t v;
        any = evs_view(recs[i].data, recs[i].len, &v) != 0 ||
              s_reacts_to(self->def, v.event_type, v.event_type_len);
    }
    if (!any) {
        self->ckpt_pending[ra->index] = recs[n - 1].seq;
        if (!self->ckpt_due)
            self->ckpt_due = zclock_mono() + SVC_CHECKPOINT_DELAY_MS;
        return 0;
    }
    s_drain(self);
    evs_batch_t *batch = NULL;
    int rc = evs_batch_begin(self->store, &batch);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n && self->def->react; i++) {
        char strbuf[2][EVS_MAX_ID + 1];
        svc_event_t ev;
        if (s_event_from_record(&recs[i], &ev, strbuf) != 0) {
            zsys_error("%s: upstream %s seq %" PRIu64 " does not decode; skipped", self->name,
                       ra->upstream, recs[i].seq);
            continue;
        }
        if (!s_reacts_to(self->def, ev.event_type, strlen(ev.event_type)))
            continue;
        svc_out_reset(self->out);
        self->def->react(self->state, ra->upstream, &ev, self->out);
        s_flush_logs(self, self->out);
        if (svc_out_failed(self->out)) {
            zsys_warning("%s: reaction to %s seq %" PRIu64 " (%s) refused: %s", self->name,
                         ra->upstream, ev.seq, ev.event_type,
                         self->out->n_errors ? self->out->errors[0].message : "?");
            continue;
        }
        if (self->out->n_events == 0)
            continue;
        char causation[EVS_MAX_ID + 32];
        snprintf(causation, sizeof causation, "%s#%" PRIu64, ra->upstream, ev.seq);
        uint64_t first = 0, last = 0;
        rc = s_append_out(self, batch, self->out, causation, causation, NULL, NULL, NULL, 0,
                          &first,
                          &last);
        if (rc == EVS_CONFLICT || rc == EVS_INVALID) {
            zsys_warning("%s: reaction to %s seq %" PRIu64 " not written: %s", self->name,
                         ra->upstream, ev.seq, evs_strerror(rc));
            continue;
        }
        if (rc != 0) {
            evs_batch_end(&batch);
            return rc;
        }
        s_apply_appended(self, batch, first, last);
        self->events_written += self->out->n_events;
    }
    rc = evs_batch_checkpoint(batch, ra->upstream, recs[n - 1].seq);
    if (rc != 0) {
        evs_batch_end(&batch);
        return rc;
    }
    self->ckpt_pending[ra->index] = 0;   /* the one just written is newer */
    s_commit_or_die(self, &batch);
    evs_batch_end(&batch);
    return 0;
}

/* Takes what upstream @p i has sent: a live run or a read reply (from @p which). */
static void s_follow(s_svc_t *self, size_t i, zsock_t *which)
{
    s_react_arg_t ra = {self, evs_sub_upstream(self->subs[i]), i};
    int rc = evs_sub_handle(self->subs[i], which, s_react_run, &ra);
    if (rc != 0) {
        zsys_error("%s: cannot commit reaction to %s: %s; stopping", self->name, ra.upstream,
                   evs_strerror(rc));
        exit(70);
    }
}

/* Live events of upstream @p i are waiting: taken at once, or (react_delay_ms) after the
 * delay, their socket unpolled meanwhile so that more gather behind them. */
static void s_live_waiting(s_svc_t *self, size_t i)
{
    if (self->react_delay_ms <= 0) {
        s_follow(self, i, evs_sub_live_sock(self->subs[i]));
        return;
    }
    zpoller_remove(self->poller, evs_sub_live_sock(self->subs[i]));
    self->live_due[i] = zclock_mono() + self->react_delay_ms;
}

/* Takes the live events whose delay is over (all of them when @p all). */
static void s_live_due(s_svc_t *self, bool all)
{
    int64_t now = zclock_mono();
    for (size_t i = 0; i < self->n_subs; i++)
        if (self->live_due[i] && (all || now >= self->live_due[i])) {
            self->live_due[i] = 0;
            zpoller_add(self->poller, evs_sub_live_sock(self->subs[i]));
            s_follow(self, i, evs_sub_live_sock(self->subs[i]));
        }
}

/* ------------------------------------------------------------------ timers */

/* Appends and commits what a timer or a mail confirmation produced. */
static void s_commit_out(s_svc_t *self, const char *what)
{
    s_flush_logs(self, self->out);
    if (self->out->n_events == 0)
        return;
    if (svc_out_failed(self->out)) {
        zsys_warning("%s: %s refused: %s", self->name, what,
                     self->out->n_errors ? self->out->errors[0].message : "?");
        return;
    }
    s_drain(self);
    evs_batch_t *batch = NULL;
    uint64_t first = 0, last = 0;
    int rc = evs_batch_begin(self->store, &batch);
    if (rc == 0)
        rc = s_append_out(self, batch, self->out, what, what, NULL, NULL, NULL, 0, &first,
                          &last);
    if (rc == EVS_CONFLICT || rc == EVS_INVALID) {
        zsys_warning("%s: %s not written: %s", self->name, what, evs_strerror(rc));
        evs_batch_end(&batch);
        return;
    }
    if (rc != 0) {
        zsys_error("%s: %s write failed: %s; stopping", self->name, what, evs_strerror(rc));
        exit(70);
    }
    s_apply_appended(self, batch, first, last);
    self->events_written += self->out->n_events;
    s_commit_or_die(self, &batch);
    evs_batch_end(&batch);
}

static void s_tick(s_svc_t *self)
{
    if (!self->def->tick)
        return;
    svc_out_reset(self->out);
    self->def->tick(self->state, self->clock(self->clock_arg), self->out);
    s_commit_out(self, "tick");
}

/* ------------------------------------------------------------------ mail */

/* The mailer: one mail at a time, [id][to][subject][body] in, [id][error or ""] out. */
static void s_mailer(zsock_t *pipe, void *args)
{
    const svc_mail_cfg_t *cfg = args;
    zsock_signal(pipe, 0);
    while (true) {
        zmsg_t *m = zmsg_recv(pipe);
        if (!m)
            break;
        char *id = zmsg_popstr(m);
        if (!id || streq(id, "$TERM")) {
            zstr_free(&id);
            zmsg_destroy(&m);
            break;
        }
        svc_mail_t mail;
        memset(&mail, 0, sizeof mail);
        snprintf(mail.id, sizeof mail.id, "%s", id);
        char *to = zmsg_popstr(m), *subject = zmsg_popstr(m);
        mail.body = zmsg_popstr(m);
        snprintf(mail.to, sizeof mail.to, "%s", to ? to : "");
        snprintf(mail.subject, sizeof mail.subject, "%s", subject ? subject : "");
        char err[512] = "";
        svc_mail_send(cfg, &mail, err, sizeof err);
        zstr_sendm(pipe, id);
        zstr_send(pipe, err);
        zstr_free(&id);
        zstr_free(&to);
        zstr_free(&subject);
        zstr_free(&mail.body);
        zmsg_destroy(&m);
    }
}

/* Hands every pending mail that is not already on its way to the mailer. */
static void s_mail_poll(s_svc_t *self)
{
    /* mails follow committed events only */
    if (!self->mailer || self->inflight || self->open)
        return;
    svc_mail_t mails[16];
    size_t n = self->def->mails_pending(self->state, self->secret, mails, 16);
    int64_t now = zclock_mono();
    for (size_t i = 0; i < n; i++) {
        bool known = zhashx_lookup(self->mail_inflight, mails[i].id) != NULL;
        int64_t retry_at = known ? (int64_t) (intptr_t) zhashx_lookup(self->mail_inflight,
                                                                       mails[i].id)
                                 : 0;
        if (!known || (retry_at > 1 && now >= retry_at)) {
            zhashx_update(self->mail_inflight, mails[i].id, (void *) (intptr_t) 1);
            zmsg_t *m = zmsg_new();
            zmsg_addstr(m, mails[i].id);
            zmsg_addstr(m, mails[i].to);
            zmsg_addstr(m, mails[i].subject);
            zmsg_addstr(m, mails[i].body ? mails[i].body : "");
            zmsg_send(&m, self->mailer);
        }
        free(mails[i].body);
    }
}

/* The mailer's answer: record the mail as sent, or retry it later. */
static void s_mail_done(s_svc_t *self)
{
    char *id = zstr_recv(self->mailer);
    char *err = id ? zstr_recv(self->mailer) : NULL;
    if (id && err && !*err) {
        svc_out_reset(self->out);
        self->def->mail_sent(self->state, id, self->clock(self->clock_arg), self->out);
        s_commit_out(self, "mail");
        zhashx_delete(self->mail_inflight, id);
    }
    else if (id) {
        zsys_warning("%s: mail %s not sent: %s; retrying in 30 s", self->name, id,
                     err ? err : "?");
        zhashx_update(self->mail_inflight, id, (void *) (intptr_t) (zclock_mono() + 30000));
    }
    zstr_free(&id);
    zstr_free(&err);
}

/* ------------------------------------------------------------------ actor */

static void s_svc_destroy(s_svc_t *self)
{
    s_drain(self);
    zactor_destroy(&self->committer);
    zactor_destroy(&self->mailer);
    zhashx_destroy(&self->mail_inflight);
    for (size_t i = 0; i < self->n_workers; i++)
        zactor_destroy(&self->workers[i]);
    free(self->workers);
    for (size_t i = 0; i < self->n_subs; i++)
        evs_sub_destroy(&self->subs[i]);
    free(self->subs);
    free(self->ckpt_pending);
    free(self->live_due);
    free(self->pub_run);
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->pub);
    zsock_destroy(&self->router);
    /* the domains after their sockets: none of them can take a handshake any more */
    if (self->zap_router[0])
        evs_zap_remove(self->zap_router);
    if (self->zap_pub[0])
        evs_zap_remove(self->zap_pub);
    evs_keyring_destroy(&self->keyring);
    zcert_destroy(&self->cert);
    for (size_t i = 0; i < self->n_followers; i++)
        free(self->followers[i]);
    free(self->followers);
    zsock_destroy(&self->jobs);
    zsock_destroy(&self->done);
    if (self->state && self->def->state_destroy)
        self->def->state_destroy(&self->state);
    svc_out_destroy(&self->out);
    free(self->pending);
    free(self->inflight_pending);
    s_arena_destroy(&self->arenas[0]);
    s_arena_destroy(&self->arenas[1]);
    s_arena_destroy(&self->scratch);
    evs_destroy(&self->store);
    svc_lock_destroy(&self->lock);   /* last: the log is closed, the sockets too */
}

/* "a,b" (config @p key), else the NULL-terminated @p dflt, as a malloc'd array. */
static char **s_names(zconfig_t *config, const char *name, const char *key,
                      const char *const *dflt, size_t *n)
{
    const char *text = svc_config_get(config, name, key, NULL);
    size_t most = 1;
    for (const char *c = text; c && *c; c++)
        most += *c == ',' || *c == ' ';
    for (size_t i = 0; !text && dflt && dflt[i]; i++)
        most++;
    char **out = calloc(most, sizeof *out);
    *n = 0;
    if (!out)
        return NULL;
    if (text) {
        char *list = strdup(text);
        for (char *save = NULL, *w = list ? strtok_r(list, ", ", &save) : NULL; w;
             w = strtok_r(NULL, ", ", &save))
            out[(*n)++] = strdup(w);
        free(list);
    }
    else
        for (size_t i = 0; dflt && dflt[i]; i++)
            out[(*n)++] = strdup(dflt[i]);
    return out;
}

/* Our keys, and the ZAP domains of our two sockets, before anything is bound: a CURVE
 * server with no handler listening would admit anyone. */
static int s_start_keys(s_svc_t *self)
{
    const char *n = self->name;
    snprintf(self->keys_dir, sizeof self->keys_dir, "%s", svc_keys_dir(self->config));
    self->keyring = evs_keyring_new(self->keys_dir);
    if (!self->keyring) {
        zsys_error("%s: cannot read the keys folder %s: %s (tpctl keys init creates it)", n,
                   self->keys_dir, strerror(errno));
        return -1;
    }
    self->cert = evs_keys_load_secret(self->keys_dir, n);
    if (!self->cert)
        return -1;
    self->followers = s_names(self->config, n, "followers", self->def->followers,
                              &self->n_followers);
    snprintf(self->zap_router, sizeof self->zap_router, "%s.router", n);
    if (evs_zap_add(self->zap_router, self->keyring, s_zap_router, self) != 0) {
        self->zap_router[0] = '\0';
        return -1;
    }
    snprintf(self->zap_pub, sizeof self->zap_pub, "%s.pub", n);
    if (evs_zap_add(self->zap_pub, self->keyring, s_zap_pub, self) != 0) {
        self->zap_pub[0] = '\0';
        return -1;
    }
    return 0;
}

static int s_svc_start(s_svc_t *self, svc_args_t *args, s_worker_args_t *wargs)
{
    self->def = args->def;
    self->config = args->config;
    snprintf(self->name, sizeof self->name, "%s", args->name ? args->name : args->def->name);
    self->clock = args->clock ? args->clock : s_real_clock;
    self->clock_arg = args->clock_arg;
    const char *n = self->name;
    /* in ms, fractions allowed (0.001: every commit, as a test does) */
    double slow_ms = atof(svc_config_get(self->config, n, "slow_commit_ms", "250"));
    self->slow_commit_us = slow_ms > 0 && slow_ms < 1e9 ? (int64_t) (slow_ms * 1000) : 0;
    self->batch_max = (size_t) atoi(svc_config_get(self->config, n, "batch_max", "1024"));
    if (self->batch_max < 1)
        self->batch_max = 1;
    char delay[24];
    snprintf(delay, sizeof delay, "%d", self->def->react_delay_ms);
    self->react_delay_ms = atoll(svc_config_get(self->config, n, "react_delay_ms", delay));
    self->pipeline = atoi(svc_config_get(self->config, n, "pipeline", "1")) != 0;
    self->tick_ms = atoll(svc_config_get(self->config, n, "tick_ms", "1000"));
    if (self->tick_ms < 1)
        self->tick_ms = 1000;
    self->pending = calloc(self->batch_max, sizeof *self->pending);
    self->inflight_pending = calloc(self->batch_max, sizeof *self->inflight_pending);
    s_arena_init(&self->arenas[0]);
    s_arena_init(&self->arenas[1]);
    s_arena_init(&self->scratch);
    self->pending_arena = &self->arenas[0];
    self->inflight_arena = &self->arenas[1];
    self->out = svc_out_new();
    self->committer = zactor_new(s_committer, NULL);
    if (!self->pending || !self->inflight_pending || !self->out || !self->committer)
        return -1;

    /* one process per log, decided before the log is opened and any socket bound */
    self->lock = svc_lock_new(self->config, n);
    if (!self->lock)
        return -1;
    char dir[512];
    svc_data_dir(self->config, n, dir, sizeof dir);
    evs_opts_t opts = {0};
    opts.service = self->def->name;
    if (streq(svc_config_get(self->config, n, "nosync", "0"), "1"))
        opts.flags |= EVS_NOSYNC;
    int rc = evs_open(dir, &opts, &self->store);
    if (rc != 0) {
        zsys_error("%s: cannot open the log in %s: %s", n, dir, evs_strerror(rc));
        return -1;
    }
    if (s_load_secret(dir, self->secret) != 0)
        return -1;
    self->random_used = sizeof self->random;   /* empty: the first command refills it */
    self->state = self->def->state_new();
    if (self->def->configure)
        self->def->configure(self->state, self->config, n);
    uint64_t applied = 0;
    int64_t t0 = zclock_usecs();
    rc = svc_rebuild(self->def, self->state, self->store, UINT64_MAX, INT64_MAX, &applied, NULL,
                     NULL);
    if (rc != 0) {
        zsys_error("%s: rebuild from %s failed: %s", n, dir, evs_strerror(rc));
        return -1;
    }
    zsys_info("%s: rebuilt from %" PRIu64 " events in %.1f ms", n, applied,
              (double) (zclock_usecs() - t0) / 1000.0);

    if (s_start_keys(self) != 0)
        return -1;
    char ep[512];
    svc_endpoint(self->config, n, "pub", ep, sizeof ep);
    self->pub = zsock_new(ZMQ_PUB);
    if (!self->pub)
        return -1;
    zsock_set_sndhwm(self->pub, atoi(svc_config_get(self->config, n, "pub_hwm", "100000")));
    evs_keys_server(self->pub, self->cert, self->zap_pub);
    if (zsock_bind(self->pub, "%s", ep) < 0) {
        zsys_error("%s: cannot bind PUB %s: %s", n, ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    svc_endpoint(self->config, n, "router", ep, sizeof ep);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router)
        return -1;
    zsock_set_rcvhwm(self->router, 0);
    zsock_set_sndhwm(self->router, 0);
    zsock_set_maxmsgsize(self->router, S_MSG_MAX);
    evs_keys_server(self->router, self->cert, self->zap_router);
    if (zsock_bind(self->router, "%s", ep) < 0) {
        zsys_error("%s: cannot bind ROUTER %s: %s", n, ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    /* the producers' endpoint (tcp, say, for lines on other hosts): the same socket,
     * the same keys and rights */
    const char *pep = svc_config_get(self->config, n, "producer", NULL);
    if (pep && zsock_bind(self->router, "%s", pep) < 0) {
        zsys_error("%s: cannot bind the producers' endpoint %s: %s", n, pep,
                   zmq_strerror(zmq_errno()));
        return -1;
    }

    /* worker pool, over inproc sockets private to this actor */
    /* a new name for every actor: a restarted actor may get the same address while
     * ZeroMQ still holds the old inproc names */
    static int s_actor_count = 0;
    int instance = __atomic_add_fetch(&s_actor_count, 1, __ATOMIC_RELAXED);
    snprintf(wargs->jobs_ep, sizeof wargs->jobs_ep, "inproc://svc-%s-%d-jobs", n, instance);
    snprintf(wargs->done_ep, sizeof wargs->done_ep, "inproc://svc-%s-%d-done", n, instance);
    wargs->def = self->def;
    wargs->name = self->name;
    self->jobs = zsock_new(ZMQ_PUSH);
    self->done = zsock_new(ZMQ_PULL);
    if (!self->jobs || !self->done || zsock_bind(self->jobs, "%s", wargs->jobs_ep) < 0 ||
        zsock_bind(self->done, "%s", wargs->done_ep) < 0) {
        zsys_error("%s: cannot bind the worker pool's sockets: %s", n, zmq_strerror(zmq_errno()));
        return -1;
    }
    bool any_prepare = false;
    for (size_t i = 0; i < self->def->n_commands; i++)
        any_prepare |= self->def->commands[i].prepare != NULL;
    self->n_workers =
        any_prepare ? (size_t) atoi(svc_config_get(self->config, n, "workers", "2")) : 0;
    if (self->n_workers) {
        self->workers = calloc(self->n_workers, sizeof *self->workers);
        for (size_t i = 0; self->workers && i < self->n_workers; i++)
            self->workers[i] = zactor_new(s_worker, wargs);
    }

    /* upstreams: from config ("a,b") or the core's table */
    const char *ups = svc_config_get(self->config, n, "upstreams", NULL);
    char *list = NULL;
    if (ups)
        list = strdup(ups);
    else if (self->def->upstreams) {
        size_t need = 1;
        for (size_t i = 0; self->def->upstreams[i]; i++)
            need += strlen(self->def->upstreams[i]) + 1;
        list = calloc(1, need);
        for (size_t i = 0; list && self->def->upstreams[i]; i++) {
            if (i)
                strcat(list, ",");
            strcat(list, self->def->upstreams[i]);
        }
    }
    self->poller = zpoller_new(self->pipe, self->router, self->done, self->committer, NULL);
    int sub_hwm = atoi(svc_config_get(self->config, n, "sub_hwm", "100000"));
    /* at most one upstream more than the list has separators */
    size_t most = 1;
    for (const char *c = list; c && *c; c++)
        most += *c == ',' || *c == ' ';
    self->subs = calloc(most, sizeof *self->subs);
    self->ckpt_pending = calloc(most, sizeof *self->ckpt_pending);
    self->live_due = calloc(most, sizeof *self->live_due);
    if (!self->subs || !self->ckpt_pending || !self->live_due) {
        free(list);
        return -1;
    }
    for (char *save = NULL, *up = list ? strtok_r(list, ", ", &save) : NULL; up;
         up = strtok_r(NULL, ", ", &save)) {
        uint64_t cp = 0;
        evs_checkpoint(self->store, up, &cp);
        char pub_ep[512], router_ep[512];
        svc_endpoint(self->config, up, "pub", pub_ep, sizeof pub_ep);
        svc_endpoint(self->config, up, "router", router_ep, sizeof router_ep);
        evs_sub_opts_t so = {.rcvhwm = sub_hwm, .keys_dir = self->keys_dir, .me = n};
        evs_sub_t *sub = evs_sub_new(up, pub_ep, router_ep, cp, &so);
        if (!sub) {
            zsys_error("%s: cannot subscribe to %s (%s)", n, up, pub_ep);
            free(list);
            return -1;
        }
        self->subs[self->n_subs++] = sub;
        zpoller_add(self->poller, evs_sub_live_sock(sub));
        zpoller_add(self->poller, evs_sub_read_sock(sub));
        zsys_info("%s: following %s from seq %" PRIu64, n, up, cp + 1);
    }
    free(list);
    if (self->def->mails_pending && self->def->mail_sent) {
        zconfig_t *c = self->config;
        self->mail_cfg.smtp_url = svc_config_get(c, n, "smtp_url", NULL);
        self->mail_cfg.user = svc_config_get(c, n, "smtp_user", NULL);
        self->mail_cfg.password = svc_config_get(c, n, "smtp_password", NULL);
        self->mail_cfg.tls = svc_config_get(c, n, "smtp_tls", "require");
        self->mail_cfg.from = svc_config_get(c, n, "mail_from", "portal@localhost");
        const char *outbox = svc_config_get(c, n, "outbox", NULL);
        if (outbox)
            snprintf(self->outbox, sizeof self->outbox, "%s", outbox);
        else
            snprintf(self->outbox, sizeof self->outbox, "%s/outbox",
                     c ? zconfig_get(c, "data", "data") : "data");
        self->mail_cfg.outbox = self->outbox;
        self->mail_inflight = zhashx_new();
        self->mailer = zactor_new(s_mailer, &self->mail_cfg);
        if (!self->mailer || !self->mail_inflight)
            return -1;
        zpoller_add(self->poller, self->mailer);
        zsys_info("%s: mail goes to %s", n,
                  self->mail_cfg.smtp_url ? self->mail_cfg.smtp_url : self->outbox);
    }
    self->next_tick = zclock_mono() + self->tick_ms;
    self->next_heartbeat = zclock_mono();
    return 0;
}

void svc_actor(zsock_t *pipe, void *args_)
{
    svc_args_t *args = args_;
    s_svc_t self_ = {0}, *self = &self_;
    s_worker_args_t wargs;
    memset(&wargs, 0, sizeof wargs);
    self->pipe = pipe;
    zsock_signal(pipe, 0);   /* zactor_new's handshake; the outcome follows as a string */
    if (s_svc_start(self, args, &wargs) != 0) {
        zstr_send(pipe, "ERROR");
        s_svc_destroy(self);
        /* stay until told to go, so the owner's zactor_destroy finds us */
        char *cmd = zstr_recv(pipe);
        zstr_free(&cmd);
        return;
    }
    zsys_info("%s: serving", self->name);
    zstr_send(pipe, "READY");
    while (true) {
        int64_t now = zclock_mono();
        if (now >= self->next_heartbeat) {
            uint64_t head = 0;
            uint8_t hash[EVS_HASH_SIZE];
            evs_head(self->store, &head, hash);
            evs_bus_heartbeat(self->pub, self->name, head, hash);
            evs_keyring_refresh(self->keyring);   /* keys added or revoked meanwhile */
            for (size_t i = 0; i < self->n_subs; i++)
                evs_sub_upkeep(self->subs[i]);
            self->next_heartbeat = now + 1000;
        }
        if (now >= self->next_tick) {
            s_tick(self);
            s_mail_poll(self);   /* also retries mails that failed */
            self->next_tick = now + self->tick_ms;
        }
        s_live_due(self, false);
        if (self->ckpt_due && now >= self->ckpt_due)
            s_commit_checkpoints(self);
        int64_t wait = self->next_tick < self->next_heartbeat ? self->next_tick
                                                              : self->next_heartbeat;
        if (self->ckpt_due && self->ckpt_due < wait)
            wait = self->ckpt_due;
        for (size_t i = 0; i < self->n_subs; i++)
            if (self->live_due[i] && self->live_due[i] < wait)
                wait = self->live_due[i];
        wait -= zclock_mono();
        zsock_t *which = zpoller_wait(self->poller, wait > 0 ? (int) wait : 0);
        if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            bool term = !cmd || streq(cmd, "$TERM");
            zstr_free(&cmd);
            if (term)
                break;
            continue;
        }
        if (!which && zpoller_terminated(self->poller))
            break;
        if (which == self->router || which == self->done) {
            /* answers from the state see exactly what was committed before them, and a
             * full group waits for the one in flight */
            if (self->inflight && (self->inflight_barrier || self->open_n >= self->batch_max)) {
                s_complete(self, true);
                s_submit(self);
            }
            /* everything already waiting, up to batch_max in the group */
            size_t from = self->open_n, n = from;
            while (n < self->batch_max && s_take(self, self->router, &self->pending[n]))
                n += self->pending[n].id_len > 0;   /* an unknown key's: taken, dropped */
            while (n < self->batch_max) {
                zmq_pollitem_t item = {zsock_resolve(self->done), 0, ZMQ_POLLIN, 0};
                if (zmq_poll(&item, 1, 0) <= 0 || !s_take_done(self, &self->pending[n]))
                    break;
                n++;
            }
            if (n > from)
                s_decide(self, from, n);
            if (!self->inflight)
                s_submit(self);
            s_mail_poll(self);
            continue;
        }
        if (which == (zsock_t *) self->committer) {
            s_complete(self, true);
            s_submit(self);
            s_mail_poll(self);
            continue;
        }
        if (self->mailer && which == (zsock_t *) self->mailer) {
            s_mail_done(self);
            continue;
        }
        for (size_t i = 0; which && i < self->n_subs; i++) {
            evs_sub_t *sub = self->subs[i];
            if (which == evs_sub_live_sock(sub))
                s_live_waiting(self, i);
            else if (which == evs_sub_read_sock(sub))
                s_follow(self, i, which);
            else
                continue;
            s_mail_poll(self);
        }
    }
    s_live_due(self, true);   /* a clean stop leaves nothing waiting */
    s_drain(self);
    s_commit_checkpoints(self);
    zsys_info("%s: stopping after %" PRIu64 " commits, %" PRIu64 " events written, %" PRIu64
              " requests; ms deciding %" PRId64 ", committing %" PRId64 ", answering %" PRId64,
              self->name, self->commits, self->events_written, self->requests,
              self->us_decide / 1000, self->us_commit / 1000, self->us_answer / 1000);
    for (size_t i = 0; i < self->n_subs; i++) {
        evs_sub_stats_t ss;
        evs_sub_stats(self->subs[i], &ss);
        zsys_info("%s: followed %s to seq %" PRIu64 ": live=%" PRIu64 " read=%" PRIu64
                  " gaps=%" PRIu64 " reads=%" PRIu64 " dropped_old=%" PRIu64,
                  self->name, evs_sub_upstream(self->subs[i]),
                  evs_sub_checkpoint(self->subs[i]), ss.live_delivered, ss.read_delivered,
                  ss.gaps, ss.reads, ss.dropped_old);
    }
    s_svc_destroy(self);
}

int svc_main(int argc, char **argv, const svc_def_t *def)
{
    const char *config_file = NULL;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if ((streq(argv[i], "-c") || streq(argv[i], "--config")) && i + 1 < argc)
            config_file = argv[++i];
        else if ((streq(argv[i], "-n") || streq(argv[i], "--name")) && i + 1 < argc)
            name = argv[++i];
        else if (streq(argv[i], "-v"))
            zsys_set_logstream(stderr);
        else {
            fprintf(stderr, "usage: %s [-c CONFIG] [-n NAME] [-v]\n", argv[0]);
            return 2;
        }
    }
    /* a group's memory (requests, batch, replies) is freed as one and taken again a few
     * milliseconds later: keep it in the heap instead of giving it back to the kernel
     * and faulting it in anew each time */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    zsys_init();
    zsys_set_logident(name ? name : def->name);
    zsys_set_logstream(stderr);
    if (config_file && svc_settings_check_service(config_file, name ? name : def->name,
                                                  def->settings) != 0)
        return 1;
    zconfig_t *config = NULL;
    if (config_file) {
        config = zconfig_load(config_file);
        if (!config) {
            zsys_error("cannot read config %s: %s", config_file, strerror(errno));
            return 1;
        }
    }
    else
        config = zconfig_new("root", NULL);
    svc_args_t args = {def, config, name, NULL, NULL};
    zactor_t *actor = zactor_new(svc_actor, &args);
    if (!actor) {
        zconfig_destroy(&config);
        return 1;
    }
    char *status = zstr_recv(actor);
    int rc = status && streq(status, "READY") ? 0 : 1;
    zstr_free(&status);
    while (rc == 0 && !zsys_interrupted) {
        char *msg = zstr_recv(actor);   /* returns NULL on SIGINT/SIGTERM */
        if (!msg)
            break;
        zstr_free(&msg);
    }
    zactor_destroy(&actor);
    zconfig_destroy(&config);
    return rc;
}
