/* svc_seal.h: personal data sealed per data subject (crypto-shredding).
 *
 * The personal fields of a message (proto/tp_personal.h says which) are replaced by
 * their sealed form before the message is written to a log or kept as a reply:
 *
 *     "sealed:1:" SUBJECT ":" base64url(nonce[24] || XChaCha20-Poly1305 ciphertext)
 *
 * sealed with the subject's key (its own random 32 bytes, in the service's key store:
 * eventstore/evs_vault.h), a fresh nonce per value, and as associated data the place the
 * value belongs to: the caller's ids (an event's id and stream, a kept reply's request id)
 * and the message and field, so that a sealed value moved to another event or field does
 * not open. The subject (an order's applicant, an account) is named in the clear: it is
 * an id, and a follower needs it to ask for the key.
 *
 * Opening gives the value back; a value whose subject was erased (its key deleted)
 * becomes SVC_ERASED, so that state is still built from a log after an erasure, with the
 * erased fields marked. Values that are not sealed (a log written before sealing) are
 * left as they are.
 *
 * Pure apart from the key function and the random nonces; no state of its own.
 */
#ifndef SVC_SEAL_H
#define SVC_SEAL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVC_SEALED_PREFIX "sealed:1:"
/** What an erased personal field reads as. */
#define SVC_ERASED "[erased]"
#define SVC_SEAL_KEY_SIZE 32

/** Where keys come from. @p create: for sealing, make one when the subject has none.
 *  Returns 0 (key filled in), EVS_ERASED (erased: nothing to seal or open with),
 *  EVS_NOTFOUND (no key and none made), or another error code. */
typedef int (svc_key_fn)(void *arg, const char *subject, bool create,
                         uint8_t key[SVC_SEAL_KEY_SIZE]);

/**
 * @brief Seal the personal fields of the message of type @p desc packed in
 * @p in[0, @p len).
 * @param[in] ad the caller's ids for the associated data (NUL-terminated)
 * @param[in] now_us the time (a window subject's hour)
 * @param[out] out the sealed message (malloc'd; the caller frees), or NULL when the
 *             message has no personal value to seal (then use @p in as it is)
 * A value whose subject is erased is not kept: it is written as SVC_ERASED.
 * @return 0; EVS_INVALID when @p in does not decode, a personal value has no subject
 *         (no order_id or account_id around it) or lies deeper than the walk goes;
 *         -ENOMEM; the key function's code
 */
int svc_seal(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
             const char *ad, int64_t now_us, svc_key_fn *keys, void *arg, uint8_t **out,
             size_t *out_len);

/**
 * @brief Open what svc_seal() sealed (with the same @p ad).
 * @param[out] out the opened message (malloc'd), or NULL when nothing in it was sealed
 * @param[out] n_erased how many values were erased (read as SVC_ERASED); may be NULL
 * @return 0; EVS_INVALID when @p in does not decode; EVS_CORRUPT when a sealed value does
 *         not open with its subject's key (changed bytes, another place) or its subject
 *         has no key and was never erased (EVS_NOTFOUND: a key store lost, or another
 *         log's); -ENOMEM; the key function's code other than EVS_ERASED (which reads as
 *         erased)
 */
int svc_unseal(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
               const char *ad, svc_key_fn *keys, void *arg, uint8_t **out, size_t *out_len,
               size_t *n_erased);

/** @brief Call @p fn for the subject of each sealed value in the message (repeats
 *  included). @return 0, or EVS_INVALID when it does not decode */
int svc_sealed_subjects(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
                        void (*fn)(const char *subject, void *arg), void *arg);

/** @brief A key function (svc_key_fn) over a key store: @p vault is an evs_vault_t
 *  (eventstore/evs_vault.h; read-only for tools, which then never create). */
int svc_vault_key(void *vault, const char *subject, bool create,
                  uint8_t key[SVC_SEAL_KEY_SIZE]);

/** @brief The associated data of an event's sealed values, from its ids (the runtime
 *  seals with it, tools open with it): "<event id>|<stream id>|<event type>". */
void svc_seal_event_ad(char *out, size_t outsz, const char *event_id, size_t id_len,
                       const char *stream, size_t stream_len, const char *type,
                       size_t type_len);

/** @brief Whether the packed message @p in holds a sealed value at all (a byte search:
 *  most events hold none, and need neither their type looked up nor opening). */
bool svc_seal_holds_sealed(const uint8_t *in, size_t len);

/** @brief Whether messages of type @p desc can hold personal values (cached). */
bool svc_seal_needed(const ProtobufCMessageDescriptor *desc);

/** Self-test. */
int svc_seal_test(bool verbose);
#endif
