/* harness.c: integration-test harness (temporary system, real daemons). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "evs_keys.h"
#include "harness.h"
#include "svc_testkit.h"
#include "example.pb-c.h"

int th_failed = 0;

#define TH_MAX_PROCS 16

struct _th_t {
    svc_tk_t *kit;                    /* the folder, its keys and clients (svc_testkit.h) */
    char dir[256];                    /* the temporary folder */
    char config_path[300];            /* its config file */
    zconfig_t *config;                /* what is written there */
    struct {
        char name[64];
        pid_t pid;
    } procs[TH_MAX_PROCS];            /* daemons started */
    size_t n_procs;
};

th_t *th_new(const char *name)
{
    th_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    /* the keys of the five services (others are made as they are started) */
    static const char *const services[] = {"account", "order", "identification", "production",
                                           "revocation", NULL};
    self->kit = svc_tk_new(name, services);
    if (!self->kit) {
        free(self);
        return NULL;
    }
    snprintf(self->dir, sizeof self->dir, "%s", svc_tk_dir(self->kit));
    char path[400];
    snprintf(path, sizeof path, "%s/logs", self->dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/run", self->dir);
    mkdir(path, 0700);   /* as deploy/run.sh makes it: the sockets are the owner's alone */
    snprintf(self->config_path, sizeof self->config_path, "%s/tp.cfg", self->dir);
    self->config = svc_tk_config(self->kit);
    zconfig_put(self->config, "run", path);
    /* every test client is one address: the budget of slow work per client address
     * (svc.h) would refuse a test's many sign-ups; tests of that budget set it back */
    zconfig_put(self->config, "slow_burst", "100000");
    zconfig_save(self->config, self->config_path);
    return self;
}

void th_destroy(th_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    th_t *self = *self_p;
    /* SIGTERM first so daemons write their closing log lines; SIGKILL after 5 s */
    for (size_t i = 0; i < self->n_procs; i++)
        if (self->procs[i].pid > 0) {
            kill(self->procs[i].pid, SIGTERM);
            kill(self->procs[i].pid, SIGCONT);   /* one a test stopped takes it too */
        }
    for (size_t i = 0; i < self->n_procs; i++) {
        pid_t pid = self->procs[i].pid;
        if (pid <= 0)
            continue;
        int64_t deadline = zclock_mono() + 5000;
        while (waitpid(pid, NULL, WNOHANG) == 0) {
            if (zclock_mono() > deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                break;
            }
            zclock_sleep(10);
        }
    }
    svc_tk_destroy(&self->kit);   /* its clients, the config, the folder */
    free(self);
    *self_p = NULL;
}

const char *th_dir(th_t *self) { return self->dir; }
const char *th_keys(th_t *self) { return svc_tk_keys(self->kit); }

int th_key(th_t *self, const char *stem)
{
    return svc_tk_key(self->kit, stem);
}

zsock_t *th_dealer(th_t *self, const char *name, const char *stem)
{
    char ep[400], server[EVS_KEYS_Z85];
    th_router(self, name, ep, sizeof ep);
    zcert_t *cert = evs_keys_load_secret(th_keys(self), stem);
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!cert || !s || evs_keys_public(th_keys(self), name, server) != 0) {
        zcert_destroy(&cert);
        zsock_destroy(&s);
        return NULL;
    }
    zsock_set_linger(s, 0);
    evs_keys_client(s, cert, server);
    zcert_destroy(&cert);
    evs_bus_connect(s, ep);
    return s;
}
const char *th_config(th_t *self) { return self->config_path; }

void th_set(th_t *self, const char *path, const char *value)
{
    zconfig_put(self->config, path, value);
    zconfig_save(self->config, self->config_path);
}

void th_data_dir(th_t *self, const char *name, char *out, size_t outsz)
{
    svc_data_dir(self->config, name, out, outsz);
}

void th_router(th_t *self, const char *name, char *out, size_t outsz)
{
    svc_connect_endpoints(self->config, name, "router", out, outsz);
}

