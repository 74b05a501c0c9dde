/* order_retention.c: how long an applicant's personal data is kept (SPEC section 9).
 *
 * The data an order holds of its applicant (in OrderPlaced and the identification's
 * events, sealed for the subject "order:<id>": services/common/svc_seal.h) is registration
 * evidence once a certificate was issued: it is kept for `retention_days` after the last
 * certificate's expiry (CertificatesValid, from production's CertificatesCreated), then
 * the tick erases it (OrderDataErased, and the runtime deletes the subject's key; the
 * services that hold a copy erase theirs). An order that never reached production is no
 * evidence: its data is erased when its account is deleted. */
#include <string.h>
#include "account.pb-c.h"
#include "order_internal.h"
#include "production.pb-c.h"

#define S_ERASE_PER_TICK 100   /* at most this many a tick: a backlog goes over seconds */

/* Erases order @p o's personal data for @p reason. */
static void s_erase(const ord_order_t *o, const char *reason, int64_t at_us, svc_out_t *out)
{
    const char *id = o->placed->order_id;
    Tp__Order__OrderDataErased e = TP__ORDER__ORDER_DATA_ERASED__INIT;
    e.order_id = (char *) id;
    e.reason = (char *) reason;
    e.at_us = at_us;
    char stream[ORD_STREAM_MAX], subject[ORD_STREAM_MAX + 8];
    ord_stream(stream, sizeof stream, "order", id);
    svc_out_event(out, stream, &e.base);
    snprintf(subject, sizeof subject, "order:%s", id);
    svc_out_erase(out, subject, reason);
}

static void s_certificates(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Production__CertificatesCreated *e =
        tp__production__certificates_created__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    const ord_order_t *o = ord_order(st, e->order_id);
    int64_t to = 0;
    for (size_t i = 0; i < e->n_certificates; i++)
        if (e->certificates[i]->valid_to_us > to)
            to = e->certificates[i]->valid_to_us;
    if (o && !o->erased && to > o->valid_to_us) {
        Tp__Order__CertificatesValid cv = TP__ORDER__CERTIFICATES_VALID__INIT;
        cv.order_id = e->order_id;
        cv.valid_to_us = to;
        cv.at_us = e->at_us ? e->at_us : ev->recorded_at_us;
        char stream[ORD_STREAM_MAX];
        ord_stream(stream, sizeof stream, "order", e->order_id);
        svc_out_event(out, stream, &cv.base);
    }
    tp__production__certificates_created__free_unpacked(e, NULL);
}

static void s_account_deleted(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Account__AccountDeleted *e =
        tp__account__account_deleted__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    zlistx_t *mine = zhashx_lookup(st->by_account, e->account_id);
    for (ord_order_t *o = mine ? zlistx_first(mine) : NULL; o; o = zlistx_next(mine))
        if (!o->released_at_us && !o->erased)
            s_erase(o, "account deleted before the order reached production",
                    ev->recorded_at_us, out);
    tp__account__account_deleted__free_unpacked(e, NULL);
}

void ord_react_retention(const ord_state_t *st, const char *upstream, const svc_event_t *ev,
                         svc_out_t *out)
{
    if (streq(upstream, "production") && streq(ev->event_type, "CertificatesCreated"))
        s_certificates(st, ev, out);
    else if (streq(upstream, "account") && streq(ev->event_type, "AccountDeleted"))
        s_account_deleted(st, ev, out);
}

void ord_tick_retention(const ord_state_t *st, int64_t now_us, svc_out_t *out)
{
    int n = 0;
    if (!st->retained)
        return;
    for (ord_order_t *o = zlistx_first(st->retained); o && n < S_ERASE_PER_TICK;
         o = zlistx_next(st->retained), n++) {
        if (o->valid_to_us + st->retention_us > now_us)
            break;   /* sorted: the rest are later */
        s_erase(o, "retention period after the certificates' expiry passed", now_us, out);
    }
}

static int s_by_expiry(const void *a, const void *b)
{
    int64_t x = ((const ord_order_t *) a)->valid_to_us, y = ((const ord_order_t *) b)->valid_to_us;
    return x < y ? -1 : x > y;
}

/* Puts @p o where its (new) expiry goes in the sorted list. */
static void s_retain(ord_state_t *st, ord_order_t *o)
{
    if (!st->retained) {
        st->retained = zlistx_new();
        if (!st->retained)
            return;
        zlistx_set_comparator(st->retained, s_by_expiry);
    }
    if (o->retained)
        zlistx_delete(st->retained, o->retained);
    o->retained = zlistx_insert(st->retained, o, false);   /* searched from the end */
}

bool ord_apply_retention(ord_state_t *st, const svc_event_t *ev)
{
    if (streq(ev->event_type, "CertificatesValid")) {
        Tp__Order__CertificatesValid *e =
            tp__order__certificates_valid__unpack(NULL, ev->payload_len, ev->payload);
        ord_order_t *o = e ? (ord_order_t *) ord_order(st, e->order_id) : NULL;
        if (o && !o->erased && e->valid_to_us > o->valid_to_us) {
            o->valid_to_us = e->valid_to_us;
            s_retain(st, o);
        }
        if (e)
            tp__order__certificates_valid__free_unpacked(e, NULL);
        return true;
    }
    if (streq(ev->event_type, "OrderDataErased")) {
        Tp__Order__OrderDataErased *e =
            tp__order__order_data_erased__unpack(NULL, ev->payload_len, ev->payload);
        ord_order_t *o = e ? (ord_order_t *) ord_order(st, e->order_id) : NULL;
        if (o) {
            o->erased = true;
            if (o->retained)
                zlistx_delete(st->retained, o->retained);
            o->retained = NULL;
        }
        if (e)
            tp__order__order_data_erased__free_unpacked(e, NULL);
        return true;
    }
    return false;
}
