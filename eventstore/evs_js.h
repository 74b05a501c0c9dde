/* evs_js.h: a service's log of record on a NATS JetStream cluster: the connection, one
 * stream per service that groups are appended to with the expected last sequence, reading
 * them back, and the one-writer lease in a key-value bucket.
 *
 * @mainpage The replicated log
 *
 * The embedded log (evs.h) keeps a service's history on one disk. With several hosts the
 * log of record is a JetStream stream instead, replicated by the cluster's Raft groups;
 * the service keeps a local copy (an evs.h log) that it rebuilds from the stream. This
 * module is the layer under that: it moves groups in and out of the stream and holds the
 * lease, and knows nothing of envelopes, hash chains or request ids. The keys of the
 * service's data subjects (evs_vault.h) have a stream of their own, which allows deletes:
 * evs_js_vault.h.
 *
 * Streams. Service "order" has the stream `TP_ORDER` with the one subject `tp.order.log`:
 * file storage, EVS_JS_REPLICAS replicas (opts), retention by limits with no limit at all
 * (no max messages, bytes, age or messages per subject), discard new (were a limit ever
 * set, a write would be refused, never an old group dropped), message deletion and purge
 * denied, no roll-ups, and a duplicate window (opts, 2 minutes by default). A stream found
 * with anything that can drop a group is refused (EVS_MISMATCH), never changed.
 *
 * Groups. One message per group (what one commit of the service writes). Its body is
 * the caller's (evs_js_append_raw(): the runtime gives evs_group_encode()'s bytes, records
 * with request results and checkpoints, see evs_group.h), or records framed as the bus
 * frames a run of events (evs_js_append(): per record a u32 big-endian length, then its
 * bytes). It carries the message id "<writer>:<n>" (Nats-Msg-Id: the writing instance and
 * a number that names the group among the writer's: the stream sequence it will get, as
 * the runtime passes it, or for evs_js_append() the group's first log sequence), so a
 * retry of the same group is stored once, and the header Nats-Expected-Last-Sequence: the stream
 * sequence the writer believes is the last. The server refuses the group when another
 * one was stored after that (JetStream error 10071, "wrong last sequence"), which comes
 * back as EVS_CONFLICT: a writer that was deposed, whose lease another instance took,
 * learns it at its first append and can never add to the log. Stream sequences are
 * gapless from 1 (nothing is ever deleted), so group n of the stream is stream sequence n.
 *
 * What an acknowledgement means, with Debian 12's nats-server 2.9.10 (read in its
 * sources at tag v2.9.10, github.com/nats-io/nats-server):
 *  - A group is acknowledged when the stream's leader applies it, after its Raft entry was
 *    stored by a quorum (2 of 3) of the stream's servers (jetstream_cluster.go,
 *    processClusteredInboundMsg proposes; stream.go, processJetStreamMsg answers on the
 *    leader after the commit). evs_js_append() returns 0 only after that answer.
 *  - Stored means written to the servers' files (the stream's store and the Raft log write
 *    each message as it comes, AsyncFlush off), not flushed to the disk: the stream's
 *    files are fsync'ed every 2 minutes (stream.go sets SyncInterval to 2 minutes) and the
 *    Raft log's every 5 minutes (jetstream_cluster.go). A server process killed loses
 *    nothing it acknowledged (the cluster suite kills one under appends: tests/cluster/);
 *    a power cut that takes a quorum at once can lose what was acknowledged in the last
 *    minutes. nats-server 2.9.10 has no setting for this: it refuses `sync_interval` in
 *    its jetstream block ("unknown field", tried here). From 2.10.0 `jetstream {
 *    sync_interval: always }` fsyncs every write of the stream stores (opts.go; stream.go
 *    passes SyncAlways to the store), but the Raft log keeps its 5 minutes until 2.11.0,
 *    which passes the setting to the Raft groups' stores too (jetstream_cluster.go at
 *    v2.11.0). docs.nats.io documents the setting (reference/config/jetstream/
 *    sync_interval) and its 2-minute default (nats-concepts/jetstream, "Syncing data to
 *    disk").
 *  - Fencing. Nats-Expected-Last-Sequence (the stream's last sequence, what appends here
 *    use) is checked in processJetStreamMsg when each replica applies the entry, in Raft
 *    order, clustered or not (stream.go, "Expected last sequence"), so of two appends that
 *    name the same last sequence at most one is stored, even when they race through one
 *    leader: the cluster suite races two writers on two servers, 40 rounds, and one is
 *    stored every time. The per-subject form, Nats-Expected-Last-Subject-Sequence, on
 *    which the key-value bucket's compare-and-set rests, is only checked by the leader
 *    before it proposes when the stream is clustered and the expected sequence is not 0,
 *    so two concurrent publishes naming the same one can both be stored: nats-server issue
 *    4320, fixed in 2.9.21 (commit 244dda8: the check also runs at apply). With 2.9.10 the
 *    suite sees both stored in most of 40 rounds. The lease below is built around it.
 *  - A lost leader. A stream's Raft group elects a new leader after an election timeout of
 *    4 to 9 s (raft.go: minElectionTimeoutDefault, maxElectionTimeoutDefault; not a
 *    setting in 2.9.10): appends wait that long when the server leading the stream dies
 *    (4 to 7 s in the suite's runs), and so do the lease's renewals when it leads the
 *    bucket. A lease TTL shorter than that gives the lease up when the bucket's leader
 *    dies, although its holder is well: a standby then takes over, and the log's fencing
 *    keeps that safe.
 *  - A paused leader. A stream's leader stopped (SIGSTOP) and continued sometimes keeps a
 *    store that ends where it was paused, while the new leader reports it current with lag
 *    0 (lag counts Raft entries, not the store); once it leads again, reads and the
 *    stream's last sequence stop there (tests/cluster/js_partition.c with
 *    TP_PARTITION_LEADER=1: 4 of 10 runs, watched for 150 s). Appends naming the true last
 *    sequence are then refused, and a reader sees the stream end before what it holds:
 *    the runtime waits (svc_cluster.c). A paused follower caught up within a second in
 *    every run.
 *
 * The lease. One active instance per service holds the key "<service>" in the key-value
 * bucket EVS_JS_LEASE_BUCKET ("tp_leases", file storage, the same replicas, history 1):
 * its value is the holder's instance id. It is taken by creating the key (naming subject
 * sequence 0, which 2.9.10 checks at apply: of two racing, one wins); over a released key
 * (a delete marker) by naming its revision and the bucket's last sequence, the latter
 * fenced as above (the suite races two instances over a release); renewed by writing it
 * again naming the revision last written, a revision no other instance names; released by
 * a delete marker naming that revision. nats-server 2.9.10 has no per-key time to live
 * (per-message TTLs came with 2.11.0: AllowMsgTTL); the bucket's TTL is its stream's max
 * age, and a renewal replaces the key's only message, so the key vanishes max age after
 * the last renewal: each server expires messages on a timer set to the oldest one's time
 * plus max age (filestore.go, expireMsgs and resetAgeChk), and the suite measures the key
 * gone 20 to 50 ms after the TTL. Nothing tells a watcher about it (no marker is written:
 * see evs_js_lease_watch()), so a standby tries evs_js_lease_acquire() at intervals. With
 * a TTL of 3 s, renewals every second and a standby trying every 500 ms, a standby takes
 * over at most about 3.5 s after the holder's last renewal. The times are the servers'
 * clocks: each replica expires the key on its own clock, against the time the stream's
 * leader gave the message. Each replica also checks "no message" (subject sequence 0)
 * against its own store, where the key may expire a few milliseconds later than on the
 * leader: a replica that still holds it refuses an acquire the others store, and the
 * replicas differ from then on (read in the sources, not seen here; nats-server PR 5794,
 * in 2.10.19, describes that desync and adds the check on the leader before it proposes).
 *
 * Threads: libnats's connection may be shared by threads; an evs_js_log_t or
 * evs_js_lease_t is used by one thread at a time (several may exist on one evs_js_t, e.g.
 * the lease renewed on a timer thread while the loop appends). evs_js_error() is per
 * thread.
 */
