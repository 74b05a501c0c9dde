/* evs_check.c: what the event store's self-tests share besides their checks (evs_check.h). */
#include "evs_check.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool evs_check_mode(const char *path, mode_t mode)
{
    struct stat st;
    return stat(path, &st) == 0 && (st.st_mode & 0777) == mode;
}

bool evs_check_none_like(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    bool none = d != NULL;
    for (struct dirent *e; none && (e = readdir(d));)
        none = strncmp(e->d_name, prefix, strlen(prefix)) != 0;
    if (d)
        closedir(d);
    return none;
}

void evs_check_close_pipes(int a[2], int b[2])
{
    for (int i = 0; i < 2; i++) {
        if (a[i] >= 0)
            close(a[i]);
        if (b[i] >= 0)
            close(b[i]);
        a[i] = b[i] = -1;
    }
}

static int s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove(path);
}

void evs_check_rmtree(const char *dir)
{
    nftw(dir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
