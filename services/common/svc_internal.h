/* svc_internal.h: runtime internals shared by the svc_*.c files (not for services).
 *
 * The runtime is files by job around this header: svc.c (the actor), svc_arena.c,
 * svc_commit.c, svc_request.c, svc_rights.c, svc_worker.c, svc_upstream.c, svc_witness.c
 * and svc_out.c.
 * What one of them lends the others is named svci_ and declared here; what stays in its
 * file is static and named s_. */
#ifndef SVC_INTERNAL_H
#define SVC_INTERNAL_H

#include <stddef.h>
#include "evs_bus.h"
#include "evs_keys.h"
#include "evs_vault.h"
#include "evs_witness.h"
#include "svc.h"
#include "svc_addr.h"
#include "svc_lock.h"
#include "svc_mail.h"

typedef struct {
    char *stream_id;       /* owned */
    const char *type;      /* descriptor's short name (static) */
    const ProtobufCMessageDescriptor *desc;   /* its type (what is personal in it) */
    uint8_t *payload;      /* owned, serialized event */
    size_t len;
} svc_out_event_t;

typedef struct {
    char *stream_id;       /* owned */
    int64_t expected;
} svc_out_expect_t;

typedef struct {
    char *code, *field, *message;   /* owned */
} svc_out_error_t;

struct _svc_out_t {
    svc_out_event_t *events;    /* events in order */
    size_t n_events, cap_events;
    svc_out_expect_t *expects;  /* version expectations */
    size_t n_expects, cap_expects;
    svc_out_error_t *errors;    /* refusals */
    size_t n_errors, cap_errors;
    bool any_error;             /* set even when an error could not be stored */
    bool keep_events;           /* refused, but the events are written (svc_out_keep_events) */
    char **logs;                /* lines to log: first char the level */
    size_t n_logs, cap_logs;
    uint8_t *reply;             /* serialized reply message */
    size_t reply_len;
    char **erase;               /* data subjects to erase (svc_out_erase), owned */
    char **erase_reason;
    size_t n_erase, cap_erase;
};

#define SVCI_ID_MAX 256       /* longest ROUTER routing id we keep */

/* Bump allocation for what a group unpacks (requests, command bodies): all of it is let
 * go at once when the group is answered, instead of a malloc and a free per field. */
typedef struct svci_block {
    struct svci_block *next;  /* older block */
    size_t used, size;
    max_align_t data[];
} svci_block_t;
typedef struct {
    svci_block_t *head;       /* the block handed out from, newest first */
    ProtobufCAllocator pb;    /* for protobuf-c: alloc from this arena, free is a no-op */
} svci_arena_t;

/* One request taken off the ROUTER (or back from a worker). */
typedef struct {
    uint8_t id[SVCI_ID_MAX];  /* routing id */
    size_t id_len;
    Tp__Request *req;         /* NULL when it did not decode */
    bool in_arena;            /* req lives in its group's arena (not freed alone) */
    bool prepared;            /* came back from the worker pool */
    uint8_t *reply;           /* the answer to send, owned */
    size_t reply_len;
    bool deferred;            /* query or $read: answered after the commit */
    bool reads_state;         /* deferred, and answered from the state in memory */
    bool handed_off;          /* sent to a worker; no answer now */
    size_t size;              /* the request's bytes as received */
    unsigned who;             /* the sender as its key says (SVC_VISITOR ...; 0: a key
                                 with no rights here but "$status") */
    bool gateway_reads;       /* the gateway, and "gateway" is one of our followers: it
                                 may "$read" (its live updates) */
} svci_pending_t;

typedef struct svci_cluster svci_cluster_t;   /* svc_cluster.c */

/* svci_write(): the lease ran out before the group could be appended */
#define SVCI_LEASE_LOST (-31190)
/* store = jetstream: requests taken into one group, in bytes at most (one more request
 * beyond it ends the taking); a group is one stream message, under the servers'
 * max_payload */
#define SVCI_GROUP_BYTES (1 << 20)

