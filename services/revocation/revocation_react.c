/* revocation_react.c: the revocation core's reactions to the order, production and
 * account services' events, and its timer (completion and alarm). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "revocation_internal.h"
#include "svc_text.h"

/* ------------------------------------------------------------------ products */

static void s_emit_product(const Tp__Revocation__ProductKnown *known, svc_out_t *out)
{
    char stream[RVK_STREAM_MAX];
    rvk_product_stream(stream, sizeof stream, known->order_id);
    svc_out_event(out, stream, &known->base);
}

static void s_react_order_placed(const rvk_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Order__OrderPlaced *e = tp__order__order_placed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "OrderPlaced does not decode");
        return;
    }
    if (!rvk_valid_id(e->order_id))
        svc_out_error(out, "invalid", "orderId", "missing or not a valid id");
    if (!rvk_valid_id(e->account_id))
        svc_out_error(out, "invalid", "accountId", "missing or not a valid id");
    if (*e->shop_id && !rvk_valid_id(e->shop_id))
        svc_out_error(out, "invalid", "shopId", "not a valid id");
    if (!rvk_valid_id(e->product_id))
        svc_out_error(out, "invalid", "productId", "missing or not a valid id");
    const rvk_product_t *p = svc_out_failed(out) ? NULL : rvk_product(st, e->order_id);
    /* the runtime's checkpoints deliver each event once; a repeat changes nothing anyway */
    if (!svc_out_failed(out) && !(p && p->account_id)) {
        Tp__Revocation__ProductKnown known = TP__REVOCATION__PRODUCT_KNOWN__INIT;
        known.order_id = e->order_id;
        known.account_id = e->account_id;
        known.shop_id = e->shop_id;
        known.product_type = e->product_id;
        /* only an Argon2id string is kept: anything else could never verify */
        known.revocation_password_hash =
            strncmp(e->revocation_password_hash, "$argon2id$", 10) == 0 &&
                    strlen(e->revocation_password_hash) < 256
                ? e->revocation_password_hash
                : "";
        known.learned_from = "OrderPlaced";
        s_emit_product(&known, out);
    }
    tp__order__order_placed__free_unpacked(e, NULL);
}

static bool s_serial_valid(const char *s)
{
    return svc_valid_id(s, RVK_SERIAL_MAX);
}

static void s_react_certificates(const rvk_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Production__CertificatesCreated *e =
        tp__production__certificates_created__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "CertificatesCreated does not decode");
        return;
    }
    char **fresh = calloc(e->n_certificates + 1, sizeof *fresh);
    size_t n = 0;
    if (!rvk_valid_id(e->order_id))
        svc_out_error(out, "invalid", "orderId", "missing or not a valid id");
    else if (!fresh)
        svc_out_error(out, "internal", NULL, "out of memory");
    for (size_t i = 0; !svc_out_failed(out) && i < e->n_certificates; i++) {
        const char *serial = e->certificates[i] ? e->certificates[i]->serial : "";
        if (!s_serial_valid(serial)) {
            svc_out_error(out, "invalid", "certificates.serial", "missing or not a valid serial");
            break;
        }
        const rvk_product_t *p = rvk_product(st, e->order_id);
        bool known = p && zlistx_find(p->serials, (void *) serial);
        for (size_t j = 0; j < n && !known; j++)
            known = streq(fresh[j], serial);
        if (!known)
            fresh[n++] = (char *) serial;
    }
    if (!svc_out_failed(out) && n > 0) {
        Tp__Revocation__ProductKnown known = TP__REVOCATION__PRODUCT_KNOWN__INIT;
        known.order_id = e->order_id;
        known.serials = fresh;
        known.n_serials = n;
        known.learned_from = "CertificatesCreated";
        s_emit_product(&known, out);
    }
    free(fresh);
    tp__production__certificates_created__free_unpacked(e, NULL);
}

static void s_react_card_produced(const rvk_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Production__CardProduced *e =
        tp__production__card_produced__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "CardProduced does not decode");
        return;
    }
    char number[RVK_NUMBER_MAX + 1];
    if (!rvk_valid_id(e->order_id))
        svc_out_error(out, "invalid", "orderId", "missing or not a valid id");
    if (!rvk_number_normalize(e->card_number, number, sizeof number))
        svc_out_error(out, "invalid", "cardNumber", "missing or not a valid card number");
    const rvk_product_t *p = svc_out_failed(out) ? NULL : rvk_product(st, e->order_id);
    if (!svc_out_failed(out) && !(p && p->card_number)) {
        Tp__Revocation__ProductKnown known = TP__REVOCATION__PRODUCT_KNOWN__INIT;
        known.order_id = e->order_id;
        known.card_number = e->card_number;
        known.learned_from = "CardProduced";
        s_emit_product(&known, out);
    }
    tp__production__card_produced__free_unpacked(e, NULL);
}

