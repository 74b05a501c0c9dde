/* crash_restart.c: each daemon killed with SIGKILL mid-flow and restarted gives the same
 * state and answers, and the flow goes on to the release. The customer flow runs; after
 * its steps one daemon after the other (account, order, identification) is killed:
 * either once it has settled, and then its "$summary" digest and a query's reply bytes
 * must be the same after the restart, or right after a command whose effects on the
 * other services are still in flight. A command retried with the same request id after
 * a crash writes nothing and gets the first reply, marked replayed (PlaceOrder and
 * RecordApplicationReceived); a PlaceOrder killed in its middle (while hashing, or
 * committed with its reply unread) is placed exactly once when retried, and one sent
 * twice at once is placed once. At the end every log verifies and replays to the live
 * state. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flow.h"

/* A query whose answer must survive a restart byte for byte. */
typedef struct {
    const char *svc;
    const th_actor_t *as;
    const char *cmd;
    const ProtobufCMessage *body;
} s_probe_t;

static Tp__Reply *s_ask(th_t *th, const s_probe_t *p)
{
    return th_call_as(th, p->svc, p->as, NULL, p->cmd, p->body, FL_CALL_MS);
}

/* Lets @p name settle, kills it with SIGKILL, restarts it: same digest, same answer. */
static void s_kill_settled(th_t *th, const char *name, const s_probe_t *probe)
{
    char before[128] = "", after[128] = "";
    TH_CHECK(th_settle(th, name, before, sizeof before, 400, 10000));
    Tp__Reply *r1 = s_ask(th, probe);
    TH_CHECK(r1 && r1->ok && r1->body.len > 0);
    th_stop(th, name, SIGKILL);
    TH_CHECK(!th_running(th, name));
    bool up = th_start(th, th_exe_of(name), name, 15000) > 0;
    TH_CHECK(up);
    TH_CHECK(th_digest(th, name, after, sizeof after));
    if (strcmp(before, after) != 0)
        fprintf(stderr, "%s: digest %s before the kill, %s after\n", name, before, after);
    TH_CHECK(before[0] && strcmp(before, after) == 0);
    Tp__Reply *r2 = s_ask(th, probe);
    bool same = r1 && r2 && r1->ok == r2->ok && r1->body.len == r2->body.len &&
                memcmp(r1->body.data, r2->body.data, r1->body.len) == 0;
    if (!same)
        fprintf(stderr, "%s: %s answers differently after the restart\n", name, probe->cmd);
    TH_CHECK(same);
    th_reply_free(&r1);
    th_reply_free(&r2);
    fprintf(stderr, "killed and restarted %s (settled, digest %.12s...)\n", name, before);
}

/* Kills @p name at once, whatever it is doing, and restarts it. */
static void s_kill_now(th_t *th, const char *name)
{
    th_stop(th, name, SIGKILL);
    TH_CHECK(th_restart(th, name, 15000));
    fprintf(stderr, "killed and restarted %s (mid-flow)\n", name);
}

/* A command retried with its request id: the first reply, replayed, nothing written. */
static void s_retry(th_t *th, const char *svc, const th_actor_t *as, const char *rid,
                    const char *cmd, const ProtobufCMessage *body, const Tp__Reply *first)
{
    uint64_t head = th_head(th, svc);
    Tp__Reply *r = th_call_as(th, svc, as, rid, cmd, body, FL_CALL_MS);
    TH_CHECK(r && r->ok && r->replayed);
    TH_CHECK(r && first && r->last_seq == first->last_seq);
    TH_CHECK(r && first && r->body.len == first->body.len &&
             memcmp(r->body.data, first->body.data, r->body.len) == 0);
    TH_CHECK(head != UINT64_MAX && th_head(th, svc) == head);
    if (!(r && r->replayed))
        th_reply_log(cmd, r);
    th_reply_free(&r);
}

/* Sends PlaceOrder @p o for @p c with @p rid over @p n fresh connections at once, without
 * waiting; returns the sockets (the caller collects the replies with s_collect). */
static void s_send_raw(th_t *th, const fl_customer_t *c, const char *rid, fl_order_t *o,
                       zsock_t **socks, int n)
{
    uint8_t body[4096], buf[4608];
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = (char *) rid;
    h.actor_role = (char *) c->as.role;
    h.actor_account = (char *) c->as.account;
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &h;
    req.command = "order.PlaceOrder";
    req.body.data = body;
    req.body.len = tp__order__place_order__pack(&o->cmd, body);
    size_t len = tp__request__pack(&req, buf);
    for (int i = 0; i < n; i++) {
        socks[i] = th_dealer(th, "order", "gateway");   /* as the gateway sends it */
        zmq_send(zsock_resolve(socks[i]), buf, len, 0);
    }
}

