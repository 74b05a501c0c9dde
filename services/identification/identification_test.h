/* identification_test.h: what the identification core's unit tests share: the core under
 * test (svc_testcore.h) as the runtime drives it, and the upstream history they start
 * from. */
#ifndef IDENTIFICATION_TEST_H
#define IDENTIFICATION_TEST_H
#include <stdio.h>
#include <string.h>
#include "account.pb-c.h"
#include "identification.h"
#include "identification.pb-c.h"
#include "order.pb-c.h"
#include "svc_testcore.h"

#define T0           1700000000000000LL
#define ITEST_ID_MAX 130 /* one more than the longest id the core takes, and a NUL */

/** The core under test: empty state and log, the clock at T0, 1 ms on with each commit. */
svc_tc_t *itest_new(void);
/** Fills @p buf with @p n bytes of text. */
char *itest_filled(char *buf, size_t n);

/** The order service's OrderPlaced (Erika Mustermann); returns the number of events react
 *  wrote. Officers come with svc_tc_officer. */
size_t itest_order(svc_tc_t *w, const char *order, const char *account, const char *shop,
                   const char *method);
/** The PostIdent number of the case just opened ("" when none); caller frees. */
char *itest_opened_number(svc_tc_t *w);
/** True for 12 digits with a valid Luhn check digit. */
bool itest_luhn_ok(const char *n);
/**
 * The history every test starts from: TP-1 postident (no shop), TP-2 notarident, TP-3
 * botschaftsident, TP-4 officerident shop-a, TP-5 dtrustident shop-a, TP-6 postident
 * shop-b, TP-7 officerident shop-b, TP-8 officerident shop-a; officers acc-oa (shop-a),
 * acc-ob (shop-b), acc-rev (shop-a, revoked). @p numbers gets TP-1's and TP-6's numbers.
 */
void itest_seed(svc_tc_t *w, char numbers[2][16]);
#endif
