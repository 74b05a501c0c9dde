/* gw_json.c: the API's error shape, status codes, and JSON <-> protobuf bodies. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "gw_json.h"
#include "pbj.h"

static const struct {
    const char *code;
    unsigned status;
} s_status[] = {
    {"invalid", 400},          {"invalid_token", 400},     {"expired", 400},
    {"invalid_json", 400},     {"unknown_shop_code", 400}, {"unauthenticated", 401},
    {"invalid_credentials", 401}, {"forbidden", 403},      {"not_confirmed", 403},
    {"csrf", 403},             {"not_found", 404},         {"conflict", 409},
    {"not_ready", 409},        {"throttled", 429},         {"internal", 500},
    {"unknown_command", 503},  {"unavailable", 503},       {"service_unavailable", 503},
    {"deadline", 504},         {"service_timeout", 504},
};

unsigned gw_json_status_of(const char *code)
{
    for (size_t i = 0; code && i < sizeof s_status / sizeof s_status[0]; i++)
        if (strcmp(s_status[i].code, code) == 0)
            return s_status[i].status;
    return 400;
}

int gw_json_respond(gw_req_t *req, unsigned status, json_t *json, const gw_header_t *extra,
                    size_t n_extra)
{
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"field\":\"\",\"message\":\"out of memory\"}}";
        return gw_respond(req, 500, GW_JSON_TYPE, oom, sizeof oom - 1, NULL, 0);
    }
    int rc = gw_respond(req, status, GW_JSON_TYPE, text, strlen(text), extra, n_extra);
    free(text);
    return rc;
}

/* @p in with every byte outside printable ASCII replaced by '?' (for messages that may
 * quote input that is not UTF-8, which a JSON string cannot hold). */
static void s_ascii(const char *in, char *out, size_t outsz)
{
    size_t k = 0;
    for (; in && *in && k + 1 < outsz; in++)
        out[k++] = (unsigned char) *in < 0x20 || (unsigned char) *in >= 0x7f ? '?' : *in;
    out[k] = '\0';
}

static json_t *s_error_obj(const char *code, const char *field, const char *message)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "code", code ? code : "", "field",
                          field ? field : "", "message", message ? message : "");
    if (!o) {
        char c[64], f[160], m[512];
        s_ascii(code, c, sizeof c);
        s_ascii(field, f, sizeof f);
        s_ascii(message, m, sizeof m);
        o = json_pack("{s:s, s:s, s:s}", "code", c, "field", f, "message", m);
    }
    return o;
}

int gw_json_error(gw_req_t *req, unsigned status, const char *code, const char *field,
                  const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:o}", "error", s_error_obj(code, field, message));
    const gw_header_t retry[] = {{"Retry-After", "1"}};
    bool busy = status == 503 || status == 429;
    return gw_json_respond(req, status, body, busy ? retry : NULL, busy ? 1 : 0);
}

int gw_json_reply_errors(gw_req_t *req, const Tp__Reply *reply)
{
    if (!reply || reply->n_errors == 0)
        return gw_json_error(req, 500, "internal", "", "the service refused without a reason");
    const Tp__Error *first = reply->errors[0];
    unsigned status = gw_json_status_of(first->code);
    /* internals stay in the service's log */
    const char *msg = status == 500 ? "internal error" : first->message;
    json_t *err = s_error_obj(first->code, first->field, msg);
    if (reply->n_errors > 1) {
        json_t *details = json_array();
        for (size_t i = 0; i < reply->n_errors; i++) {
            const Tp__Error *e = reply->errors[i];
            json_array_append_new(details, s_error_obj(e->code, e->field, e->message));
        }
        json_object_set_new(err, "details", details);
    }
    const gw_header_t retry[] = {{"Retry-After", "1"}};
    bool busy = status == 503 || status == 429;
    return gw_json_respond(req, status, json_pack("{s:o}", "error", err), busy ? retry : NULL,
                           busy ? 1 : 0);
}

int gw_json_call_failed(gw_req_t *req, gw_svc_t svc, int rc)
{
    const char *name = gw_svc_name(svc);
    if (rc == GW_CALL_SLOW)
        return gw_json_error(req, 504, "service_timeout", "",
                             "the %s service did not answer in time", name ? name : "");
    return gw_json_error(req, 503, "service_unavailable", "",
                         "the %s service is not available", name ? name : "");
}

/* True when the Content-Type is application/json (parameters such as charset allowed). */
static bool s_is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

json_t *gw_json_body(gw_req_t *req)
{
    if (req->body_len == 0)
        return json_object();
    if (!s_is_json_type(gw_req_header(req, "Content-Type"))) {
        gw_json_error(req, 415, "unsupported_media_type", "Content-Type",
                      "the body must be application/json");
        return NULL;
    }
    json_error_t jerr;
    json_t *json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json) {
        gw_json_error(req, 400, "invalid_json", "", "line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(json)) {
        json_decref(json);
        gw_json_error(req, 400, "invalid", "", "body must be a JSON object");
        return NULL;
    }
    return json;
}

ProtobufCMessage *gw_json_to_msg(gw_req_t *req, const ProtobufCMessageDescriptor *desc,
                                 const json_t *json, unsigned flags)
{
    pbj_error_t err = {{0}, {0}};
    ProtobufCMessage *msg = pbj_from_json(desc, json, flags, &err);
    if (!msg)
        gw_json_error(req, 400, "invalid", err.field, "%s", err.message);
    return msg;
}

json_t *gw_json_from_reply(const ProtobufCMessageDescriptor *desc, const Tp__Reply *reply,
                           const char *const *drop)
{
    json_t *json = pbj_bytes_to_json(desc, reply->body.data, reply->body.len, PBJ_EMIT_DEFAULTS);
    for (size_t i = 0; json && drop && drop[i]; i++)
        json_object_del(json, drop[i]);
    return json;
}

char *gw_json_reply_text(const ProtobufCMessageDescriptor *desc, const Tp__Reply *reply,
                         size_t *len)
{
    return pbj_bytes_to_text(desc, reply->body.data, reply->body.len, PBJ_EMIT_DEFAULTS, len);
}
