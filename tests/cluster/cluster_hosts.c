/* cluster_hosts.c: trustportal's daemons on two hosts of one JetStream cluster. */
#include <stdio.h>
#include <string.h>
#include "cluster_hosts.h"
#include "example.pb-c.h"

int tc_hosts_init(tc_hosts_t *self, tc_cluster_t *cluster, th_t *first,
                  const char *const *services, int lease_ttl_ms)
{
    memset(self, 0, sizeof *self);
    self->cluster = cluster;
    self->host[0] = first;
    char name[128];
    snprintf(name, sizeof name, "%s-h2", strrchr(th_dir(first), '/') + 1);
    self->host[1] = th_new(name);
    if (!self->host[1]) {
        fprintf(stderr, "cluster_hosts: cannot make the second host\n");
        return -1;
    }
    /* the first host's keys, every one (services, gateway, operators); those of the
     * instances named first, so that both hosts run them with the one key pair */
    for (size_t s = 0; services && services[s]; s++)
        if (th_key(first, services[s]) != 0) {
            fprintf(stderr, "cluster_hosts: no key for %s\n", services[s]);
            return -1;
        }
    if (th_run(NULL, "cp -p '%s'/* '%s'/", th_keys(first), th_keys(self->host[1])) != 0) {
        fprintf(stderr, "cluster_hosts: cannot copy the keys\n");
        return -1;
    }
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%d", lease_ttl_ms);
    for (int h = 0; h < TC_HOSTS; h++) {
        th_t *th = self->host[h];
        char host[8];
        snprintf(host, sizeof host, "h%d", h + 1);
        th_set(th, "store", "jetstream");
        th_set(th, "host", host);
        th_set(th, "js_servers", tc_cluster_urls(cluster));
        th_set(th, "js_lease_ttl_ms", ttl);
        for (size_t s = 0; services && services[s]; s++) {
            char routers[1024], pubs[1024], path[160];
            snprintf(routers, sizeof routers, "ipc://%s/run/%s.router,ipc://%s/run/%s.router",
                     th_dir(self->host[0]), services[s], th_dir(self->host[1]), services[s]);
            snprintf(pubs, sizeof pubs, "ipc://%s/run/%s.pub,ipc://%s/run/%s.pub",
                     th_dir(self->host[0]), services[s], th_dir(self->host[1]), services[s]);
            snprintf(path, sizeof path, "%s/routers", services[s]);
            th_set(th, path, routers);
            snprintf(path, sizeof path, "%s/pubs", services[s]);
            th_set(th, path, pubs);
        }
    }
    return 0;
}

void tc_hosts_destroy(tc_hosts_t *self)
{
    th_destroy(&self->host[1]);
}

Tp__Reply *tc_call_at(tc_hosts_t *self, int h, const char *name, const char *request_id,
                      const char *command, const ProtobufCMessage *body, int timeout_ms)
{
    /* this host's own socket (what it binds), never the list: one instance answers */
    char ep[400];
    snprintf(ep, sizeof ep, "ipc://%s/run/%s.router", th_dir(self->host[h]), name);
    evs_client_t *c = evs_client_new_keyed(ep, th_keys(self->host[h]), "operator-test", name);
    Tp__RequestHeader hd = TP__REQUEST_HEADER__INIT;
    hd.request_id = (char *) (request_id ? request_id : "");
    Tp__Reply *r = NULL;
    if (c && evs_client_call(c, &hd, command, body, timeout_ms, &r) != 0)
        r = NULL;
    evs_client_destroy(&c);
    return r;
}

void tc_role(tc_hosts_t *self, int h, const char *name, char *role, size_t rolesz,
             uint64_t *stream_seq, int timeout_ms)
{
    tc_status(self, h, name, role, rolesz, stream_seq, NULL, timeout_ms);
}

void tc_status(tc_hosts_t *self, int h, const char *name, char *role, size_t rolesz,
               uint64_t *stream_seq, uint64_t *head_seq, int timeout_ms)
{
    snprintf(role, rolesz, "%s", "");
    if (stream_seq)
        *stream_seq = 0;
    if (head_seq)
        *head_seq = 0;
    Tp__Reply *r = tc_call_at(self, h, name, NULL, "$status", NULL, timeout_ms);
    Tp__Heartbeat *hb = r && r->ok ? tp__heartbeat__unpack(NULL, r->body.len, r->body.data)
                                   : NULL;
    if (hb) {
        snprintf(role, rolesz, "%s", hb->role);
        if (head_seq)
            *head_seq = hb->head_seq;
        if (stream_seq)
            *stream_seq = hb->stream_seq;
        tp__heartbeat__free_unpacked(hb, NULL);
    }
    th_reply_free(&r);
}

int tc_active(tc_hosts_t *self, const char *name)
{
    for (int h = 0; h < TC_HOSTS; h++) {
        char role[16];
        tc_role(self, h, name, role, sizeof role, NULL, 300);
        if (strcmp(role, "active") == 0)
            return h;
    }
    return -1;
}

int tc_wait_active(tc_hosts_t *self, const char *name, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    do {
        int h = tc_active(self, name);
        if (h >= 0)
            return h;
        zclock_sleep(50);
    } while (zclock_mono() < deadline);
    return -1;
}

pid_t tc_start(tc_hosts_t *self, int h, const char *exe, const char *name, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    pid_t pid = th_start(self->host[h], exe, name, timeout_ms);
    while (pid > 0) {
        char role[16];
        tc_role(self, h, name, role, sizeof role, NULL, 200);
        if (*role)
            return pid;
        if (zclock_mono() >= deadline || !th_running(self->host[h], name)) {
            fprintf(stderr, "cluster_hosts: %s on h%d does not answer\n", name, h + 1);
            return -1;
        }
    }
    return -1;
}

bool tc_wait_caught_up(tc_hosts_t *self, int h, const char *name, uint64_t seq,
                       int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    do {
        char role[16];
        uint64_t at = 0;
        tc_role(self, h, name, role, sizeof role, &at, 500);
        if (at >= seq)
            return true;
        zclock_sleep(50);
    } while (zclock_mono() < deadline);
    return false;
}

int64_t tc_counter(tc_hosts_t *self, int h, const char *name, const char *counter)
{
    Tp__Example__GetCounter q = TP__EXAMPLE__GET_COUNTER__INIT;
    q.counter = (char *) counter;
    Tp__Reply *r = tc_call_at(self, h, name, NULL, "example.GetCounter", &q.base, 3000);
    int64_t v = -1;
    Tp__Example__CounterValue *cv =
        r && r->ok ? tp__example__counter_value__unpack(NULL, r->body.len, r->body.data) : NULL;
    if (cv)
        v = cv->value;
    tp__example__counter_value__free_unpacked(cv, NULL);
    th_reply_free(&r);
    return v;
}
