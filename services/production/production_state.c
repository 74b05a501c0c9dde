/* production_state.c: the production core's state: apply (the only place state
 * changes), lookups, the derived statuses, and the summary for replays. */
#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "svc_digest.h"
#include "production_internal.h"

/* ------------------------------------------------------------------ lookups */

const prd_job_t *prd_job(const prd_state_t *st, const char *order_id)
{
    return order_id && *order_id ? zhashx_lookup(st->jobs, order_id) : NULL;
}

const prd_job_t *prd_product(const prd_state_t *st, const char *product_id)
{
    return product_id && *product_id ? zhashx_lookup(st->products, product_id) : NULL;
}

zlistx_t *prd_products_of(const prd_state_t *st, const char *account_id)
{
    return account_id && *account_id ? zhashx_lookup(st->by_account, account_id) : NULL;
}

void prd_product_id(char *out, size_t outsz, const char *order_id)
{
    snprintf(out, outsz, "prd-%s", order_id);
}

const char *prd_job_status(const prd_job_t *job)
{
    if (job->completed_at_us)
        return PRD_DELIVERED;
    if (job->shipped_at_us)
        return PRD_SHIPPED;
    if (job->produced_at_us)
        return PRD_PRODUCED;
    if (job->certs)
        return PRD_CERTIFICATES;
    return PRD_OPENED;
}

const char *prd_product_status(const prd_job_t *job)
{
    if (job->revoked_at_us)
        return PRODUCTION_GESPERRT;
    if (job->revocation_at_us)
        return PRODUCTION_SPERRUNG;
    if (job->activated_at_us)
        return PRODUCTION_GUELTIG;
    return PRODUCTION_NICHT_FREIGESCHALTET;
}

int64_t prd_activates_at(const prd_state_t *st, const prd_job_t *job)
{
    return job->shipped_at_us ? job->shipped_at_us + st->activation_delay_us : 0;
}

/* ------------------------------------------------------------------ apply */

static void s_set(char **field, const char *value)
{
    free(*field);
    *field = value && *value ? strdup(value) : NULL;
}

static int64_t s_time(int64_t given, const svc_event_t *ev)
{
    return given ? given : ev->recorded_at_us;
}

/* Keys of the uniqueness indexes: serials in lower case, card numbers in upper case. */
static void s_key(char *out, size_t outsz, const char *s, bool upper)
{
    size_t i = 0;
    for (; s[i] && i + 1 < outsz; i++)
        out[i] = (char) (upper ? toupper((unsigned char) s[i]) : tolower((unsigned char) s[i]));
    out[i] = '\0';
}

/* @p order_id is the job's own (jobs live as long as the state): the index borrows it;
 * zhashx_insert keeps the first one of a key */
static void s_fact(prd_state_t *st, const char *fact_id, const char *order_id)
{
    if (fact_id && *fact_id)
        zhashx_insert(st->facts, fact_id, (void *) order_id);
}

static void s_stop_waiting(prd_state_t *st, prd_job_t *job)
{
    if (job->pending) {
        zlistx_delete(st->pending, job->pending);
        job->pending = NULL;
    }
}

static void s_apply_opened(prd_state_t *st, const svc_event_t *ev)
{
    Tp__Production__JobOpened *e =
        tp__production__job_opened__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    if (*e->order_id && !zhashx_lookup(st->jobs, e->order_id)) {
        prd_job_t *job = calloc(1, sizeof *job);
        if (job) {
            job->order_id = strdup(e->order_id);
            s_set(&job->account_id, e->account_id);
            s_set(&job->product_type, e->product_type);
            s_set(&job->shop_id, e->shop_id);
            job->opened_at_us = s_time(e->at_us, ev);
            zhashx_insert(st->jobs, e->order_id, job);
        }
    }
    tp__production__job_opened__free_unpacked(e, NULL);
}

static void s_apply_certificates(prd_state_t *st, const svc_event_t *ev)
{
    Tp__Production__CertificatesCreated *e =
        tp__production__certificates_created__unpack(NULL, ev->payload_len, ev->payload);
    prd_job_t *job = e ? zhashx_lookup(st->jobs, e->order_id) : NULL;
    if (!job || job->certs) {
        if (e)
            tp__production__certificates_created__free_unpacked(e, NULL);
        return;
    }
    job->certs = e; /* the job keeps the event: the views borrow its certificates */
    job->certs_at_us = s_time(e->at_us, ev);
    s_fact(st, e->fact_id, job->order_id);
    for (size_t i = 0; i < e->n_certificates; i++) {
        const Tp__Production__Certificate *c = e->certificates[i];
        if (i == 0 || c->valid_from_us > job->valid_from_us)
            job->valid_from_us = c->valid_from_us;
        if (i == 0 || c->valid_to_us < job->valid_to_us)
            job->valid_to_us = c->valid_to_us;
        char key[80];
        s_key(key, sizeof key, c->serial, false);
        if (*key)
            zhashx_insert(st->serials, key, job->order_id);
    }
}

