/* evs_js_vault.h: a service's keys of data subjects (evs_vault.h) on a JetStream cluster: one
 * stream per service, one message per data subject, replicated like the log, and erased
 * from every replica when the subject is erased.
 *
 * Why a stream of its own. With the jetstream backend (evs_js.h) the instances of a service
 * on several hosts share its log; a standby that takes over must open every sealed event,
 * so it needs every key, and erasing a subject must remove its key everywhere. The log's
 * stream denies deletes (nothing may ever drop a group), so the keys cannot live there.
 *
 * The stream. Service "order" has the stream `TPVAULT_ORDER` with the subjects
 * `tp.vault.order.>` (not "TP_VAULT_ORDER": that is the name of the log of a service
 * called "vault_order"): file storage, the connection's replicas, retention by limits
 * with no limit on messages, bytes or age, one message per subject with discard new per
 * subject (a second message for a subject is refused; without it the server would store
 * it and remove the first without overwriting it: filestore.go, storeRawMsg), message
 * deletes allowed (erasure), purges and roll-ups denied (they too remove messages without
 * overwriting them), no direct reads (every read is answered by the stream's leader, never
 * by a replica that has not applied the last put or erasure yet). A stream found with a
 * limit that could drop a key, deletes denied, purges or roll-ups allowed, another
 * per-subject rule, fewer replicas, or other subjects is refused (EVS_MISMATCH), never
 * changed.
 *
 * Messages. Data subject "order:3f2a" is the NATS subject `tp.vault.order.<hex>`, the
 * subject's bytes in lower-case hex (`6f726465723a33663261`): a data subject is any
 * 1..EVS_VAULT_SUBJECT_MAX bytes of printable ASCII, and hex leaves no '.', '*', '>' or
 * space to a NATS subject. A subject's one message is its key (EVS_VAULT_KEY_SIZE raw
 * bytes) or, once erased, a tombstone: the 6 bytes "erased". Every write names the
 * subject's last sequence 0 (Nats-Expected-Last-Subject-Sequence: "the subject has no
 * message"), so no key is ever replaced: a second put of a subject is refused by the
 * server, and a put after an erasure too. nats-server 2.9.10 checks that header with 0
 * when each replica applies the write, in Raft order (stream.go, processJetStreamMsg:
 * "If we are clustered we have prechecked seq > 0"; evs_js.h, "Fencing"), so of two
 * writes racing for one subject one is stored. The per-subject limit refuses what else
 * might write there without that header.
 *
 * Erasure, as nats-server 2.9.10 does it (read at tag v2.9.10, github.com/nats-io/
 * nats-server). The key's message is removed with the message delete request
 * `$JS.API.STREAM.MSG.DELETE.<stream>` without "no_erase" (libnats's js_EraseMsg()):
 *  - jetstream_api.go, jsMsgDeleteRequest: refused when the stream denies deletes; in a
 *    cluster handed to jetstream_cluster.go, jsClusteredMsgDeleteRequest, which proposes a
 *    deleteMsgOp to the stream's Raft group. Each replica applies it in applyStreamEntries:
 *    "if md.NoErase { mset.removeMsg } else { mset.eraseMsg }"; the leader answers once it
 *    applied it, after a quorum stored the entry.
 *  - stream.go, eraseMsg -> the store's EraseMsg; filestore.go, EraseMsg -> removeMsg(seq,
 *    secure = true) -> msgBlock.eraseMsg: the message's record in its block file is
 *    written over in place (WriteAt, then Sync) with a header that marks it erased, random
 *    bytes over its subject, headers and data, and a new checksum; the same in the block's
 *    cache. Not when the store is encrypted at rest (removeMsg: "If in encrypted mode
 *    negate secure rewrite here"): then the record stays, encrypted.
 * Then the tombstone is written (naming subject sequence 0 again: when a put slipped in
 * between, that key is erased too, and the tombstone tried again). So a get afterwards says
 * EVS_ERASED, from every server, and a put EVS_ERASED. Erasing is idempotent: a subject
 * with a tombstone is left as it is; a subject never stored gets one.
 *
 * What the overwrite does not reach (nats-server 2.9.10):
 *  - The Raft log of the stream's group on each server (`jetstream/$SYS/_js_/S-R3F-<id>/
 *    msgs/<n>.blk` in its store folder): each put is an entry there, the key's bytes in
 *    clear, until the server's next snapshot of the stream compacts its log. monitorStream
 *    (jetstream_cluster.go) snapshots on a ticker of compactInterval, 2 minutes, plus a
 *    random part of up to 1 minute fixed when the stream starts (rci); when the log passes
 *    65536 entries or 8 MiB; and, on a server that has no snapshot of the stream yet
 *    (raft.go, NeedSnapshot), when it restarts or becomes the stream's leader. Then
 *    InstallSnapshot (raft.go) compacts the log (filestore.go, Compact: the blocks before the
 *    snapshot's entry are removed, the one holding it is rewritten when most of it goes).
 *    Nothing here can ask for a snapshot. Seen in tests/cluster/js_vault.c: right after
 *    the erasure the key is in no stream file of any node and in the Raft log of all
 *    three; the node that neither restarted nor took the lead held it 136, 160 and 164 s
 *    after the erasure (three runs), the other two were clean at the first look (7 to
 *    11 s after it).
 *    So count on up to 3 minutes per server for the erased key to leave its files, one
 *    more period when the server's snapshot is refused because it is catching a replica
 *    up (raft.go, InstallSnapshot: errCatchupsRunning).
 *  - A replica that was down when the key was erased and catches up from the leader's
 *    snapshot instead of its log applies the deletes it missed with RemoveMsg, not
 *    EraseMsg (jetstream_cluster.go, processSnapshotDeletes): its copy of the record stays
 *    in its block file until the block is compacted or removed (read in the sources, not
 *    tested here).
 *  - Disk blocks of removed or rewritten files that the file system has not reused yet (use
 *    encrypted disks), and copies or backups of the servers' store folders.
 * The tombstone keeps the data subject's name (in hex), as the log keeps it.
 *
 * Secrecy. Keys are stored as they are: the servers' store folders, and every connection
 * that may publish or read on `tp.vault.>` or use `$JS.API.STREAM.*.TPVAULT_*`, are as
 * secret as the keys (use TLS, evs_js_opts_t.tls_ca, and NATS permissions). libnats keeps
 * a key in its messages and its write buffer while it is sent (this module zeroes the
 * messages it gets back before freeing them) and a read key in the message it receives.
 *
 * Threads: one thread at a time per handle; several handles may share one evs_js_t.
 */
