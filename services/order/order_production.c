/* order_production.c: the order follows its production job (upstream "production"):
 * JobOpened, CardProduced, CardShipped and JobCompleted become the order's own events,
 * from which its status and steps derive (in_produktion, versendet, fertig). */
#include <string.h>
#include "order_internal.h"
#include "production.pb-c.h"

static void s_emit(svc_out_t *out, const char *order_id, const ProtobufCMessage *ev)
{
    char stream[ORD_STREAM_MAX];
    ord_stream(stream, sizeof stream, "order", order_id);
    svc_out_event(out, stream, ev);
}

static int64_t s_time(int64_t given, const svc_event_t *ev)
{
    return given ? given : ev->recorded_at_us;
}

/* Unpacks a production event; on failure refuses (the runtime logs it) and returns from
 * the caller. */
#define S_UNPACK(T, fn, var)                                                                       \
    T *var = fn##__unpack(NULL, ev->payload_len, ev->payload);                                     \
    if (!var) {                                                                                    \
        svc_out_error(out, "invalid", NULL, "upstream %s does not decode", ev->event_type);        \
        return;                                                                                    \
    }

/* Each fact is taken once: a repeat (a replayed upstream record) changes nothing, and
 * facts about orders this service does not know are ignored. */
static void s_started(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    S_UNPACK(Tp__Production__JobOpened, tp__production__job_opened, e)
    const ord_order_t *o = ord_order(st, e->order_id);
    if (o && !o->production_started_at_us) {
        Tp__Order__ProductionStarted ps = TP__ORDER__PRODUCTION_STARTED__INIT;
        ps.order_id = e->order_id;
        ps.at_us = s_time(e->at_us, ev);
        s_emit(out, e->order_id, &ps.base);
    }
    tp__production__job_opened__free_unpacked(e, NULL);
}

static void s_produced(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    S_UNPACK(Tp__Production__CardProduced, tp__production__card_produced, e)
    const ord_order_t *o = ord_order(st, e->order_id);
    if (o && !o->produced_at_us) {
        Tp__Order__OrderProduced op = TP__ORDER__ORDER_PRODUCED__INIT;
        op.order_id = e->order_id;
        op.at_us = s_time(e->at_us, ev);
        s_emit(out, e->order_id, &op.base);
    }
    tp__production__card_produced__free_unpacked(e, NULL);
}

static void s_shipped(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    S_UNPACK(Tp__Production__CardShipped, tp__production__card_shipped, e)
    const ord_order_t *o = ord_order(st, e->order_id);
    if (o && !o->shipped_at_us) {
        Tp__Order__OrderShipped os = TP__ORDER__ORDER_SHIPPED__INIT;
        os.order_id = e->order_id;
        os.tracking_number = e->tracking_number;
        os.card_product_id = e->product_id;
        os.at_us = s_time(e->at_us, ev);
        s_emit(out, e->order_id, &os.base);
    }
    tp__production__card_shipped__free_unpacked(e, NULL);
}

/* JobCompleted says card and PIN letter are both delivered: the order is fertig. */
static void s_delivered(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    S_UNPACK(Tp__Production__JobCompleted, tp__production__job_completed, e)
    const ord_order_t *o = ord_order(st, e->order_id);
    if (o && !o->delivered_at_us) {
        Tp__Order__OrderDelivered od = TP__ORDER__ORDER_DELIVERED__INIT;
        od.order_id = e->order_id;
        od.at_us = s_time(e->at_us, ev);
        s_emit(out, e->order_id, &od.base);
    }
    tp__production__job_completed__free_unpacked(e, NULL);
}

void ord_react_production(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    const char *t = ev->event_type;
    if (streq(t, "JobOpened"))
        s_started(st, ev, out);
    else if (streq(t, "CardProduced"))
        s_produced(st, ev, out);
    else if (streq(t, "CardShipped"))
        s_shipped(st, ev, out);
    else if (streq(t, "JobCompleted"))
        s_delivered(st, ev, out);
}
