/* identification.c: the identification service's core: state, apply, react, summary. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "identification_internal.h"
#include "svc_text.h"
#include "identification.pb-c.h"
#include "order.pb-c.h"

/* A failed case is closed, and an operator can open a new attempt (OpenNewAttempt):
 * CaseOpened again for the same order, with the attempt number and, for PostIdent, a
 * new process number (the old one then answers "conflict", so that a late result for
 * the failed attempt cannot close the new one). The order service takes a repeated
 * CaseOpened as a new number for the coupon and accepts a result until one succeeds.
 * The state keeps the current attempt; earlier ones, evidence included, stay in the log.
 * An identified case is final. */

#define S_POSTIDENT_SEQ_MAX 99999999999ULL /* 11 digits */

const char *const ident_status_names[] = {"open", "identified", "failed"};

static const char *const s_methods[] = {"postident",    "notarident",  "botschaftsident",
                                        "officerident", "dtrustident", NULL};

/* ------------------------------------------------------------------ state */

static void s_case_destroy(ident_case_t **case_p)
{
    ident_case_t *c = *case_p;
    if (!c)
        return;
    char **fields[] = {&c->order_id,
                       &c->account_id,
                       &c->shop_id,
                       &c->method,
                       &c->postident_number,
                       &c->applicant_name,
                       &c->applicant_birth_date,
                       &c->evidence_ref,
                       &c->identified_by,
                       &c->recorded_by_account,
                       &c->recorded_by_role,
                       &c->reason,
                       &c->application_by};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        free(*fields[i]);
    free(c);
    *case_p = NULL;
}

static void *s_state_new(void)
{
    ident_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cases = zhashx_new();
    st->by_number = zhashx_new();
    if (svc_officers_init(&st->officers, IDENT_ID_MAX) != 0 || !st->cases || !st->by_number) {
        zhashx_destroy(&st->cases);
        zhashx_destroy(&st->by_number);
        svc_officers_fini(&st->officers);
        free(st);
        return NULL;
    }
    zhashx_set_destructor(st->cases, (zhashx_destructor_fn *) s_case_destroy);
    st->four_eyes = true;
    return st;
}

static void s_state_destroy(void **state_p)
{
    ident_state_t *st = *state_p;
    if (!st)
        return;
    zhashx_destroy(&st->by_number); /* borrowed cases: before their owner */
    zhashx_destroy(&st->cases);
    svc_officers_fini(&st->officers);
    free(st);
    *state_p = NULL;
}

/* Replaces *dst by a copy of src (NULL counts as ""); false when out of memory. */
static bool s_set(char **dst, const char *src)
{
    char *copy = strdup(src ? src : "");
    if (!copy)
        return false;
    free(*dst);
    *dst = copy;
    return true;
}

const ident_case_t *ident_find(const ident_state_t *st, const char *order_id)
{
    return order_id && *order_id ? zhashx_lookup(st->cases, order_id) : NULL;
}

bool ident_is_officer(const ident_state_t *st, const char *account, const char *shop)
{
    return svc_officers_is(&st->officers, account, shop);
}

bool ident_is_any_officer(const ident_state_t *st, const char *account)
{
    return svc_officers_is_any(&st->officers, account);
}

/* ------------------------------------------------------------------ checks */

bool ident_valid_id(const char *s)
{
    return svc_valid_id(s, IDENT_ID_MAX);
}

/* Valid UTF-8 without C0/C1 control characters. protobuf-c does not check UTF-8, and
 * these strings end up in PDFs, JSON and logs. */
