/* trust_boundary.c: the five daemons over their real sockets: who gets an answer, who
 * is refused, who hears the events, and that every refusal writes nothing. */
#include <stdio.h>
#include <string.h>
#include "evs_keys.h"
#include "flow.h"
#include "harness.h"
#include "account.pb-c.h"
#include "identification.pb-c.h"
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"

#define N_SVC 5
static const char *const s_svc[N_SVC] = {"account", "order", "identification", "production",
                                         "revocation"};

/* How long a request may go unanswered before it counts as "no answer". */
#define S_SILENT_MS 700

/* A request from a raw DEALER (@p cert NULL: no CURVE at all); the reply, or NULL. */
static Tp__Reply *s_raw(th_t *th, const char *svc, zcert_t *cert, const char *command)
{
    char ep[400], server[EVS_KEYS_Z85];
    th_router(th, svc, ep, sizeof ep);
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zsock_set_linger(s, 0);
    if (cert && evs_keys_public(th_keys(th), svc, server) == 0)
        evs_keys_client(s, cert, server);
    evs_bus_connect(s, ep);
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = "raw-1";
    h.actor_role = "operator";   /* claimed: worth nothing without the key */
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &h;
    req.command = (char *) command;
    uint8_t buf[512];
    size_t len = tp__request__pack(&req, buf);
    zmq_send(zsock_resolve(s), buf, len, 0);
    Tp__Reply *r = NULL;
    zmq_pollitem_t item = {zsock_resolve(s), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, S_SILENT_MS) > 0) {
        zmsg_t *m = zmsg_recv(s);
        zframe_t *f = m ? zmsg_last(m) : NULL;
        r = f ? tp__reply__unpack(NULL, zframe_size(f), zframe_data(f)) : NULL;
        zmsg_destroy(&m);
    }
    zsock_destroy(&s);
    return r;
}

/* A refusal with @p code that wrote nothing (the head of @p svc is still @p head). */
static bool s_refused(th_t *th, const char *svc, Tp__Reply *r, const char *code, uint64_t head,
                      const char *what)
{
    bool ok = th_refused(r, code, "") && r->last_seq == 0 && th_head(th, svc) == head;
    if (!ok) {
        fprintf(stderr, "%s at %s: expected %s, head %llu\n", what, svc, code,
                (unsigned long long) head);
        th_reply_log(what, r);
    }
    th_reply_free(&r);
    return ok;
}

/* No answer at all, and nothing written. */
static bool s_silent(th_t *th, const char *svc, Tp__Reply *r, uint64_t head, const char *what)
{
    bool ok = r == NULL && th_head(th, svc) == head;
    if (!ok) {
        fprintf(stderr, "%s at %s: expected no answer, head %llu\n", what, svc,
                (unsigned long long) head);
        th_reply_log(what, r);
    }
    th_reply_free(&r);
    return ok;
}

