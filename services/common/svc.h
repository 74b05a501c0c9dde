/* svc.h: the service runtime shared by every trustportal service.
 *
 * A service is a pure core plus this runtime. The core is a table (svc_def_t)
 * of functions that do no I/O:
 *
 *   decide(state, ctx, command) -> events | errors, and a reply   (svc_command_t)
 *   apply(state, event)         -> the only place state changes
 *   react(state, upstream event) -> events                        (choreography)
 *   tick(state, now)            -> events                         (time-driven steps)
 *
 * The runtime does the rest: config, logging, signals, rebuilding state from
 * the log at start, the request server with group commit, publication,
 * subscriptions to upstream services, timers with an injectable clock, and a
 * worker pool for slow work (a command's `prepare` step, e.g. password hashing).
 *
 * Group commit: the loop takes every request already waiting (up to batch_max),
 * decides them one after another against the evolving state (each command's
 * events are applied before the next is decided), appends all resulting events
 * in one LMDB transaction with one fsync, and only then replies and publishes.
 * If a commit fails the process exits: state in memory may be ahead of the log,
 * and the supervisor restarts the service, which rebuilds from its log.
 *
 * Idempotency: a command's request id is kept with its reply in the same
 * transaction as its events; a retry gets the first reply (with `replayed`
 * set) and writes nothing. Refusals are not kept (they wrote nothing).
 *
 * Rights: every socket is CURVE (evs_keys.h). Each request is taken as sent by the
 * holder of the key it came with: the header's role and account are rewritten from the
 * key (the gateway keeps the account of a session it names, as a customer or officer,
 * and nothing more), the command is checked against svc_command_t.who, "$read" against
 * the followers, and a request from a key that is not (or no longer) in the keys folder
 * gets no answer. Every event records who caused it (tp.Envelope.actor).
 *
 * Slow work: a command with a `prepare` step (password hashing) goes to the worker pool
 * only when admitted. A visitor's request (the gateway, nobody logged in) takes one from
 * the budget of its client address (header.client_addr; IPv6 by its /64, svc_addr.h):
 * `slow_burst` at once, then `slow_per_minute` a minute, else it is refused "throttled"
 * before any hashing; that refusal is answered `slow_refusal_delay_ms` late (sooner when
 * the caller's deadline is nearer), so that a client flooding over its budget gets one
 * answer per connection and period and costs the machine little. At most
 * `slow_queue_max` requests wait for a worker or are on one; one more is refused
 * "unavailable" at once. A worker drops a request whose
 * header.deadline_us passed while it waited ("deadline"): its caller has given up, and
 * the hash would be work for nobody. So one client cannot fill the pool, and many cannot
 * queue more than their callers wait for.
 *
 * Batches: a request with command "$batch" (SVC_BATCH) carries a tp.Batch of
 * commands; each is decided as if it came alone, in order, with its own request
 * id and reply, under the outer header's actor. One message, one round trip and
 * one place in the group for many commands (a production line's facts, say).
 */
#ifndef SVC_H
#define SVC_H

#include <czmq.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include "evs.h"
#include "evs_bus.h"
#include "svc_seal.h"
#include "svc_settings.h"
#include "tp.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An event as the core sees it (apply, react). Strings are NUL-terminated copies
 *  or views valid during the call only. */
typedef struct {
    uint64_t seq;               /**< position in the log it comes from */
    const char *stream_id;
    uint64_t stream_version;
    const char *event_type;     /**< short protobuf message name */
    int64_t recorded_at_us;
    const uint8_t *payload;
    size_t payload_len;
} svc_event_t;

/** The command of a request holding a tp.Batch, and the most items one may hold. */
#define SVC_BATCH EVS_BUS_BATCH
/** The error code of a standby instance's refusal (store = jetstream): a command goes to
 *  the active instance; clients send it there (evs_bus.h). */
#define SVC_NOT_ACTIVE EVS_BUS_NOT_ACTIVE
#define SVC_BATCH_MAX 1024

/** Size of the per-service secret and of the per-command random bytes. */
#define SVC_SECRET_SIZE 32

