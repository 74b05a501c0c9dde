/* gw_session.c: session cookie -> account (per-thread cache), CSRF and Origin checks. */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "gw_backend.h"
#include "gw_json.h"
#include "gw_session.h"

/* A cached ResolveSession answer: the SessionInfo as the service sent it. */
typedef struct {
    int64_t at_ms;        /* zclock_mono() when resolved */
    uint64_t epoch;       /* s_epoch when resolved */
    char csrf[64];        /* the token's CSRF token (a function of the token alone) */
    size_t len;           /* bytes of info */
    uint8_t info[];       /* packed tp.account.SessionInfo */
} s_entry_t;

/* Entries per thread before the cache is emptied (bounds memory under many sessions). */
#define S_CACHE_MAX 4096

static pthread_key_t s_key;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t s_epoch = 1;

static void s_cache_free(void *arg)
{
    zhashx_t *h = arg;
    zhashx_destroy(&h);
}

static void s_entry_free(void **item)
{
    free(*item);
    *item = NULL;
}

static void s_make_key(void)
{
    if (pthread_key_create(&s_key, s_cache_free) != 0)
        zsys_error("gateway: pthread_key_create failed");
}

void gw_session_init(void)
{
    pthread_once(&s_once, s_make_key);
}

void gw_session_invalidate(void)
{
    atomic_fetch_add(&s_epoch, 1);
}

static zhashx_t *s_cache(void)
{
    zhashx_t *h = pthread_getspecific(s_key);
    if (!h) {
        h = zhashx_new();
        if (!h)
            return NULL;
        zhashx_set_destructor(h, s_entry_free);
        if (pthread_setspecific(s_key, h) != 0)
            zhashx_destroy(&h);
    }
    return h;
}

/* A well-formed token: what the account service hands out is 43 base64url characters. */
static bool s_token_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n < 16 || n > 100)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

void gw_session_csrf(const gw_config_t *config, const char *token, char *out, size_t outsz)
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, config->secret, GW_SECRET_SIZE);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *) "csrf:", 5);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *) token, strlen(token));
    crypto_auth_hmacsha256_final(&st, mac);
    if (outsz < sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
        if (outsz)
            out[0] = '\0';
        return;
    }
    sodium_bin2base64(out, outsz, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void gw_session_anon_ns(gw_req_t *req, char *out, size_t outsz)
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, req->config->secret, GW_SECRET_SIZE);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *) "anon:", 5);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *) req->client_addr,
                                  strlen(req->client_addr));
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[17];
    sodium_bin2hex(hex, sizeof hex, mac, 8);
    snprintf(out, outsz, "anon-%s", hex);
}

