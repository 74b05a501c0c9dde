/* account_summary.c: the account core's summary: counts and a SHA-256 digest over
 * the whole state in key order, to compare a live state with a replay. */
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"

static void s_put(crypto_hash_sha256_state *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_put(crypto_hash_sha256_state *h, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        crypto_hash_sha256_update(h, (const uint8_t *) line,
                                  (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
}

static void s_put_list(crypto_hash_sha256_state *h, zlistx_t *l)
{
    for (const char *s = l ? zlistx_first(l) : NULL; s; s = zlistx_next(l))
        s_put(h, "%s,", s);
    s_put(h, ";");
}

static void s_put_window(crypto_hash_sha256_state *h, const acc_window_t *w)
{
    /* slot order depends only on the events, but sort anyway: it is the set that counts */
    int64_t v[ACC_WINDOW_MAX];
    memcpy(v, w->at, sizeof v);
    for (size_t i = 1; i < ACC_WINDOW_MAX; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    for (size_t i = 0; i < ACC_WINDOW_MAX; i++)
        if (v[i])
            s_put(h, "%" PRId64 ",", v[i]);
    s_put(h, ";");
}

static zlistx_t *s_sorted_keys(zhashx_t *table)
{
    zlistx_t *keys = zhashx_keys(table);
    if (keys) {
        zlistx_set_comparator(keys, (zlistx_comparator_fn *) strcmp);
        zlistx_sort(keys);
    }
    return keys;
}

/* Feeds every entry of @p table, in key order, to @p put. */
static void s_put_table(crypto_hash_sha256_state *h, zhashx_t *table, const char *name,
                        void (*put)(crypto_hash_sha256_state *, const char *, const void *))
{
    s_put(h, "[%s]\n", name);
    zlistx_t *keys = s_sorted_keys(table);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        put(h, k, zhashx_lookup(table, k));
        s_put(h, "\n");
    }
    zlistx_destroy(&keys);
}

static void s_put_account(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    const acc_account_t *a = item;
    s_put(h, "%s|%s|%s|%s|%d|%" PRId64 "|%s|%s|%s|%s|", k, a->email ? a->email : "",
          a->password_hash ? a->password_hash : "", a->language, (int) a->status,
          a->registered_at_us, a->confirm[0], a->confirm[1], a->confirm[2], a->reset);
    s_put_list(h, a->shops);
    s_put_list(h, a->officer_of);
    s_put_list(h, a->sessions);
    s_put_window(h, &a->rejected);
    s_put_window(h, &a->mails);
    s_put(h, "%d|%" PRId64 "|%s", a->status_mails_off, a->deletion_at_us,
          a->deletion_reason ? a->deletion_reason : "");
}

static void s_put_token(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    const acc_token_t *t = item;
    s_put(h, "%s|%s|%d|%" PRId64 "|%s|%s", k, t->account_id, t->reset, t->expires_at_us,
          t->password_hash ? t->password_hash : "", t->mail_id);
}

static void s_put_session(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    const acc_session_t *s = item;
    s_put(h, "%s|%s|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s", k, s->account_id, s->started_at_us,
          s->touched_at_us, s->expires_at_us, s->client_addr ? s->client_addr : "");
}

static void s_put_shop(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    const acc_shop_t *s = item;
    s_put(h, "%s|%s|%s|%d", k, s->code ? s->code : "", s->name ? s->name : "", s->disabled);
}

static void s_put_mail(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    const acc_mail_t *m = item;
    s_put(h, "%s|%s|%s|%" PRId64, k, m->account_id, m->token_hash, m->expires_at_us);
    const acc_notice_t *n = m->notice;
    if (n)
        s_put(h, "|%s|%s|%s|%s|%s|%" PRId64, n->order_id, n->product_id, n->detail, n->reason,
              n->request_id, n->at_us);
}

static void s_put_order(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    s_put(h, "%s|%s", k, ((const acc_account_t *) item)->id);
}

static void s_put_string(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    s_put(h, "%s|%s", k, (const char *) item);
}

static void s_put_fail(crypto_hash_sha256_state *h, const char *k, const void *item)
{
    s_put(h, "%s|", k);
    s_put_window(h, item);
}

char *acc_summary(const void *state)
{
    const acc_state_t *st = state;
    size_t by_status[3] = {0, 0, 0}, deletions = 0;
    for (acc_account_t *a = zhashx_first(st->accounts); a; a = zhashx_next(st->accounts)) {
        by_status[a->status]++;
        deletions += a->deletion_at_us != 0;
    }
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    s_put_table(&h, st->accounts, "accounts", s_put_account);
    s_put_table(&h, st->tokens, "tokens", s_put_token);
    s_put_table(&h, st->sessions, "sessions", s_put_session);
    s_put_table(&h, st->shops, "shops", s_put_shop);
    s_put_table(&h, st->mails, "mails", s_put_mail);
    s_put_table(&h, st->fails_email, "failsEmail", s_put_fail);
    s_put_table(&h, st->fails_addr, "failsAddr", s_put_fail);
    s_put_table(&h, st->orders, "orders", s_put_order);
    s_put_table(&h, st->revocations, "revocations", s_put_string);
    uint8_t digest[32];
    crypto_hash_sha256_final(&h, digest);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return zsys_sprintf("{\"events\":%" PRIu64 ",\"accounts\":%zu,\"unconfirmed\":%zu,"
                        "\"active\":%zu,\"deleted\":%zu,\"sessions\":%zu,\"tokens\":%zu,"
                        "\"shops\":%zu,\"pendingMails\":%zu,\"ordersKnown\":%zu,"
                        "\"openRevocations\":%zu,\"deletionRequests\":%zu,\"digest\":\"%s\"}",
                        st->events, zhashx_size(st->accounts), by_status[ACC_UNCONFIRMED],
                        by_status[ACC_ACTIVE], by_status[ACC_DELETED], zhashx_size(st->sessions),
                        zhashx_size(st->tokens), zhashx_size(st->shops), zhashx_size(st->mails),
                        zhashx_size(st->orders), zhashx_size(st->revocations), deletions, hex);
}
