/* revocation_query.c: the revocation core's queries (requests with their evidence, the
 * revocation list) and its summary. */
#include <inttypes.h>
#include <string.h>
#include "revocation_internal.h"
#include "svc_digest.h"

void rvk_view_of(const rvk_request_t *r, Tp__Revocation__RevocationView *v)
{
    const Tp__Revocation__RevocationRequested *e = r->requested;
    v->request_id = e->request_id;
    v->product_id = e->product_id;
    v->order_id = e->order_id;
    v->reason = e->reason;
    v->comment = e->comment;
    v->requested_by = e->requested_by;
    v->authenticated_by = e->authenticated_by;
    v->authentication_detail = e->authentication_detail;
    v->decision = r->completed ? "completed" : "accepted";
    v->received_at_us = e->received_at_us;
    v->completed_at_us = r->completed ? r->completed->completed_at_us : 0;
    /* once completed, the serials that went onto the list */
    v->serials = r->completed ? r->completed->serials : e->serials;
    v->n_serials = r->completed ? r->completed->n_serials : e->n_serials;
}

/* The requests of @p list, in its order: each with its evidence when @p owner is NULL; else
 * only those for the cards of @p owner's orders, without the evidence that names other
 * people (who asked for the owner's card and how they were checked: an officer, a caller
 * and the operator, a client address); the owner's own requests from its session name
 * only the owner. O(requests); paging can come when the list grows long. */
static void s_reply_requests(zlistx_t *list, const char *owner, svc_out_t *out)
{
    size_t n = zlistx_size(list), i = 0;
    Tp__Revocation__RevocationView *views = calloc(n + 1, sizeof *views);
    Tp__Revocation__RevocationView **ptrs = calloc(n + 1, sizeof *ptrs);
    if (!views || !ptrs) {
        svc_out_error(out, "internal", NULL, "out of memory");
        goto done;
    }
    for (rvk_request_t *r = zlistx_first(list); r && i < n; r = zlistx_next(list)) {
        if (owner && !(r->product && r->product->account_id &&
                       streq(r->product->account_id, owner)))
            continue;
        tp__revocation__revocation_view__init(&views[i]);
        rvk_view_of(r, &views[i]);
        if (owner && !streq(views[i].authenticated_by, "session")) {
            views[i].requested_by = "";
            views[i].authentication_detail = "";
        }
        ptrs[i] = &views[i];
        i++;
    }
    Tp__Revocation__RequestList reply = TP__REVOCATION__REQUEST_LIST__INIT;
    reply.requests = ptrs;
    reply.n_requests = i;
    svc_out_reply(out, &reply.base);
done:
    free(views);
    free(ptrs);
}

/* Every request, or the open ones, in the order received. */
void rvk_list_requests(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                       svc_out_t *out)
{
    const rvk_state_t *st = state;
    const Tp__Revocation__ListRequests *q = (const Tp__Revocation__ListRequests *) msg;
    if (!streq(ctx->header->actor_role, "operator")) {
        svc_out_error(out, "forbidden", NULL, "operators only");
        return;
    }
    s_reply_requests(q->open_only ? st->open : st->received, NULL, out);
}

/* The owner's own: the requests for the cards of its orders, in the order received. */
void rvk_list_own_requests(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                           svc_out_t *out)
{
    const rvk_state_t *st = state;
    const char *actor = ctx->header->actor_account;
    if (!*actor) {
        svc_out_error(out, "unauthenticated", NULL, "please log in");
        return;
    }
    s_reply_requests(st->received, actor, out);
}

/* Operators see any request, owners their own; the rest is "not_found", like a missing
 * one. */
void rvk_get_request(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                     svc_out_t *out)
{
    const rvk_state_t *st = state;
    const Tp__Revocation__GetRequest *q = (const Tp__Revocation__GetRequest *) msg;
    const Tp__RequestHeader *h = ctx->header;
    const rvk_request_t *r = rvk_valid_id(q->request_id) ? rvk_request(st, q->request_id) : NULL;
    bool mine = r && r->product && r->product->account_id && *h->actor_account &&
                streq(r->product->account_id, h->actor_account);
    if (!r || !(streq(h->actor_role, "operator") || mine)) {
        svc_out_error(out, "not_found", "requestId", "no such revocation request");
        return;
    }
    Tp__Revocation__RevocationView v = TP__REVOCATION__REVOCATION_VIEW__INIT;
    rvk_view_of(r, &v);
    svc_out_reply(out, &v.base);
}

