/* gw_client.h: an HTTP client of tp-gateway for the integration tests (libcurl), and
 * the start of the gateway under the harness. Each gwc_t is one browser: its own
 * connection, session cookie, Origin and CSRF token. Every response is checked for the
 * security headers (TH_CHECK), so each test request doubles as that check. */
#ifndef GW_CLIENT_H
#define GW_CLIENT_H
#include <jansson.h>
#include <stdbool.h>
#include "harness.h"

/** One response. */
typedef struct {
    long status;        /**< HTTP status, 0 when the request failed */
    char *headers;      /**< the raw header block */
    char *body;         /**< NUL-terminated */
    size_t len;         /**< body length */
    json_t *json;       /**< the body parsed, when it is JSON; else NULL */
    double secs;        /**< total time */
} gwc_resp_t;

typedef struct _gwc_t gwc_t;

/** Requests made so far by all clients (for the test's summary). */
extern int gwc_requests;

/** A client of the gateway at @p base ("http://127.0.0.1:PORT"); Origin = @p base. */
gwc_t *gwc_new(const char *base);
void gwc_destroy(gwc_t **self_p);

/** The Origin header sent with every request (NULL: none). */
void gwc_set_origin(gwc_t *self, const char *origin);
/** The X-CSRF-Token header sent with every request (NULL: none). */
void gwc_set_csrf(gwc_t *self, const char *token);
/** The session cookie's value (NULL: no cookie). Set-Cookie answers update it. */
void gwc_set_session(gwc_t *self, const char *token);
/** The session cookie's value, or "" */
const char *gwc_session(gwc_t *self);
/** The client's address, sent as X-Forwarded-For with every request (NULL: none): the
 *  gateway takes it when the connection comes from its trusted proxy (127.0.0.1 in the
 *  tests that set it), so that one test process can be many clients. */
void gwc_set_client(gwc_t *self, const char *addr);

/** One request. @p body (JSON text, Content-Type application/json) may be NULL;
 *  @p extra: NULL-terminated "Name: value" headers (may be NULL; "Name:" removes one).
 *  Returns the status. Free @p out with gwc_resp_free(). */
long gwc_req(gwc_t *self, const char *method, const char *path, const char *body,
             const char *const *extra, gwc_resp_t *out);

/** Same with a body of @p len bytes (may hold anything). */
long gwc_req_raw(gwc_t *self, const char *method, const char *path, const char *body, size_t len,
                 const char *const *extra, gwc_resp_t *out);

void gwc_resp_free(gwc_resp_t *r);

/** A response header's value (name case-insensitive) into @p out; false when absent. */
bool gwc_header(const gwc_resp_t *r, const char *name, char *out, size_t outsz);

/** Top-level string member of the JSON body, or "" */
const char *gwc_str(const gwc_resp_t *r, const char *key);
/** error.code / error.field of an error body, or "" */
const char *gwc_err_code(const gwc_resp_t *r);
const char *gwc_err_field(const gwc_resp_t *r);

/** Logs method, path, status and body on stderr (for failed checks). */
void gwc_log(const char *what, const gwc_resp_t *r);

/** True when @p r has status @p status and (when not NULL) error code @p code and field
 *  @p field; logs it otherwise. */
bool gwc_is(const gwc_resp_t *r, long status, const char *code, const char *field);

/** Registers @p email with @p password (language en), confirms it with the token mailed
 *  to it (fl_mail_token: SMTP sink or outbox), logs in: the session cookie and the CSRF
 *  token are kept by @p c. False when a step failed (logged). */
bool gwc_signup(th_t *th, gwc_t *c, const char *password, const char *email);

/** An order body as JSON (caller frees): @p product in @p shop (NULL = none) with
 *  @p method, valid data; a seal card gets the organization. */
char *gwc_order_json(const char *product, const char *shop, const char *method);

/** The back office and the producers (as operator, ident feed and producer, as tpctl would)
 *  take @p c's PostIdent order @p order_id to a shipped card with one certificate of serial
 *  @p serial, until "Meine Produkte" shows it. False when a step failed (logged). */
bool gwc_ship(th_t *th, gwc_t *c, const char *order_id, const char *serial);

/** Sets the gateway's settings in the harness config (port, origin, plain-http cookie,
 *  web root from $TP_WEB_ROOT, readiness of @p services), starts $TP_GATEWAY and waits
 *  for /healthz. The base URL into @p base (>= 64 bytes). False when it did not come up. */
bool gwc_start_gateway(th_t *th, const char *services, char *base, size_t basesz);
#endif
