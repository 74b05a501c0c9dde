/* identification_test_harness.c: the core with an in-memory log, for the unit tests. */
#include "identification_test.h"

int itest_failed = 0;

/* Fills @p buf with @p n bytes of text. */
char *itest_filled(char *buf, size_t n)
{
    memset(buf, 'e', n);
    buf[n] = '\0';
    return buf;
}

void itest_init(itest_world_t *w)
{
    memset(w, 0, sizeof *w);
    w->state = identification_def.state_new();
    w->out = svc_out_new();
    w->versions = zhashx_new();
    w->now = T0;
}

void itest_fini(itest_world_t *w)
{
    for (size_t i = 0; i < w->n_log; i++) {
        free(w->log[i].type);
        free(w->log[i].stream);
        free(w->log[i].payload);
    }
    zhashx_destroy(&w->versions);
    svc_out_destroy(&w->out);
    identification_def.state_destroy(&w->state);
    CHECK(w->state == NULL);
}

void itest_apply_logged(void *state, const itest_logged_t *l, uint64_t seq)
{
    svc_event_t ev = {seq, l->stream, l->version, l->type, l->at_us, l->payload, l->len};
    identification_def.apply(state, &ev);
}

/* Commits the output unless it was refused. */
static void s_commit(itest_world_t *w)
{
    w->now += 1000;
    if (svc_out_failed(w->out))
        return;
    for (size_t i = 0; i < svc_out_n_events(w->out) && w->n_log < ITEST_LOG_MAX; i++) {
        const char *type, *stream;
        const uint8_t *payload;
        size_t len;
        svc_out_event_at(w->out, i, &type, &stream, &payload, &len);
        uint64_t v = (uint64_t) (uintptr_t) zhashx_lookup(w->versions, stream) + 1;
        zhashx_update(w->versions, stream, (void *) (uintptr_t) v);
        itest_logged_t *l = &w->log[w->n_log++];
        l->type = strdup(type);
        l->stream = strdup(stream);
        l->payload = malloc(len ? len : 1);
        memcpy(l->payload, payload, len);
        l->len = len;
        l->version = v;
        l->at_us = w->now;
        itest_apply_logged(w->state, l, w->n_log);
    }
}

/* Feeds an upstream event to react; returns the number of events it produced. */
size_t itest_up(itest_world_t *w, const char *upstream, const ProtobufCMessage *msg)
{
    uint8_t buf[8192];
    size_t len = protobuf_c_message_pack(msg, buf);
    svc_event_t ev = {++w->up_seq, "up", 1, msg->descriptor->short_name, w->now, buf, len};
    svc_out_reset(w->out);
    identification_def.react(w->state, upstream, &ev, w->out);
    s_commit(w);
    return svc_out_n_events(w->out);
}

static const svc_command_t *s_cmd(const char *name)
{
    for (size_t i = 0; i < identification_def.n_commands; i++)
        if (streq(identification_def.commands[i].name, name))
            return &identification_def.commands[i];
    return NULL;
}

/* Runs a command or query as @p role / @p account; the output stays in w->out. */
svc_out_t *itest_do(itest_world_t *w, const char *name, const char *role, const char *account,
                    const ProtobufCMessage *body)
{
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = "req";
    hdr.actor_role = (char *) role;
    hdr.actor_account = (char *) account;
    uint8_t secret[SVC_SECRET_SIZE] = {1}, rnd[SVC_SECRET_SIZE] = {2};
    svc_ctx_t ctx = {&hdr, w->now, secret, rnd};
    svc_out_reset(w->out);
    const svc_command_t *cmd = s_cmd(name);
    cmd->decide(w->state, &ctx, body, w->out);
    if (!cmd->query)
        s_commit(w);
    return w->out;
}

bool itest_err(svc_out_t *out, const char *code, const char *field)
{
    for (size_t i = 0; i < svc_out_n_errors(out); i++) {
        const char *c, *f;
        svc_out_error_at(out, i, &c, &f, NULL);
        if (streq(c, code) && streq(f, field ? field : ""))
            return true;
    }
    return false;
}

/* Refused with exactly this error (among others) and nothing written. */
bool itest_refused(svc_out_t *out, const char *code, const char *field)
{
    return svc_out_failed(out) && svc_out_n_events(out) == 0 && itest_err(out, code, field);
}