/* Public: serials, when revoked, why. Who asked stays out of it. */
void rvk_get_revocation_list(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                             svc_out_t *out)
{
    const rvk_state_t *st = state;
    size_t n = 0, i = 0;
    for (rvk_request_t *r = zlistx_first(st->revoked); r; r = zlistx_next(st->revoked))
        n += r->completed->n_serials;
    Tp__Revocation__RevokedSerial *entries = calloc(n + 1, sizeof *entries);
    Tp__Revocation__RevokedSerial **ptrs = calloc(n + 1, sizeof *ptrs);
    if (!entries || !ptrs) {
        svc_out_error(out, "internal", NULL, "out of memory");
        goto done;
    }
    for (rvk_request_t *r = zlistx_first(st->revoked); r; r = zlistx_next(st->revoked))
        for (size_t j = 0; j < r->completed->n_serials && i < n; j++, i++) {
            tp__revocation__revoked_serial__init(&entries[i]);
            entries[i].serial = r->completed->serials[j];
            entries[i].revoked_at_us = r->completed->completed_at_us;
            entries[i].reason = r->completed->reason;
            ptrs[i] = &entries[i];
        }
    Tp__Revocation__RevocationList reply = TP__REVOCATION__REVOCATION_LIST__INIT;
    reply.entries = ptrs;
    reply.n_entries = i;
    reply.generated_at_us = ctx->now_us;
    svc_out_reply(out, &reply.base);
done:
    free(entries);
    free(ptrs);
}

/* ------------------------------------------------------------------ summary */

static void s_digest_products(const rvk_state_t *st, svc_digest_t *d, size_t *shipped)
{
    zlistx_t *keys = svc_sorted_keys(st->products);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        const rvk_product_t *p = rvk_product(st, k);
        *shipped += p->product_id != NULL;
        svc_digest_line(d, "product %s|%s|%s|%s|%s|%s|%s|%" PRId64 "|%s|%" PRId64, k,
                        rvk_s(p->product_id), rvk_s(p->account_id), rvk_s(p->shop_id),
                        rvk_s(p->product_type), rvk_s(p->card_number), rvk_s(p->password_hash),
                        p->shipped_at_us, p->request ? p->request->requested->request_id : "",
                        p->told_at_us);
        for (const char *s = zlistx_first(p->serials); s; s = zlistx_next(p->serials))
            svc_digest_line(d, "serial %s", s);
    }
    zlistx_destroy(&keys);
}

static void s_digest_requests(const rvk_state_t *st, svc_digest_t *d)
{
    zlistx_t *keys = svc_sorted_keys(st->requests);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        const rvk_request_t *r = rvk_request(st, k);
        const Tp__Revocation__RevocationRequested *e = r->requested;
        const Tp__Revocation__RevocationCompleted *c = r->completed;
        svc_digest_line(d, "request %s|%s|%s|%s|%s|%s|%s|%s|%" PRId64 "|%" PRId64, k, e->product_id,
                        e->order_id, e->reason, e->comment, e->requested_by, e->authenticated_by,
                        e->authentication_detail, e->received_at_us,
                        c ? c->completed_at_us : (int64_t) 0);
        for (size_t i = 0; c && i < c->n_serials; i++)
            svc_digest_line(d, "revoked %s", c->serials[i]);
    }
    zlistx_destroy(&keys);
}

static void s_digest_windows(zhashx_t *windows, const char *kind, svc_digest_t *d)
{
    zlistx_t *keys = svc_sorted_keys(windows);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        const rvk_window_t *w = zhashx_lookup(windows, k);
        /* the times in order: which slot of the ring holds one depends on nothing else */
        int64_t sorted[RVK_WINDOW_MAX];
        size_t n = 0;
        for (size_t i = 0; i < RVK_WINDOW_MAX; i++) {
            size_t j = n++;
            for (; j > 0 && sorted[j - 1] > w->at[i]; j--)
                sorted[j] = sorted[j - 1];
            sorted[j] = w->at[i];
        }
        svc_digest_line(d, "%s %s", kind, k);
        for (size_t i = 0; i < n; i++)
            if (sorted[i])
                svc_digest_line(d, "at %" PRId64, sorted[i]);
    }
    zlistx_destroy(&keys);
}

/* Deterministic: counts, and the digest of the state in sorted order. */
char *rvk_summary(const void *state)
{
    const rvk_state_t *st = state;
    svc_digest_t d;
    svc_digest_init(&d);
    size_t shipped = 0, serials = 0;
    s_digest_products(st, &d, &shipped);
    zlistx_t *keys = svc_sorted_keys(st->officers.map);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys))
        svc_digest_line(&d, "officer %.*s %s", (int) strcspn(k, "\n"), k,
                        (const char *) zhashx_lookup(st->officers.map, k));
    zlistx_destroy(&keys);
    s_digest_requests(st, &d);
    s_digest_windows(st->fails_addr, "fails-addr", &d);
    for (rvk_request_t *r = zlistx_first(st->revoked); r; r = zlistx_next(st->revoked))
        serials += r->completed->n_serials;
    char hex[RVK_HEX_SIZE];
    svc_digest_hex(&d, hex);
    return zsys_sprintf("{\"events\":%" PRIu64 ",\"products\":%zu,\"shipped\":%zu,"
                        "\"officers\":%zu,\"requests\":%zu,\"open\":%zu,\"completed\":%zu,"
                        "\"revokedSerials\":%zu,\"failedAttempts\":%" PRIu64 ",\"digest\":\"%s\"}",
                        st->events, zhashx_size(st->products), shipped, zhashx_size(st->officers.map),
                        zhashx_size(st->requests), zlistx_size(st->open), zlistx_size(st->revoked),
                        serials, st->failed_attempts, hex);
}
