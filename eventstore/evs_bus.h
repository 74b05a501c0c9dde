/* evs_bus.h: the event bus: publishing committed events, request/reply framing,
 * a blocking request client, and the catch-up subscriber (zguide Clone pattern).
 *
 * Wire format
 *  - PUB, one message per committed event:
 *      [topic "<service>.<EventType>"] [seq, u64 big-endian] [tp.Envelope]
 *    or, for consecutive events committed together, up to EVS_BUS_PUBLISH_MAX of
 *    them in one message (one hand-over to ZeroMQ's I/O threads and one wake-up of
 *    each subscriber instead of one per event):
 *      [topic "<service>.$events"] [first seq, u64 big-endian]
 *      [per event: length, u32 big-endian; tp.Envelope]
 *    Subscribe to "<service>." to see every event: a message may carry several.
 *    and every second a heartbeat:
 *      [topic "<service>.$heartbeat"] [head seq, u64 big-endian] [tp.Heartbeat]
 *  - ROUTER (requests): a client (DEALER) sends one frame, a tp.Request; the
 *    service answers with one frame, a tp.Reply. The ROUTER adds and strips the
 *    routing id. Command "$read" carries a tp.ReadEventsRequest and is answered
 *    with a tp.ReadEventsReply in the reply body.
 *
 * The subscriber (evs_sub_t, evs_sub.c) never trusts PUB alone: it subscribes first, then
 * reads everything after its checkpoint over the upstream's ROUTER, then takes
 * live events only when they are exactly the next expected seq. Anything else
 * (a gap seen from a later seq or a heartbeat) triggers a read. Live delivery
 * is therefore a fast path, and drops (slow joiner, high-water mark) lose nothing.
 * The handler commits its effects and the new checkpoint in one transaction.
 *
 * Several instances of one service (one active, the others standby, sharing one key pair)
 * are reached through a list of endpoints, comma-separated ("tcp://a:7101,tcp://b:7101";
 * services/common/svc.h: svc_connect_endpoints). A client's DEALER connects to every
 * router of the list and a subscriber's SUB to every PUB (only the active publishes).
 * A standby answers a command with an error whose code is EVS_BUS_NOT_ACTIVE; the
 * client sends it again (evs_client_call_raw), with the same request id, so the service
 * decides it once however often it arrives.
 */
#ifndef EVS_BUS_H
#define EVS_BUS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "evs.h"
#include "tp.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Topic suffix of a message carrying several consecutive events. */
#define EVS_BUS_EVENTS "$events"
/** Most events in one PUB message. */
#define EVS_BUS_PUBLISH_MAX 256

/** Topic suffix of heartbeats. */
#define EVS_BUS_HEARTBEAT "$heartbeat"
/** Command name of a read-events request. */
#define EVS_BUS_READ "$read"
/** Command name of a request holding a tp.Batch of commands (services/common/svc.h). */
#define EVS_BUS_BATCH "$batch"
/** Default and largest number of events in one read reply. */
#define EVS_BUS_READ_MAX 4096
/** Error code of a standby instance's answer to a command: ask the active one. */
#define EVS_BUS_NOT_ACTIVE "not_active"
/** Pause before a request answered EVS_BUS_NOT_ACTIVE is sent again: the first, and the
 *  longest (it doubles from one to the other), in milliseconds. */
#define EVS_BUS_PAUSE_MIN_MS 20
#define EVS_BUS_PAUSE_MAX_MS 250

/**
 * @brief Publish one committed record on a PUB socket.
 * @param[in] service the publishing service's name (topic prefix)
 * @param[in] event_type the record's event type; when NULL it is read from the record
 * @return 0, or -1 when the record does not decode or the send failed
 */
int evs_bus_publish(zsock_t *pub, const char *service, const evs_record_t *rec,
                    const char *event_type);

/**
 * @brief Publish @p n committed records with consecutive seqs: a record alone as
 * evs_bus_publish does, several in "$events" messages of up to EVS_BUS_PUBLISH_MAX.
 * @return 0, or -1 when a send failed or the seqs do not follow each other
 */
int evs_bus_publish_run(zsock_t *pub, const char *service, const evs_record_t *recs,
                        size_t n);

/**
 * @brief Walk the envelopes in the last frame of an "$events" message: the next one
 * into @p env / @p len, @p p / @p left advanced past it.
 * @return true for an envelope; false at the end, or at an entry that does not fit
 */
bool evs_bus_events_next(const uint8_t **p, size_t *left, const uint8_t **env, size_t *len);

/**
 * @brief The size of @p n records framed as the last frame of an "$events" message is
 * (per record: its length, u32 big-endian; its bytes). The same framing carries a group
 * in the replicated log (evs_js.h).
 * @return that size, or SIZE_MAX when a record is longer than UINT32_MAX bytes
 */
