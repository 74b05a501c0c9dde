/* evs_internal.h: the event store's internals shared by its files (not for users of evs.h).
 *
 * The store is files by job around this header: evs.c (the log: open and close, meta,
 * map growth, head, reads, stat), evs_index.c (the stream index and the versions after
 * it), evs_requests.c (request ids), evs_batch.c (batches and their commit), evs_group.c
 * (a batch's ops as bytes, applied into another copy of the log), evs_verify.c
 * (the envelope's wire format and the hash chain's check), evs_files.c (paths, flushes,
 * removals and LMDB's copies for evs_backup.c and evs_vault.c), and evs_test.c (the
 * self-test). What one of them lends the others is named evsi_ (EVSI_ for macros and
 * constants) and declared here; what stays in its file is static and named s_. */
#ifndef EVS_INTERNAL_H
#define EVS_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "evs.h"
#include "evs_bloom.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MDB_INTEGERKEY keys must be unsigned int or size_t; ours are u64. */
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "needs a 64-bit size_t");

#define EVSI_DEFAULT_MAP ((size_t)64 << 20) /* initial map when opts say 0 */
#define EVSI_INDEX_EVERY 16384              /* events between stream index writes (default) */

/* A meta key: a string literal without its NUL. */
#define EVSI_KEY(str) ((MDB_val){sizeof(str) - 1, (void *)(str)})

/* A small open-addressing table from a byte string (kept in the batch's arena) to a
 * u64: a batch's own stream versions and request ids, seen before it is written. */
typedef struct {
    const char *key;        /* NULL: empty slot */
    size_t len;
    uint64_t val;
    uint64_t hash;          /* evsi_hash_bytes of the key: compared before the bytes */
} evsi_slot_t;
typedef struct {
    evsi_slot_t *slots;
    size_t cap;             /* a power of two, or 0 */
    size_t n;
} evsi_tab_t;

/* Open addressing, 64-bit hash -> u64, for the owner's request ids in reqtail: a hit
 * names a record to read and compare, so no id or result is copied. */
typedef struct {
    uint64_t hash;          /* 0: empty slot (hashes are made odd) */
    uint64_t val;
} evsi_fp_slot_t;
typedef struct {
    evsi_fp_slot_t *slots;
    size_t cap;             /* a power of two, or 0 */
    size_t n;
} evsi_fp_tab_t;

struct _evs_t {
    MDB_env *env;           /* the folder's LMDB environment */
    MDB_dbi events;         /* seq -> envelope */
    MDB_dbi streams;        /* id -> version; id \0 version -> seq */
    MDB_dbi requests;       /* request id -> result */
    MDB_dbi reqtail;        /* u64 -> u8 id length, id, result: the newest request ids,
                               in the order they came (written with MDB_APPEND) */
    bool has_reqtail;       /* false for a log from before reqtail, opened read-only */
    MDB_dbi meta;           /* format, service, head, checkpoints */
    bool rdonly;            /* opened with EVS_RDONLY */
    evs_batch_t *batch;     /* the open batch, NULL when none */
    evs_batch_t *sealed;    /* sealed batches not yet ended, newest first */
    atomic_int reading;     /* read callbacks running: the map must not move */
    /* The stream index (heads and "id\0version" keys) is written for whole runs of
     * events at once, not at every commit: a commit would otherwise rewrite one page
     * per stream it touches. meta "index_seq" says how far it goes; the owner knows
     * the versions of the streams written after it (pending), and readers look at the
     * log's tail after it. */
    evsi_tab_t pending;     /* stream -> version, committed events after index_seq;
                               keys malloc'd; owner thread only */
    uint64_t unindexed;     /* events after the last index write, sealed or committed */
    size_t index_every;     /* events between index writes */
    pthread_rwlock_t maplock; /* read txns hold it shared; moving the map, exclusive */
    /* Request ids go into reqtail first, in order (cheap appends), and are moved into
     * `requests` (sorted, in one go) together with the stream index: random inserts
     * into a big B-tree would rewrite a page per request at every commit. */
    evsi_fp_tab_t reqpending; /* hash of a request id -> its reqtail key, for what
                               reqtail holds as committed; owner thread only */
    uint64_t req_next;      /* reqtail key of the next request id appended */
    uint64_t req_unmoved;   /* request ids in reqtail, sealed or committed */
    bool reqpending_short;  /* out of memory: reqpending misses some of reqtail, which
                               lookups then read through until the next move */
    bool pending_short;     /* out of memory: pending misses a stream's version after
                               the index, which evsi_batch_version then reads from the
                               log's tail (never guessed) until the next index run */
    evs_bloom_t *seen;      /* the request ids in the log and in batches (owner thread
                               only): a new id needs no lookup in the log. NULL: none
                               kept (read-only, or out of memory), always look */
};

