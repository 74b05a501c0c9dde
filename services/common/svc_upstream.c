/* svc_upstream.c: subscriptions and reactions (the live delay), timers and mail. The
 * upstreams' signed heads are recorded here too (svc_witness.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "evs_bus.h"
#include "svc_internal.h"

/* ------------------------------------------------------------------ upstreams */

typedef struct {
    svci_svc_t *self;
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
    svci_svc_t *self = ra->self;
    /* a run with nothing react can act on needs no commit now: its checkpoint waits for
     * the next one (see svc_def_t.reacts_to) */
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) {
        evs_view_t v;
        any = evs_view(recs[i].data, recs[i].len, &v) != 0 || evs_witness_is_signed(&v) ||
              s_reacts_to(self->def, v.event_type, v.event_type_len) ||
              svci_view_is_erasure(&v);
    }
    /* the checkpoint keeps the hash of the upstream's record there (evs_sub_t checks
     * that the upstream still continues it after a restart) */
    uint8_t prev[EVS_HASH_SIZE], last_hash[EVS_HASH_SIZE];
    if (evs_chain(recs[n - 1].data, recs[n - 1].len, prev, last_hash) != 0)
        return EVS_CORRUPT;   /* the subscriber hands over only records that chain */
    if (!any) {
        self->ckpt_pending[ra->index] = recs[n - 1].seq;
        memcpy(self->ckpt_pending_hash[ra->index], last_hash, EVS_HASH_SIZE);
        if (!self->ckpt_due)
            self->ckpt_due = zclock_mono() + SVC_CHECKPOINT_DELAY_MS;
        return 0;
    }
    svci_drain(self);
    bool personal = svci_reads_personal(self, ra->upstream);
    if (personal) {
        /* the keys of what this run holds, asked of the upstream before anything is
         * written; without them nothing goes on (the run is read again after a restart) */
        int krc = svci_fetch_keys(self, ra->index, ra->upstream, recs, n);
        if (krc != 0) {
            /* nothing taken: the run comes again from the checkpoint (the subscriber's
             * upkeep reads it anew within a second), and nothing is lost or skipped */
            zsys_warning("%s: cannot get the keys of %s's personal data (%s); trying again",
                         self->name, ra->upstream, evs_strerror(krc));
            return -EAGAIN;
        }
    }
    evs_batch_t *batch = NULL;
    int rc = evs_batch_begin(self->store, &batch);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char strbuf[2][EVS_MAX_ID + 1];
        svc_event_t ev;
        if (svci_event_from_record(&recs[i], &ev, strbuf) != 0) {
            zsys_error("%s: upstream %s seq %" PRIu64 " does not decode; skipped", self->name,
                       ra->upstream, recs[i].seq);
            continue;
        }
        if (svci_is_witness(&ev)) {
            evs_view_t v;
            evs_view(recs[i].data, recs[i].len, &v);
            rc = evs_witness_is_signed(&v)
                     ? svci_witness_record(self, batch, ra->upstream, &recs[i], &v)
                     : 0;
            if (rc != 0) {
                evs_batch_end(&batch);
                return rc;
            }
            continue;
        }
        char subject[256], why[256];
        if (svci_upstream_erasure(self, ra->upstream, &ev, subject, sizeof subject, why,
                                  sizeof why)) {
            /* the upstream erased a subject whose data we hold too */
            char reason[600], causation[EVS_MAX_ID + 32];
            snprintf(reason, sizeof reason, "%s erased it: %s", ra->upstream, why);
            snprintf(causation, sizeof causation, "%s#%" PRIu64, ra->upstream, ev.seq);
            rc = svci_append_erasure(self, batch, subject, reason, causation);
            if (rc != 0) {
                evs_batch_end(&batch);
                return rc;
            }
            continue;
        }
        if (!s_reacts_to(self->def, ev.event_type, strlen(ev.event_type)))
            continue;
        uint8_t *opened = NULL;
        if (personal && (rc = svci_open_upstream(self, ra->upstream, &recs[i], &ev, &opened))) {
            zsys_error("%s: %s seq %" PRIu64 " (%s): its personal fields do not open: %s",
                       self->name, ra->upstream, ev.seq, ev.event_type, evs_strerror(rc));
            evs_batch_end(&batch);
            /* reactions before it in this run are applied already: the process stops (never
             * "tried again", which would leave them in the state and not in the log) */
            return rc == -EAGAIN ? EVS_CORRUPT : rc;
        }
        svc_out_reset(self->out);
        self->def->react(self->state, ra->upstream, &ev, self->out);
        free(opened);
        svci_flush_logs(self, self->out);
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
        rc = svci_append_out(self, batch, self->out, causation, causation, NULL, NULL, NULL, 0,
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
        svci_apply_appended(self, batch, first, last);
        self->events_written += self->out->n_events;
    }
    rc = evs_batch_checkpoint_hash(batch, ra->upstream, recs[n - 1].seq, last_hash);
    if (rc != 0) {
        evs_batch_end(&batch);
        return rc;
    }
    self->ckpt_pending[ra->index] = 0;   /* the one just written is newer */
    svci_commit_or_die(self, &batch);
    evs_batch_end(&batch);
    return 0;
}

