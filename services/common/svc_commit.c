/* svc_commit.c: events into the state and the log: rebuild, group commit, publication. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs_bus.h"
#include "svc_internal.h"

/* ------------------------------------------------------------------ events */

bool svci_is_witness(const svc_event_t *ev)
{
    evs_view_t v = {.stream_id = ev->stream_id, .stream_id_len = strlen(ev->stream_id),
                    .event_type = ev->event_type, .event_type_len = strlen(ev->event_type)};
    return evs_witness_is(&v);
}

/* Fills an svc_event_t from a record; strings are copied into @p strbuf. */
int svci_event_from_record(const evs_record_t *rec, svc_event_t *ev,
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
    const svc_keys_t *keys;
    const char *service;
} s_rebuild_t;

static int s_rebuild_one(const evs_record_t *rec, void *arg)
{
    s_rebuild_t *rb = arg;
    char strbuf[2][EVS_MAX_ID + 1];
    svc_event_t ev;
    if (svci_event_from_record(rec, &ev, strbuf) != 0) {
        rb->bad = EVS_CORRUPT;
        return EVS_CORRUPT;
    }
    if (ev.seq > rb->to_seq || ev.recorded_at_us > rb->to_time_us)
        return 1;   /* stop: past the point asked for */
    if (svci_is_witness(&ev) || svci_is_erasure(&ev))
        return 0;   /* the runtime's, not the core's */
    uint8_t *opened = NULL;
    int rc = svci_open_record(rb->keys ? rb->keys->fn : NULL, rb->keys ? rb->keys->arg : NULL,
                              rb->service, rec, &ev, &opened);
    if (rc != 0) {
        zsys_error("%s: seq %" PRIu64 " (%s): its personal fields do not open: %s",
                   rb->service, ev.seq, ev.event_type, evs_strerror(rc));
        rb->bad = rc;
        return rc;
    }
    rb->def->apply(rb->state, &ev);
    free(opened);
    rb->applied++;
    if (rb->progress && (rb->applied & 0xffff) == 0)
        rb->progress(ev.seq, rb->progress_arg);
    return 0;
}

int svc_rebuild(const svc_def_t *def, void *state, evs_t *store, uint64_t to_seq,
                int64_t to_time_us, uint64_t *applied,
                void (*progress)(uint64_t seq, void *arg), void *progress_arg,
                const svc_keys_t *keys)
{
    s_rebuild_t rb = {def, state, to_seq, to_time_us, 0, progress, progress_arg, 0, keys,
                      def->name};
    int rc = evs_read(store, 1, to_seq, 0, s_rebuild_one, &rb);
    if (applied)
        *applied = rb.applied;
    if (rc == 1)
        rc = 0;
    return rb.bad ? rb.bad : rc;
}

/* Applies the records [first, last] of @p batch to the state; @p imported: written by
 * another instance (a standby's import from the stream), whose erasures are ours to do
 * too, and whose personal data may be sealed with keys not yet fetched. */
static void s_apply(svci_svc_t *self, evs_batch_t *batch, uint64_t first, uint64_t last,
                    bool imported)
{
    for (uint64_t seq = first; seq && seq <= last; seq++) {
        evs_record_t rec;
        char strbuf[2][EVS_MAX_ID + 1];
        svc_event_t ev;
        int rc = evs_batch_record(batch, seq, &rec);
        assert(rc == 0);   /* we just appended it */
        rc = svci_event_from_record(&rec, &ev, strbuf);
        assert(rc == 0);
        if (imported && svci_is_erasure(&ev))
            svci_personal_imported(self, &rec);
        if (!svci_is_witness(&ev) && !svci_is_erasure(&ev)) {
            uint8_t *opened = NULL;
            rc = svci_open_record(svci_own_key, self, self->def->name, &rec, &ev, &opened);
            if (rc != 0) {
                zsys_error("%s: seq %" PRIu64 " (%s) does not open: %s; stopping", self->name,
                           ev.seq, ev.event_type, evs_strerror(rc));
                exit(70);
            }
            self->def->apply(self->state, &ev);
            free(opened);
            self->witness_dirty = true;   /* a head to sign (svc_witness.c) */
        }
    }
}

