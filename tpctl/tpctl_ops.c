/* tpctl_ops.c: the named back-office commands (shop, officer, account, order, ident):
 * checked arguments -> a JSON command built with jansson -> tpctl_call_json; and the few
 * that print more than the reply's JSON (a document written to a file, a table). */
#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "account.pb-c.h"
#include "identification.h"
#include "order.pb-c.h"
#include "pbj.h"
#include "svc_text.h"
#include "tpctl.h"

/* Longest argument taken (text, id or list); the services check their own limits and
 * name the field, this only keeps absurd input off the wire. */
#define S_ARG_MAX 4096
/* Longest id (shop, account, order) and most items of a comma list. */
#define S_ID_MAX   128
#define S_LIST_MAX 64
#define S_MAX_POS  2
#define S_MAX_OPTS 6

/* One option of a command: "--name VALUE" or a flag "--name". */
typedef struct {
    const char *name;
    bool value; /* takes a value */
} s_optdef_t;

/* A command line as parsed against its command's definition. */
typedef struct {
    const char *pos[S_MAX_POS]; /* positional arguments */
    int npos;
    const char *opt[S_MAX_OPTS]; /* per option of the definition: its value ("" for a flag
                                    given), NULL when absent */
    const char *request_id;      /* --request-id, or NULL */
} s_args_t;

typedef struct _s_cmd_t s_cmd_t;
typedef int(s_fn)(const s_cmd_t *cmd, const s_args_t *a, const char *config);

struct _s_cmd_t {
    const char *group;           /* "shop" */
    const char *name;            /* "create" */
    int min_pos, max_pos;        /* positional arguments taken */
    s_optdef_t opts[S_MAX_OPTS]; /* options besides --request-id, {NULL} ended */
    const char *usage;           /* after "tpctl " */
    s_fn *fn;
};

static int s_usage_of(const s_cmd_t *cmd, const char *why)
{
    if (why)
        fprintf(stderr, "tpctl: %s\n", why);
    fprintf(stderr, "usage: tpctl [-c CONFIG] %s [--request-id ID]\n", cmd->usage);
    return 2;
}

/* The value of option @p name of @p cmd in @p a, or NULL. */
static const char *s_opt(const s_cmd_t *cmd, const s_args_t *a, const char *name)
{
    for (int i = 0; i < S_MAX_OPTS && cmd->opts[i].name; i++)
        if (streq(cmd->opts[i].name, name))
            return a->opt[i];
    assert(false && "option not in the command's table");
    return NULL;
}

/* Splits argv against @p cmd; false (and the reason in @p why) on bad usage. A "--"
 * ends the options, so that a text may begin with a dash. */
static bool s_parse(const s_cmd_t *cmd, int argc, char **argv, s_args_t *a, char *why, size_t whysz)
{
    memset(a, 0, sizeof *a);
    bool options = true;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strlen(arg) > S_ARG_MAX) {
            snprintf(why, whysz, "argument %d is longer than %d bytes", i + 1, S_ARG_MAX);
            return false;
        }
        if (options && streq(arg, "--")) {
            options = false;
            continue;
        }
        if (options && arg[0] == '-' && arg[1] == '-') {
            int k = -1;
            for (int j = 0; j < S_MAX_OPTS && cmd->opts[j].name; j++)
                if (streq(cmd->opts[j].name, arg))
                    k = j;
            bool rid = streq(arg, "--request-id");
            if (k < 0 && !rid) {
                snprintf(why, whysz, "unknown option %.64s", arg);
                return false;
            }
            if ((rid && a->request_id) || (k >= 0 && a->opt[k])) {
                snprintf(why, whysz, "%.64s given twice", arg);
                return false;
            }
            bool takes = rid || cmd->opts[k].value;
            if (takes && i + 1 >= argc) {
                snprintf(why, whysz, "%.64s needs a value", arg);
                return false;
            }
            const char *v = takes ? argv[++i] : "";
            if (strlen(v) > S_ARG_MAX) {
                snprintf(why, whysz, "the value of %.64s is longer than %d bytes", arg, S_ARG_MAX);
                return false;
            }
            if (rid)
                a->request_id = v;
            else
                a->opt[k] = v;
            continue;
        }
        if (a->npos >= cmd->max_pos) {
            snprintf(why, whysz, "too many arguments");
            return false;
        }
        a->pos[a->npos++] = arg;
    }
    if (a->npos < cmd->min_pos) {
        snprintf(why, whysz, "missing arguments");
        return false;
    }
    if (a->request_id && (!*a->request_id || strlen(a->request_id) > S_ID_MAX)) {
        snprintf(why, whysz, "--request-id must be 1 to %d bytes", S_ID_MAX);
        return false;
    }
    return true;
}

