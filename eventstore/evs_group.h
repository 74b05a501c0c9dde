/* evs_group.h: a group, what one commit of a service's log writes, as bytes: made from a
 * batch (or item by item), applied byte for byte into another copy of the same log, read.
 *
 * With the replicated log (evs_js.h) a service's stream holds one message per commit of
 * its writer, and the message's body is that commit's group: its records exactly as the
 * writer stored them, the request results it kept, the checkpoints it set. An instance
 * that keeps a copy of the log applies each group into a batch of its own copy
 * (evs_group_apply()) and commits it: the copy is then the same log, every record the
 * same bytes at the same seq (so the same hash chain and head), the same request results
 * and checkpoints. Nothing of a group is taken on trust: every record must continue the
 * copy's chain and its streams' versions, as evs_verify() would check it in place.
 *
 * Format, version 1. Integers are big-endian.
 *
 *     "TPG" 0x01                       magic and version
 *     u32 items                        how many items follow
 *     items, in the order the batch took them:
 *       0x01 record      u32 length (>= 1), the envelope as stored (it names its seq)
 *       0x02 request     u8 id length (1..EVS_MAX_ID), the id (no NUL),
 *                        u32 length, the result (may be empty)
 *       0x03 checkpoint  u8 name length (1..EVS_MAX_ID), the upstream's name (no NUL),
 *                        u64 seq, u8 hash length (0 or EVS_HASH_SIZE), the hash
 *
 * A group must end right after its last item; the count catches one cut at an item's end.
 * A group of another version is refused (EVS_MISMATCH), never guessed at.
 *
 * Memory: the functions that read a group borrow its bytes for the call only.
 * Threads: a builder belongs to one thread; the rest use the caller's batch or bytes.
 */
#ifndef EVS_GROUP_H
#define EVS_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evs.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The group format written by this code (the byte after "TPG"). */
#define EVS_GROUP_VERSION 1
/** Bytes of a group before its first item (magic, version, count). */
#define EVS_GROUP_HEADER 8

/**
 * @brief Encode the ops of @p batch, in order, as one group: each record it appended
 * (its bytes as stored), each request result it kept, each checkpoint it set.
 *
 * The batch may be open, sealed or committed (not while its commit runs on another thread);
 * it is not changed.
 * @param[out] out the group, malloc'd: the caller frees it; NULL on failure
 * @param[out] len its size
 * @return 0; EVS_BAD_BATCH (a failed batch); EVS_INVALID (a record or result of 4 GiB or
 *         more, more than UINT32_MAX ops); -ENOMEM
 */
int evs_group_encode(evs_batch_t *batch, uint8_t **out, size_t *len);

/**
 * @brief Apply a group into the OPEN @p batch: its records byte for byte (ids, times and
 * hashes as they are), its request results and checkpoints as evs_batch_append() with no
 * event and evs_batch_checkpoint_hash() take them.
 *
 * First the whole group is decoded (framing, lengths, count, each record's envelope).
 * Then, item by item, each record must be the chain's next as the batch sees it: its seq
 * is the batch's head + 1, its prev_hash the hash of the record before (the batch's head:
 * the log's, an earlier group's of this batch, or this group's previous record), its hash
 * recomputes over its bytes as evs_verify() recomputes it, its stream id is 1..EVS_MAX_ID
 * bytes without NUL and its event type 1..EVS_MAX_ID bytes, and its stream version is the stream's version as the batch sees it + 1. A
 * request id the log or the batch already keeps is skipped when its result is the same,
 * and is EVS_CORRUPT when it differs. Several groups may be applied into one batch, in
 * the order they were written.
 *
 * On any failure the batch is marked failed, though it may hold part of the group:
 * evs_batch_commit() then refuses it (EVS_BAD_BATCH) and the caller ends it
 * (evs_batch_end()), which leaves the log as it was.
 * @param[out] first_seq may be NULL: the seq of the group's first record (0 when none)
 * @param[out] last_seq may be NULL: the seq of its last record (0 when none)
 * @return 0; EVS_CORRUPT (it does not decode, or a check above failed: evs_group_error()
 *         says which item and why); EVS_MISMATCH (a group of another format version);
 *         EVS_BAD_BATCH (the batch is not open: then it is left as it is); -ENOMEM or an
 *         LMDB code
 */
int evs_group_apply(evs_batch_t *batch, const uint8_t *data, size_t len, uint64_t *first_seq,
                    uint64_t *last_seq);

/**
 * @brief Why the last evs_group_apply() or evs_group_each() of this thread failed, e.g.
 * "item 3: prev_hash does not match the record before" ("" before any failure).
 * @return a per-thread string, valid until this thread's next call of either
 */
const char *evs_group_error(void);

/**
 * @brief Read a group: call @p records for each record, @p requests for each request
 * result and @p checkpoints for each checkpoint, in the group's order; any of them may be
 * NULL (those items are skipped).
 *
 * Nothing is given from a group that does not decode: the framing and every record's
 * envelope are checked first. A record is given with the seq its envelope names; the
 * chain is not checked here (evs_group_apply() does it against a log). Pointers are into
 * @p data, ids are NUL-terminated copies; all valid during the call.
 * @return 0, a callback's non-zero value when it stopped, EVS_CORRUPT, EVS_MISMATCH (a
 *         group of another format version)
 */
int evs_group_each(const uint8_t *data, size_t len, evs_record_fn *records,
                   evs_request_fn *requests, evs_checkpoint_fn *checkpoints, void *arg);

/* ------------------------------------------------------------------ the builder */

/** A group made item by item: e.g. a whole log moved to a stream in groups of a bounded
 *  size (evs_read(), evs_requests_each(), evs_checkpoints_each()). */
typedef struct _evs_group_t evs_group_t;

/** A new, empty group (EVS_GROUP_HEADER bytes); NULL when out of memory. */
evs_group_t *evs_group_new(void);

/** Free the group; sets *self_p to NULL. Safe on NULL or twice. */
void evs_group_destroy(evs_group_t **self_p);

/**
 * @brief Add a record: a serialized envelope as the log stores it (evs_read()). It is not
 * checked here; evs_group_apply() checks it.
 * @return 0, EVS_INVALID (empty, 4 GiB or more, or the group holds UINT32_MAX items), -ENOMEM
 */
int evs_group_add_record(evs_group_t *self, const uint8_t *data, size_t len);

/**
 * @brief Add a request result kept under @p request_id.
 * @return 0, EVS_INVALID (a bad id, a result of 4 GiB or more, NULL with a length, too
 *         many items), -ENOMEM
 */
int evs_group_add_request(evs_group_t *self, const char *request_id, const uint8_t *result,
                          size_t len);

/**
 * @brief Add the checkpoint of @p upstream at @p seq, with the hash of the upstream's
 * record there (EVS_HASH_SIZE bytes) or NULL.
 * @return 0, EVS_INVALID (a bad name, too many items), -ENOMEM
 */
int evs_group_add_checkpoint(evs_group_t *self, const char *upstream, uint64_t seq,
                             const uint8_t *hash);

/** Bytes the group takes now, header included (to keep groups under a message limit). */
size_t evs_group_size(const evs_group_t *self);

/** Items added so far. */
size_t evs_group_count(const evs_group_t *self);

/**
 * @brief Hand the group's bytes over and empty it (it can be filled again).
 * @param[out] out malloc'd, the caller frees it
 * @param[out] len its size
 * @return 0, or -ENOMEM (then the group is as it was)
 */
int evs_group_take(evs_group_t *self, uint8_t **out, size_t *len);

/** Self-test; 0 when all passed. */
int evs_group_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
