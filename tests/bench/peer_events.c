/* peer_events.c: the example service's Increment events, built by the event store for
 * the backbone benchmark's peers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs.h"
#include "example.pb-c.h"
#include "peer_events.h"
#include "tp.pb-c.h"

#define S_STREAMS 16              /* streams per client, as th_load_run */
#define S_ACTOR   "operator:test" /* the actor of the bench's key operator-test */

struct _pe_log_t {
    evs_t *store; /* the scratch log, opened with EVS_NOSYNC */
};

typedef struct {
    pe_event_t ev;       /* what pe_set_at() hands out; points into the rest */
    char stream[64];     /* its stream id */
    char request_id[48]; /* its request id */
} s_item_t;

struct _pe_set_t {
    s_item_t *items; /* [n] */
    size_t n;
    int clients;           /* event i is client i % clients' */
    size_t envelope_bytes; /* sum of envelope sizes */
};

pe_log_t *pe_log_new(const char *dir)
{
    pe_log_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    evs_opts_t opts = {0};
    opts.flags = EVS_NOSYNC; /* not measured: only the peers' own writes are */
    opts.service = "example";
    int rc = evs_open(dir, &opts, &self->store);
    if (rc != 0) {
        fprintf(stderr, "peer events: cannot open %s: %s\n", dir, evs_strerror(rc));
        free(self);
        return NULL;
    }
    return self;
}

void pe_log_destroy(pe_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_destroy(&(*self_p)->store);
    free(*self_p);
    *self_p = NULL;
}

void pe_set_destroy(pe_set_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pe_set_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free((void *) self->items[i].ev.envelope); /* the result shares its block */
    free(self->items);
    free(self);
    *self_p = NULL;
}

/* The reply the service keeps under the request id of event @p it: a tp.Reply with
 * the CounterValue as its body; into @p out (at least 256 bytes). */
static size_t s_result(const s_item_t *it, const char *counter, uint8_t *out)
{
    Tp__Example__CounterValue value = TP__EXAMPLE__COUNTER_VALUE__INIT;
    value.counter = (char *) counter;
    value.value = (int64_t) it->ev.version; /* by = 1 every time */
    value.version = (int64_t) it->ev.version;
    uint8_t body[128];
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) it->request_id;
    reply.ok = true;
    reply.body.data = body;
    reply.body.len = tp__example__counter_value__pack(&value, body);
    reply.last_seq = it->ev.seq;
    return tp__reply__pack(&reply, out);
}

/* Appends event @p it to @p batch as the service would, and keeps a copy of the record
 * and the result. */
static int s_append(evs_batch_t *batch, s_item_t *it, const char *counter)
{
    Tp__Example__CounterIncremented inc = TP__EXAMPLE__COUNTER_INCREMENTED__INIT;
    inc.counter = (char *) counter;
    inc.by = 1;
    inc.value = (int64_t) it->ev.version;
    uint8_t payload[128], result[256];
    size_t plen = tp__example__counter_incremented__pack(&inc, payload);
    it->ev.seq = evs_batch_head(batch) + 1;
    size_t rlen = s_result(it, counter, result);
    evs_event_t e = {it->stream,     "CounterIncremented", payload, plen,
                     it->request_id, it->request_id,       S_ACTOR};
    evs_expect_t expect = {it->stream, (int64_t) it->ev.version - 1};
    uint64_t seq = 0;
    int rc = evs_batch_append(batch, &e, 1, &expect, 1, it->request_id, result, rlen, &seq, NULL);
    evs_record_t rec;
    if (rc == 0 && (seq != it->ev.seq || evs_batch_record(batch, seq, &rec) != 0))
        rc = EVS_CORRUPT;
    if (rc != 0) {
        fprintf(stderr, "peer events: append of %s failed: %s\n", it->request_id, evs_strerror(rc));
        return -1;
    }
    uint8_t *copy = malloc(rec.len + rlen);
    if (!copy)
        return -1;
    memcpy(copy, rec.data, rec.len);
    memcpy(copy + rec.len, result, rlen);
    it->ev.envelope = copy;
    it->ev.envelope_len = rec.len;
    it->ev.result = copy + rec.len;
    it->ev.result_len = rlen;
    return 0;
}

pe_set_t *pe_set_new(pe_log_t *log, const char *prefix, int clients, int count)
{
    pe_set_t *self = calloc(1, sizeof *self);
    evs_batch_t *batch = NULL;
    if (!self || clients < 1 || count < 0)
        goto fail;
    self->clients = clients;
    self->items = calloc((size_t) count + 1, sizeof *self->items);
    int rc = self->items ? evs_batch_begin(log->store, &batch) : -1;
    if (rc != 0)
        goto fail;
    for (int i = 0; i < count; i++) {
        s_item_t *it = &self->items[i];
        int c = i % clients, j = i / clients;
        char counter[48];
        snprintf(counter, sizeof counter, "%s-%d-%d", prefix, c, j % S_STREAMS);
        snprintf(it->stream, sizeof it->stream, "counter-%s", counter);
        snprintf(it->request_id, sizeof it->request_id, "%s-%d-%d", prefix, c, j);
        it->ev.stream = it->stream;
        it->ev.request_id = it->request_id;
        it->ev.version = (uint64_t) (j / S_STREAMS) + 1;
        self->n++;
        if (s_append(batch, it, counter) != 0)
            goto fail;
        self->envelope_bytes += it->ev.envelope_len;
    }
    /* committed (without fsync) so that the next set follows these seqs and hashes */
    if ((rc = evs_batch_commit(batch)) != 0) {
        fprintf(stderr, "peer events: commit failed: %s\n", evs_strerror(rc));
        goto fail;
    }
    evs_batch_end(&batch);
    return self;
fail:
    if (batch)
        evs_batch_end(&batch);
    pe_set_destroy(&self);
    return NULL;
}

size_t pe_set_size(const pe_set_t *self)
{
    return self->n;
}

const pe_event_t *pe_set_at(const pe_set_t *self, size_t i)
{
    return i < self->n ? &self->items[i].ev : NULL;
}

int pe_set_clients(const pe_set_t *self)
{
    return self->clients;
}

double pe_set_envelope_mean(const pe_set_t *self)
{
    return self->n ? (double) self->envelope_bytes / (double) self->n : 0;
}