static int s_find(th_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_procs; i++)
        if (strcmp(self->procs[i].name, name) == 0)
            return (int) i;
    return -1;
}

pid_t th_start(th_t *self, const char *exe, const char *name, int timeout_ms)
{
    if (th_key(self, name) != 0)   /* an instance needs its own key */
        return -1;
    int slot = s_find(self, name);
    if (slot < 0) {
        if (self->n_procs >= TH_MAX_PROCS)
            return -1;
        slot = (int) self->n_procs++;
        snprintf(self->procs[slot].name, sizeof self->procs[slot].name, "%s", name);
    }
    char log[400];
    snprintf(log, sizeof log, "%s/logs/%s.log", self->dir, name);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execl(exe, exe, "-c", self->config_path, "-n", name, (char *) NULL);
        fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    self->procs[slot].pid = pid;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (zclock_mono() < deadline) {
        Tp__Reply *r = th_call(self, name, NULL, "$status", NULL, 200);
        bool ok = r && r->ok;
        if (r)
            tp__reply__free_unpacked(r, NULL);
        if (ok)
            return pid;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "harness: %s exited during start (see %s)\n", name, log);
            self->procs[slot].pid = 0;
            return -1;
        }
    }
    fprintf(stderr, "harness: %s did not answer within %d ms\n", name, timeout_ms);
    return -1;
}

pid_t th_spawn(th_t *self, const char *name, char *const argv[])
{
    int slot = s_find(self, name);
    if (slot < 0) {
        if (self->n_procs >= TH_MAX_PROCS)
            return -1;
        slot = (int) self->n_procs++;
        snprintf(self->procs[slot].name, sizeof self->procs[slot].name, "%s", name);
    }
    char log[400];
    snprintf(log, sizeof log, "%s/logs/%s.log", self->dir, name);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    self->procs[slot].pid = pid;
    return pid;
}

void th_stop(th_t *self, const char *name, int sig)
{
    int slot = s_find(self, name);
    if (slot < 0 || self->procs[slot].pid <= 0)
        return;
    kill(self->procs[slot].pid, sig);
    waitpid(self->procs[slot].pid, NULL, 0);
    self->procs[slot].pid = 0;
}

void th_signal(th_t *self, const char *name, int sig)
{
    int slot = s_find(self, name);
    if (slot >= 0 && self->procs[slot].pid > 0)
        kill(self->procs[slot].pid, sig);
}

int th_wait_exit(th_t *self, const char *name, int timeout_ms)
{
    int slot = s_find(self, name);
    if (slot < 0 || self->procs[slot].pid <= 0)
        return -1;
    int64_t deadline = zclock_mono() + timeout_ms;
    int status = 0;
    pid_t got;
    while ((got = waitpid(self->procs[slot].pid, &status, WNOHANG)) == 0) {
        if (zclock_mono() > deadline)
            return -1;
        zclock_sleep(10);
    }
    self->procs[slot].pid = 0;   /* reaped: its pid may be another process's soon */
    if (got < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool th_running(th_t *self, const char *name)
{
    int slot = s_find(self, name);
    if (slot < 0 || self->procs[slot].pid <= 0)
        return false;
    return waitpid(self->procs[slot].pid, NULL, WNOHANG) == 0;
}

pid_t th_pid(th_t *self, const char *name)
{
    int slot = s_find(self, name);
    return slot < 0 ? 0 : self->procs[slot].pid;
}

Tp__Reply *th_call(th_t *self, const char *name, const char *request_id, const char *command,
                   const ProtobufCMessage *body, int timeout_ms)
{
    return svc_tk_call(self->kit, name, "operator", NULL, request_id, command, body,
                       timeout_ms);
}

char *th_summary(th_t *self, const char *name)
{
    Tp__Reply *r = th_call(self, name, NULL, "$summary", NULL, 2000);
    char *s = r && r->ok ? strndup((const char *) r->body.data, r->body.len) : NULL;
    if (r)
        tp__reply__free_unpacked(r, NULL);
    return s;
}

int th_run(char **out, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool th_json_str(const char *json, const char *key, char *out, size_t outsz)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p)
        return false;
    p += strlen(pat);
    size_t i = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"' && i + 1 < outsz)
            out[i++] = *p++;
    }
    else
        while (*p && *p != ',' && *p != '}' && i + 1 < outsz)
            out[i++] = *p++;
    out[i] = '\0';
    return true;
}