void svci_apply_appended(svci_svc_t *self, evs_batch_t *batch, uint64_t first, uint64_t last)
{
    s_apply(self, batch, first, last, false);
}

void svci_apply_imported(svci_svc_t *self, evs_batch_t *batch, uint64_t first, uint64_t last)
{
    s_apply(self, batch, first, last, true);
    if (svci_keys_durable(self) != 0)   /* the keys fetched to open them, kept */
        exit(70);                        /* (a standby's keys go to its own store alone) */
}

/* Collects a committed batch's records for s_publish (their bytes stay in the batch). */
static int s_collect_one(const evs_record_t *rec, void *arg)
{
    svci_svc_t *self = arg;
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
static void s_publish(svci_svc_t *self, evs_batch_t *batch)
{
    self->pub_n = 0;
    int rc = evs_batch_each(batch, s_collect_one, self);
    if (evs_bus_publish_run(self->pub, self->name, self->pub_run, self->pub_n) != 0 || rc != 0)
        zsys_warning("%s: publishing %zu events failed", self->name, self->pub_n);
}

/* Puts the checkpoints past skipped upstream events into @p batch: they ride along
 * with whatever commits next. */
static int s_add_checkpoints(svci_svc_t *self, evs_batch_t *batch)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < self->n_subs; i++)
        if (self->ckpt_pending[i])
            rc = evs_batch_checkpoint_hash(batch, evs_sub_upstream(self->subs[i]),
                                           self->ckpt_pending[i], self->ckpt_pending_hash[i]);
    for (size_t i = 0; i < self->n_subs; i++)
        self->ckpt_pending[i] = 0;
    self->ckpt_due = 0;
    return rc;
}

/* Ends the process after a failed commit: an unacknowledged failure must not be hidden,
 * and state in memory is already ahead of the log. A cluster's instance that another
 * replaced (the stream refused its group, or its lease ran out) steps down instead:
 * nothing of it is answered, and the actor ends to start again as a standby. */
static void s_commit_failed(svci_svc_t *self, int rc, bool inflight_done)
{
    if (self->cluster && svci_cluster_fenced(rc)) {
        svci_cluster_step_down(self, inflight_done);
        return;
    }
    zsys_error("%s: commit failed: %s; stopping (state rebuilds from the log at restart)",
               self->name, evs_strerror(rc));
    exit(70);
}

/* Counts a commit of @p n requests (0: reactions, ticks, checkpoints) that took @p us;
 * one slower than slow_commit_ms is logged with where its time went, to tell a slow disk
 * (write + flush) from the log's own upkeep (index run, request-id move); "other" is
 * what the store did not time (growing the map and redoing the batch). */
static void s_count_commit(svci_svc_t *self, evs_batch_t *batch, size_t n, uint64_t us)
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
void svci_commit_or_die(svci_svc_t *self, evs_batch_t **batch_p)
{
    assert(!self->inflight && !self->open);   /* svci_drain() first */
    if (self->deposed)
        return;   /* it writes nothing any more */
    int rc = s_add_checkpoints(self, *batch_p);
    if (rc == 0)
        rc = svci_cluster_stamp(self, *batch_p);
    if (rc == 0)
        rc = svci_keys_durable(self);   /* the keys its events are sealed with, first */
    int64_t t0 = zclock_usecs();
    if (rc == 0)
        rc = svci_write(self, *batch_p);
    if (rc != 0) {
        s_commit_failed(self, rc, true);
        return;
    }
    s_count_commit(self, *batch_p, 0, (uint64_t) (zclock_usecs() - t0));
    s_publish(self, *batch_p);
}

