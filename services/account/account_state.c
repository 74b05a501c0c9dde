/* account_state.c: the account core's state: construction, lookups, and apply
 * (the only place it changes). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"
#include "svc_addr.h"

/* ------------------------------------------------------------------ lookups */

const acc_account_t *acc_find(const acc_state_t *st, const char *id)
{
    return id && *id ? zhashx_lookup(st->accounts, id) : NULL;
}

const acc_account_t *acc_find_email(const acc_state_t *st, const char *email)
{
    return email && *email ? zhashx_lookup(st->by_email, email) : NULL;
}

size_t acc_window_count(const acc_window_t *w, int64_t since)
{
    size_t n = 0;
    for (size_t i = 0; i < ACC_WINDOW_MAX; i++)
        n += w->at[i] > since;
    return n;
}

/* Records @p at, keeping the latest @p cap times (replaces the oldest slot). */
static void s_window_add(acc_window_t *w, size_t cap, int64_t at)
{
    if (at <= 0)
        return;
    size_t oldest = 0;
    for (size_t i = 1; i < cap && i < ACC_WINDOW_MAX; i++)
        if (w->at[i] < w->at[oldest])
            oldest = i;
    w->at[oldest] = at;
}

static int64_t s_window_latest(const acc_window_t *w)
{
    int64_t t = 0;
    for (size_t i = 0; i < ACC_WINDOW_MAX; i++)
        if (w->at[i] > t)
            t = w->at[i];
    return t;
}

int64_t acc_session_idle_end(const acc_session_t *s)
{
    int64_t idle = s->touched_at_us + ACCOUNT_SESSION_IDLE_US;
    return idle < s->expires_at_us ? idle : s->expires_at_us;
}

const acc_session_t *acc_session_live(const acc_state_t *st, const char *hash_hex, int64_t now)
{
    const acc_session_t *s = zhashx_lookup(st->sessions, hash_hex);
    if (!s || now >= acc_session_idle_end(s))
        return NULL;
    const acc_account_t *a = acc_find(st, s->account_id);
    return a && a->status == ACC_ACTIVE ? s : NULL;
}

/* ------------------------------------------------------------------ state */

