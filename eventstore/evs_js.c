/* evs_js.c: the replicated log's connection to a JetStream cluster, its errors, and the
 * self-test of what needs no server (the stream is evs_js_log.c, the lease evs_js_lease.c). */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "evs_bus.h"
#include "evs_check.h"
#include "evs_js_internal.h"

/* This thread's last failure (evs_js_error()). */
static _Thread_local char s_error[400];

/* Most servers in opts->servers. */
#define S_MAX_SERVERS 32

const char *evs_js_strerror(int err)
{
    switch (err) {
    case EVS_JS_UNAVAILABLE:
        return "JetStream unavailable (no server, no leader, no responders)";
    case EVS_JS_TIMEOUT:
        return "no answer from JetStream in time (outcome unknown)";
    case EVS_JS_AUTH:
        return "refused by the NATS servers (credentials, TLS or permission)";
    case EVS_JS_TOO_BIG:
        return "group larger than the servers' max payload";
    case EVS_JS_SERVER:
        return "JetStream refused the request";
    default:
        return evs_strerror(err);
    }
}

const char *evs_js_error(void)
{
    return s_error;
}

int evs_jsi_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_error, sizeof s_error, fmt, ap);
    va_end(ap);
    return code;
}

int evs_jsi_code(natsStatus s, jsErrCode jerr)
{
    int code;
    switch (s) {
    case NATS_TIMEOUT:
    case NATS_CONNECTION_DISCONNECTED: /* a request in flight when the link dropped */
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION: /* the link died: what was sent is unknown */
        code = EVS_JS_TIMEOUT;
        break;
    case NATS_NO_RESPONDERS:
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_NOT_YET_CONNECTED:
        code = EVS_JS_UNAVAILABLE;
        break;
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED:
    case NATS_SSL_ERROR:
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED:
        code = EVS_JS_AUTH;
        break;
    case NATS_NOT_FOUND:
        code = EVS_NOTFOUND;
        break;
    case NATS_MAX_PAYLOAD:
        code = EVS_JS_TOO_BIG;
        break;
    case NATS_INVALID_ARG:
        code = EVS_INVALID;
        break;
    case NATS_NO_MEMORY:
        code = -ENOMEM;
        break;
    default:
        switch (jerr) {
        case JSStreamWrongLastSequenceErr:
            code = EVS_CONFLICT;
            break;
        case JSStreamNotFoundErr:
        case JSNoMessageFoundErr:
        case JSSequenceNotFoundErr:
            code = EVS_NOTFOUND;
            break;
        case JSClusterNotAvailErr:
        case JSClusterNotLeaderErr:
        case JSStreamOfflineErr:
        case JSInsufficientResourcesErr:
            code = EVS_JS_UNAVAILABLE;
            break;
        case JSStreamMessageExceedsMaximumErr:
            code = EVS_JS_TOO_BIG;
            break;
        default:
            code = EVS_JS_SERVER;
            break;
        }
    }
    return code;
}

int evs_jsi_status(natsStatus s, jsErrCode jerr, const char *what)
{
    if (s == NATS_OK)
        return 0;
    int code = evs_jsi_code(s, jerr);
    const char *text = nats_GetLastError(NULL);
    const char *cut = text && text[0] == '(' ? strstr(text, "): ") : NULL;
    if (cut) /* libnats's "(js.c:535): " before the server's words */
        text = cut + 3;
    if (jerr)
        evs_jsi_fail(code, "%s: %s (JetStream %d)", what,
                     text && *text ? text : natsStatus_GetText(s), (int) jerr);
    else
        evs_jsi_fail(code, "%s: %s", what, text && *text ? text : natsStatus_GetText(s));
    return code;
}

uint64_t evs_jsi_wrong_last(void)
{
    static const char prefix[] = "wrong last sequence: ";
    const char *text = nats_GetLastError(NULL);
    const char *at = text ? strstr(text, prefix) : NULL;
    if (!at)
        return 0;
    return strtoull(at + sizeof prefix - 1, NULL, 10);
}

static bool s_name_ok(const char *s, bool upper_and_dot)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > EVS_JS_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                  (upper_and_dot && ((c >= 'A' && c <= 'Z') || c == '.'));
        if (!ok)
            return false;
    }
    return true;
}

bool evs_jsi_service_ok(const char *s)
{
    return s_name_ok(s, false);
}
bool evs_jsi_id_ok(const char *s)
{
    return s_name_ok(s, true);
}

/* ------------------------------------------------------------- the connection */

/* libnats's callbacks run on its own threads; zsys logs from any thread. */
static void s_on_disconnected(natsConnection *nc, void *arg)
{
    if (!natsConnection_IsClosed(nc)) /* not when evs_js_destroy() closes it */
        zsys_warning("jetstream: connection lost, reconnecting");
}

