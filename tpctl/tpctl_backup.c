/* tpctl_backup.c: `tpctl log backup DIR DEST` and `tpctl log restore SRC DIR [--replace]`:
 * hot, verified copies of a service's log (with its key and its key store), and their way
 * back (evs_backup.h). */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "evs_backup.h"
#include "svc_lock.h"
#include "tpctl.h"

/* The one JSON line both print: the log's head, what was copied with it (the key, the
 * key store and its keys) and where. */
static void s_print(const evs_backup_t *rep, const char *key, const char *where,
                    const char *replaced)
{
    char hash[EVS_HASH_SIZE * 2 + 1];
    sodium_bin2hex(hash, sizeof hash, rep->head_hash, EVS_HASH_SIZE);
    json_t *j = json_object();
    json_object_set_new(j, "service", json_string(rep->service));
    json_object_set_new(j, "headSeq", json_integer((json_int_t) rep->head_seq));
    json_object_set_new(j, "headHash", json_string(hash));
    json_object_set_new(j, "events", json_integer((json_int_t) rep->events));
    json_object_set_new(j, "bytes", json_integer((json_int_t) rep->bytes));
    json_object_set_new(j, "secretKey", json_boolean(rep->secret));
    json_object_set_new(j, "vault", json_boolean(rep->vault));
    json_object_set_new(j, "vaultKeys", json_integer((json_int_t) rep->vault_keys));
    json_object_set_new(j, key, json_string(where));
    if (replaced)
        json_object_set_new(j, "replaced", json_string(replaced));
    char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", line);
    free(line);
    json_decref(j);
}

int tpctl_log_backup(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tpctl log backup DIR DEST\n");
        return 2;
    }
    evs_backup_t rep;
    if (evs_backup(argv[0], argv[1], &rep) != 0) {
        fprintf(stderr, "tpctl: no backup made: %s\n", rep.reason);
        return 1;
    }
    if (!rep.secret)
        fprintf(stderr, "tpctl: %s has no secret.key: the backup holds the log alone\n", argv[0]);
    s_print(&rep, "dest", argv[1], NULL);
    return 0;
}

int tpctl_log_restore(int argc, char **argv)
{
    const char *src = NULL, *dir = NULL;
    bool replace = false, bad = false;
    for (int i = 0; i < argc; i++) {
        if (streq(argv[i], "--replace"))
            replace = true;
        else if (argv[i][0] == '-' || (src && dir))
            bad = true;
        else if (!src)
            src = argv[i];
        else
            dir = argv[i];
    }
    if (bad || !dir) {
        fprintf(stderr, "usage: tpctl log restore SRC DIR [--replace]\n");
        return 2;
    }
    /* the service's own lock: no service runs on DIR while its log is changed, and one
     * that starts meanwhile is refused, naming this process */
    struct stat st;
    bool made = stat(dir, &st) != 0 && errno == ENOENT;
    char why[1400];
    svc_lock_t *lock = svc_lock_dir(dir, why, sizeof why);
    if (!lock) {
        fprintf(stderr, "tpctl: not restoring: %s\n", why);
        return 1;
    }
    char aside[PATH_MAX + 32], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    snprintf(aside, sizeof aside, "%.*s.replaced-%s", (int) n, dir, stamp);
    evs_backup_t rep;
    int rc = evs_restore(src, dir, replace ? aside : NULL, &rep);
    if (rc != 0 && made) {
        /* nothing to keep in a folder this restore made: leave no empty log folder */
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/" SVC_LOCK_FILE, dir);
        unlink(path);
        rmdir(dir);
    }
    svc_lock_destroy(&lock);
    if (rc != 0) {
        fprintf(stderr, "tpctl: not restored: %s%s\n", rep.reason,
                rc == -EEXIST && !replace ? " (--replace moves it aside)" : "");
        return 1;
    }
    if (!rep.secret)
        fprintf(stderr,
                "tpctl: %s has no secret.key: the service makes a new one at start, "
                "and the links in mails it sent before stop working\n",
                src);
    s_print(&rep, "dir", dir, replace && access(aside, F_OK) == 0 ? aside : NULL);
    return 0;
}