static zlistx_t *s_strings_new(void)
{
    zlistx_t *l = zlistx_new();
    if (!l)
        return NULL;
    zlistx_set_duplicator(l, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor(l, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_comparator(l, (zlistx_comparator_fn *) strcmp);
    return l;
}

static void s_account_free(void **item)
{
    acc_account_t *a = *item;
    if (!a)
        return;
    free(a->email);
    if (a->password_hash)
        sodium_memzero(a->password_hash, strlen(a->password_hash));
    free(a->password_hash);
    zlistx_destroy(&a->shops);
    zlistx_destroy(&a->officer_of);
    zlistx_destroy(&a->sessions);
    free(a->deletion_reason);
    free(a);
    *item = NULL;
}

static void s_token_free(void **item)
{
    acc_token_t *t = *item;
    if (!t)
        return;
    free(t->password_hash);
    free(t);
    *item = NULL;
}

static void s_session_free(void **item)
{
    acc_session_t *s = *item;
    if (!s)
        return;
    free(s->client_addr);
    free(s);
    *item = NULL;
}

static void s_shop_free(void **item)
{
    acc_shop_t *s = *item;
    if (!s)
        return;
    free(s->shop_id);
    free(s->code);
    free(s->code_key);
    free(s->name);
    free(s);
    *item = NULL;
}

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

static zhashx_t *s_table(zhashx_destructor_fn *destructor)
{
    zhashx_t *h = zhashx_new();
    if (h && destructor)
        zhashx_set_destructor(h, destructor);
    return h;
}

void *acc_state_new(void)
{
    if (sodium_init() < 0)
        return NULL;
    acc_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->accounts = s_table(s_account_free);
    st->by_email = s_table(NULL);
    st->tokens = s_table(s_token_free);
    st->sessions = s_table(s_session_free);
    st->shops = s_table(s_shop_free);
    st->codes = s_table(NULL);
    st->mails = s_table(acc_mail_free);
    st->fails_email = s_table(s_free);
    st->fails_addr = s_table(s_free);
    st->orders = s_table(NULL);
    st->unconfirmed = s_table(NULL);
    st->revocations = s_table(s_free);
    if (!st->accounts || !st->by_email || !st->tokens || !st->sessions || !st->shops ||
        !st->codes || !st->mails || !st->fails_email || !st->fails_addr || !st->orders ||
        !st->revocations) {
        void *p = st;
        acc_state_destroy(&p);
        return NULL;
    }
    return st;
}

void acc_state_destroy(void **state_p)
{
    acc_state_t *st = state_p ? *state_p : NULL;
    if (!st)
        return;
    /* borrowing tables first */
    zhashx_destroy(&st->by_email);
    zhashx_destroy(&st->codes);
    zhashx_destroy(&st->orders);
    zhashx_destroy(&st->unconfirmed);
    zhashx_destroy(&st->accounts);
    zhashx_destroy(&st->tokens);
    zhashx_destroy(&st->sessions);
    zhashx_destroy(&st->shops);
    zhashx_destroy(&st->mails);
    zhashx_destroy(&st->fails_email);
    zhashx_destroy(&st->fails_addr);
    zhashx_destroy(&st->revocations);
    free(st);
    *state_p = NULL;
}

/* ------------------------------------------------------------------ apply helpers */

static acc_account_t *s_account(acc_state_t *st, const char *id)
{
    return id && *id ? zhashx_lookup(st->accounts, id) : NULL;
}

static void s_set_str(char **dst, const char *src)
{
    char *copy = strdup(src ? src : "");
    if (!copy)
        return; /* out of memory: keep the old value rather than lose it */
    if (*dst)
        sodium_memzero(*dst, strlen(*dst));
    free(*dst);
    *dst = copy;
}

static void s_mail_add(acc_state_t *st, const char *kind, const char *account_id,
                       const ProtobufCBinaryData *nonce, const char *token_hash,
                       int64_t expires_at_us, char *id_out)
{
    acc_mail_t *m = calloc(1, sizeof *m);
    if (!m || nonce->len == 0 || nonce->len > ACC_NONCE_MAX) {
        free(m);
        return; /* a mail without a nonce could not be rebuilt: none */
    }
    char hex[2 * ACC_NONCE_MAX + 1];
    acc_hex(nonce->data, nonce->len, hex, sizeof hex);
    snprintf(m->id, sizeof m->id, "%s:%s", kind, hex);
    m->kind = kind;
    snprintf(m->account_id, sizeof m->account_id, "%s", account_id);
    memcpy(m->nonce, nonce->data, nonce->len);
    m->nonce_len = nonce->len;
    snprintf(m->token_hash, sizeof m->token_hash, "%s", token_hash ? token_hash : "");
    m->expires_at_us = expires_at_us;
    if (id_out)
        strcpy(id_out, m->id);
    if (zhashx_insert(st->mails, m->id, m) != 0)
        free(m); /* the same mail already pending */
}

/* Forgets a token: its account slot, its pending mail, itself. */
static void s_token_drop(acc_state_t *st, const char *hash_in)
{
    char hash[ACC_HEX_SIZE]; /* a copy: callers pass the account's slot, changed below */
    snprintf(hash, sizeof hash, "%s", hash_in);
    acc_token_t *t = zhashx_lookup(st->tokens, hash);
    if (!t)
        return;
    acc_account_t *a = s_account(st, t->account_id);
    if (a && streq(a->reset, hash))
        a->reset[0] = 0;
    for (size_t i = 0; a && i < ACC_CONFIRM_SLOTS; i++)
        if (streq(a->confirm[i], hash)) {
            memmove(a->confirm[i], a->confirm[i + 1],
                    (ACC_CONFIRM_SLOTS - 1 - i) * sizeof a->confirm[0]);
            a->confirm[ACC_CONFIRM_SLOTS - 1][0] = 0;
            break;
        }
    zhashx_delete(st->mails, t->mail_id);
    zhashx_delete(st->tokens, hash);
}

static void s_token_add(acc_state_t *st, acc_account_t *a, bool reset,
                        const ProtobufCBinaryData *nonce, const ProtobufCBinaryData *hash,
                        int64_t expires_at_us, const char *password_hash)
{
    if (hash->len != crypto_hash_sha256_BYTES)
        return;
    if (!reset && expires_at_us > a->confirm_until_us)
        a->confirm_until_us = expires_at_us;
    char hex[ACC_HEX_SIZE];
    acc_hex(hash->data, hash->len, hex, sizeof hex);
    if (zhashx_lookup(st->tokens, hex))
        return;
    if (reset) {
        if (*a->reset)
            s_token_drop(st, a->reset);
    }
    else if (*a->confirm[ACC_CONFIRM_SLOTS - 1])
        s_token_drop(st, a->confirm[0]); /* the oldest gives way */
    acc_token_t *t = calloc(1, sizeof *t);
    if (!t)
        return;
    strcpy(t->hash, hex);
    snprintf(t->account_id, sizeof t->account_id, "%s", a->id);
    t->reset = reset;
    t->expires_at_us = expires_at_us;
    if (!reset)
        s_set_str(&t->password_hash,
                  password_hash && *password_hash ? password_hash : a->password_hash);
    zhashx_insert(st->tokens, hex, t);
    if (reset)
        strcpy(a->reset, hex);
    else
        for (size_t i = 0; i < ACC_CONFIRM_SLOTS; i++)
            if (!*a->confirm[i]) {
                strcpy(a->confirm[i], hex);
                break;
            }
    s_mail_add(st, reset ? "reset" : "confirm", a->id, nonce, hex, expires_at_us, t->mail_id);
}

static void s_session_drop(acc_state_t *st, const char *hash_in)
{
    char hash[ACC_HEX_SIZE]; /* a copy: callers pass the account's list item, freed below */
    snprintf(hash, sizeof hash, "%s", hash_in);
    acc_session_t *s = zhashx_lookup(st->sessions, hash);
    if (!s)
        return;
    acc_account_t *a = s_account(st, s->account_id);
    if (a && a->sessions) {
        void *handle = zlistx_find(a->sessions, (void *) hash);
        if (handle)
            zlistx_delete(a->sessions, handle);
    }
    zhashx_delete(st->sessions, hash);
}

static void s_list_add(zlistx_t *l, const char *item)
{
    if (l && *item && !zlistx_find(l, (void *) item))
        zlistx_add_end(l, (void *) item);
}

static void s_list_remove(zlistx_t *l, const char *item)
{
    void *handle = l ? zlistx_find(l, (void *) item) : NULL;
    if (handle)
        zlistx_delete(l, handle);
}

/* Drops throttling windows with nothing left inside them, once per window length:
 * keeps the tables as small as the recent failures, at an amortized O(1) per event. */
static void s_sweep(acc_state_t *st, int64_t now)
{
    if (now - st->swept_at_us < ACCOUNT_LOGIN_WINDOW_US)
        return;
    st->swept_at_us = now;
    zhashx_t *tables[] = {st->fails_email, st->fails_addr};
    for (size_t t = 0; t < 2; t++) {
        zlistx_t *stale = s_strings_new();
        for (acc_window_t *w = zhashx_first(tables[t]); w && stale; w = zhashx_next(tables[t]))
            if (s_window_latest(w) <= now - ACCOUNT_LOGIN_WINDOW_US)
                zlistx_add_end(stale, (void *) zhashx_cursor(tables[t]));
        for (const char *k = stale ? zlistx_first(stale) : NULL; k; k = zlistx_next(stale))
            zhashx_delete(tables[t], k);
        zlistx_destroy(&stale);
    }
}

static void s_fail_add(zhashx_t *table, const char *key, size_t cap, int64_t at)
{
    if (!*key)
        return;
    acc_window_t *w = zhashx_lookup(table, key);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w || zhashx_insert(table, key, w) != 0) {
            free(w);
            return;
        }
    }
    s_window_add(w, cap, at);
}