/* A service actor's runtime: one per svc_actor. */
typedef struct {
    const svc_def_t *def;     /* the core */
    char name[64];            /* instance name (topic prefix, data folder) */
    zconfig_t *config;        /* borrowed */
    svc_lock_t *lock;         /* this process's hold on the data folder */
    evs_t *store;             /* our log (with store = jetstream: the local copy) */
    svci_cluster_t *cluster;  /* store = jetstream: the stream, the lease; NULL: lmdb */
    bool deposed;             /* stepped down: answers nothing more, writes nothing;
                                 svc_main starts the actor again as a standby */
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
    svc_rate_t *slow_rate;    /* visitors' budget of slow work per client address */
    size_t slow_queued;       /* requests handed to the pool and not back yet */
    size_t slow_queue_max;    /* most of them at once (slow_queue_max) */
    uint64_t slow_throttled;  /* requests refused by the budget or the queue bound */
    int64_t slow_delay_ms;    /* such refusals are answered this late (slow_refusal_delay_ms) */
    zlistx_t *held;           /* refusals waiting to be answered (svci_held_t), oldest first */
    evs_vault_t *vault;       /* the key store of the data subjects (svc_personal.c) */
    zhashx_t *up_keys;        /* "upstream|subject" -> key hex ("-": erased), in memory */
    evs_client_t **key_clients;   /* per upstream: "$keys" (created when first needed) */
    char **erase_pending;     /* subjects whose erasure is in the log, key not yet deleted */
    char **erase_pending_reason;
    size_t n_erase_pending;
    uint64_t mend_from;       /* store = jetstream: erasures up to this seq are done in the
                                 key stream (svci_personal_mend_cluster) */
    int64_t window_hour;      /* the hour whose windows were last looked at */
    int64_t window_hours;     /* setting window_hours */
    evs_sub_t **subs;         /* one per upstream */
    size_t n_subs;
    uint64_t *ckpt_pending;   /* per upstream: a checkpoint past skipped events that no
                                 commit has carried yet (0: none) */
    uint8_t (*ckpt_pending_hash)[EVS_HASH_SIZE]; /* per upstream: the hash of its record
                                 at that checkpoint */
    int64_t *alarm_next;      /* per upstream that contradicted what we took: when its
                                 alarm is logged again (zclock_mono(); 0: no alarm) */
    uint8_t witness_pk[EVS_WITNESS_PK]; /* our witness key (evs_witness.h) */
    uint8_t witness_sk[EVS_WITNESS_SK];
    int64_t witness_interval_ms; /* sign the head at least this often while writing */
    int64_t witness_due;      /* zclock_mono() when the head is signed next, if it moved */
    bool witness_dirty;       /* events other than witness events were written since the
                                 last signed head (only those make a new one: recording
                                 an upstream's head must not, or two services that follow
                                 each other would sign each other's records forever) */
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
    svci_pending_t *pending;  /* batch_max slots: the group being taken and decided */
    zactor_t *committer;      /* writes sealed batches (evs_batch_commit) off the loop */
    evs_batch_t *open;        /* the group being decided (requests pending[0..open_n)) */
    size_t open_n;
    bool open_barrier;        /* it has answers to give from the state */
    evs_batch_t *inflight;    /* the group handed to it and not finished, or NULL */
    svci_pending_t *inflight_pending; /* its requests (batch_max slots) */
    svci_arena_t arenas[2];   /* what the two groups unpacked: */
    svci_arena_t *pending_arena; /* the open group's (swapped with the arrays) */
    svci_arena_t *inflight_arena;/* the group in flight's */
    svci_arena_t scratch;     /* a command's body while it is decided */
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
} svci_svc_t;

/* What each worker of the pool is started with (svci_worker). */
typedef struct {
    const svc_def_t *def;
    char jobs_ep[128];
    char done_ep[128];
    const char *name;
    svc_clock_fn *clock;      /* the runtime's clock, for the requests' deadlines */
    void *clock_arg;
} svci_worker_args_t;

