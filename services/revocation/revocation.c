/* revocation.c: the revocation core's commands (the owner, an officer, an operator)
 * and its table. RevokeWithPassword is in revocation_password.c. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "svc_text.h"
#include "revocation_internal.h"

/* ------------------------------------------------------------------ shared */

bool rvk_request_revocation(const rvk_product_t *p, const svc_ctx_t *ctx, const char *reason,
                            const char *comment, const char *requested_by,
                            const char *authenticated_by, const char *detail, const rvk_state_t *st,
                            char *id_out, bool reply, svc_out_t *out)
{
    /* request ids are random: they are shown to customers and must not reveal how many
     * revocations the TSP processes */
    bool any = false;
    for (size_t i = 0; i < 8; i++)
        any |= ctx->random && ctx->random[i];
    if (!any) {
        svc_out_error(out, "internal", NULL, "no randomness for the request id");
        return false;
    }
    char hex[17];
    sodium_bin2hex(hex, sizeof hex, ctx->random, 8);
    snprintf(id_out, 24, "rev-%s", hex);
    if (rvk_request(st, id_out)) {
        svc_out_error(out, "internal", NULL, "request id collision; retry");
        return false;
    }
    size_t n = zlistx_size(p->serials), i = 0;
    char **serials = calloc(n + 1, sizeof *serials);
    if (!serials) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return false;
    }
    for (char *s = zlistx_first(p->serials); s && i < n; s = zlistx_next(p->serials))
        serials[i++] = s;
    Tp__Revocation__RevocationRequested ev = TP__REVOCATION__REVOCATION_REQUESTED__INIT;
    ev.request_id = id_out;
    ev.product_id = p->product_id;
    ev.order_id = p->order_id;
    ev.reason = (char *) reason;
    ev.comment = (char *) rvk_s(comment);
    ev.requested_by = (char *) requested_by;
    ev.authenticated_by = (char *) authenticated_by;
    ev.authentication_detail = (char *) rvk_s(detail);
    ev.received_at_us = ctx->now_us;
    ev.serials = serials;
    ev.n_serials = i;
    char stream[RVK_STREAM_MAX];
    rvk_product_stream(stream, sizeof stream, p->order_id);
    svc_out_event(out, stream, &ev.base);
    if (reply) {
        rvk_request_t r = {&ev, (rvk_product_t *) p, NULL};
        Tp__Revocation__RevocationView v = TP__REVOCATION__REVOCATION_VIEW__INIT;
        rvk_view_of(&r, &v);
        svc_out_reply(out, &v.base);
    }
    free(serials);
    return !svc_out_failed(out);
}

/* ------------------------------------------------------------------ commands */

/* The owner, logged in: another account's product is "not_found", like a missing one. */
static void s_request(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                      svc_out_t *out)
{
    const rvk_state_t *st = state;
    const Tp__Revocation__RequestRevocation *cmd = (const Tp__Revocation__RequestRevocation *) msg;
    const char *actor = ctx->header->actor_account;
    if (!*actor) {
        svc_out_error(out, "unauthenticated", NULL, "please log in");
        return;
    }
    if (!rvk_valid_id(cmd->product_id))
        svc_out_error(out, "invalid", "productId", "is required");
    rvk_check_reason(out, cmd->reason, cmd->comment);
    if (svc_out_failed(out))
        return;
    const rvk_product_t *p = rvk_find_product(st, cmd->product_id);
    if (!p || !p->account_id || !streq(p->account_id, actor)) {
        svc_out_error(out, "not_found", "productId", "no such product");
        return;
    }
    char id[24];
    if (rvk_check_revocable(p, "productId", out))
        rvk_request_revocation(p, ctx, cmd->reason, cmd->comment, actor, "session",
                               ctx->header->client_addr, st, id, true, out);
}

/* An authorized third party: an active officer of the shop the order came from, for seal
 * cards (the organization named in the certificate). Signature cards belong to a person,
 * whom only the holder, the password or an operator can speak for. */
static void s_officer(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                      svc_out_t *out)
{
    const rvk_state_t *st = state;
    const Tp__Revocation__RevokeAsOfficer *cmd = (const Tp__Revocation__RevokeAsOfficer *) msg;
    const char *actor = ctx->header->actor_account;
    if (!*actor) {
        svc_out_error(out, "unauthenticated", NULL, "please log in");
        return;
    }
    if (!rvk_valid_id(cmd->product_id))
        svc_out_error(out, "invalid", "productId", "is required");
    rvk_check_reason(out, cmd->reason, cmd->comment);
    if (svc_out_failed(out))
        return;
    if (!rvk_is_any_officer(st, actor)) {
        svc_out_error(out, "forbidden", NULL, "only an officer of a shop can revoke as officer");
        return;
    }
    /* products of other shops are as invisible as missing ones */
    const rvk_product_t *p = rvk_find_product(st, cmd->product_id);
    if (!p || !rvk_is_officer(st, actor, p->shop_id)) {
        svc_out_error(out, "not_found", "productId", "no such product in your shops");
        return;
    }
    if (!p->product_type || !streq(p->product_type, RVK_SEAL_CARD)) {
        svc_out_error(out, "forbidden", "productId",
                      "officers can revoke seal cards only; a signature card is revoked by "
                      "its holder (in the portal or with the revocation password)");
        return;
    }
    char id[24], detail[RVK_ID_MAX + 32];
    snprintf(detail, sizeof detail, "officer of shop %s", p->shop_id);
    if (rvk_check_revocable(p, "productId", out))
        rvk_request_revocation(p, ctx, cmd->reason, cmd->comment, actor, "officer", detail, st, id,
                               true, out);
}