#ifndef EVS_JS_VAULT_H
#define EVS_JS_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evs_js.h"
#include "evs_vault.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _evs_js_vault_t evs_js_vault_t;

/** What a tombstone holds: the message of an erased subject. */
#define EVS_JS_VAULT_ERASED "erased"

/**
 * @brief The keys' stream of service @p service: checked, and created when missing and
 * EVS_JS_CREATE is given (see "The stream" above).
 * @param[in] service 1..EVS_JS_MAX_NAME bytes of [a-z0-9_-]
 * @param[out] out the handle (it borrows @p js: destroy it first); NULL on failure
 * @return 0, EVS_NOTFOUND (missing, and no EVS_JS_CREATE), EVS_MISMATCH (evs_js_error()
 *         names the setting), EVS_INVALID (a bad name), EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT,
 *         EVS_JS_SERVER, -ENOMEM
 */
int evs_js_vault_open(evs_js_t *js, const char *service, unsigned flags, evs_js_vault_t **out);

/** Free the handle (the stream stays); sets *self_p to NULL. Safe on NULL or twice. */
void evs_js_vault_destroy(evs_js_vault_t **self_p);

/** The stream's name ("TPVAULT_ORDER"). */
const char *evs_js_vault_stream(const evs_js_vault_t *self);

/**
 * @brief The stream's sequences and replication as its leader says now (evs_js_info_t:
 * "groups" are the messages held: keys and tombstones).
 * @return 0, EVS_NOTFOUND, EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER
 */
