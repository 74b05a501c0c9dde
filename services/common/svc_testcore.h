/* svc_testcore.h: what the services' core tests share: a core under test, driven as the
 * runtime drives it, what its outputs say, the CHECK macro and the test runner.
 *
 * A core is a table of pure functions (svc.h), so its unit tests need no runtime: a
 * svc_tc_t holds one svc_def_t with its state, a clock, the secret and random bytes a
 * command sees, and one output (svc_out_t) reused for every input. An input is a command
 * decided by name from the core's table (its body type checked) as a role and account,
 * an upstream event for react, a tick, or a mail the runtime sent. Its events are then
 * committed as the runtime would after writing them: stream versions counted, stamped
 * with the time, applied to the state and kept in a log, from which svc_tc_rebuild makes
 * a state again (a restart, a replay check). A refusal commits nothing unless it keeps
 * its events (svc_out_keep_events), a query never.
 *
 * By default every input is committed at once. After svc_tc_hold(tc, true) the output
 * waits for svc_tc_commit, so that a test can look at what was decided first, or decide
 * again against the same state.
 *
 *     svc_tc_t *tc = svc_tc_new(&order_def);
 *     svc_tc_decide(tc, "CreateShop", "customer", "acc-a", &cs.base);
 *     CHECK(svc_tc_refused(svc_tc_out(tc), "forbidden", NULL));
 *     svc_tc_destroy(&tc);
 *
 * Not for daemons: linked by tests only (the svc_testkit library, with svc_testkit.h).
 */
#ifndef SVC_TESTCORE_H
#define SVC_TESTCORE_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "svc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ checks and runner */

/** Counts a check; a false one is a failure, reported on stderr as
 *  "<program>: FILE:LINE: check failed: EXPR". Execution goes on. */
#define CHECK(c) svc_tc_check((c) ? true : false, __FILE__, __LINE__, #c)

/** @brief What CHECK calls. @return @p ok */
bool svc_tc_check(bool ok, const char *file, int line, const char *expr);

/** @brief The checks made and the failed ones so far (this process). */
int svc_tc_checks(void);
int svc_tc_failures(void);

/** @brief True with -v: tests may print more, and the runtime's log goes to stderr. */
bool svc_tc_verbose(void);

/** One test of a program. */
typedef struct {
    const char *name; /**< `--test NAME` runs this one */
    void (*run)(void);
    const char *group; /**< `--test GROUP` runs every test of the group (NULL: none) */
} svc_tc_test_t;

/** A test program. */
typedef struct {
    const char *name;           /**< the program's name, e.g. "order_test" */
    const svc_tc_test_t *tests; /**< in the order they run, ended by {NULL} */
    void (*setup)(void);        /**< before the first test (NULL: none) */
    void (*teardown)(void);     /**< after the last (NULL: none) */
} svc_tc_suite_t;

/**
 * @brief A test program's main(): `--test NAME` runs the tests of that name or group (none:
 * all), `-v` is verbose; zsys is initialised and, unless verbose, its log silenced; then
 * setup, the tests in table order, teardown, and "<name>: OK|FAILED (N checks)" on stdout.
 * Tests of one group may depend on each other's state when run together.
 * @return the exit code: 0, or 1 when a check failed or no test matched
 */
int svc_tc_main(int argc, char **argv, const svc_tc_suite_t *suite);

/* ------------------------------------------------------------------ the core under test */

typedef struct _svc_tc_t svc_tc_t;

/**
 * @brief A core under test: a fresh state of @p def (not configured: see svc_tc_configure),
 * an empty log, the clock at 0 without step, the secret {1, 0, ...}, the random bytes
 * {2, 0, ...} for every command, no client address, every input committed at once.
 * @return the core, or NULL when out of memory
 */
svc_tc_t *svc_tc_new(const svc_def_t *def);

/** @brief Destroys the state (a check that state_destroy set it to NULL), the output and the
 *  log. Safe twice. */
void svc_tc_destroy(svc_tc_t **self_p);

/** @brief The state under test (borrowed; replaced by svc_tc_set_state and svc_tc_restart). */
void *svc_tc_state(svc_tc_t *self);

/** @brief Puts @p state under test (the core owns it now; NULL: none until the next call).
 *  @return the state before (the caller owns it). */
void *svc_tc_set_state(svc_tc_t *self, void *state);

