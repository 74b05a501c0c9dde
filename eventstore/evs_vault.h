/* evs_vault.h: a service's key store for crypto-shredding: one random key per data subject,
 * kept apart from the log, and deleted when the subject is erased.
 *
 * Personal data in events is sealed per data subject (e.g. "order:TP-2026-000042",
 * "account:acc-1f3a...") with libsodium's XChaCha20-Poly1305 under that subject's key.
 * The keys are never written into events: they live in this store, an LMDB environment
 * of the service's own in the folder `<data folder>/vault/` (EVS_VAULT_DIR) beside the
 * log. Erasing a subject deletes its key, which leaves what was sealed with it unreadable
 * in the log and in every copy of the log.
 *
 * Named databases:
 *  - `keys`    "<subject>" -> its key, EVS_VAULT_KEY_SIZE raw bytes.
 *  - `erased`  "<subject>" -> a tombstone: i64 erased_at_us (host byte order), then the
 *              reason (ASCII, no NUL).
 *  - `meta`    "format" -> u32 format version; "compact" -> one byte, there while the
 *              rewrite of an erasure (below) is due.
 * A subject is in `keys` or in `erased`, never in both; once erased, never again in `keys`.
 *
 * Secrecy: the keys are stored as they are, not wrapped with another key. The folder
 * (0700) and its files (0600) are as secret as the service's secret.key: whoever has a
 * copy of the folder and of the log reads every sealed value of a subject not erased. A
 * folder or data.mdb that its group or others may use is refused at open. In memory,
 * pending keys are kept in sodium_malloc()'ed memory (guarded, zeroed when freed);
 * a key handed out is the caller's copy to zero (sodium_memzero()).
 *
 * Two steps, as for the events sealed with a key: evs_vault_get_or_create() makes a key
 * in memory (pending), evs_vault_commit() writes all pending keys in one durable write
 * transaction, and only after that does the service commit the events sealed with them.
 * A crash in between loses keys that no event used.
 *
 * Erasure: evs_vault_erase() deletes the subjects' keys and keeps a tombstone for each
 * in one durable transaction. LMDB never overwrites a page in place, so the old
 * versions of the pages that held a key stay in the file as free pages until reused,
 * and the free space within a page may still hold a deleted record's bytes. So the
 * store is then rewritten with LMDB's compacting copy (mdb_env_copy2() with
 * MDB_CP_COMPACT: only the used parts of the pages in use) into a fresh folder beside
 * it, "<dir>.swap-XXXXXX", which is fsync'ed and exchanged with the store's folder in
 * one step (renameat2 RENAME_EXCHANGE: the file system must have it, as ext4, XFS,
 * Btrfs and tmpfs do); then the old files are removed. Only LMDB writes LMDB's files.
 * The erasing transaction sets meta "compact", which the rewrite clears: a writer that
 * opens a store with it set (a crash during the rewrite) rewrites it then, after
 * removing every "<dir>.swap-*" folder (a rewrite's copy, or the old files). What this
 * does not reach: blocks of removed files that the file system has not reused yet (use
 * an encrypted disk), the up to 7 bytes at either edge of a page's free space that
 * LMDB's copy takes along (it copies in words), copies of the folder made before the
 * erasure (a backup restored from before brings the key back), and a read-only handle
 * opened before it, which reads the old files until closed.
 *
 * Threads and processes: a handle belongs to one thread. The service's loop is the store's
 * only writer; tools (tpctl) open it read-only, in other processes, beside the running
 * service. A read-only handle sees what the writer commits up to and including the
 * writer's next erasure, which swaps the folder: reopen it to see later commits. It opens
 * the store's two files through one descriptor of the folder (/proc/self/fd), so that both
 * come from the same folder even while it is swapped. LMDB forbids opening the same
 * environment twice in one process: one handle per store and process.
 */
