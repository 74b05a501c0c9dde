/* groups.h: the cluster suite's groups: what a test appends to a stream (records whose bytes
 * follow from their log sequence), the table of what was acknowledged, a writer thread that
 * appends without pause, and the read-back that checks a stream against the table. */
#ifndef TP_CLUSTER_GROUPS_H
#define TP_CLUSTER_GROUPS_H

#include <stdbool.h>
#include <stdint.h>
#include "evs_js.h"

/** Most records in a group the kit makes, and the longest record (bytes). */
#define TC_GROUP_RECS 5
#define TC_REC_MAX    1500

/** One acknowledged group. */
typedef struct {
    char writer[16];  /**< who wrote it */
    uint64_t first;   /**< its first log sequence */
    uint32_t n;       /**< its records */
    int64_t acked_ms; /**< zclock_mono() when its acknowledgement came */
} tc_group_t;

typedef struct _tc_groups_t tc_groups_t;

/** A table for at most @p max acknowledged groups (stream sequences 1..max); NULL when out of
 *  memory. */
tc_groups_t *tc_groups_new(uint64_t max);

/** Frees; sets *self_p to NULL. Safe on NULL or twice. */
void tc_groups_destroy(tc_groups_t **self_p);

/**
 * @brief Appends the group (@p writer, @p first, @p n records) after @p expect: record k has
 * log sequence first + k, and its length and bytes depend on that alone (the read-back
 * tells each byte).
 * @param[in] n at most TC_GROUP_RECS
 * @return evs_js_append()'s result
 */
int tc_groups_append(evs_js_log_t *log, const char *writer, uint64_t first, uint32_t n,
                     uint64_t expect, evs_js_ack_t *ack);

/** Notes group @p seq acknowledged, now; a failed check (TH_CHECK) when it is not the one
 *  after the last or the table is full. The log sequences go on after it. */
void tc_groups_acked(tc_groups_t *self, uint64_t seq, const char *writer, uint64_t first,
                     uint32_t n);

/** The last stream sequence acknowledged (0: none). Any thread may ask while one writes. */
uint64_t tc_groups_last(tc_groups_t *self);

/** The log sequence the next group starts at (1 at first). */
uint64_t tc_groups_next(tc_groups_t *self);

/** Group @p seq (borrowed, valid until destroy), or NULL when it was not acknowledged
 *  (yet). */
const tc_group_t *tc_groups_at(tc_groups_t *self, uint64_t seq);

/**
 * @brief Reads the whole stream through @p log (from its leader: evs_js_read()) and checks
 * it against the table: every group acknowledged, once, at its place, byte for byte, and
 * nothing else. Run it while nothing appends. A read that finds the cluster unable to answer
 * (EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT: an election) goes on from where it stopped, as a
 * client would, until the cluster failed to answer for 30 s. Says what it read on stdout ("read
 * back <when>:
 * ..."), each difference on stderr, and fails a check (TH_CHECK) on one.
 * @return true when the stream is the table
 */
bool tc_groups_read_back(tc_groups_t *self, evs_js_log_t *log, const char *when);

/* ------------------------------------------------------------------ the writer thread */

typedef struct _tc_load_t tc_load_t;

/** What a load did so far (tc_load_stats()). */
typedef struct {
    uint64_t acked;     /**< groups acknowledged */
    int retries;        /**< appends tried again after a time-out or no server */
    int64_t max_gap_ms; /**< longest time between two acknowledgements */
    int failed;         /**< appends that failed for good (the load then stops) */
} tc_load_stats_t;

/**
 * @brief Starts a thread that appends groups to @p log as @p writer, one after the other,
 * each after the last acknowledged, and notes them in @p groups (which it borrows: no other
 * writer may note groups until tc_load_stop()). A group that times out or finds no server is
 * appended again (the same group, the same expectation: stored once) until acknowledged or
 * 30 s passed; then, or on any other error, the load stops with `failed` set.
 * @return the load, or NULL when the thread does not start
 */
tc_load_t *tc_load_start(tc_groups_t *groups, evs_js_log_t *log, const char *writer);

/** What it did so far (its thread may be running). */
void tc_load_stats(tc_load_t *self, tc_load_stats_t *stats);

/** Waits until it has @p more acknowledgements than @p from; the time it took, or -1 after
 *  @p timeout_ms or when the load failed. */
int64_t tc_load_wait(tc_load_t *self, uint64_t from, uint64_t more, int timeout_ms);

/** Stops the thread (after the append under way), its last stats into @p stats (may be
 *  NULL), frees; sets *self_p to NULL. Safe on NULL or twice. */
void tc_load_stop(tc_load_t **self_p, tc_load_stats_t *stats);

#endif