/* svc_arena.c */
void *svci_arena_alloc(void *data, size_t size);
void svci_arena_init(svci_arena_t *a);
void svci_arena_reset(svci_arena_t *a);
void svci_arena_destroy(svci_arena_t *a);

/* svc_commit.c: events into the state and the log, the groups */
int svci_event_from_record(const evs_record_t *rec, svc_event_t *ev,
                           char strbuf[2][EVS_MAX_ID + 1]);
bool svci_is_witness(const svc_event_t *ev);   /* a signed head: not for the core */
void svci_apply_appended(svci_svc_t *self, evs_batch_t *batch, uint64_t first, uint64_t last);
int svci_append_out(svci_svc_t *self, evs_batch_t *batch, const svc_out_t *out,
                    const char *correlation, const char *causation, const char *actor,
                    const char *request_id, const uint8_t *result, size_t result_len,
                    uint64_t *first, uint64_t *last);
void svci_flush_logs(svci_svc_t *self, svc_out_t *out);
void svci_commit_or_die(svci_svc_t *self, evs_batch_t **batch_p);
void svci_commit_checkpoints(svci_svc_t *self);
void svci_committer(zsock_t *pipe, void *args);
void svci_decide(svci_svc_t *self, size_t from, size_t to);
void svci_submit(svci_svc_t *self);
void svci_complete(svci_svc_t *self, bool next);
void svci_drain(svci_svc_t *self);

/* svc_cluster.c: the jetstream backend (one active instance, standbys) */
int svci_cluster_open(svci_svc_t *self);
int svci_cluster_keep(svci_svc_t *self);
void svci_cluster_close(svci_svc_t *self);
bool svci_active(const svci_svc_t *self);
const char *svci_cluster_instance(const svci_svc_t *self);
void svci_cluster_keeper(svci_svc_t *self);
void svci_cluster_turn(svci_svc_t *self);
int64_t svci_cluster_next(const svci_svc_t *self);
zsock_t *svci_cluster_sock(svci_svc_t *self);
int svci_cluster_stamp(svci_svc_t *self, evs_batch_t *batch);
int svci_write(svci_svc_t *self, evs_batch_t *batch);
bool svci_cluster_fenced(int rc);
void svci_cluster_step_down(svci_svc_t *self, bool inflight_done);
int svci_cluster_key(svci_svc_t *self, const char *subject, bool create,
                     uint8_t key[SVC_SEAL_KEY_SIZE]);
int svci_cluster_keys_durable(svci_svc_t *self);
void svci_personal_mend_cluster(svci_svc_t *self);
void svci_cluster_erase(svci_svc_t *self, const char *const *subjects, size_t n);
uint64_t svci_cluster_erased_done(svci_svc_t *self);
int svci_cluster_secret(svci_svc_t *self);
void svci_cluster_status(svci_svc_t *self, Tp__Heartbeat *hb);
int svci_own_key(void *arg, const char *subject, bool create, uint8_t key[SVC_SEAL_KEY_SIZE]);
void svci_personal_imported(svci_svc_t *self, const evs_record_t *rec);
void svci_apply_imported(svci_svc_t *self, evs_batch_t *batch, uint64_t first, uint64_t last);
int svci_start_upstreams(svci_svc_t *self);

/* svc_request.c: requests, replies, commands */
void svci_not_active(svci_svc_t *self, svci_pending_t *p);
int svci_take(svci_svc_t *self, zsock_t *sock, svci_pending_t *p);
void svci_reply_errors(svci_pending_t *p, const svc_out_t *out, const char *code,
                       const char *field, const char *message);
void svci_send_reply(svci_svc_t *self, svci_pending_t *p);
void svci_pending_clear(svci_pending_t *p);
const svc_command_t *svci_find_command(svci_svc_t *self, const char *wire);
void svci_answer_deferred(svci_svc_t *self, svci_pending_t *p);
int svci_decide_one(svci_svc_t *self, evs_batch_t *batch, svci_pending_t *p, int64_t now);

