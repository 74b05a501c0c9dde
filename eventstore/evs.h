/* evs.h: the trustportal event store, an append-only, hash-chained event log in LMDB.
 *
 * @mainpage The event store
 *
 * One LMDB environment per service (its data folder) holds that service's
 * whole history. Named databases:
 *
 *  - `events`   u64 seq (MDB_INTEGERKEY, gapless from 1, written with MDB_APPEND)
 *               -> a serialized tp.Envelope (see proto/tp.proto).
 *  - `streams`  "<stream id>" -> u64 version, and
 *               "<stream id>\0<u64 big-endian version>" -> u64 seq, for the
 *               events up to meta "index_seq": the index is written for runs of
 *               events at once (evs_opts_t.index_every), not at every commit, so
 *               a commit does not rewrite a page per stream it touches. The
 *               writer keeps the newer versions in memory (from the log's tail
 *               at open); evs_read_stream() and evs_stream_version() read the
 *               index, then the tail.
 *  - `requests` "<request id>" -> the result bytes first given for it
 *               (idempotency, kept durably), for the ids moved from reqtail.
 *  - `reqtail`  u64 (MDB_INTEGERKEY, written with MDB_APPEND) -> u8 id length,
 *               request id, result: the newest request ids in the order they
 *               came. With the stream index run they are moved into `requests`
 *               sorted, in one go (random inserts into a big B-tree would rewrite
 *               a page per request at every commit). The writer knows what
 *               reqtail holds (from the log at open) and keeps a Bloom filter of
 *               all request ids, so a new id costs no lookup in the log;
 *               evs_request_get() reads `requests`, then reqtail.
 *  - `meta`     "format" -> u32 format version, "service" -> service name,
 *               "head_seq" -> u64, "head_hash" -> 32 bytes,
 *               "index_seq" -> u64, "stream_count" -> u64, "req_moved" -> u64
 *               (reqtail key up to which ids were moved),
 *               "cp/<upstream>" -> u64 last upstream seq consumed, "ch/<upstream>" ->
 *               the hash of that upstream record (32 bytes) when the follower kept it.
 *
 * Every record carries `prev_hash` and `hash` = SHA-256 over the envelope
 * serialized with `hash` empty; the chain makes any edit, removal, reordering
 * or truncation detectable by evs_verify().
 *
 * Writes go through a batch (evs_batch_t) that takes any number of requests,
 * each appending events to one or more streams with an expected version, and
 * commits them all in one write transaction with one fsync. A request whose
 * version check fails is refused alone; the others in the batch go on. This is
 * what the services' group commit is built on. A batch is built in memory (its
 * lookups see a read snapshot of the log plus every batch sealed and not yet
 * ended) and written at commit, so the next batch can be built while the
 * previous one commits on another thread (evs_batch_seal()).
 *
 * Durability: full fsync on every commit by default. When the map is full the
 * store grows it (doubling) and redoes the transaction by itself; callers
 * never see MDB_MAP_FULL. Stale reader slots of dead processes are cleared at
 * open. A commit that fails is reported and nothing of it is acknowledged.
 *
 * Threads: an evs_t opened for writing belongs to one thread (the service
 * loop), with one exception: evs_batch_commit() of a sealed batch may run on
 * another thread, one commit at a time, while the owner goes on reading and
 * building the next batch. Any number of other processes may open the same
 * folder read-only (EVS_RDONLY) at the same time, e.g. `tpctl log dump` on a
 * running service.
 *
 * Memory: pointers handed to callbacks point into the LMDB map and stay valid
 * only during the callback.
 */