/* Who holds no key, an unknown key, or a key revoked while connected: no answer. */
static void s_strangers(th_t *th)
{
    zcert_t *stranger = zcert_new();
    TH_CHECK(th_key(th, "operator-mallory") == 0);
    zcert_t *mallory = evs_keys_load_secret(th_keys(th), "operator-mallory");
    /* mallory's connections, made while her key is good: each answers */
    zsock_t *conn[N_SVC];
    for (int i = 0; i < N_SVC; i++) {
        conn[i] = th_dealer(th, s_svc[i], "operator-mallory");
        TH_CHECK(conn[i] != NULL);
    }
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &h;
    req.command = "$status";
    uint8_t buf[256];
    size_t len = tp__request__pack(&req, buf);
    for (int i = 0; i < N_SVC; i++) {
        zmq_send(zsock_resolve(conn[i]), buf, len, 0);
        zmsg_t *m = zmsg_recv(conn[i]);
        TH_CHECK(m != NULL);
        zmsg_destroy(&m);
    }
    uint64_t head[N_SVC];
    for (int i = 0; i < N_SVC; i++) {
        head[i] = th_head(th, s_svc[i]);
        TH_CHECK(s_silent(th, s_svc[i], s_raw(th, s_svc[i], NULL, "$status"), head[i], "no key"));
        TH_CHECK(s_silent(th, s_svc[i], s_raw(th, s_svc[i], stranger, "$status"), head[i],
                          "an unknown key"));
        TH_CHECK(s_silent(th, s_svc[i], s_raw(th, s_svc[i], NULL, EVS_BUS_READ), head[i],
                          "no key, $read"));
    }
    /* revoked: refused from the next second on, on the connections already made too */
    TH_CHECK(evs_keys_revoke(th_keys(th), "operator-mallory") == 0);
    zclock_sleep(1500);
    for (int i = 0; i < N_SVC; i++) {
        zmq_send(zsock_resolve(conn[i]), buf, len, 0);
        zmq_pollitem_t item = {zsock_resolve(conn[i]), 0, ZMQ_POLLIN, 0};
        bool answered = zmq_poll(&item, 1, S_SILENT_MS) > 0;
        if (answered)
            fprintf(stderr, "a revoked key got an answer from %s\n", s_svc[i]);
        TH_CHECK(!answered);
        TH_CHECK(s_silent(th, s_svc[i], s_raw(th, s_svc[i], mallory, "$status"), head[i],
                          "a revoked key, connecting anew"));
        zsock_destroy(&conn[i]);
    }
    zcert_destroy(&mallory);
    zcert_destroy(&stranger);
}

/* A shop nobody but an operator may create, into @p shop and @p cs. */
static void s_evil_shop(Tp__Order__Shop *shop, Tp__Order__CreateShop *cs)
{
    tp__order__shop__init(shop);
    shop->shop_id = "shop-evil";
    shop->code = "EVIL-SHOP";
    shop->name = "Evil";
    tp__order__create_shop__init(cs);
    cs->shop = shop;
}

/* The gateway's key, whatever it claims: no operator command or producer fact; "$read"
 * only where "gateway" is a follower (the portal's live updates): production by its own
 * list; not order, whose list main() sets without it here. */
static void s_gateway(th_t *th)
{
    const th_actor_t claims[] = {{"operator", "operator:root", NULL, NULL},
                                 {"producer", NULL, NULL, NULL},
                                 {"customer", "acc-1", NULL, NULL}};
    Tp__Order__Shop shop;
    Tp__Order__CreateShop cs;
    s_evil_shop(&shop, &cs);
    Tp__Account__DeleteAccount da = TP__ACCOUNT__DELETE_ACCOUNT__INIT;
    da.account_id = "acc-1";
    da.reason = "gone";
    Tp__Identification__OpenNewAttempt na = TP__IDENTIFICATION__OPEN_NEW_ATTEMPT__INIT;
    na.order_id = "TP-2026-000001";
    Tp__Production__RecordCardShipped sh = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    sh.fact_id = "evil-1";
    sh.order_id = "TP-2026-000001";
    Tp__Revocation__RevokeAsOperator ro = TP__REVOCATION__REVOKE_AS_OPERATOR__INIT;
    ro.product_id = "prd-TP-2026-000001";
    ro.reason = "card_lost";
    const struct {
        const char *svc, *command;
        const ProtobufCMessage *body;
    } asks[N_SVC] = {{"account", "account.DeleteAccount", &da.base},
                     {"order", "order.CreateShop", &cs.base},
                     {"identification", "identification.OpenNewAttempt", &na.base},
                     {"production", "production.RecordCardShipped", &sh.base},
                     {"revocation", "revocation.RevokeAsOperator", &ro.base}};
    for (int i = 0; i < N_SVC; i++) {
        uint64_t head = th_head(th, asks[i].svc);
        for (size_t c = 0; c < sizeof claims / sizeof claims[0]; c++) {
            th_actor_t as = claims[c];
            as.key = "gateway";
            Tp__Reply *r =
                th_call_as(th, asks[i].svc, &as, NULL, asks[i].command, asks[i].body, 5000);
            TH_CHECK(s_refused(th, asks[i].svc, r, "forbidden", head, asks[i].command));
            Tp__ReadEventsRequest rr = TP__READ_EVENTS_REQUEST__INIT;
            rr.from_seq = 1;
            r = th_call_as(th, asks[i].svc, &as, NULL, EVS_BUS_READ, &rr.base, 5000);
            if (streq(asks[i].svc, "production")) {
                TH_CHECK(r && r->ok);
                th_reply_free(&r);
            }
            else
                TH_CHECK(s_refused(th, asks[i].svc, r, "forbidden", head, "$read"));
        }
    }
}

