/* gw_config.c: the gateway's settings from the system config, and its secret key. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/resource.h>
#include "evs_keys.h"
#include "gw_config.h"
#include "svc.h"

static const char *const s_names[GW_SVC_COUNT] = {"account", "order", "identification",
                                                  "production", "revocation"};

const char *gw_svc_name(gw_svc_t svc)
{
    return (unsigned) svc < GW_SVC_COUNT ? s_names[svc] : NULL;
}

/* The gateway's settings, under `gateway/` in the system's config: defaults and ranges
 * are read from here (svc_settings.h; `tpctl config defaults` prints them). */
const svc_setting_t gw_settings[] = {
    {"listen", "127.0.0.1", SVC_SETTING_STRING, 0, 0,
     "Where the portal and the JSON API listen: address and TCP port."},
    {"port", "8080", SVC_SETTING_INT, 0, 65535, NULL},
    {"public_origin", "http://localhost:8080", SVC_SETTING_STRING, 0, 0,
     "The origin browsers use (behind a TLS proxy: https://portal.example.org)."},
    {"trusted_proxy", NULL, SVC_SETTING_STRING, 0, 0,
     "Behind a reverse proxy (deploy/nginx): its address; the client is then the last\n"
     "X-Forwarded-For entry. Without it the header is ignored."},
    {"cookie_secure", "1", SVC_SETTING_BOOL, 0, 1,
     "1: the session cookie is Secure; 0 only for plain-http development on localhost."},
    {"web_root", "gateway/web", SVC_SETTING_PATH, 0, 0, "The portal's files."},
    {"threads", "4", SVC_SETTING_INT, 1, 256,
     "Worker threads (each its own HTTP daemon and event loop)."},
    {"body_max", "65536", SVC_SETTING_INT, 1024, 64.0 * 1024 * 1024,
     "Largest request body, longest URI (bytes)."},
    {"url_max", "2048", SVC_SETTING_INT, 64, 65536, NULL},
    {"header_max", "32768", SVC_SETTING_INT, 8192, 1024 * 1024,
     "Memory per connection, for headers and buffers (bytes)."},
    {"conn_timeout_s", "30", SVC_SETTING_INT, 1, 3600, "Idle connection time-out (seconds)."},
    {"per_ip_max", "64", SVC_SETTING_INT, 1, 65535, "Connections at once per client address."},
    {"timeout_ms", "2000", SVC_SETTING_INT, 10, 600000,
     "Time-out of one service call, of calls that hash a password (ms)."},
    {"slow_timeout_ms", "5000", SVC_SETTING_INT, 10, 600000, NULL},
    {"ready_timeout_ms", "500", SVC_SETTING_INT, 10, 60000,
     "Time-out of the readiness probe (/readyz), per service (ms)."},
    {"down_ms", "1000", SVC_SETTING_INT, 0, 600000,
     "A service that timed out is treated as down this long (ms)."},
    {"session_cache_ms", "2000", SVC_SETTING_INT, 0, 60000,
     "How long a thread reuses a session it resolved (ms)."},
    {"sse_per_account", "8", SVC_SETTING_INT, 1, 1000,
     "Live-update streams (GET /api/v1/events) one account may keep open, and the\n"
     "gateway in all; more are refused (429, 503)."},
    {"sse_max", "10000", SVC_SETTING_INT, 1, 1000000, NULL},
    {"sse_keepalive_ms", "15000", SVC_SETTING_INT, 100, 600000,
     "A keep-alive comment goes to every open stream this often (ms); keep it below\n"
     "conn_timeout_s and the time-outs of proxies in front."},
    {"sse_history", "65536", SVC_SETTING_INT, 0, 100000000,
     "Order and product changes kept for streams that resume with Last-Event-ID; one\n"
     "that resumes from further back is told to reload (event \"reset\")."},
    {"services", "account,order,identification,production,revocation", SVC_SETTING_LIST, 0, 0,
     "The services /readyz probes."},
    {"secret_file", NULL, SVC_SETTING_PATH, 0, 0,
     "32-byte key for CSRF tokens and namespaces, made (0600) when missing\n"
     "(default secret.key in the gateway's folder, data below)."},
    {"data", NULL, SVC_SETTING_PATH, 0, 0,
     "The gateway's own folder, that of secret_file (default <data>/gateway)."},
    {NULL}};

/* A setting: `gateway/<key>`, else its default ("" when it has none). */
static const char *s_get(zconfig_t *config, const char *key)
{
    const svc_setting_t *s = svc_settings_find(gw_settings, key);
    assert(s);
    char path[128];
    snprintf(path, sizeof path, "gateway/%s", key);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    return v && *v ? v : s->dflt ? s->dflt : "";
}

/* An integer setting within its range; -1 (and a log line) when it is not one. */
static long s_int(zconfig_t *config, const char *key)
{
    const svc_setting_t *s = svc_settings_find(gw_settings, key);
    long lo = (long) s->min, hi = (long) s->max;
    const char *v = s_get(config, key);
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        zsys_error("gateway/%s = '%s': not a number in %ld..%ld", key, v, lo, hi);
        return -1;
    }
    return n;
}

