/* harness.h: integration-test harness: a temporary system folder, daemons started
 * as real processes, readiness checks, SIGKILL and restart, clean-up. */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "evs_bus.h"
#include "svc.h"

typedef struct _th_t th_t;

/** A fresh folder /tmp/tp-<name>-XXXXXX with data/, run/, logs/ and a config file. */
th_t *th_new(const char *name);

/** Kills every daemon still running, removes the folder (unless TP_KEEP is set). */
void th_destroy(th_t **self_p);

/** The folder, the config file path. */
const char *th_dir(th_t *self);
const char *th_config(th_t *self);

/** The keys folder (evs_keys.h), and a key made there (idempotent; 0 or -1). A daemon
 *  started with th_start() gets the key of its name. */
const char *th_keys(th_t *self);
int th_key(th_t *self, const char *stem);

/** A DEALER connected to service @p name's ROUTER with the key @p stem (for tests that
 *  send raw requests); NULL when a key is missing. */
zsock_t *th_dealer(th_t *self, const char *name, const char *stem);

/** Sets `path = value` in the config (e.g. "beta/upstreams", "alpha"); rewrites the file. */
void th_set(th_t *self, const char *path, const char *value);

/** The data folder of service @p name. */
void th_data_dir(th_t *self, const char *name, char *out, size_t outsz);

/** Where clients of service @p name connect: its ROUTER endpoint, or those of all its
 *  instances, comma-separated (svc_connect_endpoints; raw sockets: evs_bus_connect). */
void th_router(th_t *self, const char *name, char *out, size_t outsz);

/**
 * @brief Start a daemon (`exe -c CONFIG -n NAME`), stderr to logs/NAME.log (appended),
 * and wait until it answers "$status" (at most @p timeout_ms).
 * @return its pid, or -1 when it did not come up
 */
pid_t th_start(th_t *self, const char *exe, const char *name, int timeout_ms);

/**
 * @brief Start @p argv (argv[0] is the executable) as daemon @p name, stdout and stderr
 * to logs/NAME.log (appended), without waiting for it to be ready; th_stop() and
 * th_destroy() end it like the others. For daemons that are not services (the gateway).
 * @return its pid, or -1
 */
pid_t th_spawn(th_t *self, const char *name, char *const argv[]);

/** A free TCP port on 127.0.0.1 (bound and released: free at that moment), or -1. */
int th_free_port(void);

/** Sends @p sig to the daemon @p name and returns (SIGSTOP, SIGCONT: a pause). */
void th_signal(th_t *self, const char *name, int sig);

/** Sends @p sig to the daemon @p name and waits for it to end. */
void th_stop(th_t *self, const char *name, int sig);

/**
 * @brief Waits up to @p timeout_ms for the daemon @p name to end by itself.
 * @return its exit status (0-255), 128 + the signal that ended it, or -1 when it still
 * runs (it is left running) or there is no such daemon
 */
int th_wait_exit(th_t *self, const char *name, int timeout_ms);

/** True while the daemon @p name runs. */
bool th_running(th_t *self, const char *name);

/** The pid of daemon @p name (e.g. to pause it with SIGSTOP), or 0 when none. */
pid_t th_pid(th_t *self, const char *name);

/** One call to a service, waiting up to timeout_ms. NULL on time-out. */
Tp__Reply *th_call(th_t *self, const char *name, const char *request_id, const char *command,
                   const ProtobufCMessage *body, int timeout_ms);

/** The service's "$summary" JSON (caller frees), or NULL. */
char *th_summary(th_t *self, const char *name);

/** Runs a shell command; returns its exit status; its stdout into *out (caller frees) when out != NULL. */
int th_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The value of a string field "key":"..." or number "key":N in a flat JSON text (test helper). */
bool th_json_str(const char *json, const char *key, char *out, size_t outsz);

/** Environment variable or fail the test with a clear message. */
const char *th_env(const char *name);

/** Count of failed checks so far. */
extern int th_failed;
#define TH_CHECK(c)                                                                  \
    do {                                                                             \
        if (!(c)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);    \
            th_failed++;                                                             \
        }                                                                            \
    } while (0)

/** A pipelined load client (run it in a thread with th_load_run): sends `count`
 *  example.Increment commands with request ids "<prefix>-<i>", at most `inflight`
 *  unanswered at once; after `timeout_ms` without any reply it reconnects and
 *  resends every unanswered one with the same request id, until all are answered
 *  or `give_up_ms` passed. */
typedef struct {
    const char *endpoint;   /* in: the service's ROUTER */
    const char *prefix;     /* in: request id prefix, also the counter name prefix */
    int count;              /* in */
    int inflight;           /* in */
    int timeout_ms;         /* in */
    int give_up_ms;         /* in */
    uint64_t *acked_seq;    /* out: [count] last_seq of each answered request (0 = none) */
    volatile int acked;     /* out: answered so far */
    int replayed;           /* out: answers marked replayed */
    int resends;            /* out: requests sent again */
    int refused;            /* out: answers with ok = false */
    zcert_t *cert;          /* in: the key it sends with (th_load_keys); freed by the run */
    char server_z85[41];    /* in: the service's public key (th_load_keys) */
} th_load_t;

