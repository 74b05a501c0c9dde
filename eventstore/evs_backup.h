/* evs_backup.h: a verified copy of a service's log, taken while the service runs, and
 * its way back into a data folder.
 *
 * A backup is a folder with `data.mdb`, written by LMDB's own compacting copy
 * (mdb_env_copy2() with MDB_CP_COMPACT) of the log; `secret.key`, the service's key for
 * the links in its mails, copied as it is (0600); and, when the data folder has a key
 * store (evs_vault.h), `vault/data.mdb`, LMDB's compacting copy of it (0600, in a folder
 * of 0700). The source's `lock.mdb` files (LMDB's reader tables), `service.lock`
 * (svc_lock.h) and an erasure's "vault.swap-*" folders belong to the running folder and
 * are never copied.
 *
 * Consistency: LMDB's copy runs inside one read transaction of a read-only environment,
 * so it is the log as one commit left it, whatever the writer commits meanwhile; the
 * writer never waits for it (it only keeps the pages of that snapshot until the copy
 * ends). The key store is copied the same way, after the log: a service commits a key
 * before the events sealed with it, so the copied store holds every key the copied log
 * needs (and perhaps keys of later events). A subject erased between the two copies has
 * no key in the backup, as in the service. Only LMDB writes LMDB's files: this module
 * calls LMDB to write the copies and then only fsyncs, renames and reads them.
 *
 * A backup holds the keys of the subjects that were not erased when it was taken: a
 * backup made before an erasure holds the erased subject's key, and restoring it brings
 * that key back. Keep backups as private as the data folder, and no longer than needed.
 *
 * Every copy is verified before it is handed over: the log's opened read-only with
 * evs_open() and checked by evs_verify() (the whole hash chain, and the head in meta
 * against the last record), the key store's opened read-only and read through (its format,
 * every record of its size). A copy that fails is removed and never put in place.
 *
 * One process, one environment per log: LMDB forbids opening the same log (or key store)
 * twice in one process (a second open takes the reader table as if no one used it). Call
 * these from a process that does not have the source open, as `tpctl log backup` is,
 * never from the service that writes it.
 */
#ifndef EVS_BACKUP_H
#define EVS_BACKUP_H

#include <stdbool.h>
#include <stdint.h>
#include "evs.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The files of a backup, and of a service's data folder, by name. */
#define EVS_BACKUP_LOG    "data.mdb"
#define EVS_BACKUP_LOCKS  "lock.mdb"
#define EVS_BACKUP_SECRET "secret.key"
/** The key store's folder (EVS_VAULT_DIR); its data.mdb is the store. */
#define EVS_BACKUP_VAULT  "vault"

/** What evs_backup() and evs_restore() made, or why they did not. */
typedef struct {
    uint64_t head_seq;                /**< the copy's head sequence (0: an empty log) */
    uint8_t head_hash[EVS_HASH_SIZE]; /**< and its hash */
    uint64_t events;                  /**< records verified in the copy */
    uint64_t bytes;                   /**< size of the copy's data.mdb */
    bool secret;                      /**< the source had a secret.key, and it was copied */
    bool vault;                       /**< the source had a key store, and it was copied */
    uint64_t vault_keys;              /**< keys in the copied key store */
    char service[64];                 /**< the service named in the log ("" when none) */
    char reason[300];                 /**< on failure: the step, the file, and why */
} evs_backup_t;

/**
 * @brief Copy the log in folder @p dir into the new folder @p dest, hot and consistent.
 *
 * Works on a log whose service is running. The copy is made in a fresh folder beside
 * @p dest ("<dest>.tmp-XXXXXX", 0700): LMDB's compacting copy (free pages left out)
 * writes data.mdb there, which is then fsync'ed and made 0600; `secret.key` is copied
 * (0600, fsync'ed) when @p dir has one; the copy is opened read-only and verified; then,
 * when @p dir has a key store (vault/data.mdb), evs_vault_copy() copies it into vault/
 * and reads the copy through; the folder is fsync'ed and renamed to @p dest without
 * replacing anything
 * (renameat2 RENAME_NOREPLACE), and the folder that holds @p dest is fsync'ed. On any
 * failure the temporary folder is removed and @p dest does not exist (a process killed
 * during the copy leaves the temporary folder, never @p dest).
 *
 * While the copy runs the writer cannot reuse the pages of the copy's snapshot, so a
 * log that takes many commits meanwhile grows by what they write.
 *
 * The copy is the log as of one commit between the call and its return: its head is at
 * least the head @p dir had when the call began. The key store's copy is of a later
 * moment.
 * @param[in] dir the service's data folder (it exists) (or another backup)
 * @param[in] dest the backup folder to make; must not exist; its parent must
 * @param[out] report filled in (head, events, bytes, service, secret, vault and its keys;
 *             reason on failure)
 * @return 0; -EEXIST when @p dest exists (nothing is touched); -ENOENT when @p dir holds
 *         no log or @p dest's parent is missing; EVS_CORRUPT when the copy fails
 *         verification (report->reason names the first bad seq); EVS_MISMATCH when
 *         @p dir holds a log of another format; an LMDB code (MDB_INCOMPATIBLE: LMDB
 *         found the log's pages inconsistent while compacting) or another -errno; the codes
 *         of evs_vault_copy() (report->reason names the key store)
 */
int evs_backup(const char *dir, const char *dest, evs_backup_t *report);

/**
 * @brief Put the log of @p src (a backup, or any log folder) into the data folder @p dir.
 *
 * The caller holds @p dir for itself (svc_lock_dir() in services/common/svc_lock.h):
 * no service may run there. First
 * @p src is verified as it is; then a verified copy is made inside @p dir, as
 * evs_backup() makes one (LMDB's copies of the log and of the key store, fsync'ed); only
 * then is a log already in @p dir (any of data.mdb, lock.mdb, secret.key, vault/) moved
 * into the new folder @p aside (never deleted); then secret.key, vault/ and data.mdb are
 * moved into @p dir, the folder is fsync'ed, and the log is opened read-only and verified
 * again. A key store in @p dir is replaced by @p src's, or moved aside when @p src has
 * none. @p dir must exist (the
 * caller's lock is in it); its service.lock is left alone.
 *
 * A restore cut short (the process killed) leaves a folder ".restore-XXXXXX" in @p dir
 * and either the old files in @p dir, or the old files in @p aside and @p dir without
 * data.mdb (perhaps with the new secret.key); running it again, with another @p aside,
 * finishes it.
 * @param[in] src the folder to restore from
 * @param[in] dir the service's data folder (it exists)
 * @param[in] aside where a log in @p dir goes (a folder that must not exist), or NULL:
 *            then a log in @p dir is refused
 * @param[out] report the restored log (head, events, bytes, service, secret, vault and
 *             its keys; reason on failure)
 * @return 0; -EEXIST when @p dir holds a log and @p aside is NULL, or @p aside exists
 *         (nothing moved); EVS_MISMATCH when the log in @p dir names another service than
 *         @p src's (nothing moved); EVS_CORRUPT when @p src or a copy fails verification
 *         (nothing moved); the codes of evs_backup(); another -errno
 */
int evs_restore(const char *src, const char *dir, const char *aside, evs_backup_t *report);

/** Self-test; returns 0 when all passed. */
int evs_backup_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
