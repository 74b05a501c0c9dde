/* tpctl_ops.c: the back-office commands of tpctl (shop, officer, account, order, ident)
 * against the real order, identification and account daemons: replies, refusals, exit
 * codes, usage errors, idempotency keys. */
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"

static th_t *s_th;
static const char *s_tpctl;

/* Runs `tpctl -c CONFIG <args>`; its stdout parsed into *json (NULL when it is not JSON;
 * caller decrefs). Returns the exit code. */
static int s_ops(json_t **json, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_ops(json_t **json, const char *fmt, ...)
{
    char args[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *out = NULL;
    int rc = th_run(&out, "%s -c '%s' %s 2>/dev/null", s_tpctl, th_config(s_th), args);
    if (json)
        *json = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return rc;
}

/* Runs a command that must be refused as bad usage: exit 2, and stderr holds @p expect. */
static bool s_usage(const char *expect, const char *args)
{
    char *err = NULL;
    int rc = th_run(&err, "%s -c '%s' %s 2>&1 >/dev/null", s_tpctl, th_config(s_th), args);
    bool ok = rc == 2 && err && strstr(err, expect);
    if (!ok)
        fprintf(stderr, "tpctl %s: exit %d, stderr: %s\n", args, rc, err ? err : "(none)");
    free(err);
    return ok;
}

/* True when @p j is a refusal with an error of @p code on @p field (any field if NULL). */
static bool s_refused(json_t *j, const char *code, const char *field)
{
    if (!j || !json_is_false(json_object_get(j, "ok")))
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "errors"), i, e)
    {
        const char *c = json_string_value(json_object_get(e, "code"));
        const char *f = json_string_value(json_object_get(e, "field"));
        if (c && streq(c, code) && (!field || (f && streq(f, field))))
            return true;
    }
    return false;
}

/* The string at "reply.<key>" of @p j, or "" (never NULL). */
static const char *s_str(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(j, "reply"), key));
    return s ? s : "";
}

static json_t *s_get(json_t *j, const char *key)
{
    return json_object_get(json_object_get(j, "reply"), key);
}

/* True when the JSON array @p arr holds the string @p s. */
static bool s_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_string_value(v) && streq(json_string_value(v), s))
            return true;
    }
    return false;
}

/* The shop of @p id in a ListShops reply, or NULL. */
static json_t *s_shop(json_t *list, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(s_get(list, "shops"), i, v)
    {
        const char *sid = json_string_value(json_object_get(v, "shopId"));
        if (sid && streq(sid, id))
            return v;
    }
    return NULL;
}

/* Repeats `tpctl <args>` for up to 10 s until it exits 0 and, when @p key is not NULL,
 * reply.<key> equals @p value: for what arrives through a subscription. */
static int s_until(json_t **json, const char *key, const char *value, const char *args)
{
    int rc = -1;
    for (int i = 0; i < 100; i++) {
        rc = s_ops(json, "%s", args);
        if (rc == 0 && (!key || streq(s_str(*json, key), value)))
            return 0;
        json_decref(*json);
        *json = NULL;
        zclock_sleep(100);
    }
    return rc == 0 ? -1 : rc;
}

static const char *s_order_json =
    "'{\"productId\":\"signature-card\",\"identMethod\":\"%s\",\"language\":\"de\","
    "\"revocationPassword\":\"geheim-1234\",\"applicant\":{\"givenNames\":\"Jürgen\","
    "\"familyName\":\"Müller\",\"birthDate\":\"1980-05-17\",\"birthPlace\":\"Köln\","
    "\"nationality\":\"DE\",\"address\":{\"street\":\"Hauptstraße 1\",\"postalCode\":"
    "\"10115\",\"city\":\"Berlin\",\"country\":\"DE\"},\"email\":\"j@example.de\","
    "\"phone\":\"+49 30 1234567\",\"documentType\":\"id-card\",\"documentNumber\":"
    "\"L01X00T47\",\"documentAuthority\":\"Bürgeramt\",\"documentExpiry\":\"2030-01-31\"}}'";

