/* evs_witness.h: signed heads, so that logs witness each other.
 *
 * Every service signs its head (seq and hash) with an Ed25519 key of its own, as an
 * event in its own log (stream EVS_WITNESS_STREAM, type EVS_WITNESS_SIGNED, payload a
 * tp.SignedHead), and a follower writes each signed head it takes from an upstream into
 * its own log (stream "$witnessed:<upstream>", type EVS_WITNESS_RECORDED, the same
 * payload). A log rewritten with recomputed hashes, truncated or restored from an older
 * backup then contradicts what its followers recorded: `tpctl log verify DIR --witnesses
 * DIR...` names it (evs_witness_check_log).
 *
 * The witness key is derived from the service's CURVE secret key (BLAKE2b of a fixed
 * context string keyed with that secret, as the seed of crypto_sign_seed_keypair), so there is no second secret
 * to keep; its public half is written into the service's public certificate as metadata
 * "witness-key" (hex) by evs_keys_create, where verifiers find it.
 */
#ifndef EVS_WITNESS_H
#define EVS_WITNESS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "evs.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The stream of a service's own signed heads. */
#define EVS_WITNESS_STREAM "$witness"
/** Prefix of the stream of an upstream's signed heads in a follower's log. */
#define EVS_WITNESSED_PREFIX "$witnessed:"
/** Event type of a signed head in its signer's log. */
#define EVS_WITNESS_SIGNED "HeadSigned"
/** Event type of a signed head recorded by a follower. */
#define EVS_WITNESS_RECORDED "HeadWitnessed"
/** Metadata name of the witness key in a public certificate. */
#define EVS_WITNESS_META "witness-key"
/** Sizes: public key, secret key, signature. */
#define EVS_WITNESS_PK 32
#define EVS_WITNESS_SK 64
#define EVS_WITNESS_SIG 64

/** A signed head, decoded. */
typedef struct {
    char service[EVS_MAX_ID + 1];
    uint64_t seq;
    uint8_t hash[EVS_HASH_SIZE];
    int64_t signed_at_us;
    uint8_t key[EVS_WITNESS_PK];
    uint8_t signature[EVS_WITNESS_SIG];
} evs_head_t;

/**
 * @brief The witness keypair of the CURVE secret certificate @p cert.
 * @return 0, or -1 when @p cert holds no secret key
 */
int evs_witness_keypair(zcert_t *cert, uint8_t pk[EVS_WITNESS_PK], uint8_t sk[EVS_WITNESS_SK]);

/**
 * @brief The witness public key of @p stem from <dir>/<stem>.pub (metadata
 * EVS_WITNESS_META).
 * @return 0, or -1 when there is no such certificate or it carries no witness key
 */
int evs_witness_public(const char *dir, const char *stem, uint8_t pk[EVS_WITNESS_PK]);

/** @brief Sign @p head (its key and signature are filled in from @p pk / @p sk). */
void evs_witness_sign(evs_head_t *head, const uint8_t pk[EVS_WITNESS_PK],
                      const uint8_t sk[EVS_WITNESS_SK]);

/** @brief Whether @p head's signature is good for the key it carries. */
bool evs_witness_signed_ok(const evs_head_t *head);

/**
 * @brief Serialize @p head as a tp.SignedHead.
 * @param[out] out at least evs_witness_packed_size() bytes
 * @return the size written
 */
size_t evs_witness_pack(const evs_head_t *head, uint8_t *out);
/** @brief Largest tp.SignedHead evs_witness_pack writes. */
size_t evs_witness_packed_size(void);

/**
 * @brief Decode a tp.SignedHead.
 * @return 0, or -1 when it does not decode or a field has the wrong size
 */
int evs_witness_unpack(const uint8_t *data, size_t len, evs_head_t *head);

/**
 * @brief Whether a record is a witness event (a signed head, own or recorded), which
 * the runtime keeps away from the services' cores.
 */
bool evs_witness_is(const evs_view_t *view);

/**
 * @brief Whether a record is a signed head in its signer's log (EVS_WITNESS_STREAM,
 * EVS_WITNESS_SIGNED).
 */
bool evs_witness_is_signed(const evs_view_t *view);

/** What evs_witness_check_log found. */
typedef struct {
    uint64_t heads;           /**< signed heads of the log found in the witness */
    uint64_t checked;         /**< of them, those that the log agrees with */
    uint64_t newest;          /**< the highest seq a witness saw signed (0: none) */
    uint64_t checkpoint;      /**< the witness's checkpoint of the log (0: none) */
    bool contradicted;        /**< the log contradicts a head in the witness */
    char reason[400];         /**< what, when contradicted */
} evs_witness_report_t;

/**
 * @brief Check log @p log (of service @p service) against what the log @p witness (a
 * follower's) recorded of it: each signed head must carry a good signature (by @p key when
 * not NULL) and @p log must hold that seq with that hash; and the witness's checkpoint of
 * the service must lie within @p log, with the hash the witness kept there (when kept).
 * @return 0 when the check ran (see report->contradicted), else an LMDB/evs code
 */
int evs_witness_check_log(evs_t *log, const char *service, evs_t *witness,
                          const uint8_t *key, evs_witness_report_t *report);

/** Self-test. */
int evs_witness_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
