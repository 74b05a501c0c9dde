/* revocation.h: the revocation service (tp-revocation): revocation requests with their
 * evidence, their processing within minutes, and the revocation list.
 *
 * What it learns (upstreams {"order", "production", "account"}; dispatch is by event
 * type, so instance names may differ), each recorded as its own event first:
 *
 *   OrderPlaced          -> ProductKnown (owner account, shop, product type, the
 *                           revocation password's Argon2id hash)
 *   CertificatesCreated  -> ProductKnown (serial numbers not known before)
 *   CardProduced         -> ProductKnown (card number)
 *   CardShipped          -> ProductKnown (product id "prd-<order id>", shipped at): from
 *                           then on the product exists and can be revoked
 *   OfficerAppointed / OfficerRevoked -> OfficerKnown (active true / false), on a change
 *   AccountDeleted       -> OfficerKnown (active false) for each shop it was an officer of
 *
 * The facts of one order may come in any order across upstreams (each upstream is
 * caught up on its own): they are merged per order, and the product can be revoked once
 * both its order and its shipping are known. Repeated facts change nothing.
 *
 * Commands ("revocation.<Name>", messages in proto/revocation.proto):
 *
 *   RequestRevocation   the owner, logged in (header.actor_account must own the product)
 *                       -> RevocationView; RevocationRequested with authenticated_by
 *                       "session", requested_by the account, detail the client address.
 *   RevokeWithPassword  anyone, without logging in: order number (TP-...) or card number
 *                       and the revocation password -> RevocationAnswer; RevocationRequested
 *                       with authenticated_by "revocation_password", requested_by
 *                       "anonymous", detail the client address (header.client_addr).
 *                       Numbers are compared ignoring case, spaces and separators. The
 *                       password is verified on the worker pool (lookup copies the stored
 *                       hash, or a dummy hash of the same cost for unknown numbers; prepare
 *                       verifies and puts a verdict where the password was; decide checks
 *                       the verdict is for the hash still current).
 *   RevokeAsOfficer     an active officer (header.actor_account) of the shop the order came
 *                       from, for seal cards ("seal-card") only -> RevocationView;
 *                       authenticated_by "officer", detail "officer of shop <shop>".
 *   RevokeAsOperator    role "operator", on behalf of a caller -> RevocationView;
 *                       authenticated_by "operator", requested_by the caller, detail
 *                       "operator <actor account, else client address>; caller
 *                       authenticated by: <caller_authentication>".
 *
 * Queries:
 *
 *   ListRequests        role "operator" -> RequestList, every request (open_only: the open
 *                       ones) in the order received, with its evidence.
 *   GetRequest          role "operator", or the product's owner -> RevocationView.
 *   ListOwnRequests     customer or officer -> RequestList: the requests for the cards of
 *                       the actor's own orders, in the order received; requested_by and
 *                       authentication_detail only for its own ones from its session (the
 *                       others' name other people), empty otherwise.
 *   GetRevocationList   anyone -> RevocationList: every revoked serial with the time it
 *                       was revoked and the reason, in the order revoked.
 *
 * Refusals (code, field):
 *
 *   invalid, <field>    reason not one of card_lost, suspected_misuse, other; comment over
 *                       REVOCATION_COMMENT_MAX characters or not clean UTF-8 (line breaks
 *                       and tabs allowed); productId / number / password / caller /
 *                       callerAuthentication missing or too long; header.actorAccount
 *                       for RevokeAsOperator without actor account and client address.
 *   unauthenticated     RequestRevocation, RevokeAsOfficer, ListOwnRequests without
 *                       header.actor_account.
 *   forbidden           RevokeAsOfficer by an account that is no active officer of any
 *                       shop, or for a product that is not a seal card (of the officer's own
 *                       shop); RevokeAsOperator and ListRequests without role "operator".
 *   not_found, productId  no such product, or not the actor's: another owner's product,
 *                       a product of a shop the officer is not an active officer of, and a
 *                       missing one get the same answer. Also for a product whose card has
 *                       not been shipped yet (a product exists from shipping on, as in
 *                       "Meine Produkte"): the message says so to callers entitled to it.
 *   not_found, number   RevokeWithPassword with the right password for an order whose card
 *                       has not been shipped yet.
 *   not_found, requestId GetRequest: no such request, or not the actor's.
 *   invalid_credentials RevokeWithPassword: unknown number or wrong password, the same
 *                       answer for both (no field). The refusal is RECORDED
 *                       (RevocationAttemptFailed, kept although refused) for throttling.
 *   throttled           RevokeWithPassword after REVOCATION_ADDR_MAX_FAILS failures from
 *                       the client address (IPv6: its /64) within REVOCATION_FAIL_WINDOW_S:
 *                       refused whatever the password, nothing written, and nothing hashed
 *                       (lookup sees it, with the header and the runtime's clock). Failures
 *                       are NOT counted against the number: order numbers are sequential,
 *                       and a count per number would let anyone lock every owner out of
 *                       revoking. The owner is told instead: a failure for a known number
 *                       is recorded with its order and tell_owner (the first one, then at
 *                       most one every REVOCATION_NOTICE_INTERVAL_S), and the account
 *                       service mails the owner (account.h, "revocation-attempt").
 *   internal, password  RevokeWithPassword's decide given a password prepare did not
 *                       replace by its verdict (a programming error).
 *   conflict, productId / number   revocation is irreversible: "already being revoked"
 *                       while a request is open, "already revoked" once completed; nothing
 *                       changes.
 *
 * Processing (tick): every open request at least processing_delay_s old is completed
 * (RevocationCompleted with the product's serials, which go onto the revocation list).
 * A request whose product has no known serial yet stays open: completing it would leave
 * certificates off the list. A request still open alarm_after_s after it was received is
 * logged as an error (svc_out_log 'E': request id, product, age) on every tick, until it
 * completes. ETSI EN 319 411-1 allows at most 24 hours.
 *
 * Settings (the table rvk_settings; what was decided is in the events, so a replay with
 * other settings rebuilds the same state):
 *
 *   processing_delay_s  default 120; 0..REVOCATION_DELAY_MAX_S
 *   alarm_after_s       default 3600; 1..86400
 *
 * The daemon refuses a config with a value out of range (svc_settings.h); a config handed
 * to configure directly has larger values capped and values that are not a number
 * replaced by the default.
 */
