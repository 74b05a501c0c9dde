/* svc_cluster.c: the jetstream backend in the runtime (setting `store = jetstream`).
 *
 * The log of record is the service's JetStream stream (eventstore/evs_js.h); the service's
 * LMDB log (evs.h) is its local copy, for the state at start, "$read", `tpctl log` and
 * replies to retried requests. Every group the runtime commits goes first into the stream
 * as one message (evs_group.h: its records byte for byte, request results, checkpoints),
 * appended with the stream's expected last sequence, and only after JetStream's
 * acknowledgement (a quorum of the servers) into the local copy; then it is published and
 * answered, as with the embedded log. Each group carries the checkpoint "$stream": the
 * stream sequence it has, so the local copy knows how far it holds the stream.
 *
 * Instances. Several instances of a service may run (on several hosts, each with its own
 * data folder); one is active, the holder of the service's lease (evs_js_lease_*, held by
 * the keeper thread below, renewed every second). The others are standbys: they read the
 * stream's new groups every S_FOLLOW_MS into their local copy and their state (warm: a
 * takeover reads only what came since), answer "$status" (role, stream group), and answer
 * every other request "not_active": clients send it again to the next instance (evs_bus.h),
 * so that every read is the active instance's and sees every acknowledged write. A standby that takes the lease
 * reads the stream to its end and starts writing where it ends: ticks, reactions to its
 * upstreams and mails start then.
 *
 * Fencing. The active instance appends only while its lease is valid: S_MARGIN_MS before
 * its TTL runs out, counted from the moment it asked for the last renewal; a standby can
 * take the lease only after the key expired on the servers, TTL after that renewal. And
 * every append names the stream's last sequence, so an instance that was deposed anyway
 * (paused past its lease, say) is refused at its next append (EVS_CONFLICT). Either way it
 * steps down: it answers nothing of what it had decided (not durable), ends its groups
 * unwritten and stops; svc_main starts it again as a standby, built anew from its local
 * copy and the stream (svci_cluster_step_down, "DEPOSED").
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>
#include "evs_group.h"
#include "evs_js.h"
#include "evs_js_vault.h"
#include "svc_internal.h"

#define S_STREAM_CKPT "$stream"   /* the local copy's checkpoint: stream seq it holds */
#define S_ERASED_CKPT "$erased"   /* erasures up to this seq are done in the key stream */
#define S_FOLLOW_MS 100           /* a standby looks for new groups this often */
#define S_ACQUIRE_MS 500          /* a standby tries to take the lease this often */
#define S_RENEW_MS 1000           /* the active instance renews it this often */
#define S_MARGIN_MS 1000          /* it stops appending this long before the TTL ends */
#define S_IMPORT_GROUPS 64        /* groups imported into one local commit at most */
#define S_APPEND_GIVE_UP_MS 30000 /* an append unanswered this long: the writer steps down */
#define S_KEY_TRIES 150           /* a key asked of the key stream: 15 s (elections: 4-9 s) */
#define S_ERASE_TRIES 50          /* an erasure there: 5 s (mended later when it fails) */

typedef struct {
    evs_js_lease_t *lease;        /* made on the loop, used by the keeper alone */
    const char *instance;
    int ttl_ms;
    atomic_int_fast64_t *valid_until;
} s_keeper_args_t;

