/* gw_events.c: the hub of live updates (gw_events.h). */
#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "evs_bus.h"
#include "evs_witness.h"
#include "gw_events.h"
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "tp_types.h"

#define S_UPSTREAMS 2                 /* order, production */
#define S_STREAM_MAX (1 << 20)        /* bytes a stream may hold unread before it ends */
#define S_POLL_MS 50                  /* the hub looks at new streams this often */
#define S_ID_MAX 160                  /* an account or order id */
#define S_GRACE_MS 5000               /* streams wait this long at most for the hub to catch up */
#define S_MAX_AGE_MS (10 * 60 * 1000) /* a stream ends after this (its session checked anew) */

static const char *const s_names[S_UPSTREAMS] = {"order", "production"};
static const gw_svc_t s_svcs[S_UPSTREAMS] = {GW_SVC_ORDER, GW_SVC_PRODUCTION};

/* A cursor: the hub's position in each upstream. */
typedef struct {
    uint64_t seq[S_UPSTREAMS];
} s_cursor_t;

struct gw_stream {
    gw_events_t *hub;
    char account[S_ID_MAX];
    pthread_mutex_t lock;            /* buf, len, waiting, ended */
    char *buf;                       /* buf[off, len) is not read yet */
    size_t off, len, cap;
    int64_t opened;                  /* zclock_mono() when it went live (0: pending) */
    bool waiting;                    /* the reader is suspended */
    bool ended;                      /* no more: read returns -1 once buf is empty */
    gw_stream_wake_fn *wake;
    void *wake_arg;
    bool live;                       /* the hub has put it into its account's list */
    bool resume;                     /* replay the history after `from` first */
    s_cursor_t from;
    struct gw_stream *next;          /* in its account's list, or the pending list */
};

/* One message kept for resuming. */
typedef struct {
    char account[S_ID_MAX];
    int up;                          /* which upstream it came from */
    uint64_t seq;
    char *text;                      /* the whole SSE message */
} s_entry_t;

struct gw_events {
    const gw_config_t *config;
    zactor_t *actor;
    pthread_mutex_t lock;            /* accounts, pending, counts, stats */
    zhashx_t *accounts;              /* account -> first gw_stream_t (its list) */
    gw_stream_t *pending;            /* opened, not yet live */
    size_t n_streams;
    bool closing;                    /* gw_events_stop: no stream opens any more */
    gw_events_stats_t stats;
    /* the hub thread's own (no lock): */
    evs_sub_t *subs[S_UPSTREAMS];
    zhashx_t *owners;                /* order id -> account id (strdup'ed) */
    s_cursor_t at;                   /* the hub's position */
    bool ready[S_UPSTREAMS];         /* it has caught up with that upstream once: its
                                        events go to streams from then on (before, they
                                        are the past: into the history only) */
    s_entry_t *history;              /* ring */
    size_t hist_cap, hist_n, hist_head;   /* head: the oldest */
    s_cursor_t evicted;              /* highest seq of each upstream dropped from it */
};

/* ------------------------------------------------------------------ streams */

/* Appends @p text to @p s and wakes its reader; ends a stream that holds too much. Called
 * by the hub. */
static void s_put(gw_stream_t *s, const char *text, size_t len)
{
    pthread_mutex_lock(&s->lock);
    if (!s->ended) {
        if (s->off) {   /* what was read goes (once per write, not per read) */
            memmove(s->buf, s->buf + s->off, s->len - s->off);
            s->len -= s->off;
            s->off = 0;
        }
        if (s->len + len > S_STREAM_MAX)
            s->ended = true;   /* the reader fell behind: it reconnects and resumes */
        else {
            if (s->len + len > s->cap) {
                size_t cap = s->cap ? s->cap : 1024;
                while (cap < s->len + len)
                    cap *= 2;
                char *more = realloc(s->buf, cap);
                if (!more)
                    s->ended = true;
                else {
                    s->buf = more;
                    s->cap = cap;
                }
            }
            if (!s->ended) {
                memcpy(s->buf + s->len, text, len);
                s->len += len;
            }
        }
    }
    if (s->waiting) {
        s->waiting = false;
        s->wake(s->wake_arg);
    }
    pthread_mutex_unlock(&s->lock);
}