/* ------------------------------------------------------------------ apply */

static void s_on_registered(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__AccountRegistered *e =
        tp__account__account_registered__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = NULL;
    if (!*e->account_id || strlen(e->account_id) >= ACC_ID_SIZE || !*e->email ||
        zhashx_lookup(st->accounts, e->account_id) || !(a = calloc(1, sizeof *a)))
        goto done;
    strcpy(a->id, e->account_id);
    a->email = strdup(e->email);
    a->password_hash = strdup(e->password_hash);
    snprintf(a->language, sizeof a->language, "%s", streq(e->language, "en") ? "en" : "de");
    a->status = ACC_UNCONFIRMED;
    a->registered_at_us = e->registered_at_us;
    a->shops = s_strings_new();
    a->officer_of = s_strings_new();
    a->sessions = s_strings_new();
    if (!a->email || !a->password_hash || zhashx_insert(st->accounts, a->id, a) != 0) {
        void *p = a;
        s_account_free(&p);
        goto done;
    }
    zhashx_update(st->by_email, a->email, a);
    zhashx_update(st->unconfirmed, a->id, a);
    s_window_add(&a->mails, ACCOUNT_MAIL_MAX, e->registered_at_us);
    s_token_add(st, a, false, &e->token_nonce, &e->token_hash, e->token_expires_at_us,
                e->password_hash);
done:
    tp__account__account_registered__free_unpacked(e, NULL);
}

