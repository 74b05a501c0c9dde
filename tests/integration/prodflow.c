/* prodflow.c: the production and revocation flow over all five daemons: setup, producer
 * facts (tpctl, CURVE endpoint, request socket), the flow itself. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "prodflow.h"
#include "prodflow_internal.h"

const char *const pf_services[5] = {"order", "identification", "account", "production",
                                    "revocation"};

void pf_step(pf_t *pf, const char *step)
{
    if (pf->after_step)
        pf->after_step(pf, step);
}

/* ------------------------------------------------------------------ setup */

bool pf_setup(pf_t *pf, const char *name)
{
    pf->th = th_new(name);
    if (!pf->th)
        return false;
    th_t *th = pf->th;
    fl_configure(th, -1); /* mails into the outbox folder: the links are read from there */
    th_set(th, "production/activation_delay_s",
           pf->activation_delay_s ? pf->activation_delay_s : PF_ACTIVATION_S);
    th_set(th, "revocation/processing_delay_s", PF_PROCESSING_S);
    /* the benchmark's diagnostic: TP_BENCH_PIPELINE=0 runs every service unpipelined */
    const char *pipeline = getenv("TP_BENCH_PIPELINE");
    if (pipeline && *pipeline)
        th_set(th, "pipeline", pipeline);
    /* and logs the commits slower than TP_BENCH_SLOW_COMMIT_MS */
    const char *slow = getenv("TP_BENCH_SLOW_COMMIT_MS");
    if (slow && *slow)
        th_set(th, "slow_commit_ms", slow);
    /* one more follower of the order service (a benchmark's listener), with its key */
    if (pf->order_listener) {
        char followers[256];
        snprintf(followers, sizeof followers, "account,identification,production,revocation,%s",
                 pf->order_listener);
        th_set(th, "order/followers", followers);
        if (th_key(th, pf->order_listener) != 0)
            return false;
    }
    /* the producers' endpoint over tcp, and a production line's own key for it */
    int port = th_free_port();
    snprintf(pf->producer_ep, sizeof pf->producer_ep, "tcp://127.0.0.1:%d", port);
    th_set(th, "production/producer", pf->producer_ep);
    /* tpctl sends its facts as that line too */
    th_set(th, "tpctl/as_producer", PF_LINE_KEY + strlen("producer-"));
    if (th_key(th, PF_LINE_KEY) != 0 || port <= 0) {
        fprintf(stderr, "prodflow: a key or a port for the producer endpoint\n");
        return false;
    }
    if (pf->before_start && !pf->before_start(pf))
        return false;
    for (size_t i = 0; i < 5; i++)
        if (th_start(th, th_exe_of(pf_services[i]), pf_services[i], 15000) <= 0) {
            fprintf(stderr, "prodflow: %s did not come up\n", pf_services[i]);
            return false;
        }
    return true;
}

/* ------------------------------------------------------------------ facts */

/* The digits of an order id ("TP-2026-000001" -> "2026000001"): serials, card and
 * tracking numbers made from them are unique per order and the same in every run. */
void pf_digits(const char *order_id, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *p = order_id; *p && n + 1 < outsz; p++)
        if (*p >= '0' && *p <= '9')
            out[n++] = *p;
    out[n] = '\0';
}

/* Validity of the certificates: from yesterday (so the product is valid once activated)
 * to the first of January three years on. */