/** Context of one command. */
typedef struct {
    const Tp__RequestHeader *header;  /**< never NULL; fields may be empty strings */
    int64_t now_us;                   /**< the runtime's clock when deciding */
    const uint8_t *secret;            /**< SVC_SECRET_SIZE bytes: the service's own key, kept in
                                           `<data folder>/secret.key` (never in the log); for
                                           tokens derived as HMAC(secret, nonce) */
    const uint8_t *random;            /**< SVC_SECRET_SIZE fresh random bytes for this command
                                           (nonces), so decide stays a function of its inputs */
} svc_ctx_t;

/** A mail a core wants sent. Mails are derived from state (an event that calls for a
 *  mail, not yet followed by the core's "mail sent" event); the runtime sends them off
 *  the loop and then asks the core for that event. At least once: a crash between
 *  sending and recording sends it again after restart; never twice otherwise. */
typedef struct {
    char id[128];          /**< unique per mail, e.g. "confirm:<nonce hex>" */
    char to[256];          /**< recipient address */
    char subject[256];     /**< UTF-8 */
    char *body;            /**< text/plain UTF-8, malloc'd by the core, freed by the runtime */
} svc_mail_t;

/** Collects what decide/react/tick produce. Opaque; use the svc_out_ functions. */
typedef struct _svc_out_t svc_out_t;

/**
 * @brief Add an event to the output. Its type is the message's short name.
 * The message is serialized at once; the caller keeps ownership of @p event.
 * @return 0, or -1 when out of memory or the stream id is invalid (then an
 *         "internal" error is recorded in @p out)
 */
int svc_out_event(svc_out_t *out, const char *stream_id, const ProtobufCMessage *event);

/**
 * @brief Erase a data subject's personal data: "order:<id>" (the applicant of an order),
 * "account:<id>" (svc_seal.h). With the command's events the runtime writes a
 * SubjectErased event (no personal data in it: the subject and @p reason); once that is
 * durable it deletes the subject's key from the key store, so every value sealed for the
 * subject, in every event and kept reply, reads as SVC_ERASED from then on, and it
 * rebuilds the state from the log (so the state holds none of it either). The services
 * that follow this one erase the subject too, for what they hold of it.
 * @return 0, or -1 (an "internal" error recorded in @p out)
 */
int svc_out_erase(svc_out_t *out, const char *subject, const char *reason);
/** @brief Erasures asked for so far, and erasure i's subject (for tests). */
size_t svc_out_n_erasures(const svc_out_t *out);
const char *svc_out_erasure_at(const svc_out_t *out, size_t i);

/** @brief Require @p stream_id to be at version @p expected (EVS_ANY, EVS_NO_STREAM, n)
 *  when the events are appended; a mismatch refuses the command with "conflict". */
void svc_out_expect(svc_out_t *out, const char *stream_id, int64_t expected);

/**
 * @brief Refuse: add an error (code, field, message). Any error means no event
 * of this command is written. Several may be added (one per bad field).
 * @param[in] code e.g. "invalid", "not_found", "conflict", "forbidden", "throttled"
 * @param[in] field the offending input field (lowerCamelCase path) or NULL
 */