static void s_on_reissued(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__ConfirmationReissued *e =
        tp__account__confirmation_reissued__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && a->status == ACC_UNCONFIRMED) {
        if (*e->password_hash)
            s_set_str(&a->password_hash, e->password_hash);
        if (streq(e->language, "de") || streq(e->language, "en"))
            strcpy(a->language, e->language);
        s_window_add(&a->mails, ACCOUNT_MAIL_MAX, e->issued_at_us);
        s_token_add(st, a, false, &e->token_nonce, &e->token_hash, e->token_expires_at_us,
                    e->password_hash);
    }
    tp__account__confirmation_reissued__free_unpacked(e, NULL);
}

static void s_on_confirmed(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__AccountConfirmed *e =
        tp__account__account_confirmed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && a->status == ACC_UNCONFIRMED) {
        a->status = ACC_ACTIVE;
        zhashx_delete(st->unconfirmed, a->id);
        if (*e->password_hash)
            s_set_str(&a->password_hash, e->password_hash);
        while (*a->confirm[0]) /* every link of this account is used up */
            s_token_drop(st, a->confirm[0]);
    }
    tp__account__account_confirmed__free_unpacked(e, NULL);
}

static void s_on_known_email(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__RegistrationAttemptedForKnownEmail *e =
        tp__account__registration_attempted_for_known_email__unpack(NULL, ev->payload_len,
                                                                    ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && a->status != ACC_DELETED) {
        s_window_add(&a->mails, ACCOUNT_MAIL_MAX, e->at_us);
        s_mail_add(st, "known-email", a->id, &e->nonce, NULL, INT64_MAX, NULL);
    }
    tp__account__registration_attempted_for_known_email__free_unpacked(e, NULL);
}

static void s_on_session_started(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__SessionStarted *e =
        tp__account__session_started__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    acc_session_t *s = NULL;
    if (!a || a->status != ACC_ACTIVE || e->session_hash.len != crypto_hash_sha256_BYTES ||
        !(s = calloc(1, sizeof *s)))
        goto done;
    acc_hex(e->session_hash.data, e->session_hash.len, s->hash, sizeof s->hash);
    strcpy(s->account_id, a->id);
    s->started_at_us = s->touched_at_us = e->started_at_us;
    s->expires_at_us = e->expires_at_us;
    s->client_addr = strdup(e->client_addr);
    if (zhashx_insert(st->sessions, s->hash, s) != 0) {
        void *p = s;
        s_session_free(&p);
        goto done;
    }
    s_list_add(a->sessions, s->hash);
    /* a correct password clears the address's failures */
    if (a->fail_key[0])
        zhashx_delete(st->fails_email, a->fail_key);
    a->fail_key[0] = '\0';
done:
    tp__account__session_started__free_unpacked(e, NULL);
}

static void s_on_session_touched(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__SessionTouched *e =
        tp__account__session_touched__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    char hex[ACC_HEX_SIZE];
    acc_hex(e->session_hash.data, e->session_hash.len, hex, sizeof hex);
    acc_session_t *s = zhashx_lookup(st->sessions, hex);
    if (s && e->at_us > s->touched_at_us)
        s->touched_at_us = e->at_us;
    tp__account__session_touched__free_unpacked(e, NULL);
}

static void s_on_session_ended(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__SessionEnded *e =
        tp__account__session_ended__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    char hex[ACC_HEX_SIZE];
    acc_hex(e->session_hash.data, e->session_hash.len, hex, sizeof hex);
    s_session_drop(st, hex);
    tp__account__session_ended__free_unpacked(e, NULL);
}

