/* revocation_state.c: the revocation core's state: lookups, apply (the only place it
 * changes) and the settings. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "revocation_internal.h"
#include "svc_addr.h"

/* ------------------------------------------------------------------ state */

static void s_product_free(void **item)
{
    rvk_product_t *p = *item;
    if (!p)
        return;
    free(p->order_id);
    free(p->product_id);
    free(p->account_id);
    free(p->shop_id);
    free(p->product_type);
    if (p->password_hash)
        sodium_memzero(p->password_hash, strlen(p->password_hash));
    free(p->password_hash);
    free(p->card_number);
    zlistx_destroy(&p->serials);
    free(p);
    *item = NULL;
}

static void s_request_free(void **item)
{
    rvk_request_t *r = *item;
    if (!r)
        return;
    if (r->requested)
        tp__revocation__revocation_requested__free_unpacked(r->requested, NULL);
    if (r->completed)
        tp__revocation__revocation_completed__free_unpacked(r->completed, NULL);
    free(r);
    *item = NULL;
}

void *rvk_state_new(void)
{
    rvk_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->products = zhashx_new();
    st->by_product = zhashx_new();
    st->by_number = zhashx_new();
    svc_officers_init(&st->officers, RVK_ID_MAX);
    st->requests = zhashx_new();
    st->received = zlistx_new();
    st->open = zlistx_new();
    st->revoked = zlistx_new();
    st->fails_addr = zhashx_new();
    zhashx_set_destructor(st->products, s_product_free);
    zhashx_set_destructor(st->requests, s_request_free);
    zhashx_set_destructor(st->fails_addr, (zhashx_destructor_fn *) zstr_free);
    st->delay_us = (int64_t) REVOCATION_DELAY_DEFAULT_S * 1000000;
    st->alarm_us = (int64_t) REVOCATION_ALARM_DEFAULT_S * 1000000;
    return st;
}

void rvk_state_destroy(void **state_p)
{
    rvk_state_t *st = *state_p;
    if (!st)
        return;
    /* the borrowing indexes first, then the owners */
    zlistx_destroy(&st->received);
    zlistx_destroy(&st->open);
    zlistx_destroy(&st->revoked);
    zhashx_destroy(&st->by_product);
    zhashx_destroy(&st->by_number);
    zhashx_destroy(&st->requests);
    zhashx_destroy(&st->products);
    svc_officers_fini(&st->officers);
    zhashx_destroy(&st->fails_addr);
    free(st);
    *state_p = NULL;
}

const svc_setting_t rvk_settings[] = {
    {"processing_delay_s", SVC_SETTING_STR(REVOCATION_DELAY_DEFAULT_S), SVC_SETTING_INT, 0,
     REVOCATION_DELAY_MAX_S,
     "A revocation is completed this long after it was requested (seconds)."},
    {"alarm_after_s", SVC_SETTING_STR(REVOCATION_ALARM_DEFAULT_S), SVC_SETTING_INT, 1,
     REVOCATION_ALARM_MAX_S,
     "A request still open after this long is logged as an error at every tick (seconds)."},
    {NULL}};

/* A setting in whole seconds within its table's range: larger values are capped (the ETSI
 * limit must hold whatever the config says), anything else gives the default. The daemon
 * refuses such a config at start (svc_settings); a config handed in directly (tests,
 * tools) gets this. The core does no I/O, so it cannot complain. */
static int64_t s_seconds(zconfig_t *config, const char *name, const char *key)
{
    const svc_setting_t *s = svc_settings_find(rvk_settings, key);
    const char *v = svc_setting_get(config, name, rvk_settings, key);
    int64_t dflt = strtoll(s->dflt, NULL, 10), lo = (int64_t) s->min, hi = (int64_t) s->max;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno == ERANGE && n > 0)
        return hi;
    if (errno != 0 || end == v || *end != '\0' || n < lo)
        return dflt;
    return n > hi ? hi : n;
}

void rvk_configure(void *state, zconfig_t *config, const char *name)
{
    rvk_state_t *st = state;
    st->delay_us = s_seconds(config, name, "processing_delay_s") * 1000000;
    st->alarm_us = s_seconds(config, name, "alarm_after_s") * 1000000;
}

/* ------------------------------------------------------------------ lookups */

const rvk_product_t *rvk_product(const rvk_state_t *st, const char *order_id)
{
    return order_id ? zhashx_lookup(st->products, order_id) : NULL;
}

const rvk_product_t *rvk_by_product(const rvk_state_t *st, const char *product_id)
{
    return product_id ? zhashx_lookup(st->by_product, product_id) : NULL;
}