const char *th_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "harness: environment variable %s is not set (run through meson test)\n",
                name);
        exit(2);
    }
    return v;
}

static void s_load_send(void *sock, th_load_t *l, int i)
{
    char rid[96], counter[96];
    snprintf(rid, sizeof rid, "%s-%d", l->prefix, i);
    snprintf(counter, sizeof counter, "%s-%d", l->prefix, i % 16);
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.counter = counter;
    inc.by = 1;
    uint8_t body[160];
    size_t blen = tp__example__increment__pack(&inc, body);
    Tp__RequestHeader h = TP__REQUEST_HEADER__INIT;
    h.request_id = rid;
    h.actor_role = "operator";
    Tp__Request req = TP__REQUEST__INIT;
    req.header = &h;
    req.command = "example.Increment";
    req.body.data = body;
    req.body.len = blen;
    uint8_t buf[512];
    size_t len = tp__request__pack(&req, buf);
    zmq_send(sock, buf, len, 0);
}

static zsock_t *s_load_connect(const th_load_t *l)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zsock_set_linger(s, 0);
    zsock_set_sndhwm(s, 0);
    zsock_set_rcvhwm(s, 0);
    if (l->cert)
        evs_keys_client(s, l->cert, l->server_z85);
    evs_bus_connect(s, l->endpoint);
    return s;
}

int th_load_keys(th_load_t *l, const char *keys_dir, const char *service)
{
    l->cert = evs_keys_load_secret(keys_dir, "operator-test");
    return l->cert && evs_keys_public(keys_dir, service, l->server_z85) == 0 ? 0 : -1;
}

void *th_load_run(void *arg)
{
    th_load_t *l = arg;
    uint8_t *st = calloc((size_t) l->count, 1);   /* 0 unsent, 1 sent, 2 answered */
    zsock_t *sock = s_load_connect(l);
    int next = 0, outstanding = 0;
    int64_t last_reply = zclock_mono();
    int64_t give_up = zclock_mono() + l->give_up_ms;
    size_t plen = strlen(l->prefix);
    while (l->acked < l->count && zclock_mono() < give_up) {
        while (outstanding < l->inflight && next < l->count) {
            s_load_send(zsock_resolve(sock), l, next);
            st[next++] = 1;
            outstanding++;
        }
        zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, zsock_resolve(sock), ZMQ_DONTWAIT) >= 0) {
                Tp__Reply *r = tp__reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                if (r && strncmp(r->request_id, l->prefix, plen) == 0 &&
                    r->request_id[plen] == '-') {
                    int i = atoi(r->request_id + plen + 1);
                    if (i >= 0 && i < l->count && st[i] == 1) {
                        st[i] = 2;
                        outstanding--;
                        l->acked++;
                        if (r->ok)
                            l->acked_seq[i] = r->last_seq;
                        else
                            l->refused++;
                        if (r->replayed)
                            l->replayed++;
                    }
                }
                if (r)
                    tp__reply__free_unpacked(r, NULL);
                last_reply = zclock_mono();
            }
            zmq_msg_close(&m);
        }
        if (outstanding > 0 && zclock_mono() - last_reply > l->timeout_ms) {
            /* the service is gone or restarted: a new connection, the same request ids */
            zsock_destroy(&sock);
            sock = s_load_connect(l);
            for (int i = 0; i < next; i++)
                if (st[i] == 1) {
                    s_load_send(zsock_resolve(sock), l, i);
                    l->resends++;
                }
            last_reply = zclock_mono();
        }
    }
    zsock_destroy(&sock);
    zcert_destroy(&l->cert);
    free(st);
    return NULL;
}

/* ------------------------------------------------------------------ ports */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *) &a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ------------------------------------------------------------------ the domain services */