/* An id as the services take them: 1..S_ID_MAX printable ASCII characters, no space. */
static bool s_id_ok(const char *s)
{
    return svc_valid_id(s, S_ID_MAX);
}

/* Sets @p key of @p obj to the text @p s; false when it is not UTF-8 (jansson refuses
 * it), so no byte of user input reaches the JSON unchecked. */
static bool s_set_text(json_t *obj, const char *key, const char *s)
{
    json_t *v = json_string(s);
    return v && json_object_set_new(obj, key, v) == 0;
}

/* "a,b,c" as a JSON array of ids; "" is the empty list. NULL on an empty item, a bad id
 * or too many items. */
static json_t *s_list(const char *s)
{
    json_t *arr = json_array();
    if (!arr || !*s)
        return arr;
    int n = 0;
    for (const char *p = s;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen(p);
        char item[S_ID_MAX + 1];
        if (len == 0 || len > S_ID_MAX || n >= S_LIST_MAX)
            goto fail;
        memcpy(item, p, len);
        item[len] = '\0';
        if (!s_id_ok(item) || json_array_append_new(arr, json_string(item)) != 0)
            goto fail;
        if (!comma)
            return arr;
        p = comma + 1;
    }
fail:
    json_decref(arr);
    return NULL;
}

/* Sends @p body (consumed) as @p service.@p command with role @p role. */
static int s_send(const s_args_t *a, const char *config, const char *service, const char *command,
                  const char *role, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        fprintf(stderr, "tpctl: out of memory\n");
        return 1;
    }
    int rc = tpctl_call_json(config, service, command, text, role, NULL, a->request_id);
    free(text);
    return rc;
}

/* The common shape: positional ids and optional texts, checked, then sent. @p keys names
 * the JSON member of each positional (ids), @p texts of each option of the table (free
 * text), both NULL-ended. */
static int s_simple(const s_cmd_t *cmd, const s_args_t *a, const char *config, const char *service,
                    const char *command, const char *const *keys, const char *const *texts)
{
    json_t *body = json_object();
    for (int i = 0; keys && keys[i]; i++) {
        if (!s_id_ok(a->pos[i])) {
            json_decref(body);
            return s_usage_of(cmd, "an id is 1 to 128 printable characters without spaces");
        }
        s_set_text(body, keys[i], a->pos[i]);
    }
    for (int i = 0; texts && texts[i]; i++) {
        const char *v = a->opt[i] ? a->opt[i] : NULL;
        if (v && !s_set_text(body, texts[i], v)) {
            json_decref(body);
            return s_usage_of(cmd, "texts must be UTF-8");
        }
    }
    return s_send(a, config, service, command, "operator", body);
}

/* ------------------------------------------------------------------ shop */

/* Fills shop.productIds / shop.extraIdentMethods from --products / --methods; adds their
 * names to @p fields when not NULL. Returns false with @p why on a bad list. */
