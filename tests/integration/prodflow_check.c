/* prodflow_check.c: what the flow must have left behind: the revocation list and the
 * requests' evidence, the end state in words (to compare two runs), and the logs (each
 * once-per-order event exactly once; verify; replay = live). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "logcheck.h"
#include "prodflow_internal.h"

static const char *const s_reasons[PF_N] = {"card_lost", "suspected_misuse", "other"};

static void s_serials(const pf_t *pf, int idx, char serials[2][40])
{
    char d[32];
    pf_digits(pf->orders[idx], d, sizeof d);
    snprintf(serials[0], 40, "5e%s01", d);
    snprintf(serials[1], 40, "5e%s02", d);
}

static Tp__Revocation__RequestList *s_requests(pf_t *pf, const th_actor_t *as, Tp__Reply **rp)
{
    Tp__Revocation__ListRequests q = TP__REVOCATION__LIST_REQUESTS__INIT;
    Tp__Reply *r =
        th_call_as(pf->th, "revocation", as, NULL, "revocation.ListRequests", &q.base, FL_CALL_MS);
    Tp__Revocation__RequestList *l =
        r && r->ok ? tp__revocation__request_list__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (rp)
        *rp = r;
    else
        th_reply_free(&r);
    return l;
}

static Tp__Revocation__RevocationList *s_list(pf_t *pf)
{
    Tp__Revocation__GetRevocationList q = TP__REVOCATION__GET_REVOCATION_LIST__INIT;
    Tp__Reply *r = th_call_as(pf->th, "revocation", &fl_anonymous, NULL,
                              "revocation.GetRevocationList", &q.base, FL_CALL_MS);
    Tp__Revocation__RevocationList *l =
        r && r->ok ? tp__revocation__revocation_list__unpack(NULL, r->body.len, r->body.data)
                   : NULL;
    th_reply_free(&r);
    return l;
}

void pf_check_list(pf_t *pf)
{
    /* the list, for anyone: both serials of each card, in the order revoked, with reasons */
    Tp__Revocation__RevocationList *list = s_list(pf);
    TH_CHECK(list && list->n_entries == 2 * PF_N);
    for (int idx = 0; list && list->n_entries == 2 * PF_N && idx < PF_N; idx++) {
        char serials[2][40];
        s_serials(pf, idx, serials);
        for (int k = 0; k < 2; k++) {
            bool found = false;
            for (int e = 2 * idx; e < 2 * idx + 2; e++) {
                const Tp__Revocation__RevokedSerial *rs = list->entries[e];
                found |= streq(rs->serial, serials[k]) && streq(rs->reason, s_reasons[idx]) &&
                         rs->revoked_at_us > 0;
            }
            if (!found)
                fprintf(stderr, "revocation list: %s (%s) missing or out of place\n", serials[k],
                        s_reasons[idx]);
            TH_CHECK(found);
        }
    }
    if (list)
        tp__revocation__revocation_list__free_unpacked(list, NULL);
    /* the requests with their evidence, for operators only */
    Tp__Reply *r = NULL;
    Tp__Revocation__RequestList *l = s_requests(pf, &pf->owner.as, &r);
    TH_CHECK(!l && r && !r->ok && r->n_errors && streq(r->errors[0]->code, "forbidden"));
    th_reply_free(&r);
    l = s_requests(pf, &fl_operator, NULL);
    TH_CHECK(l && l->n_requests == PF_N);
    for (size_t i = 0; l && i < l->n_requests && i < PF_N; i++) {
        const Tp__Revocation__RevocationView *v = l->requests[i];
        static const char *const how[PF_N] = {"session", "revocation_password", "officer"};
        const char *who[PF_N] = {pf->owner.account_id, "anonymous", pf->officer.account_id};
        const char *detail[PF_N] = {"192.0.2.10", "192.0.2.10", "officer of shop " FL_DEMO_SHOP};
        bool ok = streq(v->product_id, pf->products[i]) && streq(v->order_id, pf->orders[i]) &&
                  streq(v->reason, s_reasons[i]) && streq(v->authenticated_by, how[i]) &&
                  streq(v->requested_by, who[i]) &&
                  streq(v->authentication_detail, detail[i]) &&
                  streq(v->decision, "completed") && v->n_serials == 2 &&
                  v->completed_at_us >= v->received_at_us + 1000000;
        if (!ok)
            fprintf(stderr,
                    "request %zu: %s %s %s by %s via %s (%s) %s, %zu serials, %lld us\n", i,
                    v->request_id, v->product_id, v->reason, v->requested_by,
                    v->authenticated_by, v->authentication_detail, v->decision, v->n_serials,
                    (long long) (v->completed_at_us - v->received_at_us));
        TH_CHECK(ok);
    }
    /* the owner sees the own request */
    if (l && l->n_requests) {
        Tp__Revocation__GetRequest gr = TP__REVOCATION__GET_REQUEST__INIT;
        gr.request_id = l->requests[0]->request_id;
        r = th_call_as(pf->th, "revocation", &pf->owner.as, NULL, "revocation.GetRequest",
                       &gr.base, FL_CALL_MS);
        TH_CHECK(r && r->ok);
        th_reply_free(&r);
    }
    if (l)
        tp__revocation__request_list__free_unpacked(l, NULL);
}

