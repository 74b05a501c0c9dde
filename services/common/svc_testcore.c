/* svc_testcore.c: a core under test, its checks and the test runner (see svc_testcore.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "svc_testcore.h"
#include "account.pb-c.h"

/* ------------------------------------------------------------------ checks and runner */

static const char *s_program = "test"; /* the runner's program name, in every message */
static int s_checks = 0;
static int s_failures = 0;
static bool s_verbose = false;

bool svc_tc_check(bool ok, const char *file, int line, const char *expr)
{
    s_checks++;
    if (!ok) {
        fprintf(stderr, "%s: %s:%d: check failed: %s\n", s_program, file, line, expr);
        s_failures++;
    }
    return ok;
}

int svc_tc_checks(void)
{
    return s_checks;
}

int svc_tc_failures(void)
{
    return s_failures;
}

bool svc_tc_verbose(void)
{
    return s_verbose;
}

int svc_tc_main(int argc, char **argv, const svc_tc_suite_t *suite)
{
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--test") && i + 1 < argc)
            only = argv[++i];
        else if (streq(argv[i], "-v"))
            s_verbose = true;
    }
    s_program = suite->name;
    zsys_init();
    if (!s_verbose)
        zsys_set_logstream(NULL);
    if (suite->setup)
        suite->setup();
    size_t ran = 0;
    for (const svc_tc_test_t *t = suite->tests; t->name; t++)
        if (!only || streq(only, t->name) || (t->group && streq(only, t->group))) {
            t->run();
            ran++;
        }
    if (suite->teardown)
        suite->teardown();
    if (ran == 0)
        fprintf(stderr, "%s: no test or group named %s\n", s_program, only);
    bool ok = s_failures == 0 && ran > 0;
    printf("%s: %s (%d checks)\n", s_program, ok ? "OK" : "FAILED", s_checks);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ the core under test */

/* One committed event, as the log keeps it. */
typedef struct {
    char *type;
    char *stream;
    uint8_t *payload;
    size_t len;
    uint64_t version; /* its stream's version */
    int64_t at_us;    /* when it was committed */
} s_logged_t;

/* What the output waiting for its commit came from. */
typedef enum { S_NONE, S_COMMAND, S_REACTION, S_TICK } s_input_t;

struct _svc_tc_t {
    const svc_def_t *def;            /* the core */
    void *state;                     /* the state under test */
    svc_out_t *out;                  /* the last input's output */
    s_input_t pending;               /* what out came from, until committed */
    bool hold;                       /* outputs wait for svc_tc_commit */
    bool configured;                 /* svc_tc_configure was called */
    zconfig_t *config;               /* with this (NULL: none) */
    int64_t own_now;                 /* the clock, unless the test lent one */
    int64_t *now;                    /* the clock: &own_now or the test's */
    int64_t step;                    /* the clock's move with each commit */
    uint8_t secret[SVC_SECRET_SIZE]; /* ctx.secret */
    uint8_t random[SVC_SECRET_SIZE]; /* ctx.random of the next command */
    svc_tc_random_t random_how;      /* how random changes between commands */
    uint32_t commands;               /* commands decided (SVC_TC_RANDOM_COUNTED) */
    const char *client_addr;         /* header.client_addr (borrowed) */
    uint64_t upstream_seq;           /* seq of the last upstream event */
    zhashx_t *versions;              /* stream -> version, in the pointer */
    s_logged_t *log;                 /* what was committed, in order */
    size_t n_log, cap_log;
};

svc_tc_t *svc_tc_new(const svc_def_t *def)
{
    assert(def);
    svc_tc_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->def = def;
    self->state = def->state_new();
    self->out = svc_out_new();
    self->versions = zhashx_new();
    if (!self->state || !self->out || !self->versions) {
        svc_tc_destroy(&self);
        return NULL;
    }
    self->now = &self->own_now;
    self->secret[0] = 1;
    self->random[0] = 2;
    return self;
}

void svc_tc_destroy(svc_tc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    svc_tc_t *self = *self_p;
    if (self->state) {
        self->def->state_destroy(&self->state);
        CHECK(self->state == NULL);
    }
    for (size_t i = 0; i < self->n_log; i++) {
        free(self->log[i].type);
        free(self->log[i].stream);
        free(self->log[i].payload);
    }
    free(self->log);
    zhashx_destroy(&self->versions);
    zconfig_destroy(&self->config);
    svc_out_destroy(&self->out);
    free(self);
    *self_p = NULL;
}

void *svc_tc_state(svc_tc_t *self)
{
    return self->state;
}

