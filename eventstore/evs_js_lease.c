/* evs_js_lease.c: the one-writer lease of a service, a key in the key-value bucket
 * tp_leases: taken, renewed and released by compare-and-set on the key's revision.
 *
 * The bucket is made and read with libnats's key-value API (js_CreateKeyValue,
 * kvStore_Get, kvStore_Watch). The three writes are published here on the key's subject
 * with the headers libnats's kvStore_Create / kvStore_Update would send (kv.c of libnats
 * 3.4.1: Nats-Expected-Last-Subject-Sequence, 0 as "no message"), for two reasons: those
 * calls do not return JetStream's error code, which tells "another holds it" (10071,
 * wrong last sequence) from a failure; and libnats 3.4.1's kvStore_Delete cannot name a
 * revision, so it could delete a lease another instance has taken meanwhile. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "evs_js_internal.h"

/* The key-value bucket's header for deletes (libnats kv.h, nats-server's KV). */
#define S_KV_OP "KV-Operation"

struct _evs_js_lease_t {
    evs_js_t *js;                       /* the connection (borrowed) */
    kvStore *kv;                        /* the bucket */
    kvWatcher *watcher;                 /* evs_js_lease_watch()'s, from its first call */
    char key[EVS_JS_MAX_NAME + 1];      /* the service */
    char instance[EVS_JS_MAX_NAME + 1]; /* our id: the value we write */
    char subject[EVS_JS_MAX_NAME + 32]; /* "$KV.tp_leases.<service>" */
    uint64_t revision;                  /* our last write of the key; 0: not held */
};

