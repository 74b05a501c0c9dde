/* tpctl.h: shared declarations of the operator CLI's parts. */
#ifndef TPCTL_H
#define TPCTL_H
#include <jansson.h>
#include "evs_bus.h"
#include "evs_js.h"
#include "svc.h"

/** `tpctl log ...` (@p config_path: -c CONFIG, for import and export); returns the
 *  process exit code. */
int tpctl_log(int argc, char **argv, const char *config_path);

/** `tpctl log backup DIR DEST` and `tpctl log restore SRC DIR [--replace]` (argv after
 *  "backup" or "restore"); return the process exit code (0 done, 1 not, 2 bad usage). */
int tpctl_log_backup(int argc, char **argv);
int tpctl_log_restore(int argc, char **argv);

/** `tpctl log import DIR [--name NAME]` and `tpctl log export DIR [--name NAME] [--service
 *  SERVICE]` (argv from "import" or "export"): a data folder moved into the service's
 *  streams on the config's JetStream cluster, and back; the process exit code (0 done, 1
 *  not, 2 bad usage). */
int tpctl_log_move(int argc, char **argv, const char *config_path);

/** `tpctl log export` (tpctl_export.c): the streams of @p name into the new data folder
 *  @p dir for service @p service; the exit code (0 done, 1 not). */
int tpctl_log_export(const char *dir, const char *name, const char *service,
                     const char *config_path);

/** The checkpoint that says a group's place in its stream, as the runtime writes it. */
#define TPCTL_STREAM_CKPT "$stream"
/** Tries of a request to the cluster that timed out or found no leader. */
#define TPCTL_JS_TRIES 20

/** What an import or export moved. */
typedef struct {
    const char *service; /* the log's service (its meta) */
    const char *stream;  /* the stream's name */
    uint64_t groups, records, requests, checkpoints, keys, erased;
    bool secret;         /* the secret was moved */
    uint64_t head_seq;
    uint8_t head_hash[EVS_HASH_SIZE];
} tpctl_moved_t;

/** Prints @p m as one JSON line, with @p key: @p where (the folder). */
void tpctl_moved_print(const tpctl_moved_t *m, const char *key, const char *where);

/** Connects to the cluster of the config (js_servers, js_creds, js_tls_ca, js_replicas,
 *  js_timeout_ms of service @p name, as the runtime reads them) and waits until it
 *  answers; 0, or an error said on stderr. */
int tpctl_js_connect(const char *config_path, const char *name, evs_js_t **js);

/** Whether @p rc of an evs_js_ call is worth another try (EVS_JS_TIMEOUT, _UNAVAILABLE). */
bool tpctl_js_retry(int rc);

/** The core of a service by name ("example", "order", ...), or NULL. */
const svc_def_t *tpctl_service(const char *name);

/** The reply message type of a service's command, or NULL when unknown. */
const ProtobufCMessageDescriptor *tpctl_reply_type(const char *service, const char *command);

/** `tpctl call SERVICE COMMAND [JSON] [--role R] [--as ACCOUNT] [--request-id ID]`. */
int tpctl_call(int argc, char **argv, const char *config_path);

/** Sends one command given as JSON and prints the reply as JSON; returns the exit code
 *  (0 ok, 1 refused or no answer, 2 bad input). */
int tpctl_call_json(const char *config_path, const char *service, const char *command,
                    const char *json_text, const char *role, const char *actor,
                    const char *request_id);

/**
 * @brief Sends one command given as JSON and hands back the reply undecoded.
 * @param[out] reply_p the reply (caller frees with tp__reply__free_unpacked), NULL unless 0
 * @return 0 answered (ok or refused: see (*reply_p)->ok), 1 no answer (config unreadable,
 *         time-out; said on stderr), 2 bad input (unknown command, JSON that does not
 *         parse or does not fit the command's message; said on stderr)
 */
int tpctl_call_reply(const char *config_path, const char *service, const char *command,
                     const char *json_text, const char *role, const char *actor,
                     const char *request_id, Tp__Reply **reply_p);

/** A connection to a service's request socket, with the header tpctl's requests carry
 *  (role, account, "tpctl@$USER" as the client). Not to be copied once connected. */