struct svci_cluster {
    evs_js_t *js;
    evs_js_log_t *log;            /* used by the loop (standby) or the committer (active) */
    evs_js_vault_t *vault;        /* the data subjects' keys, on the loop */
    zactor_t *keeper;             /* holds the lease */
    evs_js_lease_t *lease;        /* the keeper's */
    char instance[EVS_JS_MAX_NAME + 1];   /* "<service>@<host>": the lease's value */
    char writer[EVS_JS_MAX_NAME + 1];     /* instance.incarnation: the groups' message ids */
    int ttl_ms;
    atomic_int_fast64_t valid_until;      /* zclock_mono() until which we may append */
    bool active;
    bool activating;              /* the lease is ours, the stream not yet read to its end */
    _Atomic uint64_t have;        /* stream seq the local copy holds (the committer writes
                                     it while active; "$status" reads it) */
    uint64_t stamped;             /* stream seq given to the last group submitted */
    uint64_t written;             /* stream seq of the last group acknowledged */
    int64_t next_follow;          /* zclock_mono() of the standby's next look */
    s_keeper_args_t keeper_args;  /* what the keeper reads while it runs */
    uint64_t erased_done;         /* log seq up to which erasures are done in the key
                                     stream (the next group records it: S_ERASED_CKPT) */
    uint64_t erased_stamped;      /* the last value a group recorded */
    bool erase_failed;            /* one failed: erased_done stays (the next active
                                     instance erases again from there) */
};

/* ------------------------------------------------------------------ the keeper */

/* The lease's thread: takes the lease when it is free (every S_ACQUIRE_MS) and says
 * "ACTIVE"; renews it every S_RENEW_MS and says "LOST" when a renewal is refused or none
 * succeeded for TTL - S_MARGIN_MS; gives it up at "$TERM" (a clean stop) unless told
 * "KEEP" before (a step-down: not ours to give any more). */
static void s_keeper(zsock_t *pipe, void *args)
{
    s_keeper_args_t *a = args;
    evs_js_lease_t *lease = a->lease;
    int rc = 0;
    zsock_signal(pipe, 0);
    bool held = false, lost = false;
    int64_t asked = 0;   /* when the last successful acquire or renewal was asked for */
    zpoller_t *poller = zpoller_new(pipe, NULL);
    while (poller) {
        int64_t now = zclock_mono();
        int64_t wait = held ? asked + S_RENEW_MS - now : S_ACQUIRE_MS;
        if (zpoller_wait(poller, wait > 0 ? (int) wait : 0) == pipe) {
            char *cmd = zstr_recv(pipe);
            bool term = !cmd || streq(cmd, "$TERM");
            if (cmd && streq(cmd, "KEEP"))
                lost = true;   /* stepping down: the lease is not ours to release */
            zstr_free(&cmd);
            if (term)
                break;
            continue;
        }
        if (zpoller_terminated(poller))
            break;
        if (lost)
            continue;
        now = zclock_mono();
        if (!held) {
            if (evs_js_lease_acquire(lease) == 0) {
                held = true;
                asked = now;
                atomic_store(a->valid_until, now + a->ttl_ms - S_MARGIN_MS);
                zstr_send(pipe, "ACTIVE");
            }
            continue;
        }
        rc = evs_js_lease_renew(lease);
        if (rc == 0) {
            asked = now;
            atomic_store(a->valid_until, now + a->ttl_ms - S_MARGIN_MS);
            continue;
        }
        if (rc == EVS_JS_UNAVAILABLE)
            zclock_sleep(100);   /* answered at once: not again at once */
        if (rc == EVS_CONFLICT || rc == EVS_INVALID ||
            zclock_mono() >= asked + a->ttl_ms - S_MARGIN_MS) {
            atomic_store(a->valid_until, 0);
            zsys_warning("%s: lost the lease: %s (%s)", a->instance, evs_js_strerror(rc),
                         evs_js_error());
            held = false;
            lost = true;
            zstr_send(pipe, "LOST");
        }
    }
    if (held && !lost) {
        atomic_store(a->valid_until, 0);
        if (evs_js_lease_release(lease) == 0)
            zsys_info("%s: lease released", a->instance);
    }
    zpoller_destroy(&poller);
}

/* ------------------------------------------------------------------ the local copy */

typedef struct {
    svci_svc_t *self;
    evs_batch_t *batch;
    size_t groups;
    uint64_t first, last;    /* records applied to the batch */
    uint64_t to_seq;         /* the stream seq of the last group taken */
    int rc;
} s_import_t;

/* Commits the groups imported into the local copy, then gives their events to the state
 * (the erasures among them are noted: svci_personal_after_commit does them). */
