/* svc_witness.c: logs that witness each other (eventstore/evs_witness.h), in the runtime.
 *
 *  - Our own head: signed with our witness key and written into our log as a HeadSigned
 *    event at least every witness_interval_ms while we write, and at a clean stop, when
 *    events of our own (not witness events) came since the last one: recording an
 *    upstream's signed head makes none, so services that follow each other go quiet. It is published like any event, so followers
 *    take it live.
 *  - Our upstreams' heads: each HeadSigned taken from an upstream is checked (its
 *    signature, by the upstream's key in the keys folder; it signs exactly the record
 *    before it) and written into our log as HeadWitnessed, in the commit that moves the
 *    checkpoint past it.
 *  - An upstream that contradicts what we took (evs_sub_contradiction): it is not followed
 *    any more, and an alarm is logged at once and every minute after, until an operator
 *    restores the right log and restarts us. `tpctl status` shows it.
 * Witness events never reach the service's core (apply, react): they are the runtime's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "svc_internal.h"

#define S_ALARM_EVERY_MS 60000

#define S_TAIL_LOOK 256   /* records looked at from the head back at start */

/* Across the records before the head: after the last signed head, an event that is not a
 * witness event (then there is something to sign). */
static int s_tail_fn(const evs_record_t *rec, void *arg)
{
    bool *dirty = arg;
    evs_view_t v;
    if (evs_view(rec->data, rec->len, &v) != 0 || !evs_witness_is(&v))
        *dirty = true;
    else if (evs_witness_is_signed(&v))
        *dirty = false;
    return 0;
}

int svci_witness_start(svci_svc_t *self)
{
    if (evs_witness_keypair(self->cert, self->witness_pk, self->witness_sk) != 0) {
        zsys_error("%s: no witness key: the secret key is empty", self->name);
        return -1;
    }
    uint8_t published[EVS_WITNESS_PK];
    if (evs_witness_public(self->keys_dir, self->name, published) != 0)
        zsys_warning("%s: %s/%s.pub does not name our witness key; followers cannot check "
                     "our signed heads (`tpctl keys init` adds it)",
                     self->name, self->keys_dir, self->name);
    else if (sodium_memcmp(published, self->witness_pk, EVS_WITNESS_PK) != 0)
        zsys_warning("%s: the witness key in %s/%s.pub is not ours", self->name, self->keys_dir,
                     self->name);
    self->witness_interval_ms = atoll(
        svc_config_get(self->config, self->name, "witness_interval_ms", "10000"));
    if (self->witness_interval_ms < 100)
        self->witness_interval_ms = 10000;
    self->witness_due = zclock_mono() + self->witness_interval_ms;
    /* unsigned events at the head (a stop without signing): signed at the first turn;
     * none found in the last S_TAIL_LOOK records but no signed head either: signed too */
    uint64_t head = 0;
    int rc = evs_head(self->store, &head, NULL);
    self->witness_dirty = head > 0;
    if (rc == 0 && head)
        rc = evs_read(self->store, head > S_TAIL_LOOK ? head - S_TAIL_LOOK + 1 : 1, head, 0,
                      s_tail_fn, &self->witness_dirty);
    return rc == 0 ? 0 : -1;
}

void svci_witness_due(svci_svc_t *self, bool stopping)
{
    if (!svci_active(self) || self->deposed)
        return;   /* only the instance that writes signs */
    int64_t now = zclock_mono();
    if (!stopping && now < self->witness_due)
        return;
    self->witness_due = now + self->witness_interval_ms;
    if (!self->witness_dirty)
        return;   /* nothing of our own written since the last signed head */
    svci_drain(self);   /* sign what is committed, all of it */
    evs_head_t h = {.signed_at_us = self->clock(self->clock_arg)};
    if (evs_head(self->store, &h.seq, h.hash) != 0 || h.seq == 0)
        return;
    snprintf(h.service, sizeof h.service, "%s", self->name);
    evs_witness_sign(&h, self->witness_pk, self->witness_sk);
    uint8_t payload[512];
    size_t len = evs_witness_pack(&h, payload);
    evs_event_t ev = {EVS_WITNESS_STREAM, EVS_WITNESS_SIGNED, payload, len, NULL, NULL, NULL};
    evs_batch_t *batch = NULL;
    int rc = evs_batch_begin(self->store, &batch);
    if (rc == 0)
        rc = evs_batch_append(batch, &ev, 1, NULL, 0, NULL, NULL, 0, NULL, NULL);
    if (rc != 0) {
        zsys_error("%s: cannot write the signed head: %s; stopping", self->name,
                   evs_strerror(rc));
        exit(70);
    }
    svci_commit_or_die(self, &batch);
    evs_batch_end(&batch);
    self->witness_dirty = false;
}