size_t evs_bus_events_size(const evs_record_t *recs, size_t n);

/**
 * @brief Frame @p n records into @p out, evs_bus_events_size() bytes; read them back
 * with evs_bus_events_next(). The records' seq fields are not written.
 */
void evs_bus_events_put(uint8_t *out, const evs_record_t *recs, size_t n);

/**
 * @brief Publish a heartbeat with the head sequence and hash.
 * @return 0 or -1
 */
int evs_bus_heartbeat(zsock_t *pub, const char *service, uint64_t head_seq,
                      const uint8_t *head_hash);

/**
 * @brief Whether @p endpoint (or every endpoint of a comma-separated list) may go without
 * a key (inproc://, inside one process); every other transport is CURVE. Logs the refusal.
 */
bool evs_bus_inproc(const char *endpoint);

/**
 * @brief The next endpoint of a comma-separated list (spaces around each ignored; empty
 * entries skipped): copied into @p out, @p list advanced past it.
 * @return true for an endpoint; false at the end of the list, or for an endpoint longer
 *         than @p outsz - 1 (then @p list is set to the end)
 */
bool evs_bus_endpoint_next(const char **list, char *out, size_t outsz);

/**
 * @brief Connect @p sock to every endpoint of the comma-separated list @p endpoints.
 * @return how many, or -1 when the list is empty or an endpoint is malformed (the
 *         endpoints connected before it stay connected: destroy the socket)
 */
int evs_bus_connect(zsock_t *sock, const char *endpoints);

/**
 * @brief Whether @p reply is a standby's refusal: not ok, with an error whose code is
 * EVS_BUS_NOT_ACTIVE.
 */
bool evs_bus_not_active(const Tp__Reply *reply);

/**
 * @brief A request id: 32 lowercase hex characters of fresh randomness.
 * @param[out] out at least 33 bytes
 */
void evs_bus_new_id(char *out);

/**
 * A blocking request client over one DEALER socket (not thread-safe; one per thread).
 *
 * Its endpoint may be a list of the routers of a service's instances (comma-separated;
 * all with the service's one key). The DEALER connects to each of them, with
 * ZMQ_IMMEDIATE: a request goes only to an instance whose connection is up, so a killed
 * instance (its connection dropped) or one not started gets none; the instances that are
 * up take requests in turn. A stopped or hung instance keeps its connection, and what is
 * sent there is lost until a try times out (below).
 *
 * What a call (evs_client_call, _raw, _batch, _head) guarantees:
 *  - every send of one call carries the same request id (the header's, or one fresh id):
 *    a command that reaches the service more than once is decided once (svc.h);
 *  - a reply that is a standby's refusal (evs_bus_not_active) is not returned while time
 *    is left: the request is sent again after a pause, EVS_BUS_PAUSE_MIN_MS at first,
 *    doubling to at most EVS_BUS_PAUSE_MAX_MS; so with one active instance among the
 *    endpoints, its answer is what the call returns. When @p timeout_ms runs out with no
 *    other answer, the last refusal is returned (with return value 0), not before;
 *  - with several endpoints, a try unanswered after evs_client_try_ms() is given up: the
 *    socket is recreated (a late answer can never be taken for a later call's) and the
 *    request sent again while @p timeout_ms allows; with one endpoint a try lasts the
 *    whole time-out, as a call did before lists;
 *  - it returns within about @p timeout_ms: -1 (ETIMEDOUT) when no answer came at all.
 */
typedef struct _evs_client_t evs_client_t;

/**
 * @brief Connect a client to a ROUTER inside this process (inproc://) without a key.
 * @param[in] endpoint one endpoint, or several comma-separated (each inproc://)
 * @return the client, or NULL when an endpoint is malformed or not inproc:// (every
 *         other transport is CURVE: evs_client_new_keyed)
 */
evs_client_t *evs_client_new(const char *endpoint);

/**
 * @brief Connect a client over CURVE as identity @p me to service @p server
 * (evs_keys.h): its secret key <keys_dir>/<me>.secret, the server's public key
 * <keys_dir>/<server>.pub.
 * @return the client, or NULL when a key is missing or the endpoint is bad (logged)
 */
evs_client_t *evs_client_new_keyed(const char *endpoint, const char *keys_dir, const char *me,
                                   const char *server);

/**
 * @brief Connect a client over CURVE with @p cert (copied; the caller keeps its own)
 * to a server whose public key is @p server_z85 (40 characters).
 * @return the client, or NULL
 */