static void s_validity(char *from, char *to, size_t sz, int64_t *from_us, int64_t *to_us)
{
    time_t now = time(NULL) - 86400;
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(from, sz, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    snprintf(to, sz, "%04d-01-01", tm.tm_year + 1900 + 3);
    struct tm f = {0}, t = {0};
    f.tm_year = tm.tm_year;
    f.tm_mon = tm.tm_mon;
    f.tm_mday = tm.tm_mday;
    t.tm_year = tm.tm_year + 3;
    t.tm_mday = 1;
    *from_us = (int64_t) timegm(&f) * 1000000;
    *to_us = (int64_t) timegm(&t) * 1000000;
}

/* The values of a fact for @p order: serials, card, tracking numbers. */
typedef struct {
    char serial[2][40], card[40], tracking[40], pin_tracking[40], from[40], to[40];
    const char *kind0;
    int64_t from_us, to_us;
} s_values_t;

static void s_values(const char *order, bool seal, s_values_t *v)
{
    char d[32];
    pf_digits(order, d, sizeof d);
    snprintf(v->serial[0], sizeof v->serial[0], "5e%s01", d);
    snprintf(v->serial[1], sizeof v->serial[1], "5e%s02", d);
    snprintf(v->card, sizeof v->card, "DT%s", d);
    snprintf(v->tracking, sizeof v->tracking, "RR%sDE", d);
    snprintf(v->pin_tracking, sizeof v->pin_tracking, "RP%sDE", d);
    v->kind0 = seal ? "seal" : "signature";
    s_validity(v->from, v->to, sizeof v->from, &v->from_us, &v->to_us);
}

static pf_ack_t s_ack_of_json(int rc, const char *text)
{
    pf_ack_t a = {0};
    json_error_t err;
    json_t *j = text ? json_loads(text, 0, &err) : NULL;
    a.answered = j != NULL;
    a.ok = rc == 0 && json_is_true(json_object_get(j, "ok"));
    a.last_seq = (uint64_t) json_integer_value(json_object_get(j, "lastSeq"));
    json_t *reply = json_object_get(j, "reply");
    a.duplicate = json_is_true(json_object_get(reply, "duplicate"));
    const char *s = json_string_value(json_object_get(reply, "jobStatus"));
    snprintf(a.job_status, sizeof a.job_status, "%s", s ? s : "");
    s = json_string_value(json_object_get(reply, "orderId"));
    snprintf(a.order_id, sizeof a.order_id, "%s", s ? s : "");
    json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
    s = json_string_value(json_object_get(e0, "code"));
    snprintf(a.code, sizeof a.code, "%s", s ? s : "");
    s = json_string_value(json_object_get(e0, "field"));
    snprintf(a.field, sizeof a.field, "%s", s ? s : "");
    s = json_string_value(json_object_get(e0, "message"));
    snprintf(a.message, sizeof a.message, "%s", s ? s : "");
    json_decref(j);
    return a;
}

pf_ack_t pf_ack_of_reply(const Tp__Reply *r)
{
    pf_ack_t a = {0};
    if (!r)
        return a;
    a.answered = true;
    a.ok = r->ok;
    a.last_seq = r->last_seq;
    if (r->n_errors) {
        snprintf(a.code, sizeof a.code, "%s", r->errors[0]->code);
        snprintf(a.field, sizeof a.field, "%s", r->errors[0]->field);
        snprintf(a.message, sizeof a.message, "%s", r->errors[0]->message);
    }
    Tp__Production__FactAck *ack =
        r->ok ? tp__production__fact_ack__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (ack) {
        a.duplicate = ack->duplicate;
        snprintf(a.job_status, sizeof a.job_status, "%s", ack->job_status);
        snprintf(a.order_id, sizeof a.order_id, "%s", ack->order_id);
        tp__production__fact_ack__free_unpacked(ack, NULL);
    }
    return a;
}

/* The fact as line 2 of a facts file, the same fact under another request id as line 4
 * (a duplicate, acknowledged); first the same line with a bad line after it, which must
 * send nothing (exit 2, the bad line named): the first line's ack. */
static pf_ack_t s_fact_file(pf_t *pf, const char *args, const char *fact)
{
    pf_ack_t a = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/facts.txt", th_dir(pf->th));
    for (int round = 0; round < 2; round++) {
        FILE *f = fopen(path, "w");
        if (!f)
            return a;
        fprintf(f, "# facts of line 1\n%s --fact '%s'\n\n", args, fact);
        if (round == 0)
            fprintf(f, "%s --fact \"%s\" --colour blue\n", args, fact);
        else
            fprintf(f, "  %s --fact \"%s\" --request-id again-%s\n", args, fact, fact);
        fclose(f);
        char *out = NULL;
        int rc = th_run(&out, "%s -c '%s' produce --file '%s' 2>&1", th_env("TPCTL"),
                        th_config(pf->th), path);
        if (round == 0) {
            bool refused = rc == 2 && out && strstr(out, "facts.txt:4: unknown option --colour") &&
                           strstr(out, "nothing sent") && !strstr(out, "\"line\"");
            if (!refused)
                fprintf(stderr, "tpctl produce --file with a bad line: exit %d, output %s\n", rc,
                        out ? out : "");
            TH_CHECK(refused);
            free(out);
            continue;
        }
        /* one JSON line a fact, with its line number, then the count on stderr */
        char *all = out ? strdup(out) : NULL;
        char *second = out ? strstr(out, "\n{\"line\":4,") : NULL;
        if (second)
            *second++ = '\0';
        const char *first = out ? strstr(out, "{\"line\":2,") : NULL;
        a = s_ack_of_json(rc, first);
        pf_ack_t dup = s_ack_of_json(rc, second ? strtok(second, "\n") : NULL);
        bool ok = a.answered && dup.ok && dup.duplicate && streq(dup.job_status, a.job_status);
        if (!ok)
            fprintf(stderr, "tpctl produce --file: exit %d, output %s\n", rc, all ? all : "");
        TH_CHECK(ok);
        free(all);
        free(out);
    }
    return a;
}

static pf_ack_t s_fact_tpctl(pf_t *pf, pf_via_t via, const char *kind, const char *order,
                             const char *fact, const s_values_t *v)
{
    char args[512];
    if (streq(kind, "certificates"))
        snprintf(args, sizeof args,
                 "certificates %s --serial %s --kind %s --from %s --to %s --subject 'CN=Erika "
                 "Mustermann' --serial %s --kind authentication",
                 order, v->serial[0], v->kind0, v->from, v->to, v->serial[1]);
    else if (streq(kind, "card"))
        snprintf(args, sizeof args, "card %s %s", order, v->card);
    else if (streq(kind, "shipped"))
        snprintf(args, sizeof args, "shipped %s %s", order, v->tracking);
    else if (streq(kind, "pin-shipped"))
        snprintf(args, sizeof args, "pin-shipped %s %s", order, v->pin_tracking);
    else
        snprintf(args, sizeof args, "%s %s", kind, order);
    if (via == PF_VIA_TPCTL_FILE)
        return s_fact_file(pf, args, fact);
    char *out = NULL;
    int rc = th_run(&out, "%s -c '%s' produce %s --fact '%s' 2>/dev/null", th_env("TPCTL"),
                    th_config(pf->th), args, fact);
    pf_ack_t a = s_ack_of_json(rc, out);
    if (!a.answered)
        fprintf(stderr, "tpctl produce %s: exit %d, output %s\n", args, rc, out ? out : "");
    free(out);
    return a;
}

/* @p msg twice in one "$batch" over the CURVE endpoint: as fact_id, then again under
 * another request id (a duplicate, acknowledged, changing nothing); the first's ack. */
static pf_ack_t s_fact_batch(pf_t *pf, const char *cmd, const ProtobufCMessage *msg,
                             const char *fact_id)
{
    char again[128];
    snprintf(again, sizeof again, "%s#again", fact_id);
    const evs_batch_item_t its[2] = {{fact_id, cmd, msg}, {again, cmd, msg}};
    evs_client_t *client =
        evs_client_new_keyed(pf->producer_ep, th_keys(pf->th), PF_LINE_KEY, "production");
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = again;   /* the batch's own id: nothing is kept under it */
    Tp__Reply *r = NULL, *items[2] = {NULL, NULL};
    if (!client || evs_client_call_batch(client, &h, its, 2, FL_CALL_MS, &r, items) != 0)
        fprintf(stderr, "prodflow: no answer at the producer endpoint %s\n", pf->producer_ep);
    evs_client_destroy(&client);
    TH_CHECK(r && r->ok && items[0] && items[1]);
    pf_ack_t a[2];
    for (int i = 0; i < 2; i++) {
        a[i] = pf_ack_of_reply(items[i]);
        th_reply_free(&items[i]);
    }
    TH_CHECK(a[1].ok && a[1].duplicate && a[1].last_seq == 0);
    th_reply_free(&r);
    return a[0];
}

pf_ack_t pf_fact(pf_t *pf, pf_via_t via, const char *kind, int idx, const char *order_id,
                 const char *fact_id)
{
    const char *order = order_id ? order_id : pf->orders[idx];
    s_values_t v;
    s_values(order, idx == PF_OFFICER_REVOKES, &v);
    if (via == PF_VIA_TPCTL || via == PF_VIA_TPCTL_FILE)
        return s_fact_tpctl(pf, via, kind, order, fact_id, &v);
    Tp__Production__Certificate c[2] = {TP__PRODUCTION__CERTIFICATE__INIT,
                                        TP__PRODUCTION__CERTIFICATE__INIT};
    Tp__Production__Certificate *cp[2] = {&c[0], &c[1]};
    for (int i = 0; i < 2; i++) {
        c[i].serial = v.serial[i];
        c[i].kind = (char *) (i ? "authentication" : v.kind0);
        c[i].valid_from_us = v.from_us;
        c[i].valid_to_us = v.to_us;
        c[i].subject = "CN=Erika Mustermann";
    }
    Tp__Production__RecordCertificates certs = TP__PRODUCTION__RECORD_CERTIFICATES__INIT;
    Tp__Production__RecordCardProduced card = TP__PRODUCTION__RECORD_CARD_PRODUCED__INIT;
    Tp__Production__RecordCardShipped shipped = TP__PRODUCTION__RECORD_CARD_SHIPPED__INIT;
    Tp__Production__RecordPinLetterShipped pin = TP__PRODUCTION__RECORD_PIN_LETTER_SHIPPED__INIT;
    Tp__Production__RecordCardDelivered dlv = TP__PRODUCTION__RECORD_CARD_DELIVERED__INIT;
    Tp__Production__RecordPinLetterDelivered pdlv =
        TP__PRODUCTION__RECORD_PIN_LETTER_DELIVERED__INIT;
    const ProtobufCMessage *msg = NULL;
    const char *cmd = NULL;
    if (streq(kind, "certificates")) {
        certs = (Tp__Production__RecordCertificates) {certs.base, (char *) fact_id,
                                                       (char *) order, 2, cp};
        msg = &certs.base, cmd = "production.RecordCertificates";
    }
    else if (streq(kind, "card")) {
        card = (Tp__Production__RecordCardProduced) {card.base, (char *) fact_id, (char *) order,
                                                      v.card};
        msg = &card.base, cmd = "production.RecordCardProduced";
    }
    else if (streq(kind, "shipped")) {
        shipped = (Tp__Production__RecordCardShipped) {shipped.base, (char *) fact_id,
                                                        (char *) order, v.tracking};
        msg = &shipped.base, cmd = "production.RecordCardShipped";
    }
    else if (streq(kind, "pin-shipped")) {
        pin = (Tp__Production__RecordPinLetterShipped) {pin.base, (char *) fact_id,
                                                        (char *) order, v.pin_tracking};
        msg = &pin.base, cmd = "production.RecordPinLetterShipped";
    }
    else if (streq(kind, "delivered")) {
        dlv = (Tp__Production__RecordCardDelivered) {dlv.base, (char *) fact_id, (char *) order};
        msg = &dlv.base, cmd = "production.RecordCardDelivered";
    }
    else {
        pdlv = (Tp__Production__RecordPinLetterDelivered) {pdlv.base, (char *) fact_id,
                                                           (char *) order};
        msg = &pdlv.base, cmd = "production.RecordPinLetterDelivered";
    }
    Tp__Reply *r = NULL;
    if (via == PF_VIA_ROUTER)
        r = th_call_as(pf->th, "production", &fl_producer, NULL, cmd, msg, FL_CALL_MS);
    else if (via == PF_VIA_BATCH)
        return s_fact_batch(pf, cmd, msg, fact_id);
    else {
        /* the header claims nothing: the endpoint makes every caller a producer */
        evs_client_t *client =
            evs_client_new_keyed(pf->producer_ep, th_keys(pf->th), PF_LINE_KEY, "production");
        Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
        if (!client || evs_client_call(client, &h, cmd, msg, FL_CALL_MS, &r) != 0)
            fprintf(stderr, "prodflow: no answer at the producer endpoint %s\n", pf->producer_ep);
        evs_client_destroy(&client);
    }
    pf_ack_t a = pf_ack_of_reply(r);
    th_reply_free(&r);
    return a;
}

/* ------------------------------------------------------------------ products, waits */

Tp__Production__ProductView *pf_get_product(pf_t *pf, const th_actor_t *as, int idx,
                                            Tp__Reply **reply)
{
    Tp__Production__GetProduct q = TP__PRODUCTION__GET_PRODUCT__INIT;
    q.product_id = pf->products[idx];
    Tp__Reply *r =
        th_call_as(pf->th, "production", as, NULL, "production.GetProduct", &q.base, FL_CALL_MS);
    Tp__Production__ProductView *v =
        r && r->ok ? tp__production__product_view__unpack(NULL, r->body.len, r->body.data)
                   : NULL;
    if (reply)
        *reply = r;
    else
        th_reply_free(&r);
    return v;
}

Tp__Production__ProductView *pf_wait_product(pf_t *pf, int idx, const char *status,
                                             int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    char last[40] = "";
    do {
        Tp__Production__ProductView *v = pf_get_product(pf, &pf->owner.as, idx, NULL);
        if (v && streq(v->status, status))
            return v;
        snprintf(last, sizeof last, "%s", v ? v->status : "(none)");
        if (v)
            tp__production__product_view__free_unpacked(v, NULL);
        zclock_sleep(40);
    } while (zclock_mono() < deadline);
    fprintf(stderr, "prodflow: product %s is %s, not %s, after %d ms\n", pf->products[idx], last,
            status, timeout_ms);
    return NULL;
}

/* ------------------------------------------------------------------ orders */

/* Places order @p idx for the owner, identifies it by PostIdent, records the signed
 * application: released; waits for the production job. */
static bool s_release(pf_t *pf, int idx, const char *product, const char *shop)
{
    th_t *th = pf->th;
    fl_order_t o;
    fl_order_init(&o, product, shop, "postident");
    char rid[32], number[32] = "";
    snprintf(rid, sizeof rid, "pf-place-%d", idx);
    if (!fl_place(th, &pf->owner, rid, &o, pf->orders[idx], sizeof pf->orders[idx]))
        return false;
    char product_id[80];
    snprintf(product_id, sizeof product_id, "prd-%s", pf->orders[idx]);
    memcpy(pf->products[idx], product_id, sizeof product_id);
    s_values_t v;
    s_values(pf->orders[idx], false, &v);
    snprintf(pf->cards[idx], sizeof pf->cards[idx], "%s", v.card);
    pf_step(pf, "placed");
    if (!fl_wait_postident(th, pf->orders[idx], number, sizeof number, 15000))
        return false;
    snprintf(rid, sizeof rid, "pf-ident-%d", idx);
    TH_CHECK(fl_postident_ok(th, number, rid, "PI-TX-4711"));
    pf_step(pf, "identified");
    if (!fl_wait_step(th, pf->orders[idx], "identification", 15000))
        return false;
    Tp__Order__RecordApplicationReceived ar = TP__ORDER__RECORD_APPLICATION_RECEIVED__INIT;
    ar.order_id = pf->orders[idx];
    snprintf(rid, sizeof rid, "pf-app-%d", idx);
    Tp__Reply *r = th_call_as(th, "order", &fl_operator, rid, "order.RecordApplicationReceived",
                              &ar.base, FL_CALL_MS);
    Tp__Order__OrderView *ov = fl_view(r);
    TH_CHECK(ov && streq(ov->status, "in_produktion"));
    if (ov)
        tp__order__order_view__free_unpacked(ov, NULL);
    th_reply_free(&r);
    pf_step(pf, "released");
    /* the production service opens the job from the order service's event */
    Tp__Production__GetJob gj = TP__PRODUCTION__GET_JOB__INIT;
    gj.order_id = pf->orders[idx];
    int64_t deadline = zclock_mono() + 15000;
    bool opened = false;
    while (!opened && zclock_mono() < deadline) {
        r = th_call_as(th, "production", &fl_producer, NULL, "production.GetJob", &gj.base,
                       FL_CALL_MS);
        opened = r && r->ok;
        th_reply_free(&r);
        if (!opened)
            zclock_sleep(50);
    }
    if (!opened)
        fprintf(stderr, "prodflow: no production job for %s\n", pf->orders[idx]);
    return opened;
}

static bool s_appoint_officer(pf_t *pf)
{
    Tp__Account__AppointOfficer ap = TP__ACCOUNT__APPOINT_OFFICER__INIT;
    ap.account_id = pf->officer.account_id;
    ap.shop_id = FL_DEMO_SHOP;
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        Tp__Reply *r = th_call_as(pf->th, "account", &fl_operator, "pf-appoint",
                                  "account.AppointOfficer", &ap.base, FL_CALL_MS);
        bool ok = r && r->ok, retry = th_refused(r, "not_found", "shopId");
        if (!ok && !retry)
            th_reply_log("AppointOfficer", r);
        th_reply_free(&r);
        if (ok)
            return true;
        if (!retry)
            return false;
        zclock_sleep(100);
    }
    return false;
}

