/* logcheck.c: reading a service's log from a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs_vault.h"
#include "logcheck.h"
#include "svc_seal.h"
#include "tp_types.h"

typedef struct {
    void (*fn)(const Tp__Envelope *, void *);
    void *arg;
    int64_t n;
    evs_vault_t *vault;   /* the service's key store, when it has one */
} s_each_t;

static int s_one(const evs_record_t *rec, void *arg)
{
    s_each_t *e = arg;
    Tp__Envelope *env = tp__envelope__unpack(NULL, rec->len, rec->data);
    if (!env)
        return -1;
    /* personal fields opened, as the service's own state sees them */
    const ProtobufCMessageDescriptor *d = tp_types_find(NULL, env->event_type);
    uint8_t *opened = NULL;
    size_t len = 0;
    if (e->vault && d) {
        char ad[3 * EVS_MAX_ID + 64];
        svc_seal_event_ad(ad, sizeof ad, env->event_id, strlen(env->event_id), env->stream_id,
                          strlen(env->stream_id), env->event_type, strlen(env->event_type));
        svc_unseal(d, env->payload.data, env->payload.len, ad, svc_vault_key, e->vault,
                   &opened, &len, NULL);
    }
    ProtobufCBinaryData sealed = env->payload;
    if (opened)
        env->payload = (ProtobufCBinaryData) {len, opened};
    e->fn(env, e->arg);
    env->payload = sealed;
    free(opened);
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
    s_each_t e = {fn, arg, 0, NULL};
    char vdir[600];
    snprintf(vdir, sizeof vdir, "%s/%s", dir, EVS_VAULT_DIR);
    if (evs_vault_open(vdir, true, &e.vault) != 0)
        e.vault = NULL;
    int rc = evs_read(store, 1, UINT64_MAX, 0, s_one, &e);
    evs_vault_close(&e.vault);
    evs_destroy(&store);
    return rc == 0 ? e.n : -1;
}
