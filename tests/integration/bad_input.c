/* bad_input.c: bad input to every command of the account, order and identification
 * daemons gives a field-level error and writes nothing. The commands are taken from
 * the services' own tables (account_def, order_def, identification_def), so a new
 * command without an entry here fails this test. For each: (a) bodies that do not
 * decode -> field "body"; (b) an empty body -> an error on a named field (or, for a
 * command without required fields, an ordinary answer); (c) one field of 100 KB -> an
 * error on that field; (d) another command's message bytes -> a field-level error.
 * Every time, the head of all three logs stays where it was. Then a request above the
 * ROUTER's 4 MiB limit is dropped without harm, and one of 3 MiB is answered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "account.h"
#include "flow.h"
#include "identification.h"
#include "order.h"

enum { ANON, CUSTOMER, OPERATOR, IDENT };

/* What to expect of one command. Paths are the protobuf field names (snake_case);
 * fields in errors are lowerCamelCase paths, as the services name them. */
typedef struct {
    const char *name;
    int who;                 /* who sends it: past the role checks, to the fields */
    const char *empty_field; /* an empty body is refused on this field; NULL: valid */
    const char *big_path;    /* the field made 100 KB; NULL: it has no text field */
    const char *big_field;   /* the error's field for it */
    const char *also_path;   /* one more field set for (c), or NULL */
    const char *also_value;
    bool wrong_type_decodes; /* (d) cannot be told: protobuf-c reads any wire type
                                into a bool field, and ListOrders has only one */
} s_spec_t;

static const s_spec_t s_specs[] = {
    /* account */
    {"Register", ANON, "email", "email", "email", NULL, NULL},
    {"ResendConfirmation", ANON, "email", "email", "email", NULL, NULL},
    {"Confirm", ANON, "token", "token", "token", "password", "correct horse battery"},
    {"Login", ANON, "email", "password", "password", "email", "anna@example.org"},
    {"Logout", ANON, "sessionToken", "session_token", "sessionToken", NULL, NULL},
    {"TouchSession", ANON, "sessionToken", "session_token", "sessionToken", NULL, NULL},
    {"ResolveSession", ANON, "sessionToken", "session_token", "sessionToken", NULL, NULL},
    {"RequestPasswordReset", ANON, "email", "email", "email", NULL, NULL},
    {"CompletePasswordReset", ANON, "token", "new_password", "newPassword", "token", "abc"},
    {"RedeemShopCode", CUSTOMER, "code", "code", "code", NULL, NULL},
    {"WhoAmI", CUSTOMER, NULL, NULL, NULL, NULL, NULL},
    {"AppointOfficer", OPERATOR, "accountId", "account_id", "accountId", NULL, NULL},
    {"RevokeOfficer", OPERATOR, "accountId", "account_id", "accountId", NULL, NULL},
    {"DeleteAccount", OPERATOR, "accountId", "reason", "reason", NULL, NULL},
    {"FindAccount", OPERATOR, "email", "email", "email", NULL, NULL},
    {"SetNotifications", CUSTOMER, "statusMails", "status_mails", "statusMails", NULL, NULL},
    /* the customer asked before (main): asked again, the open request is the answer */
    {"RequestDeletion", CUSTOMER, NULL, "reason", "reason", NULL, NULL},
    {"ListDeletionRequests", OPERATOR, NULL, NULL, NULL, NULL, NULL},
    {"GetAccount", CUSTOMER, NULL, NULL, NULL, NULL, NULL},
    /* order */
    {"CreateShop", OPERATOR, "shop", "shop.name", "shop.name", NULL, NULL},
    {"ChangeShop", OPERATOR, "shop", "shop.name", "shop.name", "shop.shop_id", FL_DEMO_SHOP},
    {"PlaceOrder", CUSTOMER, "productId", "applicant.family_name", "applicant.familyName", NULL,
     NULL},
    {"RecordApplicationReceived", OPERATOR, "orderId", "note", "note", NULL, NULL},
    {"RecordDataProblem", OPERATOR, "orderId", "reason", "reason", NULL, NULL},
    {"ResolveDataProblem", OPERATOR, "orderId", "note", "note", NULL, NULL},
    {"ListOrders", CUSTOMER, NULL, NULL, NULL, NULL, NULL, true},
    {"GetOrder", CUSTOMER, "orderId", "order_id", "orderId", NULL, NULL},
    {"FindOrder", OPERATOR, "orderId", "order_id", "orderId", NULL, NULL},
    {"GetDocument", CUSTOMER, "kind", "kind", "kind", NULL, NULL},
    {"GetCatalog", CUSTOMER, NULL, "shop_ids", "shopIds[0]", NULL, NULL},
    {"ListShops", OPERATOR, NULL, NULL, NULL, NULL, NULL},
    /* identification */
    {"RecordPostIdentResult", IDENT, "postidentNumber", "postident_number", "postidentNumber",
     NULL, NULL},
    {"RecordResult", OPERATOR, "orderId", "evidence_ref", "evidenceRef", NULL, NULL},
    {"OpenNewAttempt", OPERATOR, "orderId", "note", "note", NULL, NULL},
    {"ListCases", OPERATOR, NULL, "shop_id", "shopId", NULL, NULL},
    {"GetCase", OPERATOR, "orderId", "order_id", "orderId", NULL, NULL},
};

