/* gw_config.c: the gateway's settings from the system config, and its secret key. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "evs_keys.h"
#include "gw_config.h"
#include "svc.h"

static const char *const s_names[GW_SVC_COUNT] = {"account", "order", "identification",
                                                  "production", "revocation"};

const char *gw_svc_name(gw_svc_t svc)
{
    return (unsigned) svc < GW_SVC_COUNT ? s_names[svc] : NULL;
}

static const char *s_get(zconfig_t *config, const char *key, const char *dflt)
{
    char path[128];
    snprintf(path, sizeof path, "gateway/%s", key);
    return config ? zconfig_get(config, path, dflt) : dflt;
}

/* An integer setting within [lo, hi]; -1 (and a log line) when it is not one. */
static long s_int(zconfig_t *config, const char *key, const char *dflt, long lo, long hi)
{
    const char *v = s_get(config, key, dflt);
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

/* Loads the key, creating it (0600, fresh randomness) on first start. */
static int s_secret(const char *path, uint8_t *secret)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, secret, GW_SECRET_SIZE);
        close(fd);
        if (n != GW_SECRET_SIZE) {
            zsys_error("%s: not a %d-byte key", path, GW_SECRET_SIZE);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        zsys_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    s_mkdirs_for(path);
    randombytes_buf(secret, GW_SECRET_SIZE);
    char tmp[620];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && write(fd, secret, GW_SECRET_SIZE) == GW_SECRET_SIZE && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        zsys_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
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
    long port = s_int(config, "port", "8080", 0, 65535);
    long threads = s_int(config, "threads", "4", 1, 256);
    long body = s_int(config, "body_max", "65536", 1024, 64L * 1024 * 1024);
    long url = s_int(config, "url_max", "2048", 64, 65536);
    long header = s_int(config, "header_max", "32768", 8192, 1024L * 1024);
    long conn_to = s_int(config, "conn_timeout_s", "30", 1, 3600);
    long per_ip = s_int(config, "per_ip_max", "64", 1, 65535);
    long to = s_int(config, "timeout_ms", "2000", 10, 600000);
    long slow = s_int(config, "slow_timeout_ms", "5000", 10, 600000);
    long ready = s_int(config, "ready_timeout_ms", "500", 10, 60000);
    long down = s_int(config, "down_ms", "1000", 0, 600000);
    long cache = s_int(config, "session_cache_ms", "2000", 0, 60000);
    long secure = s_int(config, "cookie_secure", "1", 0, 1);
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
    if (s_copy(out->listen, sizeof out->listen, "listen", s_get(config, "listen", "127.0.0.1")) ||
        s_copy(out->public_origin, sizeof out->public_origin, "public_origin",
               s_get(config, "public_origin", "http://localhost:8080")) ||
        s_copy(out->web_root, sizeof out->web_root, "web_root",
               s_get(config, "web_root", "gateway/web")) ||
        s_copy(out->trusted_proxy, sizeof out->trusted_proxy, "trusted_proxy",
               s_get(config, "trusted_proxy", "")))
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
    if (s_services(s_get(config, "services",
                         "account,order,identification,production,revocation"),
                   out))
        return -1;
    for (int i = 0; i < GW_SVC_COUNT; i++)
        svc_endpoint(config, s_names[i], "router", out->endpoint[i], sizeof out->endpoint[i]);
    /* every call to a service goes out with the gateway's key, to the service's key */
    const char *keys = svc_keys_dir(config);
    out->cert = evs_keys_load_secret(keys, "gateway");
    if (!out->cert)
        return -1;
    for (int i = 0; i < GW_SVC_COUNT; i++)
        if (out->ready_check[i] && evs_keys_public(keys, s_names[i], out->server_key[i]) != 0) {
            zsys_error("gateway: no public key of %s in %s (tpctl keys init)", s_names[i], keys);
            return -1;
        }
    char keyfile[600];
    const char *kf = s_get(config, "secret_file", NULL);
    if (kf)
        snprintf(keyfile, sizeof keyfile, "%s", kf);
    else {
        char dir[512];
        svc_data_dir(config, "gateway", dir, sizeof dir);
        snprintf(keyfile, sizeof keyfile, "%s/secret.key", dir);
    }
    return s_secret(keyfile, out->secret);
}