Tp__Reply *th_call_raw_as(th_t *self, const char *name, const th_actor_t *as,
                          const char *request_id, const char *command, const uint8_t *body,
                          size_t body_len, int timeout_ms)
{
    /* the key of the role (svc_testkit.h), or the one the actor names */
    char role[EVS_KEYS_STEM_MAX + 8];
    snprintf(role, sizeof role, "%s", as && as->role ? as->role : "");
    if (as && as->key)
        snprintf(role, sizeof role, "service:%s", as->key);   /* "service:" takes any stem */
    evs_client_t *client = svc_tk_client(self->kit, name, role);
    if (!client)
        return NULL;
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = (char *) (request_id ? request_id : "");
    hdr.actor_role = (char *) (as && as->role ? as->role : "");
    hdr.actor_account = (char *) (as && as->account ? as->account : "");
    hdr.client_addr = (char *) (as && as->client_addr ? as->client_addr : "");
    Tp__Reply *reply = NULL;
    evs_client_call_raw(client, &hdr, command, body, body_len, timeout_ms, &reply);
    return reply;
}

Tp__Reply *th_call_as(th_t *self, const char *name, const th_actor_t *as, const char *request_id,
                      const char *command, const ProtobufCMessage *body, int timeout_ms)
{
    size_t len = body ? protobuf_c_message_get_packed_size(body) : 0;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return NULL;
    if (body)
        protobuf_c_message_pack(body, buf);
    char rid[40];
    if (!request_id) {
        evs_bus_new_id(rid);
        request_id = rid;
    }
    Tp__Reply *r = th_call_raw_as(self, name, as, request_id, command, buf, len, timeout_ms);
    free(buf);
    return r;
}

uint64_t th_head(th_t *self, const char *name)
{
    Tp__Reply *r = th_call(self, name, NULL, "$status", NULL, 3000);
    Tp__Heartbeat *hb = r && r->ok ? tp__heartbeat__unpack(NULL, r->body.len, r->body.data) : NULL;
    uint64_t head = hb ? hb->head_seq : UINT64_MAX;
    if (hb)
        tp__heartbeat__free_unpacked(hb, NULL);
    th_reply_free(&r);
    return head;
}

const char *th_exe_of(const char *name)
{
    if (strcmp(name, "account") == 0)
        return th_env("TP_ACCOUNT");
    if (strcmp(name, "order") == 0)
        return th_env("TP_ORDER");
    if (strcmp(name, "identification") == 0)
        return th_env("TP_IDENTIFICATION");
    if (strcmp(name, "production") == 0)
        return th_env("TP_PRODUCTION");
    if (strcmp(name, "revocation") == 0)
        return th_env("TP_REVOCATION");
    return th_env("TP_EXAMPLE");
}

bool th_start_services(th_t *self, int timeout_ms)
{
    static const char *const names[] = {"order", "identification", "account"};
    for (size_t i = 0; i < 3; i++)
        if (th_start(self, th_exe_of(names[i]), names[i], timeout_ms) <= 0)
            return false;
    return true;
}

bool th_restart(th_t *self, const char *name, int timeout_ms)
{
    th_stop(self, name, SIGKILL);
    return th_start(self, th_exe_of(name), name, timeout_ms) > 0;
}

bool th_digest(th_t *self, const char *name, char *out, size_t outsz)
{
    char *s = th_summary(self, name);
    bool ok = s && th_json_str(s, "digest", out, outsz) && out[0];
    free(s);
    return ok;
}

/* True when @p name has taken in all its upstreams have written: for every other daemon
 * of this system that it keeps a checkpoint of, the checkpoint has reached that daemon's
 * head. One it keeps none of (or 0) is not followed, or has sent it nothing yet. */