static th_actor_t s_actors[4];
static const char *const s_services[] = {"account", "order", "identification"};
static int s_checked, s_bad;

static const s_spec_t *s_spec(const char *name)
{
    for (size_t i = 0; i < sizeof s_specs / sizeof s_specs[0]; i++)
        if (strcmp(s_specs[i].name, name) == 0)
            return &s_specs[i];
    return NULL;
}

static void s_heads(th_t *th, uint64_t *heads)
{
    for (int i = 0; i < 3; i++)
        heads[i] = th_head(th, s_services[i]);
}

/* Sends @p body as @p cmd; wants a refusal on @p field (NULL: any named field), or with
 * @p ok an ordinary answer; and no event written anywhere. */
static void s_expect(th_t *th, const char *svc, const char *cmd, int who, const char *what,
                     const uint8_t *body, size_t len, bool ok, const char *field)
{
    uint64_t before[3], after[3];
    s_heads(th, before);
    char wire[128];
    snprintf(wire, sizeof wire, "%s.%s", svc, cmd);
    Tp__Reply *r = th_call_raw_as(th, svc, &s_actors[who], NULL, wire, body, len, FL_CALL_MS);
    s_heads(th, after);
    bool good = ok ? r && r->ok : th_refused(r, NULL, field);
    bool still = memcmp(before, after, sizeof before) == 0 && before[0] != UINT64_MAX;
    s_checked++;
    if (!good || !still) {
        s_bad++;
        fprintf(stderr, "%s %s: wanted %s%s%s, got:\n", wire, what, ok ? "an answer" : "an error",
                ok ? "" : " on ",
                ok      ? ""
                : field ? field
                        : "a named field");
        th_reply_log(wire, r);
        if (!still)
            fprintf(stderr, "  and it wrote: heads %llu/%llu/%llu -> %llu/%llu/%llu\n",
                    (unsigned long long) before[0], (unsigned long long) before[1],
                    (unsigned long long) before[2], (unsigned long long) after[0],
                    (unsigned long long) after[1], (unsigned long long) after[2]);
    }
    TH_CHECK(good);
    TH_CHECK(still);
    th_reply_free(&r);
}

/* A fresh message of type @p d (free with protobuf_c_message_free_unpacked). */
static ProtobufCMessage *s_new(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);
    d->message_init(m);
    return m;
}

/* Sets the text field at dotted @p path of @p m to @p value (a repeated field gets it as
 * its one element), creating the messages on the way. False when there is no such path. */
static bool s_set(ProtobufCMessage *m, const char *path, const char *value)
{
    char head[64];
    const char *dot = strchr(path, '.');
    snprintf(head, sizeof head, "%.*s", dot ? (int) (dot - path) : (int) strlen(path), path);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, head);
    if (!f)
        return false;
    void *member = (char *) m + f->offset;
    if (dot) {
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
            return false;
        ProtobufCMessage **sub = member;
        if (!*sub)
            *sub = s_new(f->descriptor);
        return s_set(*sub, dot + 1, value);
    }
    if (f->type != PROTOBUF_C_TYPE_STRING)
        return false;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        char ***arr = member;
        size_t *n = (size_t *) ((char *) m + f->quantifier_offset);
        *arr = realloc(*arr, (*n + 1) * sizeof **arr);
        (*arr)[(*n)++] = strdup(value);
        return true;
    }
    char **s = member;
    if (*s != f->default_value)
        free(*s);
    *s = strdup(value);
    return true;
}

