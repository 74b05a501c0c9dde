/* svc_officers.c: the officers of shops as a follower of the account service knows
 * them (see svc_officers.h). */
#include "svc_officers.h"
#include <stdio.h>
#include <string.h>
#include "account.pb-c.h"
#include "svc_text.h"

int svc_officers_init(svc_officers_t *self, size_t id_max)
{
    self->id_max = id_max;
    self->map = id_max <= SVC_OFFICERS_ID_MAX ? zhashx_new() : NULL;
    if (!self->map)
        return -1;
    zhashx_set_destructor(self->map, (zhashx_destructor_fn *) zstr_free);
    return 0;
}

void svc_officers_fini(svc_officers_t *self)
{
    zhashx_destroy(&self->map);
}

/* "<account>\n<shop>" into @p key; false for ids that cannot be an officer's */
#define S_KEY_SIZE (2 * SVC_OFFICERS_ID_MAX + 2)
static bool s_key(const svc_officers_t *self, char *key, size_t keysz, const char *account,
                  const char *shop)
{
    if (!account || !*account || !shop || !*shop || strlen(account) > self->id_max ||
        strlen(shop) > self->id_max)
        return false;
    int n = snprintf(key, keysz, "%s\n%s", account, shop);
    return n > 0 && (size_t) n < keysz;
}

bool svc_officers_is(const svc_officers_t *self, const char *account, const char *shop)
{
    char key[S_KEY_SIZE];
    return s_key(self, key, sizeof key, account, shop) && zhashx_lookup(self->map, key);
}

bool svc_officers_is_any(const svc_officers_t *self, const char *account)
{
    size_t n = account ? strlen(account) : 0;
    if (n == 0)
        return false;
    for (void *it = zhashx_first(self->map); it; it = zhashx_next(self->map)) {
        const char *key = zhashx_cursor(self->map);
        if (strncmp(key, account, n) == 0 && key[n] == '\n')
            return true;
    }
    return false;
}

void svc_officers_set(svc_officers_t *self, const char *account, const char *shop, bool active)
{
    char key[S_KEY_SIZE];
    if (!s_key(self, key, sizeof key, account, shop))
        return;
    if (!active)
        zhashx_delete(self->map, key);
    else if (!zhashx_lookup(self->map, key)) {
        char *copy = strdup(shop);
        if (copy && zhashx_insert(self->map, key, copy) != 0)
            free(copy);
    }
}

/* Appointed or revoked: only a change of the state is emitted. */
static void s_react_officer(const svc_officers_t *self, const svc_event_t *ev, bool active,
                            svc_officer_emit_fn *emit, svc_out_t *out)
{
    /* OfficerAppointed and OfficerRevoked have the same fields and tags */
    Tp__Account__OfficerAppointed *e =
        tp__account__officer_appointed__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "%s does not decode", ev->event_type);
        return;
    }
    if (!svc_valid_id(e->account_id, self->id_max))
        svc_out_error(out, "invalid", "accountId", "missing or not a valid id");
    if (!svc_valid_id(e->shop_id, self->id_max))
        svc_out_error(out, "invalid", "shopId", "missing or not a valid id");
    if (!svc_out_failed(out) && svc_officers_is(self, e->account_id, e->shop_id) != active)
        emit(e->account_id, e->shop_id, active, out);
    tp__account__officer_appointed__free_unpacked(e, NULL);
}

/* A deleted account is an officer of no shop any more. */
static void s_react_account_deleted(const svc_officers_t *self, const svc_event_t *ev,
                                    svc_officer_emit_fn *emit, svc_out_t *out)
{
    Tp__Account__AccountDeleted *e =
        tp__account__account_deleted__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "AccountDeleted does not decode");
        return;
    }
    size_t n = strlen(e->account_id);
    zlistx_t *keys =
        svc_valid_id(e->account_id, self->id_max) ? zhashx_keys(self->map) : NULL;
    if (keys) {
        zlistx_set_comparator(keys, (zlistx_comparator_fn *) strcmp);
        zlistx_sort(keys); /* the same events in the same order on every run */
        for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys))
            if (strncmp(k, e->account_id, n) == 0 && k[n] == '\n')
                emit(e->account_id, k + n + 1, false, out);
        zlistx_destroy(&keys);
    }
    tp__account__account_deleted__free_unpacked(e, NULL);
}

bool svc_officers_react(const svc_officers_t *self, const svc_event_t *ev,
                        svc_officer_emit_fn *emit, svc_out_t *out)
{
    const char *t = ev->event_type ? ev->event_type : "";
    if (streq(t, "OfficerAppointed"))
        s_react_officer(self, ev, true, emit, out);
    else if (streq(t, "OfficerRevoked"))
        s_react_officer(self, ev, false, emit, out);
    else if (streq(t, "AccountDeleted"))
        s_react_account_deleted(self, ev, emit, out);
    else
        return false;
    return true;
}

/* ------------------------------------------------------------------ self-test */

static int s_failed;
#define S_CHECK(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "svc_officers_test: %s:%d: failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                            \
            s_failed = 1;                                                              \
        }                                                                              \
    } while (0)