/* Takes what upstream @p i has sent: a live run or a read reply (from @p which). */
void svci_follow(svci_svc_t *self, size_t i, zsock_t *which)
{
    s_react_arg_t ra = {self, evs_sub_upstream(self->subs[i]), i};
    int rc = evs_sub_handle(self->subs[i], which, s_react_run, &ra);
    if (rc == -EAGAIN)
        return;   /* taken again later (s_react_run) */
    if (rc != 0) {
        zsys_error("%s: cannot commit reaction to %s: %s; stopping", self->name, ra.upstream,
                   evs_strerror(rc));
        exit(70);
    }
    svci_witness_alarms(self, i);
}

/* Live events of upstream @p i are waiting: taken at once, or (react_delay_ms) after the
 * delay, their socket unpolled meanwhile so that more gather behind them. */
void svci_live_waiting(svci_svc_t *self, size_t i)
{
    if (self->react_delay_ms <= 0) {
        svci_follow(self, i, evs_sub_live_sock(self->subs[i]));
        return;
    }
    zpoller_remove(self->poller, evs_sub_live_sock(self->subs[i]));
    self->live_due[i] = zclock_mono() + self->react_delay_ms;
}

/* Takes the live events whose delay is over (all of them when @p all). */
void svci_live_due(svci_svc_t *self, bool all)
{
    int64_t now = zclock_mono();
    for (size_t i = 0; i < self->n_subs; i++)
        if (self->live_due[i] && (all || now >= self->live_due[i])) {
            self->live_due[i] = 0;
            zpoller_add(self->poller, evs_sub_live_sock(self->subs[i]));
            svci_follow(self, i, evs_sub_live_sock(self->subs[i]));
        }
}

/* ------------------------------------------------------------------ timers */

/* Appends and commits what a timer or a mail confirmation produced. */
static void s_commit_out(svci_svc_t *self, const char *what)
{
    svci_flush_logs(self, self->out);
    if (self->out->n_events == 0 && self->out->n_erase == 0)
        return;
    if (svc_out_failed(self->out)) {
        zsys_warning("%s: %s refused: %s", self->name, what,
                     self->out->n_errors ? self->out->errors[0].message : "?");
        return;
    }
    svci_drain(self);
    evs_batch_t *batch = NULL;
    uint64_t first = 0, last = 0;
    int rc = evs_batch_begin(self->store, &batch);
    if (rc == 0)
        rc = svci_append_out(self, batch, self->out, what, what, NULL, NULL, NULL, 0, &first,
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
    svci_apply_appended(self, batch, first, last);
    self->events_written += self->out->n_events;
    svci_commit_or_die(self, &batch);
    evs_batch_end(&batch);
}

void svci_tick(svci_svc_t *self)
{
    if (!svci_active(self))
        return;   /* a standby's timers are the active instance's */
    svc_out_reset(self->out);
    int64_t now = self->clock(self->clock_arg);
    if (self->def->tick)
        self->def->tick(self->state, now, self->out);
    svci_personal_windows(self, now, self->out);
    s_commit_out(self, "tick");
}

/* ------------------------------------------------------------------ mail */

/* The mailer: one mail at a time, [id][to][subject][body] in, [id][error or ""] out. */
void svci_mailer(zsock_t *pipe, void *args)
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
void svci_mail_poll(svci_svc_t *self)
{
    /* mails follow committed events only */
    if (!self->mailer || self->inflight || self->open || !svci_active(self))
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
void svci_mail_done(svci_svc_t *self)
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
