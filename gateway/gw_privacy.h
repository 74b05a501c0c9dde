/* gw_privacy.h: the handlers of a customer's rights over the data of its own account
 * (GDPR Art. 15, 17, 20): the download of its data and its request for deletion. Each
 * responds once (gw_handler.h); the session is required by the route.
 *
 *   export     GET /api/v1/me/export: one JSON document, as an attachment
 *              ("trustportal-data-YYYY-MM-DD.json", the UTC date), gathered from the
 *              services' own owner-scoped queries as the session's account (role
 *              "customer", also for an officer): {format, generatedAt, account (GetAccount),
 *              orders (ListOrders, open and archived, with every field and the documents
 *              listed by kind), products (ListProducts), revocationRequests
 *              (ListOwnRequests)}. The services scope each query to the account; the
 *              gateway checks it again, and refuses (500) a document that would name
 *              another account or its orders rather than hand it out. Any service down:
 *              503 naming it, never a partial document.
 *   deletion   POST /api/v1/me/deletion-request: RequestDeletion ({reason} optional); the
 *              open request (202), the same one when asked again. The cached sessions are
 *              dropped, so that GET /api/v1/me shows it at once.
 */
#ifndef GW_PRIVACY_H
#define GW_PRIVACY_H
#include "gw_handler.h"

/** The export document's `format`; a change of its shape gets a new one. */
#define GW_EXPORT_FORMAT "trustportal-export/1"

void gw_privacy_export(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_privacy_deletion(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
#endif
