/* flow.c: a customer's way through account, order and identification, for the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "flow.h"
#include "logcheck.h"

const th_actor_t fl_operator = {"operator", NULL, NULL};
const th_actor_t fl_producer = {"producer", NULL, NULL};
const th_actor_t fl_ident = {"ident", NULL, NULL};
const th_actor_t fl_anonymous = {"", NULL, "192.0.2.10"};

/* the outbox folder when mails go there, "" for the SMTP server's Maildir */
static char s_outbox[512];

void fl_configure(th_t *th, int smtp_port)
{
    th_set(th, "tick_ms", "200");
    if (smtp_port >= 0) {
        char url[64];
        snprintf(url, sizeof url, "smtp://127.0.0.1:%d", smtp_port);
        th_set(th, "account/smtp_url", url);
        th_set(th, "account/smtp_tls", "none");
        th_set(th, "account/mail_from", "portal@trustportal.test");
        s_outbox[0] = '\0';
    }
    else {
        snprintf(s_outbox, sizeof s_outbox, "%s/outbox", th_dir(th));
        th_set(th, "account/outbox", s_outbox);
    }
}

bool fl_mail_token(th_t *th, const char *email, char *token, size_t tokensz, int timeout_ms)
{
    char *mail = th_mail_wait(th, s_outbox[0] ? s_outbox : NULL, email, "token=", timeout_ms);
    bool ok = mail && th_token_after(mail, "token=", token, tokensz);
    if (!ok)
        fprintf(stderr, "flow: no mail with a token for %s\n", email);
    free(mail);
    return ok;
}

bool fl_signup(th_t *th, const char *email, fl_customer_t *c)
{
    return fl_signup_in(th, email, "en", c);
}

bool fl_signup_in(th_t *th, const char *email, const char *language, fl_customer_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->email, sizeof c->email, "%s", email);
    snprintf(c->password, sizeof c->password, "correct horse battery %s", "staple");
    Tp__Account__Register reg = TP__ACCOUNT__REGISTER__INIT;
    reg.email = c->email;
    reg.password = c->password;
    reg.language = (char *) language;
    Tp__Reply *r =
        th_call_as(th, "account", &fl_anonymous, NULL, "account.Register", &reg.base, FL_CALL_MS);
    bool ok = r && r->ok;
    if (!ok)
        th_reply_log("Register", r);
    th_reply_free(&r);
    char token[128];
    if (!ok || !fl_mail_token(th, email, token, sizeof token, 15000))
        return false;
    Tp__Account__Confirm conf = TP__ACCOUNT__CONFIRM__INIT;
    conf.token = token;
    conf.password = c->password;   /* the one chosen with this registration */
    r = th_call_as(th, "account", &fl_anonymous, NULL, "account.Confirm", &conf.base, FL_CALL_MS);
    ok = r && r->ok;
    if (!ok)
        th_reply_log("Confirm", r);
    th_reply_free(&r);
    if (!ok)
        return false;
    Tp__Account__Login login = TP__ACCOUNT__LOGIN__INIT;
    login.email = c->email;
    login.password = c->password;
    r = th_call_as(th, "account", &fl_anonymous, NULL, "account.Login", &login.base, FL_CALL_MS);
    Tp__Account__SessionInfo *si =
        r && r->ok ? tp__account__session_info__unpack(NULL, r->body.len, r->body.data) : NULL;
    ok = si && si->session_token[0] && si->account_id[0] && !si->refusal[0];
    if (ok) {
        snprintf(c->account_id, sizeof c->account_id, "%s", si->account_id);
        snprintf(c->session, sizeof c->session, "%s", si->session_token);
    }
    else
        th_reply_log("Login", r);
    if (si)
        tp__account__session_info__free_unpacked(si, NULL);
    th_reply_free(&r);
    c->as = (th_actor_t){"customer", c->account_id, "192.0.2.10"};
    c->officer = (th_actor_t){"officer", c->account_id, "192.0.2.10"};
    return ok;
}