/* Unpacks a job event and finds its job; returns from the caller when either fails. */
#define S_JOB_EVENT(T, fn, var)                                                                    \
    T *var = fn##__unpack(NULL, ev->payload_len, ev->payload);                                     \
    prd_job_t *job = var ? zhashx_lookup(st->jobs, var->order_id) : NULL;                          \
    if (!job) {                                                                                    \
        if (var)                                                                                   \
            fn##__free_unpacked(var, NULL);                                                        \
        return;                                                                                    \
    }

static void s_apply_produced(prd_state_t *st, const svc_event_t *ev)
{
    S_JOB_EVENT(Tp__Production__CardProduced, tp__production__card_produced, e)
    s_set(&job->card_number, e->card_number);
    job->produced_at_us = s_time(e->at_us, ev);
    s_fact(st, e->fact_id, job->order_id);
    char key[80];
    s_key(key, sizeof key, prd_s(e->card_number), true);
    if (*key)
        zhashx_insert(st->cards, key, job->order_id);
    tp__production__card_produced__free_unpacked(e, NULL);
}

static void s_apply_shipped(prd_state_t *st, const svc_event_t *ev)
{
    S_JOB_EVENT(Tp__Production__CardShipped, tp__production__card_shipped, e)
    s_fact(st, e->fact_id, job->order_id);
    if (!job->shipped_at_us) {
        char id[PRD_STREAM_MAX];
        if (*e->product_id)
            snprintf(id, sizeof id, "%s", e->product_id);
        else
            prd_product_id(id, sizeof id, job->order_id);
        s_set(&job->tracking_number, e->tracking_number);
        job->shipped_at_us = s_time(e->at_us, ev);
        s_set(&job->product_id, id);
        if (job->product_id && !zhashx_lookup(st->products, id)) {
            zhashx_insert(st->products, id, job);
            zlistx_t *mine = zhashx_lookup(st->by_account, prd_s(job->account_id));
            if (!mine && (mine = zlistx_new()))
                zhashx_insert(st->by_account, prd_s(job->account_id), mine);
            if (mine)
                zlistx_add_end(mine, job);
            if (!job->activated_at_us && !job->revocation_at_us && !job->revoked_at_us)
                job->pending = zlistx_add_end(st->pending, job);
        }
    }
    tp__production__card_shipped__free_unpacked(e, NULL);
}

static void s_apply_pin_shipped(prd_state_t *st, const svc_event_t *ev)
{
    S_JOB_EVENT(Tp__Production__PinLetterShipped, tp__production__pin_letter_shipped, e)
    s_set(&job->pin_tracking_number, e->tracking_number);
    job->pin_shipped_at_us = s_time(e->at_us, ev);
    s_fact(st, e->fact_id, job->order_id);
    tp__production__pin_letter_shipped__free_unpacked(e, NULL);
}

static void s_apply_card_delivered(prd_state_t *st, const svc_event_t *ev)
{
    S_JOB_EVENT(Tp__Production__CardDelivered, tp__production__card_delivered, e)
    job->card_delivered_at_us = s_time(e->at_us, ev);
    s_fact(st, e->fact_id, job->order_id);
    tp__production__card_delivered__free_unpacked(e, NULL);
}

static void s_apply_pin_delivered(prd_state_t *st, const svc_event_t *ev)
{
    S_JOB_EVENT(Tp__Production__PinLetterDelivered, tp__production__pin_letter_delivered, e)
    job->pin_delivered_at_us = s_time(e->at_us, ev);
    s_fact(st, e->fact_id, job->order_id);
    tp__production__pin_letter_delivered__free_unpacked(e, NULL);
}

static void s_apply_completed(prd_state_t *st, const svc_event_t *ev)
{
    S_JOB_EVENT(Tp__Production__JobCompleted, tp__production__job_completed, e)
    job->completed_at_us = s_time(e->at_us, ev);
    tp__production__job_completed__free_unpacked(e, NULL);
}

