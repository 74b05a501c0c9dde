/* gw_json.c: the API's error shape, status codes, and JSON <-> protobuf bodies. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "gw_json.h"
#include "order.pb-c.h"
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

/* ------------------------------------------------------------------ reply text memo */

/* The JSON text of replies answered as they are, remembered per worker thread: a reply
 * whose body has exactly the bytes of one written before (same message type) gets the
 * same text without being decoded again. The text is a function of the type and the
 * bytes alone (pbj_bytes_to_text), so this serves neither another account's data nor
 * an older state: the service is asked every time, a hit needs every byte equal, and a
 * changed reply has other bytes. Pays where the same reply comes again on a thread: the
 * catalog, and a customer's list or order viewed again over the browser's keep-alive
 * connection, which stays on one thread. */
#define S_MEMO_SLOTS 32              /* per thread, direct-mapped by a hash of the body */
#define S_MEMO_MAX (32 * 1024)       /* body + text; larger ones are written every time, */
                                     /* so a thread holds at most about 1 MiB */

typedef struct {
    const ProtobufCMessageDescriptor *desc;   /* the body's type, or NULL: empty slot */
    uint64_t hash;                            /* s_hash() of the body */
    size_t body_len;
    size_t text_len;
    uint8_t *block;                           /* malloc: the body, then the text and NUL */
} s_memo_t;

static pthread_key_t s_memo_key;
static pthread_once_t s_memo_once = PTHREAD_ONCE_INIT;

static void s_memo_free(void *arg)
{
    s_memo_t *memo = arg;
    for (int i = 0; memo && i < S_MEMO_SLOTS; i++)
        free(memo[i].block);
    free(memo);
}

static void s_memo_key_make(void)
{
    if (pthread_key_create(&s_memo_key, s_memo_free) != 0)
        zsys_error("gateway: pthread_key_create failed");
}

/* The calling thread's slots; NULL when out of memory (then nothing is remembered). */
static s_memo_t *s_memo(void)
{
    pthread_once(&s_memo_once, s_memo_key_make);
    s_memo_t *memo = pthread_getspecific(s_memo_key);
    if (!memo) {
        memo = calloc(S_MEMO_SLOTS, sizeof *memo);
        if (memo && pthread_setspecific(s_memo_key, memo) != 0) {
            free(memo);
            memo = NULL;
        }
    }
    return memo;
}

/* Picks the slot only; equality is decided by comparing every byte. */
static uint64_t s_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

char *gw_json_reply_text(const ProtobufCMessageDescriptor *desc, const Tp__Reply *reply,
                         size_t *len)
{
    const uint8_t *body = reply->body.data;
    size_t n = reply->body.len;
    s_memo_t *memo = n > 0 && n < S_MEMO_MAX ? s_memo() : NULL;
    uint64_t hash = memo ? s_hash(body, n) : 0;
    s_memo_t *m = memo ? &memo[hash % S_MEMO_SLOTS] : NULL;
    if (m && m->desc == desc && m->hash == hash && m->body_len == n &&
        memcmp(m->block, body, n) == 0) {
        char *text = malloc(m->text_len + 1);
        if (text) {
            memcpy(text, m->block + n, m->text_len + 1);
            *len = m->text_len;
        }
        return text;
    }
    char *text = pbj_bytes_to_text(desc, body, n, PBJ_EMIT_DEFAULTS, len);
    if (!text || !m || n + *len >= S_MEMO_MAX)
        return text;
    uint8_t *block = realloc(m->block, n + *len + 1);
    if (!block)
        return text;   /* the old entry stays as it was */
    memcpy(block, body, n);
    memcpy(block + n, text, *len + 1);
    *m = (s_memo_t) {desc, hash, n, *len, block};
    return text;
}

/* ------------------------------------------------------------------ self-test */

/* gw_json_reply_text() gives exactly the codec's text for @p desc and @p bytes. */
static bool s_same_text(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes, size_t n)
{
    Tp__Reply reply = TP__REPLY__INIT;
    reply.ok = true;
    reply.body = (ProtobufCBinaryData) {n, (uint8_t *) bytes};
    size_t got_len = 0, want_len = 0;
    char *got = gw_json_reply_text(desc, &reply, &got_len);
    char *want = pbj_bytes_to_text(desc, bytes, n, PBJ_EMIT_DEFAULTS, &want_len);
    bool same = got && want && got_len == want_len && memcmp(got, want, got_len + 1) == 0;
    free(got);
    free(want);
    return same;
}

int gw_json_test(bool verbose)
{
    if (verbose)
        printf(" * gw_json: reply text, remembered per thread\n");
    int failed = 0;
    /* 3 rounds over 100 different replies (more than the slots, so entries are replaced
     * and slots shared), each also read as another type: every answer is the codec's */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) {
            Tp__Order__OrderView view = TP__ORDER__ORDER_VIEW__INIT;
            char id[32];
            snprintf(id, sizeof id, "TP-2026-%06d", i);
            view.order_id = id;
            view.status = round == 2 && i % 7 == 0 ? "wartend" : "offen";
            Tp__Order__OrderView *views[] = {&view};
            Tp__Order__OrderList list = TP__ORDER__ORDER_LIST__INIT;
            list.orders = views;
            list.n_orders = 1;
            uint8_t buf[256];
            size_t n = protobuf_c_message_pack(&list.base, buf);
            if (!s_same_text(&tp__order__order_list__descriptor, buf, n) ||
                !s_same_text(&tp__order__order_view__descriptor, buf, n)) {
                fprintf(stderr, "gw_json_test: round %d, reply %d: not the codec's text\n",
                        round, i);
                failed++;
            }
            /* the same bytes, one changed: the new text */
            buf[n - 1] ^= 1;
            if (!s_same_text(&tp__order__order_list__descriptor, buf, n)) {
                fprintf(stderr, "gw_json_test: round %d, reply %d changed: old text\n", round,
                        i);
                failed++;
            }
        }
    }
    return failed ? -1 : 0;
}