static bool s_caught_up(th_t *self, const char *name)
{
    char dir[512];
    th_data_dir(self, name, dir, sizeof dir);
    evs_t *store = NULL;
    evs_opts_t opts = {.flags = EVS_RDONLY};
    if (evs_open(dir, &opts, &store) != 0)
        return false;
    bool ok = true;
    for (size_t i = 0; ok && i < self->n_procs; i++) {
        const char *up = self->procs[i].name;
        uint64_t cp = 0;
        if (self->procs[i].pid <= 0 || strcmp(up, name) == 0 ||
            evs_checkpoint(store, up, &cp) != 0 || cp == 0)
            continue;
        uint64_t head = th_head(self, up);
        ok = head == UINT64_MAX || cp >= head;
    }
    evs_destroy(&store);
    return ok;
}

bool th_settle(th_t *self, const char *name, char *out, size_t outsz, int still_ms,
               int timeout_ms)
{
    /* A still digest alone is not enough: a follower whose upstream restarted may wait
     * seconds for its catch-up read to be resent, unchanged all the while. */
    char last[128] = "";
    int64_t deadline = zclock_mono() + timeout_ms, since = zclock_mono();
    while (zclock_mono() < deadline) {
        char now[128];
        if (!th_digest(self, name, now, sizeof now)) {
            zclock_sleep(50);
            continue;
        }
        if (strcmp(now, last) != 0) {
            snprintf(last, sizeof last, "%s", now);
            since = zclock_mono();
        }
        else if (zclock_mono() - since >= still_ms && s_caught_up(self, name)) {
            /* the digest again, after the check: nothing came in meanwhile */
            if (th_digest(self, name, now, sizeof now) && strcmp(now, last) == 0) {
                snprintf(out, outsz, "%s", now);
                return true;
            }
        }
        zclock_sleep(50);
    }
    return false;
}

void th_check_replay(th_t *self, const char *name)
{
    char dir[512];
    th_data_dir(self, name, dir, sizeof dir);
    bool same = false;
    for (int attempt = 0; attempt < 5 && !same; attempt++) {
        char before[128] = "", after[128] = "", replayed[128] = "";
        th_digest(self, name, before, sizeof before);
        char *out = NULL;
        /* with the key store: the live state was built with the personal fields opened */
        int rc = th_run(&out, "%s log replay '%s' --vault '%s/vault'", th_env("TPCTL"), dir, dir);
        if (rc == 0 && out)
            th_json_str(out, "digest", replayed, sizeof replayed);
        th_digest(self, name, after, sizeof after);
        same = before[0] && strcmp(before, replayed) == 0 && strcmp(before, after) == 0;
        if (!same)
            fprintf(stderr, "%s: live %s / replay %s (rc %d) / live %s\n", name, before,
                    replayed, rc, after);
        free(out);
        if (!same)
            zclock_sleep(300);
    }
    TH_CHECK(same);
    int rc = th_run(NULL, "%s log verify '%s' >/dev/null", th_env("TPCTL"), dir);
    if (rc != 0)
        fprintf(stderr, "%s: tpctl log verify exited %d\n", name, rc);
    TH_CHECK(rc == 0);
}

bool th_refused(const Tp__Reply *r, const char *code, const char *field)
{
    if (!r || r->ok)
        return false;
    for (size_t i = 0; i < r->n_errors; i++) {
        const Tp__Error *e = r->errors[i];
        bool code_ok = !code || strcmp(e->code, code) == 0;
        bool field_ok = field ? strcmp(e->field, field) == 0 : e->field[0] != '\0';
        if (code_ok && field_ok)
            return true;
    }
    return false;
}

void th_reply_log(const char *what, const Tp__Reply *r)
{
    if (!r) {
        fprintf(stderr, "  %s: no reply\n", what);
        return;
    }
    fprintf(stderr, "  %s: ok=%d replayed=%d last_seq=%llu body=%zu bytes", what, r->ok,
            r->replayed, (unsigned long long) r->last_seq, r->body.len);
    for (size_t i = 0; i < r->n_errors; i++)
        fprintf(stderr, " [%s %s: %s]", r->errors[i]->code, r->errors[i]->field,
                r->errors[i]->message);
    fprintf(stderr, "\n");
}

void th_reply_free(Tp__Reply **r_p)
{
    if (r_p && *r_p) {
        tp__reply__free_unpacked(*r_p, NULL);
        *r_p = NULL;
    }
}