#ifndef EVS_VAULT_H
#define EVS_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evs.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The key store's folder inside a data folder. */
#define EVS_VAULT_DIR "vault"
/** Size of a subject's key (crypto_aead_xchacha20poly1305_ietf_KEYBYTES). */
#define EVS_VAULT_KEY_SIZE 32
/** Longest subject name, in bytes (printable ASCII, at least one). */
#define EVS_VAULT_SUBJECT_MAX 200
/** Longest reason of an erasure, in bytes (printable ASCII; may be empty). */
#define EVS_VAULT_REASON_MAX 200

typedef struct evs_vault evs_vault_t;

/**
 * @brief Open the key store in folder @p dir (e.g. "<data folder>/" EVS_VAULT_DIR).
 *
 * For writing, the folder is made (0700) when missing (its parent must exist), with
 * LMDB's files in it (0600); folders "<dir>.swap-*" that an erasure left behind are
 * removed, and an erasure's rewrite that did not finish is done now.
 * @param[in] read_only for tools that must not write (tpctl): nothing is made or changed;
 *            evs_vault_get_or_create() gives existing keys only
 * @param[out] out the handle; NULL on failure
 * @return 0; -ENOENT (read-only: no store in @p dir; for writing: no parent folder);
 *         -EPERM when the folder or its data.mdb may be used by group or others;
 *         EVS_INVALID (@p dir names no folder: "", "/", ".", ".."); EVS_MISMATCH (a store of
 *         another format); EVS_CORRUPT (a database or the format is missing); an LMDB
 *         code or -errno
 */
int evs_vault_open(const char *dir, bool read_only, evs_vault_t **out);

/**
 * @brief Close the store and free the handle; pending keys are zeroed and dropped (never
 * written). Sets *self_p to NULL; safe on NULL and twice.
 */
void evs_vault_close(evs_vault_t **self_p);

/**
 * @brief The key of @p subject, pending ones included.
 * @param[out] key EVS_VAULT_KEY_SIZE bytes: the caller's copy (zero it when done)
 * @param[out] erased_at_us for an erased subject, when it was erased; may be NULL
 * @return 0; EVS_NOTFOUND (the subject never had a key); EVS_ERASED (it was erased);
 *         EVS_INVALID (not a subject name); EVS_CORRUPT (a record of the wrong size); an
 *         LMDB code
 */
int evs_vault_get(evs_vault_t *self, const char *subject, uint8_t key[EVS_VAULT_KEY_SIZE],
                  int64_t *erased_at_us);

/**
 * @brief evs_vault_get(), but a subject without a key gets a fresh random one
 * (randombytes_buf()), pending in memory until evs_vault_commit(). An erased subject never
 * gets a key again.
 * @param[out] key as evs_vault_get()
 * @return 0; EVS_ERASED; EVS_RDONLY_ERR (a new key on a read-only handle); -ENOMEM; the
 *         codes of evs_vault_get() but EVS_NOTFOUND
 */
int evs_vault_get_or_create(evs_vault_t *self, const char *subject,
                            uint8_t key[EVS_VAULT_KEY_SIZE]);

/**
 * @brief Keep @p key for @p subject, pending until evs_vault_commit(), as a key made
 * elsewhere (another instance of the service made it: a replicated key store holds it).
 * @return 0 (also when the subject has this very key already); EVS_CONFLICT (it has
 *         another key); EVS_ERASED; EVS_INVALID; EVS_RDONLY_ERR; -ENOMEM
 */
int evs_vault_put(evs_vault_t *self, const char *subject, const uint8_t key[EVS_VAULT_KEY_SIZE]);

/**
 * @brief The pending keys (to copy them elsewhere before evs_vault_commit()): their
 * subjects and their keys, EVS_VAULT_KEY_SIZE bytes each, one after the other; valid
 * until the next call that changes the store.
 * @return how many
 */
size_t evs_vault_pending_list(const evs_vault_t *self, const char *const **subjects,
                              const uint8_t **keys);

