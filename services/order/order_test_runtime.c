/* order_test_runtime.c: the order core inside the real runtime, in-process: the seed
 * by the first command, the revocation password hashed on the worker pool, a
 * document over the wire, and the same state after a restart. */
#include <string.h>
#include <unistd.h>
#include "evs_bus.h"
#include "order_test.h"

static Tp__Reply *s_call(evs_client_t *client, const char *request_id, const char *role,
                         const char *account, const char *command, const ProtobufCMessage *body)
{
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = (char *) (request_id ? request_id : "");
    hdr.actor_role = (char *) role;
    hdr.actor_account = (char *) account;
    Tp__Reply *reply = NULL;
    if (evs_client_call(client, &hdr, command, body, 20000, &reply) != 0)
        return NULL;
    return reply;
}

static zactor_t *s_start(svc_args_t *args)
{
    zactor_t *actor = zactor_new(svc_actor, args);
    char *status = actor ? zstr_recv(actor) : NULL;
    bool ok = status && streq(status, "READY");
    zstr_free(&status);
    if (!ok)
        zactor_destroy(&actor);
    return actor;
}

static char *s_summary(evs_client_t *client)
{
    Tp__Reply *r = s_call(client, NULL, "operator", "", "$summary", NULL);
    char *s = r && r->ok ? strndup((char *) r->body.data, r->body.len) : NULL;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return s;
}

void ot_test_runtime(void)
{
    char tmpl[] = "/tmp/tp-order-rt-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return;
    zconfig_t *cfg = zconfig_new("root", NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/data", dir);
    zconfig_put(cfg, "data", path);
    zconfig_put(cfg, "run", dir);
    zconfig_put(cfg, "tick_ms", "60000");   /* the first command seeds, not the tick */
    zconfig_put(cfg, "workers", "1");
    svc_args_t args = {&order_def, cfg, NULL, NULL, NULL};
    zactor_t *order = s_start(&args);
    CHECK(order != NULL);
    char ep[600];
    svc_endpoint(cfg, "order", "router", ep, sizeof ep);
    evs_client_t *c = evs_client_new(ep);

    /* a bad password is reported with the other bad fields, after the worker pool */
    ot_form_t f;
    ot_form(&f, "signature-card", "postident", NULL);
    f.cmd.revocation_password = "kurz";
    f.app.birth_date = "1980-02-30";
    Tp__Reply *r = s_call(c, "rt-1", "customer", "acc-a", "order.PlaceOrder", &f.cmd.base);
    CHECK(r && !r->ok && r->n_errors == 2);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* placed: the seed comes first (8 events), then the order; the hash is in the log */
    f.cmd.revocation_password = "Sperr-Passwort 1";
    f.app.birth_date = "1980-05-17";
    r = s_call(c, "rt-2", "customer", "acc-a", "order.PlaceOrder", &f.cmd.base);
    CHECK(r && r->ok && r->last_seq == 9);
    Tp__Order__OrderView *v =
        r && r->ok ? tp__order__order_view__unpack(NULL, r->body.len, r->body.data) : NULL;
    char id[64] = "";
    if (v)
        snprintf(id, sizeof id, "%s", v->order_id);
    CHECK(v && strncmp(id, "TP-", 3) == 0 && streq(v->status, "offen"));
    if (v)
        tp__order__order_view__free_unpacked(v, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    /* the same request id again: the same answer, nothing written */
    r = s_call(c, "rt-2", "customer", "acc-a", "order.PlaceOrder", &f.cmd.base);
    CHECK(r && r->ok && r->replayed && r->last_seq == 9);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* the application PDF over the wire; another account gets not_found */
    Tp__Order__GetDocument gd = TP__ORDER__GET_DOCUMENT__INIT;
    gd.order_id = id;
    gd.kind = "application";
    r = s_call(c, NULL, "customer", "acc-a", "order.GetDocument", &gd.base);
    Tp__Order__Document *doc =
        r && r->ok ? tp__order__document__unpack(NULL, r->body.len, r->body.data) : NULL;
    CHECK(doc && doc->content.len > 1000 && memcmp(doc->content.data, "%PDF-", 5) == 0);
    if (doc)
        tp__order__document__free_unpacked(doc, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    r = s_call(c, NULL, "customer", "acc-b", "order.GetDocument", &gd.base);
    CHECK(r && !r->ok && r->n_errors == 1 && streq(r->errors[0]->code, "not_found"));
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* restart: the state rebuilt from the log is the same, and nothing is seeded again */
    char *before = s_summary(c);
    zactor_destroy(&order);
    order = s_start(&args);
    CHECK(order != NULL);
    /* a fresh connection: a request queued for the old process may be lost with it */
    evs_client_destroy(&c);
    c = evs_client_new(ep);
    char *after = s_summary(c);
    CHECK(before && after && streq(before, after) && strstr(after, "\"events\":9,"));
    if (ot_verbose)
        printf("runtime: %s\n", after ? after : "(none)");
    free(before);
    free(after);

    evs_client_destroy(&c);
    zactor_destroy(&order);
    zconfig_destroy(&cfg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}