bool ident_clean_utf8(const char *s)
{
    static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        unsigned c = *p;
        size_t more;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            more = 1, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            more = 2, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            more = 3, cp = c & 0x07;
        else
            return false;
        for (size_t i = 1; i <= more; i++) {
            if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < least[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            return false;
        p += more + 1;
    }
    return true;
}

static bool s_known_method(const char *method)
{
    for (size_t i = 0; method && s_methods[i]; i++)
        if (streq(method, s_methods[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ PostIdent numbers */

/* The Luhn digit lets the provider's clerk and feed catch a mistyped or swapped digit. */
static int s_luhn(const char *digits, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 0 && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    return (10 - sum % 10) % 10;
}

static void s_postident_format(char out[IDENT_POSTIDENT_DIGITS + 1], uint64_t seq)
{
    snprintf(out, IDENT_POSTIDENT_DIGITS + 1, "%011" PRIu64, seq);
    out[IDENT_POSTIDENT_DIGITS - 1] = (char) ('0' + s_luhn(out, IDENT_POSTIDENT_DIGITS - 1));
    out[IDENT_POSTIDENT_DIGITS] = '\0';
}

/* The next sequence after the highest ever issued: a function of our own log, so a
 * rebuild yields the same numbers, and the log itself carries each one. */
int ident_postident_next(const ident_state_t *st, char number[IDENT_POSTIDENT_DIGITS + 1])
{
    for (uint64_t seq = st->postident_seq + 1; seq <= S_POSTIDENT_SEQ_MAX; seq++) {
        s_postident_format(number, seq);
        if (!zhashx_lookup(st->by_number, number))
            return 0;
    }
    number[0] = '\0';
    return -1;
}

uint64_t ident_postident_seq(const char *number)
{
    if (!number || strlen(number) != IDENT_POSTIDENT_DIGITS)
        return 0;
    uint64_t seq = 0;
    for (size_t i = 0; i < IDENT_POSTIDENT_DIGITS; i++)
        if (number[i] < '0' || number[i] > '9')
            return 0;
    if (s_luhn(number, IDENT_POSTIDENT_DIGITS - 1) != number[IDENT_POSTIDENT_DIGITS - 1] - '0')
        return 0;
    for (size_t i = 0; i < IDENT_POSTIDENT_DIGITS - 1; i++)
        seq = seq * 10 + (uint64_t) (number[i] - '0');
    return seq;
}

/* ------------------------------------------------------------------ apply */

static void s_apply_opened(ident_state_t *st, const svc_event_t *ev)
{
    Tp__Identification__CaseOpened *e =
        tp__identification__case_opened__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    uint32_t attempt = e->attempt ? e->attempt : 1;
    ident_case_t *c = e->order_id && *e->order_id ? zhashx_lookup(st->cases, e->order_id) : NULL;
    if (c) {
        /* a new attempt reopens a failed case; anything else changes nothing */
        if (c->status != IDENT_FAILED || attempt <= c->attempt ||
            !s_set(&c->postident_number, e->postident_number))
            goto done;
        c->status = IDENT_OPEN;
        c->attempt = attempt;
        c->opened_at_us = ev->recorded_at_us;
        c->closed_at_us = 0;
        char **result[] = {&c->evidence_ref, &c->identified_by, &c->recorded_by_account,
                           &c->recorded_by_role, &c->reason};
        for (size_t i = 0; i < sizeof result / sizeof result[0]; i++)
            s_set(result[i], "");
        goto number;
    }
    if (!e->order_id || !*e->order_id)
        goto done;
    c = calloc(1, sizeof *c);
    if (!c || !s_set(&c->order_id, e->order_id) || !s_set(&c->account_id, e->account_id) ||
        !s_set(&c->shop_id, e->shop_id) || !s_set(&c->method, e->method) ||
        !s_set(&c->postident_number, e->postident_number) ||
        !s_set(&c->applicant_name, e->applicant_name) ||
        !s_set(&c->applicant_birth_date, e->applicant_birth_date) || !s_set(&c->evidence_ref, "") ||
        !s_set(&c->identified_by, "") || !s_set(&c->recorded_by_account, "") ||
        !s_set(&c->recorded_by_role, "") || !s_set(&c->reason, "") ||
        !s_set(&c->application_by, "") || zhashx_insert(st->cases, c->order_id, c) != 0) {
        s_case_destroy(&c);
        goto done;
    }
    c->status = IDENT_OPEN;
    c->attempt = attempt;
    c->opened_at_us = ev->recorded_at_us;
number:
    /* old numbers of a case stay in the index: never issued again, answered clearly */
    if (*c->postident_number) {
        zhashx_insert(st->by_number, c->postident_number, c); /* first one keeps it */
        uint64_t seq = ident_postident_seq(c->postident_number);
        if (seq > st->postident_seq)
            st->postident_seq = seq;
    }
done:
    tp__identification__case_opened__free_unpacked(e, NULL);
}

/* Closes a case. Allocation failures leave a field empty rather than the state torn. */
static void s_apply_closed(ident_state_t *st, const svc_event_t *ev, const char *order_id,
                           ident_status_t status, const char *evidence, const char *who,
                           const char *account, const char *role, const char *reason, int64_t at_us)
{
    ident_case_t *c = order_id && *order_id ? zhashx_lookup(st->cases, order_id) : NULL;
    if (!c || c->status != IDENT_OPEN)
        return;
    c->status = status;
    s_set(&c->evidence_ref, evidence);
    s_set(&c->identified_by, who);
    s_set(&c->recorded_by_account, account);
    s_set(&c->recorded_by_role, role);
    s_set(&c->reason, reason);
    c->closed_at_us = at_us ? at_us : ev->recorded_at_us;
}

static void s_apply(void *state, const svc_event_t *ev)
{
    ident_state_t *st = state;
    st->events++;
    if (streq(ev->event_type, "CaseOpened"))
        s_apply_opened(st, ev);
    else if (streq(ev->event_type, "IdentificationSucceeded")) {
        Tp__Identification__IdentificationSucceeded *e =
            tp__identification__identification_succeeded__unpack(NULL, ev->payload_len,
                                                                 ev->payload);
        if (!e)
            return;
        s_apply_closed(st, ev, e->order_id, IDENT_IDENTIFIED, e->evidence_ref, e->identified_by,
                       e->recorded_by_account, e->recorded_by_role, "", e->identified_at_us);
        tp__identification__identification_succeeded__free_unpacked(e, NULL);
    }
    else if (streq(ev->event_type, "IdentificationFailed")) {
        Tp__Identification__IdentificationFailed *e =
            tp__identification__identification_failed__unpack(NULL, ev->payload_len, ev->payload);
        if (!e)
            return;
        s_apply_closed(st, ev, e->order_id, IDENT_FAILED, e->evidence_ref, e->identified_by,
                       e->recorded_by_account, e->recorded_by_role, e->reason, e->failed_at_us);
        tp__identification__identification_failed__free_unpacked(e, NULL);
    }
    else if (streq(ev->event_type, "OfficerKnown")) {
        Tp__Identification__OfficerKnown *e =
            tp__identification__officer_known__unpack(NULL, ev->payload_len, ev->payload);
        if (!e)
            return;
        svc_officers_set(&st->officers, e->account_id, e->shop_id, e->active);
        tp__identification__officer_known__free_unpacked(e, NULL);
    }
    else if (streq(ev->event_type, "ApplicationRecorded")) {
        Tp__Identification__ApplicationRecorded *e =
            tp__identification__application_recorded__unpack(NULL, ev->payload_len, ev->payload);
        if (!e)
            return;
        ident_case_t *c = e->order_id && *e->order_id ? zhashx_lookup(st->cases, e->order_id)
                                                       : NULL;
        if (c)
            s_set(&c->application_by, e->recorded_by);
        tp__identification__application_recorded__free_unpacked(e, NULL);
    }
}

/* ------------------------------------------------------------------ react */

static void s_react_order_placed(const ident_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Order__OrderPlaced *e = tp__order__order_placed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "OrderPlaced does not decode");
        return;
    }
    if (!ident_valid_id(e->order_id))
        svc_out_error(out, "invalid", "orderId", "missing or not a valid id");
    if (*e->account_id && !ident_valid_id(e->account_id))
        svc_out_error(out, "invalid", "accountId", "not a valid id");
    if (*e->shop_id && !ident_valid_id(e->shop_id))
        svc_out_error(out, "invalid", "shopId", "not a valid id");
    if (!s_known_method(e->ident_method))
        svc_out_error(out, "invalid", "identMethod", "unknown identification method");
    /* duplicate delivery cannot happen with the runtime's checkpoints; be safe anyway */
    if (svc_out_failed(out) || ident_find(st, e->order_id))
        goto done;

    char number[IDENT_POSTIDENT_DIGITS + 1] = "";
    if (streq(e->ident_method, "postident") && ident_postident_next(st, number) != 0) {
        svc_out_error(out, "internal", "postidentNumber", "PostIdent numbers exhausted");
        goto done;
    }
    const Tp__Order__Applicant *a = e->applicant;
    char *name =
        zsys_sprintf("%s%s%s", a ? a->given_names : "",
                     a && *a->given_names && *a->family_name ? " " : "", a ? a->family_name : "");
    if (!name) {
        svc_out_error(out, "internal", NULL, "out of memory");
        goto done;
    }
    Tp__Identification__CaseOpened opened = TP__IDENTIFICATION__CASE_OPENED__INIT;
    opened.order_id = e->order_id;
    opened.account_id = e->account_id;
    opened.shop_id = e->shop_id;
    opened.method = e->ident_method;
    opened.postident_number = number;
    opened.applicant_name = name;
    opened.applicant_birth_date = a ? a->birth_date : "";
    opened.attempt = 1;
    char stream[IDENT_STREAM_MAX];
    snprintf(stream, sizeof stream, "case-%s", e->order_id);
    svc_out_expect(out, stream, EVS_NO_STREAM);
    svc_out_event(out, stream, &opened.base);
    zstr_free(&name);
done:
    tp__order__order_placed__free_unpacked(e, NULL);
}

static void s_emit_officer(const char *account, const char *shop, bool active, svc_out_t *out)
{
    Tp__Identification__OfficerKnown known = TP__IDENTIFICATION__OFFICER_KNOWN__INIT;
    known.account_id = (char *) account;
    known.shop_id = (char *) shop;
    known.active = active;
    char stream[IDENT_STREAM_MAX];
    snprintf(stream, sizeof stream, "officer-%s", account);
    svc_out_event(out, stream, &known.base);
}

/* Who recorded the order's signed application, for four eyes: ApplicationRecorded on the
 * case, when the order service named an operator (older events name nobody). */
static void s_react_application(const ident_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Order__ApplicationReceived *e =
        tp__order__application_received__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "ApplicationReceived does not decode");
        return;
    }
    const ident_case_t *c = ident_find(st, e->order_id);
    if (c && ident_valid_id(e->recorded_by) && !streq(c->application_by, e->recorded_by)) {
        Tp__Identification__ApplicationRecorded rec =
            TP__IDENTIFICATION__APPLICATION_RECORDED__INIT;
        rec.order_id = c->order_id;
        rec.recorded_by = e->recorded_by;
        char stream[IDENT_STREAM_MAX];
        snprintf(stream, sizeof stream, "case-%s", c->order_id);
        svc_out_event(out, stream, &rec.base);
    }
    tp__order__application_received__free_unpacked(e, NULL);
}

/* Dispatch on the event type alone: instance names of upstreams are configurable,
 * and the protocol's message names are unique across services. */
static void s_react(const void *state, const char *upstream, const svc_event_t *ev, svc_out_t *out)
{
    const ident_state_t *st = state;
    if (streq(ev->event_type, "OrderPlaced"))
        s_react_order_placed(st, ev, out);
    else if (streq(ev->event_type, "ApplicationReceived"))
        s_react_application(st, ev, out);
    else /* OfficerAppointed, OfficerRevoked, AccountDeleted */
        svc_officers_react(&st->officers, ev, s_emit_officer, out);
}

/* ------------------------------------------------------------------ summary */

/* Length-prefixed, so that no two different states hash the same bytes. */
static void s_hash_str(crypto_hash_sha256_state *h, const char *s)
{
    uint64_t n = s ? strlen(s) : 0;
    crypto_hash_sha256_update(h, (const uint8_t *) &n, sizeof n);
    crypto_hash_sha256_update(h, (const uint8_t *) (s ? s : ""), (size_t) n);
}

static void s_hash_int(crypto_hash_sha256_state *h, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    s_hash_str(h, buf);
}

/* Deterministic summary: counts and a SHA-256 over the sorted cases and officers. */
static char *s_summary(const void *state)
{
    const ident_state_t *st = state;
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    size_t count[3] = {0, 0, 0};
    zlistx_t *keys = zhashx_keys(st->cases);
    zlistx_t *officers = zhashx_keys(st->officers.map);
    if (!keys || !officers) {
        zlistx_destroy(&keys);
        zlistx_destroy(&officers);
        return NULL;
    }
    zlistx_set_comparator(keys, (zlistx_comparator_fn *) strcmp);
    zlistx_sort(keys);
    for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        const ident_case_t *c = zhashx_lookup(st->cases, k);
        count[c->status]++;
        const char *fields[] = {c->order_id,
                                c->account_id,
                                c->shop_id,
                                c->method,
                                c->postident_number,
                                c->applicant_name,
                                c->applicant_birth_date,
                                ident_status_names[c->status],
                                c->evidence_ref,
                                c->identified_by,
                                c->recorded_by_account,
                                c->recorded_by_role,
                                c->reason,
                                c->application_by};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            s_hash_str(&h, fields[i]);
        s_hash_int(&h, c->opened_at_us);
        s_hash_int(&h, c->closed_at_us);
        s_hash_int(&h, c->attempt);
    }
    zlistx_set_comparator(officers, (zlistx_comparator_fn *) strcmp);
    zlistx_sort(officers);
    for (const char *k = zlistx_first(officers); k; k = zlistx_next(officers))
        s_hash_str(&h, k);
    uint8_t digest[32];
    crypto_hash_sha256_final(&h, digest);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    char *json =
        zsys_sprintf("{\"events\":%" PRIu64 ",\"cases\":%zu,\"open\":%zu,"
                     "\"identified\":%zu,\"failed\":%zu,\"postidentIssued\":%" PRIu64
                     ",\"officers\":%zu,\"digest\":\"%s\"}",
                     st->events, zhashx_size(st->cases), count[IDENT_OPEN], count[IDENT_IDENTIFIED],
                     count[IDENT_FAILED], st->postident_seq, zhashx_size(st->officers.map), hex);
    zlistx_destroy(&keys);
    zlistx_destroy(&officers);
    return json;
}

