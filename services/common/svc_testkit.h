/* svc_testkit.h: what the services' own tests share: a temporary folder with a config
 * and keys, in-process runtimes, and clients that hold the key of the role they act in.
 *
 * Every socket of a runtime is CURVE (evs_keys.h), so a test acts through a key like
 * everybody else: svc_tk_call(kit, "order", "customer", account, ...) goes out with the
 * gateway's key and the account in the header; "operator" with the key operator-test,
 * "producer" with producer-test, "ident" with ident-test, "service:NAME" with the key
 * of service NAME. Not for daemons: linked by tests only.
 */
#ifndef SVC_TESTKIT_H
#define SVC_TESTKIT_H

#include <czmq.h>
#include "evs_bus.h"
#include "svc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _svc_tk_t svc_tk_t;

/**
 * @brief A fresh folder /tmp/tp-<name>-XXXXXX with data/ and keys/: the keys of the
 * gateway, operator-test, producer-test and ident-test, and of each service instance in
 * @p services (NULL-terminated; more with svc_tk_key). Its config (svc_tk_config) names
 * data, run and keys there. The process's ZAP handler (evs_keys.h) runs as long as the
 * kit, so that runtimes stopped and started again meet the same one.
 * @return the kit, or NULL (the reason on stderr)
 */
svc_tk_t *svc_tk_new(const char *name, const char *const *services);

/** @brief Closes the kit's clients, destroys its config, removes the folder (unless
 *  TP_KEEP is set). Stop the runtimes first. Safe twice. */
void svc_tk_destroy(svc_tk_t **self_p);

/** @brief The config the runtimes are started with (the kit owns it; put settings). */
zconfig_t *svc_tk_config(svc_tk_t *self);

/** @brief The folder, and its keys folder. */
const char *svc_tk_dir(svc_tk_t *self);
const char *svc_tk_keys(svc_tk_t *self);

/** @brief Create the key of @p stem too (evs_keys.h). @return 0 or -1 */
int svc_tk_key(svc_tk_t *self, const char *stem);

/**
 * @brief Start a runtime in this process: zactor_new(svc_actor, args) and wait for it.
 * @return the actor once "READY", or NULL when it reported "ERROR"
 */
zactor_t *svc_tk_start(svc_args_t *args);

/** @brief The key a role acts with: "gateway" for "", "customer" and "officer",
 *  "operator-test", "producer-test", "ident-test", or NAME for "service:NAME". */
const char *svc_tk_stem(const char *role, char *buf, size_t bufsz);

/**
 * @brief A client of service @p service (its ROUTER by the config) holding the key of
 * @p role; made on first use and kept by the kit (borrowed: do not destroy).
 * @return the client, or NULL when a key is missing
 */
evs_client_t *svc_tk_client(svc_tk_t *self, const char *service, const char *role);

/**
 * @brief One call to @p service as @p role (and @p account, NULL = none): the header
 * carries them, the key is the role's. @p request_id NULL: a fresh one.
 * @return the reply (free with tp__reply__free_unpacked(r, NULL)), or NULL on time-out
 */
Tp__Reply *svc_tk_call(svc_tk_t *self, const char *service, const char *role, const char *account,
                       const char *request_id, const char *command, const ProtobufCMessage *body,
                       int timeout_ms);

/** @brief The same with a body already serialized. */
Tp__Reply *svc_tk_call_raw(svc_tk_t *self, const char *service, const char *role,
                           const char *account, const char *request_id, const char *command,
                           const uint8_t *body, size_t body_len, int timeout_ms);

/**
 * @brief The same with a header of one's own (a client address, a deadline, a role its key
 * does not grant): @p key_role picks the key as svc_tk_stem does; @p header goes as it is
 * (an empty request_id: a fresh one).
 * @return the reply (free with tp__reply__free_unpacked(r, NULL)), or NULL on time-out
 */
Tp__Reply *svc_tk_call_header(svc_tk_t *self, const char *service, const char *key_role,
                              const Tp__RequestHeader *header, const char *command,
                              const ProtobufCMessage *body, int timeout_ms);

/** @brief Close the kit's clients of @p service, so that the next call connects afresh
 *  (after a restart: a request sent while the old process went away may be lost). */
void svc_tk_forget(svc_tk_t *self, const char *service);

/** @brief The head of @p service's log ("$status" as an operator); 0 when it did not
 *  answer within 10 s. */
uint64_t svc_tk_head(svc_tk_t *self, const char *service);

/** @brief The core's summary of @p service ("$summary" as an operator; caller frees), or
 *  NULL when it did not answer. */
char *svc_tk_summary(svc_tk_t *self, const char *service);

/**
 * @brief Event @p seq of @p service as stored, read with "$read" as an operator.
 * @return the envelope (free with tp__envelope__free_unpacked(e, NULL)), or NULL when
 *         there is none or the service did not answer
 */
Tp__Envelope *svc_tk_event(svc_tk_t *self, const char *service, uint64_t seq);

#ifdef __cplusplus
}
#endif
#endif
