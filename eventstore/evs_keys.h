/* evs_keys.h: the CURVE identities of trustportal's components, and who may connect.
 *
 * Every ZeroMQ socket a service binds (ROUTER, PUB) is a CURVE server; every client
 * (the gateway, tpctl, a producer line, a follower service) connects with a keypair of
 * its own. Nothing is plain text and there is no setting that turns this off.
 *
 * The keys folder (config `keys`, beside `data/`) holds one pair per identity:
 *
 *     <stem>.pub      the public certificate (zcert format), mode 0644
 *     <stem>.secret   the secret certificate (zcert format), mode 0600
 *     revoked/        pairs moved aside by `tpctl keys revoke`: never loaded
 *
 * The stem names the identity and its kind:
 *     gateway             the HTTP gateway
 *     operator-NAME       an operator (the back office, tpctl)
 *     producer-NAME       a production line (production facts)
 *     ident-NAME          an identification provider's feed (PostIdent results)
 *     anything else       the service instance of that name ("order", "account", ...)
 * A stem is 1-63 characters of [a-z0-9_-] (lowercase), starting with a letter or digit.
 *
 * A keyring (evs_keyring_t) is the set of public keys in one folder, reloaded when the
 * folder changes (a key added or revoked takes effect without a restart). The ZAP
 * handler (evs_zap_*) is one per process (ZeroMQ's "inproc://zeromq.zap.01"): each
 * server socket registers a domain with the keyring and a function that says whether
 * an identity may connect there. The handler answers with the client's public key as
 * ZAP User-Id, so every message received carries it ("User-Id" property) and the
 * receiver can look the sender up again at each message (a key revoked while
 * connected is refused from then on). Model: ZeroMQ RFC 26 (CurveZMQ) and 27 (ZAP).
 */
#ifndef EVS_KEYS_H
#define EVS_KEYS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest stem, with its NUL. */
#define EVS_KEYS_STEM_MAX 64
/** A Z85 public key, with its NUL. */
#define EVS_KEYS_Z85 41

/** The kinds of identity. */
typedef enum {
    EVS_PEER_NONE = 0,
    EVS_PEER_SERVICE,   /**< a service instance: reads and follows its upstreams */
    EVS_PEER_GATEWAY,   /**< the HTTP gateway: visitors and the accounts of sessions */
    EVS_PEER_OPERATOR,  /**< an operator by name: the back office */
    EVS_PEER_PRODUCER,  /**< a production line: its facts */
    EVS_PEER_IDENT,     /**< an identification provider's feed: its results */
} evs_peer_kind_t;

/** An identity, as its key names it. */
typedef struct {
    evs_peer_kind_t kind;
    char stem[EVS_KEYS_STEM_MAX];   /**< the key's stem, e.g. "operator-alice" */
    const char *name;               /**< points into stem: "alice", "order", "gateway" */
} evs_peer_t;

/**
 * @brief The identity a stem names.
 * @return 0, or -1 when @p stem is not a valid stem (then @p peer is cleared)
 */
int evs_peer_from_stem(const char *stem, evs_peer_t *peer);

/** @brief "service", "gateway", "operator", "producer", "ident" (or "none"). */
const char *evs_peer_kind_name(evs_peer_kind_t kind);

/**
 * @brief Create the pair <dir>/<stem>.pub and .secret (secret 0600, written to a
 * temporary file and renamed, so a half-written secret never exists). Creates @p dir
 * (0700) when missing. An existing pair is left as it is.
 * @return 1 when created, 0 when it existed already, -1 on error (errno set; a bad
 *         stem gives EINVAL)
 */
int evs_keys_create(const char *dir, const char *stem);

/**
 * @brief Move the pair of @p stem into <dir>/revoked/ (a running service refuses the
 * key within a second).
 * @return 0, or -1 (errno: ENOENT when there is no such key)
 */
int evs_keys_revoke(const char *dir, const char *stem);

/**
 * @brief The secret certificate of @p stem (caller destroys).
 * @return the certificate, or NULL (missing, unreadable, or readable by others than
 *         its owner: a secret must be 0600; the reason is logged)
 */
zcert_t *evs_keys_load_secret(const char *dir, const char *stem);

/**
 * @brief The Z85 public key of @p stem.
 * @param[out] out EVS_KEYS_Z85 bytes
 * @return 0, or -1 when there is no such public key
 */
int evs_keys_public(const char *dir, const char *stem, char *out);

/** The public keys of a folder, looked up by Z85 key. Thread-safe. */
typedef struct _evs_keyring_t evs_keyring_t;

/**
 * @brief Load the public keys in @p dir.
 * @return the keyring, or NULL when the folder cannot be read
 */
evs_keyring_t *evs_keyring_new(const char *dir);

/** Destroy; sets *self_p to NULL; safe twice. */
void evs_keyring_destroy(evs_keyring_t **self_p);

/**
 * @brief Reload when the folder changed since the last load (one stat()).
 * @return 1 when reloaded and some key that was there is gone (revoked), else 0
 */
int evs_keyring_refresh(evs_keyring_t *self);

/**
 * @brief Who holds the public key @p z85 (40 characters).
 * @return true with @p peer filled in, false when the key is unknown or revoked
 */
bool evs_keyring_lookup(evs_keyring_t *self, const char *z85, evs_peer_t *peer);

/** @brief Number of keys loaded. */
size_t evs_keyring_size(evs_keyring_t *self);

/** May @p peer connect to the socket of a domain? Called on the ZAP handler's thread. */
typedef bool (evs_zap_allow_fn)(void *arg, const evs_peer_t *peer);

/**
 * @brief Register a ZAP domain: a CURVE client of a socket with this domain is
 * admitted when its key is in @p ring and @p allow says yes. The process's ZAP
 * handler is started by the first registration (before any socket is bound with it)
 * and stopped with the last.
 * @param[in] ring borrowed: must outlive the registration
 * @return 0, or -1 when the handler cannot start or the domain is taken
 */
int evs_zap_add(const char *domain, evs_keyring_t *ring, evs_zap_allow_fn *allow, void *arg);

/** @brief Remove a domain (its sockets must be closed first). */
void evs_zap_remove(const char *domain);

/** @brief Handshakes refused by the ZAP handler so far in this process (for tests). */
size_t evs_zap_refused(void);

/**
 * @brief Make @p sock a CURVE server with @p cert whose clients are checked under
 * ZAP domain @p domain. Call before binding.
 */
void evs_keys_server(zsock_t *sock, zcert_t *cert, const char *domain);

/**
 * @brief Make @p sock a CURVE client with @p cert of a server whose public key is
 * @p server_z85. Call before connecting.
 */
void evs_keys_client(zsock_t *sock, zcert_t *cert, const char *server_z85);

/** Self-test. */
int evs_keys_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
