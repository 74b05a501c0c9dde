/* revocation_test.h: the harness of the revocation core's unit tests: the core with an
 * in-memory log, driven as the runtime drives it, and the fixtures the tests share. */
#ifndef REVOCATION_TEST_H
#define REVOCATION_TEST_H
#include <stdio.h>
#include <string.h>
#include "account.pb-c.h"
#include "order.pb-c.h"
#include "production.pb-c.h"
#include "revocation.h"
#include "revocation.pb-c.h"

/** Checks that failed so far. */
extern int rtest_failed;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "revocation_test: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            rtest_failed++;                                                                        \
        }                                                                                          \
    } while (0)

#define T0            1700000000000000LL
#define SEC           1000000LL
#define RTEST_LOG_MAX 1024

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

/* One event as written to the log, kept to rebuild a state from it. */
typedef struct {
    char *type;
    char *stream;
    uint8_t *payload;
    size_t len;
    uint64_t version;
    int64_t at_us;
} rtest_logged_t;

/* A core with its log, as the runtime drives it: each accepted output (or refusal with
 * kept events) is "committed" (stream versions counted, time stamped) and applied before
 * the next input. */
typedef struct {
    void *state;
    svc_out_t *out;
    zhashx_t *versions; /* stream -> version (stored in the pointer) */
    rtest_logged_t log[RTEST_LOG_MAX];
    size_t n_log;
    int64_t now;
    uint64_t up_seq;         /* upstream seq */
    uint32_t commands;       /* commands run: seeds each command's random bytes */
    const char *client_addr; /* header.client_addr of the next commands */
} rtest_world_t;

/** A fresh world: empty state and log, clock at T0, processing delay 60 s, alarm after
 *  600 s, client address "198.51.100.7". */
void rtest_init(rtest_world_t *w);
void rtest_fini(rtest_world_t *w);
/** A fresh state rebuilt from the world's log (a restart); the caller destroys it. */
void *rtest_rebuild(rtest_world_t *w);
/** Replaces the world's state by one rebuilt from its log. */
void rtest_restart(rtest_world_t *w);
/** Feeds an upstream event to react; returns the number of events it produced (committed). */
size_t rtest_up(rtest_world_t *w, const char *upstream, const ProtobufCMessage *msg);
/** Runs a command's decide (not lookup/prepare) or a query as @p role / @p account; the
 *  result stays in w->out. */
svc_out_t *rtest_do(rtest_world_t *w, const char *name, const char *role, const char *account,
                    const ProtobufCMessage *body);
/** Runs tick at w->now; the result (committed) stays in w->out. */
svc_out_t *rtest_tick(rtest_world_t *w);
/** The command of the table called @p name. */
const svc_command_t *rtest_cmd(const char *name);
/** True when @p out has this error (field NULL = none). */
bool rtest_err(svc_out_t *out, const char *code, const char *field);
/** Refused with this error (among others) and nothing written. */
bool rtest_refused(svc_out_t *out, const char *code, const char *field);
/** Refused with this error, and its events kept (a recorded refusal). */
bool rtest_recorded(svc_out_t *out, const char *code);
/** The message of the first error ("" when none). */
const char *rtest_message(svc_out_t *out);
/** Event @p i: its type ("" when none), or decoded (free with rtest_free). */
const char *rtest_event_type(svc_out_t *out, size_t i);
ProtobufCMessage *rtest_event(svc_out_t *out, size_t i, const ProtobufCMessageDescriptor *desc);
/** The reply, decoded (free with rtest_free), or NULL. */
ProtobufCMessage *rtest_reply(svc_out_t *out, const ProtobufCMessageDescriptor *desc);
void rtest_free(void *msg);
/** Lines @p out asked to log at @p level; with @p needle: those containing it. */
size_t rtest_logs(svc_out_t *out, char level, const char *needle);

/** Upstream facts. */
size_t rtest_order(rtest_world_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *hash);
size_t rtest_certificates(rtest_world_t *w, const char *order, const char *serial1,
                          const char *serial2);
size_t rtest_produced(rtest_world_t *w, const char *order, const char *card);
size_t rtest_shipped(rtest_world_t *w, const char *order);
size_t rtest_officer(rtest_world_t *w, const char *account, const char *shop, bool appoint);
/** An order placed, its certificates (serials "<order>-S1", "<order>-S2"), card
 *  "<card>", shipped: product "prd-<order>" can be revoked. */
void rtest_product(rtest_world_t *w, const char *order, const char *account, const char *shop,
                   const char *type, const char *card);
/**
 * The history most tests start from: TP-2026-000001 signature card of acc-anna (no shop,
 * card 4711 0001), TP-2026-000002 seal card of acc-bert in shop-a (card 4711 0002),
 * TP-2026-000003 signature card of acc-bert in shop-a (card 4711 0003), TP-2026-000004
 * seal card of acc-cora in shop-b (card 4711 0004), TP-2026-000005 signature card of
 * acc-anna, placed but not shipped; officers acc-oa (shop-a), acc-ob (shop-b), acc-rev
 * (shop-a, revoked). All with RTEST_PASSWORD.
 */
void rtest_seed(rtest_world_t *w);

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
#endif