typedef struct {
    char ep[1024]; /* its router, or those of all its instances (comma-separated) */
    evs_client_t *client;
    Tp__RequestHeader hdr;
    char who[64];
} tpctl_conn_t;

/**
 * @brief Names a key to send with, from a global option: --as-operator NAME,
 * --as-producer NAME, --as-ident NAME (the key operator-NAME ... for that role), or
 * --key STEM (any key in the keys folder, e.g. "gateway" to act for a customer).
 * @return 0, or -1 for an option that is none of these
 */
int tpctl_set_identity(const char *option, const char *value);

/** `tpctl keys ...` (init, add-operator, add-producer, add-ident, add-service, list,
 *  revoke); returns the process exit code. */
int tpctl_keys(int argc, char **argv, const char *config_path);

/** The system's config: @p path, else $TP_CONFIG, else var/tp.cfg when it exists, else
 *  an empty one (caller destroys); NULL when the file cannot be read (said on stderr). */
zconfig_t *tpctl_system_config(const char *path);

/** Connects to @p service (the system's config: -c FILE, $TP_CONFIG or var/tp.cfg) with
 *  the key of @p role (default operator; "producer", "ident"; see tpctl_set_identity)
 *  and @p actor in the header; 0, or 1 said on stderr. */
int tpctl_connect(const char *config_path, const char *service, const char *role,
                  const char *actor, tpctl_conn_t *conn);
void tpctl_disconnect(tpctl_conn_t *conn);

/**
 * @brief Sends @p n commands in one "$batch" request over @p conn, each with its own
 * request id and reply.
 * @param[out] replies @p n slots, each item's reply (free each with
 *             tp__reply__free_unpacked) when 0 is returned
 * @return 0 answered, 1 no answer or the batch refused as a whole (said on stdout/stderr)
 */
int tpctl_call_batch(tpctl_conn_t *conn, const char *service, const evs_batch_item_t *items,
                     size_t n, Tp__Reply **replies);

/** The JSON tpctl_print_reply() prints (caller decrefs). */
json_t *tpctl_reply_json(const Tp__Reply *r, const char *service, const char *command,
                         json_t *body_override);

/**
 * @brief Prints a reply as indented JSON on stdout: ok, lastSeq, replayed, and the errors
 * or the body decoded by the command's reply type.
 * @param[in] body_override when not NULL, printed as "reply" instead of the decoded body
 *            (borrowed), e.g. a summary of a document written to a file
 * @return the exit code: 0 when the reply is ok, else 1
 */
int tpctl_print_reply(const Tp__Reply *r, const char *service, const char *command,
                      json_t *body_override);

/** `tpctl shop|officer|account|order|ident ...`: the named back-office commands (argv[0]
 *  is the group); returns the process exit code (0 ok, 1 refused or no answer, 2 bad
 *  usage). */
int tpctl_ops(int argc, char **argv, const char *config_path);

/** True when @p group names a group of tpctl_ops(). */
bool tpctl_ops_group(const char *group);

/** Prints the usage lines of the back-office commands (of one group, or all when NULL). */
void tpctl_ops_usage(FILE *f, const char *group);

/** `tpctl produce KIND ...` or `tpctl produce --file FILE`: the producers' facts (argv[0]
 *  is "produce"); returns the process exit code (0 ok, 1 refused or no answer, 2 bad
 *  usage or a bad line, nothing sent). */
int tpctl_produce(int argc, char **argv, const char *config_path);

/** Prints the usage lines of `tpctl produce`. */
void tpctl_produce_usage(FILE *f);

/** Names of every known service, NULL-terminated. */
extern const char *const tpctl_service_names[];

/** `tpctl config defaults` (the whole config with every default, from the tables) and
 *  `tpctl config check FILE` (the loader's verdict: exit 0 ok, 2 refused, each refusal
 *  on stderr with its line). */
int tpctl_config(int argc, char **argv);

/**
 * @brief Loads the system's config as tpctl does for every command: svc_settings_load()
 * with the tables of every daemon (SVC_SETTINGS_COMPLETE).
 * @param[out] errors the refusals, one a line, when NULL is returned (caller frees)
 * @return the config (caller destroys), or NULL
 */
zconfig_t *tpctl_config_load(const char *path, char **errors);
#endif