static int s_import_commit(s_import_t *im)
{
    svci_svc_t *self = im->self;
    svci_cluster_t *c = self->cluster;
    if (!im->batch)
        return 0;
    int rc = evs_batch_commit(im->batch);
    uint64_t at = 0;
    if (rc == 0)
        rc = evs_checkpoint(self->store, S_STREAM_CKPT, &at);
    if (rc == 0 && at != im->to_seq) {
        zsys_error("%s: stream group %" PRIu64 " carries the checkpoint %" PRIu64
                   " of another place: not a group of this stream",
                   self->name, im->to_seq, at);
        rc = EVS_CORRUPT;
    }
    if (rc == 0) {
        c->have = at;
        if (self->state)
            svci_apply_imported(self, im->batch, im->first, im->last);
    }
    evs_batch_end(&im->batch);
    im->groups = 0;
    im->first = im->last = 0;
    return rc;
}

static int s_import_one(const evs_js_group_t *g, void *arg)
{
    s_import_t *im = arg;
    svci_svc_t *self = im->self;
    if (!im->batch && (im->rc = evs_batch_begin(self->store, &im->batch)) != 0)
        return im->rc;
    uint64_t first = 0, last = 0;
    im->rc = evs_group_apply(im->batch, g->body, g->len, &first, &last);
    if (im->rc != 0) {
        zsys_error("%s: stream group %" PRIu64 " (by %s) does not continue the local copy: %s",
                   self->name, g->seq, g->writer, evs_strerror(im->rc));
        evs_batch_end(&im->batch);
        return im->rc;
    }
    if (first && !im->first)
        im->first = first;
    if (last)
        im->last = last;
    im->to_seq = g->seq;
    if (++im->groups >= S_IMPORT_GROUPS && (im->rc = s_import_commit(im)) != 0)
        return im->rc;
    return 0;
}

/* Reads the stream's groups after the local copy's into it (and the state, when there
 * is one), up to the stream's last as its leader says now. */
static int s_follow(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    evs_js_info_t info;
    int rc = evs_js_log_info(c->log, &info);
    if (rc != 0)
        return rc;
    if (info.last_seq < c->have) {
        /* a stream started anew, or a leader whose own store is behind (nats-server 2.9.10
         * was seen serving from one after a pause: tests/cluster/js_partition.c): nothing
         * to take now; said, and asked again later */
        zsys_warning("%s: the local copy holds stream group %" PRIu64 ", the stream's leader "
                     "(%s) says it ends at %" PRIu64 "; waiting (a data folder of another "
                     "stream must be moved away: it is rebuilt from the stream)",
                     self->name, (uint64_t) c->have, info.leader, info.last_seq);
        return EVS_JS_UNAVAILABLE;
    }
    if (info.last_seq == c->have)
        return 0;
    s_import_t im = {self, NULL, 0, 0, 0, 0, 0};
    rc = evs_js_read(c->log, c->have + 1, info.last_seq, s_import_one, &im);
    /* what the batch holds is whole groups (one that does not apply ends it): kept, also
     * when the read stopped after them */
    int committed = s_import_commit(&im);
    return rc != 0 ? rc : committed;
}

/* ------------------------------------------------------------------ start, stop */

