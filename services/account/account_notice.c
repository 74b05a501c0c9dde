/* account_notice.c: notices: the mails that tell an account of each change of its
 * orders and cards that matters. React turns the order, production and revocation
 * services' events into NoticeDue events (and learns whose order is whose), apply makes
 * them pending mails, and SetNotifications switches the status notices off and on.
 *
 * Each upstream event is mapped to its account with what the same upstream said before
 * it (order: OrderPlaced; production: JobOpened; revocation: ProductKnown), so the
 * order in which the runtime takes the three upstreams does not matter. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"
#include "svc_text.h"

/* ------------------------------------------------------------------ kinds */

static const struct {
    const char *kind;
    bool status; /* a status notice: none while the account's status mails are off */
} s_kinds[] = {
    {"wartend", true},
    {"in-produktion", true},
    {"versendet", true},
    {"fertig", true},
    {"gueltig", true},
    {"revocation-requested", false},
    {"revocation-completed", false},
    {"revocation-attempt", false},
};

const char *acc_notice_kind(const char *kind, bool *status)
{
    for (size_t i = 0; kind && i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (streq(kind, s_kinds[i].kind)) {
            if (status)
                *status = s_kinds[i].status;
            return s_kinds[i].kind;
        }
    return NULL;
}

const char *acc_status_mails(const acc_account_t *a)
{
    return a->status_mails_off ? "off" : "on";
}

void acc_mail_free(void **item)
{
    acc_mail_t *m = *item;
    if (!m)
        return;
    if (m->notice) {
        free(m->notice->order_id);
        free(m->notice->product_id);
        free(m->notice->detail);
        free(m->notice->reason);
        free(m->notice->request_id);
        free(m->notice);
    }
    free(m);
    *item = NULL;
}

/* ------------------------------------------------------------------ react */

/* What one upstream event calls for. */
typedef struct {
    const char *kind;
    const char *order_id;
    const char *account_id; /* the event's own account id, "" when it has none */
    const char *product_id;
    const char *detail;
    const char *reason;
    const char *request_id;
    int64_t at_us;
} s_notice_t;

static bool s_id(const char *s)
{
    return s && svc_valid_id(s, ACC_ORDER_ID_MAX);
}

/* Text from upstream as a mail may show it: "" when it is none (a mail without the
 * detail rather than none at all). */
static const char *s_text(const char *s, size_t max, bool lines)
{
    long n = s ? svc_text_len(s, lines) : -1;
    return n >= 0 && (size_t) n <= max ? s : "";
}

/* OrderKnown, once per order: whose order @p order_id is. */
static void s_learn(const acc_state_t *st, const char *order_id, const char *account_id,
                    svc_out_t *out)
{
    if (!s_id(order_id) || !account_id || !*account_id || zhashx_lookup(st->orders, order_id))
        return;
    const acc_account_t *a = acc_find(st, account_id);
    if (!a) {
        svc_out_log(out, 'W',
                    "order %s names account %s, which is not known here: no mails "
                    "about it",
                    order_id, account_id);
        return;
    }
    Tp__Account__OrderKnown ev = TP__ACCOUNT__ORDER_KNOWN__INIT;
    ev.order_id = (char *) order_id;
    ev.account_id = (char *) a->id;
    svc_out_event(out, a->id, &ev.base);
}

/* NoticeDue for @p n, from event @p ev of @p upstream, unless there is nobody to tell or
 * the account does not want status mails. */
static void s_notice(const acc_state_t *st, const char *upstream, const svc_event_t *ev,
                     const s_notice_t *n, svc_out_t *out)
{
    bool status = true;
    const char *kind = acc_notice_kind(n->kind, &status);
    if (!kind || !s_id(n->order_id)) {
        svc_out_error(out, "invalid", "orderId", "%s without a valid order id", ev->event_type);
        return;
    }
    const acc_account_t *a = zhashx_lookup(st->orders, n->order_id);
    if (!a && n->account_id && *n->account_id)
        a = acc_find(st, n->account_id);
    if (!a) {
        svc_out_log(out, 'W', "no %s mail about order %s: its account is not known here", kind,
                    n->order_id);
        return;
    }
    if (a->status == ACC_DELETED || (status && a->status_mails_off))
        return;
    char mail_id[128];
    int len = snprintf(mail_id, sizeof mail_id, "%s:%s#%" PRIu64, kind, upstream, ev->seq);
    if (len < 0 || (size_t) len >= sizeof mail_id) {
        svc_out_error(out, "invalid", NULL, "upstream name too long for a mail id");
        return;
    }
    if (zhashx_lookup(st->mails, mail_id))
        return; /* this very event, told already: the runtime never hands it over twice */
    Tp__Account__NoticeDue due = TP__ACCOUNT__NOTICE_DUE__INIT;
    due.account_id = (char *) a->id;
    due.mail_id = mail_id;
    due.kind = (char *) kind;
    due.order_id = (char *) n->order_id;
    due.product_id = (char *) (s_id(n->product_id) ? n->product_id : "");
    due.detail = (char *) s_text(n->detail, ACC_DETAIL_MAX, true);
    due.reason = (char *) s_text(n->reason, 32, false);
    due.request_id = (char *) (s_id(n->request_id) ? n->request_id : "");
    due.at_us = n->at_us ? n->at_us : ev->recorded_at_us;
    svc_out_event(out, a->id, &due.base);
}

/* The upstream events react acts on and where their fields are, read through
 * protobuf-c's descriptors: every one has order_id (but RevocationCompleted: its request
 * says which order), and may have account_id, request_id; the other fields are named
 * here (NULL: none). kind NULL: the event only names the order's account. */
static const struct {
    const char *type;
    const ProtobufCMessageDescriptor *desc;
    const char *kind;
    const char *product; /* the product id */
    const char *detail;  /* NoticeDue.detail */
    const char *reason;  /* a revocation's reason */
    const char *at;      /* when it happened */
    const char *when;    /* a bool field that must be true for a notice (NULL: always) */
} s_events[] = {
    {"OrderPlaced", &tp__order__order_placed__descriptor, NULL, NULL, NULL, NULL, NULL},
    {"JobOpened", &tp__production__job_opened__descriptor, NULL, NULL, NULL, NULL, NULL},
    {"ProductKnown", &tp__revocation__product_known__descriptor, NULL, NULL, NULL, NULL, NULL},
    {"DataProblemRecorded", &tp__order__data_problem_recorded__descriptor, "wartend", NULL,
     "reason", NULL, "at_us"},
    {"OrderReleasedForProduction", &tp__order__order_released_for_production__descriptor,
     "in-produktion", NULL, NULL, NULL, "at_us"},
    {"OrderShipped", &tp__order__order_shipped__descriptor, "versendet", "card_product_id",
     "tracking_number", NULL, "at_us"},
    {"OrderDelivered", &tp__order__order_delivered__descriptor, "fertig", NULL, NULL, NULL,
     "at_us"},
    {"ProductActivated", &tp__production__product_activated__descriptor, "gueltig", "product_id",
     NULL, NULL, "at_us"},
    {"RevocationRequested", &tp__revocation__revocation_requested__descriptor,
     "revocation-requested", "product_id", "authenticated_by", "reason", "received_at_us"},
    {"RevocationCompleted", &tp__revocation__revocation_completed__descriptor,
     "revocation-completed", "product_id", NULL, "reason", "completed_at_us"},
    /* a wrong revocation password for the owner's number: the revocation service says when
     * to tell (the first, then at most one a day), so that a guesser cannot flood a mailbox */
    {"RevocationAttemptFailed", &tp__revocation__revocation_attempt_failed__descriptor,
     "revocation-attempt", NULL, NULL, NULL, "at_us", "tell_owner"},
};

static const ProtobufCFieldDescriptor *s_field(const ProtobufCMessage *m, const char *name,
                                               ProtobufCType type)
{
    const ProtobufCFieldDescriptor *f =
        name ? protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name) : NULL;
    return f && f->type == type && f->label != PROTOBUF_C_LABEL_REPEATED ? f : NULL;
}