evs_client_t *evs_client_new_cert(const char *endpoint, zcert_t *cert, const char *server_z85);

/** Destroy; sets *self_p to NULL; safe twice. */
void evs_client_destroy(evs_client_t **self_p);

/** @brief How many endpoints the client connects to. */
size_t evs_client_endpoints(const evs_client_t *self);

/**
 * @brief How long one try of a call with @p timeout_ms waits for its answer: all of it
 * with one endpoint, half of it with several (so a request lost at a stopped instance is
 * sent once more, and a slow answer is not asked for many times over).
 */
int evs_client_try_ms(const evs_client_t *self, int timeout_ms);

/**
 * @brief Send a command and wait for its reply (with failover: see evs_client_t).
 *
 * A reply with another request id (a late answer to an earlier timed-out
 * request) is skipped. On time-out the socket is recreated, so a late reply
 * cannot be taken for the answer to the next request.
 * @param[in] header request header; when its request_id is empty a fresh one is used
 * @param[in] command e.g. "example.Increment"
 * @param[in] body the command message, or NULL for an empty body
 * @param[in] timeout_ms how long to wait in all
 * @param[out] reply the reply (free with tp__reply__free_unpacked(r, NULL)); a standby's
 *             refusal (evs_bus_not_active) only when nothing else came in time
 * @return 0 when a reply came (check reply->ok), -1 on time-out (errno ETIMEDOUT), or when
 *         the request could not be sent or polled (errno from ZeroMQ)
 */
int evs_client_call(evs_client_t *self, const Tp__RequestHeader *header, const char *command,
                    const ProtobufCMessage *body, int timeout_ms, Tp__Reply **reply);

/**
 * @brief Same as evs_client_call() with a body already serialized.
 */
int evs_client_call_raw(evs_client_t *self, const Tp__RequestHeader *header,
                        const char *command, const uint8_t *body, size_t body_len,
                        int timeout_ms, Tp__Reply **reply);

/**
 * @brief The head of a service's log (its "$status", asked as an operator).
 * @param[out] head the last seq written (0 when it did not answer)
 * @return 0, or -1 on time-out or a refusal
 */
int evs_client_head(evs_client_t *self, int timeout_ms, uint64_t *head);

/** One command of a batch (evs_client_call_batch). */
typedef struct {
    const char *request_id;          /**< its own idempotency key */
    const char *command;             /**< e.g. "production.RecordCardShipped" */
    const ProtobufCMessage *body;    /**< NULL for an empty body */
} evs_batch_item_t;

/**
 * @brief Send @p n commands as one "$batch" request (each decided as if sent alone, with
 * its own request id and reply, under @p header's actor) and wait for the answer.
 * @param[out] reply the outer reply (free with tp__reply__free_unpacked(r, NULL))
 * @param[out] items @p n slots: each item's reply when the outer one is ok, else NULL
 *             (free each with tp__reply__free_unpacked(r, NULL))
 * @return 0 when a reply came, -1 on time-out, a bad reply or no memory
 */
int evs_client_call_batch(evs_client_t *self, const Tp__RequestHeader *header,
                          const evs_batch_item_t *its, size_t n, int timeout_ms,
                          Tp__Reply **reply, Tp__Reply **items);

/**
 * @brief Send a command without waiting (for callers that poll the socket themselves
 * and keep several requests in flight). Its replies come through evs_client_try_recv().
 * Such callers do their own failover, as evs_client_t describes (gateway/gw_backend.c).
 * @param[in] header as for evs_client_call(); give it a request_id to match the reply
 * @return 0, or -1 when it could not be sent; errno EAGAIN: the client has several
 *         endpoints and no connection is up yet (a fresh socket's take a few ms), or none
 *         is: try again after a pause
 */
int evs_client_send(evs_client_t *self, const Tp__RequestHeader *header, const char *command,
                    const ProtobufCMessage *body);

/**
 * @brief The next reply already received, without waiting; garbage is skipped.
 * @return a reply (free with tp__reply__free_unpacked(r, NULL)), or NULL when none is there
 */
Tp__Reply *evs_client_try_recv(evs_client_t *self);

/** The client's socket (for tests and pollers). */
zsock_t *evs_client_sock(evs_client_t *self);

/**
 * @brief Called by the subscriber with a contiguous run of upstream records,
 * the first being exactly checkpoint + 1. It must commit their effects together
 * with the checkpoint (the last record's seq) in one transaction.
 * @return 0 when committed; anything else stops delivery (the subscriber keeps
 *         its old checkpoint and the run is offered again later)
 */
typedef int (evs_sub_fn)(const evs_record_t *recs, size_t n, void *arg);

typedef struct _evs_sub_t evs_sub_t;