ssize_t gw_stream_read(gw_stream_t *s, char *buf, size_t max, gw_stream_suspend_fn *suspend,
                       void *arg)
{
    ssize_t n = 0;
    pthread_mutex_lock(&s->lock);
    if (s->len > s->off) {
        size_t left = s->len - s->off;
        n = (ssize_t) (left < max ? left : max);
        memcpy(buf, s->buf + s->off, (size_t) n);
        s->off += (size_t) n;
        if (s->off == s->len)
            s->off = s->len = 0;
    }
    else if (s->ended)
        n = -1;
    else {
        s->waiting = true;
        suspend(arg);
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Removes @p s from the list starting at *head. */
static void s_unlink(gw_stream_t **head, gw_stream_t *s)
{
    for (gw_stream_t **p = head; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

void gw_stream_close(gw_stream_t *s)
{
    if (!s)
        return;
    gw_events_t *hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    if (s->live) {
        gw_stream_t *head = zhashx_lookup(hub->accounts, s->account);
        s_unlink(&head, s);
        if (head)
            zhashx_update(hub->accounts, s->account, head);
        else
            zhashx_delete(hub->accounts, s->account);
    }
    else
        s_unlink(&hub->pending, s);
    hub->n_streams--;
    hub->stats.streams = hub->n_streams;
    pthread_mutex_unlock(&hub->lock);
    pthread_mutex_destroy(&s->lock);
    free(s->buf);
    free(s);
}

/* ------------------------------------------------------------------ cursor and history */

static void s_cursor_text(const s_cursor_t *c, char *out, size_t outsz)
{
    snprintf(out, outsz, "%" PRIu64 ".%" PRIu64, c->seq[0], c->seq[1]);
}

/* A stream's cursor now: where the hub is, or further when it resumed from further. */
static void s_stream_cursor(const gw_events_t *self, const gw_stream_t *s, char *out,
                            size_t outsz)
{
    s_cursor_t c = self->at;
    for (int u = 0; u < S_UPSTREAMS; u++)
        if (s->from.seq[u] > c.seq[u])
            c.seq[u] = s->from.seq[u];
    s_cursor_text(&c, out, outsz);
}

/* A Last-Event-ID: "<order seq>.<production seq>". */
static bool s_cursor_parse(const char *text, s_cursor_t *c)
{
    unsigned long long a, b;
    char tail;
    if (!text || sscanf(text, "%llu.%llu%c", &a, &b, &tail) != 2)
        return false;
    c->seq[0] = a;
    c->seq[1] = b;
    return true;
}

static void s_history_add(gw_events_t *self, const char *account, int up, uint64_t seq,
                          const char *text)
{
    if (!self->hist_cap)
        return;
    s_entry_t *e;
    if (self->hist_n == self->hist_cap) {
        e = &self->history[self->hist_head];
        if (e->seq > self->evicted.seq[e->up])
            self->evicted.seq[e->up] = e->seq;
        free(e->text);
        self->hist_head = (self->hist_head + 1) % self->hist_cap;
        self->hist_n--;
    }
    e = &self->history[(self->hist_head + self->hist_n) % self->hist_cap];
    snprintf(e->account, sizeof e->account, "%s", account);
    e->up = up;
    e->seq = seq;
    e->text = strdup(text);
    if (!e->text) {   /* not kept: a resume from before it gets a reset, as after eviction */
        if (seq > self->evicted.seq[up])
            self->evicted.seq[up] = seq;
        return;
    }
    self->hist_n++;
}

/* Puts into @p s what its account had after its cursor, or a reset when the history
 * does not reach back to it. */
static void s_replay(gw_events_t *self, gw_stream_t *s)
{
    char id[64], msg[160];
    for (int u = 0; u < S_UPSTREAMS; u++)
        if (s->from.seq[u] < self->evicted.seq[u] ||
            (!self->hist_cap && s->from.seq[u] < self->at.seq[u])) {
            s_cursor_text(&self->at, id, sizeof id);
            int n = snprintf(msg, sizeof msg, "id: %s\nevent: reset\ndata: {}\n\n", id);
            s_put(s, msg, (size_t) n);
            return;
        }
    for (size_t i = 0; i < self->hist_n; i++) {
        s_entry_t *e = &self->history[(self->hist_head + i) % self->hist_cap];
        if (e->seq > s->from.seq[e->up] && strcmp(e->account, s->account) == 0)
            s_put(s, e->text, strlen(e->text));
    }
}

/* ------------------------------------------------------------------ events */

/* The string field @p name of @p msg, or NULL. */
static const char *s_field(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *v = *(const char *const *) ((const char *) msg + f->offset);
    return v && *v ? v : NULL;
}

/* Adds one JSON string member ("name":"value") to @p out, escaping what JSON needs. */
static size_t s_json_member(char *out, size_t outsz, size_t at, const char *name,
                            const char *value)
{
    if (!value || at >= outsz)
        return at;
    at += (size_t) snprintf(out + at, outsz - at, ",\"%s\":\"", name);
    for (const char *c = value; *c && at + 8 < outsz; c++) {
        if (*c == '"' || *c == '\\')
            out[at++] = '\\';
        if ((unsigned char) *c < 0x20)
            continue;
        out[at++] = *c;
    }
    if (at + 2 < outsz)
        out[at++] = '"';
    out[at] = '\0';
    return at;
}

/* Sends @p text, upstream @p up's event @p seq, to every live stream of @p account that
 * has not had it (a stream that resumed before the hub had read that far gets each event
 * once). Called with the lock held. */
static void s_fan_out(gw_events_t *self, const char *account, int up, uint64_t seq,
                      const char *text)
{
    size_t len = strlen(text);
    for (gw_stream_t *s = zhashx_lookup(self->accounts, account); s; s = s->next)
        if (seq > s->from.seq[up]) {
            s_put(s, text, len);
            self->stats.sent++;
        }
}

/* One upstream event: whose it is, its message, the history and the streams. */
static void s_event(gw_events_t *self, int up, const evs_record_t *rec)
{
    evs_view_t v;
    char type[EVS_MAX_ID + 1];
    self->at.seq[up] = rec->seq;
    if (evs_view(rec->data, rec->len, &v) != 0 || evs_witness_is(&v) ||
        v.event_type_len > EVS_MAX_ID)
        return;
    memcpy(type, v.event_type, v.event_type_len);
    type[v.event_type_len] = '\0';
    const ProtobufCMessageDescriptor *d = tp_types_find(s_names[up], type);
    ProtobufCMessage *m = d ? protobuf_c_message_unpack(d, NULL, v.payload_len, v.payload) : NULL;
    if (!m)
        return;
    const char *order = s_field(m, "order_id"), *product = s_field(m, "product_id");
    const char *account = s_field(m, "account_id");
    if (!order && product && strncmp(product, "prd-", 4) == 0)
        order = product + 4;
    if (order && account && !zhashx_lookup(self->owners, order))
        zhashx_insert(self->owners, order, strdup(account));
    const char *owner = order ? zhashx_lookup(self->owners, order) : NULL;
    if (owner) {
        char id[64], data[700], msg[900];
        s_cursor_text(&self->at, id, sizeof id);
        size_t at = (size_t) snprintf(data, sizeof data,
                                      "{\"service\":\"%s\",\"seq\":%" PRIu64 ",\"at\":%" PRId64,
                                      s_names[up], rec->seq, v.recorded_at_us);
        at = s_json_member(data, sizeof data, at, "type", type);
        at = s_json_member(data, sizeof data, at, "orderId", order);
        at = s_json_member(data, sizeof data, at, "productId", product);
        snprintf(data + at, sizeof data - at, "}");
        snprintf(msg, sizeof msg, "id: %s\nevent: %s\ndata: %s\n\n", id,
                 up == 0 ? "order" : "product", data);
        pthread_mutex_lock(&self->lock);
        s_history_add(self, owner, up, rec->seq, msg);
        if (self->ready[up])
            s_fan_out(self, owner, up, rec->seq, msg);
        pthread_mutex_unlock(&self->lock);
    }
    pthread_mutex_lock(&self->lock);
    self->stats.events++;
    pthread_mutex_unlock(&self->lock);
    protobuf_c_message_free_unpacked(m, NULL);
}

typedef struct {
    gw_events_t *self;
    int up;
} s_run_arg_t;

static int s_run(const evs_record_t *recs, size_t n, void *arg)
{
    s_run_arg_t *ra = arg;
    for (size_t i = 0; i < n; i++)
        s_event(ra->self, ra->up, &recs[i]);
    return 0;
}

/* Streams opened meanwhile go live (when @p caught_up: the hub has caught up, or the
 * grace is over): first what they missed. */
static void s_take_pending(gw_events_t *self, bool caught_up)
{
    pthread_mutex_lock(&self->lock);
    while (caught_up && self->pending) {
        gw_stream_t *s = self->pending;
        self->pending = s->next;
        if (s->resume)
            s_replay(self, s);
        else
            s->from = self->at;
        /* from here on, what the hub reads is new to it (in s_fan_out) */
        for (int u = 0; u < S_UPSTREAMS; u++)
            if (s->from.seq[u] < self->at.seq[u])
                s->from.seq[u] = self->at.seq[u];
        /* an id at once: a quiet stream that reconnects resumes from here, not "now" */
        char id[64], msg[160];
        s_stream_cursor(self, s, id, sizeof id);
        int n = snprintf(msg, sizeof msg, "id: %s\nretry: 3000\n: live from %s\n\n", id, id);
        s_put(s, msg, (size_t) n);
        s->opened = zclock_mono();
        s->next = zhashx_lookup(self->accounts, s->account);
        zhashx_update(self->accounts, s->account, s);
        s->live = true;
    }
    pthread_mutex_unlock(&self->lock);
}

/* Ends @p s (its reader gets what it holds, then the end). */
void gw_stream_end(gw_stream_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->ended = true;
    if (s->waiting) {
        s->waiting = false;
        s->wake(s->wake_arg);
    }
    pthread_mutex_unlock(&s->lock);
}

/* A keep-alive into every stream (with its cursor as id, so that a quiet stream resumes
 * from there); a stream older than S_MAX_AGE_MS is ended instead: the browser reconnects
 * with its Last-Event-ID, and its session is checked again. Called with the lock held. */
static void s_keepalive(gw_events_t *self, int64_t now)
{
    char id[64], msg[96];
    for (gw_stream_t *head = zhashx_first(self->accounts); head;
         head = zhashx_next(self->accounts))
        for (gw_stream_t *s = head; s; s = s->next) {
            if (now - s->opened > S_MAX_AGE_MS) {
                gw_stream_end(s);
                continue;
            }
            s_stream_cursor(self, s, id, sizeof id);
            int n = snprintf(msg, sizeof msg, "id: %s\n: keep-alive\n\n", id);
            s_put(s, msg, (size_t) n);
        }
}

/* Upstream @p up caught up for the first time: its events go to the streams from now on.
 * Streams that went live before (the grace after start) may lack what it held: they are
 * told to reload. */
static void s_ready(gw_events_t *self, int up)
{
    char id[64], msg[128];
    pthread_mutex_lock(&self->lock);
    self->ready[up] = true;
    for (gw_stream_t *head = zhashx_first(self->accounts); head;
         head = zhashx_next(self->accounts))
        for (gw_stream_t *s = head; s; s = s->next) {
            if (s->from.seq[up] < self->at.seq[up])
                s->from.seq[up] = self->at.seq[up];
            s_stream_cursor(self, s, id, sizeof id);
            int n = snprintf(msg, sizeof msg, "id: %s\nevent: reset\ndata: {}\n\n", id);
            s_put(s, msg, (size_t) n);
        }
    pthread_mutex_unlock(&self->lock);
}

static void s_hub(zsock_t *pipe, void *args)
{
    gw_events_t *self = args;
    const gw_config_t *c = self->config;
    zpoller_t *poller = zpoller_new(pipe, NULL);
    for (int u = 0; u < S_UPSTREAMS; u++) {
        evs_sub_opts_t so = {.keys_dir = c->keys_dir, .me = "gateway"};
        self->subs[u] = evs_sub_new(s_names[u], c->pub_endpoint[s_svcs[u]],
                                    c->endpoint[s_svcs[u]], 0, &so);
        if (!self->subs[u])
            zsys_error("gateway: cannot follow %s for live updates", s_names[u]);
        else {
            zpoller_add(poller, evs_sub_live_sock(self->subs[u]));
            zpoller_add(poller, evs_sub_read_sock(self->subs[u]));
        }
    }
    zsock_signal(pipe, 0);
    int64_t next_upkeep = zclock_mono() + 1000, next_keepalive = zclock_mono() + c->sse_keepalive_ms;
    int64_t alarm_next[S_UPSTREAMS] = {0}, started = zclock_mono();
    while (true) {
        zsock_t *which = zpoller_wait(poller, S_POLL_MS);
        if (which == pipe)
            break;
        if (!which && zpoller_terminated(poller))
            break;
        for (int u = 0; which && u < S_UPSTREAMS; u++) {
            s_run_arg_t ra = {self, u};
            if (self->subs[u] && (which == evs_sub_live_sock(self->subs[u]) ||
                                  which == evs_sub_read_sock(self->subs[u])))
                evs_sub_handle(self->subs[u], which, s_run, &ra);
        }
        bool caught_up = true;
        for (int u = 0; u < S_UPSTREAMS; u++) {
            bool now_caught = self->subs[u] && evs_sub_caught_up(self->subs[u]);
            caught_up = caught_up && now_caught;
            if (now_caught && !self->ready[u])
                s_ready(self, u);
        }
        pthread_mutex_lock(&self->lock);
        bool was = self->stats.caught_up;
        self->stats.caught_up = caught_up;
        pthread_mutex_unlock(&self->lock);
        if (caught_up && !was)
            zsys_info("gateway: live updates follow order from seq %" PRIu64
                      " and production from seq %" PRIu64,
                      self->at.seq[0] + 1, self->at.seq[1] + 1);
        /* a service that does not answer holds nobody up for long: its events come live
         * when it is back (s_fan_out gives each stream each event once) */
        s_take_pending(self, caught_up || zclock_mono() > started + S_GRACE_MS);
        int64_t now = zclock_mono();
        if (now >= next_upkeep) {
            for (int u = 0; u < S_UPSTREAMS; u++) {
                const char *why = self->subs[u] ? evs_sub_contradiction(self->subs[u]) : NULL;
                if (self->subs[u])
                    evs_sub_upkeep(self->subs[u]);
                if (why && now >= alarm_next[u]) {
                    zsys_error("gateway: ALARM: %s contradicts what the live updates took "
                               "from it: %s (repeated every minute)", s_names[u], why);
                    alarm_next[u] = now + 60000;
                }
            }
            next_upkeep = now + 1000;
        }
        if (now >= next_keepalive) {
            pthread_mutex_lock(&self->lock);
            s_keepalive(self, now);
            pthread_mutex_unlock(&self->lock);
            next_keepalive = now + c->sse_keepalive_ms;
        }
    }
    zpoller_destroy(&poller);
    for (int u = 0; u < S_UPSTREAMS; u++)
        evs_sub_destroy(&self->subs[u]);
}

/* ------------------------------------------------------------------ life cycle */

static void s_free_str(void **item)
{
    free(*item);
    *item = NULL;
}

static gw_events_t *s_new(const gw_config_t *config)
{
    gw_events_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = config;
    pthread_mutex_init(&self->lock, NULL);
    self->accounts = zhashx_new();
    self->owners = zhashx_new();
    zhashx_set_destructor(self->owners, s_free_str);
    self->hist_cap = config->sse_history;
    self->history = self->hist_cap ? calloc(self->hist_cap, sizeof *self->history) : NULL;
    if (!self->accounts || !self->owners || (self->hist_cap && !self->history)) {
        gw_events_destroy(&self);
        return NULL;
    }
    return self;
}

gw_events_t *gw_events_new(const gw_config_t *config)
{
    gw_events_t *self = s_new(config);
    if (self)
        self->actor = zactor_new(s_hub, self);
    if (self && !self->actor)
        gw_events_destroy(&self);
    return self;
}

/* Ends every stream of the list @p head. */
static void s_end_all(gw_stream_t *head)
{
    for (gw_stream_t *s = head; s; s = s->next)
        gw_stream_end(s);
}

void gw_events_stop(gw_events_t *self)
{
    if (!self)
        return;
    zactor_destroy(&self->actor);
    pthread_mutex_lock(&self->lock);
    self->closing = true;
    for (gw_stream_t *head = zhashx_first(self->accounts); head;
         head = zhashx_next(self->accounts))
        s_end_all(head);
    s_end_all(self->pending);
    pthread_mutex_unlock(&self->lock);
}

void gw_events_destroy(gw_events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_events_t *self = *self_p;
    *self_p = NULL;
    gw_events_stop(self);
    pthread_mutex_lock(&self->lock);
    size_t open = self->n_streams;
    pthread_mutex_unlock(&self->lock);
    if (open) {
        /* a connection still refers to the hub: it is left rather than freed under it */
        zsys_warning("gateway: %zu live-update streams are still open; their hub is left",
                     open);
        return;
    }
    for (size_t i = 0; i < self->hist_n; i++)
        free(self->history[(self->hist_head + i) % self->hist_cap].text);
    free(self->history);
    zhashx_destroy(&self->owners);
    zhashx_destroy(&self->accounts);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

int gw_events_open(gw_events_t *self, const char *account, const char *last_id,
                   gw_stream_wake_fn *wake, void *wake_arg, gw_stream_t **out)
{
    *out = NULL;
    if (!self)
        return GW_EVENTS_DOWN;
    gw_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return GW_EVENTS_FULL;
    s->hub = self;
    snprintf(s->account, sizeof s->account, "%s", account);
    pthread_mutex_init(&s->lock, NULL);
    s->wake = wake;
    s->wake_arg = wake_arg;
    s->resume = s_cursor_parse(last_id, &s->from);
    pthread_mutex_lock(&self->lock);
    size_t mine = 0;
    for (gw_stream_t *o = zhashx_lookup(self->accounts, account); o; o = o->next)
        mine++;
    for (gw_stream_t *o = self->pending; o; o = o->next)
        mine += strcmp(o->account, account) == 0;
    int rc = self->closing                                            ? GW_EVENTS_DOWN
             : mine >= (size_t) self->config->sse_per_account            ? GW_EVENTS_FULL_ACCOUNT
             : self->n_streams >= (size_t) self->config->sse_max          ? GW_EVENTS_FULL
                                                                         : GW_EVENTS_OK;
    if (rc == GW_EVENTS_OK) {
        s->next = self->pending;
        self->pending = s;
        self->n_streams++;
        self->stats.streams = self->n_streams;
    }
    pthread_mutex_unlock(&self->lock);
    if (rc != GW_EVENTS_OK) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return rc;
    }
    *out = s;
    return GW_EVENTS_OK;
}

void gw_events_stats(gw_events_t *self, gw_events_stats_t *st)
{
    pthread_mutex_lock(&self->lock);
    *st = self->stats;
    pthread_mutex_unlock(&self->lock);
}

/* ------------------------------------------------------------------ self-test */

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "gw_events: %s:%d: %s\n", __FILE__, __LINE__, #x);    \
            failed++;                                                             \
        }                                                                         \
    } while (0)

/* A record of @p up's event @p type with @p payload, seq @p seq. */
static evs_record_t s_test_record(uint64_t seq, const char *type, const ProtobufCMessage *payload,
                                  uint8_t *buf)
{
    uint8_t body[256];
    Tp__Envelope e = TP__ENVELOPE__INIT;
    e.seq = seq;
    e.stream_id = "s";
    e.event_type = (char *) type;
    e.payload.data = body;
    e.payload.len = protobuf_c_message_pack(payload, body);
    return (evs_record_t) {seq, buf, tp__envelope__pack(&e, buf)};
}

static void s_test_suspend(void *arg)
{
    (*(int *) arg)++;
}

/* Everything the stream holds now, as a string (caller frees); NULL when it would wait. */
static char *s_test_drain(gw_stream_t *s, int *suspended)
{
    char *all = calloc(1, 1);
    size_t len = 0;
    char buf[300];
    ssize_t n;
    while ((n = gw_stream_read(s, buf, sizeof buf, s_test_suspend, suspended)) > 0) {
        all = realloc(all, len + (size_t) n + 1);
        memcpy(all + len, buf, (size_t) n);
        len += (size_t) n;
        all[len] = '\0';
    }
    return all;
}

static int s_count_str(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

int gw_events_test(bool verbose)
{
    int failed = 0, suspended = 0, woken = 0;
    gw_config_t config;
    memset(&config, 0, sizeof config);
    config.sse_per_account = 2;
    config.sse_max = 3;
    config.sse_history = 4;
    gw_events_t *hub = s_new(&config);
    CHECK(hub);
    if (!hub)
        return 1;
    gw_stream_t *a1, *a2, *b1, *x;
    CHECK(gw_events_open(hub, "acc-a", NULL, s_test_suspend, &woken, &a1) == GW_EVENTS_OK);
    CHECK(gw_events_open(hub, "acc-a", NULL, s_test_suspend, &woken, &a2) == GW_EVENTS_OK);
    CHECK(gw_events_open(hub, "acc-a", NULL, s_test_suspend, &woken, &x) ==
          GW_EVENTS_FULL_ACCOUNT);
    CHECK(gw_events_open(hub, "acc-b", NULL, s_test_suspend, &woken, &b1) == GW_EVENTS_OK);
    CHECK(gw_events_open(hub, "acc-c", NULL, s_test_suspend, &woken, &x) == GW_EVENTS_FULL);
    hub->ready[0] = hub->ready[1] = true;   /* as when the hub has caught up with both */
    /* nothing goes live before the hub has caught up */
    s_take_pending(hub, false);
    char *got = s_test_drain(a1, &suspended);
    CHECK(got && !*got && suspended == 1);
    free(got);
    s_take_pending(hub, true);
    CHECK(woken == 1);   /* the waiting reader was woken by its first message */

    uint8_t buf[512];
    Tp__Order__OrderPlaced placed = TP__ORDER__ORDER_PLACED__INIT;
    placed.order_id = "TP-1";
    placed.account_id = "acc-a";
    evs_record_t r = s_test_record(1, "OrderPlaced", &placed.base, buf);
    s_event(hub, 0, &r);
    Tp__Production__ProductActivated act = TP__PRODUCTION__PRODUCT_ACTIVATED__INIT;
    act.product_id = "prd-TP-1";
    r = s_test_record(1, "ProductActivated", &act.base, buf);
    s_event(hub, 1, &r);
    placed.order_id = "TP-2";
    placed.account_id = "acc-b";
    r = s_test_record(2, "OrderPlaced", &placed.base, buf);
    s_event(hub, 0, &r);
    got = s_test_drain(a1, &suspended);
    CHECK(got && strstr(got, "id: 1.0\nevent: order\ndata: {\"service\":\"order\",\"seq\":1,"
                             "\"at\":0,\"type\":\"OrderPlaced\",\"orderId\":\"TP-1\"}\n\n"));
    CHECK(got && strstr(got, "id: 1.1\nevent: product\n") &&
          strstr(got, "\"productId\":\"prd-TP-1\""));
    CHECK(got && !strstr(got, "TP-2"));   /* never another account's */
    if (verbose)
        printf("%s", got);
    free(got);
    got = s_test_drain(b1, &suspended);
    CHECK(got && strstr(got, "\"orderId\":\"TP-2\"") && !strstr(got, "TP-1"));
    free(got);

    /* resume after 1.0: only what came after it for the account */
    gw_stream_close(a2);
    CHECK(gw_events_open(hub, "acc-a", "1.0", s_test_suspend, &woken, &a2) == GW_EVENTS_OK);
    s_take_pending(hub, true);
    got = s_test_drain(a2, &suspended);
    CHECK(got && s_count_str(got, "event: ") == 1 && strstr(got, "\"productId\":\"prd-TP-1\""));
    free(got);
    /* the history keeps 4: after more, a cursor from before it gets a reset */
    for (uint64_t q = 3; q < 8; q++) {
        placed.order_id = "TP-1";
        placed.account_id = "acc-a";
        r = s_test_record(q, "OrderPlaced", &placed.base, buf);
        s_event(hub, 0, &r);
    }
    gw_stream_close(a2);
    CHECK(gw_events_open(hub, "acc-a", "1.0", s_test_suspend, &woken, &a2) == GW_EVENTS_OK);
    s_take_pending(hub, true);
    got = s_test_drain(a2, &suspended);
    CHECK(got && strstr(got, "event: reset") && s_count_str(got, "event: ") == 1);
    free(got);
    /* a reader that falls far behind is ended */
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pthread_mutex_lock(&hub->lock);
    for (int i = 0; i < (S_STREAM_MAX / 500) + 10; i++)
        s_fan_out(hub, "acc-b", 0, UINT64_MAX, big);
    pthread_mutex_unlock(&hub->lock);
    got = s_test_drain(b1, &suspended);
    CHECK(got && strlen(got) <= S_STREAM_MAX);
    free(got);
    char one[8];
    CHECK(gw_stream_read(b1, one, sizeof one, s_test_suspend, &suspended) == -1);
    gw_events_stats_t st;
    gw_events_stats(hub, &st);
    CHECK(st.streams == 3);
    gw_stream_close(a1);
    gw_stream_close(a2);
    gw_stream_close(b1);
    gw_events_stats(hub, &st);
    CHECK(st.streams == 0 && st.events == 8);
    gw_events_destroy(&hub);
    return failed ? 1 : 0;
}