/* ------------------------------------------------------------------ the flow */

static const char *const s_kinds[6] = {"certificates", "card",      "shipped",
                                       "pin-shipped",  "delivered", "pin-delivered"};
/* the job's status after each fact */
static const char *const s_after[6] = {"certificates", "produced", "shipped",
                                       "shipped",      "shipped",  "delivered"};

void pf_fact_id(const pf_t *pf, int idx, int kind, char *out, size_t outsz)
{
    snprintf(out, outsz, "line1:%s:%s", pf->orders[idx], s_kinds[kind]);
}

/* Fact @p kind for each order; the sending way alternates: tpctl, the CURVE endpoint, a
 * batch over it, and a facts file through tpctl. */
static void s_facts(pf_t *pf, int kind)
{
    for (int idx = 0; idx < PF_N; idx++) {
        char fact[96];
        pf_fact_id(pf, idx, kind, fact, sizeof fact);
        static const pf_via_t ways[4] = {PF_VIA_TPCTL, PF_VIA_CURVE, PF_VIA_BATCH,
                                         PF_VIA_TPCTL_FILE};
        pf_via_t via = ways[(idx + kind) % 4];
        pf_ack_t a = pf_fact(pf, via, s_kinds[kind], idx, NULL, fact);
        if (!(a.ok && !a.duplicate && streq(a.job_status, s_after[kind])))
            fprintf(stderr, "fact %s via %s: ok %d duplicate %d status %s [%s %s: %s]\n", fact,
                    via == PF_VIA_TPCTL        ? "tpctl"
                    : via == PF_VIA_CURVE      ? "curve"
                    : via == PF_VIA_TPCTL_FILE ? "file"
                                               : "batch",
                    a.ok, a.duplicate, a.job_status,
                    a.code, a.field, a.message);
        TH_CHECK(a.ok && !a.duplicate && streq(a.job_status, s_after[kind]));
        TH_CHECK(a.last_seq > 0);
    }
}

