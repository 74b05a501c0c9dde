/* order_test.h: what the order core's test files share (a driver that decides,
 * reacts and applies event by event, as the runtime would). */
#ifndef ORDER_TEST_H
#define ORDER_TEST_H
#include <stdio.h>
#include "identification.pb-c.h"
#include "order.h"
#include "order.pb-c.h"

extern int ot_failed;
extern bool ot_verbose;
#define CHECK(c)                                                                         \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "order_test: %s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #c);                                                                 \
            ot_failed++;                                                                 \
        }                                                                                \
    } while (0)

/** The state under test, the output of the last decide/react/tick, and the clock. */
extern void *ot_state;
extern svc_out_t *ot_out;
extern int64_t ot_now;

/** Runs command or query @p name as @p role / @p account into ot_out (reset first). */
void ot_run(const char *name, const char *role, const char *account, const ProtobufCMessage *msg);
/** Applies ot_out's events to ot_state (and keeps them for the replay check). */
void ot_commit(void);
/** Runs a command and commits it; returns the number of events written. */
size_t ot_do(const char *name, const char *role, const char *account, const ProtobufCMessage *msg);
/** True when ot_out holds an error with this code and field. */
bool ot_has_error(const char *code, const char *field);
/* A refusal: failed, nothing written, and the error there. */
#define REFUSED(code, field) CHECK(svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 0 && \
                                   ot_has_error(code, field))

/** Number of events of @p type in ot_out. */
size_t ot_count(const char *type);
/** The OrderView replied (caller frees with tp__order__order_view__free_unpacked). */
Tp__Order__OrderView *ot_view(void);

/** A complete, valid order form; fields can be spoilt one by one. */
typedef struct {
    Tp__Order__Address addr, org_addr;
    Tp__Order__Applicant app;
    Tp__Order__Representative rep;
    Tp__Order__Representative *reps[1];
    Tp__Order__Organization org;
    Tp__Order__PlaceOrder cmd;
} ot_form_t;
void ot_form(ot_form_t *f, const char *product, const char *method, const char *shop);
/** Places @p f as @p account and returns the new order id (static buffer) or NULL. */
const char *ot_place(ot_form_t *f, const char *account);

/** The next sequence number for an upstream event fed to react. */
uint64_t ot_next_seq(void);

void ot_test_reactions(void);
void ot_test_back_office(void);
void ot_test_release_orders(void);
void ot_test_scoping(void);
void ot_test_documents(void);
void ot_test_production(void);
void ot_test_runtime(void);
#endif
