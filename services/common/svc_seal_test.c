/* svc_seal_test.c: self-test of svc_seal.h, and the walk of every message type against
 * the declaration of personal fields (proto/tp_personal.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs.h"
#include "svc_seal.h"
#include "tp_personal.h"
#include "tp_types.h"

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "svc_seal: %s:%d: %s\n", __FILE__, __LINE__, #x);  \
            failed++;                                                          \
        }                                                                      \
    } while (0)

/* Messages with personal fields that no order or account encloses: never written to a
 * log or kept as a reply on their own (commands, whose replies carry no personal field,
 * and parts of other messages). Sealing one alone is refused (EVS_INVALID), so a service
 * that tried would fail loudly instead of keeping it in the clear. */
static const char *const s_unscoped[] = {
    /* commands */
    "tp.account.Register", "tp.account.ResendConfirmation", "tp.account.Confirm",
    "tp.account.Login", "tp.account.Logout", "tp.account.ResolveSession",
    "tp.account.RequestPasswordReset", "tp.account.CompletePasswordReset",
    "tp.account.FindAccount", "tp.account.TouchSession", "tp.example.SetSecret",
    "tp.order.PlaceOrder", "tp.revocation.RequestRevocation",
    "tp.revocation.RevokeWithPassword", "tp.revocation.RevokeAsOfficer",
    "tp.revocation.RevokeAsOperator", "tp.identification.RecordPostIdentResult",
    "tp.RequestHeader",
    /* parts: sealed inside the message that holds them */
    "tp.order.Address", "tp.order.Applicant", "tp.order.Representative",
    "tp.order.Organization", "tp.production.Certificate", "tp.order.OrderList",
    "tp.identification.CaseList", "tp.revocation.RequestList", "tp.Request",
    NULL,
};

static bool s_listed(const char *name)
{
    for (size_t i = 0; s_unscoped[i]; i++)
        if (strcmp(s_unscoped[i], name) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ keys for the test */

static uint8_t s_keys[8][SVC_SEAL_KEY_SIZE];
static char s_subjects[8][220];
static bool s_erased[8];
static size_t s_n;

static int s_test_keys(void *arg, const char *subject, bool create, uint8_t key[32])
{
    (void) arg;
    for (size_t i = 0; i < s_n; i++)
        if (strcmp(s_subjects[i], subject) == 0) {
            if (s_erased[i])
                return EVS_ERASED;
            memcpy(key, s_keys[i], 32);
            return 0;
        }
    if (!create)
        return EVS_NOTFOUND;
    if (s_n == 8)
        s_n = 0;   /* the walk makes many: the oldest are forgotten */
    snprintf(s_subjects[s_n], sizeof s_subjects[s_n], "%s", subject);
    randombytes_buf(s_keys[s_n], 32);
    s_erased[s_n] = false;
    memcpy(key, s_keys[s_n], 32);
    s_n++;
    return 0;
}

/* A key store that lost every key (none was erased). */
static int s_no_keys(void *arg, const char *subject, bool create, uint8_t key[32])
{
    (void) arg;
    (void) subject;
    (void) create;
    (void) key;
    return EVS_NOTFOUND;
}

static void s_erase(const char *subject)
{
    for (size_t i = 0; i < s_n; i++)
        if (strcmp(s_subjects[i], subject) == 0)
            s_erased[i] = true;
}

/* ------------------------------------------------------------------ canary instances */

/* Everything an instance holds, freed at once. */
typedef struct {
    void *ptr[4096];
    size_t n;
} s_pool_t;

static void *s_alloc(s_pool_t *p, size_t n)
{
    void *q = calloc(1, n ? n : 1);
    if (q && p->n < 4096)
        p->ptr[p->n++] = q;
    return q;
}

static void s_pool_free(s_pool_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->ptr[i]);
    p->n = 0;
}

/* The canary of a field: unique, recognisable in packed bytes. */
static char *s_canary(s_pool_t *p, const ProtobufCMessageDescriptor *m,
                      const ProtobufCFieldDescriptor *f)
{
    char *c = s_alloc(p, 200);
    if (c)
        snprintf(c, 200, "cnry|%s.%s|", m->name, f->name);
    return c;
}

/* A message of type @p m with every string and bytes field set to its canary. */
static ProtobufCMessage *s_instance(s_pool_t *p, const ProtobufCMessageDescriptor *m, int depth)
{
    ProtobufCMessage *msg = s_alloc(p, m->sizeof_message);
    protobuf_c_message_init(m, msg);
    for (unsigned i = 0; i < m->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->fields[i];
        bool rep = f->label == PROTOBUF_C_LABEL_REPEATED;
        void *value = NULL;
        if (f->type == PROTOBUF_C_TYPE_STRING)
            value = s_canary(p, m, f);
        else if (f->type == PROTOBUF_C_TYPE_BYTES) {
            ProtobufCBinaryData *b = rep ? s_alloc(p, sizeof *b) : NULL;
            char *c = s_canary(p, m, f);
            ProtobufCBinaryData v = {strlen(c), (uint8_t *) c};
            if (rep) {
                *b = v;
                *(ProtobufCBinaryData **) ((char *) msg + f->offset) = b;
                *(size_t *) ((char *) msg + f->quantifier_offset) = 1;
            }
            else
                *(ProtobufCBinaryData *) ((char *) msg + f->offset) = v;
            continue;
        }
        else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 4)
            value = s_instance(p, f->descriptor, depth + 1);
        if (!value)
            continue;
        if (rep) {
            void **arr = s_alloc(p, sizeof *arr);
            arr[0] = value;
            *(void ***) ((char *) msg + f->offset) = arr;
            *(size_t *) ((char *) msg + f->quantifier_offset) = 1;
        }
        else
            *(void **) ((char *) msg + f->offset) = value;
    }
    return msg;
}

