/* gw_client.c: a libcurl client of tp-gateway for the tests; the gateway's start. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "flow.h"
#include "gw_client.h"
#include "production.pb-c.h"

int gwc_requests = 0;

struct _gwc_t {
    CURL *curl;              /* one connection, kept alive between requests */
    char base[128];
    char origin[128];        /* "" = no Origin header */
    char csrf[128];          /* "" = no X-CSRF-Token */
    char session[320];       /* "" = no cookie */
    char client[64];         /* "" = none; else sent as X-Forwarded-For */
};

typedef struct {
    char *data;
    size_t len, cap;
} s_buf_t;

/* True when @p extra names header @p name ("Name:" or "Name: value"): then the
 * client's own value of it is not sent. */
static bool s_overridden(const char *const *extra, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; extra && extra[i]; i++)
        if (strncasecmp(extra[i], name, n) == 0 && extra[i][n] == ':')
            return true;
    return false;
}

static size_t s_write(char *ptr, size_t size, size_t n, void *arg)
{
    s_buf_t *b = arg;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *nd = realloc(b->data, cap);
        if (!nd)
            return 0;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

gwc_t *gwc_new(const char *base)
{
    static bool inited = false;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = true;
    }
    gwc_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->curl = curl_easy_init();
    snprintf(self->base, sizeof self->base, "%s", base);
    snprintf(self->origin, sizeof self->origin, "%s", base);
    return self;
}

void gwc_destroy(gwc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curl_easy_cleanup((*self_p)->curl);
    free(*self_p);
    *self_p = NULL;
}

void gwc_set_origin(gwc_t *self, const char *origin)
{
    snprintf(self->origin, sizeof self->origin, "%s", origin ? origin : "");
}

void gwc_set_csrf(gwc_t *self, const char *token)
{
    snprintf(self->csrf, sizeof self->csrf, "%s", token ? token : "");
}

void gwc_set_session(gwc_t *self, const char *token)
{
    snprintf(self->session, sizeof self->session, "%s", token ? token : "");
}

const char *gwc_session(gwc_t *self)
{
    return self->session;
}

void gwc_set_client(gwc_t *self, const char *addr)
{
    snprintf(self->client, sizeof self->client, "%s", addr ? addr : "");
}

bool gwc_header(const gwc_resp_t *r, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t) (eol - p) : strlen(p);
        if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t) (p + ll - v);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            if (vl >= outsz)
                vl = outsz - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = eol ? eol + 1 : p + ll;
    }
    return false;
}

/* Every response: the security headers; API responses also Cache-Control: no-store. */
static void s_check_security(const gwc_resp_t *r, const char *path)
{
    char v[400];
    bool csp = gwc_header(r, "Content-Security-Policy", v, sizeof v) &&
               strstr(v, "default-src 'self'") && strstr(v, "script-src 'self'") &&
               strstr(v, "frame-ancestors 'none'") && strstr(v, "object-src 'none'") &&
               !strstr(v, "unsafe-inline");
    bool nosniff = gwc_header(r, "X-Content-Type-Options", v, sizeof v) &&
                   strcmp(v, "nosniff") == 0;
    bool frame = gwc_header(r, "X-Frame-Options", v, sizeof v) && strcmp(v, "DENY") == 0;
    bool referrer = gwc_header(r, "Referrer-Policy", v, sizeof v) &&
                    (strcmp(v, "no-referrer") == 0 || strcmp(v, "same-origin") == 0);
    bool api = strncmp(path, "/api/", 5) == 0 || strncmp(path, "/healthz", 8) == 0 ||
               strncmp(path, "/readyz", 7) == 0;
    bool cache = !api || (gwc_header(r, "Cache-Control", v, sizeof v) &&
                          strcmp(v, "no-store") == 0);
    if (!(csp && nosniff && frame && referrer && cache))
        fprintf(stderr, "security headers missing on %s (%ld):\n%s\n", path, r->status,
                r->headers ? r->headers : "");
    TH_CHECK(csp && nosniff && frame && referrer && cache);
}