/* A production line's key: its facts, nothing else; an ident feed: its results only; a
 * service's key: reads of what it follows, never a command. */
static void s_others(th_t *th)
{
    uint64_t ident_head = th_head(th, "identification"), order_head = th_head(th, "order");
    Tp__Identification__RecordResult rr = TP__IDENTIFICATION__RECORD_RESULT__INIT;
    rr.order_id = "TP-2026-000001";
    rr.succeeded = true;
    rr.evidence_ref = "forged";
    /* a production line is not even admitted where it has no rights */
    Tp__Reply *r = th_call_as(th, "identification", &fl_producer, NULL,
                              "identification.RecordResult", &rr.base, S_SILENT_MS);
    TH_CHECK(s_silent(th, "identification", r, ident_head, "a producer recording a result"));
    Tp__Order__Shop shop;
    Tp__Order__CreateShop cs;
    s_evil_shop(&shop, &cs);
    r = th_call_as(th, "order", &fl_producer, NULL, "order.CreateShop", &cs.base, S_SILENT_MS);
    TH_CHECK(s_silent(th, "order", r, order_head, "a producer creating a shop"));
    /* the ident feed: PostIdent results, not an operator's result or new attempt */
    r = th_call_as(th, "identification", &fl_ident, NULL, "identification.RecordResult",
                   &rr.base, 5000);
    TH_CHECK(s_refused(th, "identification", r, "forbidden", ident_head, "ident: RecordResult"));
    /* the order service's key: identification follows order, and order follows
     * identification: it may read identification, not command it */
    const th_actor_t order_key = {"", NULL, NULL, "order"};
    r = th_call_as(th, "identification", &order_key, NULL, "identification.RecordResult",
                   &rr.base, 5000);
    TH_CHECK(s_refused(th, "identification", r, "forbidden", ident_head, "service: command"));
    Tp__ReadEventsRequest read = TP__READ_EVENTS_REQUEST__INIT;
    read.from_seq = 1;
    r = th_call_as(th, "identification", &order_key, NULL, EVS_BUS_READ, &read.base, 5000);
    TH_CHECK(r && r->ok);
    th_reply_free(&r);
    /* the identification service does not follow production: not admitted there */
    const th_actor_t ident_key = {"", NULL, NULL, "identification"};
    uint64_t prod_head = th_head(th, "production");
    r = th_call_as(th, "production", &ident_key, NULL, EVS_BUS_READ, &read.base, S_SILENT_MS);
    TH_CHECK(s_silent(th, "production", r, prod_head, "a non-follower's $read"));
}

/* A SUB to the order service's PUB with @p stem's key (NULL: none; "" an unknown one). */
static zsock_t *s_sub(th_t *th, const char *stem)
{
    char ep[400], server[EVS_KEYS_Z85];
    zconfig_t *config = zconfig_load(th_config(th));
    svc_endpoint(config, "order", "pub", ep, sizeof ep);
    zconfig_destroy(&config);
    zsock_t *s = zsock_new(ZMQ_SUB);
    zsock_set_linger(s, 0);
    zcert_t *cert = !stem ? NULL : *stem ? evs_keys_load_secret(th_keys(th), stem) : zcert_new();
    if (cert && evs_keys_public(th_keys(th), "order", server) == 0)
        evs_keys_client(s, cert, server);
    zcert_destroy(&cert);
    zsock_set_subscribe(s, "order.");
    zsock_connect(s, "%s", ep);
    return s;
}

