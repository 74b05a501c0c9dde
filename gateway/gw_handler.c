/* gw_handler.c: the steps handlers share: a service call, the answer, the generic handler. */
#include "gw_handler.h"
#include "gw_json.h"

Tp__Reply *gw_handler_call(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx,
                           const char *command, const ProtobufCMessage *msg)
{
    return gw_handler_call_on(req, route->svc, ctx, command, msg);
}

Tp__Reply *gw_handler_call_on(gw_req_t *req, gw_svc_t svc, gw_ctx_t *ctx, const char *command,
                              const ProtobufCMessage *msg)
{
    Tp__Reply *r = NULL;
    int rc = gw_backend_call(svc, &ctx->actor, command, msg, ctx->timeout_ms, &r);
    if (rc != GW_CALL_OK) {
        gw_json_call_failed(req, svc, rc);
        return NULL;
    }
    if (!r->ok) {
        gw_json_reply_errors(req, r);
        tp__reply__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

static void s_bad_reply(gw_req_t *req, const gw_route_t *route)
{
    gw_json_error(req, 502, "internal", "", "the %s service sent a reply that does not decode",
                  gw_svc_name(route->svc));
}

static const gw_header_t s_replayed[] = {{"Idempotent-Replayed", "true"}};

void gw_handler_ok(gw_req_t *req, const gw_route_t *route, const Tp__Reply *reply, json_t *json)
{
    if (!json) {
        s_bad_reply(req, route);
        return;
    }
    bool rp = reply && reply->replayed;
    gw_json_respond(req, route->status, json, rp ? s_replayed : NULL, rp ? 1 : 0);
}

void gw_handler_ok_reply(gw_req_t *req, const gw_route_t *route, const Tp__Reply *reply)
{
    size_t len = 0;
    char *text = gw_json_reply_text(route->reply, reply, &len);
    if (!text) {
        s_bad_reply(req, route);
        return;
    }
    bool rp = reply->replayed;
    gw_respond_take(req, route->status, GW_JSON_TYPE, text, len, rp ? s_replayed : NULL,
                    rp ? 1 : 0);
}

void gw_handler_generic(gw_req_t *req, const gw_route_t *route, gw_ctx_t *ctx)
{
    Tp__Reply *r = gw_handler_call(req, route, ctx, route->command, ctx->msg);
    if (!r)
        return;
    if (route->reply)
        gw_handler_ok_reply(req, route, r);
    else
        gw_handler_ok(req, route, r, json_object());
    tp__reply__free_unpacked(r, NULL);
}

bool gw_handler_refresh(gw_req_t *req, gw_ctx_t *ctx)
{
    int rc = gw_session_refresh(req, &ctx->session);
    if (rc > 0)
        gw_json_error(req, 401, "unauthenticated", "", "please log in");
    if (rc != 0)
        return false;
    if (ctx->actor.actor_account)
        ctx->actor.actor_account = ctx->session.info->account_id;
    return true;
}