bool fl_redeem(th_t *th, const fl_customer_t *c, const char *code)
{
    Tp__Account__RedeemShopCode cmd = TP__ACCOUNT__REDEEM_SHOP_CODE__INIT;
    cmd.code = (char *) code;
    int64_t deadline = zclock_mono() + 10000;
    while (zclock_mono() < deadline) {
        Tp__Reply *r = th_call_as(th, "account", &c->as, NULL, "account.RedeemShopCode", &cmd.base,
                                  FL_CALL_MS);
        Tp__Account__ShopRedeemed *sr =
            r && r->ok ? tp__account__shop_redeemed__unpack(NULL, r->body.len, r->body.data) : NULL;
        bool done = sr && sr->shop_id[0];
        bool retry = sr && strcmp(sr->refusal, "unknown_shop_code") == 0;
        if (!done && !retry)
            th_reply_log("RedeemShopCode", r);
        if (sr)
            tp__account__shop_redeemed__free_unpacked(sr, NULL);
        th_reply_free(&r);
        if (done)
            return true;
        if (!retry)
            return false;
        zclock_sleep(200);
    }
    fprintf(stderr, "flow: %s still unknown to the account service after 10 s\n", code);
    return false;
}

void fl_order_init(fl_order_t *o, const char *product, const char *shop, const char *method)
{
    memset(o, 0, sizeof *o);
    tp__order__place_order__init(&o->cmd);
    tp__order__applicant__init(&o->applicant);
    tp__order__address__init(&o->home);
    tp__order__address__init(&o->seat);
    tp__order__organization__init(&o->org);
    tp__order__representative__init(&o->rep);
    /* an id card valid for five more years, whenever the test runs */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(o->expiry, sizeof o->expiry, "%04d-06-30", tm.tm_year + 1900 + 5);
    o->home = (Tp__Order__Address){o->home.base, "Heidestraße 17", "51147", "Köln", "DE"};
    o->applicant.given_names = "Erika";
    o->applicant.family_name = "Mustermann";
    o->applicant.birth_date = "1984-08-12";
    o->applicant.birth_place = "Berlin";
    o->applicant.nationality = "DE";
    o->applicant.address = &o->home;
    o->applicant.email = "erika.mustermann@example.de";
    o->applicant.phone = "+49 30 1234567";
    o->applicant.document_type = "id-card";
    o->applicant.document_number = "L01X00T47";
    o->applicant.document_authority = "Stadt Köln";
    o->applicant.document_expiry = o->expiry;
    o->cmd.product_id = (char *) product;
    o->cmd.shop_id = (char *) (shop ? shop : "");
    o->cmd.applicant = &o->applicant;
    o->cmd.ident_method = (char *) method;
    o->cmd.revocation_password = "Sperr-Kennwort-42";
    o->cmd.language = "de";
    if (strcmp(product, "seal-card") == 0) {
        o->seat =
            (Tp__Order__Address){o->seat.base, "Friedrichstraße 100", "10117", "Berlin", "DE"};
        o->rep.given_names = "Max";
        o->rep.family_name = "Mustermann";
        o->rep.role = "Geschäftsführer";
        o->reps[0] = &o->rep;
        o->org.name = "Musterfirma GmbH";
        o->org.register_court = "Amtsgericht Charlottenburg";
        o->org.register_number = "HRB 12345";
        o->org.address = &o->seat;
        o->org.representatives = o->reps;
        o->org.n_representatives = 1;
        o->cmd.organization = &o->org;
    }
}

Tp__Order__OrderView *fl_view(const Tp__Reply *r)
{
    return r && r->ok ? tp__order__order_view__unpack(NULL, r->body.len, r->body.data) : NULL;
}

bool fl_place(th_t *th, const fl_customer_t *c, const char *request_id, fl_order_t *o,
              char *order_id, size_t idsz)
{
    Tp__Reply *r =
        th_call_as(th, "order", &c->as, request_id, "order.PlaceOrder", &o->cmd.base, FL_CALL_MS);
    Tp__Order__OrderView *v = fl_view(r);
    bool ok = v && v->order_id[0] && strcmp(v->status, "offen") == 0;
    if (ok)
        snprintf(order_id, idsz, "%s", v->order_id);
    else
        th_reply_log("PlaceOrder", r);
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    th_reply_free(&r);
    return ok;
}