long gwc_req_raw(gwc_t *self, const char *method, const char *path, const char *body, size_t len,
                 const char *const *extra, gwc_resp_t *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = self->curl;
    curl_easy_reset(c);
    char url[8192];
    snprintf(url, sizeof url, "%s%s", self->base, path);
    s_buf_t hb = {0}, bb = {0};
    struct curl_slist *h = NULL;
    char line[512];
    if (body && !s_overridden(extra, "Content-Type"))
        h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (self->origin[0] && !s_overridden(extra, "Origin")) {
        snprintf(line, sizeof line, "Origin: %s", self->origin);
        h = curl_slist_append(h, line);
    }
    if (self->csrf[0] && !s_overridden(extra, "X-CSRF-Token")) {
        snprintf(line, sizeof line, "X-CSRF-Token: %s", self->csrf);
        h = curl_slist_append(h, line);
    }
    if (self->session[0] && !s_overridden(extra, "Cookie")) {
        snprintf(line, sizeof line, "Cookie: tp_session=%s", self->session);
        h = curl_slist_append(h, line);
    }
    if (self->client[0] && !s_overridden(extra, "X-Forwarded-For")) {
        snprintf(line, sizeof line, "X-Forwarded-For: %s", self->client);
        h = curl_slist_append(h, line);
    }
    for (size_t i = 0; extra && extra[i]; i++)
        h = curl_slist_append(h, extra[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    }
    CURLcode rc = curl_easy_perform(c);
    gwc_requests++;
    curl_slist_free_all(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    else
        fprintf(stderr, "%s %s: %s\n", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->secs);
    out->headers = hb.data ? hb.data : strdup("");
    out->body = bb.data ? bb.data : strdup("");
    out->len = bb.len;
    char ct[128];
    if (gwc_header(out, "Content-Type", ct, sizeof ct) && strstr(ct, "application/json"))
        out->json = json_loadb(out->body, out->len, 0, NULL);
    char cookie[300];
    if (gwc_header(out, "Set-Cookie", cookie, sizeof cookie) &&
        strncmp(cookie, "tp_session=", 11) == 0) {
        size_t n = strcspn(cookie + 11, ";");
        cookie[11 + n] = '\0';
        gwc_set_session(self, cookie + 11);
    }
    /* 431 comes from libmicrohttpd itself: the headers did not fit the connection's
     * memory, so no handler (and no security header) was involved */
    if (out->status && out->status != 431)
        s_check_security(out, path);
    return out->status;
}

long gwc_req(gwc_t *self, const char *method, const char *path, const char *body,
             const char *const *extra, gwc_resp_t *out)
{
    return gwc_req_raw(self, method, path, body, body ? strlen(body) : 0, extra, out);
}

void gwc_resp_free(gwc_resp_t *r)
{
    free(r->headers);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

const char *gwc_str(const gwc_resp_t *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "";
}

const char *gwc_err_code(const gwc_resp_t *r)
{
    const char *s = json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
    return s ? s : "";
}

const char *gwc_err_field(const gwc_resp_t *r)
{
    const char *s = json_string_value(json_object_get(json_object_get(r->json, "error"), "field"));
    return s ? s : "";
}

void gwc_log(const char *what, const gwc_resp_t *r)
{
    fprintf(stderr, "  %s: %ld %.*s\n", what, r->status, (int) (r->len > 600 ? 600 : r->len),
            r->body ? r->body : "");
}

bool gwc_is(const gwc_resp_t *r, long status, const char *code, const char *field)
{
    bool ok = r->status == status && (!code || strcmp(gwc_err_code(r), code) == 0) &&
              (!field || strcmp(gwc_err_field(r), field) == 0);
    if (!ok) {
        fprintf(stderr, "  expected %ld %s %s, got:\n", status, code ? code : "",
                field ? field : "");
        gwc_log("response", r);
    }
    return ok;
}

bool gwc_start_gateway(th_t *th, const char *services, char *base, size_t basesz)
{
    int port = th_free_port();
    if (port <= 0)
        return false;
    char v[64];
    snprintf(v, sizeof v, "%d", port);
    th_set(th, "gateway/port", v);
    th_set(th, "gateway/listen", "127.0.0.1");
    th_set(th, "gateway/cookie_secure", "0");
    snprintf(base, basesz, "http://127.0.0.1:%d", port);
    th_set(th, "gateway/public_origin", base);
    th_set(th, "gateway/web_root", th_env("TP_WEB_ROOT"));
    th_set(th, "gateway/services", services);
    char *argv[] = {(char *) th_env("TP_GATEWAY"), "-c", (char *) th_config(th), NULL};
    if (th_spawn(th, "gateway", argv) <= 0)
        return false;
    gwc_t *c = gwc_new(base);
    bool up = false;
    for (int i = 0; i < 100 && !up; i++) {
        gwc_resp_t r;
        up = gwc_req(c, "GET", "/healthz", NULL, NULL, &r) == 200;
        gwc_resp_free(&r);
        if (!up)
            zclock_sleep(50);
    }
    gwc_destroy(&c);
    if (!up)
        fprintf(stderr, "gateway did not come up (see %s/logs/gateway.log)\n", th_dir(th));
    return up;
}

bool gwc_signup(th_t *th, gwc_t *c, const char *password, const char *email)
{
    gwc_resp_t r;
    char body[300];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"language\":\"en\"}",
             email, password);
    gwc_req(c, "POST", "/api/v1/accounts", body, NULL, &r);
    bool ok = gwc_is(&r, 202, NULL, NULL) && strstr(gwc_str(&r, "message"), "mail");
    gwc_resp_free(&r);
    char token[128];
    if (!ok || !fl_mail_token(th, email, token, sizeof token, 15000))
        return false;
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
    gwc_req(c, "POST", "/api/v1/accounts/confirm", body, NULL, &r);
    ok = gwc_is(&r, 200, NULL, NULL);
    gwc_resp_free(&r);
    /* the link works once */
    gwc_req(c, "POST", "/api/v1/accounts/confirm", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid_token", "token"));
    gwc_resp_free(&r);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    gwc_req(c, "POST", "/api/v1/session", body, NULL, &r);
    ok = ok && gwc_is(&r, 200, NULL, NULL) && gwc_session(c)[0] &&
         strcmp(gwc_str(&r, "email"), email) == 0 && gwc_str(&r, "csrfToken")[0] &&
         !json_object_get(r.json, "sessionToken");
    char cookie[300];
    TH_CHECK(gwc_header(&r, "Set-Cookie", cookie, sizeof cookie) && strstr(cookie, "HttpOnly") &&
             strstr(cookie, "SameSite=Strict") && strstr(cookie, "Path=/"));
    gwc_set_csrf(c, gwc_str(&r, "csrfToken"));
    gwc_resp_free(&r);
    return ok;
}

char *gwc_order_json(const char *product, const char *shop, const char *method)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char expiry[32];
    snprintf(expiry, sizeof expiry, "%04d-06-30", tm.tm_year + 1900 + 5);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s, "
        "s:s, s:s, s:s, s:s}}",
        "productId", product, "shopId", shop ? shop : "", "identMethod", method,
        "revocationPassword", "Sperr-Kennwort-42", "applicant", "givenNames", "Erika",
        "familyName", "Mustermann", "birthDate", "1984-08-12", "birthPlace", "Berlin",
        "nationality", "DE", "address", "street", "Heidestraße 17", "postalCode", "51147",
        "city", "Köln", "country", "DE", "email", "erika.mustermann@example.de", "phone",
        "+49 30 1234567", "documentType", "id-card", "documentNumber", "L01X00T47",
        "documentAuthority", "Stadt Köln", "documentExpiry", expiry);
    if (strcmp(product, "seal-card") == 0)
        json_object_set_new(
            o, "organization",
            json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}", "name",
                      "Musterfirma GmbH", "registerCourt", "Amtsgericht Charlottenburg",
                      "registerNumber", "HRB 12345", "address", "street", "Friedrichstraße 100",
                      "postalCode", "10117", "city", "Berlin", "country", "DE",
                      "representatives", "givenNames", "Max", "familyName", "Mustermann",
                      "role", "Geschäftsführer"));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* ------------------------------------------------------------------ the back office */

