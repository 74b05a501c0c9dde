/* revocation_test.h: what the revocation core's unit tests share: the core under test
 * (svc_testcore.h) as the runtime drives it, and the fixtures. */
#ifndef REVOCATION_TEST_H
#define REVOCATION_TEST_H
#include <stdio.h>
#include <string.h>
#include "account.pb-c.h"
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "revocation.h"
#include "revocation.pb-c.h"
#include "svc_testcore.h"

#define T0           1700000000000000LL
#define SEC          1000000LL
#define RTEST_CLIENT "198.51.100.7" /* the client address of the commands */

/** The revocation password of the fixtures, and its Argon2id hash (the order service's
 *  cost), computed once so most tests need no hashing. */
#define RTEST_PASSWORD "Sperr-Kennwort-42"
#define RTEST_HASH                                                                                 \
    "$argon2id$v=19$m=19456,t=2,p=1$+OYSJuFid1S5bljeCLhL1A$"                                       \
    "+9jtvrv1xjxyzIWuamEKHn7MsVSXFuagPAfAaGUOa8M"
/** Another password's hash ("Anderes-Kennwort-7"). */
#define RTEST_HASH2                                                                                \
    "$argon2id$v=19$m=19456,t=2,p=1$Q718PAVV19hJSFb/NYs8hQ$"                                       \
    "xvFCSp+Ehu3o2x39HsmXi7eO4ykw+VdcTFQXgQx4YQk"

/** The core under test: empty state and log, processing delay 60 s, alarm after 600 s (also
 *  for the states rebuilt from its log), the clock at T0 moving 1 ms with each commit,
 *  distinct random bytes for each command, client address RTEST_CLIENT. */
svc_tc_t *rtest_new(void);

/** Upstream facts; each returns the number of events react wrote. Officers come with
 *  svc_tc_officer. */
size_t rtest_order(svc_tc_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *hash);
size_t rtest_certificates(svc_tc_t *w, const char *order, const char *serial1, const char *serial2);
size_t rtest_produced(svc_tc_t *w, const char *order, const char *card);
size_t rtest_shipped(svc_tc_t *w, const char *order);
/** An order placed, its certificates (serials "<order>-S1", "<order>-S2"), card
 *  "<card>", shipped: product "prd-<order>" can be revoked. */
void rtest_product(svc_tc_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *card);
/**
 * The history most tests start from: TP-2026-000001 signature card of acc-anna (no shop,
 * card 4711 0001), TP-2026-000002 seal card of acc-bert in shop-a (card 4711 0002),
 * TP-2026-000003 signature card of acc-bert in shop-a (card 4711 0003), TP-2026-000004
 * seal card of acc-cora in shop-b (card 4711 0004), TP-2026-000005 signature card of
 * acc-anna, placed but not shipped; officers acc-oa (shop-a), acc-ob (shop-b), acc-rev
 * (shop-a, revoked). All with RTEST_PASSWORD.
 */
void rtest_seed(svc_tc_t *w);

/** Test groups: revocation_test.c, revocation_test_password.c, and the core in the
 *  runtime: revocation_test_runtime.c. */
void rtest_react(void);
void rtest_owner(void);
void rtest_officer_cmd(void);
void rtest_operator(void);
void rtest_timer(void);
void rtest_queries(void);
void rtest_settings(void);
void rtest_password_decide(void);
void rtest_password_throttle(void);
void rtest_password_argon2(void);
void rtest_runtime(void);
void rtest_keys(void);
#endif
