/* logcheck.c: reading a service's log from a test. */
#include <stdio.h>
#include "logcheck.h"

typedef struct {
    void (*fn)(const Tp__Envelope *, void *);
    void *arg;
    int64_t n;
} s_each_t;

static int s_one(const evs_record_t *rec, void *arg)
{
    s_each_t *e = arg;
    Tp__Envelope *env = tp__envelope__unpack(NULL, rec->len, rec->data);
    if (!env)
        return -1;
    e->fn(env, e->arg);
    tp__envelope__free_unpacked(env, NULL);
    e->n++;
    return 0;
}

int64_t lc_each(const char *dir, void (*fn)(const Tp__Envelope *env, void *arg), void *arg)
{
    evs_t *store = NULL;
    evs_opts_t opts = {.flags = EVS_RDONLY};
    if (evs_open(dir, &opts, &store) != 0)
        return -1;
    s_each_t e = {fn, arg, 0};
    int rc = evs_read(store, 1, UINT64_MAX, 0, s_one, &e);
    evs_destroy(&store);
    return rc == 0 ? e.n : -1;
}
