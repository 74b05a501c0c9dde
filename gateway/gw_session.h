/* gw_session.h: the session cookie, the session behind it, and CSRF protection.
 *
 * The cookie `tp_session` holds the account service's session token (HttpOnly,
 * SameSite=Strict, Path=/, Secure unless cookie_secure = 0). A token is turned into its
 * account by the account service's ResolveSession; the answer is cached per worker
 * thread for at most session_cache_ms. A logout or a shop redeemed anywhere in this
 * gateway invalidates every thread's cache at once (one atomic generation counter, no
 * lock). When ResolveSession says touch_due, TouchSession (with a fresh request id)
 * keeps the session alive while it is used.
 *
 * CSRF: every state-changing request needs an Origin header equal to public_origin (or,
 * without Origin, a Referer under it); a logged-in one also needs the header
 * X-CSRF-Token equal to the session's CSRF token, HMAC-SHA256(gateway secret,
 * "csrf:" + session token) in base64url, which the login reply and GET /api/v1/me
 * hand out. A cross-site page can neither read that token nor set the header.
 *
 * A leaf of the request path (gateway/README.md): it reads the request, asks the
 * account service through gw_backend.h and answers through gw_json.h / gw_req.h; it
 * knows nothing of routes, handlers or the HTTP server.
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include <stdbool.h>
#include "account.pb-c.h"
#include "gw_req.h"

/** Name of the session cookie. */
#define GW_SESSION_COOKIE "tp_session"

/** A resolved session, valid for one request. */
typedef struct {
    char token[128];                        /**< the cookie's value */
    char csrf[64];                          /**< its CSRF token */
    Tp__Account__SessionInfo *info;         /**< owned: account, e-mail, roles, shops */
    bool cached;                            /**< info came from this thread's cache */
} gw_session_t;

/** @brief Set up the shared state. Call once before the server starts. */
void gw_session_init(void);

/**
 * @brief The session of the request's cookie.
 * @return 0 with @p out filled (release with gw_session_clear()); 1 when there is no
 *         valid session (no cookie, a malformed, unknown, expired or ended one: the
 *         caller answers 401, and a stale cookie is cleared with the response);
 *         -1 after responding 503/504 (the account service is down or slow)
 */
int gw_session_resolve(gw_req_t *req, gw_session_t *out);

/**
 * @brief Resolve @p s again past the cache, when it came from the cache. A refusal for
 *        a missing right (officer, shop) calls this first: the cache may predate an
 *        appointment made a moment ago, and another thread may already have seen it.
 * @return as gw_session_resolve(); 0 at once, unchanged, for a session that did not
 *         come from the cache
 */
int gw_session_refresh(gw_req_t *req, gw_session_t *s);

/** @brief Free what a session holds; safe on a cleared one. */
void gw_session_clear(gw_session_t *s);

/** @brief Invalidate every thread's cached sessions (logout, shop redeemed). */
void gw_session_invalidate(void);

/** @brief The CSRF token of session token @p token into @p out (>= 48 bytes). */
void gw_session_csrf(const gw_config_t *config, const char *token, char *out, size_t outsz);

/** @brief 0 when Origin (or Referer) names public_origin, else responds 403 "csrf"
 *  and returns -1. */
int gw_session_check_origin(gw_req_t *req);

/** @brief 0 when X-CSRF-Token matches @p s, else responds 403 "csrf" and returns -1. */
int gw_session_check_csrf(gw_req_t *req, const gw_session_t *s);

/** @brief Sets the response's Set-Cookie: the session cookie with @p token, or, when
 *  @p token is NULL, one that removes it. */
void gw_session_set_cookie(gw_req_t *req, const char *token);

/** @brief True when the session's account redeemed shop @p shop_id. */
bool gw_session_has_shop(const gw_session_t *s, const char *shop_id);

/** @brief True when the session's account is an officer of @p shop_id, or of any shop
 *  when @p shop_id is NULL. */
bool gw_session_is_officer(const gw_session_t *s, const char *shop_id);

/** @brief The idempotency namespace of an anonymous client: "anon-" and 16 hex digits
 *  of HMAC(secret, client address), so that two clients' keys cannot collide and the
 *  address is not written into the services' logs. */
void gw_session_anon_ns(gw_req_t *req, char *out, size_t outsz);
#endif
