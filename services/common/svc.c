/* svc.c: the service actor (start, loop, stop), svc_main and the config helpers. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "evs_bus.h"
#include "evs_keys.h"
#include "svc.h"
#include "svc_internal.h"
#include "svc_lock.h"
#include "svc_mail.h"

#define S_MSG_MAX (4 << 20)   /* largest request accepted (bytes) */

static int64_t s_real_clock(void *arg)
{
    (void) arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ config */

const char *svc_config_get(zconfig_t *config, const char *name, const char *key,
                           const char *dflt)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", name, key);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    if (!v && config)
        v = zconfig_get(config, key, NULL);
    return v && *v ? v : dflt;
}

void svc_endpoint(zconfig_t *config, const char *name, const char *kind, char *out, size_t outsz)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", name, kind);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    if (v && *v) {
        snprintf(out, outsz, "%s", v);
        return;
    }
    const char *run = config ? zconfig_get(config, "run", "run") : "run";
    snprintf(out, outsz, "ipc://%s/%s.%s", run, name, kind);
}

int svc_connect_endpoints(zconfig_t *config, const char *name, const char *kind, char *out,
                          size_t outsz)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%ss", name, kind);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    if (!v || !*v)
        svc_endpoint(config, name, kind, out, outsz);
    else if (snprintf(out, outsz, "%s", v) >= (int) outsz) {
        zsys_error("%s: the list %s is longer than %zu bytes", name, path, outsz - 1);
        *out = '\0';
        return -1;
    }
    return 0;
}

const char *svc_keys_dir(zconfig_t *config)
{
    return config ? zconfig_get(config, "keys", "keys") : "keys";
}

void svc_data_dir(zconfig_t *config, const char *name, char *out, size_t outsz)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data", name);
    const char *v = config ? zconfig_get(config, path, NULL) : NULL;
    if (v && *v) {
        snprintf(out, outsz, "%s", v);
        return;
    }
    const char *data = config ? zconfig_get(config, "data", "data") : "data";
    snprintf(out, outsz, "%s/%s", data, name);
}

/* ------------------------------------------------------------------ actor */

static void s_svc_destroy(svci_svc_t *self)
{
    svci_drain(self);
    svci_cluster_close(self);   /* releases the lease after the last group (clean stop) */
    zactor_destroy(&self->committer);
    zactor_destroy(&self->mailer);
    zhashx_destroy(&self->mail_inflight);
    for (size_t i = 0; i < self->n_workers; i++)
        zactor_destroy(&self->workers[i]);
    free(self->workers);
    svc_rate_destroy(&self->slow_rate);
    svci_personal_close(self);
    for (size_t i = 0; i < self->n_subs; i++)
        evs_sub_destroy(&self->subs[i]);
    free(self->subs);
    free(self->ckpt_pending);
    free(self->ckpt_pending_hash);
    free(self->alarm_next);
    free(self->live_due);
    sodium_memzero(self->witness_sk, sizeof self->witness_sk);
    free(self->pub_run);
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->pub);
    zsock_destroy(&self->router);
    /* the domains after their sockets: none of them can take a handshake any more */
    if (self->zap_router[0])
        evs_zap_remove(self->zap_router);
    if (self->zap_pub[0])
        evs_zap_remove(self->zap_pub);
    evs_keyring_destroy(&self->keyring);
    zcert_destroy(&self->cert);
    for (size_t i = 0; i < self->n_followers; i++)
        free(self->followers[i]);
    free(self->followers);
    zsock_destroy(&self->jobs);
    zsock_destroy(&self->done);
    if (self->state && self->def->state_destroy)
        self->def->state_destroy(&self->state);
    svc_out_destroy(&self->out);
    free(self->pending);
    free(self->inflight_pending);
    svci_arena_destroy(&self->arenas[0]);
    svci_arena_destroy(&self->arenas[1]);
    svci_arena_destroy(&self->scratch);
    evs_destroy(&self->store);
    svc_lock_destroy(&self->lock);   /* last: the log is closed, the sockets too */
}