/* ------------------------------------------------------------------ definition */

static const svc_command_t s_commands[] = {
    {"RecordPostIdentResult", &tp__identification__record_post_ident_result__descriptor, false,
     NULL, ident_decide_postident, NULL, false, &tp__identification__case__descriptor, SVC_IDENT | SVC_OPERATOR},
    {"RecordResult", &tp__identification__record_result__descriptor, false, NULL,
     ident_decide_result, NULL, false, &tp__identification__case__descriptor, SVC_OFFICER | SVC_OPERATOR},
    {"OpenNewAttempt", &tp__identification__open_new_attempt__descriptor, false, NULL,
     ident_decide_new_attempt, NULL, false, &tp__identification__case__descriptor, SVC_OPERATOR},
    {"ListCases", &tp__identification__list_cases__descriptor, true, NULL, ident_query_list, NULL,
     false, &tp__identification__case_list__descriptor, SVC_OFFICER | SVC_OPERATOR},
    {"GetCase", &tp__identification__get_case__descriptor, true, NULL, ident_query_get, NULL,
     false, &tp__identification__case__descriptor, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR},
};

/* The services that follow this one (its "$read" and PUB socket). */
static const char *const s_followers[] = {"order", NULL};
/* the applicant's data in the order's events (opened with the order's keys: svc_seal.h) */
static const char *const s_personal_from[] = {"order", NULL};
static const char *const s_upstreams[] = {"order", "account", NULL};