/* An operator creates a shop with tpctl: an event on the order service's PUB. */
static void s_shop(th_t *th, const char *operator, const char *code)
{
    char *out = NULL;
    int rc = th_run(&out, "%s -c '%s' --as-operator %s shop create %s 'Shop %s' 2>&1",
                    th_env("TPCTL"), th_config(th), operator, code, code);
    if (rc != 0)
        fprintf(stderr, "tpctl shop create: exit %d: %s\n", rc, out ? out : "");
    TH_CHECK(rc == 0);
    free(out);
}

/* Whether @p sub hears an event of the order service within 2 s (heartbeats aside). */
static bool s_heard(zsock_t *sub)
{
    int64_t until = zclock_mono() + 2000;
    while (zclock_mono() < until) {
        zmq_pollitem_t item = {zsock_resolve(sub), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmsg_t *m = zmsg_recv(sub);
        char *topic = m ? zmsg_popstr(m) : NULL;
        bool event = topic && strncmp(topic, "order.", 6) == 0 && !strstr(topic, "$heartbeat");
        zstr_free(&topic);
        zmsg_destroy(&m);
        if (event)
            return true;
    }
    return false;
}

/* Only the order service's followers hear its events; an operator's shop names her. */
static void s_subscribers(th_t *th)
{
    /* "watcher" is a follower of the order service here (main() says so) */
    const char *stems[] = {"account", "watcher", "gateway", "operator-test", "", NULL};
    enum { N = 6 };
    zsock_t *subs[N];
    for (int i = 0; i < N; i++)
        subs[i] = s_sub(th, stems[i]);
    zclock_sleep(500);   /* the subscriptions reach the publisher */
    TH_CHECK(th_key(th, "operator-alice") == 0);
    s_shop(th, "alice", "ALICE-SHOP");
    for (int i = 0; i < N; i++) {
        bool heard = s_heard(subs[i]);
        bool should = i < 2;   /* the followers */
        if (heard != should)
            fprintf(stderr, "subscriber %s: heard %d, expected %d\n",
                    stems[i] ? (*stems[i] ? stems[i] : "(unknown key)") : "(no key)", heard,
                    should);
        TH_CHECK(heard == should);
        if (i > 1)
            zsock_destroy(&subs[i]);
    }
    zsock_destroy(&subs[0]);
    zsock_destroy(&subs[1]);
    /* the audit trail: the shop's event names its operator, from her key */
    char data[400];
    th_data_dir(th, "order", data, sizeof data);
    char *out = NULL;
    int rc = th_run(&out, "%s log dump '%s' --type ShopCreated", th_env("TPCTL"), data);
    bool named = rc == 0 && out && strstr(out, "ALICE-SHOP") &&
                 strstr(out, "\"actor\":\"operator:alice\"");
    if (!named)
        fprintf(stderr, "tpctl log dump: exit %d: %s\n", rc, out ? out : "");
    TH_CHECK(named);
    free(out);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    th_t *th = th_new("trust");
    fl_configure(th, -1);
    /* one more follower of the order service, by the config */
    th_set(th, "order/followers", "account,identification,production,revocation,watcher");
    TH_CHECK(th_key(th, "watcher") == 0);
    for (int i = 0; i < N_SVC; i++)
        TH_CHECK(th_start(th, th_exe_of(s_svc[i]), s_svc[i], 15000) > 0);
    if (!th_failed) {
        s_gateway(th);
        s_others(th);
        s_subscribers(th);
        s_strangers(th);
    }
    th_destroy(&th);
    printf("trust_boundary: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