/** Options for evs_sub_new(). Zero = defaults. */
typedef struct {
    int rcvhwm;          /**< SUB receive high-water mark; 0 = 100000 */
    int read_max;        /**< events per catch-up read; 0 = EVS_BUS_READ_MAX */
    int read_timeout_ms; /**< resend a read after this long without answer; 0 = 2000 */
    const char *keys_dir; /**< CURVE (evs_keys.h): the keys folder, and */
    const char *me;       /**< our identity's stem; both NULL: inproc endpoints only */
    const uint8_t *checkpoint_hash; /**< the hash of the upstream's record at the
                                         checkpoint (EVS_HASH_SIZE bytes; NULL: not known,
                                         and the first record taken is not checked) */
} evs_sub_opts_t;

/**
 * @brief Create a subscriber to one upstream service.
 *
 * Subscribes to every topic of @p upstream on its PUB endpoint, connects a
 * DEALER to its ROUTER endpoint, and immediately asks for the events after
 * @p checkpoint.
 *
 * Several instances: both endpoints may be comma-separated lists. The SUB connects to
 * every PUB (only the active instance publishes); the DEALER to every router, with
 * ZMQ_IMMEDIATE, so its reads go in turn to the instances that are up, and one lost at
 * a stopped instance is sent again after read_timeout_ms. An instance that answers a read
 * from a copy behind the active one (fewer records than exist, none, or a head behind
 * the checkpoint) is no contradiction then: what it gave is taken, and the rest is asked
 * for again later (at the next upkeep or live message, not at once). With one router,
 * a head behind the checkpoint stops the subscriber as evs_sub_contradiction() says.
 * @return the subscriber, or NULL when an endpoint is malformed
 */
evs_sub_t *evs_sub_new(const char *upstream, const char *pub_endpoint,
                       const char *router_endpoint, uint64_t checkpoint,
                       const evs_sub_opts_t *opts);

/** Destroy; sets *self_p to NULL; safe twice. */
void evs_sub_destroy(evs_sub_t **self_p);

/** The SUB socket and the DEALER socket, to add to a poller. */
zsock_t *evs_sub_live_sock(evs_sub_t *self);
zsock_t *evs_sub_read_sock(evs_sub_t *self);

/** The upstream's name. */
const char *evs_sub_upstream(evs_sub_t *self);

/** The last upstream seq delivered and committed. */
uint64_t evs_sub_checkpoint(evs_sub_t *self);

/** Highest upstream seq known to exist (from live events, heartbeats, reads). */
uint64_t evs_sub_known_head(evs_sub_t *self);

/** Whether a read was answered and everything known to exist has been delivered. */
bool evs_sub_caught_up(evs_sub_t *self);

/**
 * @brief Handle whatever is waiting on @p which (one of the subscriber's two
 * sockets) without blocking: deliver the next records in order through @p fn,
 * ask for missing ones.
 * @return 0, or the non-zero value @p fn returned
 */
int evs_sub_handle(evs_sub_t *self, zsock_t *which, evs_sub_fn *fn, void *arg);

/**
 * @brief Time-driven upkeep: resend a read that got no answer in time.
 * Call at least every read_timeout_ms.
 */
void evs_sub_upkeep(evs_sub_t *self);

/**
 * @brief Why the upstream is not followed any more, or NULL while it is.
 *
 * A subscriber stops for good (nothing more is delivered, nothing asked) when the upstream
 * contradicts what it took: a record whose prev_hash is not the hash of the record before
 * it as taken (the checkpoint's, across restarts: its log was rewritten or rolled back and
 * written again), a heartbeat with the checkpoint's seq and another hash, or (with one
 * router endpoint) a read's answer whose head is behind the checkpoint (truncated, or an
 * older backup restored; with several, that is a standby behind the active).
 * Skipping the upstream's reused seqs instead would lose its new events silently.
 */
const char *evs_sub_contradiction(evs_sub_t *self);

/** Counters for tests and stats. */
typedef struct {
    uint64_t live_delivered;  /**< events delivered from PUB */
    uint64_t read_delivered;  /**< events delivered from reads */
    uint64_t dropped_old;     /**< live events with seq <= checkpoint */
    uint64_t gaps;            /**< gaps seen (a later seq or a heartbeat ahead) */
    uint64_t reads;           /**< read requests sent */
} evs_sub_stats_t;
void evs_sub_stats(evs_sub_t *self, evs_sub_stats_t *st);

/** Self-tests: the bus's framing and client, the subscriber (evs_sub_test.c), and the
 *  client against several instances (evs_failover_test.c). */
int evs_bus_test(bool verbose);
int evs_sub_test(bool verbose);
int evs_failover_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
