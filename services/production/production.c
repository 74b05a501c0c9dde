/* production.c: the production core's producer facts, its reactions to the order and
 * revocation services, the activation timer, its settings and the service table. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "svc_text.h"
#include "order.pb-c.h"
#include "production_internal.h"
#include "revocation.pb-c.h"

/* Longest certificate subject, in characters. */
#define S_SUBJECT_MAX 256

static void s_emit(svc_out_t *out, const char *kind, const char *id, const ProtobufCMessage *ev)
{
    /* "<kind>-<id>", cut to the buffer like snprintf would (ids are checked shorter) */
    char stream[PRD_STREAM_MAX + 16];
    size_t k = strlen(kind), n = strnlen(id, sizeof stream - k - 2);
    memcpy(stream, kind, k);
    stream[k] = '-';
    memcpy(stream + k + 1, id, n);
    stream[k + 1 + n] = '\0';
    svc_out_event(out, stream, ev);
}

/* ------------------------------------------------------------------ field checks */

static bool s_chars(const char *s, size_t min, size_t max, const char *extra, bool lower)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (!(isdigit(c) || isupper(c) || (lower && islower(c)) || (extra && strchr(extra, c))))
            return false;
    }
    return true;
}

static bool s_hex(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char) s[i]))
            return false;
    return true;
}

/* Fact ids: printable ASCII without spaces, so they can be logged and typed. */
static bool s_fact_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > PRODUCTION_FACT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

static bool s_kind_valid(const char *kind)
{
    return streq(kind, "signature") || streq(kind, "authentication") || streq(kind, "encryption") ||
           streq(kind, "seal");
}

/* ------------------------------------------------------------------ facts */

/* What every fact shares. */
typedef struct {
    const prd_state_t *st;
    const svc_ctx_t *ctx;
    svc_out_t *out;
    const char *fact_id;
    const char *order_id;
} s_fact_t;

static void s_ack(const s_fact_t *f, const char *order_id, const char *job_status, bool duplicate)
{
    Tp__Production__FactAck ack = TP__PRODUCTION__FACT_ACK__INIT;
    ack.fact_id = (char *) f->fact_id;
    ack.order_id = (char *) order_id;
    ack.duplicate = duplicate;
    ack.job_status = (char *) job_status;
    svc_out_reply(f->out, &ack.base);
}

/* Role, fact id and order id. False when the command is answered already: forbidden, or
 * a duplicate (acknowledged before any other check, so a retry after a lost answer gets
 * "done" even when the job has moved on since). */
static bool s_fact_start(s_fact_t *f)
{
    const char *role = prd_s(f->ctx->header->actor_role);
    if (!streq(role, "producer") && !streq(role, "operator")) {
        svc_out_error(f->out, "forbidden", NULL, "producers and operators only");
        return false;
    }
    f->fact_id = prd_s(f->fact_id);
    f->order_id = prd_s(f->order_id);
    if (!s_fact_id_valid(f->fact_id))
        svc_out_error(f->out, "invalid", "factId",
                      "must be 1 to %d printable ASCII characters without spaces",
                      PRODUCTION_FACT_ID_MAX);
    else {
        const char *seen = zhashx_lookup(f->st->facts, f->fact_id);
        if (seen) {
            const prd_job_t *job = prd_job(f->st, seen);
            s_ack(f, seen, job ? prd_job_status(job) : "", true);
            return false;
        }
    }
    if (!*f->order_id)
        svc_out_error(f->out, "invalid", "orderId", "is required");
    else if (strlen(f->order_id) > PRD_ORDER_ID_MAX)
        svc_out_error(f->out, "invalid", "orderId", "must be at most %d characters",
                      PRD_ORDER_ID_MAX);
    return true;
}

/* After the field checks: the job, or NULL when a check failed or there is none. */
static const prd_job_t *s_fact_job(const s_fact_t *f)
{
    if (svc_out_failed(f->out))
        return NULL;
    const prd_job_t *job = prd_job(f->st, f->order_id);
    if (!job)
        svc_out_error(f->out, "not_found", "orderId",
                      "no production job for this order (not released for production)");
    return job;
}

#define S_CONFLICT(out, ...) svc_out_error(out, "conflict", "orderId", __VA_ARGS__)

