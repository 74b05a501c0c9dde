/* svc_officers.h: the officers of shops as a follower of the account service knows them.
 *
 * The account service appoints and revokes officers (OfficerAppointed, OfficerRevoked)
 * and deletes accounts (AccountDeleted). A core that decides by "is this account an
 * officer of that shop" (identification: who records a result for a shop's order;
 * revocation: who revokes a shop's seal card) follows those events, writes its own
 * OfficerKnown event for each change, and keeps the active pairs in its state. The
 * set and the reactions are the same in every such core; only the OfficerKnown message
 * (each service's own protobuf type) differs, so the core passes a function that
 * emits it.
 *
 * Pure: no I/O; react reads the set, the core's apply changes it (svc_officers_set).
 */
#ifndef SVC_OFFICERS_H
#define SVC_OFFICERS_H

#include <czmq.h>
#include <stdbool.h>
#include "svc.h"

/** Longest id_max accepted by svc_officers_init. */
#define SVC_OFFICERS_ID_MAX 128

/** Active (account, shop) pairs; keys "<account>\n<shop>" -> shop id (owned). */
typedef struct {
    zhashx_t *map;      /* read it for summaries (svc_sorted_keys); change it only here */
    size_t id_max;      /* longest account or shop id accepted */
} svc_officers_t;

/** Empty set for ids of at most @p id_max (<= SVC_OFFICERS_ID_MAX) characters. 0, or -1
 * without memory or with a larger @p id_max. */
int svc_officers_init(svc_officers_t *self, size_t id_max);
void svc_officers_fini(svc_officers_t *self);

/** True when @p account is an active officer of @p shop. */
bool svc_officers_is(const svc_officers_t *self, const char *account, const char *shop);

/** True when @p account is an active officer of any shop. O(officers): a TSP has hundreds. */
bool svc_officers_is_any(const svc_officers_t *self, const char *account);

/** Apply an OfficerKnown: the pair becomes active, or is dropped. Ids that could not
 * have been accepted (empty, too long) change nothing. */
void svc_officers_set(svc_officers_t *self, const char *account, const char *shop, bool active);

/** Emits the core's own OfficerKnown for one change. */
typedef void (svc_officer_emit_fn)(const char *account, const char *shop, bool active,
                                   svc_out_t *out);

/**
 * @brief React to the account service's officer events: OfficerAppointed and
 * OfficerRevoked emit a change only when the pair's state differs (bad ids are refused
 * on @p out), AccountDeleted emits "inactive" for every shop of the account, in sorted
 * order (the same events on every run).
 * @return true when @p ev was one of those three types (handled), false otherwise
 */
bool svc_officers_react(const svc_officers_t *self, const svc_event_t *ev,
                        svc_officer_emit_fn *emit, svc_out_t *out);

/** Self-test; 0 when it passes. */
int svc_officers_test(bool verbose);

#endif