/* Commits the checkpoints past skipped upstream events on their own. */
void svci_commit_checkpoints(svci_svc_t *self)
{
    if (!self->ckpt_due)
        return;
    svci_drain(self);
    if (!self->ckpt_due)
        return;   /* the groups carried them */
    evs_batch_t *batch = NULL;
    int rc = evs_batch_begin(self->store, &batch);
    if (rc != 0) {
        zsys_error("%s: cannot begin a write: %s; stopping", self->name, evs_strerror(rc));
        exit(70);
    }
    svci_commit_or_die(self, &batch);
    evs_batch_end(&batch);
}

/* Appends the collected events of @p out; returns 0, EVS_CONFLICT or fatal codes. */
int svci_append_out(svci_svc_t *self, evs_batch_t *batch, const svc_out_t *out,
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
    uint8_t *sealed_stack[16] = {0};
    char ids_stack[16][33];
    uint8_t **sealed = out->n_events <= 16 ? sealed_stack : calloc(out->n_events, sizeof *sealed);
    char(*ids)[33] = out->n_events <= 16 ? ids_stack : calloc(out->n_events, 33);
    if (!events || !expects || !sealed || !ids)
        goto done;
    int64_t now = self->clock(self->clock_arg);
    for (size_t i = 0; i < out->n_events; i++) {
        const svc_out_event_t *e = &out->events[i];
        size_t slen = 0;
        rc = svci_seal_event(self, e, now, ids[i], &sealed[i], &slen);
        if (rc != 0) {
            rc = rc == EVS_ERASED || rc == EVS_INVALID ? EVS_INVALID : rc;
            goto done;
        }
        events[i] = (evs_event_t) {e->stream_id, e->type, sealed[i] ? sealed[i] : e->payload,
                                   sealed[i] ? slen : e->len, correlation, causation, actor,
                                   ids[i][0] ? ids[i] : NULL};
    }
    for (size_t i = 0; i < out->n_expects; i++)
        expects[i] = (evs_expect_t) {out->expects[i].stream_id, out->expects[i].expected};
    rc = evs_batch_append(batch, events, out->n_events, expects, out->n_expects, request_id,
                          result, result_len, first, last);
    for (size_t i = 0; rc == 0 && i < out->n_erase; i++)
        rc = svci_append_erasure(self, batch, out->erase[i], out->erase_reason[i], causation);
    if (rc == 0 && out->n_erase && last)
        *last = evs_batch_head(batch);
done:
    for (size_t i = 0; sealed && i < out->n_events; i++)
        free(sealed[i]);
    if (sealed != sealed_stack)
        free(sealed);
    if (ids != ids_stack)
        free(ids);
    if (events != evs_stack)
        free(events);
    if (expects != exp_stack)
        free(expects);
    return rc;
}

/* Logs what the core asked to be logged. */
void svci_flush_logs(svci_svc_t *self, svc_out_t *out)
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

/* ------------------------------------------------------------------ groups */

/* The committer: writes each sealed batch it is handed (svci_write: with store =
 * jetstream, into the stream first), answers [rc][microseconds]. */
void svci_committer(zsock_t *pipe, void *args)
{
    svci_svc_t *self = args;
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
        int rc = svci_write(self, batch);
        zsock_send(pipe, "i8", rc, (uint64_t) (zclock_usecs() - t0));
    }
}

/* Answers a group whose commit is durable: publishes its events, then replies. */
static void s_finish(svci_svc_t *self, evs_batch_t **batch_p, svci_pending_t *pending, size_t n)
{
    int64_t t0 = zclock_usecs();
    s_publish(self, *batch_p);
    for (size_t i = 0; i < n; i++) {
        svci_pending_t *p = &pending[i];
        if (p->deferred)
            svci_answer_deferred(self, p);
        if (!p->handed_off)
            svci_send_reply(self, p);
        svci_pending_clear(p);
    }
    evs_batch_end(batch_p);
    self->us_answer += zclock_usecs() - t0;
}

/* The group in flight is written (with @p rc, in @p us): hands the open group to the
 * committer first when @p next, so that it is not idle while this one is answered; then
 * publishes and answers this one. */