static void s_check_tracking(svc_out_t *out, const char *tracking)
{
    if (!*tracking)
        svc_out_error(out, "invalid", "trackingNumber", "is required");
    else if (!s_chars(tracking, 1, 64, "-", false))
        svc_out_error(out, "invalid", "trackingNumber",
                      "must be 1 to 64 characters of A-Z, 0-9 and -");
}

/* One certificate's fields, errors at "certificates[i].<field>". */
static void s_check_certificate(svc_out_t *out, const Tp__Production__RecordCertificates *cmd,
                                size_t i, int64_t now_us)
{
    const Tp__Production__Certificate *c = cmd->certificates[i];
    /* the field's path is written only for an error: valid facts are the many */
    char path[64];
#define S_CERT_ERROR(field, ...)                                                           \
    do {                                                                                   \
        snprintf(path, sizeof path, "certificates[%zu]." field, i);                        \
        svc_out_error(out, "invalid", path, __VA_ARGS__);                                  \
    } while (0)
    if (!s_hex(prd_s(c->serial)))
        S_CERT_ERROR("serial", "must be 1 to 64 hexadecimal digits");
    else
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(cmd->certificates[j]->serial, c->serial) == 0) {
                S_CERT_ERROR("serial", "is listed twice");
                break;
            }
    if (!s_kind_valid(prd_s(c->kind)))
        S_CERT_ERROR("kind", "must be signature, authentication, encryption or seal");
    if (c->valid_from_us <= 0)
        S_CERT_ERROR("validFromUs", "is required");
    if (c->valid_to_us <= c->valid_from_us)
        S_CERT_ERROR("validToUs", "must be after validFromUs");
    else if (c->valid_to_us <= now_us)
        S_CERT_ERROR("validToUs", "lies in the past: the certificate is expired");
    long n = svc_text_len(prd_s(c->subject), false);
    if (n < 0 || n > S_SUBJECT_MAX)
        S_CERT_ERROR("subject",
                     "must be UTF-8 text without control characters, at most %d characters",
                     S_SUBJECT_MAX);
#undef S_CERT_ERROR
}

static void s_decide_certificates(const void *state, const svc_ctx_t *ctx,
                                  const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Production__RecordCertificates *cmd =
        (const Tp__Production__RecordCertificates *) msg;
    s_fact_t f = {state, ctx, out, cmd->fact_id, cmd->order_id};
    if (!s_fact_start(&f))
        return;
    if (cmd->n_certificates == 0)
        svc_out_error(out, "invalid", "certificates", "at least one certificate is required");
    else if (cmd->n_certificates > PRODUCTION_CERTS_MAX)
        svc_out_error(out, "invalid", "certificates", "at most %d certificates",
                      PRODUCTION_CERTS_MAX);
    else
        for (size_t i = 0; i < cmd->n_certificates; i++)
            s_check_certificate(out, cmd, i, ctx->now_us);
    const prd_job_t *job = s_fact_job(&f);
    if (!job)
        return;
    if (job->certs) {
        S_CONFLICT(out, "certificates already recorded");
        return;
    }
    /* serials are unique at the CA: one recorded for another card is a producer's error */
    Tp__Production__Certificate certs[PRODUCTION_CERTS_MAX];
    Tp__Production__Certificate *cert_p[PRODUCTION_CERTS_MAX];
    char serials[PRODUCTION_CERTS_MAX][65];
    for (size_t i = 0; i < cmd->n_certificates; i++) {
        const char *s = cmd->certificates[i]->serial;
        size_t k = 0;
        for (; s[k]; k++)
            serials[i][k] = (char) tolower((unsigned char) s[k]);
        serials[i][k] = '\0';
        const char *other = zhashx_lookup(f.st->serials, serials[i]);
        if (other) {
            char path[64];
            snprintf(path, sizeof path, "certificates[%zu].serial", i);
            svc_out_error(out, "conflict", path, "already recorded for order %s", other);
        }
        certs[i] = *cmd->certificates[i];
        certs[i].serial = serials[i];
        certs[i].subject = (char *) prd_s(certs[i].subject);
        cert_p[i] = &certs[i];
    }
    if (svc_out_failed(out))
        return;
    Tp__Production__CertificatesCreated ev = TP__PRODUCTION__CERTIFICATES_CREATED__INIT;
    ev.fact_id = (char *) f.fact_id;
    ev.order_id = (char *) f.order_id;
    ev.n_certificates = cmd->n_certificates;
    ev.certificates = cert_p;
    ev.at_us = ctx->now_us;
    s_emit(out, "job", f.order_id, &ev.base);
    prd_job_t after = *job;
    after.certs = &ev;
    s_ack(&f, f.order_id, prd_job_status(&after), false);
}

