/* revocation_test_harness.c: the revocation core with an in-memory log, and the fixtures
 * of its unit tests. */
#include "revocation_test.h"
/* The public svc_out API has no getters for the lines a core asks to log, nor for the
 * "keep the events of this refusal" flag; the tests read both from the runtime's own
 * definition of the collector. */
#include "svc_internal.h"

int rtest_failed = 0;

static void s_configure(void *state, const char *delay, const char *alarm)
{
    zconfig_t *cfg = zconfig_new("root", NULL);
    zconfig_put(cfg, "revocation/processing_delay_s", delay);
    zconfig_put(cfg, "revocation/alarm_after_s", alarm);
    revocation_def.configure(state, cfg, "revocation");
    zconfig_destroy(&cfg);
}

void rtest_init(rtest_world_t *w)
{
    memset(w, 0, sizeof *w);
    w->state = revocation_def.state_new();
    s_configure(w->state, "60", "600");
    w->out = svc_out_new();
    w->versions = zhashx_new();
    w->now = T0;
    w->client_addr = "198.51.100.7";
}

void rtest_fini(rtest_world_t *w)
{
    for (size_t i = 0; i < w->n_log; i++) {
        free(w->log[i].type);
        free(w->log[i].stream);
        free(w->log[i].payload);
    }
    zhashx_destroy(&w->versions);
    svc_out_destroy(&w->out);
    revocation_def.state_destroy(&w->state);
    CHECK(w->state == NULL);
}

static void s_apply_logged(void *state, const rtest_logged_t *l, uint64_t seq)
{
    svc_event_t ev = {seq, l->stream, l->version, l->type, l->at_us, l->payload, l->len};
    revocation_def.apply(state, &ev);
}

void *rtest_rebuild(rtest_world_t *w)
{
    void *state = revocation_def.state_new();
    s_configure(state, "60", "600");
    for (size_t i = 0; i < w->n_log; i++)
        s_apply_logged(state, &w->log[i], i + 1);
    return state;
}

void rtest_restart(rtest_world_t *w)
{
    void *fresh = rtest_rebuild(w);
    revocation_def.state_destroy(&w->state);
    w->state = fresh;
}

/* Commits the output unless it was refused without keeping its events. */
static void s_commit(rtest_world_t *w)
{
    w->now += 1000;
    if (svc_out_failed(w->out) && !w->out->keep_events)
        return;
    for (size_t i = 0; i < svc_out_n_events(w->out) && w->n_log < RTEST_LOG_MAX; i++) {
        const char *type, *stream;
        const uint8_t *payload;
        size_t len;
        svc_out_event_at(w->out, i, &type, &stream, &payload, &len);
        uint64_t v = (uint64_t) (uintptr_t) zhashx_lookup(w->versions, stream) + 1;
        zhashx_update(w->versions, stream, (void *) (uintptr_t) v);
        rtest_logged_t *l = &w->log[w->n_log++];
        l->type = strdup(type);
        l->stream = strdup(stream);
        l->payload = malloc(len ? len : 1);
        memcpy(l->payload, payload, len);
        l->len = len;
        l->version = v;
        l->at_us = w->now;
        s_apply_logged(w->state, l, w->n_log);
    }
}

size_t rtest_up(rtest_world_t *w, const char *upstream, const ProtobufCMessage *msg)
{
    uint8_t buf[8192];
    size_t len = protobuf_c_message_pack(msg, buf);
    svc_event_t ev = {++w->up_seq, "up", 1, msg->descriptor->short_name, w->now, buf, len};
    svc_out_reset(w->out);
    revocation_def.react(w->state, upstream, &ev, w->out);
    s_commit(w);
    return svc_out_failed(w->out) ? 0 : svc_out_n_events(w->out);
}

const svc_command_t *rtest_cmd(const char *name)
{
    for (size_t i = 0; i < revocation_def.n_commands; i++)
        if (streq(revocation_def.commands[i].name, name))
            return &revocation_def.commands[i];
    return NULL;
}

svc_out_t *rtest_do(rtest_world_t *w, const char *name, const char *role, const char *account,
                    const ProtobufCMessage *body)
{
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = "req";
    hdr.actor_role = (char *) role;
    hdr.actor_account = (char *) account;
    hdr.client_addr = (char *) w->client_addr;
    uint8_t secret[SVC_SECRET_SIZE] = {1}, rnd[SVC_SECRET_SIZE];
    /* fresh random bytes per command, as the runtime gives: distinct request ids */
    w->commands++;
    memset(rnd, 0xa5, sizeof rnd);
    memcpy(rnd, &w->commands, sizeof w->commands);
    svc_ctx_t ctx = {&hdr, w->now, secret, rnd};
    svc_out_reset(w->out);
    const svc_command_t *cmd = rtest_cmd(name);
    cmd->decide(w->state, &ctx, body, w->out);
    if (!cmd->query)
        s_commit(w);
    return w->out;
}

svc_out_t *rtest_tick(rtest_world_t *w)
{
    svc_out_reset(w->out);
    revocation_def.tick(w->state, w->now, w->out);
    int64_t now = w->now;
    s_commit(w);
    w->now = now; /* the clock is the test's */
    return w->out;
}

bool rtest_err(svc_out_t *out, const char *code, const char *field)
{
    for (size_t i = 0; i < svc_out_n_errors(out); i++) {
        const char *c, *f;
        svc_out_error_at(out, i, &c, &f, NULL);
        if (streq(c, code) && streq(f, field ? field : ""))
            return true;
    }
    return false;
}

bool rtest_refused(svc_out_t *out, const char *code, const char *field)
{
    return svc_out_failed(out) && svc_out_n_events(out) == 0 && rtest_err(out, code, field);
}