void *svc_tc_set_state(svc_tc_t *self, void *state)
{
    void *before = self->state;
    self->state = state;
    return before;
}

svc_out_t *svc_tc_out(svc_tc_t *self)
{
    return self->out;
}

/* Configures @p state as the test said, if it did. */
static void s_configure(const svc_tc_t *self, void *state)
{
    if (self->configured && self->def->configure)
        self->def->configure(state, self->config, self->def->name);
}

void svc_tc_configure(svc_tc_t *self, zconfig_t **config_p)
{
    zconfig_destroy(&self->config);
    if (config_p) {
        self->config = *config_p;
        *config_p = NULL;
    }
    self->configured = true;
    s_configure(self, self->state);
}

void svc_tc_hold(svc_tc_t *self, bool hold)
{
    self->hold = hold;
}

int64_t svc_tc_now(const svc_tc_t *self)
{
    return *self->now;
}

void svc_tc_set_now(svc_tc_t *self, int64_t now_us)
{
    *self->now = now_us;
}

void svc_tc_advance(svc_tc_t *self, int64_t us)
{
    *self->now += us;
}

void svc_tc_use_clock(svc_tc_t *self, int64_t *now_us)
{
    self->now = now_us ? now_us : &self->own_now;
}

void svc_tc_set_step(svc_tc_t *self, int64_t us)
{
    self->step = us;
}

uint8_t *svc_tc_secret(svc_tc_t *self)
{
    return self->secret;
}

uint8_t *svc_tc_random(svc_tc_t *self)
{
    return self->random;
}

void svc_tc_set_random(svc_tc_t *self, svc_tc_random_t how)
{
    self->random_how = how;
}

void svc_tc_set_client(svc_tc_t *self, const char *client_addr)
{
    self->client_addr = client_addr;
}

/* ------------------------------------------------------------------ inputs */

const svc_command_t *svc_tc_command(const svc_tc_t *self, const char *name)
{
    for (size_t i = 0; i < self->def->n_commands; i++)
        if (streq(self->def->commands[i].name, name))
            return &self->def->commands[i];
    return NULL;
}

/* Commits at once unless held. */
static void s_settle(svc_tc_t *self)
{
    if (!self->hold)
        svc_tc_commit(self);
}

svc_out_t *svc_tc_decide(svc_tc_t *self, const char *name, const char *role, const char *account,
                         const ProtobufCMessage *body)
{
    svc_out_reset(self->out);
    self->pending = S_NONE;
    const svc_command_t *cmd = svc_tc_command(self, name);
    if (!svc_tc_check(cmd && body && body->descriptor == cmd->body, __FILE__, __LINE__,
                      "a command of the core, with a body of its type")) {
        fprintf(stderr, "  %s: %s\n", name, cmd ? "another body type" : "no such command");
        return self->out;
    }
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = "req";
    hdr.actor_role = (char *) (role ? role : "");
    hdr.actor_account = (char *) (account ? account : "");
    hdr.client_addr = (char *) (self->client_addr ? self->client_addr : "");
    self->commands++;
    if (self->random_how == SVC_TC_RANDOM_COUNTED) {
        memset(self->random, 0xa5, sizeof self->random);
        memcpy(self->random, &self->commands, sizeof self->commands);
    }
    else if (self->random_how == SVC_TC_RANDOM_FRESH)
        randombytes_buf(self->random, sizeof self->random);
    svc_ctx_t ctx = {&hdr, *self->now, self->secret, self->random};
    cmd->decide(self->state, &ctx, body, self->out);
    if (!cmd->query) {
        self->pending = S_COMMAND;
        s_settle(self);
    }
    return self->out;
}

size_t svc_tc_do(svc_tc_t *self, const char *name, const char *role, const char *account,
                 const ProtobufCMessage *body)
{
    svc_tc_decide(self, name, role, account, body);
    if (!svc_tc_check(!svc_out_failed(self->out), __FILE__, __LINE__, "the command accepted"))
        for (size_t i = 0; i < svc_out_n_errors(self->out); i++) {
            const char *c, *f, *m;
            svc_out_error_at(self->out, i, &c, &f, &m);
            fprintf(stderr, "  %s: %s %s %s\n", name, c, f, m);
        }
    svc_tc_commit(self);
    return svc_out_n_events(self->out);
}

