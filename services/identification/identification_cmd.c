/* identification_cmd.c: the identification service's commands (results) and queries (cases). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "identification.pb-c.h"
#include "identification_internal.h"

#define S_POSTIDENT_PROVIDER "Deutsche Post PostIdent"

/* ------------------------------------------------------------------ checks */

static bool s_blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ')
            return false;
    return true;
}

/* Checks a text field; @p required_why is NULL when the field is optional. */
static void s_check_text(svc_out_t *out, const char *field, const char *s, size_t max,
                         const char *required_why)
{
    s = s ? s : "";
    if (strlen(s) > max)
        svc_out_error(out, "invalid", field, "must be at most %zu bytes", max);
    else if (!ident_clean_utf8(s))
        svc_out_error(out, "invalid", field, "must be UTF-8 text without control characters");
    else if (required_why && s_blank(s))
        svc_out_error(out, "invalid", field, "is required: %s", required_why);
}

/* A result's own fields, before the case is looked at. */
static void s_check_result(svc_out_t *out, bool succeeded, const char *evidence, const char *reason,
                           const char *who)
{
    s_check_text(out, "evidenceRef", evidence, IDENT_EVIDENCE_MAX,
                 succeeded ? "the evidence is kept, not just a flag" : NULL);
    if (succeeded && reason && *reason)
        svc_out_error(out, "invalid", "reason", "only for a failed identification");
    else if (!succeeded)
        s_check_text(out, "reason", reason, IDENT_REASON_MAX, "say why it failed");
    s_check_text(out, "identifiedBy", who, IDENT_WHO_MAX, NULL);
}

static bool s_role_is(const svc_ctx_t *ctx, const char *role)
{
    return ctx->header->actor_role && streq(ctx->header->actor_role, role);
}

static const char *s_actor(const svc_ctx_t *ctx)
{
    return ctx->header->actor_account ? ctx->header->actor_account : "";
}

/* Four eyes: an operator does not record the identification of an order whose signed
 * application they recorded (with the setting on). False after refusing. */
static bool s_four_eyes(const ident_state_t *st, const ident_case_t *c, const svc_ctx_t *ctx,
                        svc_out_t *out)
{
    if (!st->four_eyes || !s_role_is(ctx, "operator") || !*c->application_by ||
        !streq(c->application_by, s_actor(ctx)))
        return true;
    svc_out_error(out, "forbidden", "orderId",
                  "four eyes: you recorded this order's signed application, so another "
                  "operator records its identification");
    return false;
}

/* ------------------------------------------------------------------ replies */

#define S_CASE_ID_MAX (IDENT_ID_MAX + 8)

/* Fills @p m with views into @p c; @p case_id is its buffer. Customers do not learn
 * which back-office account recorded their result. */
static void s_case_msg(const ident_case_t *c, bool for_customer, char *case_id,
                       Tp__Identification__Case *m)
{
    tp__identification__case__init(m);
    snprintf(case_id, S_CASE_ID_MAX, "case-%s", c->order_id);
    m->case_id = case_id;
    m->order_id = c->order_id;
    m->account_id = c->account_id;
    m->shop_id = c->shop_id;
    m->method = c->method;
    m->postident_number = c->postident_number;
    m->status = (char *) ident_status_names[c->status];
    m->applicant_name = c->applicant_name;
    m->applicant_birth_date = c->applicant_birth_date;
    m->evidence_ref = c->evidence_ref;
    m->identified_by = c->identified_by;
    m->recorded_by_role = c->recorded_by_role;
    m->reason = c->reason;
    m->opened_at_us = c->opened_at_us;
    m->closed_at_us = c->closed_at_us;
    m->recorded_by_account = for_customer ? "" : c->recorded_by_account;
    m->attempt = c->attempt;
}

/* ------------------------------------------------------------------ commands */