int svci_cluster_open(svci_svc_t *self)
{
    const char *n = self->name;
    const char *store = svc_config_get(self->config, n, "store", "lmdb");
    if (streq(store, "lmdb"))
        return 0;
    if (!streq(store, "jetstream")) {
        zsys_error("%s: store must be lmdb or jetstream, not '%s'", n, store);
        return -1;
    }
    svci_cluster_t *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    self->cluster = c;
    const char *host = svc_config_get(self->config, n, "host", NULL);
    char hostname[64] = "";
    if (!host) {
        gethostname(hostname, sizeof hostname - 1);
        host = hostname;
    }
    snprintf(c->instance, sizeof c->instance, "%s@%s", n, host);
    for (char *p = c->instance; *p; p++)
        if (!(isalnum((unsigned char) *p) || *p == '-' || *p == '_' || *p == '.' || *p == '@'))
            *p = '-';
    /* a new writer id each start: a group of an earlier run is never taken for ours */
    uint8_t inc[4];
    randombytes_buf(inc, sizeof inc);
    snprintf(c->writer, sizeof c->writer, "%.50s.%02x%02x%02x%02x", c->instance, inc[0], inc[1],
             inc[2], inc[3]);
    for (char *p = c->writer; *p; p++)
        if (*p == '@')
            *p = '_';   /* the message id's writer: [A-Za-z0-9_.-] */
    c->ttl_ms = atoi(svc_config_get(self->config, n, "js_lease_ttl_ms", "3000"));
    int timeout_ms = atoi(svc_config_get(self->config, n, "js_timeout_ms", "1000"));
    if (c->ttl_ms < S_RENEW_MS + S_MARGIN_MS + timeout_ms) {
        /* a renewal asked at most S_RENEW_MS after the last must be answered (within
         * js_timeout_ms) before appends stop, S_MARGIN_MS before the TTL */
        zsys_error("%s: js_lease_ttl_ms (%d) must be at least %d + %d + js_timeout_ms (%d)",
                   n, c->ttl_ms, S_RENEW_MS, S_MARGIN_MS, timeout_ms);
        return -1;
    }
    evs_js_opts_t o = {0};
    o.servers = svc_config_get(self->config, n, "js_servers", NULL);
    o.name = c->instance;
    o.creds_file = svc_config_get(self->config, n, "js_creds", NULL);
    o.tls_ca = svc_config_get(self->config, n, "js_tls_ca", NULL);
    o.replicas = atoi(svc_config_get(self->config, n, "js_replicas", "3"));
    o.timeout_ms = timeout_ms;
    if (!o.servers) {
        zsys_error("%s: store = jetstream needs js_servers", n);
        return -1;
    }
    int rc = evs_js_connect(&o, &c->js);
    if (rc == 0)
        rc = evs_js_wait_ready(c->js, 30000);
    if (rc == 0)
        rc = evs_js_log_open(c->js, self->name, EVS_JS_CREATE, &c->log);
    if (rc == 0)
        rc = evs_js_vault_open(c->js, self->name, EVS_JS_CREATE, &c->vault);
    if (rc != 0) {
        zsys_error("%s: JetStream at %s: %s (%s)", n, o.servers, evs_js_strerror(rc),
                   evs_js_error());
        return -1;
    }
    if (svci_cluster_secret(self) != 0)
        return -1;
    uint64_t head = 0, have = 0;
    rc = evs_checkpoint(self->store, S_STREAM_CKPT, &have);
    c->have = have;
    if (rc == 0)
        rc = evs_head(self->store, &head, NULL);
    if (rc != 0)
        return -1;
    if (head > 0 && c->have == 0) {
        zsys_error("%s: the local log holds %" PRIu64 " events written without the stream: "
                   "move it into the stream first (`tpctl log import`)",
                   n, head);
        return -1;
    }
    /* the local copy up to the stream's end before the state is built */
    int64_t t0 = zclock_usecs();
    uint64_t had = c->have;
    rc = s_follow(self);
    for (int i = 0; i < 60 && (rc == EVS_JS_UNAVAILABLE || rc == EVS_JS_TIMEOUT); i++) {
        zclock_sleep(500);   /* a cluster electing a leader, or one that is behind */
        rc = s_follow(self);
    }
    if (rc != 0) {
        zsys_error("%s: cannot read the stream into the local copy: %s (%s)", n,
                   evs_js_strerror(rc), evs_js_error());
        return -1;
    }
    zsys_info("%s: instance %s of %s: local copy at stream group %" PRIu64 " (%" PRIu64
              " read in %.1f ms); standby until it holds the lease",
              n, c->instance, evs_js_log_stream(c->log), c->have, c->have - had,
              (double) (zclock_usecs() - t0) / 1000.0);
    return 0;
}