#ifndef REVOCATION_H
#define REVOCATION_H
#include "svc.h"

/** The revocation core. Upstreams: {"order", "production", "account", NULL}. */
extern const svc_def_t revocation_def;

/** Longest comment, in characters. */
#define REVOCATION_COMMENT_MAX 500

/** Failed password attempts allowed per client address in the window; the attempt after
 *  that many is refused as "throttled". */
#define REVOCATION_ADDR_MAX_FAILS   20
#define REVOCATION_FAIL_WINDOW_S    (15 * 60)
/** The owner of a card is told of failed attempts on its number at most this often. */
#define REVOCATION_NOTICE_INTERVAL_S (24 * 3600)

/** Settings' defaults and limits, in seconds. The delay is capped at an hour: the
 *  spec promises minutes, and the ETSI limit is 24 hours. */
#define REVOCATION_DELAY_DEFAULT_S 120
#define REVOCATION_DELAY_MAX_S     3600
#define REVOCATION_ALARM_DEFAULT_S 3600
#define REVOCATION_ALARM_MAX_S     86400

/** Argon2id cost of the dummy hash unknown numbers are verified against: the cost the
 *  order service hashes revocation passwords with (2 passes, 19 MiB). */
#define REVOCATION_PWHASH_OPSLIMIT 2
#define REVOCATION_PWHASH_MEMLIMIT (19u * 1024u * 1024u)
#endif