#ifndef EVS_JS_H
#define EVS_JS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evs.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup errors Return codes
 * 0 is success; failures are negative: these, the EVS_ codes of evs.h that are named
 * where they apply (EVS_CONFLICT, EVS_NOTFOUND, EVS_INVALID, EVS_MISMATCH, EVS_CORRUPT),
 * and -ENOMEM. evs_js_strerror() names all of them; evs_js_error() gives the details.
 * @{ */
/** No server reachable, or JetStream said it cannot serve now: no responders on the
 *  subject, no leader for the stream or the cluster yet (error 10008), the stream
 *  offline. Nothing was written by the call. */
#define EVS_JS_UNAVAILABLE (-31100)
/** No answer in time, or the connection was lost while waiting for it. For an append the
 *  outcome is unknown: the group may be stored (libnats even keeps what is published
 *  while it reconnects and sends it once it is back). Append the same group again (the
 *  same writer, first_seq and expected last): it is then stored once. */
#define EVS_JS_TIMEOUT (-31101)
/** The servers refused the credentials or the TLS handshake, or a permission. */
#define EVS_JS_AUTH (-31102)
/** A group larger than the servers' max_payload (1 MiB unless configured). */
#define EVS_JS_TOO_BIG (-31103)
/** JetStream answered with another error (evs_js_error() has its code and text). */
#define EVS_JS_SERVER (-31104)
/** @} */

/** Replicas of what evs_js_log_open() and evs_js_lease_new() create, unless opts say. */
#define EVS_JS_REPLICAS 3
/** The key-value bucket of the leases. */
#define EVS_JS_LEASE_BUCKET "tp_leases"
/** Longest service name, writer id and instance id accepted, in bytes. */
#define EVS_JS_MAX_NAME 64
/** evs_js_get()'s sequence for "the last group". */
#define EVS_JS_LAST 0

typedef struct _evs_js_t evs_js_t;
typedef struct _evs_js_log_t evs_js_log_t;
typedef struct _evs_js_lease_t evs_js_lease_t;

/** Options of evs_js_connect(). Zero-initialise and set what you need; strings are
 *  copied. */
typedef struct {
    const char *servers;    /**< required: the cluster's client URLs, comma-separated,
                                 e.g. "nats://10.0.0.1:4222,nats://10.0.0.2:4222"
                                 ("tls://" for TLS). The servers tell the client the others
                                 too, but list them all: the first connect uses this list */
    const char *name;       /**< the connection's name in the servers' monitoring (e.g.
                                 "order@host1"), or NULL */
    const char *creds_file; /**< a NATS credentials file (the user's JWT and NKey seed, as
                                 `nsc generate creds` writes it), or NULL: no credentials */
    const char *tls_ca;     /**< a PEM file with the CA certificates that signed the
                                 servers' certificates; set: TLS is required and the
                                 servers are verified against it; NULL: no TLS */
    int timeout_ms;         /**< connecting to one server, each JetStream request, and
                                 each append's acknowledgement; 0 = 5000 */
    int reconnect_wait_ms;  /**< between reconnect attempts to one server; 0 = 250 */
    int replicas;           /**< of the streams and the bucket created; 0 = EVS_JS_REPLICAS */
    int dup_window_ms;      /**< the duplicate window of the streams created: a retried
                                 group within it is recognised by its message id alone;
                                 0 = 120000 */
} evs_js_opts_t;

/**
 * @brief Name an error code.
 * @param[in] err a code returned by an evs_js_ function (or any evs_ code, or -errno)
 * @return a static string, never NULL
 */
const char *evs_js_strerror(int err);

/**
 * @brief What the last failing evs_js_ call of this thread was doing and why, e.g.
 * "append order-a:1200 after 41 to TP_ORDER: wrong last sequence: 42 (JetStream 10071)".
 * @return a per-thread string ("" before any failure), valid until this thread's next
 *         evs_js_ call
 */
const char *evs_js_error(void);

/**
 * @brief Connect to a JetStream cluster.
 *
 * Tries the servers until one accepts (each for opts->timeout_ms). Once connected, the
 * connection is kept up by libnats: a lost server is replaced by another of the cluster
 * (the list given and the ones the servers announce), forever, every reconnect_wait_ms;
 * it pings each second and takes a server that misses three answers for lost. Losing and
 * regaining it is logged (zsys). Calls made meanwhile fail with EVS_JS_UNAVAILABLE or
 * EVS_JS_TIMEOUT.
 * @param[in] opts the servers and the rest; NULL or no servers: EVS_INVALID
 * @param[out] out the connection; NULL on failure
 * @return 0, EVS_INVALID (no servers, a file that cannot be read), EVS_JS_UNAVAILABLE
 *         (no server answered), EVS_JS_AUTH, or -ENOMEM
 */
int evs_js_connect(const evs_js_opts_t *opts, evs_js_t **out);

/**
 * @brief Close the connection and free it; sets *self_p to NULL. Safe on NULL or twice.
 * Destroy the logs and leases made from it first.
 */
void evs_js_destroy(evs_js_t **self_p);

/** Whether the connection is up now (not reconnecting, not closed). */
bool evs_js_connected(evs_js_t *self);

/**
 * @brief Wait until JetStream answers: in a cluster, until its servers have elected the
 * leader of their metadata group (only that leader answers the account's info).
 * @return 0, or EVS_JS_UNAVAILABLE when @p timeout_ms passed first
 */
int evs_js_wait_ready(evs_js_t *self, int timeout_ms);

/* ------------------------------------------------------------------- the stream */

/** evs_js_log_open() flag: create the stream when it does not exist. */
#define EVS_JS_CREATE 0x1

/**
 * @brief The stream of service @p service: checked, and created when missing and
 * EVS_JS_CREATE is given.
 *
 * A stream found is checked against the configuration above: file storage, its one
 * subject, no limit that drops groups, deletes and purges denied, no roll-ups, no mirror
 * or sources, at least the replicas asked for. Two instances that create it at once end
 * with the one stream.
 * @param[in] service 1..EVS_JS_MAX_NAME bytes of [a-z0-9_-]
 * @param[out] out the stream's handle (it borrows @p js); NULL on failure
 * @return 0, EVS_NOTFOUND (missing, and no EVS_JS_CREATE), EVS_MISMATCH (it exists with
 *         another configuration: evs_js_error() says which setting), EVS_INVALID (a bad
 *         name), EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER, -ENOMEM
 */
int evs_js_log_open(evs_js_t *js, const char *service, unsigned flags, evs_js_log_t **out);

/** Free the handle (the stream stays); sets *self_p to NULL. Safe on NULL or twice. */
void evs_js_log_destroy(evs_js_log_t **self_p);

/** The stream's name ("TP_ORDER") and its subject ("tp.order.log"). */
const char *evs_js_log_stream(const evs_js_log_t *self);
const char *evs_js_log_subject(const evs_js_log_t *self);

/** What the stream's leader says of it (evs_js_log_info()). */
typedef struct {
    uint64_t first_seq; /**< first group's sequence (1, or 0 when empty) */
    uint64_t last_seq;  /**< last group's sequence, 0 when empty */
    uint64_t groups;    /**< groups held */
    uint64_t bytes;     /**< their size as stored */
    int replicas;       /**< configured */
    int current;        /**< servers with every group the leader has: the leader, and
                             each replica it names current (up to date with it) */
    char leader[64];    /**< the leading server's name ("" when none) */
} evs_js_info_t;

/**
 * @brief The stream's sequences, size and replication, as its leader says now.
 * @return 0, EVS_NOTFOUND (the stream was deleted), EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT,
 *         EVS_JS_SERVER
 */
int evs_js_log_info(evs_js_log_t *self, evs_js_info_t *info);

/** What an append got (evs_js_append()). */
typedef struct {
    uint64_t seq;   /**< on success the group's stream sequence; on EVS_CONFLICT
                         the stream's last sequence as the server named it (0: not
                         named) */
    bool duplicate; /**< on success: the stream already had this group (a retry),
                         seq is its place */
} evs_js_ack_t;

/**
 * @brief Append one group: the message body @p body, stored only when the stream's last
 * sequence is @p expect_last; returns after the acknowledgement (a quorum has it).
 *
 * A group that the stream already holds (the same @p writer and @p id_seq) is not
 * stored again: within the duplicate window the server says so; after it, the server
 * refuses the retry as a conflict and this call then looks at the group after
 * @p expect_last: when that one has this group's message id, the append had succeeded
 * (ack->duplicate). So EVS_JS_TIMEOUT and EVS_JS_UNAVAILABLE are answered by appending
 * the same group again, as often as needed.
 * @param[in] writer the writing instance's id: 1..EVS_JS_MAX_NAME bytes of
 *            [A-Za-z0-9_.-]; unique among the instances that may write the stream
 * @param[in] id_seq the message id's second half. With @p writer it names the group: a
 *            new group must get a pair never used before with another body. The runtime
 *            passes the stream sequence the group will get (@p expect_last + 1), which no
 *            two groups of a writer share, even groups that hold no record (a group of
 *            request results or checkpoints only has no log sequence of its own)
 * @param[in] expect_last the stream sequence the writer believes is last (0: the stream
 *            is empty)
 * @param[in] body the group's bytes (for the runtime: evs_group_encode()'s), sent as
 *            they are; NULL only with @p len 0
 * @param[out] ack may be NULL; see evs_js_ack_t
 * @return 0 (stored now, or found stored: ack->duplicate); EVS_CONFLICT (another group
 *         is at expect_last + 1, or the stream is shorter than expect_last: this writer
 *         is not the writer any more, or it is behind; nothing stored); EVS_JS_TOO_BIG;
 *         EVS_INVALID (a bad writer id, no body); EVS_JS_TIMEOUT, EVS_JS_UNAVAILABLE (try
 *         again; also what a deleted stream gives: nothing takes the subject);
 *         EVS_JS_SERVER; -ENOMEM
 */
int evs_js_append_raw(evs_js_log_t *self, const char *writer, uint64_t id_seq, uint64_t expect_last,
                      const uint8_t *body, size_t len, evs_js_ack_t *ack);

/**
 * @brief evs_js_append_raw() of @p n records framed as the bus frames a run of events
 * (evs_bus_events_put()), with @p first_seq, the group's first log sequence, as the
 * message id's number (evs_js_group_each() numbers the records from it).
 * @param[in] recs the records (their seq fields are not sent); n may be 0
 * @return as evs_js_append_raw(); EVS_INVALID also for a record over 4 GiB
 */
int evs_js_append(evs_js_log_t *self, const char *writer, uint64_t first_seq, uint64_t expect_last,
                  const evs_record_t *recs, size_t n, evs_js_ack_t *ack);

/** One group read from the stream (valid during the callback that is given it). */
typedef struct {
    uint64_t seq;        /**< its stream sequence */
    uint64_t first_seq;  /**< the number in its message id ("<writer>:<n>"; 0 if none):
                              the stream sequence the writer meant it for, as the runtime
                              appends (evs_js_append_raw()), or its first log sequence
                              for evs_js_append() */
    const char *writer;  /**< the instance that wrote it ("" if no message id) */
    int64_t time_ns;     /**< when the stream stored it, ns since the epoch (UTC) */
    const uint8_t *body; /**< the message body: a group (evs_group.h) as the runtime
                              appends, or the records framed by evs_js_append() */
    size_t len;
} evs_js_group_t;

/** Called per group; return 0 to go on, anything else to stop (it is returned). */
typedef int(evs_js_group_fn)(const evs_js_group_t *group, void *arg);

/**
 * @brief Call @p fn for each group from_seq <= seq <= to_seq that the stream held when
 * the call began, in order, each once.
 *
 * Each group is asked of the stream's leader (as evs_js_get()), one request after the
 * other: a read sees every acknowledged group, also while a server is down, at one round
 * trip per group (the cluster suite prints the rate). Not through a push consumer: an
 * ephemeral consumer lives on one server of the stream, and with 2.9.10 an ordered
 * consumer made right after a node was killed delivered nothing here for the whole
 * timeout (nats-server issue 5498 reports consumers placed on a server that is down).
 * A group missing in the middle (a stream whose deletes someone allowed and
 * used) is EVS_CORRUPT: the local copy must never skip one.
 * @param[in] from_seq 0 or 1 for the beginning
 * @param[in] to_seq UINT64_MAX for "to the last"
 * @return 0, fn's non-zero value when it stopped, EVS_CORRUPT (a gap), EVS_NOTFOUND (no
 *         stream), EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER
 */
int evs_js_read(evs_js_log_t *self, uint64_t from_seq, uint64_t to_seq, evs_js_group_fn *fn,
                void *arg);

/**
 * @brief Call @p fn with one group, read from the stream's leader.
 * @param[in] seq its stream sequence, or EVS_JS_LAST for the last one
 * @return 0, fn's value, EVS_NOTFOUND (no such group, an empty stream, no stream),
 *         EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER
 */
int evs_js_get(evs_js_log_t *self, uint64_t seq, evs_js_group_fn *fn, void *arg);

/**
 * @brief Call @p fn for each record of a @p group that evs_js_append() framed, in order,
 * with rec->seq set to the group's first_seq plus the record's index. (A body of
 * evs_group.h is read with evs_group_each().)
 * @return 0, fn's non-zero value, or EVS_CORRUPT when the body's framing is broken
 */
int evs_js_group_each(const evs_js_group_t *group, evs_record_fn *fn, void *arg);

/* -------------------------------------------------------------------- the lease */

/**
 * @brief A handle on service @p service's lease, for instance @p instance; binds to the
 * bucket EVS_JS_LEASE_BUCKET, creating it when missing with max age @p ttl_ms.
 *
 * Nothing is acquired yet. All instances of all services must use the same TTL: a bucket
 * found with another max age or fewer replicas is EVS_MISMATCH.
 * @param[in] service 1..EVS_JS_MAX_NAME bytes of [a-z0-9_-] (the key)
 * @param[in] instance 1..EVS_JS_MAX_NAME bytes of [A-Za-z0-9_.-] (the value)
 * @param[in] ttl_ms how long a lease lives after its last renewal (>= 100)
 * @return 0, EVS_INVALID, EVS_MISMATCH, EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER,
 *         -ENOMEM
 */
int evs_js_lease_new(evs_js_t *js, const char *service, const char *instance, int ttl_ms,
                     evs_js_lease_t **out);

/** Free the handle, without releasing (the lease expires by itself); sets *self_p to
 *  NULL. Safe on NULL or twice. */
void evs_js_lease_destroy(evs_js_lease_t **self_p);

/**
 * @brief Take the lease: create the key with our instance id; also over a released one
 * (a delete marker), naming its revision and the bucket's last sequence (see "The lease"
 * above).
 *
 * A key that holds our own instance id from an earlier run is still refused: it may be
 * another process started with the same id; it expires by itself.
 * @return 0 (we hold it), EVS_CONFLICT (another holds it: evs_js_lease_holder() says who;
 *         or another instance took it in the same moment; or, after a release, other keys
 *         of the bucket were written during each of 5 tries), EVS_JS_UNAVAILABLE,
 *         EVS_JS_TIMEOUT (unknown: look with evs_js_lease_holder()), EVS_JS_SERVER
 */
int evs_js_lease_acquire(evs_js_lease_t *self);

/**
 * @brief Renew the lease we hold: write the key again naming our last revision, so it
 * lives for the TTL from now. Call it every second or so, well within the TTL.
 * @return 0; EVS_CONFLICT: lost (it expired, and perhaps another took it): stop writing
 *         (the log refuses us anyway once another appends) and hold nothing; EVS_INVALID
 *         when we do not hold it; EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT (still ours until the
 *         TTL passes since the last renewal: try again)
 */
int evs_js_lease_renew(evs_js_lease_t *self);

/**
 * @brief Give the lease up now: a delete marker naming our last revision, so a standby
 * may take it without waiting for the TTL.
 * @return 0, EVS_CONFLICT (it was not ours any more), EVS_INVALID (we did not hold it),
 *         EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT. We hold nothing afterwards in every case.
 */
int evs_js_lease_release(evs_js_lease_t *self);

/** Whether our last acquire or renew succeeded and was not followed by a failed renew or a
 *  release (our own view: the TTL may have passed since). */
bool evs_js_lease_held(const evs_js_lease_t *self);

/**
 * @brief Who holds the lease now, as a server of the bucket says (its direct reads may be
 * answered by a replica a few milliseconds behind).
 * @param[out] instance at least EVS_JS_MAX_NAME + 1 bytes: the holder's id
 * @param[out] revision may be NULL: the key's revision
 * @return 0 (held), EVS_NOTFOUND (free: never taken, released or expired),
 *         EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER
 */
int evs_js_lease_holder(evs_js_lease_t *self, char *instance, uint64_t *revision);

/**
 * @brief Wait for the next change of the lease's key: an acquire or renewal by anyone, or
 * a release. The first call starts a watch and first gives the key as it is (if it
 * exists). An expiry (the bucket's max age) is not a change a watcher sees: nats-server
 * removes the message and writes no marker.
 * @param[out] instance at least EVS_JS_MAX_NAME + 1 bytes: the holder after a put
 * @return 0 (held by @p instance), EVS_NOTFOUND (released), EVS_JS_TIMEOUT (nothing within
 *         @p timeout_ms), EVS_JS_UNAVAILABLE, EVS_JS_SERVER
 */
int evs_js_lease_watch(evs_js_lease_t *self, int timeout_ms, char *instance);

/** Self-test of what needs no server (names, framing, options, errors); the cluster
 *  suite (tests/cluster/) tests the rest against three real servers. 0 when all passed. */
int evs_js_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
