/* data_rights.c: a customer's rights over its data, over real HTTP against the five daemons,
 * tpctl and a real SMTP server. Two customers with orders (one archived), cards and
 * revocations: "download my data" (GET /api/v1/me/export) gives A's account, orders with
 * the applicant's data, products and revocation requests, and nothing of B's (B's address,
 * account, names, document number, orders, card and serial are searched for in A's file);
 * no session, no file. Then A asks for deletion: the open request (202), the same one when
 * asked again, shown by GET /api/v1/me and the export, listed by `tpctl account
 * deletion-requests` (A, not B), confirmed by one mail; the operator's `tpctl account
 * delete` closes it and the list is empty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctl.h"
#include "flow.h"
#include "gw_client.h"
#include "production.pb-c.h"

#define PASSWORD "correct horse battery staple"
#define A_MAIL   "anna.auskunft@example.org"
#define B_MAIL   "bruno.zweitkunde@example.net"

/* One customer: its browser, account and what it ordered. */
typedef struct {
    gwc_t *c;
    const char *email;
    const char *given, *family, *doc, *street; /* its applicant */
    const char *serial;                        /* its card's certificate */
    char account_id[64];
    char orders[2][32]; /* [0] shipped, [1] open */
    char product[48];   /* prd-<orders[0]> */
    bool delivered;     /* orders[0] is "fertig": archived */
} s_customer_t;

/* An order body whose applicant is @p c's. */
static char *s_order_body(const s_customer_t *c)
{
    char *text = gwc_order_json("signature-card", NULL, "postident");
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_t *ap = json_object_get(o, "applicant");
    json_object_set_new(ap, "givenNames", json_string(c->given));
    json_object_set_new(ap, "familyName", json_string(c->family));
    json_object_set_new(ap, "documentNumber", json_string(c->doc));
    json_object_set_new(json_object_get(ap, "address"), "street", json_string(c->street));
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static bool s_place(s_customer_t *c, const char *body, char *id, size_t idsz)
{
    gwc_resp_t r;
    gwc_req(c->c, "POST", "/api/v1/orders", body, NULL, &r);
    bool ok = gwc_is(&r, 201, NULL, NULL) && gwc_str(&r, "orderId")[0];
    snprintf(id, idsz, "%s", gwc_str(&r, "orderId"));
    gwc_resp_free(&r);
    return ok;
}

/* A production line's fact: @p command with @p msg, which must be taken. */
static bool s_fact(th_t *th, const char *command, const ProtobufCMessage *msg)
{
    Tp__Reply *r = th_call_as(th, "production", &fl_producer, NULL, command, msg, FL_CALL_MS);
    bool ok = r && r->ok;
    if (!ok)
        th_reply_log(command, r);
    th_reply_free(&r);
    return ok;
}

/* The card and the PIN letter of @p order delivered: the order is "fertig", archived. */
static bool s_deliver(th_t *th, const char *order)
{
    char f1[64], f2[64];
    snprintf(f1, sizeof f1, "card-delivered-%s", order);
    snprintf(f2, sizeof f2, "pin-delivered-%s", order);
    Tp__Production__RecordPinLetterShipped ps = TP__PRODUCTION__RECORD_PIN_LETTER_SHIPPED__INIT;
    char f0[64];
    snprintf(f0, sizeof f0, "pin-shipped-%s", order);
    ps.fact_id = f0;
    ps.order_id = (char *) order;
    ps.tracking_number = "RR000000001DE";
    Tp__Production__RecordCardDelivered cd = TP__PRODUCTION__RECORD_CARD_DELIVERED__INIT;
    cd.fact_id = f1;
    cd.order_id = (char *) order;
    Tp__Production__RecordPinLetterDelivered pd = TP__PRODUCTION__RECORD_PIN_LETTER_DELIVERED__INIT;
    pd.fact_id = f2;
    pd.order_id = (char *) order;
    return s_fact(th, "production.RecordPinLetterShipped", &ps.base) &&
           s_fact(th, "production.RecordCardDelivered", &cd.base) &&
           s_fact(th, "production.RecordPinLetterDelivered", &pd.base) &&
           fl_wait_status(th, order, "fertig", 15000);
}

/* The owner revokes its card in the portal (once the revocation service knows it). */
static bool s_revoke(s_customer_t *c)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/products/%s/revocation", c->product);
    for (int i = 0; i < 50; i++) {
        gwc_resp_t r;
        gwc_req(c->c, "POST", path, "{\"reason\":\"card_lost\"}", NULL, &r);
        long status = r.status;
        if (status != 202 && (status != 404 || i == 49))
            gwc_log("revoke", &r);
        gwc_resp_free(&r);
        if (status != 404)
            return status == 202;
        zclock_sleep(200);
    }
    return false;
}