/* Whether @p m has an order_id or account_id of its own. */
static bool s_has_subject(const ProtobufCMessageDescriptor *m)
{
    return protobuf_c_message_descriptor_get_field_by_name(m, "order_id") ||
           protobuf_c_message_descriptor_get_field_by_name(m, "account_id");
}

/* Checks the canaries of @p m's fields (and below) in @p bytes: personal ones gone,
 * plain ones there. */
static int s_canaries(const ProtobufCMessageDescriptor *m, const uint8_t *bytes, size_t len,
                      int depth)
{
    int failed = 0;
    for (unsigned i = 0; i < m->n_fields && depth < 4; i++) {
        const ProtobufCFieldDescriptor *f = &m->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            failed += s_canaries(f->descriptor, bytes, len, depth + 1);
            continue;
        }
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES)
            continue;
        char c[200];
        snprintf(c, sizeof c, "cnry|%s.%s|", m->name, f->name);
        bool there = memmem(bytes, len, c, strlen(c)) != NULL;
        bool personal = tp_personal_kind(m, f) > TP_PLAIN;
        if (there == personal) {
            fprintf(stderr, "svc_seal: %s: %s after sealing\n", c,
                    personal ? "still readable" : "missing");
            failed++;
        }
    }
    return failed;
}

/* ------------------------------------------------------------------ the walk */

/* Every field of every message is declared, and every row names a field. */
static int s_test_table(void)
{
    int failed = 0;
    for (size_t i = 0; tp_types_all[i]; i++) {
        const ProtobufCMessageDescriptor *m = tp_types_all[i];
        for (unsigned k = 0; k < m->n_fields; k++) {
            const ProtobufCFieldDescriptor *f = &m->fields[k];
            if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES)
                continue;
            tp_personal_kind_t kind = tp_personal_kind(m, f);
            if (kind == TP_UNDECLARED)
                fprintf(stderr, "svc_seal: %s.%s is not declared personal or plain in "
                                "proto/tp_personal.c\n", m->name, f->name);
            if (kind > TP_PLAIN && f->type != PROTOBUF_C_TYPE_STRING)
                fprintf(stderr, "svc_seal: %s.%s: only strings can be personal\n", m->name,
                        f->name);
            failed += kind == TP_UNDECLARED || (kind > TP_PLAIN && f->type != PROTOBUF_C_TYPE_STRING);
        }
    }
    for (const tp_personal_row_t *r = tp_personal_table; r->field; r++) {
        bool found = false;
        const char *dot = strrchr(r->field, '.');
        for (size_t i = 0; tp_types_all[i] && !found; i++) {
            const ProtobufCMessageDescriptor *m = tp_types_all[i];
            for (unsigned k = 0; k < m->n_fields && !found; k++) {
                char q[300];
                snprintf(q, sizeof q, "%s.%s", m->name, m->fields[k].name);
                found = strcmp(dot ? q : m->fields[k].name, r->field) == 0;
            }
        }
        if (!found)
            fprintf(stderr, "svc_seal: the table names %s, which no message has\n", r->field);
        failed += !found;
    }
    return failed;
}

