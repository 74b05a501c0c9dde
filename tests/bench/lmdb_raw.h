/* lmdb_raw.h: the raw LMDB peer of the backbone benchmark.
 *
 * The same envelopes the example service writes (peer_events.h), put into an LMDB
 * environment of its own with nothing of the runtime or the event store around it:
 * one thread, one named database keyed by seq (MDB_INTEGERKEY, MDB_APPEND), a group
 * of events per write transaction, every transaction committed durably (LMDB's
 * defaults: no MDB_NOSYNC, no MDB_NOMETASYNC, so each commit flushes the data, then
 * the meta page, as the event store's do). What the store writes besides (the
 * request-id records, the head in meta, the stream index every 16,384 events) and
 * all it does before a commit (requests, deciding, envelopes, hashes) is not in it:
 * this is the floor of what a durable commit of these bytes costs on this disk.
 */
#ifndef LMDB_RAW_H
#define LMDB_RAW_H
#include <stddef.h>
#include "peer_events.h"

typedef struct _lr_t lr_t;

/**
 * @brief Opens (creating) an LMDB environment in folder @p dir (created when
 * missing), with LMDB's default (durable) flags.
 * @return the peer, or NULL (why on stderr)
 */
lr_t *lr_new(const char *dir);

/** Closes the environment (the folder stays); sets *self_p to NULL. Safe on NULL. */
void lr_destroy(lr_t **self_p);

/**
 * @brief Puts every envelope of @p set under its seq, @p group events per write
 * transaction, each committed durably; sets must come in seq order.
 * @return events per second from the first put to the last commit, or -1 on an
 * LMDB error (on stderr)
 */
double lr_run(lr_t *self, const pe_set_t *set, size_t group);
#endif
