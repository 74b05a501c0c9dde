/* example.c: the example service's pure core (decide / apply / react / tick). */
#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "example.h"
#include "example.pb-c.h"
#include "svc_digest.h"

typedef struct {
    int64_t value;        /* current value */
    uint64_t version;     /* events in the counter's stream */
    bool has_secret;      /* a SecretSet was recorded */
    bool ticked;          /* tick has marked it */
    int64_t mirrored;     /* mirror role: the upstream's value last seen */
    uint64_t mirror_seen; /* mirror role: upstream events seen for it */
} s_counter_t;

typedef struct {
    zhashx_t *counters;   /* name -> s_counter_t */
    uint64_t events;      /* events applied */
    uint64_t upstream_seen; /* UpstreamSeen events applied */
    uint64_t last_upstream_seq; /* highest upstream seq mirrored */
} s_state_t;

static void *s_state_new(void)
{
    s_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->counters = zhashx_new();
    zhashx_set_destructor(st->counters, (zhashx_destructor_fn *) zstr_free);
    return st;
}

static void s_state_destroy(void **state_p)
{
    s_state_t *st = *state_p;
    if (!st)
        return;
    zhashx_destroy(&st->counters);
    free(st);
    *state_p = NULL;
}

static s_counter_t *s_counter(s_state_t *st, const char *name)
{
    s_counter_t *c = zhashx_lookup(st->counters, name);
    if (!c) {
        c = calloc(1, sizeof *c);
        zhashx_insert(st->counters, name, c);
    }
    return c;
}

static const s_counter_t *s_find(const s_state_t *st, const char *name)
{
    return zhashx_lookup(st->counters, name);
}

/* Counter names: 1..64 of [a-z0-9-]. */
static bool s_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char) name[i]) || isdigit((unsigned char) name[i]) ||
              name[i] == '-'))
            return false;
    return true;
}

static void s_stream(char *out, size_t outsz, const char *counter)
{
    snprintf(out, outsz, "counter-%s", counter);
}

static void s_apply(void *state, const svc_event_t *ev)
{
    s_state_t *st = state;
    st->events++;
    if (streq(ev->event_type, "CounterIncremented")) {
        Tp__Example__CounterIncremented *e =
            tp__example__counter_incremented__unpack(NULL, ev->payload_len, ev->payload);
        if (!e)
            return;
        s_counter_t *c = s_counter(st, e->counter);
        c->value = e->value;
        c->version = ev->stream_version;
        tp__example__counter_incremented__free_unpacked(e, NULL);
    }
    else if (streq(ev->event_type, "SecretSet")) {
        Tp__Example__SecretSet *e = tp__example__secret_set__unpack(NULL, ev->payload_len,
                                                                   ev->payload);
        if (!e)
            return;
        s_counter_t *c = s_counter(st, e->counter);
        c->has_secret = true;
        c->version = ev->stream_version;
        tp__example__secret_set__free_unpacked(e, NULL);
    }
    else if (streq(ev->event_type, "Ticked")) {
        Tp__Example__Ticked *e = tp__example__ticked__unpack(NULL, ev->payload_len, ev->payload);
        if (!e)
            return;
        s_counter(st, e->counter)->ticked = true;
        tp__example__ticked__free_unpacked(e, NULL);
    }
    else if (streq(ev->event_type, "UpstreamSeen")) {
        Tp__Example__UpstreamSeen *e =
            tp__example__upstream_seen__unpack(NULL, ev->payload_len, ev->payload);
        if (!e)
            return;
        s_counter_t *c = s_counter(st, e->counter);
        c->mirrored = e->value;
        c->mirror_seen++;
        st->upstream_seen++;
        if (e->upstream_seq > st->last_upstream_seq)
            st->last_upstream_seq = e->upstream_seq;
        tp__example__upstream_seen__free_unpacked(e, NULL);
    }
}

