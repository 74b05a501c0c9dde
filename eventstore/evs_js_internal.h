/* evs_js_internal.h: what the replicated log's files share (not for users of evs_js.h).
 *
 * The module is files by job around this header: evs_js.c (the connection, errors, the
 * self-test), evs_js_log.c (the stream: its configuration, appends, reads),
 * evs_js_lease.c (the lease bucket) and evs_js_vault.c (the keys' stream, evs_js_vault.h).
 * What one lends the others is named evs_jsi_. */
#ifndef EVS_JS_INTERNAL_H
#define EVS_JS_INTERNAL_H

#include <nats/nats.h>
#include <stdarg.h>
#include "evs_js.h"

/* Header names JetStream reads (nats-server's stream.go; libnats's js.h). */
#define EVS_JSI_MSG_ID      "Nats-Msg-Id"
#define EVS_JSI_EXPECT_LAST "Nats-Expected-Last-Sequence"

struct _evs_js_t {
    natsConnection *nc;    /* the connection; libnats keeps it up */
    jsCtx *js;             /* its JetStream context */
    int timeout_ms;        /* each request and acknowledgement */
    int replicas;          /* of the streams and the bucket we create */
    int64_t dup_window_ns; /* of the streams we create */
};

/* Sets this thread's error text ("what: why") and returns @p code. */
int evs_jsi_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The code for what libnats returned (@p s not NATS_OK), with jerr JetStream's error code
 * (0: none); nothing else is touched. */
int evs_jsi_code(natsStatus s, jsErrCode jerr);

/* The code for what libnats returned (0 for NATS_OK), with jerr the JetStream error code
 * of the answer (0: none); on failure sets the error text from @p what and libnats's
 * last error of this thread. */
int evs_jsi_status(natsStatus s, jsErrCode jerr, const char *what);

/* The sequence in libnats's last error of this thread when it is JetStream's "wrong last
 * sequence: N" (0 otherwise). Read it before another libnats call. */
uint64_t evs_jsi_wrong_last(void);

/* Whether @p s is 1..EVS_JS_MAX_NAME bytes of [a-z0-9_-] (a service), or of
 * [A-Za-z0-9_.-] (a writer or instance id). */
bool evs_jsi_service_ok(const char *s);
bool evs_jsi_id_ok(const char *s);

/* The configuration common to our streams, for stream @p name with the one subject
 * @p subject (kept in @p subjects, an array of one): file storage, the replicas of the
 * connection, retention by limits and no limit, discard new, no purge, no roll-up, no
 * direct reads. The caller sets the rest (description, deletes, per-subject limit). */
void evs_jsi_stream_config(evs_js_t *js, jsStreamConfig *cfg, const char *name, const char *subject,
                           const char **subjects);

/* The first setting of a stream found (@p c) that breaks what evs_jsi_stream_config()
 * sets, in a way that could lose messages, or NULL. */
const char *evs_jsi_stream_wrong(evs_js_t *js, const jsStreamConfig *c, const char *subject);

/* The reason a stream found (its configuration @p found) is not what the opener wants, or
 * NULL when it is. */
typedef const char *(evs_jsi_check_fn) (const jsStreamConfig *found, const void *arg);

/* Looks up stream cfg->Name, creates it from @p cfg when it is missing and @p flags has
 * EVS_JS_CREATE (another creating it at the same moment is fine), and checks the one found
 * with @p wrong: 0, EVS_MISMATCH (the reason in the error text), EVS_NOTFOUND, or the codes
 * of evs_jsi_status(). In evs_js_log.c. */
int evs_jsi_stream_open(evs_js_t *js, jsStreamConfig *cfg, unsigned flags, evs_jsi_check_fn *wrong,
                        const void *arg);

/* "<prefix><SERVICE>": the service's name in capitals after @p prefix ("TP_ORDER"). */
void evs_jsi_stream_name(char *out, size_t outsz, const char *prefix, const char *service);

/* What the leader of stream @p stream says of it (evs_js_log_info()). */
int evs_jsi_stream_info(evs_js_t *js, const char *stream, evs_js_info_t *info);

#endif