/** Gives @p l the key of operator-test and the public key of @p service from
 *  @p keys_dir (th_keys()). Returns 0, or -1 when a key is missing. */
int th_load_keys(th_load_t *l, const char *keys_dir, const char *service);

/** Thread body for th_load_t (pthread signature). */
void *th_load_run(void *arg);

/* Mail (harness_mail.c). */

/** Starts a real SMTP server (Debian's python3-aiosmtpd) on a free loopback port as the
 *  daemon "smtp", storing what it receives in the Maildir <dir>/maildir; stopped by
 *  th_destroy (or th_stop(self, "smtp", sig)). Returns the port, or -1. */
int th_smtp_start(th_t *self);

/** Starts the SMTP server again on @p port (th_smtp_start's), into the same Maildir,
 *  after th_stop. Returns the port, or -1 (also while it still runs). */
int th_smtp_restart(th_t *self, int port);

/** Waits up to @p timeout_ms for a mail to @p to in the SMTP server's Maildir (or, when
 *  @p folder is not NULL, for an .eml file in that outbox folder) whose decoded text
 *  contains @p needle; returns the whole message with the body decoded (caller frees),
 *  or NULL. */
char *th_mail_wait(th_t *self, const char *folder, const char *to, const char *needle,
                   int timeout_ms);

/** How many mails to @p to (NULL: any) whose decoded text contains @p needle (NULL: any)
 *  the SMTP server's Maildir holds now (or, when @p folder is not NULL, that outbox). */
int th_mail_count(th_t *self, const char *folder, const char *to, const char *needle);

/** Copies into @p out the first run of URL-safe token characters after @p marker in
 *  @p text (e.g. marker "token="); returns false when there is none. */
bool th_token_after(const char *text, const char *marker, char *out, size_t outsz);

/* ------------------------------------------------------------------ the domain services */

/** Who a call comes from: the header's actor_role, actor_account and client_addr
 *  (NULL = empty). th_call() is { "operator", NULL, NULL }. */
typedef struct {
    const char *role;
    const char *account;
    const char *client_addr;
    const char *key;        /**< the key's stem to send with; NULL: the role's (svc_testkit.h:
                                 "gateway" for "", customer and officer; operator-test,
                                 producer-test, ident-test) */
} th_actor_t;

/** One call as @p as; a fresh request id when @p request_id is NULL. NULL on time-out. */
Tp__Reply *th_call_as(th_t *self, const char *name, const th_actor_t *as, const char *request_id,
                      const char *command, const ProtobufCMessage *body, int timeout_ms);

/** Same with a body already serialized (junk, another command's bytes, huge ones). */
Tp__Reply *th_call_raw_as(th_t *self, const char *name, const th_actor_t *as,
                          const char *request_id, const char *command, const uint8_t *body,
                          size_t body_len, int timeout_ms);

/** The head seq of service @p name from "$status"; UINT64_MAX when it does not answer. */
uint64_t th_head(th_t *self, const char *name);

/** The executable of service @p name: $TP_ACCOUNT, $TP_ORDER, $TP_IDENTIFICATION,
 *  $TP_PRODUCTION or $TP_REVOCATION (anything else: $TP_EXAMPLE). */
const char *th_exe_of(const char *name);

/** Starts order, identification and account (each waited for). False when one did not. */
bool th_start_services(th_t *self, int timeout_ms);

/** SIGKILL service @p name, then start it again; false when it does not come back. */
bool th_restart(th_t *self, const char *name, int timeout_ms);

/** The "digest" of the service's "$summary" into @p out (>= 80 bytes); false when none. */
bool th_digest(th_t *self, const char *name, char *out, size_t outsz);

/** Waits until @p name has caught up with what is in flight: its digest stays the same
 *  for @p still_ms, and its checkpoint of every other daemon of this system it follows
 *  has reached that daemon's head. The digest into @p out. False on time-out. */
bool th_settle(th_t *self, const char *name, char *out, size_t outsz, int still_ms,
               int timeout_ms);

/** Checks (TH_CHECK) that `tpctl log replay` of @p name's folder gives the live digest,
 *  and that `tpctl log verify` passes. Retries while the live state moves. */
void th_check_replay(th_t *self, const char *name);

/** True when @p r is a refusal (ok = false) with an error of @p code (NULL: any) on
 *  @p field (NULL: any non-empty field). */
bool th_refused(const Tp__Reply *r, const char *code, const char *field);

/** One line about @p r on stderr (for the log of a failed check). */
void th_reply_log(const char *what, const Tp__Reply *r);

/** Frees a reply; sets *r_p to NULL; safe on NULL. */
void th_reply_free(Tp__Reply **r_p);
#endif
