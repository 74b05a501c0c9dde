/* peer_events.h: the events the backbone benchmark's peers write (raw LMDB, PostgreSQL).
 *
 * They are the example service's events for `example.Increment` requests, as its log
 * holds them: a CounterIncremented payload in a tp.Envelope with the request id as
 * correlation and causation, the actor of the bench's operator key, the seq, the
 * stream version and the hash chain; and, kept under each request id, the reply the
 * service keeps (a packed tp.Reply). The event store's own batch code builds them
 * (evs_batch_append), in a scratch log of their own that is committed without fsync
 * (it is not measured), so that the next set goes on with the seqs and the chain.
 * Building them is not part of any peer's figure.
 *
 * The load is shaped like the service's (th_load_run): event i of a set is sent by
 * client i % clients; each client spreads its events over 16 streams of its own, so
 * no two clients ever write to the same stream.
 */
#ifndef PEER_EVENTS_H
#define PEER_EVENTS_H
#include <stddef.h>
#include <stdint.h>

/** One event and its request, as the service would write them. */
typedef struct {
    uint64_t seq;            /**< its seq (the envelope's) */
    const char *stream;      /**< "counter-<prefix>-<client>-<k>", k < 16 */
    uint64_t version;        /**< its version in that stream, from 1 */
    const char *request_id;  /**< "<prefix>-<client>-<j>", unique within the set */
    const uint8_t *envelope; /**< the serialized tp.Envelope, hash included */
    size_t envelope_len;
    const uint8_t *result; /**< the reply kept under the request id */
    size_t result_len;
} pe_event_t;

/** The scratch log the sets are built in. */
typedef struct _pe_log_t pe_log_t;

/** A set of events built from the scratch log; the memory is its own. */
typedef struct _pe_set_t pe_set_t;

/**
 * @brief Opens (creating) the scratch log in folder @p dir.
 * @return the log, or NULL (why on stderr)
 */
pe_log_t *pe_log_new(const char *dir);

/** Closes the scratch log (the folder stays); sets *self_p to NULL. Safe on NULL. */
void pe_log_destroy(pe_log_t **self_p);

/**
 * @brief Builds @p count events of @p clients clients after those of the sets built
 * before, with request ids and streams named after @p prefix (unique per set).
 * @return the set, or NULL (why on stderr)
 */
pe_set_t *pe_set_new(pe_log_t *log, const char *prefix, int clients, int count);

/** Frees the set; sets *self_p to NULL. Safe on NULL. */
void pe_set_destroy(pe_set_t **self_p);

/** Number of events in the set. */
size_t pe_set_size(const pe_set_t *self);

/** Event @p i (< pe_set_size()), sent by client i % clients; valid as long as the set. */
const pe_event_t *pe_set_at(const pe_set_t *self, size_t i);

/** Clients the set was built for. */
int pe_set_clients(const pe_set_t *self);

/** Mean size of its envelopes, in bytes. */
double pe_set_envelope_mean(const pe_set_t *self);
#endif