static void s_decide_produced(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                              svc_out_t *out)
{
    const Tp__Production__RecordCardProduced *cmd =
        (const Tp__Production__RecordCardProduced *) msg;
    s_fact_t f = {state, ctx, out, cmd->fact_id, cmd->order_id};
    if (!s_fact_start(&f))
        return;
    const char *number = prd_s(cmd->card_number);
    if (!*number)
        svc_out_error(out, "invalid", "cardNumber", "is required");
    else if (!s_chars(number, 1, 32, NULL, true))
        svc_out_error(out, "invalid", "cardNumber", "must be 1 to 32 letters and digits");
    const prd_job_t *job = s_fact_job(&f);
    if (!job)
        return;
    if (job->produced_at_us) {
        S_CONFLICT(out, "card already produced");
        return;
    }
    if (!job->certs) {
        S_CONFLICT(out, "card produced before its certificates were created");
        return;
    }
    /* the card number identifies a card for a revocation without login: unique */
    char key[40];
    size_t k = 0;
    for (; number[k]; k++)
        key[k] = (char) toupper((unsigned char) number[k]);
    key[k] = '\0';
    const char *other = zhashx_lookup(f.st->cards, key);
    if (other) {
        svc_out_error(out, "conflict", "cardNumber", "already recorded for order %s", other);
        return;
    }
    Tp__Production__CardProduced ev = TP__PRODUCTION__CARD_PRODUCED__INIT;
    ev.fact_id = (char *) f.fact_id;
    ev.order_id = (char *) f.order_id;
    ev.card_number = (char *) number;
    ev.at_us = ctx->now_us;
    s_emit(out, "job", f.order_id, &ev.base);
    prd_job_t after = *job;
    after.produced_at_us = ctx->now_us;
    s_ack(&f, f.order_id, prd_job_status(&after), false);
}

/* What both shipping facts refuse: the card (@p card) or the PIN letter shipped twice,
 * before the card exists, or with the other one's tracking number. */
static bool s_may_ship(svc_out_t *out, const prd_job_t *job, bool card, const char *tracking)
{
    const char *what = card ? "card" : "PIN letter";
    if (card ? job->shipped_at_us : job->pin_shipped_at_us) {
        S_CONFLICT(out, "%s already shipped", what);
        return false;
    }
    if (!job->produced_at_us) {
        S_CONFLICT(out, "%s shipped before %s was produced", what, card ? "it" : "the card");
        return false;
    }
    const char *other = card ? job->pin_tracking_number : job->tracking_number;
    if (other && streq(other, tracking)) {
        svc_out_error(out, "conflict", "trackingNumber",
                      "is the %s's: card and PIN letter travel apart", card ? "PIN letter" : "card");
        return false;
    }
    return true;
}

static void s_decide_shipped(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                             svc_out_t *out)
{
    const Tp__Production__RecordCardShipped *cmd = (const Tp__Production__RecordCardShipped *) msg;
    s_fact_t f = {state, ctx, out, cmd->fact_id, cmd->order_id};
    if (!s_fact_start(&f))
        return;
    s_check_tracking(out, prd_s(cmd->tracking_number));
    const prd_job_t *job = s_fact_job(&f);
    if (!job)
        return;
    if (!s_may_ship(out, job, true, cmd->tracking_number))
        return;
    char product_id[PRD_STREAM_MAX];
    prd_product_id(product_id, sizeof product_id, f.order_id);
    Tp__Production__CardShipped ev = TP__PRODUCTION__CARD_SHIPPED__INIT;
    ev.fact_id = (char *) f.fact_id;
    ev.order_id = (char *) f.order_id;
    ev.tracking_number = cmd->tracking_number;
    ev.at_us = ctx->now_us;
    ev.product_id = product_id;
    s_emit(out, "job", f.order_id, &ev.base);
    prd_job_t after = *job;
    after.shipped_at_us = ctx->now_us;
    s_ack(&f, f.order_id, prd_job_status(&after), false);
}