/* One write of a batch, kept so the batch can be redone after the map grew. */
typedef enum { EVSI_OP_EVENT, EVSI_OP_REQUEST, EVSI_OP_CHECKPOINT } evsi_op_kind_t;
typedef struct {
    evsi_op_kind_t kind;    /* what to write */
    uint64_t seq;           /* event: its seq; checkpoint: the upstream seq; request:
                               its reqtail key */
    uint64_t version;       /* event: its stream version */
    const char *key;        /* stream id, request id or upstream (in the arena) */
    size_t key_len;         /* its length, no NUL */
    const uint8_t *data;    /* envelope, result, or checkpoint hash (in the arena) */
    size_t len;             /* their size */
} evsi_op_t;

/* Arena block: what the batch wrote stays put until evs_batch_end(). */
typedef struct evsi_chunk {
    struct evsi_chunk *next; /* older chunk */
    size_t used;            /* bytes handed out */
    size_t size;            /* bytes in data */
    uint8_t data[];         /* the bytes */
} evsi_chunk_t;

typedef enum { EVSI_OPEN, EVSI_SEALED, EVSI_COMMITTED, EVSI_FAILED } evsi_state_t;

struct _evs_batch_t {
    evs_t *evs;             /* the store written to */
    MDB_txn *txn;           /* while open: a read txn for lookups, kept reset between
                               them (evsi_snap_begin), so the map may move meanwhile */
    evsi_state_t state;     /* open, sealed, committed or failed */
    evs_batch_t *older;     /* next older in evs->sealed */
    evsi_tab_t versions;    /* stream id -> its version after this batch */
    evsi_tab_t requests;    /* request id -> index of its EVSI_OP_REQUEST op */
    uint64_t index_to;      /* when > 0: it also writes the stream index up to here */
    uint64_t req_base;      /* reqtail keys of earlier batches are <= this */
    uint64_t req_move_to;   /* when > 0: it also moves reqtail up to here to requests */
    char missed[EVS_MAX_ID + 1]; /* the request id evs_batch_request_get() last found
                               nowhere ("" when none): its append need not look again
                               outside this batch */
    int64_t now_us;         /* recorded_at_us of all its events */
    uint64_t base_seq;      /* head when the batch began */
    uint64_t seq;           /* head including this batch's appends */
    uint8_t hash[EVS_HASH_SIZE]; /* hash of record seq */
    evsi_op_t *ops;         /* every write, in order, for redo and evs_batch_each */
    size_t n_ops;           /* ops used */
    size_t cap_ops;         /* ops allocated */
    evsi_chunk_t *chunks;   /* arena, newest first */
    uint8_t random[1024];   /* random bytes for event ids: one syscall per 64 ids */
    size_t random_used;     /* bytes of random taken */
    evs_commit_timing_t timing; /* where its (last) commit's time went */
};

/* Decoded tail of an envelope that only the chain check needs. */
typedef struct {
    const uint8_t *prev_hash;   /* field 10 */
    size_t prev_hash_len;
    const uint8_t *hash;        /* field 11 */
    size_t hash_len;
    size_t hash_off;            /* offset of field 11's tag; SIZE_MAX when absent */
} evsi_chain_t;

/* One request id of reqtail on its way to `requests`. */
typedef struct {
    uint64_t head;          /* the id's first 8 bytes, big-endian, zero-padded */
    const uint8_t *id;
    size_t id_len;
    const uint8_t *result;
    size_t len;
} evsi_moving_t;

/* evs.c: transactions, meta, the map */
int evsi_rc(int rc);
bool evsi_id_ok(const char *id);
/* A txn of @p env; when @p adopt, it takes the map size another process grew to. */
int evsi_env_begin(MDB_env *env, bool adopt, unsigned flags, MDB_txn **txn);
int evsi_txn_begin(evs_t *self, unsigned flags, MDB_txn **txn);
/* Doubles the map of @p env; no read txn of this process may be open. */
int evsi_env_grow(MDB_env *env);
/* What a write transaction puts, redone from the start after the map grew. */
typedef int(evsi_write_fn)(MDB_txn *txn, void *arg);
/* One write txn of @p fn on @p env, committed; a full map is doubled and @p fn redone
 * (no read txn of this process may be open). 0 or an LMDB code. */
int evsi_env_write(MDB_env *env, evsi_write_fn *fn, void *arg);
extern _Thread_local int evsi_reading_here;
extern size_t evsi_index_every_default;
int evsi_ro_begin(evs_t *self, MDB_txn **txn);
void evsi_ro_end(evs_t *self, MDB_txn *txn);
int evsi_get_u64(MDB_txn *txn, MDB_dbi dbi, MDB_val key, uint64_t *out);
int evsi_get_head(evs_t *self, MDB_txn *txn, uint64_t *seq, uint8_t *hash);
size_t evsi_cp_key(char *buf, const char *upstream, size_t len);
int evsi_grow(evs_t *self);
int evsi_stream_count(evs_t *self, MDB_txn *txn, uint64_t *n);

