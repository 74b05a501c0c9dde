/* svc_testkit.c: the services' shared test kit (see svc_testkit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "evs_keys.h"
#include "svc_testkit.h"

struct _svc_tk_t {
    char dir[256];       /* the temporary folder */
    char keys[300];      /* its keys folder */
    zconfig_t *config;   /* what the runtimes read */
    zhashx_t *clients;   /* "service/stem" -> evs_client_t */
    evs_keyring_t *ring; /* the keys folder's, for the kit's own ZAP domain */
    char zap[300];       /* that domain ("" when not registered) */
};

/* The kit's own ZAP domain admits nobody: it is there to keep the process's ZAP handler
 * running from svc_tk_new to svc_tk_destroy. The handler stops with the last domain and
 * a new one must bind inproc://zeromq.zap.01 again, which can take a while as long as
 * ZeroMQ's reaper still holds the old socket (evs_keys.c retries for two seconds, then
 * refuses to start): keeping one up spares the tests that wait. */
static bool s_nobody(void *arg, const evs_peer_t *peer)
{
    return false;
}

/* The identities every kit has. */
static const char *const s_test_keys[] = {"gateway", "operator-test", "producer-test", "ident-test",
                                          NULL};

svc_tk_t *svc_tk_new(const char *name, const char *const *services)
{
    svc_tk_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->dir, sizeof self->dir, "/tmp/tp-%s-XXXXXX", name);
    if (!mkdtemp(self->dir)) {
        fprintf(stderr, "testkit: mkdtemp %s: %s\n", self->dir, strerror(errno));
        free(self);
        return NULL;
    }
    snprintf(self->keys, sizeof self->keys, "%s/keys", self->dir);
    self->config = zconfig_new("root", NULL);
    self->clients = zhashx_new();
    zhashx_set_destructor(self->clients, (zhashx_destructor_fn *) evs_client_destroy);
    char path[400];
    snprintf(path, sizeof path, "%s/data", self->dir);
    zconfig_put(self->config, "data", path);
    zconfig_put(self->config, "run", self->dir);
    zconfig_put(self->config, "keys", self->keys);
    /* signed heads on a timer would add events at moments a test does not choose (a
     * clean stop still signs); the witness tests set an interval of their own */
    zconfig_put(self->config, "witness_interval_ms", "3600000");
    for (size_t i = 0; s_test_keys[i]; i++)
        if (svc_tk_key(self, s_test_keys[i]) != 0)
            goto fail;
    for (size_t i = 0; services && services[i]; i++)
        if (svc_tk_key(self, services[i]) != 0)
            goto fail;
    self->ring = evs_keyring_new(self->keys);
    snprintf(self->zap, sizeof self->zap, "svc-tk:%s", self->dir);
    if (!self->ring || evs_zap_add(self->zap, self->ring, s_nobody, NULL) != 0) {
        fprintf(stderr, "testkit: cannot start the ZAP handler\n");
        self->zap[0] = '\0';
        goto fail;
    }
    return self;
fail:
    svc_tk_destroy(&self);
    return NULL;
}

void svc_tk_destroy(svc_tk_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    svc_tk_t *self = *self_p;
    zhashx_destroy(&self->clients);
    if (self->zap[0])
        evs_zap_remove(self->zap);
    evs_keyring_destroy(&self->ring);
    zconfig_destroy(&self->config);
    if (!getenv("TP_KEEP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", self->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "testkit: could not remove %s\n", self->dir);
    }
    else
        fprintf(stderr, "testkit: kept %s\n", self->dir);
    free(self);
    *self_p = NULL;
}

zconfig_t *svc_tk_config(svc_tk_t *self)
{
    return self->config;
}
const char *svc_tk_dir(svc_tk_t *self)
{
    return self->dir;
}
const char *svc_tk_keys(svc_tk_t *self)
{
    return self->keys;
}

int svc_tk_key(svc_tk_t *self, const char *stem)
{
    if (evs_keys_create(self->keys, stem) < 0) {
        fprintf(stderr, "testkit: cannot create the key %s in %s: %s\n", stem, self->keys,
                strerror(errno));
        return -1;
    }
    return 0;
}

zactor_t *svc_tk_start(svc_args_t *args)
{
    zactor_t *actor = zactor_new(svc_actor, args);
    char *status = actor ? zstr_recv(actor) : NULL;
    bool ok = status && streq(status, "READY");
    zstr_free(&status);
    if (!ok)
        zactor_destroy(&actor);
    return actor;
}

const char *svc_tk_stem(const char *role, char *buf, size_t bufsz)
{
    role = role ? role : "";
    if (!*role || streq(role, "customer") || streq(role, "officer"))
        return "gateway";
    if (strncmp(role, "service:", 8) == 0)
        snprintf(buf, bufsz, "%s", role + 8);
    else
        snprintf(buf, bufsz, "%s-test", role);
    return buf;
}