static void s_decide_pin_shipped(const void *state, const svc_ctx_t *ctx,
                                 const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Production__RecordPinLetterShipped *cmd =
        (const Tp__Production__RecordPinLetterShipped *) msg;
    s_fact_t f = {state, ctx, out, cmd->fact_id, cmd->order_id};
    if (!s_fact_start(&f))
        return;
    s_check_tracking(out, prd_s(cmd->tracking_number));
    const prd_job_t *job = s_fact_job(&f);
    if (!job)
        return;
    if (!s_may_ship(out, job, false, cmd->tracking_number))
        return;
    Tp__Production__PinLetterShipped ev = TP__PRODUCTION__PIN_LETTER_SHIPPED__INIT;
    ev.fact_id = (char *) f.fact_id;
    ev.order_id = (char *) f.order_id;
    ev.tracking_number = cmd->tracking_number;
    ev.at_us = ctx->now_us;
    s_emit(out, "job", f.order_id, &ev.base);
    s_ack(&f, f.order_id, prd_job_status(job), false);
}

/* The second delivery completes the job in the same command. */
static void s_completed(const s_fact_t *f, const prd_job_t *after)
{
    if (after->card_delivered_at_us && after->pin_delivered_at_us) {
        Tp__Production__JobCompleted ev = TP__PRODUCTION__JOB_COMPLETED__INIT;
        ev.order_id = (char *) f->order_id;
        ev.at_us = f->ctx->now_us;
        s_emit(f->out, "job", f->order_id, &ev.base);
    }
}

/* One of the two deliveries (card, PIN letter): refused twice or before its shipping;
 * the job completes with the second. @p ev is the event, already holding the fact. */
static void s_delivery(s_fact_t *f, bool card, ProtobufCMessage *ev)
{
    const prd_job_t *job = s_fact_job(f);
    if (!job)
        return;
    int64_t done = card ? job->card_delivered_at_us : job->pin_delivered_at_us;
    int64_t shipped = card ? job->shipped_at_us : job->pin_shipped_at_us;
    if (done) {
        S_CONFLICT(f->out, card ? "card already delivered" : "PIN letter already delivered");
        return;
    }
    if (!shipped) {
        S_CONFLICT(f->out, card ? "card delivered before it was shipped"
                                : "PIN letter delivered before it was shipped");
        return;
    }
    s_emit(f->out, "job", f->order_id, ev);
    prd_job_t after = *job;
    if (card)
        after.card_delivered_at_us = f->ctx->now_us;
    else
        after.pin_delivered_at_us = f->ctx->now_us;
    s_completed(f, &after);
    if (after.card_delivered_at_us && after.pin_delivered_at_us)
        after.completed_at_us = f->ctx->now_us;
    s_ack(f, f->order_id, prd_job_status(&after), false);
}

static void s_decide_delivered(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                               svc_out_t *out)
{
    const Tp__Production__RecordCardDelivered *cmd =
        (const Tp__Production__RecordCardDelivered *) msg;
    s_fact_t f = {state, ctx, out, cmd->fact_id, cmd->order_id};
    if (!s_fact_start(&f))
        return;
    Tp__Production__CardDelivered ev = TP__PRODUCTION__CARD_DELIVERED__INIT;
    ev.fact_id = (char *) f.fact_id;
    ev.order_id = (char *) f.order_id;
    ev.at_us = ctx->now_us;
    s_delivery(&f, true, &ev.base);
}

static void s_decide_pin_delivered(const void *state, const svc_ctx_t *ctx,
                                   const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Production__RecordPinLetterDelivered *cmd =
        (const Tp__Production__RecordPinLetterDelivered *) msg;
    s_fact_t f = {state, ctx, out, cmd->fact_id, cmd->order_id};
    if (!s_fact_start(&f))
        return;
    Tp__Production__PinLetterDelivered ev = TP__PRODUCTION__PIN_LETTER_DELIVERED__INIT;
    ev.fact_id = (char *) f.fact_id;
    ev.order_id = (char *) f.order_id;
    ev.at_us = ctx->now_us;
    s_delivery(&f, false, &ev.base);
}

/* ------------------------------------------------------------------ reactions */