int svc_secret_load(const char *path, uint8_t *secret, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        bool loose = fstat(fd, &st) == 0 && (st.st_mode & 077);
        ssize_t n = loose ? -1 : read(fd, secret, size);
        close(fd);
        if (loose) {
            zsys_error("%s is readable by others (mode %03o); it must be 0600", path,
                       (unsigned) (st.st_mode & 0777));
            return -1;
        }
        if (n != (ssize_t) size) {
            zsys_error("%s: not a %zu-byte key", path, size);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        zsys_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    randombytes_buf(secret, size);
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    /* fchmod: a temporary file left over from a crash keeps its mode through O_TRUNC */
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, secret, size) == (ssize_t) size &&
              fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        zsys_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Follows the upstreams: from config ("a,b") or the core's table, each from its
 * checkpoint in our log. */
int svci_start_upstreams(svci_svc_t *self)
{
    const char *n = self->name;
    int rc = 0;
    const char *ups = svc_config_get(self->config, n, "upstreams", NULL);
    char *list = NULL;
    if (ups)
        list = strdup(ups);
    else if (self->def->upstreams) {
        size_t need = 1;
        for (size_t i = 0; self->def->upstreams[i]; i++)
            need += strlen(self->def->upstreams[i]) + 1;
        list = calloc(1, need);
        for (size_t i = 0; list && self->def->upstreams[i]; i++) {
            if (i)
                strcat(list, ",");
            strcat(list, self->def->upstreams[i]);
        }
    }
    int sub_hwm = atoi(svc_config_get(self->config, n, "sub_hwm", "100000"));
    /* at most one upstream more than the list has separators */
    size_t most = 1;
    for (const char *c = list; c && *c; c++)
        most += *c == ',' || *c == ' ';
    self->subs = calloc(most, sizeof *self->subs);
    self->ckpt_pending = calloc(most, sizeof *self->ckpt_pending);
    self->ckpt_pending_hash = calloc(most, sizeof *self->ckpt_pending_hash);
    self->alarm_next = calloc(most, sizeof *self->alarm_next);
    self->live_due = calloc(most, sizeof *self->live_due);
    if (!self->subs || !self->ckpt_pending || !self->ckpt_pending_hash || !self->alarm_next ||
        !self->live_due) {
        free(list);
        return -1;
    }
    for (char *save = NULL, *up = list ? strtok_r(list, ", ", &save) : NULL; up;
         up = strtok_r(NULL, ", ", &save)) {
        uint64_t cp = 0;
        uint8_t cp_hash[EVS_HASH_SIZE];
        bool cp_hash_known = false;
        rc = evs_checkpoint_hash(self->store, up, &cp, cp_hash, &cp_hash_known);
        if (rc != 0) {
            zsys_error("%s: cannot read the checkpoint of %s: %s", n, up, evs_strerror(rc));
            free(list);
            return -1;
        }
        char pub_ep[1024], router_ep[1024];
        evs_sub_opts_t so = {.rcvhwm = sub_hwm, .keys_dir = self->keys_dir, .me = n,
                             .checkpoint_hash = cp_hash_known ? cp_hash : NULL};
        evs_sub_t *sub =
            svc_connect_endpoints(self->config, up, "pub", pub_ep, sizeof pub_ep) == 0 &&
                    svc_connect_endpoints(self->config, up, "router", router_ep,
                                          sizeof router_ep) == 0
                ? evs_sub_new(up, pub_ep, router_ep, cp, &so)
                : NULL;
        if (!sub) {
            zsys_error("%s: cannot subscribe to %s (%s)", n, up, pub_ep);
            free(list);
            return -1;
        }
        self->subs[self->n_subs++] = sub;
        zpoller_add(self->poller, evs_sub_live_sock(sub));
        zpoller_add(self->poller, evs_sub_read_sock(sub));
        zsys_info("%s: following %s from seq %" PRIu64, n, up, cp + 1);
    }
    free(list);
    return 0;
}

static int s_svc_start(svci_svc_t *self, svc_args_t *args, svci_worker_args_t *wargs)
{
    self->def = args->def;
    self->config = args->config;
    snprintf(self->name, sizeof self->name, "%s", args->name ? args->name : args->def->name);
    self->clock = args->clock ? args->clock : s_real_clock;
    self->clock_arg = args->clock_arg;
    const char *n = self->name;
    /* in ms, fractions allowed (0.001: every commit, as a test does) */
    double slow_ms = atof(svc_config_get(self->config, n, "slow_commit_ms", "250"));
    self->slow_commit_us = slow_ms > 0 && slow_ms < 1e9 ? (int64_t) (slow_ms * 1000) : 0;
    self->batch_max = (size_t) atoi(svc_config_get(self->config, n, "batch_max", "1024"));
    if (self->batch_max < 1)
        self->batch_max = 1;
    char delay[24];
    snprintf(delay, sizeof delay, "%d", self->def->react_delay_ms);
    self->react_delay_ms = atoll(svc_config_get(self->config, n, "react_delay_ms", delay));
    self->pipeline = atoi(svc_config_get(self->config, n, "pipeline", "1")) != 0;
    self->tick_ms = atoll(svc_config_get(self->config, n, "tick_ms", "1000"));
    if (self->tick_ms < 1)
        self->tick_ms = 1000;
    self->pending = calloc(self->batch_max, sizeof *self->pending);
    self->inflight_pending = calloc(self->batch_max, sizeof *self->inflight_pending);
    svci_arena_init(&self->arenas[0]);
    svci_arena_init(&self->arenas[1]);
    svci_arena_init(&self->scratch);
    self->pending_arena = &self->arenas[0];
    self->inflight_arena = &self->arenas[1];
    self->out = svc_out_new();
    self->committer = zactor_new(svci_committer, self);
    if (!self->pending || !self->inflight_pending || !self->out || !self->committer)
        return -1;

    /* one process per log, decided before the log is opened and any socket bound */
    self->lock = svc_lock_new(self->config, n);
    if (!self->lock)
        return -1;
    char dir[512];
    svc_data_dir(self->config, n, dir, sizeof dir);
    evs_opts_t opts = {0};
    opts.service = self->def->name;
    if (streq(svc_config_get(self->config, n, "nosync", "0"), "1"))
        opts.flags |= EVS_NOSYNC;
    int rc = evs_open(dir, &opts, &self->store);
    if (rc != 0) {
        zsys_error("%s: cannot open the log in %s: %s", n, dir, evs_strerror(rc));
        return -1;
    }
    char secret_path[600];
    snprintf(secret_path, sizeof secret_path, "%s/secret.key", dir);
    if (svc_secret_load(secret_path, self->secret, sizeof self->secret) != 0)
        return -1;
    self->random_used = sizeof self->random;   /* empty: the first command refills it */
    if (svci_personal_open(self, dir) != 0)
        return -1;
    /* store = jetstream: the local copy brought up to the stream's end first */
    if (svci_cluster_open(self) != 0)
        return -1;
    /* erasures the log records whose keys a stop between the two steps left: deleted
     * before the state is built */
    bool mended = false;
    if (svci_personal_mend(self, &mended) != 0)
        return -1;
    self->state = self->def->state_new();
    if (self->def->configure)
        self->def->configure(self->state, self->config, n);
    uint64_t applied = 0;
    int64_t t0 = zclock_usecs();
    svc_keys_t keys = {svci_own_key, self};
    rc = svc_rebuild(self->def, self->state, self->store, UINT64_MAX, INT64_MAX, &applied, NULL,
                     NULL, &keys);
    if (rc != 0) {
        zsys_error("%s: rebuild from %s failed: %s", n, dir, evs_strerror(rc));
        return -1;
    }
    zsys_info("%s: rebuilt from %" PRIu64 " events in %.1f ms", n, applied,
              (double) (zclock_usecs() - t0) / 1000.0);

    if (svci_start_keys(self) != 0 || svci_witness_start(self) != 0)
        return -1;
    char ep[512];
    svc_endpoint(self->config, n, "pub", ep, sizeof ep);
    self->pub = zsock_new(ZMQ_PUB);
    if (!self->pub)
        return -1;
    zsock_set_sndhwm(self->pub, atoi(svc_config_get(self->config, n, "pub_hwm", "100000")));
    evs_keys_server(self->pub, self->cert, self->zap_pub);
    if (zsock_bind(self->pub, "%s", ep) < 0) {
        zsys_error("%s: cannot bind PUB %s: %s", n, ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    svc_endpoint(self->config, n, "router", ep, sizeof ep);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router)
        return -1;
    zsock_set_rcvhwm(self->router, 0);
    zsock_set_sndhwm(self->router, 0);
    zsock_set_maxmsgsize(self->router, S_MSG_MAX);
    evs_keys_server(self->router, self->cert, self->zap_router);
    if (zsock_bind(self->router, "%s", ep) < 0) {
        zsys_error("%s: cannot bind ROUTER %s: %s", n, ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    /* the producers' endpoint (tcp, say, for lines on other hosts): the same socket,
     * the same keys and rights */
    const char *pep = svc_config_get(self->config, n, "producer", NULL);
    if (pep && zsock_bind(self->router, "%s", pep) < 0) {
        zsys_error("%s: cannot bind the producers' endpoint %s: %s", n, pep,
                   zmq_strerror(zmq_errno()));
        return -1;
    }

    /* worker pool, over inproc sockets private to this actor */
    /* a new name for every actor: a restarted actor may get the same address while
     * ZeroMQ still holds the old inproc names */
    static int s_actor_count = 0;
    int instance = __atomic_add_fetch(&s_actor_count, 1, __ATOMIC_RELAXED);
    snprintf(wargs->jobs_ep, sizeof wargs->jobs_ep, "inproc://svc-%s-%d-jobs", n, instance);
    snprintf(wargs->done_ep, sizeof wargs->done_ep, "inproc://svc-%s-%d-done", n, instance);
    wargs->def = self->def;
    wargs->name = self->name;
    wargs->clock = self->clock;
    wargs->clock_arg = self->clock_arg;
    self->jobs = zsock_new(ZMQ_PUSH);
    self->done = zsock_new(ZMQ_PULL);
    if (!self->jobs || !self->done || zsock_bind(self->jobs, "%s", wargs->jobs_ep) < 0 ||
        zsock_bind(self->done, "%s", wargs->done_ep) < 0) {
        zsys_error("%s: cannot bind the worker pool's sockets: %s", n, zmq_strerror(zmq_errno()));
        return -1;
    }
    bool any_prepare = false;
    for (size_t i = 0; i < self->def->n_commands; i++)
        any_prepare |= self->def->commands[i].prepare != NULL;
    self->n_workers =
        any_prepare ? (size_t) atoi(svc_config_get(self->config, n, "workers", "2")) : 0;
    if (self->n_workers) {
        self->slow_rate =
            svc_rate_new(atof(svc_config_get(self->config, n, "slow_burst", "30")),
                         atof(svc_config_get(self->config, n, "slow_per_minute", "60")), 100000);
        self->slow_queue_max = (size_t) atoi(svc_config_get(self->config, n, "slow_queue_max", "32"));
        self->slow_delay_ms = atoll(svc_config_get(self->config, n, "slow_refusal_delay_ms", "1000"));
        if (!self->slow_rate || self->slow_queue_max < 1) {
            zsys_error("%s: slow_burst, slow_per_minute and slow_queue_max must be positive", n);
            return -1;
        }
        self->workers = calloc(self->n_workers, sizeof *self->workers);
        for (size_t i = 0; self->workers && i < self->n_workers; i++)
            self->workers[i] = zactor_new(svci_worker, wargs);
    }

    self->poller = zpoller_new(self->pipe, self->router, self->done, self->committer, NULL);
    /* the embedded log: we write, so we follow; a cluster's standby starts following
     * when it becomes the active instance (svc_cluster.c) */
    if (self->cluster ? svci_cluster_keep(self) != 0 : svci_start_upstreams(self) != 0)
        return -1;
    if (self->def->mails_pending && self->def->mail_sent) {
        zconfig_t *c = self->config;
        self->mail_cfg.smtp_url = svc_config_get(c, n, "smtp_url", NULL);
        self->mail_cfg.user = svc_config_get(c, n, "smtp_user", NULL);
        self->mail_cfg.password = svc_config_get(c, n, "smtp_password", NULL);
        self->mail_cfg.tls = svc_config_get(c, n, "smtp_tls", "require");
        self->mail_cfg.from = svc_config_get(c, n, "mail_from", "portal@localhost");
        const char *outbox = svc_config_get(c, n, "outbox", NULL);
        if (outbox)
            snprintf(self->outbox, sizeof self->outbox, "%s", outbox);
        else
            snprintf(self->outbox, sizeof self->outbox, "%s/outbox",
                     c ? zconfig_get(c, "data", "data") : "data");
        self->mail_cfg.outbox = self->outbox;
        self->mail_inflight = zhashx_new();
        self->mailer = zactor_new(svci_mailer, &self->mail_cfg);
        if (!self->mailer || !self->mail_inflight)
            return -1;
        zpoller_add(self->poller, self->mailer);
        zsys_info("%s: mail goes to %s", n,
                  self->mail_cfg.smtp_url ? self->mail_cfg.smtp_url : self->outbox);
    }
    self->next_tick = zclock_mono() + self->tick_ms;
    self->next_heartbeat = zclock_mono();
    return 0;
}

void svc_actor(zsock_t *pipe, void *args_)
{
    svc_args_t *args = args_;
    svci_svc_t self_ = {0}, *self = &self_;
    svci_worker_args_t wargs;
    memset(&wargs, 0, sizeof wargs);
    self->pipe = pipe;
    zsock_signal(pipe, 0);   /* zactor_new's handshake; the outcome follows as a string */
    if (s_svc_start(self, args, &wargs) != 0) {
        zstr_send(pipe, "ERROR");
        s_svc_destroy(self);
        /* stay until told to go, so the owner's zactor_destroy finds us */
        char *cmd = zstr_recv(pipe);
        zstr_free(&cmd);
        return;
    }
    zsys_info("%s: serving", self->name);
    zstr_send(pipe, "READY");
    while (!self->deposed) {
        int64_t now = zclock_mono();
        if (now >= self->next_heartbeat) {
            uint64_t head = 0;
            uint8_t hash[EVS_HASH_SIZE];
            evs_head(self->store, &head, hash);
            if (svci_active(self))   /* a standby's head is not the log's */
                evs_bus_heartbeat(self->pub, self->name, head, hash);
            evs_keyring_refresh(self->keyring);   /* keys added or revoked meanwhile */
            for (size_t i = 0; i < self->n_subs; i++)
                evs_sub_upkeep(self->subs[i]);
            svci_witness_alarms(self, SIZE_MAX);
            self->next_heartbeat = now + 1000;
        }
        if (now >= self->next_tick) {
            svci_tick(self);
            svci_mail_poll(self);   /* also retries mails that failed */
            self->next_tick = now + self->tick_ms;
        }
        svci_live_due(self, false);
        svci_held_due(self, false);
        if (self->ckpt_due && now >= self->ckpt_due)
            svci_commit_checkpoints(self);
        svci_witness_due(self, false);
        int64_t wait = self->next_tick < self->next_heartbeat ? self->next_tick
                                                              : self->next_heartbeat;
        if (self->witness_due < wait)
            wait = self->witness_due;
        if (svci_cluster_next(self) < wait)
            wait = svci_cluster_next(self);
        if (svci_held_next(self) && svci_held_next(self) < wait)
            wait = svci_held_next(self);
        if (self->ckpt_due && self->ckpt_due < wait)
            wait = self->ckpt_due;
        for (size_t i = 0; i < self->n_subs; i++)
            if (self->live_due[i] && self->live_due[i] < wait)
                wait = self->live_due[i];
        wait -= zclock_mono();
        zsock_t *which = zpoller_wait(self->poller, wait > 0 ? (int) wait : 0);
        svci_personal_after_commit(self);   /* erasures made durable: keys go, state anew */
        if (which && which == svci_cluster_sock(self))
            svci_cluster_keeper(self);   /* the lease taken or lost */
        svci_cluster_turn(self);         /* a standby reads the stream's new groups */
        if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            bool term = !cmd || streq(cmd, "$TERM");
            zstr_free(&cmd);
            if (term)
                break;
            continue;
        }
        if (!which && zpoller_terminated(self->poller))
            break;
        if (which == self->router || which == self->done) {
            /* answers from the state see exactly what was committed before them, and a
             * full group waits for the one in flight */
            if (self->inflight && (self->inflight_barrier || self->open_n >= self->batch_max)) {
                svci_complete(self, true);
                svci_submit(self);
            }
            /* everything already waiting, up to batch_max in the group */
            size_t from = self->open_n, n = from;
            /* an unknown key's request is taken and dropped; at most as many dropped as
             * a group holds per pass, so a flood of them cannot hold up the loop */
            size_t dropped = 0, bytes = 0;
            while (n < self->batch_max && dropped < self->batch_max &&
                   (!self->cluster || bytes < SVCI_GROUP_BYTES) &&
                   svci_take(self, self->router, &self->pending[n])) {
                bool kept = self->pending[n].id_len > 0;
                bytes += self->pending[n].size;
                n += kept;
                dropped += !kept;
            }
            while (n < self->batch_max) {
                zmq_pollitem_t item = {zsock_resolve(self->done), 0, ZMQ_POLLIN, 0};
                if (zmq_poll(&item, 1, 0) <= 0 || !svci_take_done(self, &self->pending[n]))
                    break;
                n++;
            }
            if (n > from)
                svci_decide(self, from, n);
            if (!self->inflight)
                svci_submit(self);
            svci_mail_poll(self);
            continue;
        }
        if (which == (zsock_t *) self->committer) {
            svci_complete(self, true);
            svci_submit(self);
            svci_mail_poll(self);
            continue;
        }
        if (self->mailer && which == (zsock_t *) self->mailer) {
            svci_mail_done(self);
            continue;
        }
        for (size_t i = 0; which && i < self->n_subs; i++) {
            evs_sub_t *sub = self->subs[i];
            if (which == evs_sub_live_sock(sub))
                svci_live_waiting(self, i);
            else if (which == evs_sub_read_sock(sub))
                svci_follow(self, i, which);
            else
                continue;
            svci_mail_poll(self);
        }
    }
    if (!self->deposed && svci_active(self)) {
        svci_live_due(self, true);   /* a clean stop leaves nothing waiting */
        svci_drain(self);
        svci_held_due(self, true);
        svci_commit_checkpoints(self);
        svci_witness_due(self, true);   /* and signs its head */
    }
    zsys_info("%s: stopping after %" PRIu64 " commits, %" PRIu64 " events written, %" PRIu64
              " requests; ms deciding %" PRId64 ", committing %" PRId64 ", answering %" PRId64,
              self->name, self->commits, self->events_written, self->requests,
              self->us_decide / 1000, self->us_commit / 1000, self->us_answer / 1000);
    if (self->slow_throttled)
        zsys_info("%s: %" PRIu64 " requests for the worker pool refused (a client over its "
                  "budget, or the queue full)",
                  self->name, self->slow_throttled);
    if (self->forbidden || self->unknown_keys)
        zsys_info("%s: %" PRIu64 " requests refused as beyond their key's rights, %" PRIu64
                  " dropped unanswered (a key not, or no longer, in %s)",
                  self->name, self->forbidden, self->unknown_keys, self->keys_dir);
    for (size_t i = 0; i < self->n_subs; i++) {
        evs_sub_stats_t ss;
        evs_sub_stats(self->subs[i], &ss);
        zsys_info("%s: followed %s to seq %" PRIu64 ": live=%" PRIu64 " read=%" PRIu64
                  " gaps=%" PRIu64 " reads=%" PRIu64 " dropped_old=%" PRIu64,
                  self->name, evs_sub_upstream(self->subs[i]),
                  evs_sub_checkpoint(self->subs[i]), ss.live_delivered, ss.read_delivered,
                  ss.gaps, ss.reads, ss.dropped_old);
    }
    bool deposed = self->deposed;
    s_svc_destroy(self);
    if (deposed) {
        /* svc_main starts us again, as a standby; it ends us first */
        zstr_send(pipe, "DEPOSED");
        char *cmd = zstr_recv(pipe);
        zstr_free(&cmd);
    }
}

int svc_main(int argc, char **argv, const svc_def_t *def)
{
    const char *config_file = NULL;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if ((streq(argv[i], "-c") || streq(argv[i], "--config")) && i + 1 < argc)
            config_file = argv[++i];
        else if ((streq(argv[i], "-n") || streq(argv[i], "--name")) && i + 1 < argc)
            name = argv[++i];
        else if (streq(argv[i], "-v"))
            zsys_set_logstream(stderr);
        else {
            fprintf(stderr, "usage: %s [-c CONFIG] [-n NAME] [-v]\n", argv[0]);
            return 2;
        }
    }
    /* a group's memory (requests, batch, replies) is freed as one and taken again a few
     * milliseconds later: keep it in the heap instead of giving it back to the kernel
     * and faulting it in anew each time */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    zsys_init();
    zsys_set_logident(name ? name : def->name);
    zsys_set_logstream(stderr);
    if (config_file && svc_settings_check_service(config_file, name ? name : def->name,
                                                  def->settings) != 0)
        return 1;
    zconfig_t *config = NULL;
    if (config_file) {
        config = zconfig_load(config_file);
        if (!config) {
            zsys_error("cannot read config %s: %s", config_file, strerror(errno));
            return 1;
        }
    }
    else
        config = zconfig_new("root", NULL);
    svc_args_t args = {def, config, name, NULL, NULL};
    zactor_t *actor = zactor_new(svc_actor, &args);
    if (!actor) {
        zconfig_destroy(&config);
        return 1;
    }
    char *status = zstr_recv(actor);
    int rc = status && streq(status, "READY") ? 0 : 1;
    zstr_free(&status);
    while (rc == 0 && !zsys_interrupted) {
        char *msg = zstr_recv(actor);   /* returns NULL on SIGINT/SIGTERM */
        if (!msg)
            break;
        bool again = streq(msg, "DEPOSED");
        zstr_free(&msg);
        if (!again)
            continue;
        /* a cluster's instance that stepped down: built anew from its local copy and the
         * stream, it serves as a standby */
        zactor_destroy(&actor);
        /* ZeroMQ closes the old sockets on its own threads, and an ipc:// listener
         * removes its file as it closes: give that time to happen before they are bound
         * again */
        zclock_sleep(250);
        for (int tries = 1; !zsys_interrupted; tries++) {
            actor = zactor_new(svc_actor, &args);
            status = actor ? zstr_recv(actor) : NULL;
            rc = status && streq(status, "READY") ? 0 : 1;
            zstr_free(&status);
            if (rc == 0)
                break;
            /* the cluster unreachable for the whole start (it started well before, so
             * this is no misconfiguration): again, as a supervisor would */
            zactor_destroy(&actor);
            zsys_warning("%s: could not start again as a standby (try %d); trying again in "
                         "1 s",
                         name ? name : def->name, tries);
            zclock_sleep(1000);
        }
    }
    zactor_destroy(&actor);
    zconfig_destroy(&config);
    return rc;
}