int evs_js_lease_new(evs_js_t *js, const char *service, const char *instance, int ttl_ms,
                     evs_js_lease_t **out)
{
    *out = NULL;
    if (!evs_jsi_service_ok(service) || !evs_jsi_id_ok(instance) || ttl_ms < 100)
        return evs_jsi_fail(EVS_INVALID, "lease: bad service \"%s\", instance \"%s\" or TTL %d",
                            service ? service : "", instance ? instance : "", ttl_ms);
    evs_js_lease_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->js = js;
    snprintf(self->key, sizeof self->key, "%s", service);
    snprintf(self->instance, sizeof self->instance, "%s", instance);
    snprintf(self->subject, sizeof self->subject, "$KV.%s.%s", EVS_JS_LEASE_BUCKET, service);
    int64_t ttl_ns = (int64_t) ttl_ms * 1000000;
    natsStatus s = js_KeyValue(&self->kv, js->js, EVS_JS_LEASE_BUCKET);
    if (s == NATS_NOT_FOUND) {
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = EVS_JS_LEASE_BUCKET;
        cfg.Description = "trustportal: the active instance of each service (evs_js.h)";
        cfg.History = 1;
        cfg.TTL = ttl_ns;
        cfg.StorageType = js_FileStorage;
        cfg.Replicas = js->replicas;
        s = js_CreateKeyValue(&self->kv, js->js, &cfg);
    }
    int rc = evs_jsi_status(s, 0, "lease bucket " EVS_JS_LEASE_BUCKET);
    kvStatus *st = NULL;
    if (rc == 0)
        rc = evs_jsi_status(kvStore_Status(&st, self->kv), 0, "lease bucket status");
    if (rc == 0 && (kvStatus_TTL(st) != ttl_ns || kvStatus_Replicas(st) < js->replicas))
        rc = evs_jsi_fail(EVS_MISMATCH,
                          "lease bucket %s: max age %" PRId64 " ms and %" PRId64
                          " replicas, configured %d ms and %d",
                          EVS_JS_LEASE_BUCKET, kvStatus_TTL(st) / 1000000, kvStatus_Replicas(st),
                          ttl_ms, js->replicas);
    kvStatus_Destroy(st);
    if (rc != 0) {
        evs_js_lease_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

void evs_js_lease_destroy(evs_js_lease_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_js_lease_t *self = *self_p;
    kvWatcher_Destroy(self->watcher);
    kvStore_Destroy(self->kv);
    free(self);
    *self_p = NULL;
}

/* Writes the key, when its last revision is @p last (0: it has none) and, when
 * @p bucket_last is not 0, the bucket's last sequence is that: our instance id, or a
 * delete marker when @p del. The new revision into *rev. */
static int s_write(evs_js_lease_t *self, bool del, uint64_t last, uint64_t bucket_last,
                   const char *what, uint64_t *rev)
{
    natsMsg *m = NULL;
    const char *value = del ? NULL : self->instance;
    natsStatus s = natsMsg_Create(&m, self->subject, NULL, value, value ? (int) strlen(value) : 0);
    if (s == NATS_OK && del)
        s = natsMsgHeader_Set(m, S_KV_OP, "DEL");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = last;
    po.ExpectNoMessage = last == 0;
    po.ExpectLastSeq = bucket_last;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK)
        s = js_PublishMsg(&pa, self->js->js, m, &po, &jerr);
    natsMsg_Destroy(m);
    char text[EVS_JS_MAX_NAME * 2 + 64];
    snprintf(text, sizeof text, "lease %s: %s as %s", self->key, what, self->instance);
    int rc = evs_jsi_status(s, jerr, text);
    if (rc == 0)
        *rev = pa->Sequence;
    jsPubAck_Destroy(pa);
    return rc;
}

/* Whether the key's last entry is a delete marker: its revision into *rev, and the
 * bucket's last sequence, read before it, into *bucket_last. */
static bool s_released(evs_js_lease_t *self, uint64_t *rev, uint64_t *bucket_last)
{
    jsStreamInfo *si = NULL;
    natsMsg *m = NULL;
    const char *op = NULL;
    bool released =
        js_GetStreamInfo(&si, self->js->js, "KV_" EVS_JS_LEASE_BUCKET, NULL, NULL) == NATS_OK &&
        js_GetLastMsg(&m, self->js->js, "KV_" EVS_JS_LEASE_BUCKET, self->subject, NULL, NULL) ==
            NATS_OK &&
        natsMsgHeader_Get(m, S_KV_OP, &op) == NATS_OK && op &&
        (strcmp(op, "DEL") == 0 || strcmp(op, "PURGE") == 0);
    if (released) {
        *rev = natsMsg_GetSequence(m);
        *bucket_last = si->State.LastSeq;
    }
    natsMsg_Destroy(m);
    jsStreamInfo_Destroy(si);
    return released;
}

int evs_js_lease_acquire(evs_js_lease_t *self)
{
    uint64_t rev = 0, released, bucket_last;
    int rc = s_write(self, false, 0, 0, "acquire", &rev);
    /* Over a delete marker its revision is named, which nats-server before 2.9.21 only
     * checks on the leader before it proposes (issue 4320): two instances could both take
     * the lease. The bucket's last sequence is named too, which every version checks when
     * the write is applied: of two racing, one is refused. A write of another key in
     * between refuses ours as well: look again, a few times. */
    for (int tries = 0;
         rc == EVS_CONFLICT && tries < 5 && s_released(self, &released, &bucket_last); tries++)
        rc = s_write(self, false, released, bucket_last, "acquire after a release", &rev);
    if (rc == 0)
        self->revision = rev;
    return rc;
}

/* Renews (our id again) or releases (a delete marker) the lease we hold. */
static int s_rewrite(evs_js_lease_t *self, bool release)
{
    const char *what = release ? "release" : "renew";
    if (!self->revision)
        return evs_jsi_fail(EVS_INVALID, "lease %s: %s: not held by %s", self->key, what,
                            self->instance);
    uint64_t rev = 0;
    int rc = s_write(self, release, self->revision, 0, what, &rev);
    if (rc == 0 && !release)
        self->revision = rev;
    else if (rc == EVS_CONFLICT || release)
        self->revision = 0; /* expired, perhaps taken; or given up */
    return rc;
}

int evs_js_lease_renew(evs_js_lease_t *self)
{
    return s_rewrite(self, false);
}
int evs_js_lease_release(evs_js_lease_t *self)
{
    return s_rewrite(self, true);
}

bool evs_js_lease_held(const evs_js_lease_t *self)
{
    return self->revision != 0;
}

/* Copies the entry's value (an instance id) into @p instance. */
static void s_value(kvEntry *e, char *instance)
{
    int len = kvEntry_ValueLen(e);
    if (len < 0 || len > EVS_JS_MAX_NAME)
        len = 0;
    if (len)
        memcpy(instance, kvEntry_Value(e), (size_t) len);
    instance[len] = '\0';
}

int evs_js_lease_holder(evs_js_lease_t *self, char *instance, uint64_t *revision)
{
    instance[0] = '\0';
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, self->kv, self->key);
    char what[EVS_JS_MAX_NAME + 32];
    snprintf(what, sizeof what, "lease %s: holder", self->key);
    int rc = evs_jsi_status(s, 0, what);
    if (rc == 0) {
        s_value(e, instance);
        if (revision)
            *revision = kvEntry_Revision(e);
    }
    kvEntry_Destroy(e);
    return rc;
}

int evs_js_lease_watch(evs_js_lease_t *self, int timeout_ms, char *instance)
{
    instance[0] = '\0';
    char what[EVS_JS_MAX_NAME + 32];
    snprintf(what, sizeof what, "lease %s: watch", self->key);
    if (!self->watcher) {
        int rc = evs_jsi_status(kvStore_Watch(&self->watcher, self->kv, self->key, NULL), 0, what);
        if (rc != 0)
            return rc;
    }
    int64_t deadline = zclock_mono() + timeout_ms;
    for (;;) {
        int64_t left = deadline - zclock_mono();
        kvEntry *e = NULL;
        natsStatus s = left > 0 ? kvWatcher_Next(&e, self->watcher, left) : NATS_TIMEOUT;
        int rc = evs_jsi_status(s, 0, what);
        if (rc != 0)
            return rc;
        if (!e)
            continue; /* the mark after the key as it was: not a change */
        kvOperation op = kvEntry_Operation(e);
        if (op == kvOp_Put)
            s_value(e, instance);
        kvEntry_Destroy(e);
        return op == kvOp_Put ? 0 : EVS_NOTFOUND;
    }
}