void gw_session_set_cookie(gw_req_t *req, const char *token)
{
    const char *secure = req->config->cookie_secure ? "; Secure" : "";
    if (token)
        snprintf(req->set_cookie, sizeof req->set_cookie,
                 GW_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", token, secure);
    else
        snprintf(req->set_cookie, sizeof req->set_cookie,
                 GW_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", secure);
}

void gw_session_clear(gw_session_t *s)
{
    if (s->info)
        tp__account__session_info__free_unpacked(s->info, NULL);
    sodium_memzero(s, sizeof *s);
}

/* Fills @p out from a packed SessionInfo and, when known, the token's CSRF token
 * (@p csrf, else it is computed); -1 when it does not decode. */
static int s_fill(gw_req_t *req, gw_session_t *out, const char *token, const uint8_t *data,
                  size_t len, const char *csrf)
{
    out->info = tp__account__session_info__unpack(NULL, len, data);
    if (!out->info || !out->info->account_id[0])
        return -1;
    snprintf(out->token, sizeof out->token, "%s", token);
    if (csrf)
        memcpy(out->csrf, csrf, sizeof out->csrf);
    else
        gw_session_csrf(req->config, token, out->csrf, sizeof out->csrf);
    return 0;
}

/* TouchSession with a fresh request id: marks activity so the idle time-out slides. */
static void s_touch(gw_req_t *req, const char *token)
{
    Tp__Account__TouchSession cmd = TP__ACCOUNT__TOUCH_SESSION__INIT;
    cmd.session_token = (char *) token;
    gw_actor_t as = {NULL, NULL, NULL, req->client_addr};
    Tp__Reply *r = NULL;
    int rc = gw_backend_call(GW_SVC_ACCOUNT, &as, "account.TouchSession", &cmd.base,
                             req->config->timeout_ms, &r);
    if (rc != GW_CALL_OK || !r->ok)
        zsys_warning("gateway: TouchSession failed (%s)",
                     rc != GW_CALL_OK ? "no answer" : r->n_errors ? r->errors[0]->code : "?");
    if (r)
        tp__reply__free_unpacked(r, NULL);
}

int gw_session_resolve(gw_req_t *req, gw_session_t *out)
{
    memset(out, 0, sizeof *out);
    const char *token = gw_req_cookie(req, GW_SESSION_COOKIE);
    if (!token || !*token)
        return 1;
    if (!s_token_ok(token)) {
        gw_session_set_cookie(req, NULL);
        return 1;
    }
    zhashx_t *cache = s_cache();
    s_entry_t *e = cache ? zhashx_lookup(cache, token) : NULL;
    if (e && zclock_mono() - e->at_ms < req->config->session_cache_ms &&
        e->epoch == atomic_load(&s_epoch)) {
        if (s_fill(req, out, token, e->info, e->len, e->csrf) == 0) {
            out->cached = true;
            return 0;
        }
        gw_session_clear(out);
    }
    if (e)
        zhashx_delete(cache, token);
    uint64_t epoch = atomic_load(&s_epoch);
    Tp__Account__ResolveSession q = TP__ACCOUNT__RESOLVE_SESSION__INIT;
    q.session_token = (char *) token;
    gw_actor_t as = {NULL, NULL, NULL, req->client_addr};
    Tp__Reply *r = NULL;
    int rc = gw_backend_call(GW_SVC_ACCOUNT, &as, "account.ResolveSession", &q.base,
                             req->config->timeout_ms, &r);
    if (rc != GW_CALL_OK) {
        gw_json_call_failed(req, GW_SVC_ACCOUNT, rc);
        return -1;
    }
    if (!r->ok) {
        bool unauth = r->n_errors > 0 && strcmp(r->errors[0]->code, "unauthenticated") == 0;
        if (unauth)
            gw_session_set_cookie(req, NULL);
        else
            gw_json_reply_errors(req, r);
        tp__reply__free_unpacked(r, NULL);
        return unauth ? 1 : -1;
    }
    if (s_fill(req, out, token, r->body.data, r->body.len, NULL) != 0) {
        gw_session_clear(out);
        tp__reply__free_unpacked(r, NULL);
        gw_json_error(req, 502, "internal", "", "the account service sent a bad session");
        return -1;
    }
    if (out->info->touch_due)
        s_touch(req, token);
    if (cache && req->config->session_cache_ms > 0) {
        if (zhashx_size(cache) >= S_CACHE_MAX)
            zhashx_purge(cache);
        s_entry_t *ne = malloc(sizeof *ne + r->body.len);
        if (ne) {
            ne->at_ms = zclock_mono();
            ne->epoch = epoch;
            ne->len = r->body.len;
            memcpy(ne->csrf, out->csrf, sizeof ne->csrf);
            memcpy(ne->info, r->body.data, r->body.len);
            if (zhashx_insert(cache, token, ne) != 0)
                free(ne);
        }
    }
    tp__reply__free_unpacked(r, NULL);
    return 0;
}

int gw_session_refresh(gw_req_t *req, gw_session_t *s)
{
    if (!s->cached)
        return 0;
    zhashx_t *cache = s_cache();
    if (cache)
        zhashx_delete(cache, s->token);
    gw_session_clear(s);
    return gw_session_resolve(req, s);
}

int gw_session_check_origin(gw_req_t *req)
{
    const char *want = req->config->public_origin;
    size_t wl = strlen(want);
    const char *origin = gw_req_header(req, "Origin");
    if (origin) {
        if (strcmp(origin, want) == 0)
            return 0;
        gw_json_error(req, 403, "csrf", "Origin", "cross-origin request refused");
        return -1;
    }
    const char *ref = gw_req_header(req, "Referer");
    if (ref && strncmp(ref, want, wl) == 0 && (ref[wl] == '/' || ref[wl] == '\0'))
        return 0;
    gw_json_error(req, 403, "csrf", "Origin",
                  ref ? "cross-origin request refused" : "the Origin header is required");
    return -1;
}

int gw_session_check_csrf(gw_req_t *req, const gw_session_t *s)
{
    const char *got = gw_req_header(req, "X-CSRF-Token");
    size_t n = strlen(s->csrf);
    if (got && n > 0 && strlen(got) == n && sodium_memcmp(got, s->csrf, n) == 0)
        return 0;
    gw_json_error(req, 403, "csrf", "X-CSRF-Token",
                  got ? "the CSRF token does not match the session"
                      : "the X-CSRF-Token header is required");
    return -1;
}

bool gw_session_has_shop(const gw_session_t *s, const char *shop_id)
{
    for (size_t i = 0; s->info && shop_id && i < s->info->n_shop_ids; i++)
        if (strcmp(s->info->shop_ids[i], shop_id) == 0)
            return true;
    return false;
}

bool gw_session_is_officer(const gw_session_t *s, const char *shop_id)
{
    if (!s->info)
        return false;
    if (!shop_id)
        return s->info->n_officer_shop_ids > 0;
    for (size_t i = 0; i < s->info->n_officer_shop_ids; i++)
        if (strcmp(s->info->officer_shop_ids[i], shop_id) == 0)
            return true;
    return false;
}