/* The three product events share their layout's first field (product_id). */
static void s_apply_product_event(prd_state_t *st, const svc_event_t *ev)
{
    const char *t = ev->event_type;
    if (streq(t, "ProductActivated")) {
        Tp__Production__ProductActivated *e =
            tp__production__product_activated__unpack(NULL, ev->payload_len, ev->payload);
        prd_job_t *job = e ? zhashx_lookup(st->products, e->product_id) : NULL;
        if (job && !job->activated_at_us) {
            job->activated_at_us = s_time(e->at_us, ev);
            s_stop_waiting(st, job);
        }
        if (e)
            tp__production__product_activated__free_unpacked(e, NULL);
    }
    else if (streq(t, "ProductRevocationPending")) {
        Tp__Production__ProductRevocationPending *e =
            tp__production__product_revocation_pending__unpack(NULL, ev->payload_len, ev->payload);
        prd_job_t *job = e ? zhashx_lookup(st->products, e->product_id) : NULL;
        if (job && !job->revocation_at_us) {
            job->revocation_at_us = s_time(e->at_us, ev);
            s_set(&job->revocation_request_id, e->request_id);
            s_stop_waiting(st, job);
        }
        if (e)
            tp__production__product_revocation_pending__free_unpacked(e, NULL);
    }
    else if (streq(t, "ProductRevoked")) {
        Tp__Production__ProductRevoked *e =
            tp__production__product_revoked__unpack(NULL, ev->payload_len, ev->payload);
        prd_job_t *job = e ? zhashx_lookup(st->products, e->product_id) : NULL;
        if (job && !job->revoked_at_us) {
            job->revoked_at_us = s_time(e->at_us, ev);
            if (!job->revocation_request_id)
                s_set(&job->revocation_request_id, e->request_id);
            s_stop_waiting(st, job);
        }
        if (e)
            tp__production__product_revoked__free_unpacked(e, NULL);
    }
}

void prd_apply(void *state, const svc_event_t *ev)
{
    prd_state_t *st = state;
    st->events++;
    if (!ev->event_type || (!ev->payload && ev->payload_len))
        return;
    const char *t = ev->event_type;
    if (streq(t, "JobOpened"))
        s_apply_opened(st, ev);
    else if (streq(t, "CertificatesCreated"))
        s_apply_certificates(st, ev);
    else if (streq(t, "CardProduced"))
        s_apply_produced(st, ev);
    else if (streq(t, "CardShipped"))
        s_apply_shipped(st, ev);
    else if (streq(t, "PinLetterShipped"))
        s_apply_pin_shipped(st, ev);
    else if (streq(t, "CardDelivered"))
        s_apply_card_delivered(st, ev);
    else if (streq(t, "PinLetterDelivered"))
        s_apply_pin_delivered(st, ev);
    else if (streq(t, "JobCompleted"))
        s_apply_completed(st, ev);
    else
        s_apply_product_event(st, ev);
    /* Unknown types are ignored: apply must accept every event ever written. */
}

/* ------------------------------------------------------------------ lifecycle */

static void s_job_free(void **item)
{
    prd_job_t *job = *item;
    if (!job)
        return;
    if (job->certs)
        tp__production__certificates_created__free_unpacked(job->certs, NULL);
    free(job->order_id);
    free(job->account_id);
    free(job->product_type);
    free(job->shop_id);
    free(job->card_number);
    free(job->tracking_number);
    free(job->pin_tracking_number);
    free(job->product_id);
    free(job->revocation_request_id);
    free(job);
    *item = NULL;
}

static void s_list_free(void **item)
{
    zlistx_destroy((zlistx_t **) item);
}

void *prd_state_new(void)
{
    prd_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->jobs = zhashx_new();
    st->products = zhashx_new();
    st->by_account = zhashx_new();
    st->facts = zhashx_new();
    st->serials = zhashx_new();
    st->cards = zhashx_new();
    st->pending = zlistx_new();
    st->activation_delay_us = (int64_t) PRODUCTION_ACTIVATION_DELAY_S * 1000000;
    if (!st->jobs || !st->products || !st->by_account || !st->facts || !st->serials || !st->cards ||
        !st->pending) {
        void *p = st;
        prd_state_destroy(&p);
        return NULL;
    }
    zhashx_set_destructor(st->jobs, s_job_free);
    zhashx_set_destructor(st->by_account, s_list_free);
    return st;
}