/* Places an order for @p account with @p method; its id into @p id. */
static bool s_place(const char *account, const char *method, char *id, size_t idsz)
{
    char body[1200];
    snprintf(body, sizeof body, s_order_json, method);
    json_t *j = NULL;
    int rc = s_ops(&j, "call order PlaceOrder %s --role customer --as %s --key gateway", body, account);
    snprintf(id, idsz, "%s", s_str(j, "orderId"));
    json_decref(j);
    return rc == 0 && *id;
}

static void s_bad_usage(void)
{
    TH_CHECK(s_usage("usage: tpctl [-c CONFIG] shop create CODE NAME", "shop create ONLYCODE"));
    TH_CHECK(s_usage("unknown option --bogus", "shop create CODE-1 Name --bogus"));
    TH_CHECK(s_usage("--id needs a value", "shop create CODE-1 Name --id"));
    TH_CHECK(s_usage("--name given twice", "shop change shop-x --name A --name B"));
    TH_CHECK(s_usage("comma-separated", "shop create CODE-1 Name --products 'a,,b'"));
    TH_CHECK(s_usage("usage: tpctl [-c CONFIG] shop list", "shop list extra"));
    TH_CHECK(s_usage("nothing to change", "shop change shop-x"));
    TH_CHECK(s_usage("shop has no command 'nope'", "shop nope"));
    TH_CHECK(
        s_usage("usage: tpctl [-c CONFIG] officer add ACCOUNT_ID SHOP_ID", "officer add acc-1"));
    TH_CHECK(s_usage("either EMAIL or --id", "account find"));
    TH_CHECK(s_usage("either EMAIL or --id", "account find a@example.org --id acc-1"));
    TH_CHECK(s_usage("--reason is required", "account delete acc-1"));
    TH_CHECK(s_usage("usage: tpctl [-c CONFIG] account deletion-requests [--json]",
                     "account deletion-requests extra"));
    TH_CHECK(
        s_usage("usage: tpctl [-c CONFIG] order problem ORDER_ID REASON", "order problem TP-1"));
    TH_CHECK(s_usage("KIND is application", "order document TP-1 invoice --out /tmp/x"));
    TH_CHECK(s_usage("--out FILE is required", "order document TP-1 application"));
    TH_CHECK(s_usage("12-digit", "ident postident 123 --ok --evidence X"));
    TH_CHECK(s_usage("exactly one of --ok and --failed",
                     "ident record TP-1 --ok --failed --evidence X --by Y"));
    TH_CHECK(s_usage("--reason TEXT is required with --failed", "ident record TP-1 --failed"));
    TH_CHECK(s_usage("--by NAME is required", "ident record TP-1 --ok --evidence X"));
    TH_CHECK(s_usage("--evidence REF is required", "ident postident 123456789012 --ok"));
    TH_CHECK(s_usage("an id is", "order show 'TP 1'"));
    TH_CHECK(s_usage("--request-id needs a value", "shop list --request-id"));
}