static void s_react_card_shipped(const rvk_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Production__CardShipped *e =
        tp__production__card_shipped__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "CardShipped does not decode");
        return;
    }
    char product_id[RVK_ID_MAX + 8];
    if (!rvk_valid_id(e->order_id))
        svc_out_error(out, "invalid", "orderId", "missing or not a valid id");
    else if (*e->product_id)
        snprintf(product_id, sizeof product_id, "%s", e->product_id);
    else /* the production service's naming, should an event come without it */
        snprintf(product_id, sizeof product_id, "prd-%s", e->order_id);
    if (!svc_out_failed(out) && !rvk_valid_id(product_id))
        svc_out_error(out, "invalid", "productId", "not a valid id");
    const rvk_product_t *p = svc_out_failed(out) ? NULL : rvk_product(st, e->order_id);
    if (!svc_out_failed(out) && !(p && p->product_id)) {
        Tp__Revocation__ProductKnown known = TP__REVOCATION__PRODUCT_KNOWN__INIT;
        known.order_id = e->order_id;
        known.product_id = product_id;
        known.shipped_at_us = e->at_us ? e->at_us : ev->recorded_at_us;
        known.learned_from = "CardShipped";
        s_emit_product(&known, out);
    }
    tp__production__card_shipped__free_unpacked(e, NULL);
}

/* ------------------------------------------------------------------ officers */

static void s_emit_officer(const char *account, const char *shop, bool active, svc_out_t *out)
{
    Tp__Revocation__OfficerKnown known = TP__REVOCATION__OFFICER_KNOWN__INIT;
    known.account_id = (char *) account;
    known.shop_id = (char *) shop;
    known.active = active;
    char stream[RVK_STREAM_MAX];
    snprintf(stream, sizeof stream, "officer-%s", account);
    svc_out_event(out, stream, &known.base);
}

/* Dispatch on the event type alone: instance names of upstreams are configurable, and
 * the protocol's message names are unique across services. */
void rvk_react(const void *state, const char *upstream, const svc_event_t *ev, svc_out_t *out)
{
    const char *t = ev->event_type;
    if (!t)
        return;
    if (streq(t, "OrderPlaced"))
        s_react_order_placed(state, ev, out);
    else if (streq(t, "CertificatesCreated"))
        s_react_certificates(state, ev, out);
    else if (streq(t, "CardProduced"))
        s_react_card_produced(state, ev, out);
    else if (streq(t, "CardShipped"))
        s_react_card_shipped(state, ev, out);
    else /* OfficerAppointed, OfficerRevoked, AccountDeleted: a deleted account is an
          * officer of no shop any more; its products stay revocable by password, by
          * officers and by operators */
        svc_officers_react(&((const rvk_state_t *) state)->officers, ev, s_emit_officer, out);
}

/* ------------------------------------------------------------------ timer */

static void s_complete(const rvk_request_t *r, int64_t now_us, svc_out_t *out)
{
    const rvk_product_t *p = r->product;
    size_t n = zlistx_size(p->serials);
    char **serials = calloc(n + 1, sizeof *serials);
    if (!serials) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    size_t i = 0;
    for (char *s = zlistx_first(p->serials); s && i < n; s = zlistx_next(p->serials))
        serials[i++] = s;
    Tp__Revocation__RevocationCompleted done = TP__REVOCATION__REVOCATION_COMPLETED__INIT;
    done.request_id = r->requested->request_id;
    done.product_id = r->requested->product_id;
    done.completed_at_us = now_us;
    done.serials = serials;
    done.n_serials = i;
    done.reason = r->requested->reason;
    char stream[RVK_STREAM_MAX];
    rvk_product_stream(stream, sizeof stream, p->order_id);
    svc_out_event(out, stream, &done.base);
    free(serials);
}

/* Completes what is due; raises the alarm for what is overdue. O(open requests), which
 * are few: each completes within minutes. */
void rvk_tick(const void *state, int64_t now_us, svc_out_t *out)
{
    const rvk_state_t *st = state;
    for (rvk_request_t *r = zlistx_first(st->open); r; r = zlistx_next(st->open)) {
        int64_t age = now_us - r->requested->received_at_us;
        /* without its serials a completion would leave certificates off the list: such a
         * request waits (and soon alarms) until the production facts are known */
        bool serials = r->product && zlistx_size(r->product->serials) > 0;
        if (age >= st->delay_us && serials) {
            s_complete(r, now_us, out);
            continue;
        }
        if (age >= st->alarm_us)
            svc_out_log(out, 'E',
                        "ALARM: revocation request %s for product %s still open after %" PRId64
                        " s (alarm after %" PRId64 " s, ETSI limit 86400 s)%s",
                        r->requested->request_id, r->requested->product_id, age / 1000000,
                        st->alarm_us / 1000000,
                        !r->product ? "; the product is unknown"
                        : !serials  ? "; no certificate serial number is known for it yet"
                                    : "");
    }
}