static void s_decide_increment(const void *state, const svc_ctx_t *ctx,
                               const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Example__Increment *cmd = (const Tp__Example__Increment *) msg;
    if (!s_valid_name(cmd->counter))
        svc_out_error(out, "invalid", "counter", "must be 1 to 64 characters of a-z, 0-9 and -");
    if (cmd->by < 1 || cmd->by > 1000)
        svc_out_error(out, "invalid", "by", "must be between 1 and 1000");
    if (cmd->expected_version < -1)
        svc_out_error(out, "invalid", "expectedVersion", "must be -1 (any) or a version");
    if (svc_out_failed(out))
        return;
    const s_counter_t *c = s_find(state, cmd->counter);
    char stream[96];
    s_stream(stream, sizeof stream, cmd->counter);
    if (cmd->expected_version > 0)
        svc_out_expect(out, stream, cmd->expected_version);
    Tp__Example__CounterIncremented ev = TP__EXAMPLE__COUNTER_INCREMENTED__INIT;
    ev.counter = cmd->counter;
    ev.by = cmd->by;
    ev.value = (c ? c->value : 0) + cmd->by;
    svc_out_event(out, stream, &ev.base);
    Tp__Example__CounterValue reply = TP__EXAMPLE__COUNTER_VALUE__INIT;
    reply.counter = cmd->counter;
    reply.value = ev.value;
    reply.version = (c ? c->version : 0) + 1;
    svc_out_reply(out, &reply.base);
}

/* Runs on a worker thread: the secret never reaches the loop or the log in clear. */
static int s_prepare_secret(ProtobufCMessage *msg, const char *lookup, svc_out_t *out)
{
    Tp__Example__SetSecret *cmd = (Tp__Example__SetSecret *) msg;
    size_t n = strlen(cmd->secret);
    if (n < 12 || n > 256) {
        svc_out_error(out, "invalid", "secret", "must be 12 to 256 characters");
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, cmd->secret, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        svc_out_error(out, "internal", NULL, "hashing failed (out of memory)");
        return -1;
    }
    sodium_memzero(cmd->secret, n);
    free(cmd->secret);
    cmd->secret = strdup(hash);
    return cmd->secret ? 0 : -1;
}

static void s_decide_secret(const void *state, const svc_ctx_t *ctx,
                            const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Example__SetSecret *cmd = (const Tp__Example__SetSecret *) msg;
    if (!s_valid_name(cmd->counter)) {
        svc_out_error(out, "invalid", "counter", "must be 1 to 64 characters of a-z, 0-9 and -");
        return;
    }
    if (strncmp(cmd->secret, "$argon2id$", 10) != 0) {
        svc_out_error(out, "internal", "secret", "was not prepared");
        return;
    }
    char stream[96];
    s_stream(stream, sizeof stream, cmd->counter);
    Tp__Example__SecretSet ev = TP__EXAMPLE__SECRET_SET__INIT;
    ev.counter = cmd->counter;
    ev.secret_hash = cmd->secret;
    svc_out_event(out, stream, &ev.base);
    const s_counter_t *c = s_find(state, cmd->counter);
    Tp__Example__CounterValue reply = TP__EXAMPLE__COUNTER_VALUE__INIT;
    reply.counter = cmd->counter;
    reply.value = c ? c->value : 0;
    reply.has_secret = true;
    svc_out_reply(out, &reply.base);
}

static void s_query_counter(const void *state, const svc_ctx_t *ctx,
                            const ProtobufCMessage *msg, svc_out_t *out)
{
    const Tp__Example__GetCounter *q = (const Tp__Example__GetCounter *) msg;
    const s_counter_t *c = s_find(state, q->counter);
    if (!c) {
        svc_out_error(out, "not_found", "counter", "no such counter");
        return;
    }
    Tp__Example__CounterValue reply = TP__EXAMPLE__COUNTER_VALUE__INIT;
    reply.counter = q->counter;
    reply.value = c->value;
    reply.version = c->version;
    reply.mirrored = (uint64_t) c->mirrored;
    reply.has_secret = c->has_secret;
    svc_out_reply(out, &reply.base);
}

/* The caller as the runtime hands it over (tests of the producer endpoint). */
static void s_query_caller(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                           svc_out_t *out)
{
    Tp__Example__Caller reply = TP__EXAMPLE__CALLER__INIT;
    reply.role = ctx->header->actor_role;
    reply.account = ctx->header->actor_account;
    svc_out_reply(out, &reply.base);
}