Tp__Order__OrderView *fl_get_order(th_t *th, const th_actor_t *as, const char *order_id)
{
    bool op = as->role && strcmp(as->role, "operator") == 0;
    Tp__Order__GetOrder q = TP__ORDER__GET_ORDER__INIT; /* FindOrder has the same field */
    q.order_id = (char *) order_id;
    Tp__Reply *r = th_call_as(th, "order", as, NULL, op ? "order.FindOrder" : "order.GetOrder",
                              &q.base, FL_CALL_MS);
    Tp__Order__OrderView *v = fl_view(r);
    th_reply_free(&r);
    return v;
}

const Tp__Order__Step *fl_step(const Tp__Order__OrderView *v, const char *name)
{
    for (size_t i = 0; v && i < v->n_steps; i++)
        if (strcmp(v->steps[i]->name, name) == 0)
            return v->steps[i];
    return NULL;
}

/* Polls the order (as operator) until @p pred holds. */
static bool s_wait(th_t *th, const char *order_id, int timeout_ms,
                   bool (*pred)(const Tp__Order__OrderView *, const void *), const void *arg,
                   char *copy, size_t copysz)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    do {
        Tp__Order__OrderView *v = fl_get_order(th, &fl_operator, order_id);
        bool ok = v && pred(v, arg);
        if (ok && copy)
            snprintf(copy, copysz, "%s", v->postident_number);
        if (v)
            tp__order__order_view__free_unpacked(v, NULL);
        if (ok)
            return true;
        zclock_sleep(100);
    } while (zclock_mono() < deadline);
    return false;
}

static bool s_has_number(const Tp__Order__OrderView *v, const void *arg)
{
    return v->postident_number[0] != '\0';
}

static bool s_step_done(const Tp__Order__OrderView *v, const void *arg)
{
    const Tp__Order__Step *s = fl_step(v, arg);
    return s && s->done;
}

static bool s_status_is(const Tp__Order__OrderView *v, const void *arg)
{
    return strcmp(v->status, arg) == 0;
}

bool fl_wait_postident(th_t *th, const char *order_id, char *number, size_t numsz, int timeout_ms)
{
    return s_wait(th, order_id, timeout_ms, s_has_number, NULL, number, numsz);
}

bool fl_postident_ok(th_t *th, const char *number, const char *request_id, const char *evidence)
{
    Tp__Identification__RecordPostIdentResult pr =
        TP__IDENTIFICATION__RECORD_POST_IDENT_RESULT__INIT;
    pr.postident_number = (char *) number;
    pr.succeeded = true;
    pr.evidence_ref = (char *) evidence;
    Tp__Reply *r = th_call_as(th, "identification", &fl_ident, request_id,
                              "identification.RecordPostIdentResult", &pr.base, FL_CALL_MS);
    bool ok = r && r->ok;
    if (!ok)
        th_reply_log("RecordPostIdentResult", r);
    th_reply_free(&r);
    return ok;
}

bool fl_wait_step(th_t *th, const char *order_id, const char *step, int timeout_ms)
{
    return s_wait(th, order_id, timeout_ms, s_step_done, step, NULL, 0);
}

bool fl_wait_status(th_t *th, const char *order_id, const char *status, int timeout_ms)
{
    return s_wait(th, order_id, timeout_ms, s_status_is, status, NULL, 0);
}

typedef struct {
    const char *type, *needle;
    int n;
} s_count_t;

static void s_count(const Tp__Envelope *env, void *arg)
{
    s_count_t *c = arg;
    if (strcmp(env->event_type, c->type) != 0)
        return;
    if (!c->needle || memmem(env->payload.data, env->payload.len, c->needle, strlen(c->needle)))
        c->n++;
}

int fl_count_events(th_t *th, const char *service, const char *type, const char *needle)
{
    char dir[512];
    th_data_dir(th, service, dir, sizeof dir);
    s_count_t c = {type, needle, 0};
    return lc_each(dir, s_count, &c) < 0 ? -1 : c.n;
}