int svci_cluster_keep(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    if (!c)
        return 0;
    /* the lease's value: the instance, in the characters a lease allows */
    char id[EVS_JS_MAX_NAME + 1];
    snprintf(id, sizeof id, "%s", c->instance);
    for (char *p = id; *p; p++)
        if (*p == '@')
            *p = '.';
    int rc = evs_js_lease_new(c->js, self->name, id, c->ttl_ms, &c->lease);
    if (rc != 0) {
        zsys_error("%s: the lease bucket: %s (%s)", self->name, evs_js_strerror(rc),
                   evs_js_error());
        return -1;
    }
    c->keeper_args = (s_keeper_args_t) {c->lease, c->instance, c->ttl_ms, &c->valid_until};
    c->keeper = zactor_new(s_keeper, &c->keeper_args);
    if (!c->keeper) {
        zsys_error("%s: cannot start the lease's thread", self->name);
        return -1;
    }
    zpoller_add(self->poller, c->keeper);
    c->next_follow = zclock_mono() + S_FOLLOW_MS;
    return 0;
}

void svci_cluster_close(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    if (!c)
        return;
    if (self->deposed && c->keeper)
        zstr_send(c->keeper, "KEEP");
    zactor_destroy(&c->keeper);   /* a clean stop releases the lease */
    evs_js_lease_destroy(&c->lease);
    evs_js_vault_destroy(&c->vault);
    evs_js_log_destroy(&c->log);
    evs_js_destroy(&c->js);
    free(c);
    self->cluster = NULL;
}

bool svci_active(const svci_svc_t *self)
{
    return !self->cluster || self->cluster->active;
}

const char *svci_cluster_instance(const svci_svc_t *self)
{
    return self->cluster ? self->cluster->instance : self->name;
}

/* ------------------------------------------------------------------ the loop */

/* The lease is ours: the stream's groups to its end, then we write after them. */
static void s_activate(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    int64_t t0 = zclock_usecs();
    int rc = s_follow(self);
    if (rc == EVS_JS_UNAVAILABLE || rc == EVS_JS_TIMEOUT) {
        /* the stream electing a leader, say: nothing written yet, the lease kept; tried
         * again at the next turn */
        if (!c->activating)
            zsys_warning("%s: took the lease; the stream cannot be read to its end yet: %s "
                         "(%s); trying again",
                         self->name, evs_js_strerror(rc), evs_js_error());
        c->activating = true;
        c->next_follow = zclock_mono() + S_FOLLOW_MS;
        return;
    }
    if (rc != 0) {
        zsys_error("%s: took the lease but cannot read the stream to its end: %s (%s); "
                   "stepping down",
                   self->name, evs_js_strerror(rc), evs_js_error());
        svci_cluster_step_down(self, false);
        return;
    }
    c->activating = false;
    c->stamped = c->written = c->have;
    c->active = true;
    zsys_info("%s: active: instance %s writes %s after group %" PRIu64 " (caught up in %.1f ms)",
              self->name, c->instance, evs_js_log_stream(c->log), c->have,
              (double) (zclock_usecs() - t0) / 1000.0);
    if (svci_start_upstreams(self) != 0) {
        zsys_error("%s: cannot follow the upstreams; stopping", self->name);
        exit(70);
    }
    svci_personal_mend_cluster(self);
    int64_t now = zclock_mono();
    self->next_tick = now;
    self->next_heartbeat = now;
    self->witness_due = now + self->witness_interval_ms;
}

void svci_cluster_keeper(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    char *msg = zstr_recv(c->keeper);
    if (!msg)
        return;
    if (streq(msg, "ACTIVE") && !c->active)
        s_activate(self);
    else if (streq(msg, "LOST") && c->activating)
        c->activating = false;   /* nothing was written: a standby as before */
    else if (streq(msg, "LOST") && c->active) {
        /* appends stop by themselves (valid_until); what is in flight finishes or fails */
        svci_drain(self);
        if (!self->deposed)
            svci_cluster_step_down(self, false);
    }
    zstr_free(&msg);
}