/* Products exist from shipping on; before, "prd-<order id>" (the production service's
 * naming) still finds the order, so an entitled caller can be told why it cannot be
 * revoked yet. */
const rvk_product_t *rvk_find_product(const rvk_state_t *st, const char *product_id)
{
    const rvk_product_t *p = rvk_by_product(st, product_id);
    if (!p && product_id && strncmp(product_id, "prd-", 4) == 0) {
        p = rvk_product(st, product_id + 4);
        if (p && p->product_id)
            p = NULL; /* shipped under another id: not this one */
    }
    return p;
}

const rvk_request_t *rvk_request(const rvk_state_t *st, const char *request_id)
{
    return request_id ? zhashx_lookup(st->requests, request_id) : NULL;
}

bool rvk_is_officer(const rvk_state_t *st, const char *account, const char *shop)
{
    return svc_officers_is(&st->officers, account, shop);
}

bool rvk_is_any_officer(const rvk_state_t *st, const char *account)
{
    return svc_officers_is_any(&st->officers, account);
}

size_t rvk_window_count(const rvk_window_t *w, int64_t since)
{
    size_t n = 0;
    for (size_t i = 0; w && i < RVK_WINDOW_MAX; i++)
        if (w->at[i] && w->at[i] > since)
            n++;
    return n;
}

/* ------------------------------------------------------------------ apply */

/* Replaces *slot by a copy of @p v when @p v is not empty. */
static void s_set(char **slot, const char *v)
{
    if (!v || !*v || (*slot && streq(*slot, v)))
        return;
    char *copy = strdup(v);
    if (!copy)
        return;
    free(*slot);
    *slot = copy;
}

static void s_index_number(rvk_state_t *st, rvk_product_t *p, const char *number)
{
    char key[RVK_NUMBER_MAX + 1];
    /* the first product to claim a number keeps it: numbers are unique at their source,
     * and a clash must not let one product's password revoke another */
    if (number && rvk_number_normalize(number, key, sizeof key) &&
        !zhashx_lookup(st->by_number, key))
        zhashx_insert(st->by_number, key, p);
}

static void s_apply_product(rvk_state_t *st, const Tp__Revocation__ProductKnown *e)
{
    rvk_product_t *p = zhashx_lookup(st->products, e->order_id);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return;
        p->order_id = strdup(e->order_id);
        p->serials = zlistx_new();
        if (!p->order_id || !p->serials || zhashx_insert(st->products, e->order_id, p) != 0) {
            s_product_free((void **) &p);
            return;
        }
        zlistx_set_destructor(p->serials, (zlistx_destructor_fn *) zstr_free);
        zlistx_set_duplicator(p->serials, (zlistx_duplicator_fn *) strdup);
        zlistx_set_comparator(p->serials, (zlistx_comparator_fn *) strcmp);
        s_index_number(st, p, p->order_id);
    }
    s_set(&p->account_id, e->account_id);
    s_set(&p->shop_id, e->shop_id); /* stays NULL for orders without a shop */
    s_set(&p->product_type, e->product_type);
    s_set(&p->password_hash, e->revocation_password_hash);
    if (*e->card_number && !p->card_number) {
        s_set(&p->card_number, e->card_number);
        s_index_number(st, p, p->card_number);
    }
    for (size_t i = 0; i < e->n_serials; i++)
        if (*e->serials[i] && !zlistx_find(p->serials, e->serials[i]))
            zlistx_add_end(p->serials, e->serials[i]);
    if (*e->product_id && !p->product_id) {
        s_set(&p->product_id, e->product_id);
        p->shipped_at_us = e->shipped_at_us;
        if (p->product_id && !zhashx_lookup(st->by_product, p->product_id))
            zhashx_insert(st->by_product, p->product_id, p);
    }
}

static void s_apply_officer(rvk_state_t *st, const Tp__Revocation__OfficerKnown *e)
{
    svc_officers_set(&st->officers, e->account_id, e->shop_id, e->active);
}

/* Takes ownership of @p e. */
static void s_apply_requested(rvk_state_t *st, Tp__Revocation__RevocationRequested *e)
{
    rvk_request_t *r = calloc(1, sizeof *r);
    if (!r || !*e->request_id || zhashx_lookup(st->requests, e->request_id)) {
        free(r);
        tp__revocation__revocation_requested__free_unpacked(e, NULL);
        return;
    }
    r->requested = e;
    rvk_product_t *p = (rvk_product_t *) rvk_by_product(st, e->product_id);
    if (!p)
        p = (rvk_product_t *) rvk_product(st, e->order_id);
    r->product = p;
    zhashx_insert(st->requests, e->request_id, r);
    if (p && !p->request)
        p->request = r;
    zlistx_add_end(st->received, r);
    zlistx_add_end(st->open, r);
}