/** @brief The output of the last input, the same object for the core's whole life. */
svc_out_t *svc_tc_out(svc_tc_t *self);

/** @brief Configures the state as the runtime does at start (svc_def_t.configure with the
 *  config in @p config_p, which the core takes; NULL or a NULL config: none, the
 *  defaults), and so each state svc_tc_rebuild makes from now on. */
void svc_tc_configure(svc_tc_t *self, zconfig_t **config_p);

/** @brief Every input with the outputs waiting for svc_tc_commit (@p hold true), or
 *  committed at once (false, the default). */
void svc_tc_hold(svc_tc_t *self, bool hold);

/* The clock. Decide sees it as ctx.now_us, tick and mail_sent as now_us, react as the
 * event's recorded_at_us. Committed events are stamped with it plus the step (the moment
 * the runtime writes them); after a tick the clock stays where it was, after any other
 * input that commits it stands at that moment. */

/** @brief The clock's time (µs since the epoch). */
int64_t svc_tc_now(const svc_tc_t *self);
/** @brief Sets the clock, or moves it on by @p us. */
void svc_tc_set_now(svc_tc_t *self, int64_t now_us);
void svc_tc_advance(svc_tc_t *self, int64_t us);
/** @brief The test's own variable as the clock (borrowed; it must outlive the core): read at
 *  each input, moved on by the step. NULL: the core's own again. */
void svc_tc_use_clock(svc_tc_t *self, int64_t *now_us);
/** @brief How far the clock moves with each commit but a tick's (0: it stands still, the
 *  default). */
void svc_tc_set_step(svc_tc_t *self, int64_t us);

/* What a command sees besides its body. */

/** How the random bytes (svc_ctx_t.random) change from one command to the next. */
typedef enum {
    SVC_TC_RANDOM_FIXED,   /**< not at all: as svc_tc_random leaves them (the default) */
    SVC_TC_RANDOM_COUNTED, /**< 0xa5 bytes with the number of commands decided at their
                                start: distinct and the same in every run */
    SVC_TC_RANDOM_FRESH    /**< fresh from libsodium's randombytes_buf */
} svc_tc_random_t;

/** @brief The service's secret and the random bytes of the next command (SVC_SECRET_SIZE
 *  bytes each; the test may write them). */
uint8_t *svc_tc_secret(svc_tc_t *self);
uint8_t *svc_tc_random(svc_tc_t *self);
void svc_tc_set_random(svc_tc_t *self, svc_tc_random_t how);

/** @brief The header's client address for the next commands (borrowed; NULL: none). */
void svc_tc_set_client(svc_tc_t *self, const char *client_addr);

/* Inputs. Each resets the output first. */

/** @brief Command @p name of the core's table, or NULL. */
const svc_command_t *svc_tc_command(const svc_tc_t *self, const char *name);

/**
 * @brief Decides command or query @p name with @p body as @p role and @p account (NULL:
 * empty) at the clock's time, and commits it unless held. A name not in the table or a body
 * of another type than the command's is a failed check, and nothing is decided.
 * @return the output
 */
svc_out_t *svc_tc_decide(svc_tc_t *self, const char *name, const char *role, const char *account,
                         const ProtobufCMessage *body);

/**
 * @brief A command that must be accepted: svc_tc_decide, a check that it was not refused
 * (its errors on stderr when it was), and its commit even when held.
 * @return the number of events it wrote
 */
size_t svc_tc_do(svc_tc_t *self, const char *name, const char *role, const char *account,
                 const ProtobufCMessage *body);

/**
 * @brief What the runtime does before decide for a command with a slow step: its lookup on
 * the state (when it has one; as a visitor from the client address of svc_tc_set_client, at
 * the clock's time), then its prepare, which changes @p body in place (errors go to the
 * output). A name not in the table or without prepare is a failed check.
 * @return prepare's result: 0, or -1 when it refused
 */
int svc_tc_prepare(svc_tc_t *self, const char *name, ProtobufCMessage *body);

/**
 * @brief Feeds react the upstream event @p event from service @p upstream, as event type
 * @p type (NULL: the message's own type), at the clock's time; commits unless held.
 * @return the number of events in the output (0 when refused and nothing kept)
 */
size_t svc_tc_react(svc_tc_t *self, const char *upstream, const char *type,
                    const ProtobufCMessage *event);