/* One call as @p as that must be ok. */
static bool s_call_ok(th_t *th, const char *svc, const th_actor_t *as, const char *cmd,
                      const ProtobufCMessage *body)
{
    Tp__Reply *r = th_call_as(th, svc, as, NULL, cmd, body, FL_CALL_MS);
    bool ok = r && r->ok;
    if (!ok)
        th_reply_log(cmd, r);
    th_reply_free(&r);
    return ok;
}

bool gwc_ship(th_t *th, gwc_t *c, const char *order_id, const char *serial)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/orders/%s", order_id);
    gwc_resp_t r;
    char number[32] = "";
    for (int i = 0; i < 100 && !number[0]; i++) {
        gwc_req(c, "GET", path, NULL, NULL, &r);
        snprintf(number, sizeof number, "%s", gwc_str(&r, "postidentNumber"));
        gwc_resp_free(&r);
        if (!number[0])
            zclock_sleep(100);
    }
    Tp__Identification__RecordPostIdentResult pr =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    pr.postident_number = number;
    pr.succeeded = true;
    pr.evidence_ref = "PI-TX-4711";
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = (char *) order_id;
    if (!number[0] ||
        !s_call_ok(th, "identification", &fl_ident, "identification.RecordPostIdentResult",
                   &pr.base) ||
        !s_call_ok(th, "order", &fl_operator, "order.RecordApplicationReceived", &ar.base))
        return false;
    Tp__Production__GetJob gj = TP__PRODUCTION__GET_JOB__INIT;
    gj.order_id = (char *) order_id;
    bool job = false;
    for (int i = 0; i < 100 && !job; i++) {
        Tp__Reply *rep = th_call_as(th, "production", &fl_operator, NULL,
                                    "production.GetJob", &gj.base, FL_CALL_MS);
        job = rep && rep->ok;
        th_reply_free(&rep);
        if (!job)
            zclock_sleep(100);
    }
    int64_t now = zclock_time() * 1000;
    Tp__Production__Certificate cert = TP__PRODUCTION__CERTIFICATE__INIT;
    Tp__Production__Certificate *certs[] = {&cert};
    cert.serial = (char *) serial;
    cert.kind = "signature";
    cert.valid_from_us = now - 60000000;
    cert.valid_to_us = now + INT64_C(3) * 365 * 86400 * 1000000;
    cert.subject = "CN=Erika Mustermann";
    char fact[3][64], card[32], tracking[32];
    for (int i = 0; i < 3; i++)
        snprintf(fact[i], sizeof fact[i], "fact-%s-%d", order_id, i);
    snprintf(card, sizeof card, "C%s", serial);
    snprintf(tracking, sizeof tracking, "RR%sDE", serial);
    for (char *p = tracking; *p; p++)   /* tracking numbers are upper case */
        if (*p >= 'a' && *p <= 'z')
            *p = (char) (*p - 'a' + 'A');
    Tp__Production__RecordCertificates rc = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    rc.fact_id = fact[0];
    rc.order_id = (char *) order_id;
    rc.certificates = certs;
    rc.n_certificates = 1;
    Tp__Production__RecordCardProduced cp = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    cp.fact_id = fact[1];
    cp.order_id = (char *) order_id;
    cp.card_number = card;
    Tp__Production__RecordCardShipped cs = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    cs.fact_id = fact[2];
    cs.order_id = (char *) order_id;
    cs.tracking_number = tracking;
    if (!job ||
        !s_call_ok(th, "production", &fl_producer, "production.RecordCertificates", &rc.base) ||
        !s_call_ok(th, "production", &fl_producer, "production.RecordCardProduced", &cp.base) ||
        !s_call_ok(th, "production", &fl_producer, "production.RecordCardShipped", &cs.base))
        return false;
    snprintf(path, sizeof path, "/api/v1/products/prd-%s", order_id);
    bool ok = false;
    for (int i = 0; i < 50 && !ok; i++) {
        gwc_req(c, "GET", path, NULL, NULL, &r);
        ok = r.status == 200 && strcmp(gwc_str(&r, "orderId"), order_id) == 0 &&
             strcmp(gwc_str(&r, "status"), "nicht_freigeschaltet") == 0;
        if (!ok && i == 49)
            gwc_log(path, &r);
        gwc_resp_free(&r);
        if (!ok)
            zclock_sleep(200);
    }
    return ok;
}