/* Customer @p c (its e-mail, applicant and serial filled in) signs up and orders twice;
 * the first order is shipped. */
static bool s_customer(th_t *th, const char *base, s_customer_t *c)
{
    c->c = gwc_new(base);
    if (!gwc_signup(th, c->c, PASSWORD, c->email))
        return false;
    gwc_resp_t r;
    gwc_req(c->c, "GET", "/api/v1/me", NULL, NULL, &r);
    snprintf(c->account_id, sizeof c->account_id, "%s", gwc_str(&r, "accountId"));
    gwc_resp_free(&r);
    char *body = s_order_body(c);
    bool ok = body && c->account_id[0] && s_place(c, body, c->orders[0], sizeof c->orders[0]) &&
              s_place(c, body, c->orders[1], sizeof c->orders[1]);
    free(body);
    snprintf(c->product, sizeof c->product, "prd-%s", c->orders[0]);
    return ok && gwc_ship(th, c->c, c->orders[0], c->serial);
}

/* The members of JSON array @p arr whose @p member is @p value. */
static size_t s_count(json_t *arr, const char *member, const char *value)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, member));
        n += s && strcmp(s, value) == 0;
    }
    return n;
}

/* Today's date in UTC, the way the file is named. */
static void s_file_name(time_t t, char *out, size_t outsz)
{
    struct tm tm;
    char day[16];
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(out, outsz, "attachment; filename=\"trustportal-data-%s.json\"", day);
}

/* GET /api/v1/me/export as @p c: the document (caller decrefs), its text into @p text
 * (caller frees), or NULL. */
static json_t *s_export(s_customer_t *c, char **text)
{
    time_t before = time(NULL);
    gwc_resp_t r;
    gwc_req(c->c, "GET", "/api/v1/me/export", NULL, NULL, &r);
    time_t after = time(NULL);
    char disp[200] = "", ctype[100] = "", a[100], b[100];
    gwc_header(&r, "Content-Disposition", disp, sizeof disp);
    gwc_header(&r, "Content-Type", ctype, sizeof ctype);
    s_file_name(before, a, sizeof a);
    s_file_name(after, b, sizeof b);
    bool ok = gwc_is(&r, 200, NULL, NULL) && (!strcmp(disp, a) || !strcmp(disp, b)) &&
              !strncmp(ctype, "application/json", 16) && r.json;
    if (!ok)
        fprintf(stderr, "export of %s: Content-Disposition \"%s\", Content-Type \"%s\"\n", c->email,
                disp, ctype);
    TH_CHECK(ok);
    json_t *doc = ok ? json_incref(r.json) : NULL;
    *text = ok ? strdup(r.body) : NULL;
    gwc_resp_free(&r);
    return doc;
}

/* A's file: all of A's, none of B's. */
static void s_check_export(s_customer_t *a, s_customer_t *b)
{
    char *text = NULL;
    json_t *doc = s_export(a, &text);
    if (!doc)
        return;
    const char *at = json_string_value(json_object_get(doc, "generatedAt"));
    TH_CHECK(strcmp(json_string_value(json_object_get(doc, "format")), "trustportal-export/1") ==
                 0 &&
             at && strlen(at) == 20 && at[10] == 'T' && at[19] == 'Z');
    json_t *acc = json_object_get(doc, "account");
    TH_CHECK(strcmp(json_string_value(json_object_get(acc, "email")), a->email) == 0 &&
             strcmp(json_string_value(json_object_get(acc, "accountId")), a->account_id) == 0 &&
             strcmp(json_string_value(json_object_get(acc, "status")), "active") == 0 &&
             strcmp(json_string_value(json_object_get(acc, "language")), "en") == 0 &&
             strcmp(json_string_value(json_object_get(acc, "statusMails")), "on") == 0 &&
             strcmp(json_string_value(json_object_get(acc, "registeredAtUs")), "0") != 0 &&
             json_is_null(json_object_get(acc, "deletionRequest")));
    /* both orders, the archived one too, with the applicant's data and the documents by
     * kind (the PDFs are not in it) */
    json_t *orders = json_object_get(doc, "orders");
    TH_CHECK(json_array_size(orders) == 2 && s_count(orders, "orderId", a->orders[0]) == 1 &&
             s_count(orders, "orderId", a->orders[1]) == 1 &&
             s_count(orders, "accountId", a->account_id) == 2);
    size_t i;
    json_t *o;
    json_array_foreach(orders, i, o)
    {
        bool first = strcmp(json_string_value(json_object_get(o, "orderId")), a->orders[0]) == 0;
        json_t *ap = json_object_get(o, "applicant");
        TH_CHECK(
            strcmp(json_string_value(json_object_get(ap, "givenNames")), a->given) == 0 &&
            strcmp(json_string_value(json_object_get(ap, "familyName")), a->family) == 0 &&
            strcmp(json_string_value(json_object_get(ap, "documentNumber")), a->doc) == 0 &&
            strcmp(json_string_value(json_object_get(json_object_get(ap, "address"), "street")),
                   a->street) == 0 &&
            json_array_size(json_object_get(o, "steps")) == 6 &&
            s_count(json_object_get(o, "documents"), "kind", "application") == 1);
        TH_CHECK(json_is_true(json_object_get(o, "archived")) == (first && a->delivered));
    }
    TH_CHECK(!strstr(text, "JVBER")); /* base64 of "%PDF" */
    json_t *products = json_object_get(doc, "products");
    TH_CHECK(json_array_size(products) == 1 && s_count(products, "productId", a->product) == 1 &&
             strstr(text, a->serial));
    json_t *revs = json_object_get(doc, "revocationRequests");
    TH_CHECK(json_array_size(revs) == 1 && s_count(revs, "productId", a->product) == 1 &&
             s_count(revs, "authenticatedBy", "session") == 1 &&
             s_count(revs, "requestedBy", a->account_id) == 1);
    /* nothing of the other customer, anywhere in the file */
    const char *other[] = {b->email,   b->account_id, b->orders[0], b->orders[1],
                           b->product, b->serial,     b->given,     b->family,
                           b->doc,     b->street,     NULL};
    for (i = 0; other[i]; i++) {
        bool leak = strstr(text, other[i]) != NULL;
        if (leak)
            fprintf(stderr, "%s's export holds \"%s\" of %s\n", a->email, other[i], b->email);
        TH_CHECK(!leak);
    }
    free(text);
    json_decref(doc);
}

