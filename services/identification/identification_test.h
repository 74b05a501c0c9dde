/* identification_test.h: the harness of the identification core's unit tests: the core
 * with an in-memory log, driven as the runtime drives it. */
#ifndef IDENTIFICATION_TEST_H
#define IDENTIFICATION_TEST_H
#include <stdio.h>
#include <string.h>
#include "account.pb-c.h"
#include "identification.h"
#include "identification.pb-c.h"
#include "order.pb-c.h"

/** Checks that failed so far. */
extern int itest_failed;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "identification_test: %s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                                           \
            itest_failed++;                                                                        \
        }                                                                                          \
    } while (0)

#define T0            1700000000000000LL
#define ITEST_ID_MAX  130 /* one more than the longest id the core takes, and a NUL */
#define ITEST_LOG_MAX 4096

/* One event as written to the log, kept to rebuild a state from it. */
typedef struct {
    char *type;
    char *stream;
    uint8_t *payload;
    size_t len;
    uint64_t version;
    int64_t at_us;
} itest_logged_t;

/* A core with its log, as the runtime drives it: each accepted output is "committed"
 * (stream versions counted, time stamped) and applied before the next input. */
typedef struct {
    void *state;
    svc_out_t *out;
    zhashx_t *versions; /* stream -> version (stored in the pointer) */
    itest_logged_t log[ITEST_LOG_MAX];
    size_t n_log;
    int64_t now;
    uint64_t up_seq; /* upstream seq */
} itest_world_t;

/** A fresh world: empty state and log, clock at T0. */
void itest_init(itest_world_t *w);
void itest_fini(itest_world_t *w);
/** Applies one logged event to @p state as the event at @p seq. */
void itest_apply_logged(void *state, const itest_logged_t *l, uint64_t seq);
/** Feeds an upstream event to react; returns the number of events it produced (committed). */
size_t itest_up(itest_world_t *w, const char *upstream, const ProtobufCMessage *msg);
/** Runs a command or query as @p role / @p account; returns w->out with its result. */
svc_out_t *itest_do(itest_world_t *w, const char *name, const char *role, const char *account,
                    const ProtobufCMessage *body);
/** True when @p out has this error (field NULL = none). */
bool itest_err(svc_out_t *out, const char *code, const char *field);
/** Refused with this error (among others) and nothing written. */
bool itest_refused(svc_out_t *out, const char *code, const char *field);
/** Event @p i: its type ("" when none), or decoded (free with itest_free). */
const char *itest_event_type(svc_out_t *out, size_t i);
ProtobufCMessage *itest_event(svc_out_t *out, size_t i, const ProtobufCMessageDescriptor *desc);
/** The reply, decoded (free with itest_free), or NULL. */
ProtobufCMessage *itest_reply(svc_out_t *out, const ProtobufCMessageDescriptor *desc);
void itest_free(void *msg);
/** Fills @p buf with @p n bytes of text. */
char *itest_filled(char *buf, size_t n);

/** Upstream events: OrderPlaced (Erika Mustermann), OfficerAppointed/Revoked. */
size_t itest_order(itest_world_t *w, const char *order, const char *account, const char *shop,
                   const char *method);
size_t itest_officer(itest_world_t *w, const char *account, const char *shop, bool appoint);
/** The PostIdent number of the case just opened ("" when none); caller frees. */
char *itest_opened_number(itest_world_t *w);
/** True for 12 digits with a valid Luhn check digit. */
bool itest_luhn_ok(const char *n);
/**
 * The history every test starts from: TP-1 postident (no shop), TP-2 notarident, TP-3
 * botschaftsident, TP-4 officerident shop-a, TP-5 dtrustident shop-a, TP-6 postident
 * shop-b, TP-7 officerident shop-b, TP-8 officerident shop-a; officers acc-oa (shop-a),
 * acc-ob (shop-b), acc-rev (shop-a, revoked). @p numbers gets TP-1's and TP-6's numbers.
 */
void itest_seed(itest_world_t *w, char numbers[2][16]);
#endif