void svci_cluster_turn(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    if (!c || c->active || self->deposed || zclock_mono() < c->next_follow)
        return;
    if (c->activating) {
        s_activate(self);   /* the lease is ours: the stream to its end, then we write */
        return;
    }
    int rc = s_follow(self);
    if (rc == EVS_CORRUPT || rc == EVS_MISMATCH || rc == EVS_BAD_BATCH) {
        zsys_error("%s: the stream does not continue the local copy; stopping", self->name);
        exit(70);
    }
    if (rc != 0)
        zsys_warning("%s: reading the stream: %s (%s)", self->name, evs_js_strerror(rc),
                     evs_js_error());
    c->next_follow = zclock_mono() + S_FOLLOW_MS;
}

int64_t svci_cluster_next(const svci_svc_t *self)
{
    const svci_cluster_t *c = self->cluster;
    return c && !c->active ? c->next_follow : INT64_MAX;
}

zsock_t *svci_cluster_sock(svci_svc_t *self)
{
    /* what zpoller_wait() returns for it: the actor as it was added */
    return self->cluster && self->cluster->keeper ? (zsock_t *) self->cluster->keeper : NULL;
}

/* ------------------------------------------------------------------ writing */

int svci_cluster_stamp(svci_svc_t *self, evs_batch_t *batch)
{
    svci_cluster_t *c = self->cluster;
    if (!c || evs_batch_empty(batch))
        return 0;
    if (!c->active)
        return EVS_CONFLICT;   /* a standby writes nothing */
    if (c->erased_done > c->erased_stamped) {
        int rc = evs_batch_checkpoint(batch, S_ERASED_CKPT, c->erased_done);
        if (rc != 0)
            return rc;
        c->erased_stamped = c->erased_done;
    }
    return evs_batch_checkpoint(batch, S_STREAM_CKPT, ++c->stamped);
}

int svci_write(svci_svc_t *self, evs_batch_t *batch)
{
    svci_cluster_t *c = self->cluster;
    if (!c || evs_batch_empty(batch))
        return evs_batch_commit(batch);   /* nothing for the stream (and no "$stream") */
    uint8_t *body = NULL;
    size_t len = 0;
    int rc = evs_group_encode(batch, &body, &len);
    if (rc != 0)
        return rc;
    uint64_t seq = c->written + 1;
    int64_t warned = 0, since = zclock_mono();
    while (true) {
        if (zclock_mono() >= atomic_load(&c->valid_until)) {
            rc = SVCI_LEASE_LOST;
            break;
        }
        if (zclock_mono() - since > S_APPEND_GIVE_UP_MS) {
            /* the stream has not answered for long (gone, or no leader): another instance
             * may do better; this one steps down */
            zsys_error("%s: group %" PRIu64 " not acknowledged for %d s; stepping down",
                       self->name, seq, S_APPEND_GIVE_UP_MS / 1000);
            rc = SVCI_LEASE_LOST;
            break;
        }
        evs_js_ack_t ack = {0};
        rc = evs_js_append_raw(c->log, c->writer, seq, seq - 1, body, len, &ack);
        if (rc == 0 && ack.seq != seq)
            rc = EVS_CORRUPT;
        if (rc != EVS_JS_TIMEOUT && rc != EVS_JS_UNAVAILABLE)
            break;
        /* the outcome is unknown: the same group again is stored once (its message id) */
        if (zclock_mono() - warned > 1000) {
            zsys_warning("%s: group %" PRIu64 " not acknowledged yet: %s (%s); trying again",
                         self->name, seq, evs_js_strerror(rc), evs_js_error());
            warned = zclock_mono();
        }
        zclock_sleep(20);
    }
    free(body);
    if (rc == EVS_CONFLICT)
        zsys_error("%s: the stream refused group %" PRIu64 ": another instance wrote after %"
                   PRIu64 " (%s)",
                   self->name, seq, seq - 1, evs_js_error());
    if (rc == EVS_JS_TOO_BIG) {
        /* decided and applied already: only a step-down (the state built anew) undoes it;
         * SVCI_GROUP_BYTES keeps groups well under the servers' max_payload */
        zsys_error("%s: group %" PRIu64 " of %zu bytes is over the servers' max_payload; "
                   "stepping down",
                   self->name, seq, len);
        rc = SVCI_LEASE_LOST;
    }
    if (rc != 0)
        return rc;
    c->written = seq;
    c->have = seq;
    return evs_batch_commit(batch);
}