/* `tpctl account deletion-requests --json`: the account ids listed (caller decrefs). */
static json_t *s_listed(th_t *th)
{
    json_t *j = NULL;
    int rc = ctl_run(th, &j, NULL, "account deletion-requests --json");
    TH_CHECK(rc == 0 && json_is_true(json_object_get(j, "ok")));
    json_t *reqs = json_object_get(json_object_get(j, "reply"), "requests");
    json_t *ids = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(reqs, i, v) json_array_append(ids, json_object_get(v, "accountId"));
    json_decref(j);
    return ids;
}

static bool s_has(json_t *ids, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) if (strcmp(json_string_value(v), id) == 0) return true;
    return false;
}

static void s_check_deletion(th_t *th, s_customer_t *a, s_customer_t *b, gwc_t *anon)
{
    gwc_resp_t r;
    gwc_req(anon, "POST", "/api/v1/me/deletion-request", "{}", NULL, &r);
    TH_CHECK(gwc_is(&r, 401, "unauthenticated", NULL));
    gwc_resp_free(&r);
    gwc_req(a->c, "POST", "/api/v1/me/deletion-request",
            "{\"reason\":\"I do not need the account any more.\\nThank you!\"}", NULL, &r);
    char at[32];
    snprintf(at, sizeof at, "%s", gwc_str(&r, "requestedAtUs"));
    TH_CHECK(gwc_is(&r, 202, NULL, NULL) && strcmp(gwc_str(&r, "accountId"), a->account_id) == 0 &&
             strcmp(gwc_str(&r, "email"), a->email) == 0 && strcmp(at, "0") != 0 &&
             strstr(gwc_str(&r, "reason"), "any more.\nThank you!"));
    gwc_resp_free(&r);
    /* again: the open request, as it was */
    gwc_req(a->c, "POST", "/api/v1/me/deletion-request", "{\"reason\":\"changed my mind\"}", NULL,
            &r);
    TH_CHECK(gwc_is(&r, 202, NULL, NULL) && strcmp(gwc_str(&r, "requestedAtUs"), at) == 0 &&
             strstr(gwc_str(&r, "reason"), "any more."));
    gwc_resp_free(&r);
    gwc_req(a->c, "GET", "/api/v1/me", NULL, NULL, &r);
    json_t *dr = json_object_get(r.json, "deletionRequest");
    TH_CHECK(gwc_is(&r, 200, NULL, NULL) &&
             strcmp(json_string_value(json_object_get(dr, "requestedAtUs")), at) == 0);
    gwc_resp_free(&r);
    /* B: a reason too long is refused, and B asked nothing */
    char body[1200] = "{\"reason\":\"";
    for (int i = 0; i < 501; i++)
        strcat(body, "x");
    strcat(body, "\"}");
    gwc_req(b->c, "POST", "/api/v1/me/deletion-request", body, NULL, &r);
    TH_CHECK(gwc_is(&r, 400, "invalid", "reason"));
    gwc_resp_free(&r);
    TH_CHECK(fl_count_events(th, "account", "AccountDeletionRequested", NULL) == 1);
    /* the export shows it */
    char *text = NULL;
    json_t *doc = s_export(a, &text);
    dr = json_object_get(json_object_get(doc, "account"), "deletionRequest");
    TH_CHECK(doc && strcmp(json_string_value(json_object_get(dr, "requestedAtUs")), at) == 0);
    json_decref(doc);
    free(text);
    /* the back office: A and not B, in the table too */
    json_t *ids = s_listed(th);
    TH_CHECK(json_array_size(ids) == 1 && s_has(ids, a->account_id) && !s_has(ids, b->account_id));
    json_decref(ids);
    char *table = NULL;
    int rc = th_run(&table, "%s -c '%s' account deletion-requests", th_env("TPCTL"), th_config(th));
    TH_CHECK(rc == 0 && table && strstr(table, "REQUESTED (UTC)") && strstr(table, a->account_id) &&
             strstr(table, a->email) &&
             strstr(table, "I do not need the account any more. Thank") &&
             !strstr(table, b->account_id) && !strstr(table, b->email));
    if (table && th_failed)
        fprintf(stderr, "tpctl account deletion-requests:\n%s", table);
    free(table);
    /* the mail, once */
    char *mail =
        th_mail_wait(th, NULL, a->email, "our customer service carries out the deletion", 15000);
    TH_CHECK(mail && strstr(mail, "Your request to delete your account") &&
             strstr(mail, "Thank you!") && strstr(mail, "does not revoke any card"));
    free(mail);
    zclock_sleep(500);
    TH_CHECK(th_mail_count(th, NULL, a->email, "carries out the deletion") == 1);
    TH_CHECK(th_mail_count(th, NULL, b->email, "carries out the deletion") == 0);
    /* the operator deletes the account: the request is closed, the sessions end */
    json_t *j = NULL;
    rc = ctl_run(th, &j, NULL, "account delete %s --reason 'asked for in the portal'",
                 a->account_id);
    TH_CHECK(rc == 0 &&
             strcmp(json_string_value(json_object_get(json_object_get(j, "reply"), "status")),
                    "deleted") == 0);
    json_decref(j);
    ids = s_listed(th);
    TH_CHECK(json_array_size(ids) == 0);
    json_decref(ids);
    rc = th_run(&table, "%s -c '%s' account deletion-requests", th_env("TPCTL"), th_config(th));
    TH_CHECK(rc == 0 && table && strstr(table, "no open deletion requests"));
    free(table);
    gwc_req(a->c, "GET", "/api/v1/me/export", NULL, NULL, &r);
    TH_CHECK(gwc_is(&r, 401, "unauthenticated", NULL));
    gwc_resp_free(&r);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    th_t *th = th_new("datarights");
    int port = th_smtp_start(th);
    fl_configure(th, port);
    th_set(th, "revocation/processing_delay_s", "1");
    const char *prd = th_env("TP_PRODUCTION"), *rev = th_env("TP_REVOCATION");
    char base[64];
    bool up = port > 0 && th_start_services(th, 15000) &&
              th_start(th, prd, "production", 15000) > 0 &&
              th_start(th, rev, "revocation", 15000) > 0 &&
              gwc_start_gateway(th, "account,order,identification,production,revocation", base,
                                sizeof base);
    if (!up) {
        fprintf(stderr, "data_rights: the system did not come up\n");
        th_destroy(&th);
        return 1;
    }
    gwc_t *anon = gwc_new(base);
    /* {e-mail, given names, family name, document, street, serial}: nothing shared */
    s_customer_t a = {
        .email = A_MAIL, "Anna", "Auskunft", "A11111111", "Hauptstraße 1", "a1a1a1a1a1"};
    s_customer_t b = {
        .email = B_MAIL, "Bruno", "Zweitkunde", "B22222222", "Nebenweg 2", "b2b2b2b2b2"};
    bool ready = s_customer(th, base, &a) && s_customer(th, base, &b) &&
                 (a.delivered = s_deliver(th, a.orders[0])) && s_revoke(&a) && s_revoke(&b);
    TH_CHECK(ready);
    if (ready) {
        gwc_resp_t r;
        gwc_req(anon, "GET", "/api/v1/me/export", NULL, NULL, &r);
        TH_CHECK(gwc_is(&r, 401, "unauthenticated", NULL));
        gwc_resp_free(&r);
        s_check_export(&a, &b);
        s_check_export(&b, &a);
        s_check_deletion(th, &a, &b, anon);
        th_check_replay(th, "account");
    }
    gwc_destroy(&anon);
    gwc_destroy(&a.c);
    gwc_destroy(&b.c);
    th_destroy(&th);
    fprintf(stderr, "data_rights: %d requests; %d checks failed\n", gwc_requests, th_failed);
    return th_failed ? 1 : 0;
}