/* svc_rights.c: keys and rights */
int svci_start_keys(svci_svc_t *self);
bool svci_authenticate(svci_svc_t *self, svci_pending_t *p, const char *user_id);
bool svci_allowed(svci_svc_t *self, const svci_pending_t *p, const char *c);
void svci_forbid(svci_svc_t *self, svci_pending_t *p, const char *c);
const char *svci_actor(const Tp__RequestHeader *h, char *out, size_t outsz);

/* svc_witness.c: signed heads, and upstreams that contradict what was taken */
int svci_witness_start(svci_svc_t *self);
void svci_witness_due(svci_svc_t *self, bool stopping);
int svci_witness_record(svci_svc_t *self, evs_batch_t *batch, const char *upstream,
                        const evs_record_t *rec, const evs_view_t *view);
void svci_witness_alarms(svci_svc_t *self, size_t only);

/* svc_worker.c: the worker pool */
void svci_worker(zsock_t *pipe, void *args);
bool svci_admit(svci_svc_t *self, svci_pending_t *p, int64_t now);
int64_t svci_held_next(svci_svc_t *self);
void svci_held_due(svci_svc_t *self, bool all);
void svci_hand_off(svci_svc_t *self, svci_pending_t *p, const svc_command_t *cmd, int64_t now);
int svci_take_done(svci_svc_t *self, svci_pending_t *p);

/* svc_upstream.c: subscriptions, timers, mail */
void svci_follow(svci_svc_t *self, size_t i, zsock_t *which);
void svci_live_waiting(svci_svc_t *self, size_t i);
void svci_live_due(svci_svc_t *self, bool all);
void svci_tick(svci_svc_t *self);
void svci_mailer(zsock_t *pipe, void *args);
void svci_mail_poll(svci_svc_t *self);
void svci_mail_done(svci_svc_t *self);

/* svc_personal.c: sealing personal data (svc_seal.h) */
int svci_personal_open(svci_svc_t *self, const char *dir);
void svci_personal_close(svci_svc_t *self);
int svci_personal_mend(svci_svc_t *self, bool *rebuild);
void svci_personal_after_commit(svci_svc_t *self);
int svci_keys_durable(svci_svc_t *self);
int svci_seal_event(svci_svc_t *self, const svc_out_event_t *e, int64_t now_us,
                    char event_id[33], uint8_t **sealed, size_t *sealed_len);
int svci_open_record(svc_key_fn *keys, void *arg, const char *service, const evs_record_t *rec,
                     svc_event_t *ev, uint8_t **opened);
bool svci_is_erasure(const svc_event_t *ev);
bool svci_view_is_erasure(const evs_view_t *v);
int svci_seal_reply(svci_svc_t *self, const svc_command_t *cmd, const char *request_id,
                    const uint8_t *reply, size_t len, uint8_t **sealed, size_t *sealed_len);
int svci_open_reply(svci_svc_t *self, const svc_command_t *cmd, const char *request_id,
                    const uint8_t *kept, size_t len, uint8_t **opened, size_t *opened_len);
int svci_append_erasure(svci_svc_t *self, evs_batch_t *batch, const char *subject,
                        const char *reason, const char *causation);
bool svci_reads_personal(const svci_svc_t *self, const char *upstream);
int svci_fetch_keys(svci_svc_t *self, size_t index, const char *upstream,
                    const evs_record_t *recs, size_t n);
int svci_open_upstream(svci_svc_t *self, const char *upstream, const evs_record_t *rec,
                       svc_event_t *ev, uint8_t **opened);
bool svci_upstream_erasure(svci_svc_t *self, const char *upstream, const svc_event_t *ev,
                           char *subject, size_t subjectsz, char *reason, size_t reasonsz);
void svci_answer_keys(svci_svc_t *self, svci_pending_t *p);
void svci_personal_windows(svci_svc_t *self, int64_t now_us, svc_out_t *out);
bool svci_reply_msg(svci_pending_t *p, const ProtobufCMessage *msg);

#endif