static void s_react_released(const prd_state_t *st, const svc_event_t *ev, svc_out_t *out)
{
    Tp__Order__OrderReleasedForProduction *e =
        tp__order__order_released_for_production__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "upstream OrderReleasedForProduction does not decode");
        return;
    }
    size_t n = strlen(e->order_id);
    if (n == 0 || n > PRD_ORDER_ID_MAX)
        svc_out_log(out, 'W',
                    "order seq %llu: released order id \"%.80s\" is not usable; "
                    "no job opened",
                    (unsigned long long) ev->seq, e->order_id);
    else if (!prd_job(st, e->order_id)) { /* once per order */
        Tp__Production__JobOpened job = TP__PRODUCTION__JOB_OPENED__INIT;
        job.order_id = e->order_id;
        job.account_id = e->account_id;
        job.product_type = e->product_id;
        job.shop_id = e->shop_id;
        job.at_us = e->at_us ? e->at_us : ev->recorded_at_us;
        s_emit(out, "job", e->order_id, &job.base);
    }
    tp__order__order_released_for_production__free_unpacked(e, NULL);
}

/* Only product_id and request_id of the revocation events are relied on; the time is
 * when the revocation service recorded them. */
static void s_react_revocation(const prd_state_t *st, const svc_event_t *ev, bool completed,
                               svc_out_t *out)
{
    char *product_id = NULL, *request_id = NULL;
    Tp__Revocation__RevocationRequested *rq = NULL;
    Tp__Revocation__RevocationCompleted *rc = NULL;
    if (!completed &&
        (rq = tp__revocation__revocation_requested__unpack(NULL, ev->payload_len, ev->payload))) {
        product_id = rq->product_id;
        request_id = rq->request_id;
    }
    else if (completed && (rc = tp__revocation__revocation_completed__unpack(NULL, ev->payload_len,
                                                                             ev->payload))) {
        product_id = rc->product_id;
        request_id = rc->request_id;
    }
    else {
        svc_out_error(out, "invalid", NULL, "upstream %s does not decode", ev->event_type);
        return;
    }
    const prd_job_t *job = prd_product(st, product_id);
    if (!job)
        svc_out_log(out, 'W', "revocation %s names product \"%.80s\", which is not known here",
                    request_id, product_id);
    else if (!completed && !job->revocation_at_us && !job->revoked_at_us) {
        Tp__Production__ProductRevocationPending p =
            TP__PRODUCTION__PRODUCT_REVOCATION_PENDING__INIT;
        p.product_id = product_id;
        p.request_id = request_id;
        p.at_us = ev->recorded_at_us;
        s_emit(out, "product", product_id, &p.base);
    }
    else if (completed && !job->revoked_at_us) {
        Tp__Production__ProductRevoked r = TP__PRODUCTION__PRODUCT_REVOKED__INIT;
        r.product_id = product_id;
        r.request_id = request_id;
        r.at_us = ev->recorded_at_us;
        s_emit(out, "product", product_id, &r.base);
    }
    if (rq)
        tp__revocation__revocation_requested__free_unpacked(rq, NULL);
    if (rc)
        tp__revocation__revocation_completed__free_unpacked(rc, NULL);
}

static void s_react(const void *state, const char *upstream, const svc_event_t *ev, svc_out_t *out)
{
    if (!upstream || !ev->event_type)
        return;
    if (streq(upstream, "order") && streq(ev->event_type, "OrderReleasedForProduction"))
        s_react_released(state, ev, out);
    else if (streq(upstream, "revocation") && streq(ev->event_type, "RevocationRequested"))
        s_react_revocation(state, ev, false, out);
    else if (streq(upstream, "revocation") && streq(ev->event_type, "RevocationCompleted"))
        s_react_revocation(state, ev, true, out);
}

/* ------------------------------------------------------------------ timer */

/* Activates the products due. Walks the waiting ones only: O(products shipped within the
 * delay), fine at a tick a second. Not stopped at the first one not yet due: the times
 * come from the clock of whichever process recorded them, which may have stepped back. */
static void s_tick(const void *state, int64_t now_us, svc_out_t *out)
{
    const prd_state_t *st = state;
    size_t n = 0;
    for (const prd_job_t *job = zlistx_first(st->pending); job && n < PRODUCTION_TICK_MAX;
         job = zlistx_next(st->pending)) {
        /* the list is in shipping order and every product waits the same delay: the
         * first one not due yet ends the walk (a wall clock set back keeps those behind
         * it waiting by no more than that step), so a tick costs what it activates, not
         * a walk over every card shipped within the delay */
        if (now_us < prd_activates_at(st, job))
            break;
        if (job->revocation_at_us || job->revoked_at_us)
            continue;
        Tp__Production__ProductActivated ev = TP__PRODUCTION__PRODUCT_ACTIVATED__INIT;
        ev.product_id = job->product_id;
        ev.order_id = job->order_id;
        ev.at_us = now_us;
        s_emit(out, "product", job->product_id, &ev.base);
        n++;
    }
}