static bool s_shop_lists(const s_cmd_t *cmd, const s_args_t *a, json_t *shop, json_t *fields,
                         const char **why)
{
    static const char *const opts[] = {"--products", "--methods"};
    static const char *const keys[] = {"productIds", "extraIdentMethods"};
    for (int i = 0; i < 2; i++) {
        const char *v = s_opt(cmd, a, opts[i]);
        if (!v)
            continue;
        json_t *list = s_list(v);
        if (!list) {
            *why = "a list is comma-separated ids without spaces, or '' for none";
            return false;
        }
        json_object_set_new(shop, keys[i], list);
        if (fields)
            json_array_append_new(fields, json_string(keys[i]));
    }
    return true;
}

static int s_shop_create(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    const char *why = NULL;
    const char *id = s_opt(cmd, a, "--id");
    json_t *shop = json_object();
    if (!s_id_ok(a->pos[0]))
        why = "CODE is letters, digits and dashes";
    else if (id && !s_id_ok(id))
        why = "SHOP_ID is 1 to 128 printable characters without spaces";
    else if (!s_set_text(shop, "code", a->pos[0]) || !s_set_text(shop, "name", a->pos[1]))
        why = "texts must be UTF-8";
    else if (id)
        s_set_text(shop, "shopId", id);
    if (!why)
        s_shop_lists(cmd, a, shop, NULL, &why);
    if (why) {
        json_decref(shop);
        return s_usage_of(cmd, why);
    }
    return s_send(a, config, "order", "CreateShop", "operator", json_pack("{s:o}", "shop", shop));
}

static int s_shop_change(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    const char *why = NULL;
    const char *code = s_opt(cmd, a, "--code"), *name = s_opt(cmd, a, "--name");
    json_t *shop = json_object(), *fields = json_array();
    if (!s_id_ok(a->pos[0]))
        why = "SHOP_ID is 1 to 128 printable characters without spaces";
    else if (!s_set_text(shop, "shopId", a->pos[0]) || (code && !s_set_text(shop, "code", code)) ||
             (name && !s_set_text(shop, "name", name)))
        why = "texts must be UTF-8";
    if (!why && code)
        json_array_append_new(fields, json_string("code"));
    if (!why && name)
        json_array_append_new(fields, json_string("name"));
    if (!why)
        s_shop_lists(cmd, a, shop, fields, &why);
    /* an empty field list would mean "all of them" to ChangeShop */
    if (!why && json_array_size(fields) == 0)
        why = "nothing to change: give --code, --name, --products or --methods";
    if (why) {
        json_decref(shop);
        json_decref(fields);
        return s_usage_of(cmd, why);
    }
    return s_send(a, config, "order", "ChangeShop", "operator",
                  json_pack("{s:o,s:o}", "shop", shop, "fields", fields));
}

/* disable and enable: ChangeShop of the field "disabled" and nothing else. */
static int s_shop_disabled(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    if (!s_id_ok(a->pos[0]))
        return s_usage_of(cmd, "SHOP_ID is 1 to 128 printable characters without spaces");
    json_t *shop = json_object();
    s_set_text(shop, "shopId", a->pos[0]);
    json_object_set_new(shop, "disabled", json_boolean(streq(cmd->name, "disable")));
    return s_send(a, config, "order", "ChangeShop", "operator",
                  json_pack("{s:o,s:[s]}", "shop", shop, "fields", "disabled"));
}

static int s_shop_list(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    return s_send(a, config, "order", "ListShops", "operator", json_object());
}

/* ------------------------------------------------------------------ officer, account */

static int s_officer(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    static const char *const keys[] = {"accountId", "shopId", NULL};
    return s_simple(cmd, a, config, "account",
                    streq(cmd->name, "add") ? "AppointOfficer" : "RevokeOfficer", keys, NULL);
}