static void s_on_login_failed(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__LoginFailed *e =
        tp__account__login_failed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    s_sweep(st, e->at_us);
    s_fail_add(st->fails_email, e->email_hash, ACCOUNT_LOGIN_MAX_FAILS, e->at_us);
    acc_account_t *a = *e->account_id ? (acc_account_t *) acc_find(st, e->account_id) : NULL;
    if (a)
        snprintf(a->fail_key, sizeof a->fail_key, "%s", e->email_hash);
    char addr[SVC_ADDR_KEY_MAX];   /* IPv6 by its /64: a host has all of them */
    svc_addr_key(e->client_addr, addr, sizeof addr);
    s_fail_add(st->fails_addr, addr, ACCOUNT_ADDR_MAX_FAILS, e->at_us);
    tp__account__login_failed__free_unpacked(e, NULL);
}

static void s_on_reset_requested(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__PasswordResetRequested *e =
        tp__account__password_reset_requested__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && a->status == ACC_ACTIVE) {
        s_window_add(&a->mails, ACCOUNT_MAIL_MAX, e->issued_at_us);
        s_token_add(st, a, true, &e->token_nonce, &e->token_hash, e->token_expires_at_us, NULL);
    }
    tp__account__password_reset_requested__free_unpacked(e, NULL);
}

static void s_on_password_changed(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__PasswordChanged *e =
        tp__account__password_changed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && a->status == ACC_ACTIVE && *e->password_hash) {
        s_set_str(&a->password_hash, e->password_hash);
        if (*a->reset)
            s_token_drop(st, a->reset);
    }
    tp__account__password_changed__free_unpacked(e, NULL);
}

static void s_on_redeemed(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__ShopCodeRedeemed *e =
        tp__account__shop_code_redeemed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a)
        s_list_add(a->shops, e->shop_id);
    tp__account__shop_code_redeemed__free_unpacked(e, NULL);
}

static void s_on_rejected(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__ShopCodeRejected *e =
        tp__account__shop_code_rejected__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a)
        s_window_add(&a->rejected, ACCOUNT_REDEEM_MAX_REJECTS, e->at_us);
    tp__account__shop_code_rejected__free_unpacked(e, NULL);
}

static void s_on_officer(acc_state_t *st, const svc_event_t *ev, bool appointed)
{
    /* OfficerAppointed and OfficerRevoked have the same fields */
    Tp__Account__OfficerAppointed *e =
        tp__account__officer_appointed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && appointed && a->status != ACC_DELETED)
        s_list_add(a->officer_of, e->shop_id);
    else if (a && !appointed)
        s_list_remove(a->officer_of, e->shop_id);
    tp__account__officer_appointed__free_unpacked(e, NULL);
}

/* The account is gone (deleted, or its registration expired): nothing of it is served or
 * kept in memory any more. */
static void s_forget(acc_state_t *st, acc_account_t *a)
{
    zhashx_delete(st->unconfirmed, a->id);
    {
        if (a->email && zhashx_lookup(st->by_email, a->email) == a)
            zhashx_delete(st->by_email, a->email);
        while (*a->confirm[0])
            s_token_drop(st, a->confirm[0]);
        if (*a->reset)
            s_token_drop(st, a->reset);
        while (zlistx_size(a->sessions))
            s_session_drop(st, zlistx_first(a->sessions));
        /* known-email mails and notices are not keyed by account: O(pending) */
        zlistx_t *gone = s_strings_new();
        for (acc_mail_t *m = zhashx_first(st->mails); m && gone; m = zhashx_next(st->mails))
            if (streq(m->account_id, a->id))
                zlistx_add_end(gone, m->id);
        for (const char *k = gone ? zlistx_first(gone) : NULL; k; k = zlistx_next(gone))
            zhashx_delete(st->mails, k);
        zlistx_destroy(&gone);
        acc_notices_forget(st, a);
        /* the address and the password are no longer served nor kept in memory */
        sodium_memzero(a->password_hash, strlen(a->password_hash));
        free(a->password_hash);
        a->password_hash = NULL;
        free(a->email);
        a->email = NULL;
        zlistx_purge(a->officer_of);
        /* its deletion request, if one was open, is done */
        free(a->deletion_reason);
        a->deletion_reason = NULL;
        a->deletion_at_us = 0;
        a->status = ACC_DELETED;
    }
}

static void s_on_deleted(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__AccountDeleted *e =
        tp__account__account_deleted__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && a->status != ACC_DELETED)
        s_forget(st, a);
    tp__account__account_deleted__free_unpacked(e, NULL);
}