/** @brief Drop the pending keys (zeroed): the events sealed with them are not written. */
void evs_vault_discard(evs_vault_t *self);

/** @brief Whether keys are pending (made and not yet committed). */
bool evs_vault_pending(const evs_vault_t *self);

/**
 * @brief Write the pending keys in one LMDB write transaction, durably (fsync'ed when it
 * returns 0): commit the events sealed with them only after that. A full map is grown and
 * the transaction redone. On failure the keys stay pending (evs_vault_get() still gives
 * them); a service then stops, and its events sealed with them are never written. The
 * store, opened again, has all of a failed commit's keys or none (a write reported as
 * failed may still have reached the disk).
 * @return 0 (also when nothing was pending); EVS_RDONLY_ERR; an LMDB code (MDB_PANIC
 *         after a failed write of LMDB's meta page: the handle is then of no more use) or
 *         -errno (-EIO, -ENOSPC)
 */
int evs_vault_commit(evs_vault_t *self);

/**
 * @brief Erase @p n subjects: delete their keys (pending ones too) and keep a tombstone
 * for each, in one durable transaction; then rewrite the store so that no copy of a
 * deleted key stays in its files (see the top of this file). A subject erased before
 * keeps its first tombstone; an unknown one gets a tombstone (it never gets a key).
 * Subjects and reason are checked first: a bad one and nothing is done.
 * @param[in] subjects n subject names
 * @param[in] reason a short reason, printable ASCII, up to EVS_VAULT_REASON_MAX bytes;
 *            NULL for none
 * @param[in] at_us when (the caller's clock, microseconds since the epoch)
 * @return 0; EVS_INVALID (a subject or the reason); EVS_RDONLY_ERR; an LMDB code or -errno.
 *         An error from the rewrite comes after the erasure was committed: the subjects
 *         are erased, their keys' bytes may still be in the old files, and the next open
 *         for writing rewrites again. When the store could not be opened again after the
 *         swap, every later call on the handle returns that error: close it.
 */
int evs_vault_erase(evs_vault_t *self, const char *const *subjects, size_t n, const char *reason,
                    int64_t at_us);

/**
 * Called by evs_vault_each() per subject: @p reason is "" for a subject with a key, and
 * @p erased_at_us 0. The strings are valid during the call. Return non-zero to stop.
 * It must not call evs_vault_commit() or evs_vault_erase().
 */
typedef int(evs_vault_each_fn)(const char *subject, bool erased, int64_t erased_at_us,
                               const char *reason, void *arg);

/**
 * @brief Call @p fn for every subject of the store (committed keys and tombstones, not
 * pending keys), in key order (LMDB's: bytes, then length), in one read transaction.
 * @return 0, @p fn's non-zero value when it stopped, EVS_CORRUPT (a record of the wrong
 *         size), or an LMDB code
 */
int evs_vault_each(evs_vault_t *self, evs_vault_each_fn *fn, void *arg);

/**
 * @brief How many subjects have a committed key, and how many are erased (for status;
 * both 0 when the store cannot be read).
 */
void evs_vault_counts(evs_vault_t *self, uint64_t *keys, uint64_t *erased);

/**
 * @brief A copy of the store in @p dir for a backup (evs_backup()): LMDB's compacting copy
 * in one read transaction (hot: the service goes on writing meanwhile), into the new
 * folder @p dest (0700) as data.mdb (0600, fsync'ed, and the folder fsync'ed), then opened
 * read-only and read through. Call it from a process that does not have @p dir open.
 * @param[out] keys the keys in the copy; may be NULL
 * @return 0; -ENOENT (no store in @p dir); -EEXIST (@p dest exists: nothing is touched);
 *         the codes of evs_vault_open() and evs_vault_each() for the copy; an LMDB code or
 *         -errno. On failure, @p dest is removed.
 */
int evs_vault_copy(const char *dir, const char *dest, uint64_t *keys);

/** Self-test; returns 0 when all passed. */
int evs_vault_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