/* Every message type sealed with canaries in every field, then opened again. */
static int s_test_every_type(bool verbose)
{
    int failed = 0, sealed_types = 0;
    for (size_t i = 0; tp_types_all[i]; i++) {
        const ProtobufCMessageDescriptor *m = tp_types_all[i];
        s_pool_t *p = calloc(1, sizeof *p);
        ProtobufCMessage *msg = s_instance(p, m, 0);
        size_t len = protobuf_c_message_get_packed_size(msg);
        uint8_t *bytes = malloc(len + 1);
        protobuf_c_message_pack(msg, bytes);
        uint8_t *sealed = NULL, *opened = NULL;
        size_t slen = 0, olen = 0;
        int rc = svc_seal(m, bytes, len, "ev-1|stream-1", 1700000000000000, s_test_keys, NULL,
                          &sealed, &slen);
        if (rc == EVS_INVALID && !s_has_subject(m)) {
            if (!s_listed(m->name)) {
                fprintf(stderr, "svc_seal: %s has personal fields and no order_id or "
                                "account_id: give it one, or list it in s_unscoped\n",
                        m->name);
                failed++;
            }
        }
        else if (rc != 0) {
            fprintf(stderr, "svc_seal: %s: seal: %d\n", m->name, rc);
            failed++;
        }
        else {
            const uint8_t *check = sealed ? sealed : bytes;
            failed += s_canaries(m, check, sealed ? slen : len, 0);
            sealed_types += sealed != NULL;
            CHECK(!sealed || svc_seal_needed(m));
            if (sealed) {
                CHECK(svc_unseal(m, sealed, slen, "ev-1|stream-1", s_test_keys, NULL, &opened,
                                 &olen, NULL) == 0);
                CHECK(opened && olen == len && memcmp(opened, bytes, len) == 0);
                free(opened);
                /* another place: it does not open */
                CHECK(svc_unseal(m, sealed, slen, "ev-2|stream-1", s_test_keys, NULL, &opened,
                                 &olen, NULL) == EVS_CORRUPT);
                free(opened);
            }
        }
        free(sealed);
        free(bytes);
        s_pool_free(p);
        free(p);
    }
    if (verbose)
        printf("svc_seal: %d message types hold personal fields and were sealed\n",
               sealed_types);
    CHECK(sealed_types > 10);
    return failed;
}

/* One event of the order service: sealed, opened, erased. */
static int s_test_erasure(void)
{
    int failed = 0;
    const ProtobufCMessageDescriptor *m = tp_types_find("order", "OrderPlaced");
    CHECK(m != NULL);
    if (!m)
        return failed;
    s_pool_t *p = calloc(1, sizeof *p);
    ProtobufCMessage *msg = s_instance(p, m, 0);
    /* a customer who types the sealed form gets it back as typed */
    const ProtobufCFieldDescriptor *fa = protobuf_c_message_descriptor_get_field_by_name(m, "applicant");
    ProtobufCMessage *app = *(ProtobufCMessage **) ((char *) msg + fa->offset);
    const ProtobufCFieldDescriptor *fn =
        protobuf_c_message_descriptor_get_field_by_name(app->descriptor, "family_name");
    *(const char **) ((char *) app + fn->offset) = "sealed:1:order:x:AAAA";
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *bytes = malloc(len);
    protobuf_c_message_pack(msg, bytes);
    uint8_t *sealed = NULL, *opened = NULL;
    size_t slen = 0, olen = 0, erased = 0;
    CHECK(svc_seal(m, bytes, len, "a", 0, s_test_keys, NULL, &sealed, &slen) == 0 && sealed);
    CHECK(svc_unseal(m, sealed, slen, "a", s_test_keys, NULL, &opened, &olen, &erased) == 0);
    CHECK(opened && olen == len && memcmp(opened, bytes, len) == 0 && erased == 0);
    free(opened);
    char subject[300];
    snprintf(subject, sizeof subject, "order:cnry|%s.order_id|", m->name);
    s_erase(subject);
    CHECK(svc_unseal(m, sealed, slen, "a", s_test_keys, NULL, &opened, &olen, &erased) == 0);
    CHECK(opened && erased >= 10);
    CHECK(opened && memmem(opened, olen, SVC_ERASED, strlen(SVC_ERASED)));
    CHECK(opened && memmem(opened, olen, "cnry|tp.order.OrderPlaced.product_id|", 37));
    free(opened);
    /* an erased subject gets nothing kept of it any more: its values are dropped */
    uint8_t *again = NULL;
    size_t alen = 0;
    CHECK(svc_seal(m, bytes, len, "a", 0, s_test_keys, NULL, &again, &alen) == 0 && again);
    CHECK(again && !memmem(again, alen, "sealed:1:", 9) &&
          memmem(again, alen, SVC_ERASED, strlen(SVC_ERASED)) &&
          !memmem(again, alen, "cnry|tp.order.Applicant.given_names|", 36));
    free(again);
    /* a subject without a key that was never erased: an error, never "erased" */
    uint8_t *none = NULL;
    size_t nlen = 0;
    CHECK(svc_unseal(m, sealed, slen, "a", s_no_keys, NULL, &none, &nlen, NULL) == EVS_CORRUPT);
    free(none);
    free(sealed);
    free(bytes);
    s_pool_free(p);
    free(p);
    return failed;
}

int svc_seal_test(bool verbose)
{
    if (sodium_init() < 0)
        return 1;
    int failed = s_test_table();
    failed += s_test_every_type(verbose);
    failed += s_test_erasure();
    if (verbose || failed)
        printf("svc_seal: %s\n", failed ? "FAILED" : "OK");
    return failed ? 1 : 0;
}
