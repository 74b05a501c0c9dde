/* order_test.h: what the order core's test files share: the core under test
 * (svc_testcore.h) and a valid order form. */
#ifndef ORDER_TEST_H
#define ORDER_TEST_H
#include <stdio.h>
#include "identification.pb-c.h"
#include "order.h"
#include "order.pb-c.h"
#include "svc_testcore.h"

/** The core under test (svc_testcore.h), its output and its clock. Its outputs wait for
 *  svc_tc_commit (held), so that a test can look at a decision before it counts. */
extern svc_tc_t *ot;
extern svc_out_t *ot_out;
extern int64_t ot_now;

/* A refusal: failed, nothing written, and the error there. */
#define REFUSED(code, field) CHECK(svc_tc_refused(ot_out, code, field))

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

void ot_test_reactions(void);
void ot_test_back_office(void);
void ot_test_four_eyes(void);
void ot_test_release_orders(void);
void ot_test_scoping(void);
void ot_test_documents(void);
void ot_test_production(void);
void ot_test_retention(void);
/** Places a NotarIdent order for @p account and releases it; its id into @p id. */
void ot_released(const char *account, char *id, size_t idsz);
void ot_test_runtime(void);
#endif