/* Takes ownership of @p e. */
static void s_apply_completed(rvk_state_t *st, Tp__Revocation__RevocationCompleted *e)
{
    rvk_request_t *r = zhashx_lookup(st->requests, e->request_id);
    if (!r || r->completed) {
        tp__revocation__revocation_completed__free_unpacked(e, NULL);
        return;
    }
    r->completed = e;
    void *handle = zlistx_find(st->open, r);
    if (handle)
        zlistx_delete(st->open, handle);
    zlistx_add_end(st->revoked, r);
}

/* Drops windows with nothing inside the throttling window any more, at most once per
 * window length: memory stays bounded by the failures of the last two windows. */
static void s_sweep(zhashx_t *windows, int64_t since)
{
    zlistx_t *stale = zlistx_new();
    if (!stale)
        return;
    for (rvk_window_t *w = zhashx_first(windows); w; w = zhashx_next(windows))
        if (rvk_window_count(w, since) == 0)
            zlistx_add_end(stale, (void *) zhashx_cursor(windows));
    /* the keys are the hash's own: delete after the walk, one by one */
    for (const char *k = zlistx_first(stale); k; k = zlistx_first(stale)) {
        char key[256];
        snprintf(key, sizeof key, "%s", k);
        zlistx_delete(stale, zlistx_cursor(stale));
        zhashx_delete(windows, key);
    }
    zlistx_destroy(&stale);
}

static void s_window_add(zhashx_t *windows, const char *key, int64_t at)
{
    if (!key || !*key || strlen(key) > 255)
        return;
    rvk_window_t *w = zhashx_lookup(windows, key);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w || zhashx_insert(windows, key, w) != 0) {
            free(w);
            return;
        }
    }
    size_t oldest = 0;
    for (size_t i = 1; i < RVK_WINDOW_MAX; i++)
        if (w->at[i] < w->at[oldest])
            oldest = i;
    w->at[oldest] = at;
}

static void s_apply_failed(rvk_state_t *st, const Tp__Revocation__RevocationAttemptFailed *e)
{
    int64_t window = (int64_t) REVOCATION_FAIL_WINDOW_S * 1000000;
    int64_t at = e->at_us > 0 ? e->at_us : 1;
    st->failed_attempts++;
    if (at - st->swept_at_us >= window) {
        s_sweep(st->fails_addr, at - window);
        st->swept_at_us = at;
    }
    char addr[SVC_ADDR_KEY_MAX];   /* IPv6 by its /64: a host has all of them */
    svc_addr_key(e->client_addr, addr, sizeof addr);
    s_window_add(st->fails_addr, addr, at);
    rvk_product_t *p = e->tell_owner ? zhashx_lookup(st->products, e->order_id) : NULL;
    if (p)
        p->told_at_us = at;
}

#define S_UNPACK(type, ev) tp__revocation__##type##__unpack(NULL, (ev)->payload_len, (ev)->payload)

void rvk_apply(void *state, const svc_event_t *ev)
{
    rvk_state_t *st = state;
    st->events++;
    const char *t = ev->event_type;
    if (streq(t, "ProductKnown")) {
        Tp__Revocation__ProductKnown *e = S_UNPACK(product_known, ev);
        if (e && *e->order_id)
            s_apply_product(st, e);
        if (e)
            tp__revocation__product_known__free_unpacked(e, NULL);
    }
    else if (streq(t, "OfficerKnown")) {
        Tp__Revocation__OfficerKnown *e = S_UNPACK(officer_known, ev);
        if (e)
            s_apply_officer(st, e);
        if (e)
            tp__revocation__officer_known__free_unpacked(e, NULL);
    }
    else if (streq(t, "RevocationRequested")) {
        Tp__Revocation__RevocationRequested *e = S_UNPACK(revocation_requested, ev);
        if (e)
            s_apply_requested(st, e);
    }
    else if (streq(t, "RevocationCompleted")) {
        Tp__Revocation__RevocationCompleted *e = S_UNPACK(revocation_completed, ev);
        if (e)
            s_apply_completed(st, e);
    }
    else if (streq(t, "RevocationAttemptFailed")) {
        Tp__Revocation__RevocationAttemptFailed *e = S_UNPACK(revocation_attempt_failed, ev);
        if (e)
            s_apply_failed(st, e);
        if (e)
            tp__revocation__revocation_attempt_failed__free_unpacked(e, NULL);
    }
}
