/* gw_api.h: the handlers of the routes that do more than call one command and answer its
 * reply (gw_handler.h: what each is given; gw_routes.h: the steps done before each; every
 * handler responds once).
 *
 *   healthz        200 {"status":"ok"} while the process runs
 *   readyz         every service in `services` answers "$status" within ready_timeout_ms:
 *                  200, else 503 naming the ones that do not
 *   login          Login; a recorded refusal ("invalid_credentials") is 401; success sets
 *                  the session cookie (a new token at every login) and answers the session
 *                  without its token, with "csrfToken"
 *   logout         Logout of the cookie's session, clears the cookie, drops the cached
 *                  sessions of every thread: 204
 *   me             the session: account, e-mail, language, roles, shops, officer shops,
 *                  expiry, and "csrfToken"
 *   catalog        GetCatalog for the session's shops (none when anonymous)
 *   shops          the session's shops (names from GetCatalog): {"shops": [...]}
 *   redeem         RedeemShopCode; the recorded refusal "unknown_shop_code" is 400 on "code"
 *   place_order    PlaceOrder; a shopId must be one the account redeemed (400 on "shopId")
 *   document       GetDocument: the PDF itself, Content-Disposition: attachment
 *   revoke         RevokeWithPassword (anonymous): "invalid_credentials" 401, "throttled" 429
 *   officer_case   GetCase as officer: only cases of the officer's own shops (else 404)
 *   officer_result the same check, then RecordResult
 */
#ifndef GW_API_H
#define GW_API_H
#include "gw_handler.h"

void gw_api_healthz(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_readyz(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_login(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_logout(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_me(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_catalog(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_shops(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_redeem(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_place_order(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_document(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_revoke(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_officer_case(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
void gw_api_officer_result(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx);
#endif