/* Mirror role: every upstream increment is recorded here with its upstream seq. */
static void s_react(const void *state, const char *upstream, const svc_event_t *ev,
                    svc_out_t *out)
{
    if (!streq(ev->event_type, "CounterIncremented"))
        return;
    Tp__Example__CounterIncremented *e =
        tp__example__counter_incremented__unpack(NULL, ev->payload_len, ev->payload);
    if (!e) {
        svc_out_error(out, "invalid", NULL, "upstream event does not decode");
        return;
    }
    Tp__Example__UpstreamSeen seen = TP__EXAMPLE__UPSTREAM_SEEN__INIT;
    seen.upstream = (char *) upstream;
    seen.upstream_seq = ev->seq;
    seen.counter = e->counter;
    seen.value = e->value;
    char stream[96];
    snprintf(stream, sizeof stream, "mirror-%s", e->counter);
    svc_out_event(out, stream, &seen.base);
    tp__example__counter_incremented__free_unpacked(e, NULL);
}

/* A counter at or past the threshold is marked once. */
static void s_tick(const void *state, int64_t now_us, svc_out_t *out)
{
    const s_state_t *st = state;
    for (s_counter_t *c = zhashx_first(st->counters); c; c = zhashx_next(st->counters)) {
        if (c->ticked || c->value < EXAMPLE_TICK_AT)
            continue;
        const char *name = zhashx_cursor(st->counters);
        Tp__Example__Ticked ev = TP__EXAMPLE__TICKED__INIT;
        ev.counter = (char *) name;
        ev.at_us = now_us;
        char stream[96];
        s_stream(stream, sizeof stream, name);
        svc_out_event(out, stream, &ev.base);
    }
}

/* Deterministic summary: counts and a SHA-256 over the sorted counters. */
static char *s_summary(const void *state)
{
    const s_state_t *st = state;
    zlistx_t *keys = svc_sorted_keys(st->counters);
    svc_digest_t d;
    svc_digest_init(&d);
    int64_t total = 0;
    for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        const s_counter_t *c = s_find(st, k);
        svc_digest_line(&d, "%s=%" PRId64 "/%" PRIu64 "/%d/%d/%" PRId64 "/%" PRIu64, k, c->value,
                        c->version, c->has_secret, c->ticked, c->mirrored, c->mirror_seen);
        total += c->value;
    }
    char hex[65];
    svc_digest_hex(&d, hex);
    char *json = zsys_sprintf("{\"events\":%" PRIu64 ",\"counters\":%zu,\"total\":%" PRId64
                              ",\"upstreamSeen\":%" PRIu64 ",\"lastUpstreamSeq\":%" PRIu64
                              ",\"digest\":\"%s\"}",
                              st->events, zhashx_size(st->counters), total, st->upstream_seen,
                              st->last_upstream_seq, hex);
    zlistx_destroy(&keys);
    return json;
}

static const svc_command_t s_commands[] = {
    {"Increment", &tp__example__increment__descriptor, false, NULL, s_decide_increment, NULL,
     false, &tp__example__counter_value__descriptor, SVC_GATEWAY | SVC_OPERATOR | SVC_PRODUCER | SVC_IDENT},
    {"SetSecret", &tp__example__set_secret__descriptor, false, s_prepare_secret, s_decide_secret,
     NULL, false, &tp__example__counter_value__descriptor, SVC_GATEWAY | SVC_OPERATOR | SVC_PRODUCER | SVC_IDENT},
    {"GetCounter", &tp__example__get_counter__descriptor, true, NULL, s_query_counter, NULL,
     false, &tp__example__counter_value__descriptor, SVC_GATEWAY | SVC_OPERATOR | SVC_PRODUCER | SVC_IDENT},
    {"WhoCalls", &tp__example__who_calls__descriptor, true, NULL, s_query_caller, NULL, false,
     &tp__example__caller__descriptor, SVC_GATEWAY | SVC_OPERATOR | SVC_PRODUCER | SVC_IDENT},
};

/* what react acts on; every other upstream event is skipped without a commit */
static const char *const s_reacts_to[] = {"CounterIncremented", NULL};

const svc_def_t example_def = {
    .name = "example",
    .state_new = s_state_new,
    .state_destroy = s_state_destroy,
    .apply = s_apply,
    .commands = s_commands,
    .n_commands = sizeof s_commands / sizeof s_commands[0],
    .react = s_react,
    .tick = s_tick,
    .upstreams = NULL,
    .reacts_to = s_reacts_to,
    .summary = s_summary,
};