/* String field @p name of @p m ("" when it has none), valid while @p m lives. */
static const char *s_str(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = s_field(m, name, PROTOBUF_C_TYPE_STRING);
    const char *v = f ? *(char *const *) ((const char *) m + f->offset) : NULL;
    return v ? v : "";
}

static int64_t s_int(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = s_field(m, name, PROTOBUF_C_TYPE_INT64);
    return f ? *(const int64_t *) ((const char *) m + f->offset) : 0;
}

static bool s_bool(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = s_field(m, name, PROTOBUF_C_TYPE_BOOL);
    return f && *(const protobuf_c_boolean *) ((const char *) m + f->offset);
}

/* Dispatch on the event type alone, as the other cores do: instance names of upstreams
 * are configurable, and the protocol's message names are unique across services. */
void acc_react_notice(const acc_state_t *st, const char *upstream, const svc_event_t *ev,
                      svc_out_t *out)
{
    size_t i = 0, n = sizeof s_events / sizeof s_events[0];
    while (i < n && !(ev->event_type && streq(ev->event_type, s_events[i].type)))
        i++;
    if (i == n)
        return;
    ProtobufCMessage *m =
        protobuf_c_message_unpack(s_events[i].desc, NULL, ev->payload_len, ev->payload);
    if (!m) {
        svc_out_error(out, "invalid", NULL, "%s does not decode", ev->event_type);
        return;
    }
    const char *order = s_str(m, "order_id"), *request = s_str(m, "request_id");
    if (!s_events[i].kind)
        s_learn(st, order, s_str(m, "account_id"), out);
    else if (s_events[i].when && !s_bool(m, s_events[i].when))
        ; /* nothing to tell */
    else if (protobuf_c_message_descriptor_get_field_by_name(s_events[i].desc, "order_id") ||
             (s_id(request) && (order = zhashx_lookup(st->revocations, request))))
        /* a completed revocation: told of the request (revocation notices always go), so
         * told of its end; a request nobody was told of has nobody to tell now */
        s_notice(st, upstream, ev,
                 &(s_notice_t){.kind = s_events[i].kind,
                               .order_id = order,
                               .account_id = s_str(m, "account_id"),
                               .product_id = s_str(m, s_events[i].product),
                               .detail = s_str(m, s_events[i].detail),
                               .reason = s_str(m, s_events[i].reason),
                               .request_id = request,
                               .at_us = s_int(m, s_events[i].at)},
                 out);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------ apply */

static char *s_dup(const char *s)
{
    return strdup(s ? s : "");
}

static void s_on_order_known(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__OrderKnown *e =
        tp__account__order_known__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = zhashx_lookup(st->accounts, e->account_id);
    if (a && s_id(e->order_id))
        zhashx_insert(st->orders, e->order_id, a); /* the first one stays */
    tp__account__order_known__free_unpacked(e, NULL);
}

static void s_on_notice_due(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__NoticeDue *e = tp__account__notice_due__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    const char *kind = acc_notice_kind(e->kind, NULL);
    acc_account_t *a = zhashx_lookup(st->accounts, e->account_id);
    acc_mail_t *m = NULL;
    if (!kind || !a || a->status == ACC_DELETED || !*e->mail_id ||
        strlen(e->mail_id) >= sizeof m->id || zhashx_lookup(st->mails, e->mail_id) ||
        !(m = calloc(1, sizeof *m)) || !(m->notice = calloc(1, sizeof *m->notice)))
        goto done;
    strcpy(m->id, e->mail_id);
    m->kind = kind;
    snprintf(m->account_id, sizeof m->account_id, "%s", a->id);
    m->expires_at_us = INT64_MAX;
    acc_notice_t *n = m->notice;
    n->order_id = s_dup(e->order_id);
    n->product_id = s_dup(e->product_id);
    n->detail = s_dup(e->detail);
    n->reason = s_dup(e->reason);
    n->request_id = s_dup(e->request_id);
    n->at_us = e->at_us;
    if (!n->order_id || !n->product_id || !n->detail || !n->reason || !n->request_id ||
        zhashx_insert(st->mails, m->id, m) != 0)
        goto done;
    m = NULL; /* the table's now */
    if (*e->request_id && streq(kind, "revocation-requested")) {
        char *order = strdup(e->order_id);
        if (order && zhashx_insert(st->revocations, e->request_id, order) != 0)
            free(order);
    }
    else if (*e->request_id && streq(kind, "revocation-completed"))
        zhashx_delete(st->revocations, e->request_id);
done:
    if (m) {
        void *p = m;
        acc_mail_free(&p);
    }
    tp__account__notice_due__free_unpacked(e, NULL);
}

static void s_on_notifications(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__NotificationsChanged *e =
        tp__account__notifications_changed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = zhashx_lookup(st->accounts, e->account_id);
    if (a)
        a->status_mails_off = !e->status_mails;
    tp__account__notifications_changed__free_unpacked(e, NULL);
}

bool acc_apply_notice(acc_state_t *st, const svc_event_t *ev)
{
    const char *t = ev->event_type;
    if (streq(t, "OrderKnown"))
        s_on_order_known(st, ev);
    else if (streq(t, "NoticeDue"))
        s_on_notice_due(st, ev);
    else if (streq(t, "NotificationsChanged"))
        s_on_notifications(st, ev);
    else
        return false;
    return true;
}

/* O(open revocations): each completes within minutes, so they are few. */
void acc_notices_forget(acc_state_t *st, const acc_account_t *a)
{
    zlistx_t *gone = zlistx_new();
    if (!gone)
        return;
    for (const char *order = zhashx_first(st->revocations); order;
         order = zhashx_next(st->revocations))
        if (zhashx_lookup(st->orders, order) == a)
            zlistx_add_end(gone, (void *) zhashx_cursor(st->revocations));
    for (const char *k = zlistx_first(gone); k; k = zlistx_next(gone))
        zhashx_delete(st->revocations, k);
    zlistx_destroy(&gone);
}

/* ------------------------------------------------------------------ SetNotifications */

void acc_set_notifications(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                           svc_out_t *out)
{
    const acc_state_t *st = state;
    const Tp__Account__SetNotifications *cmd = (const Tp__Account__SetNotifications *) msg;
    const acc_account_t *a =
        acc_owner(st, ctx, "only the account's owner may change its mails", out);
    if (!a)
        return;
    bool on = streq(cmd->status_mails, "on");
    if (!on && !streq(cmd->status_mails, "off")) {
        svc_out_error(out, "invalid", "statusMails", "must be \"on\" or \"off\"");
        return;
    }
    /* the same setting again changes nothing, and writes nothing */
    if (on == a->status_mails_off) {
        Tp__Account__NotificationsChanged ev = TP__ACCOUNT__NOTIFICATIONS_CHANGED__INIT;
        ev.account_id = (char *) a->id;
        ev.status_mails = on;
        svc_out_event(out, a->id, &ev.base);
    }
    Tp__Account__Notifications r = TP__ACCOUNT__NOTIFICATIONS__INIT;
    r.status_mails = on ? "on" : "off";
    svc_out_reply(out, &r.base);
}