/* ------------------------------------------------------------------ end state */

static void s_add(zlistx_t *lines, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_add(zlistx_t *lines, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = zsys_vprintf(fmt, ap);
    va_end(ap);
    if (s)
        zlistx_add_end(lines, s);
}

/* Cuts the member "@p key": out of the flat JSON @p s. */
static void s_cut(char *s, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    char *d = s ? strstr(s, pat) : NULL;
    if (!d)
        return;
    char *end = d + strlen(pat);
    if (*end == '"')
        end = strchr(end + 1, '"');
    end = end ? end + strcspn(end, ",}") : NULL;
    if (end && *end == ',')
        end++;
    else if (end && d > s && d[-1] == ',')
        d--; /* the last member: its comma goes with it */
    if (end)
        memmove(d, end, strlen(end) + 1);
}

/* A summary without its digest (ids and times differ between runs; the counts do not).
 * The account service's event count is left out too: its MailSent is not written when
 * the link in the mail is used before the sender reports back (the mail is no longer
 * pending then), so the count depends on how fast the test reads the outbox. */
static void s_summary(pf_t *pf, const char *service, zlistx_t *lines)
{
    char *s = th_summary(pf->th, service);
    s_cut(s, "digest");
    if (streq(service, "account"))
        s_cut(s, "events");
    s_add(lines, "summary %s %s", service, s ? s : "(none)");
    free(s);
}

char *pf_end_state(pf_t *pf)
{
    zlistx_t *lines = zlistx_new();
    zlistx_set_destructor(lines, (zlistx_destructor_fn *) zstr_free);
    for (int idx = 0; idx < PF_N; idx++) {
        Tp__Order__OrderView *o = fl_get_order(pf->th, &pf->owner.as, pf->orders[idx]);
        s_add(lines, "order %s %s archived=%d tracking=%s card=%s", pf->orders[idx],
              o ? o->status : "-", o ? o->archived : -1, o ? o->tracking_number : "-",
              o ? o->card_product_id : "-");
        if (o)
            tp__order__order_view__free_unpacked(o, NULL);
        Tp__Production__ProductView *p = pf_get_product(pf, &pf->owner.as, idx, NULL);
        s_add(lines, "product %s %s active=%d why=%s type=%s shop=%s card=%s certs=%s,%s",
              pf->products[idx], p ? p->status : "-", p ? p->active : -1,
              p ? p->inactive_reason : "-", p ? p->product_type : "-", p ? p->shop_id : "-",
              p ? p->card_number : "-",
              p && p->n_certificates > 0 ? p->certificates[0]->serial : "-",
              p && p->n_certificates > 1 ? p->certificates[1]->serial : "-");
        if (p)
            tp__production__product_view__free_unpacked(p, NULL);
    }
    Tp__Order__ListOrders lo = TP__ORDER__LIST_ORDERS__INIT;
    for (int archived = 0; archived < 2; archived++) {
        lo.archived = archived;
        Tp__Reply *r = th_call_as(pf->th, "order", &pf->owner.as, NULL, "order.ListOrders",
                                  &lo.base, FL_CALL_MS);
        Tp__Order__OrderList *ol =
            r && r->ok ? tp__order__order_list__unpack(NULL, r->body.len, r->body.data) : NULL;
        s_add(lines, "orders archived=%d: %zu", archived, ol ? ol->n_orders : (size_t) 999);
        if (ol)
            tp__order__order_list__free_unpacked(ol, NULL);
        th_reply_free(&r);
    }
    Tp__Revocation__RevocationList *list = s_list(pf);
    for (size_t i = 0; list && i < list->n_entries; i++)
        s_add(lines, "revoked %s %s", list->entries[i]->serial, list->entries[i]->reason);
    if (list)
        tp__revocation__revocation_list__free_unpacked(list, NULL);
    Tp__Revocation__RequestList *l = s_requests(pf, &fl_operator, NULL);
    for (size_t i = 0; l && i < l->n_requests; i++) {
        const Tp__Revocation__RevocationView *v = l->requests[i];
        s_add(lines, "request %s %s %s %s by %s serials=%zu", v->product_id, v->reason,
              v->authenticated_by, v->decision,
              streq(v->requested_by, pf->owner.account_id)     ? "owner"
              : streq(v->requested_by, pf->officer.account_id) ? "officer"
                                                               : v->requested_by,
              v->n_serials);
    }
    if (l)
        tp__revocation__request_list__free_unpacked(l, NULL);
    for (int i = 0; i < 5; i++)
        s_summary(pf, pf_services[i], lines);
    size_t len = 1;
    for (char *s = zlistx_first(lines); s; s = zlistx_next(lines))
        len += strlen(s) + 1;
    char *text = calloc(1, len);
    for (char *s = zlistx_first(lines); text && s; s = zlistx_next(lines)) {
        strcat(text, s);
        strcat(text, "\n");
    }
    zlistx_destroy(&lines);
    return text;
}

/* ------------------------------------------------------------------ logs */

typedef struct {
    zhashx_t *per_stream; /* "type|stream[|learned from]" -> count */
    zhashx_t *per_type;   /* "type" -> count */
} s_tally_t;

static void s_bump(zhashx_t *h, const char *key)
{
    uintptr_t n = (uintptr_t) zhashx_lookup(h, key);
    zhashx_update(h, key, (void *) (n + 1));
}

static void s_tally(const Tp__Envelope *env, void *arg)
{
    s_tally_t *t = arg;
    char key[512];
    const char *from = "";
    Tp__Revocation__ProductKnown *pk = NULL;
    if (streq(env->event_type, "ProductKnown") &&
        (pk = tp__revocation__product_known__unpack(NULL, env->payload.len, env->payload.data)))
        from = pk->learned_from;
    snprintf(key, sizeof key, "%s|%s|%s", env->event_type, env->stream_id, from);
    if (pk)
        tp__revocation__product_known__free_unpacked(pk, NULL);
    s_bump(t->per_stream, key);
    s_bump(t->per_type, env->event_type);
}

/* An event type and how often the flow writes it: once per stream, n in all. */
typedef struct {
    const char *service, *type;
    int n;
} s_expect_t;

static const s_expect_t s_expect[] = {
    {"production", "JobOpened", 3},
    {"production", "CertificatesCreated", 3},
    {"production", "CardProduced", 3},
    {"production", "CardShipped", 3},
    {"production", "PinLetterShipped", 3},
    {"production", "CardDelivered", 3},
    {"production", "PinLetterDelivered", 3},
    {"production", "JobCompleted", 3},
    {"production", "ProductActivated", 3},
    {"production", "ProductRevocationPending", 3},
    {"production", "ProductRevoked", 3},
    {"order", "OrderPlaced", 3},
    {"order", "PostIdentNumberAssigned", 3},
    {"order", "IdentificationRecorded", 3},
    {"order", "ApplicationReceived", 3},
    {"order", "OrderReleasedForProduction", 3},
    {"order", "ProductionStarted", 3},
    {"order", "OrderProduced", 3},
    {"order", "OrderShipped", 3},
    {"order", "OrderDelivered", 3},
    {"identification", "CaseOpened", 3},
    {"identification", "IdentificationSucceeded", 3},
    {"identification", "OfficerKnown", 1},
    {"revocation", "ProductKnown", 12}, /* per order: placed, certificates, card, shipped */
    {"revocation", "RevocationRequested", 3},
    {"revocation", "RevocationCompleted", 3},
    {"revocation", "OfficerKnown", 1},
    {"account", "OfficerAppointed", 1},
};
#define S_N_EXPECT (sizeof s_expect / sizeof s_expect[0])

static void s_check_log(pf_t *pf, const char *service)
{
    char dir[512];
    th_data_dir(pf->th, service, dir, sizeof dir);
    s_tally_t t = {zhashx_new(), zhashx_new()};
    int64_t n = lc_each(dir, s_tally, &t);
    TH_CHECK(n > 0);
    for (size_t i = 0; i < S_N_EXPECT; i++) {
        if (!streq(s_expect[i].service, service))
            continue;
        int total = (int) (uintptr_t) zhashx_lookup(t.per_type, s_expect[i].type);
        if (total != s_expect[i].n)
            fprintf(stderr, "%s: %d %s in the log, expected %d\n", service, total,
                    s_expect[i].type, s_expect[i].n);
        TH_CHECK(total == s_expect[i].n);
        size_t tlen = strlen(s_expect[i].type);
        for (void *c = zhashx_first(t.per_stream); c; c = zhashx_next(t.per_stream)) {
            const char *key = zhashx_cursor(t.per_stream);
            if (strncmp(key, s_expect[i].type, tlen) != 0 || key[tlen] != '|')
                continue;
            if ((uintptr_t) c != 1)
                fprintf(stderr, "%s: %s %lu times\n", service, key, (unsigned long) (uintptr_t) c);
            TH_CHECK((uintptr_t) c == 1);
        }
    }
    if (streq(service, "revocation")) {
        int failed = (int) (uintptr_t) zhashx_lookup(t.per_type, "RevocationAttemptFailed");
        TH_CHECK(failed == (pf->refusals ? 2 : 0));
    }
    zhashx_destroy(&t.per_stream);
    zhashx_destroy(&t.per_type);
}

void pf_check_logs(pf_t *pf)
{
    for (int i = 0; i < 5; i++) {
        s_check_log(pf, pf_services[i]);
        th_check_replay(pf->th, pf_services[i]);
    }
}