evs_client_t *svc_tk_client(svc_tk_t *self, const char *service, const char *role)
{
    char stem_buf[EVS_KEYS_STEM_MAX], key[300];
    const char *stem = svc_tk_stem(role, stem_buf, sizeof stem_buf);
    snprintf(key, sizeof key, "%s/%s", service, stem);
    evs_client_t *c = zhashx_lookup(self->clients, key);
    if (c)
        return c;
    char ep[1024];
    svc_connect_endpoints(self->config, service, "router", ep, sizeof ep);
    c = evs_client_new_keyed(ep, self->keys, stem, service);
    if (c)
        zhashx_insert(self->clients, key, c);
    return c;
}

Tp__Reply *svc_tk_call_raw(svc_tk_t *self, const char *service, const char *role,
                           const char *account, const char *request_id, const char *command,
                           const uint8_t *body, size_t body_len, int timeout_ms)
{
    evs_client_t *c = svc_tk_client(self, service, role);
    if (!c)
        return NULL;
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = (char *) (request_id ? request_id : "");
    hdr.actor_role = (char *) (role && strncmp(role, "service:", 8) != 0 ? role : "");
    hdr.actor_account = (char *) (account ? account : "");
    Tp__Reply *reply = NULL;
    if (evs_client_call_raw(c, &hdr, command, body, body_len, timeout_ms, &reply) != 0)
        return NULL;
    return reply;
}

Tp__Reply *svc_tk_call(svc_tk_t *self, const char *service, const char *role, const char *account,
                       const char *request_id, const char *command, const ProtobufCMessage *body,
                       int timeout_ms)
{
    uint8_t stack[4096], *buf = stack;
    size_t len = body ? protobuf_c_message_get_packed_size(body) : 0;
    if (len > sizeof stack && !(buf = malloc(len)))
        return NULL;
    if (body)
        protobuf_c_message_pack(body, buf);
    Tp__Reply *r = svc_tk_call_raw(self, service, role, account, request_id, command,
                                   body ? buf : NULL, len, timeout_ms);
    if (buf != stack)
        free(buf);
    return r;
}

Tp__Reply *svc_tk_call_header(svc_tk_t *self, const char *service, const char *key_role,
                              const Tp__RequestHeader *header, const char *command,
                              const ProtobufCMessage *body, int timeout_ms)
{
    evs_client_t *c = svc_tk_client(self, service, key_role);
    Tp__Reply *reply = NULL;
    if (!c || evs_client_call(c, header, command, body, timeout_ms, &reply) != 0)
        return NULL;
    return reply;
}

void svc_tk_forget(svc_tk_t *self, const char *service)
{
    size_t n = strlen(service);
    zlist_t *gone = zlist_new();
    zlist_autofree(gone);
    for (void *c = zhashx_first(self->clients); c; c = zhashx_next(self->clients)) {
        const char *key = zhashx_cursor(self->clients);
        if (strncmp(key, service, n) == 0 && key[n] == '/')
            zlist_append(gone, (void *) key);
    }
    for (const char *key = zlist_first(gone); key; key = zlist_next(gone))
        zhashx_delete(self->clients, key);
    zlist_destroy(&gone);
}

uint64_t svc_tk_head(svc_tk_t *self, const char *service)
{
    evs_client_t *c = svc_tk_client(self, service, "operator");
    uint64_t head = 0;
    return c && evs_client_head(c, 10000, &head) == 0 ? head : 0;
}

char *svc_tk_summary(svc_tk_t *self, const char *service)
{
    Tp__Reply *r = svc_tk_call(self, service, "operator", NULL, NULL, "$summary", NULL, 10000);
    char *s = r && r->ok ? strndup((char *) r->body.data, r->body.len) : NULL;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return s;
}

Tp__Envelope *svc_tk_event(svc_tk_t *self, const char *service, uint64_t seq)
{
    Tp__ReadEventsRequest rr = TP__READ_EVENTS_REQUEST__INIT;
    rr.from_seq = seq;
    rr.max_count = 1;
    Tp__Reply *r =
        svc_tk_call(self, service, "operator", NULL, NULL, EVS_BUS_READ, &rr.base, 10000);
    Tp__ReadEventsReply *rep =
        r && r->ok ? tp__read_events_reply__unpack(NULL, r->body.len, r->body.data) : NULL;
    Tp__Envelope *env = NULL;
    if (rep && rep->n_events == 1)
        env = tp__envelope__unpack(NULL, rep->events[0].len, rep->events[0].data);
    if (env && env->seq != seq) {
        tp__envelope__free_unpacked(env, NULL);
        env = NULL;
    }
    if (rep)
        tp__read_events_reply__free_unpacked(rep, NULL);
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return env;
}
