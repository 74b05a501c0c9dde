/* gw_privacy.c: a customer's data export and deletion request (gw_privacy.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "account.pb-c.h"
#include "gw_json.h"
#include "gw_privacy.h"
#include "gw_session.h"
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"

/* ------------------------------------------------------------------ export */

/* One owner-scoped query on @p svc: its reply as JSON (type @p desc), or NULL after
 * responding. */
static json_t *s_query(gw_req_t *req, gw_ctx_t *ctx, gw_svc_t svc, const char *command,
                       const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *desc)
{
    Tp__Reply *r = gw_handler_call_on(req, svc, ctx, command, msg);
    if (!r)
        return NULL;
    json_t *json = gw_json_from_reply(desc, r, NULL);
    tp__reply__free_unpacked(r, NULL);
    if (!json)
        gw_json_error(req, 502, "internal", "", "the %s service sent a reply that does not decode",
                      gw_svc_name(svc));
    return json;
}

/* The items (array @p member) of an owner-scoped list query: a new reference ([] when
 * there are none), or NULL after responding. */
static json_t *s_list(gw_req_t *req, gw_ctx_t *ctx, gw_svc_t svc, const char *command,
                      const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *desc,
                      const char *member)
{
    json_t *list = s_query(req, ctx, svc, command, msg, desc);
    if (!list)
        return NULL;
    json_t *a = json_object_get(list, member);
    a = json_is_array(a) ? json_incref(a) : json_array();
    json_decref(list);
    return a;
}

static bool s_is(json_t *obj, const char *member, const char *want)
{
    const char *v = json_string_value(json_object_get(obj, member));
    return v && strcmp(v, want) == 0;
}

/* True when every item of @p arr has @p member equal to @p want. */
static bool s_all(json_t *arr, const char *member, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (!s_is(v, member, want)) return false;
    return true;
}

/* True when every item of @p arr names (its "orderId") one of @p orders. */
static bool s_of_orders(json_t *arr, json_t *orders)
{
    size_t i, k;
    json_t *v, *o;
    json_array_foreach(arr, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "orderId"));
        bool found = false;
        json_array_foreach(orders, k, o) found = found || (id && s_is(o, "orderId", id));
        if (!found)
            return false;
    }
    return true;
}

/* The document without its header, or NULL after responding. Each service scopes its query
 * to the actor; checked here again, so that a fault there is a refused download and not
 * another customer's data in this one's file. O(orders x (products + requests)): a
 * customer's handful. */
static json_t *s_gather(gw_req_t *req, gw_ctx_t *ctx, const char *me)
{
    Tp__Account__GetAccount ga = TP__ACCOUNT__GET_ACCOUNT__INIT;
    Tp__Order__ListOrders lo = TP__ORDER__LIST_ORDERS__INIT, la = TP__ORDER__LIST_ORDERS__INIT;
    Tp__Production__ListProducts lp = TP__PRODUCTION__LIST_PRODUCTS__INIT;
    Tp__Revocation__ListOwnRequests lr = TP__REVOCATION__LIST_OWN_REQUESTS__INIT;
    la.archived = true;
    /* one after the other, each only when the one before came: a failure has responded */
    json_t *account = s_query(req, ctx, GW_SVC_ACCOUNT, "account.GetAccount", &ga.base,
                              &tp__account__account_view__descriptor);
    json_t *orders = account ? s_list(req, ctx, GW_SVC_ORDER, "order.ListOrders", &lo.base,
                                      &tp__order__order_list__descriptor, "orders")
                             : NULL;
    json_t *archived = orders ? s_list(req, ctx, GW_SVC_ORDER, "order.ListOrders", &la.base,
                                       &tp__order__order_list__descriptor, "orders")
                              : NULL;
    json_t *products = archived
                           ? s_list(req, ctx, GW_SVC_PRODUCTION, "production.ListProducts",
                                    &lp.base, &tp__production__product_list__descriptor, "products")
                           : NULL;
    json_t *revs = products
                       ? s_list(req, ctx, GW_SVC_REVOCATION, "revocation.ListOwnRequests", &lr.base,
                                &tp__revocation__request_list__descriptor, "requests")
                       : NULL;
    json_t *doc = NULL;
    if (!revs)
        goto done;
    json_array_extend(orders, archived);
    if (!s_is(account, "accountId", me) || !s_all(orders, "accountId", me) ||
        !s_all(products, "accountId", me) || !s_of_orders(products, orders) ||
        !s_of_orders(revs, orders)) {
        zsys_error("gateway: the data export of account %s would hold another account's data; "
                   "refused",
                   me);
        gw_json_error(req, 500, "internal", "", "the export could not be made");
        goto done;
    }
    doc = json_pack("{s:O, s:O, s:O, s:O}", "account", account, "orders", orders, "products",
                    products, "revocationRequests", revs);
    if (!doc)
        gw_json_error(req, 500, "internal", "", "out of memory");
done:
    json_decref(account);
    json_decref(orders);
    json_decref(archived);
    json_decref(products);
    json_decref(revs);
    return doc;
}

void gw_privacy_export(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    const char *me = ctx->session.info->account_id;
    json_t *doc = s_gather(req, ctx, me);
    if (!doc)
        return;
    time_t now = time(NULL);
    struct tm tm;
    char at[32] = "", day[16] = "", disp[80];
    if (gmtime_r(&now, &tm)) {
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
    }
    /* the header first (jansson keeps the order members are set in), indented: a file
     * for people to read as much as for programs */
    json_t *out = json_pack("{s:s, s:s}", "format", GW_EXPORT_FORMAT, "generatedAt", at);
    char *text = out && json_object_update(out, doc) == 0 ? json_dumps(out, JSON_INDENT(2)) : NULL;
    json_decref(out);
    json_decref(doc);
    if (!text) {
        gw_json_error(req, 500, "internal", "", "out of memory");
        return;
    }
    snprintf(disp, sizeof disp, "attachment; filename=\"trustportal-data-%s.json\"", day);
    const gw_header_t h[] = {{"Content-Disposition", disp}};
    gw_respond_take(req, route->status, GW_JSON_TYPE, text, strlen(text), h, 1);
}

/* ------------------------------------------------------------------ deletion request */

void gw_privacy_deletion(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = gw_handler_call(req, route, ctx, route->command, ctx->msg);
    if (!r)
        return;
    gw_session_invalidate(); /* the session shows the open request */
    gw_handler_ok_reply(req, route, r);
    tp__reply__free_unpacked(r, NULL);
}