static void s_completed(svci_svc_t *self, bool next, int rc, uint64_t us)
{
    if (rc != 0) {
        s_commit_failed(self, rc, true);
        return;   /* stepped down: nothing of it, nor of the open group, is answered */
    }
    evs_batch_t *done = self->inflight;
    svci_pending_t *pending = self->inflight_pending;
    size_t n = self->inflight_n;
    s_count_commit(self, done, n, us);
    bool barrier = self->inflight_barrier;
    self->inflight = NULL;
    self->inflight_n = 0;
    self->inflight_barrier = false;
    /* a group with answers from the state had no group decided after it */
    if (next && !barrier && self->pipeline)
        svci_submit(self);   /* takes `pending` as the next array: it is answered first */
    s_finish(self, &done, pending, n);
    /* the arena went with its array: to the open group's side when svci_submit swapped */
    svci_arena_reset(pending == self->pending ? self->pending_arena : self->inflight_arena);
}

/* Waits for the committer to write the group in flight; then s_completed. */
void svci_complete(svci_svc_t *self, bool next)
{
    if (!self->inflight)
        return;
    int rc = -1;
    uint64_t us = 0;
    if (zsock_recv(self->committer, "i8", &rc, &us) != 0)
        rc = EVS_BAD_BATCH;
    s_completed(self, next, rc, us);
}

static void s_wait_inflight(svci_svc_t *self)
{
    svci_complete(self, false);
}

/* Seals the open group and hands it to the committer (nothing may be in flight); a
 * group with nothing to write is answered at once. */
void svci_submit(svci_svc_t *self)
{
    if (!self->open)
        return;
    assert(!self->inflight);
    int rc = s_add_checkpoints(self, self->open);
    if (rc == 0)
        rc = svci_cluster_stamp(self, self->open);   /* its place in the stream */
    if (rc == 0)
        rc = evs_batch_seal(self->open);
    if (rc != 0) {
        zsys_error("%s: write failed: %s; stopping", self->name, evs_strerror(rc));
        exit(70);
    }
    rc = svci_keys_durable(self);   /* the keys its events are sealed with, before them */
    if (rc != 0) {
        s_commit_failed(self, rc, true);   /* nothing in flight: a cluster's step-down */
        return;
    }
    size_t n = self->open_n;
    bool barrier = self->open_barrier;
    self->open_n = 0;
    self->open_barrier = false;
    if (evs_batch_empty(self->open)) {
        /* nothing to write (queries, refusals, replays of what is durable): answer now */
        s_finish(self, &self->open, self->pending, n);
        svci_arena_reset(self->pending_arena);
        return;
    }
    svci_pending_t *swap = self->inflight_pending;
    self->inflight_pending = self->pending;
    self->pending = swap;
    svci_arena_t *aswap = self->inflight_arena;
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
    rc = svci_write(self, self->inflight);
    s_completed(self, false, rc, (uint64_t) (zclock_usecs() - t0));
}

/* Writes and answers everything decided so far (before a write outside the groups). */
void svci_drain(svci_svc_t *self)
{
    s_wait_inflight(self);
    if (self->open) {
        svci_submit(self);
        s_wait_inflight(self);
    }
}

/* Decides requests pending[from, to) into the open group (begun when none is open).
 * Group commit: the group takes everything that arrives while the group before it is
 * written (one fsync), and is handed over when that one is durable. */
void svci_decide(svci_svc_t *self, size_t from, size_t to)
{
    int rc = 0;
    if (!self->open && (rc = evs_batch_begin(self->store, &self->open)) != 0) {
        zsys_error("%s: cannot begin a write: %s; stopping", self->name, evs_strerror(rc));
        exit(70);
    }
    int64_t now = self->clock(self->clock_arg);
    int64_t t0 = zclock_usecs();
    for (size_t i = from; i < to; i++) {
        rc = svci_decide_one(self, self->open, &self->pending[i], now);
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