/* Records the result of an open case and replies with the case as it now is. */
static void s_record(const ident_case_t *c, const svc_ctx_t *ctx, bool succeeded,
                     const char *evidence, const char *reason, const char *who, int64_t at_us,
                     svc_out_t *out)
{
    char stream[IDENT_STREAM_MAX];
    snprintf(stream, sizeof stream, "case-%s", c->order_id);
    ident_case_t now = *c; /* shallow: views only, for the reply */
    now.evidence_ref = (char *) (evidence ? evidence : "");
    now.identified_by = (char *) who;
    now.recorded_by_account = (char *) s_actor(ctx);
    now.recorded_by_role = ctx->header->actor_role;
    now.closed_at_us = at_us;
    if (succeeded) {
        Tp__Identification__IdentificationSucceeded ev =
            TP__IDENTIFICATION__IDENTIFICATION_SUCCEEDED__INIT;
        ev.order_id = c->order_id;
        ev.method = c->method;
        ev.evidence_ref = now.evidence_ref;
        ev.identified_by = now.identified_by;
        ev.recorded_by_account = now.recorded_by_account;
        ev.recorded_by_role = now.recorded_by_role;
        ev.identified_at_us = at_us;
        svc_out_event(out, stream, &ev.base);
        now.status = IDENT_IDENTIFIED;
        now.reason = "";
    }
    else {
        Tp__Identification__IdentificationFailed ev =
            TP__IDENTIFICATION__IDENTIFICATION_FAILED__INIT;
        ev.order_id = c->order_id;
        ev.method = c->method;
        ev.reason = (char *) reason;
        ev.evidence_ref = now.evidence_ref;
        ev.identified_by = now.identified_by;
        ev.recorded_by_account = now.recorded_by_account;
        ev.recorded_by_role = now.recorded_by_role;
        ev.failed_at_us = at_us;
        svc_out_event(out, stream, &ev.base);
        now.status = IDENT_FAILED;
        now.reason = (char *) reason;
    }
    char case_id[S_CASE_ID_MAX];
    Tp__Identification__Case reply;
    s_case_msg(&now, false, case_id, &reply);
    svc_out_reply(out, &reply.base);
}

/* The ident provider's feed (role producer) or an operator typing in a result. */
void ident_decide_postident(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                            svc_out_t *out)
{
    const ident_state_t *st = state;
    const Tp__Identification__RecordPostIdentResult *cmd =
        (const Tp__Identification__RecordPostIdentResult *) msg;
    if (!s_role_is(ctx, "ident") && !s_role_is(ctx, "operator")) {
        svc_out_error(out, "forbidden", NULL,
                      "PostIdent results come from the ident provider or an operator");
        return;
    }
    if (!cmd->postident_number || !*cmd->postident_number)
        svc_out_error(out, "invalid", "postidentNumber", "is required");
    else if (strlen(cmd->postident_number) > 64 || !ident_clean_utf8(cmd->postident_number))
        svc_out_error(out, "invalid", "postidentNumber", "is not a PostIdent number");
    s_check_result(out, cmd->succeeded, cmd->evidence_ref, cmd->reason, cmd->identified_by);
    if (cmd->identified_at_us < 0)
        svc_out_error(out, "invalid", "identifiedAtUs", "must be a time, or 0 for now");
    else if (cmd->identified_at_us > ctx->now_us + IDENT_CLOCK_SKEW_US)
        svc_out_error(out, "invalid", "identifiedAtUs", "lies in the future");
    if (svc_out_failed(out))
        return;
    const ident_case_t *c = zhashx_lookup(st->by_number, cmd->postident_number);
    if (!c) {
        bool typo = ident_postident_seq(cmd->postident_number) == 0;
        svc_out_error(out, "not_found", "postidentNumber", "no case has this PostIdent number%s",
                      typo ? " (it is not 12 digits with a valid check digit)" : "");
        return;
    }
    /* numbers are issued for PostIdent cases only; this guards the index, not the user */
    if (!streq(c->method, "postident")) {
        svc_out_error(out, "invalid", "postidentNumber", "belongs to a %s case", c->method);
        return;
    }
    if (!streq(c->postident_number, cmd->postident_number)) {
        svc_out_error(out, "conflict", "postidentNumber",
                      "this number belongs to an earlier attempt; the case has a new one");
        return;
    }
    if (c->status != IDENT_OPEN) {
        svc_out_error(out, "conflict", "postidentNumber", "case already closed (%s)",
                      ident_status_names[c->status]);
        return;
    }
    if (!s_four_eyes(st, c, ctx, out))
        return;
    const char *who = s_blank(cmd->identified_by) ? S_POSTIDENT_PROVIDER : cmd->identified_by;
    s_record(c, ctx, cmd->succeeded, cmd->evidence_ref, cmd->reason, who,
             cmd->identified_at_us ? cmd->identified_at_us : ctx->now_us, out);
}

/* NotarIdent, BotschaftsIdent, D-Trust Ident: an operator records what the notary, the
 * embassy or the TSP's own staff found. OfficerIdent: only an active officer of the
 * order's shop. An operator may not record OfficerIdent either: the SPEC has officers
 * identify the applicants of their shop, and the operator has NotarIdent and D-Trust
 * Ident for the cases no officer can take. Four eyes: an officer never identifies the
 * applicant of an order their own account placed (another officer of the shop does), and
 * an operator not that of an order whose signed application they recorded (s_four_eyes). */