/* ------------------------------------------------------------------ settings */

/* Ten years: anything longer is a typo, not a policy. */
#define S_DELAY_MAX_S (10LL * 366 * 86400)

static const svc_setting_t s_settings[] = {
    {"activation_delay_s", SVC_SETTING_STR(PRODUCTION_ACTIVATION_DELAY_S), SVC_SETTING_INT, 0,
     S_DELAY_MAX_S,
     "Certificates of portal orders are activated this long after shipping (seconds;\n"
     "0: at the next tick)."},
    {NULL}};

static void s_configure(void *state, zconfig_t *config, const char *name)
{
    prd_state_t *st = state;
    const char *dflt = s_settings[0].dflt;
    const char *value = svc_setting_get(config, name, s_settings, "activation_delay_s");
    char *end = NULL;
    errno = 0;
    long long s = strtoll(value, &end, 10);
    if (errno || end == value || *end || s < 0 || s > S_DELAY_MAX_S ||
        !isdigit((unsigned char) *value)) {
        /* configure has no output to log through; the runtime's logger is zsys */
        zsys_warning("%s: activation_delay_s \"%s\" is not 0..%lld seconds; using %s", name, value,
                     S_DELAY_MAX_S, dflt);
        s = PRODUCTION_ACTIVATION_DELAY_S;
    }
    st->activation_delay_us = (int64_t) s * 1000000;
}

/* ------------------------------------------------------------------ the table */

#define S_CMD(name, type, query, decide, reply, who)                                               \
    {                                                                                              \
        name, &tp__production__##type##__descriptor, query, NULL, decide, NULL, false,             \
            &tp__production__##reply##__descriptor, who                                            \
    }

static const svc_command_t s_commands[] = {
    S_CMD("RecordCertificates", record_certificates, false, s_decide_certificates, fact_ack, SVC_PRODUCER | SVC_OPERATOR),
    S_CMD("RecordCardProduced", record_card_produced, false, s_decide_produced, fact_ack, SVC_PRODUCER | SVC_OPERATOR),
    S_CMD("RecordCardShipped", record_card_shipped, false, s_decide_shipped, fact_ack, SVC_PRODUCER | SVC_OPERATOR),
    S_CMD("RecordPinLetterShipped", record_pin_letter_shipped, false, s_decide_pin_shipped,
          fact_ack, SVC_PRODUCER | SVC_OPERATOR),
    S_CMD("RecordCardDelivered", record_card_delivered, false, s_decide_delivered, fact_ack, SVC_PRODUCER | SVC_OPERATOR),
    S_CMD("RecordPinLetterDelivered", record_pin_letter_delivered, false, s_decide_pin_delivered,
          fact_ack, SVC_PRODUCER | SVC_OPERATOR),
    S_CMD("ListProducts", list_products, true, prd_query_list_products, product_list, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR),
    S_CMD("GetProduct", get_product, true, prd_query_get_product, product_view, SVC_CUSTOMER | SVC_OFFICER | SVC_OPERATOR),
    S_CMD("GetJob", get_job, true, prd_query_get_job, job_view, SVC_PRODUCER | SVC_OPERATOR),
};

/* The services that follow this one (its "$read" and PUB socket). */
static const char *const s_followers[] = {"order", "revocation", "gateway", "account", NULL};
static const char *const s_upstreams[] = {"order", "revocation", NULL};

/* what react acts on; every other upstream event is skipped without a commit */
static const char *const s_reacts_to[] = {"OrderReleasedForProduction", "RevocationRequested",
    "RevocationCompleted", NULL};

const svc_def_t production_def = {
    .name = "production",
    .state_new = prd_state_new,
    .state_destroy = prd_state_destroy,
    .apply = prd_apply,
    .commands = s_commands,
    .n_commands = sizeof s_commands / sizeof s_commands[0],
    .react = s_react,
    .tick = s_tick,
    .upstreams = s_upstreams,
    .followers = s_followers,
    .reacts_to = s_reacts_to,
    .summary = prd_summary,
    .configure = s_configure,
    .settings = s_settings,
};