/* Support, on behalf of a caller: the evidence names the caller, the operator and how
 * the operator made sure of the caller. */
static void s_operator(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                       svc_out_t *out)
{
    const rvk_state_t *st = state;
    const Tp__Revocation__RevokeAsOperator *cmd = (const Tp__Revocation__RevokeAsOperator *) msg;
    const Tp__RequestHeader *h = ctx->header;
    if (!streq(h->actor_role, "operator")) {
        svc_out_error(out, "forbidden", NULL, "operators only");
        return;
    }
    /* the operator must be named: the account, else where the request came from */
    const char *who = *h->actor_account ? h->actor_account : h->client_addr;
    if (!*who)
        svc_out_error(out, "invalid", "header.actorAccount",
                      "the operator must be named for the evidence");
    if (!rvk_valid_id(cmd->product_id))
        svc_out_error(out, "invalid", "productId", "is required");
    rvk_check_reason(out, cmd->reason, cmd->comment);
    long n = svc_text_len(cmd->caller, false);
    if (n < 1 || n > RVK_CALLER_MAX)
        svc_out_error(out, "invalid", "caller", "who asked: 1 to %d characters of text",
                      RVK_CALLER_MAX);
    n = svc_text_len(cmd->caller_authentication, false);
    if (n < 1 || n > RVK_CALLER_AUTH_MAX)
        svc_out_error(out, "invalid", "callerAuthentication",
                      "how the caller was authenticated: 1 to %d characters of text",
                      RVK_CALLER_AUTH_MAX);
    if (svc_out_failed(out))
        return;
    const rvk_product_t *p = rvk_find_product(st, cmd->product_id);
    if (!p) {
        svc_out_error(out, "not_found", "productId", "no such product");
        return;
    }
    char *detail =
        zsys_sprintf("operator %s; caller authenticated by: %s", who, cmd->caller_authentication);
    char id[24];
    if (!detail)
        svc_out_error(out, "internal", NULL, "out of memory");
    else if (rvk_check_revocable(p, "productId", out))
        rvk_request_revocation(p, ctx, cmd->reason, cmd->comment, cmd->caller, "operator", detail,
                               st, id, true, out);
    zstr_free(&detail);
}

/* ------------------------------------------------------------------ the table */

#define S_CMD(name, type, query, prepare, decide, lookup, reply, who)                              \
    {                                                                                              \
        name, &tp__revocation__##type##__descriptor, query, prepare, decide, lookup, false,        \
            &tp__revocation__##reply##__descriptor, who                                            \
    }

/* Commands and queries, with their reply types (tools and the gateway decode by them). */
static const svc_command_t s_commands[] = {
    S_CMD("RequestRevocation", request_revocation, false, NULL, s_request, NULL, revocation_view, SVC_CUSTOMER | SVC_OFFICER),
    S_CMD("RevokeWithPassword", revoke_with_password, false, rvk_prepare_password,
          rvk_revoke_with_password, rvk_lookup_password, revocation_answer, SVC_GATEWAY),
    S_CMD("RevokeAsOfficer", revoke_as_officer, false, NULL, s_officer, NULL, revocation_view, SVC_OFFICER),
    S_CMD("RevokeAsOperator", revoke_as_operator, false, NULL, s_operator, NULL, revocation_view, SVC_OPERATOR),
    S_CMD("ListRequests", list_requests, true, NULL, rvk_list_requests, NULL, request_list, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR),
    S_CMD("GetRequest", get_request, true, NULL, rvk_get_request, NULL, revocation_view, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR),
    S_CMD("ListOwnRequests", list_own_requests, true, NULL, rvk_list_own_requests, NULL, request_list, SVC_CUSTOMER | SVC_OFFICER),
    S_CMD("GetRevocationList", get_revocation_list, true, NULL, rvk_get_revocation_list, NULL,
          revocation_list, SVC_GATEWAY | SVC_OPERATOR),
};

/* The services that follow this one (its "$read" and PUB socket). */
static const char *const s_followers[] = {"production", "account", NULL};
/* the applicant's data in the order's events (opened with the order's keys: svc_seal.h) */
static const char *const s_personal_from[] = {"order", NULL};
static const char *const s_upstreams[] = {"order", "production", "account", NULL};

/* what react acts on; every other upstream event is skipped without a commit */
static const char *const s_reacts_to[] = {"OrderPlaced", "CertificatesCreated", "CardProduced",
    "CardShipped", "OfficerAppointed", "OfficerRevoked", "AccountDeleted", NULL};

const svc_def_t revocation_def = {
    .name = "revocation",
    .state_new = rvk_state_new,
    .state_destroy = rvk_state_destroy,
    .apply = rvk_apply,
    .commands = s_commands,
    .n_commands = sizeof s_commands / sizeof s_commands[0],
    .react = rvk_react,
    .tick = rvk_tick,
    .upstreams = s_upstreams,
    .followers = s_followers,
    .reacts_to = s_reacts_to,
    .personal_from = s_personal_from,
    .summary = rvk_summary,
    .configure = rvk_configure,
    /* what it learns from upstream (owners, products, officers) is needed only when
     * someone revokes: 20 ms gathers it into fewer commits, and leaves the disk to the
     * status changes customers wait for (the order service's) */
    .react_delay_ms = 20,
    .settings = rvk_settings,
};
