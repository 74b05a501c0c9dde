/* peer_postgres.h: the PostgreSQL peer of the backbone benchmark.
 *
 * A temporary PostgreSQL 15 cluster of its own (Debian's binaries,
 * /usr/lib/postgresql/15/bin, or $TP_PG_BIN): initdb into a new folder, started with
 * the durable defaults said out loud (fsync, synchronous_commit and
 * full_page_writes on; wal_sync_method and everything else as initdb leaves it),
 * listening only on a unix socket in that folder (no TCP), trust authentication for
 * its one user; stopped and removed by pp_destroy(). PostgreSQL refuses to run as
 * root: then initdb and the server run as the user postgres (or nobody), the folder
 * handed to that user.
 *
 * It does the event store's duties, so far as a table can: an append-only events
 * table (seq bigint primary key from an identity column, stream text, version bigint,
 * unique (stream, version), body bytea: the envelope's bytes) and a requests table
 * (request_id text primary key, result bytea: the reply kept for it). What it does not
 * do: a gapless seq (a sequence may leave gaps), a hash chain (the bodies carry the
 * chain of the scratch log they were built in, not one PostgreSQL computes).
 *
 * The events are sent by several client threads, each with its own connection
 * (libpq), all connected before the clock starts, each waiting for its transaction's
 * commit before it sends the next; a client sends only its own events (pp_way_t):
 *  - PP_EACH: one event a transaction: one prepared statement that inserts the request
 *    and the event (`WITH r AS (INSERT INTO requests ...) INSERT INTO events ...`),
 *    committed alone (autocommit);
 *  - PP_INSERTS: a group of events a transaction: BEGIN, that statement for each,
 *    COMMIT, sent in one go (libpq's pipeline mode);
 *  - PP_COPY: a group of events a transaction, PostgreSQL's bulk path: BEGIN, `COPY
 *    requests ... FROM STDIN (FORMAT binary)`, the same into events, COMMIT.
 * In both batched ways one conflict (a request id or stream version taken) aborts the
 * whole group; the event store refuses that request alone and commits the others.
 *
 * Built without libpq (TP_HAVE_LIBPQ undefined), pp_new() always says why not.
 */
#ifndef PEER_POSTGRES_H
#define PEER_POSTGRES_H
#include <stddef.h>
#include "peer_events.h"

typedef struct _pp_t pp_t;

/**
 * @brief Creates the cluster in a new folder under @p base (an existing folder), starts
 * it and creates the tables.
 * @param[out] why when it returns NULL: why not, one line (e.g. no binaries, no libpq)
 * @return the peer, or NULL (nothing is left running then)
 */
pp_t *pp_new(const char *base, char *why, size_t whysz);

/** Stops the server and removes its folder; sets *self_p to NULL. Safe on NULL and
 *  twice. */
void pp_destroy(pp_t **self_p);

/** One line about the server as it runs: its version and durability settings. */
void pp_describe(pp_t *self, char *out, size_t outsz);

/** How the events go in (see above). */
typedef enum {
    PP_EACH,    /**< one event a transaction */
    PP_INSERTS, /**< a group a transaction, an INSERT statement per event, pipelined */
    PP_COPY     /**< a group a transaction, by COPY (binary) */
} pp_way_t;

/**
 * @brief Inserts every event of @p set from pe_set_clients() clients (event i from
 * client i % clients) in way @p way, @p group events a transaction (PP_INSERTS,
 * PP_COPY), then checks that the tables hold what was inserted.
 * @param[out] why when it returns -1: what failed
 * @return events per second from the first statement to the last commit, or -1
 */
double pp_run(pp_t *self, const pe_set_t *set, pp_way_t way, size_t group, char *why, size_t whysz);
#endif