static void s_on_reconnected(natsConnection *nc, void *arg)
{
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    zsys_info("jetstream: reconnected to %s", url);
}

static void s_on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *arg)
{
    zsys_warning("jetstream: %s", natsStatus_GetText(err));
}

/* Splits "a, b,c" into @p out, the strings kept in @p buf; returns how many, or -1. */
static int s_split_servers(const char *list, char *buf, size_t bufsz, const char **out)
{
    if (strlen(list) >= bufsz)
        return -1;
    strcpy(buf, list);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (n == S_MAX_SERVERS)
            return -1;
        out[n++] = tok;
    }
    return n;
}

/* Every option on @p o; 0 or a code (the error text set). */
static int s_options(natsOptions *o, const evs_js_opts_t *opts, int timeout_ms)
{
    char buf[4096];
    const char *servers[S_MAX_SERVERS];
    int n = s_split_servers(opts->servers, buf, sizeof buf, servers);
    if (n <= 0)
        return evs_jsi_fail(EVS_INVALID, "connect: bad server list \"%s\"", opts->servers);
    int reconnect_wait = opts->reconnect_wait_ms > 0 ? opts->reconnect_wait_ms : 250;
    natsStatus s = natsOptions_SetServers(o, servers, n);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, timeout_ms);
    if (s == NATS_OK && opts->name)
        s = natsOptions_SetName(o, opts->name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, -1); /* forever: the cluster comes back */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, reconnect_wait);
    /* a server stopped (not closed) answers no pings: found lost after about 3 s, not
     * libnats's default of 2 minutes x 2 */
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(o, 1000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(o, 3);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(o, s_on_disconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(o, s_on_reconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(o, s_on_error, NULL);
    if (s != NATS_OK)
        return evs_jsi_status(s, 0, "connect: options");
    /* libnats reads them only once a server answers: say a missing one now */
    const char *files[2] = {opts->creds_file, opts->tls_ca};
    for (int i = 0; i < 2; i++)
        if (files[i] && access(files[i], R_OK) != 0)
            return evs_jsi_fail(EVS_INVALID, "connect: %s %s: %s",
                                i ? "TLS CA file" : "credentials file", files[i], strerror(errno));
    if (opts->creds_file) {
        s = natsOptions_SetUserCredentialsFromFiles(o, opts->creds_file, NULL);
        if (s != NATS_OK)
            return evs_jsi_status(s, 0, "connect: credentials file");
    }
    if (opts->tls_ca) {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK)
            s = natsOptions_LoadCATrustedCertificates(o, opts->tls_ca);
        if (s != NATS_OK)
            return evs_jsi_fail(EVS_INVALID, "connect: TLS CA file %s: %s", opts->tls_ca,
                                nats_GetLastError(NULL) ? nats_GetLastError(NULL)
                                                        : natsStatus_GetText(s));
    }
    return 0;
}

int evs_js_connect(const evs_js_opts_t *opts, evs_js_t **out)
{
    *out = NULL;
    if (!opts || !opts->servers || !*opts->servers)
        return evs_jsi_fail(EVS_INVALID, "connect: no servers");
    evs_js_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    self->replicas = opts->replicas > 0 ? opts->replicas : EVS_JS_REPLICAS;
    self->dup_window_ns =
        (int64_t) (opts->dup_window_ms > 0 ? opts->dup_window_ms : 120000) * 1000000;
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    int rc = s == NATS_OK ? s_options(o, opts, self->timeout_ms)
                          : evs_jsi_status(s, 0, "connect: options");
    if (rc != 0)
        goto fail;
    s = natsConnection_Connect(&self->nc, o);
    if (s != NATS_OK) {
        rc = evs_jsi_status(s, 0, "connect");
        if (rc == EVS_JS_TIMEOUT) /* no server answered: nothing is unknown here */
            rc = EVS_JS_UNAVAILABLE;
        goto fail;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = self->timeout_ms;
    s = natsConnection_JetStream(&self->js, self->nc, &jo);
    if (s != NATS_OK) {
        rc = evs_jsi_status(s, 0, "connect: JetStream context");
        goto fail;
    }
    natsOptions_Destroy(o); /* the connection keeps a copy */
    *out = self;
    return 0;
fail:
    natsOptions_Destroy(o);
    evs_js_destroy(&self);
    return rc;
}

void evs_js_destroy(evs_js_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_js_t *self = *self_p;
    jsCtx_Destroy(self->js);
    if (self->nc) {
        natsConnection_Close(self->nc);
        natsConnection_Destroy(self->nc);
    }
    free(self);
    *self_p = NULL;
}

bool evs_js_connected(evs_js_t *self)
{
    return natsConnection_Status(self->nc) == NATS_CONN_STATUS_CONNECTED;
}

int evs_js_wait_ready(evs_js_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    jsOptions jo;
    jsOptions_Init(&jo);
    for (;;) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            break;
        jo.Wait = left < 1000 ? left : 1000;
        jsAccountInfo *ai = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetAccountInfo(&ai, self->js, &jo, &jerr);
        jsAccountInfo_Destroy(ai);
        if (s == NATS_OK)
            return 0;
        evs_jsi_status(s, jerr, "wait for JetStream");
        if (deadline - zclock_mono() > 100)
            zclock_sleep(100);
    }
    return evs_jsi_fail(EVS_JS_UNAVAILABLE, "wait for JetStream: no answer within %d ms (%s)",
                        timeout_ms, s_error);
}

/* ------------------------------------------------------------------ self-test */

static int s_count_fn(const evs_record_t *rec, void *arg)
{
    uint64_t *seen = arg;
    if (rec->seq != 100 + seen[0] || rec->len != seen[0] * 3)
        return 1;
    seen[0]++;
    return 0;
}

int evs_js_test(bool verbose)
{
#define S_CHECK(cond) EVS_CHECK("evs_js", cond)
    evs_js_t *js = NULL;
    /* names */
    S_CHECK(evs_jsi_service_ok("order") && evs_jsi_service_ok("a_b-9"));
    S_CHECK(!evs_jsi_service_ok("") && !evs_jsi_service_ok(NULL));
    S_CHECK(!evs_jsi_service_ok("Order") && !evs_jsi_service_ok("or.der"));
    S_CHECK(!evs_jsi_service_ok("a b") && !evs_jsi_service_ok("a*") && !evs_jsi_service_ok("a>"));
    S_CHECK(evs_jsi_id_ok("order-A.host1") && !evs_jsi_id_ok("a:b") && !evs_jsi_id_ok("a b"));
    char longname[EVS_JS_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    S_CHECK(!evs_jsi_id_ok(longname));
    longname[EVS_JS_MAX_NAME] = '\0';
    S_CHECK(evs_jsi_id_ok(longname));

    /* a group's framing, read back record by record with their log sequences */
    uint8_t bytes[64];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t) (i * 7);
    evs_record_t recs[5];
    for (size_t i = 0; i < 5; i++)
        recs[i] = (evs_record_t){.seq = 0, .data = bytes, .len = i * 3};
    size_t size = evs_bus_events_size(recs, 5);
    S_CHECK(size == 5 * 4 + 30);
    uint8_t body[64];
    evs_bus_events_put(body, recs, 5);
    evs_js_group_t g = {.seq = 1, .first_seq = 100, .writer = "w", .body = body, .len = size};
    uint64_t seen[1] = {0};
    S_CHECK(evs_js_group_each(&g, s_count_fn, seen) == 0 && seen[0] == 5);
    g.len = size - 1; /* cut inside the last record */
    seen[0] = 0;
    S_CHECK(evs_js_group_each(&g, s_count_fn, seen) == EVS_CORRUPT);
    g.len = 0;
    S_CHECK(evs_js_group_each(&g, s_count_fn, seen) == 0);

    /* options and a cluster that is not there */
    S_CHECK(evs_js_connect(NULL, &js) == EVS_INVALID && !js);
    evs_js_opts_t opts = {.servers = " , "};
    S_CHECK(evs_js_connect(&opts, &js) == EVS_INVALID && !js);
    /* port 1: privileged, nobody listens there; refused at once */
    opts = (evs_js_opts_t){.servers = "nats://127.0.0.1:1", .timeout_ms = 500};
    int64_t t0 = zclock_mono();
    int rc = evs_js_connect(&opts, &js);
    S_CHECK(rc == EVS_JS_UNAVAILABLE && !js);
    S_CHECK(zclock_mono() - t0 < 3000);
    S_CHECK(strstr(evs_js_error(), "connect") != NULL);
    if (verbose)
        printf("evs_js: no server: %s (%s)\n", evs_js_strerror(rc), evs_js_error());
    opts.tls_ca = "/nonexistent/ca.pem";
    S_CHECK(evs_js_connect(&opts, &js) == EVS_INVALID && !js);
    opts.tls_ca = NULL;
    opts.creds_file = "/nonexistent/user.creds";
    S_CHECK(evs_js_connect(&opts, &js) == EVS_INVALID && !js);
    S_CHECK(strstr(evs_js_error(), "/nonexistent/user.creds") != NULL);
    evs_js_destroy(&js);
    evs_js_destroy(&js);

    /* every code has a name of its own */
    S_CHECK(strcmp(evs_js_strerror(EVS_JS_TIMEOUT), evs_js_strerror(EVS_JS_UNAVAILABLE)) != 0);
    S_CHECK(strcmp(evs_js_strerror(EVS_CONFLICT), evs_strerror(EVS_CONFLICT)) == 0);
    return 0;
fail:
    evs_js_destroy(&js);
    return -1;
#undef S_CHECK
}