#ifndef EVS_H
#define EVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup errors Return codes
 * 0 is success; failures are negative. LMDB's own codes (-30799..-30780) and
 * negated errno values may also come back; evs_strerror() names all of them.
 * @{ */
#define EVS_OK 0
/** An append named a stream version that is not the stream's current one. */
#define EVS_CONFLICT (-31000)
/** The log failed verification (see evs_verify()) or a record does not decode. */
#define EVS_CORRUPT (-31001)
/** Nothing there: no such stream, request id, checkpoint or sequence. */
#define EVS_NOTFOUND (-31002)
/** Bad argument from the caller: empty stream id, NUL in an id, too long, etc. */
#define EVS_INVALID (-31003)
/** The store was opened read-only and a write was attempted. */
#define EVS_RDONLY_ERR (-31004)
/** The folder holds a log of another format version or another service. */
#define EVS_MISMATCH (-31005)
/** A batch was used after a failed commit or after it was committed. */
#define EVS_BAD_BATCH (-31006)
/** A data subject's key was erased (evs_vault.h): what it sealed cannot be opened. */
#define EVS_ERASED (-31007)
/** @} */

/** @defgroup flags Open flags
 * @{ */
/** Open read-only (no write batches). Works beside a running writer. */
#define EVS_RDONLY 0x1
/** Do not fsync on commit (MDB_NOSYNC). Only for tests that measure the difference;
 *  a service never sets it. */
#define EVS_NOSYNC 0x2
/** @} */

/** Expected stream versions for evs_batch_append(). Any value >= 0 means
 *  "exactly that version" (0 = the stream does not exist yet). */
#define EVS_ANY (-1)
#define EVS_NO_STREAM 0

/** Longest stream id, event type and request id accepted, in bytes. */
#define EVS_MAX_ID 200
/** Size of a hash (SHA-256). */
#define EVS_HASH_SIZE 32

typedef struct _evs_t evs_t;
typedef struct _evs_batch_t evs_batch_t;

/** Options for evs_open(). Zero-initialise and set what you need. */
typedef struct {
    unsigned flags;        /**< EVS_RDONLY, EVS_NOSYNC */
    size_t initial_map;    /**< initial map size in bytes; 0 = 64 MiB. Grows by itself. */
    const char *service;   /**< service name stored in meta on first open and checked
                                later; NULL = do not check (read-only tools) */
    size_t index_every;    /**< events (or request ids) between writes of the stream
                                index and moves of reqtail; 0 = 16,384 */
} evs_opts_t;

/** One event to append (input). The store fills in seq, version, id, time and hashes. */
typedef struct {
    const char *stream_id;      /**< required, 1..EVS_MAX_ID bytes, no NUL */
    const char *event_type;     /**< required, 1..EVS_MAX_ID bytes */
    const uint8_t *payload;     /**< serialized event message (may be NULL if len 0) */
    size_t payload_len;
    const char *correlation_id; /**< may be NULL */
    const char *causation_id;   /**< may be NULL */
    const char *actor;          /**< who caused it (tp.Envelope.actor); may be NULL */
    const char *event_id;       /**< its id, when the caller made it (it sealed the payload
                                     for this id: svc_seal.h); NULL: the store makes one */
} evs_event_t;

/** A stream's expected version for one append, see EVS_ANY / EVS_NO_STREAM. */
typedef struct {
    const char *stream_id;
    int64_t expected;
} evs_expect_t;

/** What a callback of evs_read() and evs_read_stream() is given about one record. */
typedef struct {
    uint64_t seq;
    const uint8_t *data;   /**< the serialized tp.Envelope, valid during the callback */
    size_t len;
} evs_record_t;

/** Called per record; return 0 to go on, anything else to stop (it is returned). */
typedef int (evs_record_fn)(const evs_record_t *rec, void *arg);

/** Result of evs_verify(). */
typedef struct {
    uint64_t checked;       /**< records checked and found good */
    uint64_t bad_seq;       /**< first bad sequence (0 when all is good) */
    char reason[160];       /**< what is wrong with it, e.g. "hash mismatch (record changed)" */
} evs_verify_t;

/** Statistics of a log, see evs_stat(). */
typedef struct {
    uint64_t head_seq;
    uint8_t head_hash[EVS_HASH_SIZE];
    uint64_t streams;       /**< number of distinct streams */
    uint64_t requests;      /**< idempotency records kept */
    size_t map_size;        /**< current map size in bytes */
    size_t used_bytes;      /**< pages in use times page size */
    char service[64];       /**< service name stored at first open ("" when none) */
} evs_stat_t;

/**
 * @brief Name an error code.
 * @param[in] err a code returned by any evs_ function (or an LMDB code or -errno)
 * @return a static string, never NULL
 */
const char *evs_strerror(int err);

/**
 * @brief Open (creating if needed) the event log in folder @p dir.
 *
 * The folder is created if missing (not when EVS_RDONLY). Stale reader slots
 * are cleared. When @p opts->service is set, it is stored on first open and a
 * later open with another name fails with EVS_MISMATCH.
 * @param[in] dir the folder, e.g. "data/order"
 * @param[in] opts options, or NULL for defaults
 * @param[out] out the new store; NULL on failure
 * @return 0, or EVS_MISMATCH, EVS_CORRUPT (meta unreadable), an LMDB code or -errno
 */
int evs_open(const char *dir, const evs_opts_t *opts, evs_t **out);

/**
 * @brief Close the store and free it; sets *self_p to NULL. Safe on NULL or twice.
 * An open batch must have been committed or aborted first.
 */
void evs_destroy(evs_t **self_p);

/**
 * @brief The head: highest sequence and its hash (32 zero bytes when empty).
 * @param[out] seq head sequence, 0 when the log is empty
 * @param[out] hash may be NULL; else EVS_HASH_SIZE bytes
 * @return 0 or an LMDB code
 */
int evs_head(evs_t *self, uint64_t *seq, uint8_t *hash);

/**
 * @brief Call @p fn for each record with from_seq <= seq <= to_seq, in order.
 * @param[in] to_seq UINT64_MAX for "to the end"
 * @param[in] max at most this many records; 0 = no limit
 * @return 0, fn's non-zero value when it stopped, or an LMDB code
 */
int evs_read(evs_t *self, uint64_t from_seq, uint64_t to_seq, size_t max,
             evs_record_fn *fn, void *arg);

/**
 * @brief Call @p fn for each event of one stream with version >= from_version, in order.
 * @return 0, fn's value, EVS_NOTFOUND when the stream does not exist, EVS_INVALID
 *         (bad stream id), or an LMDB code
 */
int evs_read_stream(evs_t *self, const char *stream_id, uint64_t from_version,
                    evs_record_fn *fn, void *arg);

/**
 * @brief Current version of a stream.
 * @param[out] version 0 when the stream does not exist (then the return is still 0)
 * @return 0, EVS_INVALID (bad stream id) or an LMDB code
 */
int evs_stream_version(evs_t *self, const char *stream_id, uint64_t *version);

/**
 * @brief The checkpoint of an upstream: last of its sequences consumed.
 * @param[out] seq 0 when none was ever set
 * @return 0, EVS_INVALID (bad name) or an LMDB code
 */
int evs_checkpoint(evs_t *self, const char *upstream, uint64_t *seq);

/**
 * @brief The checkpoint of an upstream and the hash of the upstream record at it, as
 * evs_batch_checkpoint_hash() kept it.
 * @param[out] hash EVS_HASH_SIZE bytes: that hash, or 32 zero bytes when none was kept
 *             (no checkpoint, or one written without a hash)
 * @param[out] known whether @p hash was kept (may be NULL)
 * @return as evs_checkpoint()
 */
int evs_checkpoint_hash(evs_t *self, const char *upstream, uint64_t *seq, uint8_t *hash,
                        bool *known);

/**
 * @brief Look up the result kept for a request id (outside a batch).
 * @param[out] result a malloc'd copy the caller frees; *len its size
 * @return 0 when found, EVS_NOTFOUND, EVS_INVALID (bad id), or an LMDB code
 */
int evs_request_get(evs_t *self, const char *request_id, uint8_t **result, size_t *len);

/** Called per request id kept (evs_requests_each()): @p request_id NUL-terminated, its
 *  result of @p len bytes; both valid during the call. Return 0 to go on, anything else to
 *  stop (it is returned). */
typedef int(evs_request_fn)(const char *request_id, const uint8_t *result, size_t len,
                            void *arg);

/** Called per checkpoint (evs_checkpoints_each()): the upstream's name (NUL-terminated,
 *  valid during the call), its seq, and the hash kept with it (EVS_HASH_SIZE bytes, valid
 *  during the call) or NULL when it was set without one. Return 0 to go on, anything else
 *  to stop (it is returned). */
typedef int(evs_checkpoint_fn)(const char *upstream, uint64_t seq, const uint8_t *hash,
                               void *arg);

/**
 * @brief Call @p fn for every request id the log keeps, with its result: those already
 * moved into the sorted table `requests` (in key order), then those of `reqtail` (in the
 * order they came). Each id once. With evs_read() and evs_checkpoints_each() it gives all
 * of a log, e.g. to move it elsewhere (evs_group.h). Sees the log as committed: not what
 * open or sealed batches hold.
 * @return 0, fn's non-zero value when it stopped, EVS_CORRUPT (an id that is empty or
 *         longer than EVS_MAX_ID, or a reqtail record that does not parse), or an LMDB code
 */
int evs_requests_each(evs_t *self, evs_request_fn *fn, void *arg);

/**
 * @brief Call @p fn for every upstream checkpoint the log keeps (evs_batch_checkpoint(),
 * evs_batch_checkpoint_hash()), in the byte order of the upstreams' names. Sees the log as
 * committed.
 * @return 0, fn's non-zero value when it stopped, EVS_CORRUPT (a checkpoint whose seq is
 *         not 8 bytes, or whose hash is not EVS_HASH_SIZE, or a bad name), or an LMDB code
 */
int evs_checkpoints_each(evs_t *self, evs_checkpoint_fn *fn, void *arg);

/**
 * @brief Verify the whole chain: gapless sequence, each record decodes, its seq
 * matches its key, prev_hash matches the record before, its hash is right, and the
 * head in meta matches the last record (truncation).
 * @param[out] report filled in; names the first bad seq and why
 * @return 0 when the log is intact, EVS_CORRUPT when not, or an LMDB code
 */
int evs_verify(evs_t *self, evs_verify_t *report);

/**
 * @brief Statistics of the log. @return 0 or an LMDB code
 */
int evs_stat(evs_t *self, evs_stat_t *st);

/**
 * @brief Start a write batch. Only one is open at a time; it follows the newest
 * sealed batch not yet ended, or the log's head.
 * @param[out] out the batch
 * @return 0, EVS_RDONLY_ERR, EVS_BAD_BATCH when another batch is open, or an LMDB code
 */
int evs_batch_begin(evs_t *self, evs_batch_t **out);

/**
 * @brief Look up a request id inside the batch (sees requests added earlier in it).
 * @param[out] result borrowed, valid until this batch ends (or the sealed batch
 *             that wrote it, when that ends first); *len its size
 * @return 0 when found, EVS_NOTFOUND, EVS_INVALID (bad id), EVS_BAD_BATCH (after
 *         commit or failure), or an LMDB code
 */
int evs_batch_request_get(evs_batch_t *batch, const char *request_id,
                          const uint8_t **result, size_t *len);

/**
 * @brief Append one request's events atomically within the batch.
 *
 * First every expectation in @p expect is checked against the stream versions
 * as the batch sees them (including appends earlier in this batch); on any
 * mismatch nothing is written and EVS_CONFLICT is returned, the batch stays
 * usable. Then the events are appended in order, each getting the next seq and
 * its stream's next version. When @p request_id is not NULL, @p result is kept
 * under it (an empty result is allowed).
 *
 * Streams not named in @p expect are appended to with EVS_ANY. A @p request_id
 * that already has a result kept is refused with EVS_CONFLICT (nothing written):
 * look it up first with evs_batch_request_get() and answer from it.
 * @param[in] events n_events events (n_events may be 0 to record only a result)
 * @param[in] expect n_expect expectations
 * @param[in] request_id idempotency key or NULL
 * @param[out] first_seq may be NULL; the seq of the first event (0 when none)
 * @param[out] last_seq may be NULL; the seq of the last event (0 when none)
 * @return 0, EVS_CONFLICT (a version or the request id; nothing written),
 *         EVS_INVALID (bad id or type; nothing written), EVS_BAD_BATCH, or an
 *         LMDB code (the batch is then unusable: abort it)
 */
int evs_batch_append(evs_batch_t *batch,
                     const evs_event_t *events, size_t n_events,
                     const evs_expect_t *expect, size_t n_expect,
                     const char *request_id, const uint8_t *result, size_t result_len,
                     uint64_t *first_seq, uint64_t *last_seq);

/**
 * @brief Set an upstream's checkpoint within the batch (committed with it).
 * @return 0, EVS_INVALID, or an LMDB code
 */
int evs_batch_checkpoint(evs_batch_t *batch, const char *upstream, uint64_t seq);

/**
 * @brief evs_batch_checkpoint() that also keeps the hash of the upstream's record
 * @p seq (EVS_HASH_SIZE bytes), so that a follower can tell, after a restart, whether
 * its upstream still continues the log it followed.
 */
int evs_batch_checkpoint_hash(evs_batch_t *batch, const char *upstream, uint64_t seq,
                              const uint8_t *hash);

/**
 * @brief Sequence the batch has reached so far (head plus what it appended).
 */
uint64_t evs_batch_head(evs_batch_t *batch);

/**
 * @brief Whether the batch holds nothing to write (no event, request result or
 * checkpoint).
 */
bool evs_batch_empty(const evs_batch_t *batch);

/**
 * @brief Call @p fn for each record the batch appended (in order), before or
 * after commit; the data stays valid until evs_batch_end(). Used to publish
 * exactly what was committed.
 */
int evs_batch_each(evs_batch_t *batch, evs_record_fn *fn, void *arg);

/**
 * @brief A record this batch appended, by its seq (before or after commit).
 * @param[out] rec its seq and bytes, valid until evs_batch_end()
 * @return 0, or EVS_NOTFOUND when the batch did not append that seq
 */
int evs_batch_record(evs_batch_t *batch, uint64_t seq, evs_record_t *rec);

/**
 * @brief Close an open batch for appends and let the next one begin.
 *
 * Until it is ended, later batches see its appends, request results and head
 * as if they were in the log. Commit sealed batches in the order they were
 * sealed; one whose predecessor failed or was ended unwritten cannot commit
 * (EVS_BAD_BATCH).
 * @return 0 (also when already sealed), EVS_BAD_BATCH when committed or failed
 */
int evs_batch_seal(evs_batch_t *batch);

/**
 * @brief Write the batch in one write transaction with one fsync (unless
 * EVS_NOSYNC); seals it first when it is still open.
 *
 * May run on another thread than the store's owner for a sealed batch (one
 * commit at a time). On MDB_MAP_FULL the map is doubled and the whole batch
 * redone, invisibly. On any other failure nothing of the batch is durable; the
 * caller must not acknowledge any of it (a service stops and rebuilds from its
 * log). The batch stays readable through evs_batch_each() until evs_batch_end().
 * @return 0, EVS_BAD_BATCH (failed before, or its predecessor is not in the
 *         log), -EBUSY (the map must grow but a read callback of this thread
 *         holds it), or an error code
 */
int evs_batch_commit(evs_batch_t *batch);

/** Where a commit's time went (monotonic clock, microseconds). */
typedef struct {
    int64_t us_puts;      /* building the write transaction: records, index run,
                           * request-id move, checkpoints, head */
    int64_t us_sync;      /* mdb_txn_commit: writing the pages, the flushes, the meta page */
    size_t ops;           /* records, request results and checkpoints written */
    bool index_run;       /* it carried a stream-index run */
    bool request_move;    /* it carried a move of request ids into their sorted table */
} evs_commit_timing_t;

/**
 * @brief Where the batch's last commit attempt spent its time (zeros before one).
 * Readable until evs_batch_end(), from the thread that committed it or after
 * that thread handed the batch back.
 */
void evs_batch_timing(const evs_batch_t *batch, evs_commit_timing_t *timing);

/**
 * @brief Free the batch; aborts it if it was not committed. Sets *batch_p to NULL.
 */
void evs_batch_end(evs_batch_t **batch_p);

/**
 * @brief Decode the fixed fields of a record without allocating (fast path for
 * replay): points into @p data, valid as long as it is.
 */
typedef struct {
    uint64_t seq;
    uint64_t stream_version;
    int64_t recorded_at_us;
    const char *stream_id;   size_t stream_id_len;   /**< not NUL-terminated */
    const char *event_type;  size_t event_type_len;  /**< not NUL-terminated */
    const char *event_id;    size_t event_id_len;    /**< not NUL-terminated */
    const uint8_t *payload;  size_t payload_len;
} evs_view_t;

/**
 * @brief Parse a serialized envelope into a view without copying.
 * @return 0 or EVS_CORRUPT
 */
int evs_view(const uint8_t *data, size_t len, evs_view_t *view);

/**
 * @brief A record's place in the hash chain, as the record says (not recomputed:
 * evs_verify() does that): its prev_hash and hash, EVS_HASH_SIZE bytes each.
 * @return 0, or EVS_CORRUPT when it does not decode or either hash is missing
 */
int evs_chain(const uint8_t *data, size_t len, uint8_t *prev_hash, uint8_t *hash);

/** Self-test; returns 0 when all passed. */
int evs_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
