/* svc_lock.h: one process per service log: the lock on a service's data folder, taken
 * before its log is opened and before any of its sockets is bound.
 *
 * Two processes serving one log would each decide against their own state in memory
 * and append to the same log (LMDB lets several processes write in turn). And libzmq
 * unlinks an existing ipc socket file when it binds, so a second copy would also take
 * the first one's sockets from under it while the first went on running unreachable.
 *
 * The lock is an flock(2) on `<data folder>/service.lock`. The kernel drops it when its
 * holder ends, however it ends, so a crash never leaves a folder locked and a restart
 * needs no clean-up. It is the service runtime's, not evs_open()'s: the operator's tools
 * (tpctl log dump, verify, stats, replay, backup) read a log while its service runs, and
 * they neither take the lock nor wait for it; `tpctl log restore`, which replaces a log,
 * takes it as the service does (svc_lock_dir()).
 */
#ifndef SVC_LOCK_H
#define SVC_LOCK_H

#include <czmq.h>
#include <stdbool.h>

/** The lock file's name in a service's data folder. */
#define SVC_LOCK_FILE "service.lock"

/** A process's hold on one service's data folder. */
typedef struct _svc_lock_t svc_lock_t;

/**
 * @brief Takes service @p name's data folder (svc_data_dir()) for this process, then
 * makes sure that no other live process serves one of the service's ipc:// endpoints
 * (`pub`, `router`, `producer`): binding would unlink their socket files, as a copy with
 * another data folder but the same run folder would. A socket file nobody accepts on
 * (its process died) is not in the way.
 *
 * Never waits for another holder. The folder is made when missing (0700, as evs_open()
 * makes it, its parents too); the lock file is made 0600 and holds "<pid> <program>\n"
 * of its holder, which is what a refused copy names. Its descriptor is close-on-exec
 * and stays open until svc_lock_destroy() or the end of the process.
 *
 * Within one process the folder lock refuses a second taker too (a lock belongs to the
 * open file, not to the process); the endpoint check does not count this process's
 * own sockets (a previous actor's may still be closing).
 * @param[in] config the service's config (NULL: defaults); borrowed for the call
 * @param[in] name   the instance name: folder, endpoints, and the start of every message
 * @return the lock, or NULL after logging why: the folder is in use ("order: the log in
 *         /srv/tp/data/order is in use by process 1234 (tp-order); not starting"), an
 *         endpoint is served by another process (named the same way), or the folder or
 *         its lock file could not be made (with the system's reason)
 */
svc_lock_t *svc_lock_new(zconfig_t *config, const char *name);

/**
 * @brief Takes the data folder @p dir as svc_lock_new() takes a service's, without the
 * endpoint checks: for a tool that must have a log to itself while it changes it (`tpctl
 * log restore`). The lock file then names this process, so a service started meanwhile
 * is refused and says who holds its folder. Never waits; the folder is made when missing.
 * @param[out] why on failure, why: "the log in /srv/tp/data/order is in use by process
 *             1234 (tp-order)", or the folder or lock file that could not be made, with
 *             the system's reason
 * @return the lock (release it with svc_lock_destroy()), or NULL
 */
svc_lock_t *svc_lock_dir(const char *dir, char *why, size_t whysz);

/**
 * @brief Releases the lock (the file stays for the next holder to overwrite: removing it
 * would let a copy that opened it before lock a file no one else sees); NULLs
 * @p *self_p; safe on NULL and twice.
 */
void svc_lock_destroy(svc_lock_t **self_p);

/** @brief Self-test; 0 when it passes. */
int svc_lock_test(bool verbose);

#endif