void ident_decide_result(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                         svc_out_t *out)
{
    const ident_state_t *st = state;
    const Tp__Identification__RecordResult *cmd = (const Tp__Identification__RecordResult *) msg;
    bool op = s_role_is(ctx, "operator"), officer = s_role_is(ctx, "officer");
    if (!op && !officer) {
        svc_out_error(out, "forbidden", NULL, "only operators and officers record results");
        return;
    }
    if (!cmd->order_id || !*cmd->order_id)
        svc_out_error(out, "invalid", "orderId", "is required");
    s_check_result(out, cmd->succeeded, cmd->evidence_ref, cmd->reason, cmd->identified_by);
    if (svc_out_failed(out))
        return;
    const ident_case_t *c = ident_find(st, cmd->order_id);
    if (!c) {
        svc_out_error(out, "not_found", "orderId", "no identification case for this order");
        return;
    }
    if (streq(c->method, "postident")) {
        svc_out_error(out, "invalid", "orderId",
                      "a PostIdent case takes its result by PostIdent number "
                      "(RecordPostIdentResult)");
        return;
    }
    bool officer_case = streq(c->method, "officerident");
    if (officer_case && !(officer && ident_is_officer(st, s_actor(ctx), c->shop_id))) {
        svc_out_error(out, "forbidden", NULL,
                      "only an officer of the order's shop records an OfficerIdent result");
        return;
    }
    if (officer_case && streq(c->account_id, s_actor(ctx))) {
        svc_out_error(out, "forbidden", "orderId",
                      "four eyes: this order was placed from your own account; another "
                      "officer of the shop identifies its applicant");
        return;
    }
    if (!officer_case && !op) {
        svc_out_error(out, "forbidden", NULL, "only an operator records a %s result", c->method);
        return;
    }
    if (c->status != IDENT_OPEN) {
        svc_out_error(out, "conflict", "orderId", "case already closed (%s)",
                      ident_status_names[c->status]);
        return;
    }
    if (!s_four_eyes(st, c, ctx, out))
        return;
    const char *who = cmd->identified_by;
    if (s_blank(who) && officer_case)
        who = s_actor(ctx); /* the officer identified the applicant in person */
    else if (s_blank(who) && cmd->succeeded) {
        svc_out_error(out, "invalid", "identifiedBy",
                      "is required: the notary, embassy or employee who identified");
        return;
    }
    s_record(c, ctx, cmd->succeeded, cmd->evidence_ref, cmd->reason, who ? who : "", ctx->now_us,
             out);
}

/* A failed case gets a new attempt with the data as ordered. An operator decides that
 * (the customer asks support), so that a failure is looked at before trying again. */
void ident_decide_new_attempt(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                              svc_out_t *out)
{
    const ident_state_t *st = state;
    const Tp__Identification__OpenNewAttempt *cmd =
        (const Tp__Identification__OpenNewAttempt *) msg;
    if (!s_role_is(ctx, "operator")) {
        svc_out_error(out, "forbidden", NULL, "only an operator opens a new attempt");
        return;
    }
    if (!cmd->order_id || !*cmd->order_id)
        svc_out_error(out, "invalid", "orderId", "is required");
    s_check_text(out, "note", cmd->note, IDENT_REASON_MAX, NULL);
    if (svc_out_failed(out))
        return;
    const ident_case_t *c = ident_find(st, cmd->order_id);
    if (!c) {
        svc_out_error(out, "not_found", "orderId", "no identification case for this order");
        return;
    }
    if (c->status != IDENT_FAILED) {
        svc_out_error(out, "conflict", "orderId", "%s",
                      c->status == IDENT_OPEN ? "the case is open"
                                              : "case already closed (identified)");
        return;
    }
    char number[IDENT_POSTIDENT_DIGITS + 1] = "";
    if (streq(c->method, "postident") && ident_postident_next(st, number) != 0) {
        svc_out_error(out, "internal", "postidentNumber", "PostIdent numbers exhausted");
        return;
    }
    Tp__Identification__CaseOpened ev = TP__IDENTIFICATION__CASE_OPENED__INIT;
    ev.order_id = c->order_id;
    ev.account_id = c->account_id;
    ev.shop_id = c->shop_id;
    ev.method = c->method;
    ev.postident_number = number;
    ev.applicant_name = c->applicant_name;
    ev.applicant_birth_date = c->applicant_birth_date;
    ev.attempt = c->attempt + 1;
    ev.opened_by_account = (char *) s_actor(ctx);
    ev.note = cmd->note;
    char stream[IDENT_STREAM_MAX];
    snprintf(stream, sizeof stream, "case-%s", c->order_id);
    svc_out_event(out, stream, &ev.base);

    ident_case_t now = *c; /* shallow: views only, for the reply */
    now.status = IDENT_OPEN;
    now.attempt = ev.attempt;
    now.postident_number = number;
    now.evidence_ref = now.identified_by = now.recorded_by_account = "";
    now.recorded_by_role = now.reason = "";
    now.opened_at_us = ctx->now_us;
    now.closed_at_us = 0;
    char case_id[S_CASE_ID_MAX];
    Tp__Identification__Case reply;
    s_case_msg(&now, false, case_id, &reply);
    svc_out_reply(out, &reply.base);
}

