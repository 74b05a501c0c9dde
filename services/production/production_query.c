/* production_query.c: the production core's queries (products, jobs) and the views they
 * share. Queries run on the loop after each group commit, with the runtime's clock. */
#include <stdio.h>
#include <string.h>
#include "production_internal.h"

/* ------------------------------------------------------------------ views */

/* Fills @p v from @p job (a shipped one); everything is borrowed from the state. Whether
 * the product is active depends on @p now_us: expiry is not an event. */
static void s_product_fill(Tp__Production__ProductView *v, const prd_state_t *st,
                           const prd_job_t *job, int64_t now_us)
{
    tp__production__product_view__init(v);
    v->product_id = job->product_id;
    v->order_id = job->order_id;
    v->account_id = (char *) prd_s(job->account_id);
    v->product_type = (char *) prd_s(job->product_type);
    v->shop_id = (char *) prd_s(job->shop_id);
    v->card_number = (char *) prd_s(job->card_number);
    if (job->certs) {
        v->n_certificates = job->certs->n_certificates;
        v->certificates = job->certs->certificates;
    }
    v->status = (char *) prd_product_status(job);
    v->valid_from_us = job->valid_from_us;
    v->valid_to_us = job->valid_to_us;
    v->shipped_at_us = job->shipped_at_us;
    v->activated_at_us = job->activated_at_us;
    v->revoked_at_us = job->revoked_at_us;
    bool revoking = job->revocation_at_us || job->revoked_at_us;
    if (!job->activated_at_us && !revoking)
        v->activates_at_us = prd_activates_at(st, job);
    /* a requested revocation is irreversible: the card counts as revoked from then on */
    if (revoking)
        v->inactive_reason = "revoked";
    else if (now_us >= job->valid_to_us)
        v->inactive_reason = "expired";
    else if (!job->activated_at_us || now_us < job->valid_from_us)
        v->inactive_reason = "not_activated";
    else
        v->active = true;
}

static bool s_unscoped(const svc_ctx_t *ctx)
{
    const char *role = prd_s(ctx->header->actor_role);
    return streq(role, "operator") || streq(role, "system");
}

void prd_query_list_products(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                             svc_out_t *out)
{
    const prd_state_t *st = state;
    const char *actor = prd_s(ctx->header->actor_account);
    if (!*actor) {
        svc_out_error(out, "forbidden", NULL, "an account is required");
        return;
    }
    zlistx_t *mine = prd_products_of(st, actor);
    size_t n = mine ? zlistx_size(mine) : 0;
    Tp__Production__ProductView *views = n ? calloc(n, sizeof *views) : NULL;
    Tp__Production__ProductView **ptrs = n ? calloc(n, sizeof *ptrs) : NULL;
    if (n && (!views || !ptrs)) {
        free(views);
        free(ptrs);
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    Tp__Production__ProductList list = TP__PRODUCTION__PRODUCT_LIST__INIT;
    list.products = ptrs;
    /* newest shipment first, as "Meine Produkte" shows them */
    for (const prd_job_t *job = mine ? zlistx_last(mine) : NULL; job && list.n_products < n;
         job = zlistx_prev(mine)) {
        s_product_fill(&views[list.n_products], st, job, ctx->now_us);
        ptrs[list.n_products] = &views[list.n_products];
        list.n_products++;
    }
    svc_out_reply(out, &list.base);
    free(views);
    free(ptrs);
}

void prd_query_get_product(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                           svc_out_t *out)
{
    const prd_state_t *st = state;
    const Tp__Production__GetProduct *q = (const Tp__Production__GetProduct *) msg;
    const char *actor = prd_s(ctx->header->actor_account);
    if (!*actor && !s_unscoped(ctx)) {
        svc_out_error(out, "forbidden", NULL, "an account is required");
        return;
    }
    if (!*prd_s(q->product_id)) {
        svc_out_error(out, "invalid", "productId", "is required");
        return;
    }
    /* another account's product answers exactly like a missing one: ids cannot be probed */
    const prd_job_t *job = prd_product(st, q->product_id);
    if (!job || !(s_unscoped(ctx) || streq(prd_s(job->account_id), actor))) {
        svc_out_error(out, "not_found", "productId", "no such product");
        return;
    }
    Tp__Production__ProductView v;
    s_product_fill(&v, st, job, ctx->now_us);
    svc_out_reply(out, &v.base);
}

void prd_reply_job(const prd_state_t *st, const prd_job_t *job, svc_out_t *out)
{
    Tp__Production__JobView v = TP__PRODUCTION__JOB_VIEW__INIT;
    v.order_id = job->order_id;
    v.status = (char *) prd_job_status(job);
    v.account_id = (char *) prd_s(job->account_id);
    v.product_type = (char *) prd_s(job->product_type);
    v.shop_id = (char *) prd_s(job->shop_id);
    v.product_id = (char *) prd_s(job->product_id);
    v.card_number = (char *) prd_s(job->card_number);
    v.tracking_number = (char *) prd_s(job->tracking_number);
    v.pin_tracking_number = (char *) prd_s(job->pin_tracking_number);
    if (job->certs) {
        v.n_certificates = job->certs->n_certificates;
        v.certificates = job->certs->certificates;
    }
    v.opened_at_us = job->opened_at_us;
    v.certificates_at_us = job->certs_at_us;
    v.produced_at_us = job->produced_at_us;
    v.shipped_at_us = job->shipped_at_us;
    v.pin_shipped_at_us = job->pin_shipped_at_us;
    v.card_delivered_at_us = job->card_delivered_at_us;
    v.pin_delivered_at_us = job->pin_delivered_at_us;
    v.completed_at_us = job->completed_at_us;
    svc_out_reply(out, &v.base);
}

void prd_query_get_job(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                       svc_out_t *out)
{
    const Tp__Production__GetJob *q = (const Tp__Production__GetJob *) msg;
    const char *role = prd_s(ctx->header->actor_role);
    if (!streq(role, "operator") && !streq(role, "producer")) {
        svc_out_error(out, "forbidden", NULL, "operators and producers only");
        return;
    }
    if (!*prd_s(q->order_id)) {
        svc_out_error(out, "invalid", "orderId", "is required");
        return;
    }
    const prd_job_t *job = prd_job(state, q->order_id);
    if (!job) {
        svc_out_error(out, "not_found", "orderId", "no production job for this order");
        return;
    }
    prd_reply_job(state, job, out);
}
