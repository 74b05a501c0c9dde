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

/** Sets `path = value` in the config (e.g. "beta/upstreams", "alpha"); rewrites the file. */
void th_set(th_t *self, const char *path, const char *value);

/** The data folder of service @p name. */
void th_data_dir(th_t *self, const char *name, char *out, size_t outsz);

/** The ROUTER endpoint of service @p name. */
void th_router(th_t *self, const char *name, char *out, size_t outsz);

/**
 * @brief Start a daemon (`exe -c CONFIG -n NAME`), stderr to logs/NAME.log (appended),
 * and wait until it answers "$status" (at most @p timeout_ms).
 * @return its pid, or -1 when it did not come up
 */
pid_t th_start(th_t *self, const char *exe, const char *name, int timeout_ms);

/** Sends @p sig to the daemon @p name and waits for it to end. */
void th_stop(th_t *self, const char *name, int sig);

/** True while the daemon @p name runs. */
bool th_running(th_t *self, const char *name);

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
#endif

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
} th_load_t;

/** Thread body for th_load_t (pthread signature). */
void *th_load_run(void *arg);

/** Starts a real SMTP server (Debian's python3-aiosmtpd) on a free loopback port,
 *  storing what it receives in the Maildir <dir>/maildir; stopped by th_destroy.
 *  Returns the port, or -1. */
int th_smtp_start(th_t *self);

/** Waits up to @p timeout_ms for a mail to @p to in the SMTP server's Maildir (or, when
 *  @p folder is not NULL, for an .eml file in that outbox folder) whose decoded text
 *  contains @p needle; returns the whole message with the body decoded (caller frees),
 *  or NULL. */
char *th_mail_wait(th_t *self, const char *folder, const char *to, const char *needle,
                   int timeout_ms);

/** Copies into @p out the first run of URL-safe token characters after @p marker in
 *  @p text (e.g. marker "token="); returns false when there is none. */
bool th_token_after(const char *text, const char *marker, char *out, size_t outsz);