/* evs_index.c: the stream index and the versions after it */
int evsi_index_seq(evs_t *self, MDB_txn *txn, uint64_t *seq);
int evsi_pending_put(evs_t *self, const char *id, size_t len, uint64_t version);
void evsi_pending_clear(evs_t *self);
int evsi_load_pending(evs_t *self);
int evsi_batch_version(evs_batch_t *b, const char *id, size_t len, uint64_t *version);
int evsi_index_write(evs_t *self, MDB_txn *txn, uint64_t to);

/* evs_requests.c: request ids (evsi_id_head and evsi_moving_cmp also for the self-test) */
int evsi_reqpending_put(evs_t *self, uint64_t id_hash, uint64_t key);
void evsi_reqpending_clear(evs_t *self, bool free_it);
int evsi_load_requests(evs_t *self);
int evsi_batch_request(evs_batch_t *b, const char *id, size_t len, const uint8_t **result,
                       size_t *result_len);
uint64_t evsi_id_head(const uint8_t *id, size_t len);
int evsi_moving_cmp(const void *a, const void *b);
int evsi_req_move(evs_t *self, MDB_txn *txn, uint64_t to);

/* evs_batch.c: tables, batches, commit (evsi_mono_us also for the self-test) */
uint64_t evsi_hash_bytes(const char *k, size_t n);
evsi_slot_t *evsi_tab_find(const evsi_tab_t *t, const char *k, size_t n);
int evsi_tab_put(evsi_tab_t *t, const char *k, size_t n, uint64_t val);
uint8_t *evsi_alloc(evs_batch_t *b, size_t n);
int evsi_snap_begin(evs_batch_t *b);
void evsi_snap_end(evs_batch_t *b);
int64_t evsi_mono_us(void);
/* Appends a record made elsewhere (another copy of this log: evs_group.c) to the open
 * batch @p b, byte for byte, after the checks: it is the chain's next (evsi_record_check:
 * seq head + 1, prev_hash the head's hash, its hash right), its stream id and event type
 * are ids, and it is its stream's next version as the batch sees it. 0; EVS_CORRUPT (why
 * in @p why; nothing appended, the batch usable); EVS_BAD_BATCH; -ENOMEM or an LMDB code
 * (the batch is then unusable: the caller fails it). */
int evsi_batch_put_record(evs_batch_t *b, const uint8_t *data, size_t len, char *why,
                          size_t why_size);

/* evs_verify.c: the envelope's wire format */
int evsi_parse(const uint8_t *data, size_t len, evs_view_t *view, evsi_chain_t *chain);
/* The chain's check of one record, as evs_verify() makes it: @p data decodes (into
 * @p view), says seq @p seq, its prev_hash is @p prev, its hash is the last field and is
 * SHA-256 over the bytes before it (then copied to @p hash). 0, or EVS_CORRUPT with the
 * reason in @p why. */
int evsi_record_check(const uint8_t *data, size_t len, uint64_t seq, const uint8_t *prev,
                      evs_view_t *view, uint8_t *hash, char *why, size_t why_size);

/* evs_files.c: paths, flushes, removals and LMDB's copies */
/* "<dir>/<name>" into @p out (PATH_MAX); 0 or -ENAMETOOLONG. */
int evsi_path(char *out, const char *dir, const char *name);
/* Whether something is at @p path (a link is not followed). */
bool evsi_exists(const char *path);
/* fsync of a file, or of a folder (then the names in it are durable); 0 or -errno. */
int evsi_fsync(const char *path, bool folder);
/* @p path without trailing slashes into @p out (PATH_MAX), and the folder that holds it
 * into @p parent (PATH_MAX; "." when it names none); 0 or -ENAMETOOLONG. */
int evsi_split(const char *path, char *out, char *parent);
/* Removes the files @p names from @p dir, then @p dir (which stays when something else
 * is in it). */
void evsi_remove(const char *dir, const char *const *names, size_t n);
/* LMDB's compacting copy (MDB_CP_COMPACT) of @p env into the folder @p dir as data.mdb,
 * which is then made 0600 and fsync'ed (not @p dir); a map grown by the writer meanwhile
 * is adopted and the copy redone. 0, an LMDB code or -errno. */
int evsi_env_copy(MDB_env *env, const char *dir);

/* evs_vault.c: set by the self-test to leave an erasure's rewrite undone, as a crash right
 * after the erasing transaction does */
extern bool evsi_vault_no_rewrite;

#endif