int svc_tc_prepare(svc_tc_t *self, const char *name, ProtobufCMessage *body)
{
    svc_out_reset(self->out);
    self->pending = S_NONE;
    const svc_command_t *cmd = svc_tc_command(self, name);
    if (!svc_tc_check(cmd && cmd->prepare, __FILE__, __LINE__, "a command with a prepare step")) {
        fprintf(stderr, "  %s\n", name);
        return -1;
    }
    /* lookup sees what decide will: the anonymous header with the client address, the clock */
    Tp__RequestHeader hdr = TP__REQUEST_HEADER__INIT;
    hdr.request_id = "req";
    hdr.client_addr = (char *) (self->client_addr ? self->client_addr : "");
    svc_ctx_t ctx = {&hdr, *self->now, self->secret, NULL};
    char *lookup = cmd->lookup ? cmd->lookup(self->state, &ctx, body) : NULL;
    int rc = cmd->prepare(body, lookup, self->out);
    if (lookup) {
        sodium_memzero(lookup, strlen(lookup));
        free(lookup);
    }
    return rc;
}

size_t svc_tc_react_raw(svc_tc_t *self, const char *upstream, const char *type,
                        const uint8_t *payload, size_t len)
{
    assert(self->def->react);
    svc_out_reset(self->out);
    svc_event_t ev = {++self->upstream_seq, "upstream", 1, type, *self->now, payload, len};
    self->def->react(self->state, upstream, &ev, self->out);
    self->pending = S_REACTION;
    s_settle(self);
    if (svc_out_failed(self->out) && !svc_out_keeps_events(self->out))
        return 0;
    return svc_out_n_events(self->out);
}

size_t svc_tc_react(svc_tc_t *self, const char *upstream, const char *type,
                    const ProtobufCMessage *event)
{
    size_t len = protobuf_c_message_get_packed_size(event);
    uint8_t *buf = malloc(len ? len : 1);
    assert(buf);
    protobuf_c_message_pack(event, buf);
    size_t n =
        svc_tc_react_raw(self, upstream, type ? type : event->descriptor->short_name, buf, len);
    free(buf);
    return n;
}

size_t svc_tc_officer(svc_tc_t *self, const char *account, const char *shop, bool appoint)
{
    Tp__Account__OfficerAppointed a = TP__ACCOUNT__OFFICER_APPOINTED__INIT;
    Tp__Account__OfficerRevoked r = TP__ACCOUNT__OFFICER_REVOKED__INIT;
    a.account_id = r.account_id = (char *) account;
    a.shop_id = r.shop_id = (char *) shop;
    return svc_tc_react(self, "account", NULL, appoint ? &a.base : &r.base);
}

svc_out_t *svc_tc_tick(svc_tc_t *self)
{
    assert(self->def->tick);
    svc_out_reset(self->out);
    self->def->tick(self->state, *self->now, self->out);
    self->pending = S_TICK;
    s_settle(self);
    return self->out;
}

size_t svc_tc_mails(svc_tc_t *self, svc_mail_t *mails, size_t max)
{
    assert(self->def->mails_pending);
    return self->def->mails_pending(self->state, self->secret, mails, max);
}

svc_out_t *svc_tc_mail_sent(svc_tc_t *self, const char *mail_id)
{
    assert(self->def->mail_sent);
    svc_out_reset(self->out);
    self->def->mail_sent(self->state, mail_id, *self->now, self->out);
    self->pending = S_COMMAND;
    s_settle(self);
    return self->out;
}

/* Applies logged event @p i to @p state. */
static void s_apply_logged(const svc_tc_t *self, void *state, size_t i)
{
    const s_logged_t *l = &self->log[i];
    svc_event_t ev = {i + 1, l->stream, l->version, l->type, l->at_us, l->payload, l->len};
    self->def->apply(state, &ev);
}

size_t svc_tc_commit(svc_tc_t *self)
{
    s_input_t input = self->pending;
    if (input == S_NONE)
        return 0;
    self->pending = S_NONE;
    int64_t at = *self->now + self->step;
    if (input != S_TICK)
        *self->now = at;
    if (svc_out_failed(self->out) && !svc_out_keeps_events(self->out))
        return 0;
    size_t n = svc_out_n_events(self->out);
    for (size_t i = 0; i < n; i++) {
        const char *type, *stream;
        const uint8_t *payload;
        size_t len;
        svc_out_event_at(self->out, i, &type, &stream, &payload, &len);
        if (self->n_log == self->cap_log) {
            size_t cap = self->cap_log ? 2 * self->cap_log : 256;
            s_logged_t *log = realloc(self->log, cap * sizeof *log);
            assert(log);
            self->log = log;
            self->cap_log = cap;
        }
        uint64_t v = (uint64_t) (uintptr_t) zhashx_lookup(self->versions, stream) + 1;
        zhashx_update(self->versions, stream, (void *) (uintptr_t) v);
        s_logged_t *l = &self->log[self->n_log];
        l->type = strdup(type);
        l->stream = strdup(stream);
        l->payload = malloc(len ? len : 1);
        assert(l->type && l->stream && l->payload);
        memcpy(l->payload, payload, len);
        l->len = len;
        l->version = v;
        l->at_us = at;
        s_apply_logged(self, self->state, self->n_log++);
    }
    return n;
}