static int s_account_find(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    const char *id = s_opt(cmd, a, "--id");
    if ((a->npos == 1) == (id != NULL))
        return s_usage_of(cmd, "give either EMAIL or --id ACCOUNT_ID");
    json_t *body = json_object();
    if (id ? !s_id_ok(id) : !s_set_text(body, "email", a->pos[0])) {
        json_decref(body);
        return s_usage_of(cmd, id ? "ACCOUNT_ID is 1 to 128 printable characters without "
                                    "spaces"
                                  : "EMAIL must be UTF-8");
    }
    if (id)
        s_set_text(body, "accountId", id);
    return s_send(a, config, "account", "FindAccount", "operator", body);
}

static int s_account_delete(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    static const char *const keys[] = {"accountId", NULL};
    static const char *const texts[] = {"reason", NULL};
    const char *reason = s_opt(cmd, a, "--reason");
    if (!reason || !*reason)
        return s_usage_of(cmd, "--reason is required: it is kept with the deletion");
    return s_simple(cmd, a, config, "account", "DeleteAccount", keys, texts);
}

/* @p s as one line of a terminal: line breaks and tabs as spaces, any other control
 * character (C0, DEL, C1 in UTF-8) as '?', so that a customer's text cannot move the
 * cursor or recolour an operator's terminal. The services refuse such text already. */
static void s_put_line(const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            putchar(' ');
        else if (*p < 0x20 || *p == 0x7f)
            putchar('?');
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            putchar('?');
            p++;
        }
        else
            putchar(*p);
    }
}

/* The open requests as a table (account id, e-mail, requested at in UTC, reason), oldest
 * first; with --json the reply as every command prints it, with "requests": [] when there
 * are none (an empty reply is no body at all on the wire). */
static int s_account_deletions(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    Tp__Reply *reply = NULL;
    int rc = tpctl_call_reply(config, "account", "ListDeletionRequests", "{}", "operator", NULL,
                              a->request_id, &reply);
    if (rc != 0)
        return rc;
    bool json = s_opt(cmd, a, "--json") != NULL;
    Tp__Account__DeletionRequestList *l =
        reply->ok && !json
            ? tp__account__deletion_request_list__unpack(NULL, reply->body.len, reply->body.data)
            : NULL;
    if (!l) {
        json_t *body = reply->ok ? pbj_bytes_to_json(&tp__account__deletion_request_list__descriptor,
                                                     reply->body.data, reply->body.len,
                                                     PBJ_EMIT_DEFAULTS)
                                 : NULL;
        rc = tpctl_print_reply(reply, "account", "ListDeletionRequests", body);
        json_decref(body);
    }
    else if (l->n_requests == 0)
        printf("no open deletion requests\n");
    else {
        int w = 6;
        for (size_t i = 0; i < l->n_requests; i++)
            if ((int) strlen(l->requests[i]->email) > w)
                w = (int) strlen(l->requests[i]->email);
        printf("%-20s  %-*s  %-20s  %s\n", "ACCOUNT", w, "E-MAIL", "REQUESTED (UTC)", "REASON");
        for (size_t i = 0; i < l->n_requests; i++) {
            const Tp__Account__DeletionRequest *d = l->requests[i];
            time_t t = (time_t) (d->requested_at_us / 1000000);
            struct tm tm;
            char when[32] = "?";
            if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
            printf("%-20s  ", d->account_id);
            s_put_line(d->email);
            printf("%*s  %-20s  ", w - (int) strlen(d->email), "", when);
            s_put_line(*d->reason ? d->reason : "-");
            putchar('\n');
        }
    }
    if (l)
        tp__account__deletion_request_list__free_unpacked(l, NULL);
    tp__reply__free_unpacked(reply, NULL);
    return rc;
}

/* ------------------------------------------------------------------ order */

static int s_order_show(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    static const char *const keys[] = {"orderId", NULL};
    return s_simple(cmd, a, config, "order", "FindOrder", keys, NULL);
}

/* application-received and resolve: ORDER_ID [--note TEXT] */
static int s_order_note(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    static const char *const keys[] = {"orderId", NULL};
    static const char *const texts[] = {"note", NULL};
    return s_simple(cmd, a, config, "order",
                    streq(cmd->name, "resolve") ? "ResolveDataProblem"
                                                : "RecordApplicationReceived",
                    keys, texts);
}