/* The test's emit: "account|shop|0/1;" appended to a string, the event's stand-in. */
static char s_emitted[512];
static void s_emit(const char *account, const char *shop, bool active, svc_out_t *out)
{
    (void) out;
    size_t used = strlen(s_emitted);
    snprintf(s_emitted + used, sizeof s_emitted - used, "%s|%s|%d;", account, shop, active);
}

/* Runs the reaction to an account event packed from @p msg, with a fresh out. */
static bool s_react(svc_officers_t *o, const char *type, const ProtobufCMessage *msg,
                    svc_out_t *out)
{
    uint8_t buf[256];
    size_t len = msg ? protobuf_c_message_pack(msg, buf) : 0;
    svc_event_t ev = {1, "account-x", 1, type, 0, buf, len};
    s_emitted[0] = '\0';
    svc_out_reset(out);
    return svc_officers_react(o, &ev, s_emit, out);
}

static bool s_officer(svc_officers_t *o, const char *type, const char *account, const char *shop,
                      svc_out_t *out)
{
    Tp__Account__OfficerAppointed e = TP__ACCOUNT__OFFICER_APPOINTED__INIT;
    e.account_id = (char *) account;
    e.shop_id = (char *) shop;
    return s_react(o, type, &e.base, out);
}

int svc_officers_test(bool verbose)
{
    s_failed = 0;
    svc_officers_t o;
    svc_out_t *out = svc_out_new();
    S_CHECK(out && svc_officers_init(&o, 8) == 0);
    if (!out || !o.map)
        return 1;
    /* an appointment is emitted once; applied, a repeat emits nothing */
    S_CHECK(s_officer(&o, "OfficerAppointed", "acc-1", "shop-a", out));
    S_CHECK(streq(s_emitted, "acc-1|shop-a|1;") && !svc_out_failed(out));
    svc_officers_set(&o, "acc-1", "shop-a", true);
    S_CHECK(s_officer(&o, "OfficerAppointed", "acc-1", "shop-a", out) && !*s_emitted);
    S_CHECK(svc_officers_is(&o, "acc-1", "shop-a") && !svc_officers_is(&o, "acc-1", "shop-b"));
    S_CHECK(svc_officers_is_any(&o, "acc-1") && !svc_officers_is_any(&o, "acc-"));
    S_CHECK(!svc_officers_is_any(&o, "acc-2") && !svc_officers_is_any(&o, ""));
    /* revoking one never appointed emits nothing; bad ids are refused */
    S_CHECK(s_officer(&o, "OfficerRevoked", "acc-2", "shop-a", out) && !*s_emitted);
    S_CHECK(s_officer(&o, "OfficerAppointed", "acc 3", "shop-toolong", out));
    S_CHECK(svc_out_failed(out) && !*s_emitted);
    const char *code, *field;
    S_CHECK(svc_out_error_at(out, 0, &code, &field, NULL) == 0 && streq(field, "accountId"));
    S_CHECK(svc_out_error_at(out, 1, &code, &field, NULL) == 0 && streq(field, "shopId"));
    uint8_t junk[] = {0xff, 0xff, 0xff};
    svc_event_t bad = {1, "account-x", 1, "OfficerRevoked", 0, junk, sizeof junk};
    svc_out_reset(out);
    S_CHECK(svc_officers_react(&o, &bad, s_emit, out) && svc_out_failed(out));
    /* other types are not handled */
    S_CHECK(!s_officer(&o, "OrderPlaced", "acc-1", "shop-a", out) && !*s_emitted);
    /* a deleted account leaves each of its shops, in sorted order (whatever order the
     * table keeps them in: eight of them, appointed backwards) */
    for (char c = 'h'; c > 'a'; c--) {
        char shop[8] = "shop-?";
        shop[5] = c;
        svc_officers_set(&o, "acc-1", shop, true);
    }
    svc_officers_set(&o, "acc-10", "shop-a", true);
    Tp__Account__AccountDeleted del = TP__ACCOUNT__ACCOUNT_DELETED__INIT;
    del.account_id = "acc-1";
    S_CHECK(s_react(&o, "AccountDeleted", &del.base, out));
    S_CHECK(streq(s_emitted, "acc-1|shop-a|0;acc-1|shop-b|0;acc-1|shop-c|0;acc-1|shop-d|0;"
                             "acc-1|shop-e|0;acc-1|shop-f|0;acc-1|shop-g|0;acc-1|shop-h|0;"));
    del.account_id = "acc 1";
    S_CHECK(s_react(&o, "AccountDeleted", &del.base, out) && !*s_emitted);
    /* applied: gone, the other account's appointment stays; ids past id_max ignored */
    for (char c = 'a'; c <= 'h'; c++) {
        char shop[8] = "shop-?";
        shop[5] = c;
        svc_officers_set(&o, "acc-1", shop, false);
    }
    svc_officers_set(&o, "acc-1", "shop-too-long", true);
    S_CHECK(!svc_officers_is_any(&o, "acc-1") && svc_officers_is(&o, "acc-10", "shop-a"));
    S_CHECK(zhashx_size(o.map) == 1);
    if (verbose)
        printf("svc_officers: %zu officer left\n", zhashx_size(o.map));
    svc_officers_fini(&o);
    svc_out_destroy(&out);
    return s_failed;
}
