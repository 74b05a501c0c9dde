/* order_test_runtime.c: the order core inside the real runtime, in-process
 * (svc_testkit.h): the seed by the first command, the revocation password hashed on the
 * worker pool, a document over the wire, the customer named in the events, and the same
 * state after a restart. */
#include <string.h>
#include <unistd.h>
#include "evs_bus.h"
#include "order_test.h"
#include "svc_testkit.h"

/* The order service and the upstreams it follows by default (their keys only: they do
 * not run here, so the subscriptions wait). */
static const char *const s_services[] = {"order", "identification", "production", "account",
                                         NULL};

/* One call to the order service as @p role / @p account. */
static Tp__Reply *s_call(svc_tk_t *kit, const char *request_id, const char *role,
                         const char *account, const char *command, const ProtobufCMessage *body)
{
    return svc_tk_call(kit, "order", role, account, request_id, command, body, 20000);
}

void ot_test_runtime(void)
{
    svc_tk_t *kit = svc_tk_new("order-rt", s_services);
    CHECK(kit != NULL);
    if (!kit)
        return;
    zconfig_t *cfg = svc_tk_config(kit);
    zconfig_put(cfg, "tick_ms", "60000"); /* the first command seeds, not the tick */
    zconfig_put(cfg, "workers", "1");
    svc_args_t args = {&order_def, cfg, NULL, NULL, NULL};
    zactor_t *order = svc_tk_start(&args);
    CHECK(order != NULL);

    /* a bad password is reported with the other bad fields, after the worker pool */
    ot_form_t f;
    ot_form(&f, "signature-card", "postident", NULL);
    f.cmd.revocation_password = "kurz";
    f.app.birth_date = "1980-02-30";
    Tp__Reply *r = s_call(kit, "rt-1", "customer", "acc-a", "order.PlaceOrder", &f.cmd.base);
    CHECK(r && !r->ok && r->n_errors == 2);
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* placed: the seed comes first (8 events), then the order; the hash is in the log */
    f.cmd.revocation_password = "Sperr-Passwort 1";
    f.app.birth_date = "1980-05-17";
    r = s_call(kit, "rt-2", "customer", "acc-a", "order.PlaceOrder", &f.cmd.base);
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
    /* the event names the customer who placed it */
    Tp__Envelope *env = svc_tk_event(kit, "order", 9);
    CHECK(env && streq(env->event_type, "OrderPlaced") && streq(env->actor, "customer:acc-a"));
    if (env)
        tp__envelope__free_unpacked(env, NULL);
    /* the same request id again: the same answer, nothing written */
    r = s_call(kit, "rt-2", "customer", "acc-a", "order.PlaceOrder", &f.cmd.base);
    CHECK(r && r->ok && r->replayed && r->last_seq == 9);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    /* placing is for customers: a visitor is told to log in, the operator is refused,
     * nothing written */
    r = s_call(kit, "rt-3", "", NULL, "order.PlaceOrder", &f.cmd.base);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "unauthenticated"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    r = s_call(kit, "rt-4", "operator", NULL, "order.PlaceOrder", &f.cmd.base);
    CHECK(r && !r->ok && streq(r->errors[0]->code, "forbidden"));
    if (r)
        tp__reply__free_unpacked(r, NULL);
    CHECK(svc_tk_head(kit, "order") == 9);

    /* the application PDF over the wire; another account gets not_found */
    Tp__Order__GetDocument gd = TP__ORDER__GET_DOCUMENT__INIT;
    gd.order_id = id;
    gd.kind = "application";
    r = s_call(kit, NULL, "customer", "acc-a", "order.GetDocument", &gd.base);
    Tp__Order__Document *doc =
        r && r->ok ? tp__order__document__unpack(NULL, r->body.len, r->body.data) : NULL;
    CHECK(doc && doc->content.len > 1000 && memcmp(doc->content.data, "%PDF-", 5) == 0);
    if (doc)
        tp__order__document__free_unpacked(doc, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    r = s_call(kit, NULL, "customer", "acc-b", "order.GetDocument", &gd.base);
    CHECK(r && !r->ok && r->n_errors == 1 && streq(r->errors[0]->code, "not_found"));
    if (r)
        tp__reply__free_unpacked(r, NULL);

    /* restart: the state rebuilt from the log is the same, and nothing is seeded again */
    char *before = svc_tk_summary(kit, "order");
    zactor_destroy(&order);
    order = svc_tk_start(&args);
    CHECK(order != NULL);
    /* fresh connections: a request queued for the old process may be lost with it */
    svc_tk_forget(kit, "order");
    char *after = svc_tk_summary(kit, "order");
    CHECK(before && after && streq(before, after) && strstr(after, "\"events\":9,"));
    if (svc_tc_verbose())
        printf("runtime: %s\n", after ? after : "(none)");
    free(before);
    free(after);

    zactor_destroy(&order);
    svc_tk_destroy(&kit);
}