static void s_on_expired(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__RegistrationExpired *e =
        tp__account__registration_expired__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    acc_account_t *a = s_account(st, e->account_id);
    if (a && a->status == ACC_UNCONFIRMED)
        s_forget(st, a);
    tp__account__registration_expired__free_unpacked(e, NULL);
}

static void s_on_shop_known(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__ShopKnown *e = tp__account__shop_known__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    char key[ACC_CODE_MAX + 1];
    if (!acc_code_normalize(e->code, key, sizeof key))
        key[0] = 0; /* no usable code: the shop cannot be redeemed */
    acc_shop_t *s = *e->shop_id ? zhashx_lookup(st->shops, e->shop_id) : NULL;
    if (!s && *e->shop_id && (s = calloc(1, sizeof *s))) {
        s->shop_id = strdup(e->shop_id);
        if (!s->shop_id || zhashx_insert(st->shops, s->shop_id, s) != 0) {
            void *p = s;
            s_shop_free(&p);
            s = NULL;
        }
    }
    if (s) {
        if (s->code_key && *s->code_key && zhashx_lookup(st->codes, s->code_key) == s)
            zhashx_delete(st->codes, s->code_key);
        s_set_str(&s->code, e->code);
        s_set_str(&s->code_key, key);
        s_set_str(&s->name, e->name);
        s->disabled = e->disabled;
        if (*key)
            zhashx_update(st->codes, key, s);
    }
    tp__account__shop_known__free_unpacked(e, NULL);
}

static void s_on_mail_sent(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__MailSent *e = tp__account__mail_sent__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    zhashx_delete(st->mails, e->mail_id);
    tp__account__mail_sent__free_unpacked(e, NULL);
}

static void s_on_token_expired(acc_state_t *st, const svc_event_t *ev)
{
    Tp__Account__TokenExpired *e =
        tp__account__token_expired__unpack(NULL, ev->payload_len, ev->payload);
    if (!e)
        return;
    /* the token stays (Confirm then says "expired"); only its mail is no longer due */
    char hex[ACC_HEX_SIZE];
    acc_hex(e->token_hash.data, e->token_hash.len, hex, sizeof hex);
    acc_token_t *t = zhashx_lookup(st->tokens, hex);
    if (t)
        zhashx_delete(st->mails, t->mail_id);
    tp__account__token_expired__free_unpacked(e, NULL);
}

/* Unknown types and undecodable payloads are skipped: apply must accept every log. */
void acc_apply(void *state, const svc_event_t *ev)
{
    acc_state_t *st = state;
    st->events++;
    const char *t = ev->event_type;
    if (!t)
        return;
    if (streq(t, "AccountRegistered"))
        s_on_registered(st, ev);
    else if (streq(t, "ConfirmationReissued"))
        s_on_reissued(st, ev);
    else if (streq(t, "AccountConfirmed"))
        s_on_confirmed(st, ev);
    else if (streq(t, "RegistrationAttemptedForKnownEmail"))
        s_on_known_email(st, ev);
    else if (streq(t, "SessionStarted"))
        s_on_session_started(st, ev);
    else if (streq(t, "SessionTouched"))
        s_on_session_touched(st, ev);
    else if (streq(t, "SessionEnded"))
        s_on_session_ended(st, ev);
    else if (streq(t, "LoginFailed"))
        s_on_login_failed(st, ev);
    else if (streq(t, "PasswordResetRequested"))
        s_on_reset_requested(st, ev);
    else if (streq(t, "PasswordChanged"))
        s_on_password_changed(st, ev);
    else if (streq(t, "ShopCodeRedeemed"))
        s_on_redeemed(st, ev);
    else if (streq(t, "ShopCodeRejected"))
        s_on_rejected(st, ev);
    else if (streq(t, "OfficerAppointed"))
        s_on_officer(st, ev, true);
    else if (streq(t, "OfficerRevoked"))
        s_on_officer(st, ev, false);
    else if (streq(t, "AccountDeleted"))
        s_on_deleted(st, ev);
    else if (streq(t, "RegistrationExpired"))
        s_on_expired(st, ev);
    else if (streq(t, "ShopKnown"))
        s_on_shop_known(st, ev);
    else if (streq(t, "MailSent"))
        s_on_mail_sent(st, ev);
    else if (streq(t, "TokenExpired"))
        s_on_token_expired(st, ev);
    else if (!acc_apply_notice(st, ev))
        acc_apply_deletion(st, ev);
}