int svci_witness_record(svci_svc_t *self, evs_batch_t *batch, const char *upstream,
                        const evs_record_t *rec, const evs_view_t *view)
{
    evs_head_t h;
    uint8_t prev[EVS_HASH_SIZE], hash[EVS_HASH_SIZE], key[EVS_WITNESS_PK];
    const char *bad = NULL;
    if (evs_witness_unpack(view->payload, view->payload_len, &h) != 0)
        bad = "does not decode";
    else if (strcmp(h.service, upstream) != 0)
        bad = "names another service";
    else if (!evs_witness_signed_ok(&h))
        bad = "carries a bad signature";
    else if (evs_witness_public(self->keys_dir, upstream, key) != 0 ||
             sodium_memcmp(key, h.key, EVS_WITNESS_PK) != 0)
        bad = "is not signed with the upstream's witness key in the keys folder";
    else if (evs_chain(rec->data, rec->len, prev, hash) != 0 || h.seq + 1 != rec->seq ||
             sodium_memcmp(prev, h.hash, EVS_HASH_SIZE) != 0)
        bad = "does not sign the record before it";
    if (bad) {
        zsys_warning("%s: the signed head in %s's seq %" PRIu64 " %s; not recorded",
                     self->name, upstream, rec->seq, bad);
        return 0;
    }
    char stream[EVS_MAX_ID + 1], causation[EVS_MAX_ID + 32];
    snprintf(stream, sizeof stream, "%s%s", EVS_WITNESSED_PREFIX, upstream);
    snprintf(causation, sizeof causation, "%s#%" PRIu64, upstream, rec->seq);
    evs_event_t ev = {stream, EVS_WITNESS_RECORDED, view->payload, view->payload_len, causation,
                      causation, NULL};
    return evs_batch_append(batch, &ev, 1, NULL, 0, NULL, NULL, 0, NULL, NULL);
}

/* Logs the alarm of upstream @p i. */
static void s_alarm(svci_svc_t *self, size_t i, const char *why)
{
    const char *up = evs_sub_upstream(self->subs[i]);
    zsys_error("%s: ALARM: upstream %s contradicts what this service took from it: %s. "
               "Not following %s any more (checkpoint seq %" PRIu64 "); restore %s's log or "
               "check it with `tpctl log verify` and the witnesses, then restart %s. "
               "Repeated every minute.",
               self->name, up, why, up, evs_sub_checkpoint(self->subs[i]), up, self->name);
}

/* Checks upstream @p only (SIZE_MAX: every one) for a new contradiction, and repeats
 * the alarms that are due. */
void svci_witness_alarms(svci_svc_t *self, size_t only)
{
    int64_t now = zclock_mono();
    for (size_t i = 0; i < self->n_subs; i++) {
        if (only != SIZE_MAX && i != only)
            continue;
        const char *why = evs_sub_contradiction(self->subs[i]);
        if (!why)
            continue;
        if (!self->alarm_next[i]) {
            /* stop following: its sockets are not polled any more (the live one is out
             * of the poller already while its events wait for react_delay_ms) */
            if (!self->live_due[i])
                zpoller_remove(self->poller, evs_sub_live_sock(self->subs[i]));
            zpoller_remove(self->poller, evs_sub_read_sock(self->subs[i]));
            self->live_due[i] = 0;
        }
        if (now >= self->alarm_next[i]) {
            s_alarm(self, i, why);
            self->alarm_next[i] = now + S_ALARM_EVERY_MS;
        }
    }
}