bool svci_cluster_fenced(int rc)
{
    return rc == EVS_CONFLICT || rc == SVCI_LEASE_LOST;
}

/* Requests decided but not durable: answered "not_active", so that their clients send
 * them to the instance that writes now (where the same request ids are answered once). */
static void s_refuse_all(svci_svc_t *self, svci_pending_t *pending, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        svci_pending_t *p = &pending[i];
        if (!p->handed_off) {
            free(p->reply);
            p->reply = NULL;
            svci_not_active(self, p);
            svci_send_reply(self, p);
        }
        svci_pending_clear(p);
    }
}

void svci_cluster_step_down(svci_svc_t *self, bool inflight_done)
{
    if (self->deposed)
        return;
    self->deposed = true;
    if (self->cluster)
        self->cluster->active = false;
    zsys_warning("%s: stepping down: nothing more is written by this instance; it starts "
                 "again as a standby",
                 self->name);
    /* keys made for groups that are not appended: never kept (the stream may come to
     * hold another instance's key for the same subject) */
    if (self->vault)
        evs_vault_discard(self->vault);
    if (self->open)
        evs_batch_end(&self->open);
    if (self->inflight) {
        if (self->pipeline && !inflight_done) {
            int rc = 0;
            uint64_t us = 0;
            zsock_recv(self->committer, "i8", &rc, &us);   /* it fails: nothing after */
        }
        evs_batch_end(&self->inflight);
    }
    s_refuse_all(self, self->inflight_pending, self->inflight_n);
    s_refuse_all(self, self->pending, self->open_n);
    self->inflight_n = self->open_n = 0;
}

/* ------------------------------------------------------------------ keys, secret */

/* Whether a call to the key stream that gave @p rc is made again: only while the cluster
 * elects or cannot be reached, 100 ms apart, @p most times in all. */
static bool s_again(int rc, int *tries, int most)
{
    if ((rc != EVS_JS_TIMEOUT && rc != EVS_JS_UNAVAILABLE) || ++*tries >= most)
        return false;
    zclock_sleep(100);
    return true;
}

/* The data subjects' keys of a cluster: in the service's key stream as well
 * (evs_js_vault.h), where every instance finds them; each instance keeps those it used
 * in its own key store (evs_vault.h), fetched when first needed. */

int svci_cluster_key(svci_svc_t *self, const char *subject, bool create,
                     uint8_t key[SVC_SEAL_KEY_SIZE])
{
    svci_cluster_t *c = self->cluster;
    int rc, tries = 0;
    do
        rc = evs_js_vault_get(c->vault, subject, key);
    while (s_again(rc, &tries, S_KEY_TRIES));
    if (rc == 0)
        return evs_vault_put(self->vault, subject, key);   /* committed with the next */
    if (rc == EVS_NOTFOUND && create)
        return evs_vault_get_or_create(self->vault, subject, key);
    if (rc != EVS_NOTFOUND && rc != EVS_ERASED)
        zsys_error("%s: the key of %s from the cluster's key store: %s (%s)", self->name,
                   subject, evs_js_strerror(rc), evs_js_error());
    return rc == EVS_NOTFOUND || rc == EVS_ERASED ? rc : EVS_CORRUPT;
}