/* The reply on @p sock within @p timeout_ms (NULL when none); destroys the socket. */
static Tp__Reply *s_collect(zsock_t **sock, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve(*sock), 0, ZMQ_POLLIN, 0};
    Tp__Reply *r = NULL;
    if (zmq_poll(&item, 1, timeout_ms) > 0) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, zsock_resolve(*sock), 0) >= 0)
            r = tp__reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
    }
    zsock_destroy(sock);
    return r;
}

/* The order id of an ok PlaceOrder reply into @p out ("" when none). */
static void s_order_id(const Tp__Reply *r, char *out, size_t outsz)
{
    Tp__Order__OrderView *v = fl_view(r);
    snprintf(out, outsz, "%s", v ? v->order_id : "");
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
}

/* PlaceOrder while order dies (the password is being hashed, or the events committed):
 * the retry with the same request id places it exactly once; and the same request sent
 * twice at once places it once, both get its reply. */
static void s_crash_in_command(th_t *th, const fl_customer_t *c)
{
    fl_order_t o;
    fl_order_init(&o, "signature-card", NULL, "notarident");
    zsock_t *socks[2];
    char id2[64] = "", id3a[64], id3b[64];
    /* killed while hashing, then (most likely) after the commit, its reply unread */
    static const int delays_ms[] = {30, 400};
    for (int i = 0; i < 2; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "crash-place-2%c", 'a' + i);
        s_send_raw(th, c, rid, &o, socks, 1);
        zclock_sleep(delays_ms[i]);
        s_kill_now(th, "order");
        zsock_destroy(&socks[0]);
        Tp__Reply *r =
            th_call_as(th, "order", &c->as, rid, "order.PlaceOrder", &o.cmd.base, FL_CALL_MS);
        s_order_id(r, id2, sizeof id2);
        TH_CHECK(id2[0]);
        fprintf(stderr, "PlaceOrder retried after a kill %d ms into it: %s\n", delays_ms[i],
                r && r->replayed ? "it had committed (replayed)" : "it had not (done now)");
        th_reply_free(&r);
        TH_CHECK(id2[0] && fl_count_events(th, "order", "OrderPlaced", id2) == 1);
    }

    s_send_raw(th, c, "crash-place-3", &o, socks, 2);
    Tp__Reply *r1 = s_collect(&socks[0], FL_CALL_MS), *r2 = s_collect(&socks[1], FL_CALL_MS);
    s_order_id(r1, id3a, sizeof id3a);
    s_order_id(r2, id3b, sizeof id3b);
    TH_CHECK(id3a[0] && strcmp(id3a, id3b) == 0 && strcmp(id3a, id2) != 0);
    TH_CHECK(r1 && r2 && r1->replayed + r2->replayed == 1 && r1->last_seq == r2->last_seq);
    TH_CHECK(id3a[0] && fl_count_events(th, "order", "OrderPlaced", id3a) == 1);
    th_reply_free(&r1);
    th_reply_free(&r2);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    th_t *th = th_new("crash");
    int port = th_smtp_start(th);
    TH_CHECK(port > 0);
    fl_configure(th, port);
    fl_customer_t c;
    bool ready =
        port > 0 && th_start_services(th, 15000) && fl_signup(th, "kim.kunde@example.org", &c);
    TH_CHECK(ready);
    if (!ready) {
        th_destroy(&th);
        return 1;
    }

    /* 1. account: the session survives */
    Tp__Account__ResolveSession rs = TP__ACCOUNT__RESOLVE_SESSION__INIT;
    rs.session_token = c.session;
    s_probe_t session = {"account", &fl_anonymous, "account.ResolveSession", &rs.base};
    s_kill_settled(th, "account", &session);

    /* a registration whose mail may be on its way when the account service dies: the
     * mail comes (at least once) and its link works */
    Tp__Account__Register reg = TP__ACCOUNT__REGISTER__INIT;
    reg.email = "lea.spaet@example.org";
    reg.password = "ein langes Passwort 2026";
    Tp__Reply *r =
        th_call_as(th, "account", &fl_anonymous, NULL, "account.Register", &reg.base, FL_CALL_MS);
    TH_CHECK(r && r->ok);
    th_reply_free(&r);
    s_kill_now(th, "account");
    char token[128];
    TH_CHECK(fl_mail_token(th, reg.email, token, sizeof token, 15000));
    Tp__Account__Confirm conf = TP__ACCOUNT__CONFIRM__INIT;
    conf.token = token;
    conf.password = reg.password;
    r = th_call_as(th, "account", &fl_anonymous, NULL, "account.Confirm", &conf.base, FL_CALL_MS);
    TH_CHECK(r && r->ok);
    th_reply_free(&r);
    th_check_replay(th, "account");

    /* 2. order: after the shop code, the catalog of the shop is the same */
    TH_CHECK(fl_redeem(th, &c, FL_DEMO_CODE));
    Tp__Order__GetCatalog gc = TP__ORDER__GET_CATALOG__INIT;
    char *shops[] = {FL_DEMO_SHOP};
    gc.shop_ids = shops;
    gc.n_shop_ids = 1;
    s_probe_t catalog = {"order", &c.as, "order.GetCatalog", &gc.base};
    s_kill_settled(th, "order", &catalog);

    /* 3. the order is placed; identification dies before or while it opens the case */
    fl_order_t o;
    fl_order_init(&o, "seal-card", FL_DEMO_SHOP, "postident");
    Tp__Reply *placed = th_call_as(th, "order", &c.as, "crash-place-1", "order.PlaceOrder",
                                   &o.cmd.base, FL_CALL_MS);
    s_kill_now(th, "identification");
    Tp__Order__OrderView *v = fl_view(placed);
    TH_CHECK(v && v->order_id[0]);
    char order_id[64] = "", number[32] = "";
    snprintf(order_id, sizeof order_id, "%s", v ? v->order_id : "none");
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    TH_CHECK(fl_wait_postident(th, order_id, number, sizeof number, 15000));
    th_check_replay(th, "identification");
    /* order dies; the client, not sure its order went through, sends it again */
    Tp__Order__GetOrder go = TP__ORDER__GET_ORDER__INIT;
    go.order_id = order_id;
    s_probe_t get_order = {"order", &c.as, "order.GetOrder", &go.base};
    s_kill_settled(th, "order", &get_order);
    s_retry(th, "order", &c.as, "crash-place-1", "order.PlaceOrder", &o.cmd.base, placed);
    TH_CHECK(fl_count_events(th, "order", "OrderPlaced", NULL) == 1);
    s_crash_in_command(th, &c);
    TH_CHECK(fl_count_events(th, "order", "OrderPlaced", NULL) == 4);
    TH_CHECK(fl_count_events(th, "identification", "CaseOpened", order_id) == 1);
    th_reply_free(&placed);

    /* 4. the PostIdent result; order dies before or while it takes it in */
    Tp__Identification__RecordPostIdentResult pr =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    pr.postident_number = number;
    pr.succeeded = true;
    pr.evidence_ref = "PI-TX-4711";
    r = th_call_as(th, "identification", &fl_ident, NULL, "identification.RecordPostIdentResult",
                   &pr.base, FL_CALL_MS);
    TH_CHECK(r && r->ok);
    th_reply_free(&r);
    s_kill_now(th, "order");
    TH_CHECK(fl_wait_step(th, order_id, "identification", 15000));
    TH_CHECK(fl_count_events(th, "order", "IdentificationRecorded", order_id) == 1);
    Tp__Identification__GetCase gcase = TP__IDENTIFICATION__GET_CASE__INIT;
    gcase.order_id = order_id;
    s_probe_t get_case = {"identification", &c.as, "identification.GetCase", &gcase.base};
    s_kill_settled(th, "identification", &get_case);

    /* 5. the application arrives: released; every daemon dies once more */
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = order_id;
    Tp__Reply *app = th_call_as(th, "order", &fl_operator, "crash-app-1",
                                "order.RecordApplicationReceived", &ar.base, FL_CALL_MS);
    v = fl_view(app);
    TH_CHECK(v && strcmp(v->status, "in_produktion") == 0);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    s_kill_settled(th, "account", &session);
    s_kill_settled(th, "order", &get_order);
    s_retry(th, "order", &fl_operator, "crash-app-1", "order.RecordApplicationReceived", &ar.base,
            app);
    th_reply_free(&app);
    s_kill_settled(th, "identification", &get_case);
    v = fl_get_order(th, &c.as, order_id);
    TH_CHECK(v && strcmp(v->status, "in_produktion") == 0);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    TH_CHECK(fl_count_events(th, "order", "ApplicationReceived", order_id) == 1);
    TH_CHECK(fl_count_events(th, "order", "OrderReleasedForProduction", order_id) == 1);

    /* the account service was killed three times after Kim's confirmation mail was
     * recorded as sent: it was not sent again (her status mails: status_mails_crash) */
    TH_CHECK(th_mail_count(th, NULL, "kim.kunde@example.org", "Message-ID: <confirm.") == 1);

    th_check_replay(th, "account");
    th_check_replay(th, "order");
    th_check_replay(th, "identification");
    th_destroy(&th);
    fprintf(stderr, "crash_restart: %.1f s\n", (double) (zclock_mono() - t0) / 1000.0);
    printf("crash_restart: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