/* The order as its owner sees it, waiting up to @p timeout_ms for @p status; once shipped
 * it shows the tracking number and the product. */
static void s_check_order(pf_t *pf, int idx, const char *status, int timeout_ms)
{
    bool there = fl_wait_status(pf->th, pf->orders[idx], status, timeout_ms);
    if (!there)
        fprintf(stderr, "prodflow: order %s is not %s after %d ms\n", pf->orders[idx], status,
                timeout_ms);
    TH_CHECK(there);
    Tp__Order__OrderView *v = fl_get_order(pf->th, &pf->owner.as, pf->orders[idx]);
    s_values_t val;
    s_values(pf->orders[idx], false, &val);
    TH_CHECK(v && streq(v->status, status));
    TH_CHECK(v && v->archived == streq(status, "fertig"));
    if (!streq(status, "in_produktion")) {
        TH_CHECK(v && streq(v->tracking_number, val.tracking));
        TH_CHECK(v && streq(v->card_product_id, pf->products[idx]));
        const Tp__Order__Step *prod = fl_step(v, "production");
        TH_CHECK(prod && prod->done && prod->started_at_us > 0);
    }
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
}

/* Revocations: by the owner, with the password, by the officer; each to Gesperrt. */
static void s_revoke(pf_t *pf, int idx)
{
    th_t *th = pf->th;
    Tp__Reply *r = NULL;
    char rid[32];
    snprintf(rid, sizeof rid, "pf-revoke-%d", idx);
    if (idx == PF_OWNER_REVOKES) {
        Tp__Revocation__RequestRevocation q = TP__REVOCATION__REQUEST_REVOCATION__INIT;
        q.product_id = pf->products[idx];
        q.reason = "card_lost";
        q.comment = "Karte im Zug verloren";
        r = th_call_as(th, "revocation", &pf->owner.as, rid, "revocation.RequestRevocation",
                       &q.base, FL_CALL_MS);
    }
    else if (idx == PF_PASSWORD_REVOKES) {
        /* the order number as a caller might type it: lower case */
        char number[64];
        snprintf(number, sizeof number, "%s", pf->orders[idx]);
        for (char *p = number; *p; p++)
            *p = (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        Tp__Revocation__RevokeWithPassword q = TP__REVOCATION__REVOKE_WITH_PASSWORD__INIT;
        q.number = number;
        q.password = "Sperr-Kennwort-42"; /* chosen at order time (fl_order_init) */
        q.reason = "suspected_misuse";
        r = th_call_as(th, "revocation", &fl_anonymous, rid, "revocation.RevokeWithPassword",
                       &q.base, FL_CALL_MS);
        Tp__Revocation__RevocationAnswer *a =
            r && r->ok ? tp__revocation__revocation_answer__unpack(NULL, r->body.len, r->body.data)
                       : NULL;
        TH_CHECK(a && a->accepted && strncmp(a->request_id, "rev-", 4) == 0);
        if (a)
            tp__revocation__revocation_answer__free_unpacked(a, NULL);
    }
    else {
        /* the revocation service learns the appointment from the account service */
        int64_t deadline = zclock_mono() + 10000;
        char n[16] = "";
        while (zclock_mono() < deadline) {
            char *s = th_summary(th, "revocation");
            th_json_str(s, "officers", n, sizeof n);
            free(s);
            if (streq(n, "1"))
                break;
            zclock_sleep(50);
        }
        TH_CHECK(streq(n, "1"));
        Tp__Revocation__RevokeAsOfficer q = TP__REVOCATION__REVOKE_AS_OFFICER__INIT;
        q.product_id = pf->products[idx];
        q.reason = "other";
        q.comment = "Mitarbeiter ausgeschieden";
        r = th_call_as(th, "revocation", &pf->officer.officer, rid, "revocation.RevokeAsOfficer",
                       &q.base, FL_CALL_MS);
    }
    if (!(r && r->ok))
        th_reply_log("revocation", r);
    TH_CHECK(r && r->ok && r->last_seq > 0);
    if (idx != PF_PASSWORD_REVOKES) {
        Tp__Revocation__RevocationView *v =
            r && r->ok ? tp__revocation__revocation_view__unpack(NULL, r->body.len, r->body.data)
                       : NULL;
        const char *how = idx == PF_OWNER_REVOKES ? "session" : "officer";
        const char *who = idx == PF_OWNER_REVOKES ? pf->owner.account_id : pf->officer.account_id;
        TH_CHECK(v && streq(v->decision, "accepted") && streq(v->authenticated_by, how));
        TH_CHECK(v && streq(v->requested_by, who) && streq(v->product_id, pf->products[idx]));
        TH_CHECK(v && v->n_serials == 2 && v->received_at_us > 0 && v->completed_at_us == 0);
        if (v)
            tp__revocation__revocation_view__free_unpacked(v, NULL);
    }
    th_reply_free(&r);
    if (pf->refusals && idx == PF_OWNER_REVOKES)
        pf_refuse_while_pending(pf);
    pf_step(pf, "revocation requested");
    /* Sperrung in Bearbeitung for about processing_delay_s, then Gesperrt; a restart in
     * between may take longer than the delay: then Gesperrt is all there is to see */
    Tp__Production__ProductView *v = NULL;
    int64_t deadline = zclock_mono() + 5000;
    while (zclock_mono() < deadline) {
        v = pf_get_product(pf, &pf->owner.as, idx, NULL);
        if (v && (streq(v->status, PRODUCTION_SPERRUNG) ||
                  (pf->crash && streq(v->status, PRODUCTION_GESPERRT))))
            break;
        if (v)
            tp__production__product_view__free_unpacked(v, NULL);
        v = NULL;
        zclock_sleep(20);
    }
    if (!v || streq(v->status, PRODUCTION_SPERRUNG))
        TH_CHECK(v && !v->active && streq(v->inactive_reason, "revoked"));
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
    v = pf_wait_product(pf, idx, PRODUCTION_GESPERRT, 15000);
    TH_CHECK(v && !v->active && streq(v->inactive_reason, "revoked") && v->revoked_at_us > 0);
    if (v)
        tp__production__product_view__free_unpacked(v, NULL);
    pf_step(pf, "revoked");
}

bool pf_run(pf_t *pf)
{
    th_t *th = pf->th;
    if (!fl_signup(th, "olga.owner@example.org", &pf->owner) ||
        !fl_redeem(th, &pf->owner, FL_DEMO_CODE))
        return false;
    pf_step(pf, "owner");
    if (!fl_signup(th, "otto.officer@example.org", &pf->officer) || !s_appoint_officer(pf))
        return false;
    pf_step(pf, "officer");
    if (!s_release(pf, PF_OWNER_REVOKES, "signature-card", NULL) ||
        !s_release(pf, PF_PASSWORD_REVOKES, "signature-card", NULL) ||
        !s_release(pf, PF_OFFICER_REVOKES, "seal-card", FL_DEMO_SHOP))
        return false;
    for (int idx = 0; idx < PF_N; idx++)
        s_check_order(pf, idx, "in_produktion", 5000);
    if (pf->refusals)
        pf_refuse_facts_early(pf);
    /* the producers' facts, one kind after the other for the three jobs */
    for (int kind = 0; kind < 6; kind++) {
        s_facts(pf, kind);
        if (pf->refusals && kind == 0)
            pf_refuse_facts_late(pf);
        pf_step(pf, s_kinds[kind]);
        if (streq(s_kinds[kind], "shipped"))
            for (int idx = 0; idx < PF_N; idx++) {
                s_check_order(pf, idx, "versendet", 10000);
                Tp__Production__ProductView *v = pf_get_product(pf, &pf->owner.as, idx, NULL);
                /* Nicht freigeschaltet until the delay has passed (a restart may take it) */
                TH_CHECK(v && (streq(v->status, PRODUCTION_NICHT_FREIGESCHALTET) ||
                               (pf->crash && streq(v->status, PRODUCTION_GUELTIG))));
                TH_CHECK(v && (v->active || streq(v->inactive_reason, "not_activated")));
                TH_CHECK(v && streq(v->card_number, pf->cards[idx]) && v->n_certificates == 2);
                TH_CHECK(v && v->shipped_at_us > 0 && (v->activated_at_us ||
                                                       v->activates_at_us ==
                                                           v->shipped_at_us + PF_ACTIVATION_US));
                if (v)
                    tp__production__product_view__free_unpacked(v, NULL);
            }
    }
    for (int idx = 0; idx < PF_N; idx++)
        s_check_order(pf, idx, "fertig", 10000);
    /* Gültig after activation_delay_s, by the timer */
    for (int idx = 0; idx < PF_N; idx++) {
        Tp__Production__ProductView *v = pf_wait_product(pf, idx, PRODUCTION_GUELTIG, 15000);
        TH_CHECK(v && v->active && !v->inactive_reason[0]);
        TH_CHECK(v && v->activated_at_us >= v->shipped_at_us + PF_ACTIVATION_US);
        if (v)
            tp__production__product_view__free_unpacked(v, NULL);
    }
    pf_step(pf, "activated");
    if (pf->refusals)
        pf_refuse_revocations(pf);
    for (int idx = 0; idx < PF_N; idx++) {
        s_revoke(pf, idx);
        if (pf->refusals && idx == PF_OWNER_REVOKES)
            pf_refuse_double(pf);
    }
    pf_check_list(pf);
    return true;
}