const char *itest_event_type(svc_out_t *out, size_t i)
{
    const char *type = NULL;
    svc_out_event_at(out, i, &type, NULL, NULL, NULL);
    return type ? type : "";
}

ProtobufCMessage *itest_event(svc_out_t *out, size_t i, const ProtobufCMessageDescriptor *desc)
{
    const uint8_t *payload;
    size_t len;
    if (svc_out_event_at(out, i, NULL, NULL, &payload, &len) != 0)
        return NULL;
    return protobuf_c_message_unpack(desc, NULL, len, payload);
}

ProtobufCMessage *itest_reply(svc_out_t *out, const ProtobufCMessageDescriptor *desc)
{
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(out, &len);
    return b ? protobuf_c_message_unpack(desc, NULL, len, b) : NULL;
}

void itest_free(void *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---------------------------------------------------------------- upstream events */

size_t itest_order(itest_world_t *w, const char *order, const char *account, const char *shop,
                   const char *method)
{
    Tp__Order__Applicant a = TP__ORDER__APPLICANT__INIT;
    a.given_names = "Erika";
    a.family_name = "Mustermann";
    a.birth_date = "1964-08-12";
    Tp__Order__OrderPlaced e = TP__ORDER__ORDER_PLACED__INIT;
    e.order_id = (char *) order;
    e.account_id = (char *) account;
    e.product_id = "signature-card";
    e.shop_id = (char *) shop;
    e.applicant = &a;
    e.ident_method = (char *) method;
    return itest_up(w, "order", &e.base);
}

size_t itest_officer(itest_world_t *w, const char *account, const char *shop, bool appoint)
{
    Tp__Account__OfficerAppointed a = TP__ACCOUNT__OFFICER_APPOINTED__INIT;
    Tp__Account__OfficerRevoked r = TP__ACCOUNT__OFFICER_REVOKED__INIT;
    a.account_id = r.account_id = (char *) account;
    a.shop_id = r.shop_id = (char *) shop;
    return itest_up(w, "account", appoint ? &a.base : &r.base);
}

/* The PostIdent number of the case just opened ("" when none). */
char *itest_opened_number(itest_world_t *w)
{
    Tp__Identification__CaseOpened *e = (Tp__Identification__CaseOpened *) itest_event(
        w->out, 0, &tp__identification__case_opened__descriptor);
    char *n = strdup(e ? e->postident_number : "");
    itest_free(e);
    return n;
}

bool itest_luhn_ok(const char *n)
{
    if (strlen(n) != IDENT_POSTIDENT_DIGITS || strspn(n, "0123456789") != IDENT_POSTIDENT_DIGITS)
        return false;
    int sum = 0;
    for (int i = 0; i < IDENT_POSTIDENT_DIGITS; i++) {
        int d = n[IDENT_POSTIDENT_DIGITS - 1 - i] - '0';
        if (i % 2 == 1 && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    return sum % 10 == 0;
}

/* The upstream history every test starts from. */
void itest_seed(itest_world_t *w, char numbers[2][16])
{
    CHECK(itest_order(w, "TP-1", "acc-c1", "", "postident") == 1);
    char *n = itest_opened_number(w);
    snprintf(numbers[0], 16, "%s", n);
    free(n);
    CHECK(itest_order(w, "TP-2", "acc-c1", "", "notarident") == 1);
    CHECK(itest_order(w, "TP-3", "acc-c2", "", "botschaftsident") == 1);
    CHECK(itest_order(w, "TP-4", "acc-c2", "shop-a", "officerident") == 1);
    CHECK(itest_order(w, "TP-5", "acc-c3", "shop-a", "dtrustident") == 1);
    CHECK(itest_order(w, "TP-6", "acc-c3", "shop-b", "postident") == 1);
    n = itest_opened_number(w);
    snprintf(numbers[1], 16, "%s", n);
    free(n);
    CHECK(itest_order(w, "TP-7", "acc-c4", "shop-b", "officerident") == 1);
    CHECK(itest_order(w, "TP-8", "acc-c4", "shop-a", "officerident") == 1);
    CHECK(itest_officer(w, "acc-oa", "shop-a", true) == 1);
    CHECK(itest_officer(w, "acc-ob", "shop-b", true) == 1);
    CHECK(itest_officer(w, "acc-rev", "shop-a", true) == 1);
    CHECK(itest_officer(w, "acc-rev", "shop-a", false) == 1);
}
