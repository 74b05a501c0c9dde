/* evs_files.c: paths, flushes, removals and LMDB's copies in the event store's folders
 * (evs_backup.c, evs_vault.c). */
#include "evs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* MDB_MAP_RESIZED retries of a copy: the writer grew the map between the open and the
 * copy's read transaction; each retry adopts the new size. */
#define S_RESIZE_TRIES 16

int evsi_path(char *out, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + 1 + b >= PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 0;
}

bool evsi_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int evsi_fsync(const char *path, bool folder)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int evsi_split(const char *path, char *out, char *parent)
{
    if (snprintf(out, PATH_MAX, "%s", path) >= PATH_MAX)
        return -ENAMETOOLONG;
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    snprintf(parent, PATH_MAX, "%s", out);
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, PATH_MAX, ".");
    else
        slash[slash == parent] = '\0'; /* "/x" keeps its "/" */
    return 0;
}

void evsi_remove(const char *dir, const char *const *names, size_t n)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < n; i++)
        if (evsi_path(path, dir, names[i]) == 0)
            unlink(path);
    rmdir(dir);
}

int evsi_env_copy(MDB_env *env, const char *dir)
{
    char file[PATH_MAX];
    int rc = evsi_path(file, dir, "data.mdb");
    if (rc)
        return rc;
    rc = MDB_MAP_RESIZED;
    for (int i = 0; i < S_RESIZE_TRIES && rc == MDB_MAP_RESIZED; i++) {
        rc = mdb_env_copy2(env, dir, MDB_CP_COMPACT);
        if (rc == MDB_MAP_RESIZED) {
            unlink(file); /* LMDB made it before its read transaction was refused */
            int rc2 = mdb_env_set_mapsize(env, 0);
            rc = rc2 ? rc2 : rc;
        }
    }
    /* LMDB makes the copy 0666 less the umask: it is for its owner alone */
    if (rc == 0 && chmod(file, 0600) != 0)
        rc = -errno;
    if (rc == 0)
        rc = evsi_fsync(file, false);
    return evsi_rc(rc);
}
