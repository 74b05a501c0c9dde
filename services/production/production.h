/* production.h: the production service (tp-production): a production job per order
 * released for production, fed by the producers' facts, and the products ("Meine
 * Produkte") that come out of it.
 *
 * Reactions (upstreams "order" and "revocation"):
 *
 *   order.OrderReleasedForProduction  -> JobOpened (once per order; repeats are ignored)
 *   revocation.RevocationRequested    -> ProductRevocationPending (product_id, request_id;
 *                                        ignored for an unknown, pending or revoked product)
 *   revocation.RevocationCompleted    -> ProductRevoked (ignored when already revoked)
 *
 * Producer facts ("production.<Name>", role "producer" or "operator", else "forbidden";
 * each replies FactAck with the job's status afterwards). They come over the request
 * socket, the runtime's CURVE producer endpoint, or `tpctl produce ...`:
 *
 *   RecordCertificates       -> CertificatesCreated   first fact of a job
 *   RecordCardProduced       -> CardProduced          after the certificates
 *   RecordCardShipped        -> CardShipped           after produced; creates the product
 *                                                     "prd-<order id>" (nicht_freigeschaltet)
 *   RecordPinLetterShipped   -> PinLetterShipped      after produced
 *   RecordCardDelivered      -> CardDelivered         after the card was shipped
 *   RecordPinLetterDelivered -> PinLetterDelivered    after the PIN letter was shipped
 *   The second of the two deliveries also writes JobCompleted.
 *
 * Every fact carries a fact_id (1..PRODUCTION_FACT_ID_MAX printable ASCII characters,
 * no spaces), one namespace for all kinds of fact. A fact_id seen before is answered
 * with an ok FactAck{duplicate: true} naming the order it was first recorded for, and
 * writes nothing, whatever the rest of the command says: a producer that retries after
 * a lost answer gets "done", not a refusal because the job has moved on.
 *
 * Refusals, checked in this order (all bad fields are reported together):
 *   "forbidden"  not a producer or an operator
 *   "invalid"    a field, named as its lowerCamelCase path:
 *                factId; orderId (1..64 characters); certificates (1..PRODUCTION_CERTS_MAX);
 *                certificates[i].serial (hex, 1..64 digits, not twice in the command);
 *                certificates[i].kind ("signature", "authentication", "encryption",
 *                "seal"); certificates[i].validFromUs (> 0); certificates[i].validToUs
 *                (after validFromUs); certificates[i].subject (UTF-8 text, at most 256
 *                characters, optional); cardNumber (1..32 of A-Z, a-z, 0-9);
 *                trackingNumber (1..64 of A-Z, 0-9 and -)
 *   "not_found"  orderId: no job for that order (not released for production, or not yet
 *                seen here)
 *   "conflict"   the fact does not fit the job, with the reason, e.g. "certificates
 *                already recorded", "card produced before its certificates were
 *                created", "card shipped before it was produced", "PIN letter shipped
 *                before the card was produced", "card delivered before it was shipped",
 *                "PIN letter delivered before it was shipped", "... already ...";
 *                certificates[i].serial / cardNumber already recorded for another order
 *                (serials compare case-insensitively and are stored in lower case; card
 *                numbers compare case-insensitively)
 *
 * Queries:
 *   ListProducts  the acting account's products (actor_account required, else
 *                 "forbidden"), newest shipment first -> ProductList
 *   GetProduct    -> ProductView; a customer sees own products only: another account's
 *                 product is "not_found" (productId) exactly like a missing one;
 *                 operator and system roles see any
 *   GetJob        operator / producer -> JobView; "not_found" (orderId)
 *
 * Products. Status, from the events: "nicht_freigeschaltet" when shipped; "gueltig"
 * once ProductActivated; "sperrung_in_bearbeitung" once ProductRevocationPending;
 * "gesperrt" once ProductRevoked (final). The validity of a product is the period in
 * which all its certificates are valid (the latest valid_from to the earliest
 * valid_to). Queries evaluate it against the clock (ctx->now_us): active = "gueltig"
 * and valid_from <= now < valid_to; else inactive_reason is "revoked" (a revocation
 * requested or done: it is irreversible), "expired" (now >= valid_to), or
 * "not_activated" (not yet activated, or not yet valid).
 *
 * Timer: tick writes ProductActivated for each product shipped at least the activation
 * delay ago, once: the event is in the log, so neither a second tick nor a restart
 * fires it again, and a restart after the due time fires it at the first tick. A
 * product whose revocation is pending or done is never activated. At most
 * PRODUCTION_TICK_MAX products per tick; the rest follow at the next ones.
 *
 * Settings (in the section of the service's name; the table in production.c):
 *   activation_delay_s   seconds from shipping to activation; default
 *                        PRODUCTION_ACTIVATION_DELAY_S (24 h); 0 activates at the next tick
 */
#ifndef PRODUCTION_H
#define PRODUCTION_H
#include "svc.h"

/** The production core. Upstreams: {"order", "revocation", NULL}. */
extern const svc_def_t production_def;

/** Default activation delay: certificates of portal orders are activated about 24 hours
 *  after shipping. */
#define PRODUCTION_ACTIVATION_DELAY_S 86400

/** Longest fact id, in bytes. */
#define PRODUCTION_FACT_ID_MAX 128

/** Most certificates one card carries. */
#define PRODUCTION_CERTS_MAX 8

/** Most activations one tick writes (bounds one transaction after a long downtime). */
#define PRODUCTION_TICK_MAX 4096

/** Product status names (wire values of ProductView.status). */
#define PRODUCTION_NICHT_FREIGESCHALTET "nicht_freigeschaltet"
#define PRODUCTION_GUELTIG              "gueltig"
#define PRODUCTION_SPERRUNG             "sperrung_in_bearbeitung"
#define PRODUCTION_GESPERRT             "gesperrt"
#endif