/** @brief The same with a payload as it is (e.g. one that does not decode). */
size_t svc_tc_react_raw(svc_tc_t *self, const char *upstream, const char *type,
                        const uint8_t *payload, size_t len);

/** @brief The account service appoints (@p appoint) or revokes officer @p account of shop
 *  @p shop: svc_tc_react with its OfficerAppointed or OfficerRevoked, for the cores that
 *  follow officers (svc_officers.h). @return as svc_tc_react */
size_t svc_tc_officer(svc_tc_t *self, const char *account, const char *shop, bool appoint);

/** @brief Runs tick at the clock's time; commits unless held. @return the output */
svc_out_t *svc_tc_tick(svc_tc_t *self);

/** @brief The mails the core wants sent now (svc_def_t.mails_pending with the secret), at
 *  most @p max into @p mails; the caller frees each body. @return how many */
size_t svc_tc_mails(svc_tc_t *self, svc_mail_t *mails, size_t max);

/** @brief The runtime sent mail @p mail_id: the core's event for it (svc_def_t.mail_sent) at
 *  the clock's time; committed unless held. @return the output */
svc_out_t *svc_tc_mail_sent(svc_tc_t *self, const char *mail_id);

/** @brief Commits the last input's output (once; nothing for a query, nor for a refusal that
 *  keeps no events). @return the number of events applied */
size_t svc_tc_commit(svc_tc_t *self);

/* The log of what was committed. */

/** @brief How many events were committed, and event @p i of them (0 first; pointers valid
 *  while the core lives). @return 0, or -1 when there is no event @p i */
size_t svc_tc_log_size(const svc_tc_t *self);
int svc_tc_log_at(const svc_tc_t *self, size_t i, const char **type, const char **stream,
                  const uint8_t **payload, size_t *len);

/** @brief Applies the log to @p state (a fresh one, configured as the test wants). */
void svc_tc_replay(const svc_tc_t *self, void *state);

/** @brief A fresh state configured as svc_tc_configure said, with the log applied (the
 *  caller destroys it with the core's state_destroy). */
void *svc_tc_rebuild(const svc_tc_t *self);

/** @brief A restart: the state under test replaced by svc_tc_rebuild's. */
void svc_tc_restart(svc_tc_t *self);

/* What an output says (any svc_out_t, e.g. svc_tc_out's). */

/** @brief True when @p out holds an error with @p code on @p field (NULL or "": none). */
bool svc_tc_has_error(const svc_out_t *out, const char *code, const char *field);

/** @brief Refused with that error (among others) and no event: nothing would be written. */
bool svc_tc_refused(const svc_out_t *out, const char *code, const char *field);

/** @brief Refused with that error and its events kept: a recorded refusal. */
bool svc_tc_recorded(const svc_out_t *out, const char *code, const char *field);

/** @brief Accepted with exactly @p n_events events. */
bool svc_tc_accepted(const svc_out_t *out, size_t n_events);

/** @brief The message of the first error ("" when none). */
const char *svc_tc_message(const svc_out_t *out);

/** @brief Event @p i's type and stream ("" when there is no event @p i). */
const char *svc_tc_type(const svc_out_t *out, size_t i);
const char *svc_tc_stream(const svc_out_t *out, size_t i);

/** @brief How many events of type @p type @p out holds. */
size_t svc_tc_count(const svc_out_t *out, const char *type);

/** @brief Event @p i decoded as @p desc, or NULL when there is none or it is of another
 *  type or does not decode. Free with svc_tc_free. */
void *svc_tc_event(const svc_out_t *out, size_t i, const ProtobufCMessageDescriptor *desc);

/** @brief The reply decoded as @p desc, or NULL when there is none or it does not decode.
 *  Free with svc_tc_free. */
void *svc_tc_reply(const svc_out_t *out, const ProtobufCMessageDescriptor *desc);

/** @brief Frees a message of svc_tc_event or svc_tc_reply; NULL is fine. */
void svc_tc_free(void *msg);

/** @brief How many lines @p out asked to log at @p level ('E', 'W', 'I'); with @p needle,
 *  only those containing it. */
size_t svc_tc_logs(const svc_out_t *out, char level, const char *needle);

#ifdef __cplusplus
}
#endif
#endif