static int s_case_order(const void *a, const void *b)
{
    const ident_case_t *x = *(const ident_case_t *const *) a, *y = *(const ident_case_t *const *) b;
    if (x->opened_at_us != y->opened_at_us)
        return x->opened_at_us < y->opened_at_us ? -1 : 1;
    return strcmp(x->order_id, y->order_id);
}

/* Operators: all cases (open ones unless include_closed); officers: the open cases of
 * the shops they are an active officer of; anybody else: nothing. O(cases). */
void ident_query_list(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                      svc_out_t *out)
{
    const ident_state_t *st = state;
    const Tp__Identification__ListCases *q = (const Tp__Identification__ListCases *) msg;
    bool op = s_role_is(ctx, "operator"), officer = s_role_is(ctx, "officer");
    const char *actor = s_actor(ctx), *shop = q->shop_id ? q->shop_id : "";
    if (!op && !officer) {
        svc_out_error(out, "forbidden", NULL, "only operators and officers list cases");
        return;
    }
    if (*shop && !ident_valid_id(shop)) {
        svc_out_error(out, "invalid", "shopId", "not a valid id");
        return;
    }
    if (officer && q->include_closed) {
        svc_out_error(out, "forbidden", "includeClosed", "officers see open cases only");
        return;
    }
    if (officer && *shop && !ident_is_officer(st, actor, shop)) {
        svc_out_error(out, "forbidden", "shopId", "not an officer of this shop");
        return;
    }
    if (officer && !*shop && !ident_is_any_officer(st, actor)) {
        svc_out_error(out, "forbidden", NULL, "not an officer of any shop");
        return;
    }
    size_t n = 0, cap = zhashx_size(st->cases);
    const ident_case_t **hits = malloc((cap ? cap : 1) * sizeof *hits);
    if (!hits) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    for (const ident_case_t *c = zhashx_first(st->cases); c; c = zhashx_next(st->cases)) {
        if (c->status != IDENT_OPEN && !(op && q->include_closed))
            continue;
        if (*shop && !streq(c->shop_id, shop))
            continue;
        if (officer && !ident_is_officer(st, actor, c->shop_id))
            continue;
        hits[n++] = c;
    }
    qsort(hits, n, sizeof *hits, s_case_order);
    Tp__Identification__CaseList reply = TP__IDENTIFICATION__CASE_LIST__INIT;
    reply.truncated = n > IDENT_LIST_MAX;
    reply.n_cases = n > IDENT_LIST_MAX ? IDENT_LIST_MAX : n;
    Tp__Identification__Case *cases = calloc(reply.n_cases + 1, sizeof *cases);
    Tp__Identification__Case **ptrs = calloc(reply.n_cases + 1, sizeof *ptrs);
    char(*ids)[S_CASE_ID_MAX] = calloc(reply.n_cases + 1, S_CASE_ID_MAX);
    if (cases && ptrs && ids) {
        for (size_t i = 0; i < reply.n_cases; i++) {
            s_case_msg(hits[i], false, ids[i], &cases[i]);
            ptrs[i] = &cases[i];
        }
        reply.cases = ptrs;
        svc_out_reply(out, &reply.base);
    }
    else
        svc_out_error(out, "internal", NULL, "out of memory");
    free(ids);
    free(ptrs);
    free(cases);
    free(hits);
}

/* Operators any case; officers their shops' cases; a customer their own. Everyone else
 * gets "not_found", so that order ids cannot be probed. */
void ident_query_get(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                     svc_out_t *out)
{
    const ident_state_t *st = state;
    const Tp__Identification__GetCase *q = (const Tp__Identification__GetCase *) msg;
    if (!q->order_id || !*q->order_id) {
        svc_out_error(out, "invalid", "orderId", "is required");
        return;
    }
    const ident_case_t *c = ident_find(st, q->order_id);
    const char *actor = s_actor(ctx);
    bool staff = c && (s_role_is(ctx, "operator") ||
                       (s_role_is(ctx, "officer") && ident_is_officer(st, actor, c->shop_id)));
    bool owner = c && *actor && streq(actor, c->account_id);
    if (!staff && !owner) {
        svc_out_error(out, "not_found", "orderId", "no identification case for this order");
        return;
    }
    char case_id[S_CASE_ID_MAX];
    Tp__Identification__Case reply;
    s_case_msg(c, !staff, case_id, &reply);
    svc_out_reply(out, &reply.base);
}