static int s_copy(char *out, size_t outsz, const char *key, const char *v)
{
    if (strlen(v) >= outsz) {
        zsys_error("gateway/%s is longer than %zu bytes", key, outsz - 1);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

/* mkdir -p of the folder holding @p path. */
static void s_mkdirs_for(const char *path)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
}

/* Marks the services named in the comma-separated @p list for the readiness probe. */
static int s_services(const char *list, gw_config_t *out)
{
    char buf[256];
    if (strlen(list) >= sizeof buf) {
        zsys_error("gateway/services is too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int i = 0;
        while (i < GW_SVC_COUNT && strcmp(s_names[i], t) != 0)
            i++;
        if (i == GW_SVC_COUNT) {
            zsys_error("gateway/services: unknown service '%s'", t);
            return -1;
        }
        out->ready_check[i] = true;
    }
    return 0;
}

void gw_config_fit(gw_config_t *config)
{
    struct rlimit rl;
    size_t fds = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        fds = rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : (size_t) rl.rlim_cur;
    }
    size_t capacity = fds > 512 ? fds - 256 : 256;   /* service sockets, logs, files */
    int threads = config->threads > 0 ? config->threads : 1;
    config->conn_limit = (unsigned) (capacity / (size_t) threads);
    size_t room = capacity * 3 / 4;
    if ((size_t) config->sse_max > room) {
        zsys_warning("gateway: sse_max %d is more than the open-file limit %zu leaves room "
                     "for; %zu live-update streams at most (raise LimitNOFILE)",
                     config->sse_max, fds, room);
        config->sse_max = (int) room;
    }
}

void gw_config_free(gw_config_t *config)
{
    zcert_destroy(&config->cert);
}

int gw_config_load(zconfig_t *config, gw_config_t *out)
{
    memset(out, 0, sizeof *out);
    if (sodium_init() < 0) {
        zsys_error("libsodium does not initialize");
        return -1;
    }
    long port = s_int(config, "port");
    long threads = s_int(config, "threads");
    long body = s_int(config, "body_max");
    long url = s_int(config, "url_max");
    long header = s_int(config, "header_max");
    long conn_to = s_int(config, "conn_timeout_s");
    long per_ip = s_int(config, "per_ip_max");
    long to = s_int(config, "timeout_ms");
    long slow = s_int(config, "slow_timeout_ms");
    long ready = s_int(config, "ready_timeout_ms");
    long down = s_int(config, "down_ms");
    long cache = s_int(config, "session_cache_ms");
    long secure = s_int(config, "cookie_secure");
    long sse_acc = s_int(config, "sse_per_account"), sse_max = s_int(config, "sse_max");
    long sse_ka = s_int(config, "sse_keepalive_ms"), sse_hist = s_int(config, "sse_history");
    if (sse_acc < 0 || sse_max < 0 || sse_ka < 0 || sse_hist < 0)
        return -1;
    out->sse_per_account = (int) sse_acc;
    out->sse_max = (int) sse_max;
    out->sse_keepalive_ms = (int) sse_ka;
    out->sse_history = (size_t) sse_hist;
    if (port < 0 || threads < 0 || body < 0 || url < 0 || header < 0 || conn_to < 0 ||
        per_ip < 0 || to < 0 || slow < 0 || ready < 0 || down < 0 || cache < 0 || secure < 0)
        return -1;
    out->port = (int) port;
    out->threads = (int) threads;
    out->body_max = (size_t) body;
    out->url_max = (size_t) url;
    out->header_max = (size_t) header;
    out->conn_timeout_s = (unsigned) conn_to;
    out->per_ip_max = (unsigned) per_ip;
    out->timeout_ms = (int) to;
    out->slow_timeout_ms = (int) slow;
    out->ready_timeout_ms = (int) ready;
    out->down_ms = (int) down;
    out->session_cache_ms = (int) cache;
    out->cookie_secure = secure == 1;
    if (s_copy(out->listen, sizeof out->listen, "listen", s_get(config, "listen")) ||
        s_copy(out->public_origin, sizeof out->public_origin, "public_origin",
               s_get(config, "public_origin")) ||
        s_copy(out->web_root, sizeof out->web_root, "web_root", s_get(config, "web_root")) ||
        s_copy(out->trusted_proxy, sizeof out->trusted_proxy, "trusted_proxy",
               s_get(config, "trusted_proxy")))
        return -1;
    /* the origin is compared byte for byte with the Origin header: no trailing slash */
    size_t olen = strlen(out->public_origin);
    while (olen > 0 && out->public_origin[olen - 1] == '/')
        out->public_origin[--olen] = '\0';
    if (strncmp(out->public_origin, "http://", 7) != 0 &&
        strncmp(out->public_origin, "https://", 8) != 0) {
        zsys_error("gateway/public_origin '%s' is not an http(s) origin", out->public_origin);
        return -1;
    }
    if (s_services(s_get(config, "services"), out))
        return -1;
    for (int i = 0; i < GW_SVC_COUNT; i++)
        if (svc_connect_endpoints(config, s_names[i], "router", out->endpoint[i],
                                  sizeof out->endpoint[i]) != 0 ||
            svc_connect_endpoints(config, s_names[i], "pub", out->pub_endpoint[i],
                                  sizeof out->pub_endpoint[i]) != 0)
            return -1;
    /* every call to a service goes out with the gateway's key, to the service's key */
    const char *keys = svc_keys_dir(config);
    snprintf(out->keys_dir, sizeof out->keys_dir, "%s", keys);
    out->cert = evs_keys_load_secret(keys, "gateway");
    if (!out->cert)
        return -1;
    for (int i = 0; i < GW_SVC_COUNT; i++)   /* every one: the API calls them all */
        if (evs_keys_public(keys, s_names[i], out->server_key[i]) != 0) {
            zsys_error("gateway: no public key of %s in %s (tpctl keys init)", s_names[i], keys);
            return -1;
        }
    char keyfile[600];
    const char *kf = s_get(config, "secret_file");
    if (*kf)
        snprintf(keyfile, sizeof keyfile, "%s", kf);
    else {
        char dir[512];
        svc_data_dir(config, "gateway", dir, sizeof dir);
        snprintf(keyfile, sizeof keyfile, "%s/secret.key", dir);
    }
    s_mkdirs_for(keyfile);
    return svc_secret_load(keyfile, out->secret, sizeof out->secret);
}
