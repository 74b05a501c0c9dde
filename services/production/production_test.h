/* production_test.h: what the production core's test files share (a driver that
 * decides, reacts, ticks and applies event by event, as the runtime would). */
#ifndef PRODUCTION_TEST_H
#define PRODUCTION_TEST_H
#include <stdio.h>
#include "order.pb-c.h"
#include "production.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"

extern int pt_failed;
extern bool pt_verbose;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "production_test: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            pt_failed++;                                                                           \
        }                                                                                          \
    } while (0)

/** The state under test, the output of the last decide/react/tick, and the clock. */
extern void *pt_state;
extern svc_out_t *pt_out;
extern int64_t pt_now;

/** Microseconds of a day and of a year (365 days). */
#define PT_DAY  (86400LL * 1000000)
#define PT_YEAR (365 * PT_DAY)

/** Runs command or query @p name as @p role / @p account into pt_out (reset first). */
void pt_run(const char *name, const char *role, const char *account, const ProtobufCMessage *msg);
/** Applies pt_out's events to pt_state and appends them to the test's log. */
void pt_commit(void);
/** Runs a command, checks it was accepted, commits it; returns the number of events. */
size_t pt_do(const char *name, const char *role, const char *account, const ProtobufCMessage *msg);
/** Feeds an upstream event to react into pt_out (reset first). */
void pt_react(const char *upstream, const char *type, const ProtobufCMessage *msg);
/** Runs tick at pt_now into pt_out (reset first). */
void pt_tick(void);
/** True when pt_out holds an error with this code and field ("" for none). */
bool pt_has_error(const char *code, const char *field);
/** True when pt_out's first error message contains @p text. */
bool pt_message_has(const char *text);
/* A refusal: failed, nothing written, no reply, and the error there. */
#define REFUSED(code, field)                                                                       \
    CHECK(svc_out_failed(pt_out) && svc_out_n_events(pt_out) == 0 &&                               \
          svc_out_reply_bytes(pt_out, NULL) == NULL && pt_has_error(code, field))

/** Number of events of @p type in pt_out. */
size_t pt_count(const char *type);
/** The FactAck replied (caller frees), or NULL. */
Tp__Production__FactAck *pt_ack(void);
/** The ProductView / JobView / ProductList replied (caller frees), or NULL. */
Tp__Production__ProductView *pt_product_view(void);
Tp__Production__JobView *pt_job_view(void);
Tp__Production__ProductList *pt_product_list(void);

/** The order service releases @p order_id of @p account: a job opens (committed). */
void pt_release(const char *order_id, const char *account);
/** Producer facts, each committed and checked accepted; @p serial also names the fact. */
void pt_certificates(const char *order_id, const char *serial, int64_t from, int64_t to);
void pt_produced(const char *order_id, const char *card_number);
void pt_shipped(const char *order_id, const char *tracking);
/** Runs a GetProduct as @p role / @p account (the reply is in pt_out). */
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