static void s_shops(void)
{
    json_t *j = NULL, *k = NULL;
    /* user text goes through as data, quotes and all */
    TH_CHECK(s_ops(&j, "shop create TESTSHOP-1 'Quote \"x\" & Co' --products signature-card "
                       "--methods officerident --id shop-test --request-id ops-create-1") == 0);
    TH_CHECK(streq(s_str(j, "shopId"), "shop-test") && streq(s_str(j, "code"), "TESTSHOP-1"));
    TH_CHECK(streq(s_str(j, "name"), "Quote \"x\" & Co"));
    TH_CHECK(json_array_size(s_get(j, "productIds")) == 1 &&
             s_has(s_get(j, "productIds"), "signature-card"));
    TH_CHECK(s_has(s_get(j, "extraIdentMethods"), "officerident"));
    /* the same request id: answered again, nothing written twice */
    TH_CHECK(s_ops(&k, "shop create TESTSHOP-1 'Quote \"x\" & Co' --products signature-card "
                       "--methods officerident --id shop-test --request-id ops-create-1") == 0);
    TH_CHECK(json_is_true(json_object_get(k, "replayed")));
    TH_CHECK(json_integer_value(json_object_get(k, "lastSeq")) ==
                 json_integer_value(json_object_get(j, "lastSeq")) &&
             json_integer_value(json_object_get(j, "lastSeq")) > 0);
    json_decref(j);
    json_decref(k);
    TH_CHECK(s_ops(&j, "shop create TESTSHOP-1 Other --id shop-test") == 1);
    TH_CHECK(s_refused(j, "conflict", "shop.shopId") && s_refused(j, "conflict", "shop.code"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop create 'x!' Other") == 1);
    TH_CHECK(s_refused(j, "invalid", "shop.code"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop create OTHER-1 Other --products no-such-product") == 1);
    TH_CHECK(s_refused(j, "invalid", "shop.productIds[0]"));
    json_decref(j);

    TH_CHECK(s_ops(&j, "shop list") == 0);
    TH_CHECK(json_array_size(s_get(j, "shops")) == 2 && s_shop(j, "shop-demo") &&
             s_shop(j, "shop-test"));
    json_decref(j);

    /* change names only the fields given; the rest stays */
    TH_CHECK(s_ops(&j, "shop change shop-test --name 'Neu GmbH'") == 0);
    TH_CHECK(streq(s_str(j, "name"), "Neu GmbH") && streq(s_str(j, "code"), "TESTSHOP-1") &&
             s_has(s_get(j, "productIds"), "signature-card"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop change shop-test --products '' --methods officerident,dtrustident "
                       "--code TESTSHOP-2") == 0);
    TH_CHECK(json_array_size(s_get(j, "productIds")) == 0 &&
             json_array_size(s_get(j, "extraIdentMethods")) == 2 &&
             streq(s_str(j, "code"), "TESTSHOP-2") && streq(s_str(j, "name"), "Neu GmbH"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop change shop-nope --name X") == 1);
    TH_CHECK(s_refused(j, "not_found", "shop.shopId"));
    json_decref(j);

    TH_CHECK(s_ops(&j, "shop disable shop-test") == 0);
    TH_CHECK(json_is_true(s_get(j, "disabled")) && streq(s_str(j, "name"), "Neu GmbH"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop list") == 0);
    TH_CHECK(json_is_true(json_object_get(s_shop(j, "shop-test"), "disabled")) &&
             !json_is_true(json_object_get(s_shop(j, "shop-demo"), "disabled")));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop enable shop-test") == 0);
    TH_CHECK(!json_is_true(s_get(j, "disabled")) && streq(s_str(j, "shopId"), "shop-test"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop disable shop-nope") == 1);
    TH_CHECK(s_refused(j, "not_found", NULL));
    json_decref(j);
}

/* Registers and confirms an account through `tpctl call` and the outbox; its id. */
static bool s_account(const char *email, char *id, size_t idsz)
{
    json_t *j = NULL;
    char outbox[400], token[128];
    snprintf(outbox, sizeof outbox, "%s/outbox", th_dir(s_th));
    int rc = s_ops(&j,
                   "call account Register '{\"email\":\"%s\",\"password\":\"correct horse "
                   "battery\"}' --role anonymous --key gateway",
                   email);
    json_decref(j);
    char *mail = rc == 0 ? th_mail_wait(s_th, outbox, email, "token=", 10000) : NULL;
    bool ok = mail && th_token_after(mail, "token=", token, sizeof token);
    free(mail);
    if (!ok)
        return false;
    ok = s_ops(&j,
               "call account Confirm '{\"token\":\"%s\",\"password\":\"correct horse battery\"}' "
               "--role anonymous --key gateway",
               token) == 0;
    json_decref(j);
    ok = ok && s_ops(&j, "account find %s", email) == 0;
    snprintf(id, idsz, "%s", s_str(j, "accountId"));
    ok = ok && streq(s_str(j, "status"), "active");
    json_decref(j);
    return ok && *id;
}

static void s_accounts(char *acc, size_t accsz)
{
    json_t *j = NULL;
    TH_CHECK(s_ops(&j, "account find nobody@example.org") == 1);
    TH_CHECK(s_refused(j, "not_found", "email"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "account find --id acc-nope") == 1);
    TH_CHECK(s_refused(j, "not_found", "accountId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "officer add acc-nope shop-test") == 1);
    TH_CHECK(s_refused(j, "not_found", "accountId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "officer remove acc-nope shop-test") == 1);
    TH_CHECK(s_refused(j, "not_found", "accountId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "account delete acc-nope --reason test") == 1);
    TH_CHECK(s_refused(j, "not_found", "accountId"));
    json_decref(j);

    TH_CHECK(s_account("officer@example.org", acc, accsz));
    TH_CHECK(s_ops(&j, "account find --id %s", acc) == 0);
    TH_CHECK(streq(s_str(j, "email"), "officer@example.org"));
    json_decref(j);
    /* the account service learns shops from the order service's events */
    char args[300];
    snprintf(args, sizeof args, "officer add %s shop-test", acc);
    TH_CHECK(s_until(&j, NULL, NULL, args) == 0);
    TH_CHECK(s_has(s_get(j, "officerShopIds"), "shop-test"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "officer add %s shop-nope", acc) == 1);
    TH_CHECK(s_refused(j, "not_found", "shopId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "officer remove %s shop-test", acc) == 0);
    TH_CHECK(json_is_object(json_object_get(j, "reply")) &&
             !s_has(s_get(j, "officerShopIds"), "shop-test"));
    json_decref(j);
}

static void s_unknown_order(void)
{
    json_t *j = NULL;
    const char *cmds[] = {"order show TP-2026-999999",
                          "order application-received TP-2026-999999 --note x",
                          "order problem TP-2026-999999 'Name falsch'",
                          "order resolve TP-2026-999999",
                          "ident record TP-2026-999999 --ok --evidence UR-1 --by 'Notar X'",
                          "ident new-attempt TP-2026-999999 --note again",
                          "ident show TP-2026-999999",
                          "ident postident 123456789012 --ok --evidence PI-1"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc = s_ops(&j, "%s", cmds[i]);
        if (rc != 1 || !s_refused(j, "not_found", NULL))
            fprintf(stderr, "tpctl %s: exit %d\n", cmds[i], rc);
        TH_CHECK(rc == 1 && s_refused(j, "not_found", NULL));
        json_decref(j);
    }
    TH_CHECK(s_ops(&j, "ident postident 123456789012 --ok --evidence PI-1") == 1);
    TH_CHECK(s_refused(j, "not_found", "postidentNumber"));
    json_decref(j);
    char pdf[400];
    snprintf(pdf, sizeof pdf, "%s/none.pdf", th_dir(s_th));
    TH_CHECK(s_ops(&j, "order document TP-2026-999999 application --out '%s'", pdf) == 1);
    TH_CHECK(s_refused(j, "not_found", NULL));
    struct stat sb;
    TH_CHECK(stat(pdf, &sb) != 0);
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident cases --all") == 0);
    TH_CHECK(json_is_true(json_object_get(j, "ok")) && json_array_size(s_get(j, "cases")) == 0);
    json_decref(j);
}

/* A NotarIdent order through its steps by tpctl alone, with a data problem on the way. */
static void s_notar_order(const char *acc)
{
    char id[64], args[300], pdf[400];
    json_t *j = NULL, *k = NULL;
    TH_CHECK(s_place(acc, "notarident", id, sizeof id));
    snprintf(pdf, sizeof pdf, "%s/antrag.pdf", th_dir(s_th));
    TH_CHECK(s_ops(&j, "order document %s application --out '%s'", id, pdf) == 0);
    char *head = NULL;
    TH_CHECK(th_run(&head, "head -c 5 '%s'", pdf) == 0 && head && streq(head, "%PDF-"));
    free(head);
    struct stat sb;
    TH_CHECK(stat(pdf, &sb) == 0 && sb.st_size > 1000 &&
             json_integer_value(s_get(j, "size")) == sb.st_size);
    TH_CHECK(streq(s_str(j, "contentType"), "application/pdf"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "order document %s coupon --out '%s.c'", id, pdf) == 1);
    TH_CHECK(s_refused(j, "not_found", "kind"));
    json_decref(j);

    TH_CHECK(s_ops(&j, "order problem %s 'Geburtsort fehlt'", id) == 0);
    TH_CHECK(streq(s_str(j, "status"), "wartend") &&
             streq(s_str(j, "problem"), "Geburtsort fehlt"));
    json_decref(j);

    /* the case arrives through the identification service's subscription */
    snprintf(args, sizeof args, "ident show %s", id);
    TH_CHECK(s_until(&j, "status", "open", args) == 0);
    TH_CHECK(streq(s_str(j, "method"), "notarident"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident cases") == 0);
    TH_CHECK(json_array_size(s_get(j, "cases")) == 1);
    json_decref(j);
    TH_CHECK(s_ops(&j,
                   "ident record %s --ok --evidence 'UR 123/2026' --by 'Notar Dr. Weber' "
                   "--request-id ops-rec-1",
                   id) == 0);
    TH_CHECK(streq(s_str(j, "status"), "identified") &&
             streq(s_str(j, "identifiedBy"), "Notar Dr. Weber") &&
             streq(s_str(j, "evidenceRef"), "UR 123/2026"));
    TH_CHECK(s_ops(&k,
                   "ident record %s --ok --evidence 'UR 123/2026' --by 'Notar Dr. Weber' "
                   "--request-id ops-rec-1",
                   id) == 0);
    TH_CHECK(json_is_true(json_object_get(k, "replayed")));
    json_decref(j);
    json_decref(k);
    TH_CHECK(s_ops(&j, "ident record %s --failed --reason late", id) == 1);
    TH_CHECK(s_refused(j, "conflict", "orderId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident new-attempt %s", id) == 1);
    TH_CHECK(s_refused(j, "conflict", "orderId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident cases") == 0 && json_array_size(s_get(j, "cases")) == 0);
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident cases --all") == 0 && json_array_size(s_get(j, "cases")) == 1);
    json_decref(j);

    /* four eyes: who recorded the identification does not record the application (once
     * the result has reached the order service) */
    bool identified = false;
    for (int i = 0; i < 100 && !identified; i++) {
        s_ops(&j, "order show %s", id);
        size_t n;
        json_t *step;
        json_array_foreach(s_get(j, "steps"), n, step)
        identified |= streq(json_string_value(json_object_get(step, "name")), "identification") &&
                      json_is_true(json_object_get(step, "done"));
        json_decref(j);
        if (!identified)
            zclock_sleep(100);
    }
    TH_CHECK(identified);
    TH_CHECK(s_ops(&j, "order application-received %s --note 'per Post'", id) == 1);
    TH_CHECK(s_refused(j, "forbidden", "orderId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "--as-operator second order application-received %s --note 'per Post'",
                   id) == 0);
    TH_CHECK(streq(s_str(j, "status"), "wartend"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "order resolve %s --note 'korrigiert'", id) == 0);
    json_decref(j);
    /* released once the identification result has reached the order service too */
    snprintf(args, sizeof args, "order show %s", id);
    TH_CHECK(s_until(&j, "status", "in_produktion", args) == 0);
    json_decref(j);
}

/* A PostIdent order: the provider's feed by number (role producer), a new attempt. */
static void s_postident_order(const char *acc)
{
    char id[64], args[300], first[32];
    json_t *j = NULL;
    TH_CHECK(s_place(acc, "postident", id, sizeof id));
    snprintf(args, sizeof args, "ident show %s", id);
    TH_CHECK(s_until(&j, "status", "open", args) == 0);
    snprintf(first, sizeof first, "%s", s_str(j, "postidentNumber"));
    json_decref(j);
    TH_CHECK(strlen(first) == 12);
    TH_CHECK(s_ops(&j, "ident record %s --ok --evidence X --by Y", id) == 1);
    TH_CHECK(s_refused(j, "invalid", "orderId"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident postident %s --failed --reason 'Ausweis abgelaufen'", first) == 0);
    /* who recorded it comes from the key tpctl sent with: the feed's, ident-test */
    TH_CHECK(streq(s_str(j, "status"), "failed") && streq(s_str(j, "recordedByRole"), "ident") &&
             streq(s_str(j, "recordedByAccount"), "ident:test"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident new-attempt %s --note 'neuer Ausweis'", id) == 0);
    TH_CHECK(streq(s_str(j, "status"), "open") && !streq(s_str(j, "postidentNumber"), first) &&
             json_integer_value(s_get(j, "attempt")) == 2);
    char second[32];
    snprintf(second, sizeof second, "%s", s_str(j, "postidentNumber"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident postident %s --ok --evidence PI-1", first) == 1);
    TH_CHECK(s_refused(j, "conflict", "postidentNumber"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "ident postident %s --ok --evidence PI-2 --by 'Filiale Berlin'", second) ==
             0);
    TH_CHECK(streq(s_str(j, "status"), "identified"));
    json_decref(j);
    /* the coupon carries the current number once the order service has it */
    snprintf(args, sizeof args, "order show %s", id);
    TH_CHECK(s_until(&j, "postidentNumber", second, args) == 0);
    json_decref(j);
    char pdf[400];
    snprintf(pdf, sizeof pdf, "%s/coupon.pdf", th_dir(s_th));
    TH_CHECK(s_ops(&j, "order document %s coupon --out '%s'", id, pdf) == 0);
    TH_CHECK(json_integer_value(s_get(j, "size")) > 1000);
    json_decref(j);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    s_tpctl = th_env("TPCTL");
    s_th = th_new("tpctlops");
    char outbox[400];
    snprintf(outbox, sizeof outbox, "%s/outbox", th_dir(s_th));
    th_set(s_th, "outbox", outbox);
    /* a second operator, for four eyes; the first is the default */
    TH_CHECK(th_key(s_th, "operator-second") == 0);
    th_set(s_th, "tpctl/as_operator", "test");
    TH_CHECK(th_start(s_th, th_env("TP_ORDER"), "order", 20000) > 0);
    TH_CHECK(th_start(s_th, th_env("TP_IDENTIFICATION"), "identification", 20000) > 0);
    TH_CHECK(th_start(s_th, th_env("TP_ACCOUNT"), "account", 20000) > 0);

    s_bad_usage();
    s_shops();
    char acc[64] = "";
    s_accounts(acc, sizeof acc);
    s_unknown_order();
    if (*acc) {
        s_notar_order(acc);
        s_postident_order(acc);
    }

    /* deletion: the address is no longer served; bad usage above wrote nothing */
    json_t *j = NULL;
    TH_CHECK(s_ops(&j, "account delete %s --reason 'Kundenwunsch'", acc) == 0);
    TH_CHECK(streq(s_str(j, "status"), "deleted"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "account find officer@example.org") == 1);
    TH_CHECK(s_refused(j, "not_found", "email"));
    json_decref(j);
    TH_CHECK(s_ops(&j, "shop list") == 0 && json_array_size(s_get(j, "shops")) == 2);
    json_decref(j);
    /* no answer: exit 1 */
    th_stop(s_th, "account", SIGTERM);
    TH_CHECK(s_ops(NULL, "account find --id acc-nope") == 1);

    th_destroy(&s_th);
    printf("tpctl_ops: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