int svci_cluster_keys_durable(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    if (!c || !c->active)
        return 0;   /* a standby's pending keys came from the key stream */
    const char *const *subjects = NULL;
    const uint8_t *keys = NULL;
    size_t n = evs_vault_pending_list(self->vault, &subjects, &keys);
    int rc = EVS_JS_TIMEOUT;
    while (n && (rc == EVS_JS_TIMEOUT || rc == EVS_JS_UNAVAILABLE)) {
        if (zclock_mono() >= atomic_load(&c->valid_until))
            return SVCI_LEASE_LOST;
        rc = evs_js_vault_put(c->vault, subjects, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) keys, n);
        if (rc == EVS_JS_TIMEOUT || rc == EVS_JS_UNAVAILABLE)
            zclock_sleep(20);
    }
    if (rc != 0 && n) {
        /* EVS_CONFLICT: another instance made another key for one of them, which only an
         * instance writing beside us can have done: we are not the writer any more */
        zsys_error("%s: cannot store %zu keys in the cluster's key store: %s (%s)", self->name,
                   n, evs_js_strerror(rc), evs_js_error());
        if (rc == EVS_CONFLICT)
            return SVCI_LEASE_LOST;
        exit(70);
    }
    return 0;
}

void svci_cluster_erase(svci_svc_t *self, const char *const *subjects, size_t n)
{
    svci_cluster_t *c = self->cluster;
    if (!c || !c->active)
        return;
    bool all = true;
    uint64_t head = 0;
    evs_head(self->store, &head, NULL);   /* the erasures' events are in the log by now */
    for (size_t i = 0; i < n; i++) {
        int rc, tries = 0;
        do
            rc = evs_js_vault_erase(c->vault, subjects[i]);
        while (s_again(rc, &tries, S_ERASE_TRIES));
        if (rc != 0) {
            /* the erasure is in the log: the next active instance erases it again */
            zsys_error("%s: cannot erase %s from the cluster's key store: %s (%s)",
                       self->name, subjects[i], evs_js_strerror(rc), evs_js_error());
            all = false;
        }
    }
    c->erase_failed |= !all;
    if (!c->erase_failed && head > c->erased_done)
        c->erased_done = head;
}

uint64_t svci_cluster_erased_done(svci_svc_t *self)
{
    uint64_t done = 0;
    if (self->cluster && evs_checkpoint(self->store, S_ERASED_CKPT, &done) != 0)
        done = 0;
    return done;
}

int svci_cluster_secret(svci_svc_t *self)
{
    svci_cluster_t *c = self->cluster;
    if (!c)
        return 0;
    /* the service's own key (tokens, keyed hashes) is the same on every instance: the
     * first one's, kept in the key stream; an instance whose own differs takes it */
    char subject[EVS_JS_MAX_NAME + 16];
    snprintf(subject, sizeof subject, "secret:%s", self->name);
    uint8_t theirs[SVC_SECRET_SIZE];
    _Static_assert(SVC_SECRET_SIZE == EVS_VAULT_KEY_SIZE, "the secret is kept as a key");
    int rc = evs_js_vault_get(c->vault, subject, theirs);
    if (rc == EVS_NOTFOUND) {
        const char *one[1] = {subject};
        rc = evs_js_vault_put(c->vault, one, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) self->secret,
                              1);
        if (rc == EVS_CONFLICT)   /* another instance stored its own first */
            rc = evs_js_vault_get(c->vault, subject, theirs);
        else if (rc == 0)
            memcpy(theirs, self->secret, sizeof theirs);
    }
    if (rc != 0) {
        zsys_error("%s: the service's secret in the cluster's key store: %s (%s)", self->name,
                   evs_js_strerror(rc), evs_js_error());
        return -1;
    }
    memcpy(self->secret, theirs, sizeof theirs);
    sodium_memzero(theirs, sizeof theirs);
    return 0;
}

void svci_cluster_status(svci_svc_t *self, Tp__Heartbeat *hb)
{
    svci_cluster_t *c = self->cluster;
    if (!c)
        return;
    hb->instance = c->instance;
    hb->role = c->active ? "active" : "standby";
    hb->stream_seq = c->have;
}
