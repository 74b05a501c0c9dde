/* evs_js_internal.h: what the replicated log's files share (not for users of evs_js.h).
 *
 * The module is files by job around this header: evs_js.c (the connection, errors, the
 * self-test), evs_js_log.c (the stream: its configuration, appends, reads) and
 * evs_js_lease.c (the lease bucket). What one lends the others is named evs_jsi_. */
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

#endif