void svc_out_error(svc_out_t *out, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** @brief Set the reply message (serialized at once; caller keeps @p reply). */
void svc_out_reply(svc_out_t *out, const ProtobufCMessage *reply);

/**
 * @brief Write this command's events even though it is refused: the reply carries the
 * errors, the events record the attempt (e.g. a wrong password counted for throttling,
 * which must survive a restart). Without this call a refusal writes nothing.
 */
void svc_out_keep_events(svc_out_t *out);

/** @brief Ask the runtime to log a line (the cores do no I/O themselves), e.g. an alarm
 *  of a timer. @param[in] level 'E' error, 'W' warning, 'I' info. */
void svc_out_log(svc_out_t *out, char level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** @brief True when an error was added. */
bool svc_out_failed(const svc_out_t *out);

/** Number of events and errors collected so far (for tests). */
size_t svc_out_n_events(const svc_out_t *out);
size_t svc_out_n_errors(const svc_out_t *out);

/** @brief Event i's type, stream and payload (for the cores' unit tests). */
int svc_out_event_at(const svc_out_t *out, size_t i, const char **type, const char **stream_id,
                     const uint8_t **payload, size_t *len);
/** @brief Error i (for tests). */
int svc_out_error_at(const svc_out_t *out, size_t i, const char **code, const char **field,
                     const char **message);
/** @brief Lines the core asked to log (for tests): how many, and line i ("E...", "W...",
 *  "I...": the level, then the text). */
size_t svc_out_n_logs(const svc_out_t *out);
const char *svc_out_log_at(const svc_out_t *out, size_t i);
/** @brief True when svc_out_keep_events() was called (for tests). */
bool svc_out_keeps_events(const svc_out_t *out);

/** @brief The reply bytes (for tests); NULL when none. */
const uint8_t *svc_out_reply_bytes(const svc_out_t *out, size_t *len);

/** A fresh, empty output (for tests of cores). */
svc_out_t *svc_out_new(void);
void svc_out_reset(svc_out_t *out);
void svc_out_destroy(svc_out_t **out_p);

/** Decide a command: read state, write only to @p out. */
typedef void (svc_decide_fn)(const void *state, const svc_ctx_t *ctx,
                             const ProtobufCMessage *command, svc_out_t *out);

/** Slow, state-free preparation run on a worker thread before decide (e.g. hash a
 *  password into the command). @p lookup is what the command's lookup function
 *  returned on the loop (NULL when it has none). Return 0, or -1 to refuse with the
 *  errors in @p out. */
typedef int (svc_prepare_fn)(ProtobufCMessage *command, const char *lookup, svc_out_t *out);

/** Runs on the loop before a command goes to the worker pool: copies from state what
 *  the slow step needs (e.g. the stored password hash, or a dummy one so that unknown
 *  and known accounts take the same time), or says that the slow step can be skipped
 *  (e.g. a client address throttled already: no hashing for a refusal). @p ctx is the
 *  command's header and the runtime's clock (ctx->random is NULL: lookup makes nothing
 *  new). Returns a malloc'd string or NULL; the runtime wipes and frees it. */
typedef char *(svc_lookup_fn)(const void *state, const svc_ctx_t *ctx,
                              const ProtobufCMessage *command);

/** Who may send a command: bits of svc_command_t.who. The sender's key says which it
 *  is (evs_keys.h), never the request header: the gateway's key with an empty role is a
 *  visitor, with "customer" or "officer" and an account the account of a session; an
 *  operator-, producer- or ident- key is that; a service's key sends no commands. */
#define SVC_VISITOR 0x01u   /**< the gateway, for nobody logged in */
#define SVC_CUSTOMER 0x02u  /**< the gateway, for the account of a session */
#define SVC_OFFICER 0x04u   /**< the gateway, for an officer of a shop */
#define SVC_OPERATOR 0x08u  /**< an operator's key: the back office */
#define SVC_PRODUCER 0x10u  /**< a production line's key */
#define SVC_IDENT 0x20u     /**< an identification provider's feed */
#define SVC_SERVICE 0x40u   /**< another service's key: reads, never commands */
#define SVC_GATEWAY (SVC_VISITOR | SVC_CUSTOMER | SVC_OFFICER)

/** One command or query of a service. */
typedef struct {
    const char *name;                          /**< e.g. "Increment"; wire name "<service>.<name>" */
    const ProtobufCMessageDescriptor *body;    /**< the command message type */
    bool query;                                /**< true: read-only, answered after the batch */
    svc_prepare_fn *prepare;                   /**< NULL when none */
    svc_decide_fn *decide;
    svc_lookup_fn *lookup;                     /**< NULL when none (only with prepare) */
    bool secret_reply;                         /**< the reply carries a secret (e.g. a session
                                                    token): it is not kept for idempotency, so a
                                                    retry runs the command again */
    const ProtobufCMessageDescriptor *reply;   /**< the reply message type (NULL: none), so
                                                    tools and the gateway decode replies */
    unsigned who;                              /**< who may send it (SVC_VISITOR ...): the
                                                    service's table of rights; anyone else
                                                    is refused "forbidden", nothing written */
} svc_command_t;

/** How long a checkpoint past skipped upstream events (svc_def_t.reacts_to) may wait
 *  for another commit to carry it before it is committed on its own. */
#define SVC_CHECKPOINT_DELAY_MS 1000

/** A service definition: the pure core as a table. */
typedef struct {
    const char *name;                          /**< default instance name, e.g. "order" */
    void *(*state_new)(void);
    void (*state_destroy)(void **state_p);
    /** Fold an event into state. Must accept every event the service ever wrote. */
    void (*apply)(void *state, const svc_event_t *event);
    const svc_command_t *commands;
    size_t n_commands;
    /** React to an upstream event (may be NULL). */
    void (*react)(const void *state, const char *upstream, const svc_event_t *event,
                  svc_out_t *out);
    /** Time-driven steps (may be NULL). */
    void (*tick)(const void *state, int64_t now_us, svc_out_t *out);
    /** Upstream services this one subscribes to, NULL-terminated (may be NULL). */
    const char *const *upstreams;
    /** The services that may follow this one ("$read" and its PUB socket), NULL-terminated
     *  (may be NULL: none; config `followers = a,b` overrides). Operators may always read. */
    const char *const *followers;
    /** The upstream event types react can act on, NULL-terminated (NULL: every type).
     *  Events of other types never reach react, whatever the state, so they need no
     *  commit of their own: the checkpoint past them is written with the service's next
     *  commit, or on its own at most SVC_CHECKPOINT_DELAY_MS later (and at a clean stop).
     *  After a crash in between they are read again and skipped again. */
    const char *const *reacts_to;
    /** The upstreams whose personal data react reads, NULL-terminated (may be NULL):
     *  their events reach react with the personal fields opened (the keys are asked of the
     *  upstream with "$keys" and kept in memory only). Other upstreams' events reach react
     *  with those fields sealed (svc_seal.h). */
    const char *const *personal_from;
    /** The follower services that may ask for the keys of this service's data subjects
     *  ("$keys"), NULL-terminated (may be NULL: none). The gateway and operators never
     *  may. */
    const char *const *personal_to;
    /** One-line JSON summary of the state, for `tpctl log replay` (may be NULL). */
    char *(*summary)(const void *state);
    /** Mails waiting to be sent, at most @p max into @p out; returns how many (may be NULL). */
    size_t (*mails_pending)(const void *state, const uint8_t *secret, svc_mail_t *out,
                            size_t max);
    /** The event that records mail @p mail_id as sent (may be NULL when mails_pending is). */
    void (*mail_sent)(const void *state, const char *mail_id, int64_t now_us, svc_out_t *out);
    /** Settings from the config, read once at start before the rebuild (may be NULL).
     *  @p config may be NULL (tools replaying a log): use the defaults then. Read values
     *  with svc_setting_get(config, name, settings, key), the default from the table
     *  below. Settings steer decisions (a delay, a link's base URL); what was decided is
     *  in the events, so a replay with other settings rebuilds the same state. */
    void (*configure)(void *state, zconfig_t *config, const char *name);
    /** How long live upstream events may wait before react sees them (ms; 0: at once;
     *  config `react_delay_ms` overrides). Those arriving meanwhile share one commit:
     *  for reactions nobody waits on, so that they do not take the disk from those
     *  somebody does. A clean stop reacts to whatever is waiting first. */
    int react_delay_ms;
    /** The service's own settings (may be NULL), ended by {NULL}: with the runtime's
     *  (svc_settings_runtime) what its section may hold; svc_main refuses a config with
     *  a key in neither (svc_settings.h). */
    const svc_setting_t *settings;
} svc_def_t;

/** Clock: returns microseconds since the Unix epoch. */
typedef int64_t (svc_clock_fn)(void *arg);

/** Arguments of the service actor. */
typedef struct {
    const svc_def_t *def;
    zconfig_t *config;        /**< borrowed; see svc_config_* and deploy/trustportal.cfg */
    const char *name;         /**< instance name; NULL = def->name */
    svc_clock_fn *clock;      /**< NULL = real time */
    void *clock_arg;
} svc_args_t;

/**
 * @brief The service as a zactor: `zactor_new(svc_actor, &args)`.
 * After zactor_new() returns, the actor sends one string on its pipe: "READY"
 * once serving (state rebuilt, sockets bound), or "ERROR" when it could not
 * start (the reason is logged). Stops on "$TERM". @p args must outlive the actor.
 */
void svc_actor(zsock_t *pipe, void *args);

/**
 * @brief A daemon's main(): parses `-c FILE` (config), `-n NAME` (instance name),
 * `-v`; refuses a config with a setting that is not in its tables or out of range
 * (svc_settings.h; exit 1, each refusal logged with its line); starts the actor; waits
 * for SIGINT/SIGTERM; stops.
 * @return the process exit code
 */
int svc_main(int argc, char **argv, const svc_def_t *def);

/**
 * @brief Endpoint of a service by config: `<name>/pub` or `<name>/router`, else
 * "ipc://<run>/<name>.pub|router" with `run` from the config root (default "run").
 * @param[in] kind "pub" or "router"
 * @param[out] out buffer
 */
void svc_endpoint(zconfig_t *config, const char *name, const char *kind, char *out, size_t outsz);

/**
 * @brief Where a client of service @p name connects: `<name>/routers` (resp.
 * `<name>/pubs`), the endpoints of all its instances, comma-separated, when set; else the
 * one endpoint svc_endpoint() gives. What an instance binds stays svc_endpoint(); every
 * client (the gateway, tpctl, a follower's subscription, a "$keys" client) connects here,
 * and evs_client_t / evs_sub_new() take the list as it is (evs_bus.h: failover).
 * @param[in] kind "router" or "pub"
 * @param[out] out buffer
 * @return 0, or -1 when the list does not fit in @p outsz (out then holds "")
 */
int svc_connect_endpoints(zconfig_t *config, const char *name, const char *kind, char *out,
                          size_t outsz);

/**
 * @brief Load the secret in @p path (@p size random bytes; HMAC keys of mail links and
 * CSRF tokens), creating it on first start: fresh randomness, written 0600 to a
 * temporary file, synced and renamed. A file others can read is refused.
 * @return 0, or -1 (the reason logged)
 */
int svc_secret_load(const char *path, uint8_t *secret, size_t size);

/** @brief The keys folder (evs_keys.h): the root's `keys`, else "keys". */
const char *svc_keys_dir(zconfig_t *config);

/** @brief The data folder of a service: `<name>/data`, else "<data>/<name>". */
void svc_data_dir(zconfig_t *config, const char *name, char *out, size_t outsz);

/** @brief A setting of a service: `<name>/<key>`, else the root's `<key>`, else @p dflt.
 *  The key must be in a table (svc_settings_runtime, svc_def_t.settings) with @p dflt. */
const char *svc_config_get(zconfig_t *config, const char *name, const char *key,
                           const char *dflt);

/**
 * @brief Rebuild a state by applying the log in @p store, up to @p to_seq
 * (UINT64_MAX for all) and up to @p to_time_us (INT64_MAX for all).
 * @param[out] applied number of events applied
 * @param[in] progress called every 65536 events with the seq reached (may be NULL)
 * @param[in] keys the keys that open the sealed personal fields (svc_seal.h), or NULL:
 *            the core then sees them sealed
 * @return 0 or an evs error code
 */
typedef struct {
    svc_key_fn *fn;
    void *arg;
} svc_keys_t;
int svc_rebuild(const svc_def_t *def, void *state, evs_t *store, uint64_t to_seq,
                int64_t to_time_us, uint64_t *applied,
                void (*progress)(uint64_t seq, void *arg), void *progress_arg,
                const svc_keys_t *keys);


#ifdef __cplusplus
}
#endif
#endif