int evs_js_vault_info(evs_js_vault_t *self, evs_js_info_t *info);

/**
 * @brief Store @p n keys, one per data subject; returns 0 only when every one is stored
 * (acknowledged: a quorum of the stream's servers has it, as evs_js_append()).
 *
 * The keys are published at once, without waiting in between (libnats's asynchronous
 * publish), and their acknowledgements awaited together: about one round trip for the
 * call, not one per key. A subject that already holds the same key counts as stored (a
 * retry): the server refuses the write, and that subject's message is then read to compare
 * it, one round trip per such subject. Writes that got no answer in time or found no
 * leader are sent again until the connection's timeout (evs_js_opts_t.timeout_ms) has
 * passed since the call began.
 * @param[in] subjects n data subjects: 1..EVS_VAULT_SUBJECT_MAX bytes of printable ASCII
 *            each; a subject given twice must come with the same key
 * @param[in] keys n keys of EVS_VAULT_KEY_SIZE bytes
 * @return 0; EVS_CONFLICT (a subject holds another key: never replaced); EVS_ERASED (a
 *         subject was erased: it never gets a key again); EVS_INVALID (a bad subject, or
 *         NULL arrays with n > 0: nothing sent); EVS_JS_TIMEOUT, EVS_JS_UNAVAILABLE (some
 *         keys may be stored: put the same keys again); EVS_JS_SERVER; -ENOMEM. On
 *         EVS_CONFLICT and EVS_ERASED the other keys were stored all the same (unless a
 *         timeout came too); evs_js_error() names the first subject that failed and how
 *         many did.
 */
int evs_js_vault_put(evs_js_vault_t *self, const char *const *subjects,
                     const uint8_t (*keys)[EVS_VAULT_KEY_SIZE], size_t n);

/**
 * @brief The key of data subject @p subject, read from the stream's leader.
 * @param[out] key EVS_VAULT_KEY_SIZE bytes (the caller's copy: zero it when done)
 * @return 0; EVS_NOTFOUND (never stored, or no stream); EVS_ERASED (erased: a tombstone);
 *         EVS_INVALID (a bad subject); EVS_CORRUPT (a message that is neither a key nor a
 *         tombstone); EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER
 */
int evs_js_vault_get(evs_js_vault_t *self, const char *subject, uint8_t key[EVS_VAULT_KEY_SIZE]);

/**
 * @brief Erase data subject @p subject: its key's message is written over with random
 * bytes and removed on every replica (see "Erasure" above), then a tombstone is written.
 * Idempotent; a subject never stored gets a tombstone (it never gets a key).
 * @return 0 (erased now or before); EVS_INVALID (a bad subject); EVS_CONFLICT (a put of
 *         the subject slipped in before the tombstone five times running); EVS_CORRUPT (see
 *         evs_js_vault_get()); EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT (try again: the key may
 *         be gone and the tombstone not written yet, when a get says EVS_NOTFOUND);
 *         EVS_JS_SERVER (e.g. the stream denies deletes)
 */
int evs_js_vault_erase(evs_js_vault_t *self, const char *subject);

/** Called by evs_js_vault_each() per data subject: @p key is NULL for an erased one. Both
 *  are valid during the call. Return non-zero to stop. */
typedef int(evs_js_vault_each_fn)(const char *subject, const uint8_t *key, void *arg);

/**
 * @brief Call @p fn for each data subject of the stream (for an export), in the order they
 * were stored, each once: what the stream held when the call began, read from the leader
 * one message after the other (one round trip per message; tests/cluster/js_vault.c
 * prints the rate).
 * @return 0, fn's non-zero value when it stopped, EVS_CORRUPT (a message that is not ours),
 *         EVS_NOTFOUND (no stream), EVS_JS_UNAVAILABLE, EVS_JS_TIMEOUT, EVS_JS_SERVER
 */
int evs_js_vault_each(evs_js_vault_t *self, evs_js_vault_each_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