static uint8_t *s_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    protobuf_c_message_pack(m, buf);
    return buf;
}

static void s_check_command(th_t *th, const char *svc, const svc_command_t *cmd, const char *big)
{
    const s_spec_t *spec = s_spec(cmd->name);
    if (!spec) {
        fprintf(stderr, "%s.%s: no expectation in bad_input.c; add one\n", svc, cmd->name);
        TH_CHECK(spec);
        return;
    }
    int who = spec->who;
    /* (a) bytes that are no protobuf message: a tag longer than any varint, a field
     *     longer than the body */
    static const uint8_t junk1[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t junk2[] = {0x0a, 0x40, 'j', 'u', 'n', 'k'};
    s_expect(th, svc, cmd->name, who, "junk body", junk1, sizeof junk1, false, "body");
    s_expect(th, svc, cmd->name, who, "truncated body", junk2, sizeof junk2, false, "body");

    /* (b) empty: every field missing */
    s_expect(th, svc, cmd->name, who, "empty body", NULL, 0, spec->empty_field == NULL,
             spec->empty_field);

    /* (c) one field of 100 KB */
    if (spec->big_path) {
        ProtobufCMessage *m = s_new(cmd->body);
        bool set = s_set(m, spec->big_path, big) &&
                   (!spec->also_path || s_set(m, spec->also_path, spec->also_value));
        TH_CHECK(set);
        size_t len;
        uint8_t *body = s_pack(m, &len);
        s_expect(th, svc, cmd->name, who, "100 KB field", body, len, false, spec->big_field);
        free(body);
        protobuf_c_message_free_unpacked(m, NULL);
    }

    /* (d) another command's message: where this one has a text or a message as field 1,
     *     ListOrders {archived: true} has a number; else GetOrder {orderId} has text */
    const ProtobufCFieldDescriptor *f1 = protobuf_c_message_descriptor_get_field(cmd->body, 1);
    if (f1) {
        bool number = f1->type != PROTOBUF_C_TYPE_STRING && f1->type != PROTOBUF_C_TYPE_BYTES &&
                      f1->type != PROTOBUF_C_TYPE_MESSAGE;
        uint8_t buf[64];
        size_t len;
        if (number) {
            Tp__Order__GetOrder other = TP__ORDER__GET_ORDER__INIT;
            other.order_id = "TP-2026-000001";
            len = tp__order__get_order__pack(&other, buf);
        }
        else {
            Tp__Order__ListOrders other = TP__ORDER__LIST_ORDERS__INIT;
            other.archived = true;
            len = tp__order__list_orders__pack(&other, buf);
        }
        if (spec->wrong_type_decodes)
            fprintf(stderr,
                    "%s.%s: another command's message decodes (protobuf-c does not "
                    "check the wire type of bools); it must still write nothing\n",
                    svc, cmd->name);
        s_expect(th, svc, cmd->name, who, "another command's message", buf, len,
                 spec->wrong_type_decodes, NULL);
    }
    else
        fprintf(stderr, "%s.%s has no fields: any message decodes (wrong type n/a)\n", svc,
                cmd->name);
}

/* Above the ROUTER's 4 MiB limit ZeroMQ drops the connection: no answer, no harm. */
static void s_check_huge(th_t *th)
{
    for (int i = 0; i < 3; i++) {
        const char *svc = s_services[i];
        uint64_t head = th_head(th, svc);
        size_t n = 5u << 20;
        uint8_t *body = malloc(n);
        memset(body, 'x', n);
        char wire[64];
        snprintf(wire, sizeof wire, "%s.%s", svc,
                 i == 0   ? "Register"
                 : i == 1 ? "PlaceOrder"
                          : "RecordResult");
        Tp__Reply *r =
            th_call_raw_as(th, svc, &s_actors[i == 1 ? CUSTOMER : ANON], NULL, wire, body, n, 1500);
        TH_CHECK(r == NULL);
        th_reply_free(&r);
        free(body);
        TH_CHECK(th_running(th, svc));
        TH_CHECK(th_head(th, svc) == head);
    }
    /* 3 MiB fits: a field-level answer */
    size_t n = 3u << 20;
    char *email = malloc(n + 1);
    memset(email, 'a', n);
    memcpy(email + n - 12, "@example.org", 12);
    email[n] = '\0';
    Tp__Account__Register reg = TP__ACCOUNT__REGISTER__INIT;
    reg.email = email;
    reg.password = "long enough password";
    size_t len;
    uint8_t *body = s_pack(&reg.base, &len);
    s_expect(th, "account", "Register", ANON, "3 MiB e-mail", body, len, false, "email");
    free(body);
    free(email);
}

/* The customer asks for its account's deletion once, so that asking again (as the checks
 * do with an empty body) is an answer that writes nothing. */
static bool s_ask_deletion(th_t *th, const fl_customer_t *c)
{
    Tp__Account__RequestDeletion cmd = TP__ACCOUNT__REQUEST_DELETION__INIT;
    Tp__Reply *r = th_call_as(th, "account", &c->as, NULL, "account.RequestDeletion", &cmd.base,
                              FL_CALL_MS);
    bool ok = r && r->ok;
    if (!ok)
        th_reply_log("RequestDeletion", r);
    th_reply_free(&r);
    return ok;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    int64_t t0 = zclock_mono();
    th_t *th = th_new("badinput");
    fl_configure(th, -1); /* mails into the outbox */
    fl_customer_t c;
    bool ready = th_start_services(th, 15000) && fl_signup(th, "bert.boese@example.org", &c) &&
                 fl_redeem(th, &c, FL_DEMO_CODE) && s_ask_deletion(th, &c);
    TH_CHECK(ready);
    char digest[128];
    for (int i = 0; ready && i < 3; i++)
        TH_CHECK(th_settle(th, s_services[i], digest, sizeof digest, 400, 10000));
    if (!ready) {
        th_destroy(&th);
        return 1;
    }
    s_actors[ANON] = fl_anonymous;
    s_actors[CUSTOMER] = c.as;
    s_actors[OPERATOR] = fl_operator;
    s_actors[IDENT] = fl_ident;

    char *big = malloc(100 * 1024 + 1);
    memset(big, 'x', 100 * 1024);
    big[100 * 1024] = '\0';
    const svc_def_t *defs[] = {&account_def, &order_def, &identification_def};
    size_t n_commands = 0;
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < defs[i]->n_commands; k++, n_commands++)
            s_check_command(th, s_services[i], &defs[i]->commands[k], big);
    free(big);

    /* the request header: a request id that cannot be one is refused before anything */
    char rid[300];
    memset(rid, 'r', sizeof rid - 1);
    rid[sizeof rid - 1] = '\0';
    uint64_t head = th_head(th, "order");
    Tp__Reply *r = th_call_raw_as(th, "order", &fl_operator, rid, "order.RecordDataProblem", NULL,
                                  0, FL_CALL_MS);
    TH_CHECK(th_refused(r, "invalid", "header.requestId"));
    th_reply_free(&r);
    r = th_call_raw_as(th, "order", &fl_operator, NULL, "order.NoSuchCommand", NULL, 0, FL_CALL_MS);
    TH_CHECK(th_refused(r, "unknown_command", "command"));
    th_reply_free(&r);
    TH_CHECK(th_head(th, "order") == head);

    /* a list too long is "oversized" too */
    Tp__Order__GetCatalog cat = TP__ORDER__GET_CATALOG__INIT;
    char *ids[33];
    for (int i = 0; i < 33; i++)
        ids[i] = FL_DEMO_SHOP;
    cat.shop_ids = ids;
    cat.n_shop_ids = 33;
    size_t len;
    uint8_t *body = s_pack(&cat.base, &len);
    s_expect(th, "order", "GetCatalog", CUSTOMER, "33 shop ids", body, len, false, "shopIds");
    free(body);

    s_check_huge(th);
    for (int i = 0; i < 3; i++)
        th_check_replay(th, s_services[i]);
    th_destroy(&th);
    fprintf(stderr, "bad_input: %zu commands, %d requests, %d wrong; %.1f s\n", n_commands,
            s_checked, s_bad, (double) (zclock_mono() - t0) / 1000.0);
    printf("bad_input: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