/* ------------------------------------------------------------------ the log */

size_t svc_tc_log_size(const svc_tc_t *self)
{
    return self->n_log;
}

int svc_tc_log_at(const svc_tc_t *self, size_t i, const char **type, const char **stream,
                  const uint8_t **payload, size_t *len)
{
    if (i >= self->n_log)
        return -1;
    const s_logged_t *l = &self->log[i];
    if (type)
        *type = l->type;
    if (stream)
        *stream = l->stream;
    if (payload)
        *payload = l->payload;
    if (len)
        *len = l->len;
    return 0;
}

void svc_tc_replay(const svc_tc_t *self, void *state)
{
    for (size_t i = 0; i < self->n_log; i++)
        s_apply_logged(self, state, i);
}

void *svc_tc_rebuild(const svc_tc_t *self)
{
    void *state = self->def->state_new();
    assert(state);
    s_configure(self, state);
    svc_tc_replay(self, state);
    return state;
}

void svc_tc_restart(svc_tc_t *self)
{
    void *before = svc_tc_set_state(self, svc_tc_rebuild(self));
    self->def->state_destroy(&before);
}

/* ------------------------------------------------------------------ outputs */

bool svc_tc_has_error(const svc_out_t *out, const char *code, const char *field)
{
    for (size_t i = 0; i < svc_out_n_errors(out); i++) {
        const char *c, *f;
        svc_out_error_at(out, i, &c, &f, NULL);
        if (streq(c, code) && streq(f, field ? field : ""))
            return true;
    }
    return false;
}

bool svc_tc_refused(const svc_out_t *out, const char *code, const char *field)
{
    return svc_out_failed(out) && svc_out_n_events(out) == 0 && svc_tc_has_error(out, code, field);
}

bool svc_tc_recorded(const svc_out_t *out, const char *code, const char *field)
{
    return svc_out_failed(out) && svc_out_keeps_events(out) && svc_out_n_events(out) > 0 &&
           svc_tc_has_error(out, code, field);
}

bool svc_tc_accepted(const svc_out_t *out, size_t n_events)
{
    return !svc_out_failed(out) && svc_out_n_events(out) == n_events;
}

const char *svc_tc_message(const svc_out_t *out)
{
    const char *m = NULL;
    if (svc_out_n_errors(out) > 0)
        svc_out_error_at(out, 0, NULL, NULL, &m);
    return m ? m : "";
}

const char *svc_tc_type(const svc_out_t *out, size_t i)
{
    const char *type = NULL;
    svc_out_event_at(out, i, &type, NULL, NULL, NULL);
    return type ? type : "";
}

const char *svc_tc_stream(const svc_out_t *out, size_t i)
{
    const char *stream = NULL;
    svc_out_event_at(out, i, NULL, &stream, NULL, NULL);
    return stream ? stream : "";
}

size_t svc_tc_count(const svc_out_t *out, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < svc_out_n_events(out); i++)
        n += streq(svc_tc_type(out, i), type);
    return n;
}

void *svc_tc_event(const svc_out_t *out, size_t i, const ProtobufCMessageDescriptor *desc)
{
    const char *type;
    const uint8_t *payload;
    size_t len;
    if (svc_out_event_at(out, i, &type, NULL, &payload, &len) != 0 ||
        !streq(type, desc->short_name))
        return NULL;
    return protobuf_c_message_unpack(desc, NULL, len, payload);
}

void *svc_tc_reply(const svc_out_t *out, const ProtobufCMessageDescriptor *desc)
{
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(out, &len);
    return b ? protobuf_c_message_unpack(desc, NULL, len, b) : NULL;
}

void svc_tc_free(void *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
}

size_t svc_tc_logs(const svc_out_t *out, char level, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < svc_out_n_logs(out); i++) {
        const char *line = svc_out_log_at(out, i);
        if (line && line[0] == level && (!needle || strstr(line + 1, needle)))
            n++;
    }
    return n;
}