/* what react acts on; every other upstream event is skipped without a commit */
static const char *const s_reacts_to[] = {"OrderPlaced", "ApplicationReceived",
    "OfficerAppointed", "OfficerRevoked", "AccountDeleted", NULL};

/* The service's own settings (svc_settings.h). */
static const svc_setting_t s_settings[] = {
    {"four_eyes", "1", SVC_SETTING_BOOL, 0, 1,
     "1: the operator who recorded an order's signed application does not record its\n"
     "identification (the order service refuses the other way round). An officer never\n"
     "identifies an order of their own account, whatever this says."},
    {NULL},
};

/* Four eyes on or off: it steers decisions only; what was decided is in the events. */
static void s_configure(void *state, zconfig_t *config, const char *name)
{
    ident_state_t *st = state;
    st->four_eyes = !streq(svc_setting_get(config, name, s_settings, "four_eyes"), "0");
}

const svc_def_t identification_def = {
    .name = "identification",
    .state_new = s_state_new,
    .state_destroy = s_state_destroy,
    .apply = s_apply,
    .commands = s_commands,
    .n_commands = sizeof s_commands / sizeof s_commands[0],
    .react = s_react,
    .tick = NULL,
    .upstreams = s_upstreams,
    .followers = s_followers,
    .reacts_to = s_reacts_to,
    .personal_from = s_personal_from,
    .summary = s_summary,
    .configure = s_configure,
    .settings = s_settings,
};