bool rtest_recorded(svc_out_t *out, const char *code)
{
    return svc_out_failed(out) && out->keep_events && svc_out_n_events(out) > 0 &&
           rtest_err(out, code, NULL);
}

const char *rtest_message(svc_out_t *out)
{
    const char *m = "";
    if (svc_out_n_errors(out) > 0)
        svc_out_error_at(out, 0, NULL, NULL, &m);
    return m;
}

const char *rtest_event_type(svc_out_t *out, size_t i)
{
    const char *type = "";
    svc_out_event_at(out, i, &type, NULL, NULL, NULL);
    return type;
}

ProtobufCMessage *rtest_event(svc_out_t *out, size_t i, const ProtobufCMessageDescriptor *desc)
{
    const uint8_t *payload;
    size_t len;
    if (svc_out_event_at(out, i, NULL, NULL, &payload, &len) != 0)
        return NULL;
    return protobuf_c_message_unpack(desc, NULL, len, payload);
}

ProtobufCMessage *rtest_reply(svc_out_t *out, const ProtobufCMessageDescriptor *desc)
{
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(out, &len);
    return b ? protobuf_c_message_unpack(desc, NULL, len, b) : NULL;
}

void rtest_free(void *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
}

size_t rtest_logs(svc_out_t *out, char level, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < out->n_logs; i++)
        if (out->logs[i][0] == level && (!needle || strstr(out->logs[i] + 1, needle)))
            n++;
    return n;
}

/* ------------------------------------------------------------------ fixtures */

size_t rtest_order(rtest_world_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *hash)
{
    Tp__Order__OrderPlaced e = TP__ORDER__ORDER_PLACED__INIT;
    e.order_id = (char *) order;
    e.account_id = (char *) account;
    e.shop_id = (char *) shop;
    e.product_id = (char *) type;
    e.ident_method = "postident";
    e.revocation_password_hash = (char *) hash;
    e.placed_at_us = w->now;
    return rtest_up(w, "order", &e.base);
}

size_t rtest_certificates(rtest_world_t *w, const char *order, const char *serial1,
                          const char *serial2)
{
    Tp__Production__Certificate c1 = TP__PRODUCTION__CERTIFICATE__INIT;
    Tp__Production__Certificate c2 = TP__PRODUCTION__CERTIFICATE__INIT;
    Tp__Production__Certificate *certs[] = {&c1, &c2};
    c1.serial = (char *) serial1;
    c1.kind = "signature";
    c2.serial = (char *) serial2;
    c2.kind = "authentication";
    Tp__Production__CertificatesCreated e = TP__PRODUCTION__CERTIFICATES_CREATED__INIT;
    e.fact_id = "f-cert";
    e.order_id = (char *) order;
    e.certificates = certs;
    e.n_certificates = serial2 ? 2 : 1;
    e.at_us = w->now;
    return rtest_up(w, "production", &e.base);
}

size_t rtest_produced(rtest_world_t *w, const char *order, const char *card)
{
    Tp__Production__CardProduced e = TP__PRODUCTION__CARD_PRODUCED__INIT;
    e.fact_id = "f-prod";
    e.order_id = (char *) order;
    e.card_number = (char *) card;
    e.at_us = w->now;
    return rtest_up(w, "production", &e.base);
}

size_t rtest_shipped(rtest_world_t *w, const char *order)
{
    char product[96];
    snprintf(product, sizeof product, "prd-%s", order);
    Tp__Production__CardShipped e = TP__PRODUCTION__CARD_SHIPPED__INIT;
    e.fact_id = "f-ship";
    e.order_id = (char *) order;
    e.tracking_number = "RR123456789DE";
    e.at_us = w->now;
    e.product_id = product;
    return rtest_up(w, "production", &e.base);
}

size_t rtest_officer(rtest_world_t *w, const char *account, const char *shop, bool appoint)
{
    Tp__Account__OfficerAppointed a = TP__ACCOUNT__OFFICER_APPOINTED__INIT;
    Tp__Account__OfficerRevoked r = TP__ACCOUNT__OFFICER_REVOKED__INIT;
    a.account_id = r.account_id = (char *) account;
    a.shop_id = r.shop_id = (char *) shop;
    return rtest_up(w, "account", appoint ? &a.base : &r.base);
}

void rtest_product(rtest_world_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *card)
{
    char s1[96], s2[96];
    snprintf(s1, sizeof s1, "%s-S1", order);
    snprintf(s2, sizeof s2, "%s-S2", order);
    CHECK(rtest_order(w, order, account, shop, type, RTEST_HASH) == 1);
    CHECK(rtest_certificates(w, order, s1, s2) == 1);
    CHECK(rtest_produced(w, order, card) == 1);
    CHECK(rtest_shipped(w, order) == 1);
}

void rtest_seed(rtest_world_t *w)
{
    rtest_product(w, "TP-2026-000001", "acc-anna", "", "signature-card", "4711 0001");
    rtest_product(w, "TP-2026-000002", "acc-bert", "shop-a", "seal-card", "4711 0002");
    rtest_product(w, "TP-2026-000003", "acc-bert", "shop-a", "signature-card", "4711 0003");
    rtest_product(w, "TP-2026-000004", "acc-cora", "shop-b", "seal-card", "4711 0004");
    CHECK(rtest_order(w, "TP-2026-000005", "acc-anna", "", "signature-card", RTEST_HASH) == 1);
    CHECK(rtest_officer(w, "acc-oa", "shop-a", true) == 1);
    CHECK(rtest_officer(w, "acc-ob", "shop-b", true) == 1);
    CHECK(rtest_officer(w, "acc-rev", "shop-a", true) == 1);
    CHECK(rtest_officer(w, "acc-rev", "shop-a", false) == 1);
}
