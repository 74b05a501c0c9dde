/* order.h: the order service (tp-order): catalog, shops, orders, their status and
 * their documents (PDF).
 *
 * Commands and queries ("order.<Name>", messages in proto/order.proto; each entry of the
 * table names its reply type):
 *
 *   CreateShop, ChangeShop           operator -> Shop; ShopCreated / ShopChanged
 *   ListShops                        operator query -> ShopList (with codes)
 *   GetCatalog                       any role -> Catalog (portal products, the shops asked
 *                                    for and what each offers, the not-orderable list)
 *   PlaceOrder                       customer (actor_account) -> OrderView; OrderPlaced.
 *                                    The revocation password is hashed in `prepare` on the
 *                                    worker pool (Argon2id, 2 passes, 19 MiB).
 *   RecordApplicationReceived,       operator -> OrderView; ApplicationReceived,
 *   RecordDataProblem,               DataProblemRecorded, DataProblemResolved, and
 *   ResolveDataProblem               OrderReleasedForProduction when that completes the
 *                                    conditions
 *   ListOrders, GetOrder,            -> OrderList, OrderView, Document (PDF): the acting
 *   GetDocument                      account's orders only; another account's order is
 *                                    "not_found", exactly like a missing one (operator
 *                                    and system roles may read any)
 *   FindOrder                        operator / system query, unscoped -> OrderView
 *
 * Reactions (upstream "identification"): CaseOpened -> PostIdentNumberAssigned (PostIdent);
 * IdentificationSucceeded / IdentificationFailed -> IdentificationRecorded.
 *
 * Reactions (upstream "production", order_production.c), each at most once per order and
 * ignored for orders not known here:
 *   JobOpened    -> ProductionStarted  the "production" step is in progress (started_at_us)
 *   CardProduced -> OrderProduced      the "production" step is done
 *   CardShipped  -> OrderShipped       "versendet"; tracking number and the product id
 *                                      ("prd-<order id>") shown in the order
 *   JobCompleted -> OrderDelivered     card and PIN letter delivered: "fertig", archived
 *                                      (ListOrders with archived=true lists it, the active
 *                                      list no longer does)
 *
 * Release: an order is released for production (OrderReleasedForProduction, exactly once)
 * when the signed application was received, the identification succeeded and no data
 * problem is open; whichever of the three comes last releases it in the same command or
 * reaction.
 *
 * Status, derived from the order's facts (no stored status to migrate): "offen";
 * "wartend" while a data problem is open; "in_produktion" once released; "versendet"
 * once shipped; "fertig" once delivered (then archived).
 *
 * Seed: on first start the catalog (signature card, seal card, and the products only
 * orderable elsewhere) and a demo shop are written as events, once: by the first tick,
 * or by the first command if it comes earlier. Until then queries answer from the seed.
 *
 * Applicants must be at least ORDER_MIN_AGE years old: a qualified certificate is a
 * contract, and full legal capacity comes at 18 in Germany.
 */
#ifndef ORDER_H
#define ORDER_H
#include "svc.h"

/** The order core. Upstreams: {"identification", "production", NULL}. */
extern const svc_def_t order_def;

/** The demo shop seeded on first start, so a local run has a shop code to redeem. It
 *  offers every orderable product and enables OfficerIdent and D-Trust Ident. */
#define ORDER_DEMO_SHOP_ID   "shop-demo"
#define ORDER_DEMO_SHOP_CODE "DEMO-SHOP-2026"
#define ORDER_DEMO_SHOP_NAME "Musterfirma GmbH"

/** Version of the seed written by CatalogSeeded. */
#define ORDER_SEED_VERSION 1

/** Minimum age of an applicant, in years. */
#define ORDER_MIN_AGE 18

/** Argon2id cost of the revocation password (OWASP's minimum: 2 passes, 19 MiB). */
#define ORDER_PWHASH_OPSLIMIT 2
#define ORDER_PWHASH_MEMLIMIT (19u * 1024u * 1024u)
#endif
