/* gw_config.h: the gateway's settings, read once at start from the system config.
 *
 * Keys live under `gateway/` in the system config (ZPL, the file given with -c); the
 * table gw_settings (gw_config.c) holds each one's default, range and meaning, and
 * `tpctl config defaults` prints them. Service endpoints come from the services' own
 * sections (svc_connect_endpoints(): `routers`/`pubs` when a service runs as several
 * instances, else `router`/`pub`).
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "svc_settings.h"

/** The services the gateway talks to; index into gw_config_t.endpoint. */
typedef enum {
    GW_SVC_ACCOUNT = 0,
    GW_SVC_ORDER,
    GW_SVC_IDENTIFICATION,
    GW_SVC_PRODUCTION,
    GW_SVC_REVOCATION,
    GW_SVC_COUNT
} gw_svc_t;

/** Size of the gateway's secret key. */
#define GW_SECRET_SIZE 32

/** The settings. Plain data, filled by gw_config_load(); read-only afterwards, so every
 *  thread may read it without a lock. */
typedef struct {
    char listen[64];                        /**< bind address */
    int port;                               /**< TCP port */
    int threads;                            /**< worker threads (>= 1) */
    char public_origin[256];                /**< e.g. "https://portal.example.org" */
    char trusted_proxy[64];                 /**< "" = none; else the proxy's address */
    bool cookie_secure;                     /**< Secure attribute on the session cookie */
    char web_root[512];                     /**< static files */
    size_t body_max;                        /**< bytes */
    size_t url_max;                         /**< bytes */
    size_t header_max;                      /**< MHD_OPTION_CONNECTION_MEMORY_LIMIT */
    unsigned conn_timeout_s;                /**< MHD_OPTION_CONNECTION_TIMEOUT */
    unsigned per_ip_max;                    /**< MHD_OPTION_PER_IP_CONNECTION_LIMIT */
    int timeout_ms;                         /**< one service call */
    int slow_timeout_ms;                    /**< calls that hash a password */
    int ready_timeout_ms;                   /**< readiness probe per service */
    int down_ms;                            /**< fail fast this long after a time-out */
    int session_cache_ms;                   /**< per-thread session cache lifetime */
    char endpoint[GW_SVC_COUNT][1024];      /**< ROUTER endpoint of each service, or those of
                                                 all its instances (comma-separated) */
    char pub_endpoint[GW_SVC_COUNT][1024];  /**< PUB endpoint(s) of each service (live
                                                 updates) */
    char keys_dir[512];                     /**< the keys folder */
    int sse_per_account;                    /**< live-update streams per account, */
    int sse_max;                            /**< and in all */
    int sse_keepalive_ms;                   /**< keep-alive comment period */
    size_t sse_history;                     /**< changes kept for resuming streams */
    unsigned conn_limit;                    /**< connections per worker daemon (set by
                                                 gw_config_fit from the file limit) */
    zcert_t *cert;                          /**< the gateway's own key (<keys>/gateway.secret):
                                                 every service call goes out with it */
    char server_key[GW_SVC_COUNT][41];      /**< each service's public key (Z85) */
    bool ready_check[GW_SVC_COUNT];         /**< probed by /readyz */
    uint8_t secret[GW_SECRET_SIZE];         /**< HMAC key (CSRF tokens, anonymous namespaces) */
} gw_config_t;

/** The gateway's settings (svc_settings.h): what its section may hold. */
extern const svc_setting_t gw_settings[];

/** @brief The service's name ("account", ...); NULL for an index out of range. */
const char *gw_svc_name(gw_svc_t svc);

/**
 * @brief Read the settings from @p config (may be NULL: all defaults) into @p out.
 * Loads or creates the secret key file, and loads the gateway's CURVE key and the public
 * keys of the services it calls from the keys folder (evs_keys.h).
 * @return 0, or -1 when a value is unusable or the key cannot be read or written (the
 *         reason is logged with zsys_error)
 */
int gw_config_load(zconfig_t *config, gw_config_t *out);

/**
 * @brief Fit the connection limits to the process's open-file limit (raised to its hard
 * limit first): each worker daemon takes its share of what is left after the service
 * sockets, and sse_max is lowered (with a warning) to three quarters of that, so that
 * live-update streams never crowd out the portal's requests.
 */
void gw_config_fit(gw_config_t *config);

/** @brief Free what gw_config_load() took (the key). Safe twice. */
void gw_config_free(gw_config_t *config);
#endif