static int s_order_problem(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    if (!s_id_ok(a->pos[0]))
        return s_usage_of(cmd, "ORDER_ID is 1 to 128 printable characters without spaces");
    json_t *body = json_object();
    s_set_text(body, "orderId", a->pos[0]);
    if (!*a->pos[1] || !s_set_text(body, "reason", a->pos[1])) {
        json_decref(body);
        return s_usage_of(cmd, "REASON is required, in UTF-8");
    }
    return s_send(a, config, "order", "RecordDataProblem", "operator", body);
}

/* Writes @p data to @p path through a temporary file, so that a failure leaves no half
 * PDF behind. */
static int s_write_file(const char *path, const uint8_t *data, size_t len)
{
    char tmp[S_ARG_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "tpctl: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "tpctl: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* The document's bytes come from the protobuf reply itself; the JSON printed names the
 * file written instead of carrying the PDF as base64. */
static int s_order_document(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    const char *kind = a->pos[1], *out = s_opt(cmd, a, "--out");
    if (!s_id_ok(a->pos[0]))
        return s_usage_of(cmd, "ORDER_ID is 1 to 128 printable characters without spaces");
    if (!streq(kind, "application") && !streq(kind, "checklist") && !streq(kind, "coupon"))
        return s_usage_of(cmd, "KIND is application, checklist or coupon");
    if (!out || !*out)
        return s_usage_of(cmd, "--out FILE is required");
    json_t *body = json_pack("{s:s,s:s}", "orderId", a->pos[0], "kind", kind);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return s_usage_of(cmd, "ORDER_ID must be UTF-8");
    Tp__Reply *reply = NULL;
    int rc = tpctl_call_reply(config, "order", "GetDocument", text, "operator", NULL, a->request_id,
                              &reply);
    free(text);
    if (rc != 0)
        return rc;
    if (!reply->ok) {
        rc = tpctl_print_reply(reply, "order", "GetDocument", NULL);
        tp__reply__free_unpacked(reply, NULL);
        return rc;
    }
    Tp__Order__Document *doc = tp__order__document__unpack(NULL, reply->body.len, reply->body.data);
    if (!doc || !doc->content.len) {
        fprintf(stderr, "tpctl: the reply carries no document\n");
        rc = 1;
    }
    else if (s_write_file(out, doc->content.data, doc->content.len) != 0)
        rc = 1;
    else {
        json_t *summary =
            json_pack("{s:s,s:s,s:I,s:s}", "fileName", doc->file_name, "contentType",
                      doc->content_type, "size", (json_int_t) doc->content.len, "writtenTo", out);
        if (!summary) /* a name that is not UTF-8: the file is written all the same */
            summary = json_pack("{s:I}", "size", (json_int_t) doc->content.len);
        rc = tpctl_print_reply(reply, "order", "GetDocument", summary);
        json_decref(summary);
    }
    if (doc)
        tp__order__document__free_unpacked(doc, NULL);
    tp__reply__free_unpacked(reply, NULL);
    return rc;
}

/* ------------------------------------------------------------------ ident */

/* --ok|--failed, --evidence, --reason, --by of a result into @p body; NULL or why not. */
static const char *s_result(const s_cmd_t *cmd, const s_args_t *a, json_t *body, bool by_required)
{
    const char *ok = s_opt(cmd, a, "--ok"), *failed = s_opt(cmd, a, "--failed");
    const char *evidence = s_opt(cmd, a, "--evidence"), *reason = s_opt(cmd, a, "--reason");
    const char *by = s_opt(cmd, a, "--by");
    if ((ok != NULL) == (failed != NULL))
        return "give exactly one of --ok and --failed";
    if (ok && (!evidence || !*evidence))
        return "--evidence REF is required with --ok (deed, file or transaction number)";
    if (ok && reason)
        return "--reason is only for --failed";
    if (failed && (!reason || !*reason))
        return "--reason TEXT is required with --failed";
    if (ok && by_required && (!by || !*by))
        return "--by NAME is required with --ok (the notary, embassy or employee)";
    json_object_set_new(body, "succeeded", json_boolean(ok != NULL));
    if ((evidence && !s_set_text(body, "evidenceRef", evidence)) ||
        (reason && !s_set_text(body, "reason", reason)) ||
        (by && !s_set_text(body, "identifiedBy", by)))
        return "texts must be UTF-8";
    return NULL;
}

static int s_ident_record(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    json_t *body = json_object();
    const char *why = s_id_ok(a->pos[0]) ? s_result(cmd, a, body, true)
                                         : "ORDER_ID is 1 to 128 printable characters without "
                                           "spaces";
    if (why) {
        json_decref(body);
        return s_usage_of(cmd, why);
    }
    s_set_text(body, "orderId", a->pos[0]);
    return s_send(a, config, "identification", "RecordResult", "operator", body);
}

/* The ident provider's result, as its feed would send it (its ident- key). */
static int s_ident_postident(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    const char *number = a->pos[0];
    bool digits = strlen(number) == IDENT_POSTIDENT_DIGITS;
    for (const char *p = number; digits && *p; p++)
        digits = *p >= '0' && *p <= '9';
    json_t *body = json_object();
    const char *why =
        digits ? s_result(cmd, a, body, false) : "NUMBER is the 12-digit PostIdent process number";
    if (why) {
        json_decref(body);
        return s_usage_of(cmd, why);
    }
    s_set_text(body, "postidentNumber", number);
    return s_send(a, config, "identification", "RecordPostIdentResult", "ident", body);
}

static int s_ident_cases(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    const char *shop = s_opt(cmd, a, "--shop");
    if (shop && !s_id_ok(shop))
        return s_usage_of(cmd, "SHOP_ID is 1 to 128 printable characters without spaces");
    json_t *body = json_object();
    if (shop)
        s_set_text(body, "shopId", shop);
    if (s_opt(cmd, a, "--all"))
        json_object_set_new(body, "includeClosed", json_true());
    return s_send(a, config, "identification", "ListCases", "operator", body);
}

static int s_ident_show(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    static const char *const keys[] = {"orderId", NULL};
    return s_simple(cmd, a, config, "identification", "GetCase", keys, NULL);
}

static int s_ident_new_attempt(const s_cmd_t *cmd, const s_args_t *a, const char *config)
{
    static const char *const keys[] = {"orderId", NULL};
    static const char *const texts[] = {"note", NULL};
    return s_simple(cmd, a, config, "identification", "OpenNewAttempt", keys, texts);
}

/* ------------------------------------------------------------------ table */

#define S_RESULT_OPTS                                                                              \
    {"--ok", false}, {"--failed", false}, {"--evidence", true}, {"--reason", true},                \
    {                                                                                              \
        "--by", true                                                                               \
    }

/* In s_simple()'s commands the text options come first, in the order of its `texts`. */
static const s_cmd_t s_cmds[] = {
    {"shop",
     "create",
     2,
     2,
     {{"--products", true}, {"--methods", true}, {"--id", true}},
     "shop create CODE NAME [--products ID,ID] [--methods officerident,dtrustident] "
     "[--id SHOP_ID]",
     s_shop_create},
    {"shop",
     "change",
     1,
     1,
     {{"--code", true}, {"--name", true}, {"--products", true}, {"--methods", true}},
     "shop change SHOP_ID [--code CODE] [--name NAME] [--products ID,ID|''] "
     "[--methods M,M|'']",
     s_shop_change},
    {"shop", "disable", 1, 1, {{NULL}}, "shop disable SHOP_ID", s_shop_disabled},
    {"shop", "enable", 1, 1, {{NULL}}, "shop enable SHOP_ID", s_shop_disabled},
    {"shop", "list", 0, 0, {{NULL}}, "shop list", s_shop_list},
    {"officer", "add", 2, 2, {{NULL}}, "officer add ACCOUNT_ID SHOP_ID", s_officer},
    {"officer", "remove", 2, 2, {{NULL}}, "officer remove ACCOUNT_ID SHOP_ID", s_officer},
    {"account",
     "find",
     0,
     1,
     {{"--id", true}},
     "account find EMAIL|--id ACCOUNT_ID",
     s_account_find},
    {"account",
     "delete",
     1,
     1,
     {{"--reason", true}},
     "account delete ACCOUNT_ID --reason TEXT",
     s_account_delete},
    {"account",
     "deletion-requests",
     0,
     0,
     {{"--json", false}},
     "account deletion-requests [--json]",
     s_account_deletions},
    {"order", "show", 1, 1, {{NULL}}, "order show ORDER_ID", s_order_show},
    {"order",
     "application-received",
     1,
     1,
     {{"--note", true}},
     "order application-received ORDER_ID [--note TEXT]",
     s_order_note},
    {"order", "problem", 2, 2, {{NULL}}, "order problem ORDER_ID REASON", s_order_problem},
    {"order",
     "resolve",
     1,
     1,
     {{"--note", true}},
     "order resolve ORDER_ID [--note TEXT]",
     s_order_note},
    {"order",
     "document",
     2,
     2,
     {{"--out", true}},
     "order document ORDER_ID application|checklist|coupon --out FILE",
     s_order_document},
    {"ident",
     "record",
     1,
     1,
     {S_RESULT_OPTS},
     "ident record ORDER_ID --ok|--failed [--evidence REF] [--by NAME] [--reason TEXT]",
     s_ident_record},
    {"ident",
     "postident",
     1,
     1,
     {S_RESULT_OPTS},
     "ident postident NUMBER --ok|--failed [--evidence REF] [--by BRANCH] [--reason TEXT]",
     s_ident_postident},
    {"ident",
     "cases",
     0,
     0,
     {{"--shop", true}, {"--all", false}},
     "ident cases [--shop SHOP_ID] [--all]",
     s_ident_cases},
    {"ident", "show", 1, 1, {{NULL}}, "ident show ORDER_ID", s_ident_show},
    {"ident",
     "new-attempt",
     1,
     1,
     {{"--note", true}},
     "ident new-attempt ORDER_ID [--note TEXT]",
     s_ident_new_attempt},
};
#define S_N_CMDS (sizeof s_cmds / sizeof s_cmds[0])

bool tpctl_ops_group(const char *group)
{
    for (size_t i = 0; i < S_N_CMDS; i++)
        if (streq(s_cmds[i].group, group))
            return true;
    return false;
}

void tpctl_ops_usage(FILE *f, const char *group)
{
    for (size_t i = 0; i < S_N_CMDS; i++)
        if (!group || streq(s_cmds[i].group, group))
            fprintf(f, "  tpctl [-c CONFIG] %s\n", s_cmds[i].usage);
}

int tpctl_ops(int argc, char **argv, const char *config_path)
{
    assert(argc >= 1);
    const s_cmd_t *cmd = NULL;
    for (size_t i = 0; argc >= 2 && i < S_N_CMDS; i++)
        if (streq(s_cmds[i].group, argv[0]) && streq(s_cmds[i].name, argv[1]))
            cmd = &s_cmds[i];
    if (!cmd) {
        if (argc >= 2)
            fprintf(stderr, "tpctl: %s has no command '%.64s'\n", argv[0], argv[1]);
        fprintf(stderr, "usage (every command also takes --request-id ID):\n");
        tpctl_ops_usage(stderr, argv[0]);
        return 2;
    }
    s_args_t a;
    char why[160];
    if (!s_parse(cmd, argc - 2, argv + 2, &a, why, sizeof why))
        return s_usage_of(cmd, why);
    return cmd->fn(cmd, &a, config_path);
}