void prd_state_destroy(void **state_p)
{
    prd_state_t *st = state_p ? *state_p : NULL;
    if (!st)
        return;
    /* the lists and the indexes borrow the jobs (and their order ids): drop them first */
    zlistx_destroy(&st->pending);
    zhashx_destroy(&st->by_account);
    zhashx_destroy(&st->products);
    zhashx_destroy(&st->facts);
    zhashx_destroy(&st->serials);
    zhashx_destroy(&st->cards);
    zhashx_destroy(&st->jobs);
    free(st);
    *state_p = NULL;
}

/* ------------------------------------------------------------------ summary */

static void s_hash_job(svc_digest_t *h, const prd_job_t *j)
{
    char line[2048];
    snprintf(line, sizeof line,
             "j|%s|%s|%s|%s|%" PRId64 "|%" PRId64 "|%s|%" PRId64 "|%s|%" PRId64 "|%s|%" PRId64
             "|%" PRId64 "|%" PRId64 "|%" PRId64,
             j->order_id, prd_s(j->account_id), prd_s(j->product_type), prd_s(j->shop_id),
             j->opened_at_us, j->certs_at_us, prd_s(j->card_number), j->produced_at_us,
             prd_s(j->tracking_number), j->shipped_at_us, prd_s(j->pin_tracking_number),
             j->pin_shipped_at_us, j->card_delivered_at_us, j->pin_delivered_at_us,
             j->completed_at_us);
    svc_digest_line(h, "%s", line);
    for (size_t i = 0; j->certs && i < j->certs->n_certificates; i++) {
        const Tp__Production__Certificate *c = j->certs->certificates[i];
        snprintf(line, sizeof line, "c|%s|%s|%" PRId64 "|%" PRId64 "|%s", c->serial, c->kind,
                 c->valid_from_us, c->valid_to_us, c->subject);
        svc_digest_line(h, "%s", line);
    }
    if (j->product_id) {
        snprintf(line, sizeof line,
                 "p|%s|%s|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s|%" PRId64,
                 j->product_id, prd_product_status(j), j->valid_from_us, j->valid_to_us,
                 j->activated_at_us, j->revocation_at_us, prd_s(j->revocation_request_id),
                 j->revoked_at_us);
        svc_digest_line(h, "%s", line);
    }
}

/* Deterministic summary: counts and a SHA-256 over the sorted jobs, products and fact
 * ids (everything that decides something), so a replay can be compared line by line.
 * Whether a product is active depends on the clock, so it is left out. */
char *prd_summary(const void *state)
{
    const prd_state_t *st = state;
    svc_digest_t h;
    svc_digest_init(&h);
    static const char *const jnames[5] = {PRD_OPENED, PRD_CERTIFICATES, PRD_PRODUCED, PRD_SHIPPED,
                                          PRD_DELIVERED};
    static const char *const pnames[4] = {PRODUCTION_NICHT_FREIGESCHALTET, PRODUCTION_GUELTIG,
                                          PRODUCTION_SPERRUNG, PRODUCTION_GESPERRT};
    size_t jobs[5] = {0}, products[4] = {0};
    zlistx_t *keys = svc_sorted_keys(st->jobs);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        const prd_job_t *j = zhashx_lookup(st->jobs, k);
        s_hash_job(&h, j);
        const char *js = prd_job_status(j);
        for (int i = 0; i < 5; i++)
            jobs[i] += streq(js, jnames[i]);
        const char *ps = j->product_id ? prd_product_status(j) : "";
        for (int i = 0; i < 4; i++)
            products[i] += streq(ps, pnames[i]);
    }
    zlistx_destroy(&keys);
    keys = svc_sorted_keys(st->facts);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        char line[512];
        snprintf(line, sizeof line, "f|%s|%s", k, (const char *) zhashx_lookup(st->facts, k));
        svc_digest_line(&h, "%s", line);
    }
    zlistx_destroy(&keys);
    char hex[65];
    svc_digest_hex(&h, hex);
    return zsys_sprintf("{\"events\":%" PRIu64 ",\"jobs\":%zu,\"opened\":%zu,"
                        "\"certificates\":%zu,\"produced\":%zu,\"shipped\":%zu,"
                        "\"delivered\":%zu,\"products\":%zu,\"nichtFreigeschaltet\":%zu,"
                        "\"gueltig\":%zu,\"sperrungInBearbeitung\":%zu,\"gesperrt\":%zu,"
                        "\"waitingForActivation\":%zu,\"facts\":%zu,\"digest\":\"%s\"}",
                        st->events, zhashx_size(st->jobs), jobs[0], jobs[1], jobs[2], jobs[3],
                        jobs[4], zhashx_size(st->products), products[0], products[1], products[2],
                        products[3], zlistx_size(st->pending), zhashx_size(st->facts), hex);
}
