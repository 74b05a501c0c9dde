/* production_test.h: what the production core's test files share: the core under test
 * (svc_testcore.h), the producers' facts and the restarts. */
#ifndef PRODUCTION_TEST_H
#define PRODUCTION_TEST_H
#include <stdio.h>
#include "order.pb-c.h"
#include "production.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"
#include "svc_testcore.h"

/** The core under test (svc_testcore.h), its output and its clock. Its outputs wait for
 *  svc_tc_commit (held), so that a test can look at a decision before it counts. */
extern svc_tc_t *pt;
extern svc_out_t *pt_out;
extern int64_t pt_now;

/** Microseconds of a day and of a year (365 days). */
#define PT_DAY  (86400LL * 1000000)
#define PT_YEAR (365 * PT_DAY)

/* A refusal: failed, nothing written, no reply, and the error there. */
#define REFUSED(code, field)                                                                       \
    CHECK(svc_tc_refused(pt_out, code, field) && svc_out_reply_bytes(pt_out, NULL) == NULL)
/** True when pt_out's first error message contains @p text. */
bool pt_message_has(const char *text);

/** The order service releases @p order_id of @p account: a job opens (committed). */
void pt_release(const char *order_id, const char *account);
/** Producer facts, each committed and checked accepted; @p serial also names the fact. */
void pt_certificates(const char *order_id, const char *serial, int64_t from, int64_t to);
void pt_produced(const char *order_id, const char *card_number);
void pt_shipped(const char *order_id, const char *tracking);
/** Decides a GetProduct as @p role / @p account (the reply is in pt_out). */
void pt_get_product(const char *product_id, const char *role, const char *account);

/** A fresh state rebuilt from every event committed so far ("a restart"), configured with
 *  @p delay_s ("" = the default). Caller destroys it with production_def.state_destroy. */
void *pt_rebuild(const char *delay_s);
/** Configures @p state with activation_delay_s = @p delay_s (NULL: no config at all). */
void pt_configure(void *state, const char *delay_s);

void pt_test_fact_refusals(void);
void pt_test_timer(void);
void pt_test_revocation(void);
void pt_test_runtime(void);
#endif
