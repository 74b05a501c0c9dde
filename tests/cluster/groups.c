/* groups.c: the groups a cluster test appends, the table of their acknowledgements, a writer
 * thread and the read-back. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "groups.h"
#include "harness.h"

struct _tc_groups_t {
    tc_group_t *group;         /* [max + 1], by stream sequence */
    uint64_t max;              /* the table's size */
    atomic_uint_fast64_t last; /* the last stream sequence acknowledged */
    atomic_uint_fast64_t next; /* the next log sequence to give a record */
};

tc_groups_t *tc_groups_new(uint64_t max)
{
    tc_groups_t *self = calloc(1, sizeof *self);
    if (self)
        self->group = calloc(max + 1, sizeof *self->group);
    if (!self || !self->group) {
        free(self);
        return NULL;
    }
    self->max = max;
    self->next = 1;
    return self;
}

void tc_groups_destroy(tc_groups_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->group);
    free(*self_p);
    *self_p = NULL;
}

/* Record bytes: its length and each byte follow from its log sequence. */
static size_t s_rec_len(uint64_t seq)
{
    return 1 + (size_t) ((seq * 7919) % TC_REC_MAX);
}
static uint8_t s_rec_byte(uint64_t seq, size_t i)
{
    return (uint8_t) (seq * 131 + i * 31);
}

int tc_groups_append(evs_js_log_t *log, const char *writer, uint64_t first, uint32_t n,
                     uint64_t expect, evs_js_ack_t *ack)
{
    static _Thread_local uint8_t buf[TC_GROUP_RECS * TC_REC_MAX];
    evs_record_t recs[TC_GROUP_RECS];
    if (n > TC_GROUP_RECS)
        return EVS_INVALID;
    for (uint32_t k = 0; k < n; k++) {
        uint64_t seq = first + k;
        uint8_t *p = buf + k * TC_REC_MAX;
        recs[k] = (evs_record_t){.seq = seq, .data = p, .len = s_rec_len(seq)};
        for (size_t i = 0; i < recs[k].len; i++)
            p[i] = s_rec_byte(seq, i);
    }
    return evs_js_append(log, writer, first, expect, recs, n, ack);
}

void tc_groups_acked(tc_groups_t *self, uint64_t seq, const char *writer, uint64_t first,
                     uint32_t n)
{
    uint64_t last = atomic_load(&self->last);
    TH_CHECK(seq == last + 1 && seq <= self->max);
    if (seq != last + 1 || seq > self->max)
        return;
    tc_group_t *g = &self->group[seq];
    snprintf(g->writer, sizeof g->writer, "%s", writer);
    g->first = first;
    g->n = n;
    g->acked_ms = zclock_mono();
    atomic_store(&self->next, first + n);
    atomic_store(&self->last, seq); /* after the entry: a reader sees it whole */
}

uint64_t tc_groups_last(tc_groups_t *self)
{
    return atomic_load(&self->last);
}

uint64_t tc_groups_next(tc_groups_t *self)
{
    return atomic_load(&self->next);
}

const tc_group_t *tc_groups_at(tc_groups_t *self, uint64_t seq)
{
    return seq >= 1 && seq <= atomic_load(&self->last) ? &self->group[seq] : NULL;
}

/* ------------------------------------------------------------------- reading back */

typedef struct {
    tc_groups_t *table;
    uint64_t groups;  /* groups seen */
    uint64_t records; /* their records */
    uint64_t bytes;   /* their bytes */
    int bad;          /* groups that differ from what was acknowledged */
} s_seen_t;

static int s_check_record(const evs_record_t *rec, void *arg)
{
    s_seen_t *seen = arg;
    bool same = rec->len == s_rec_len(rec->seq);
    for (size_t i = 0; same && i < rec->len; i++)
        same = rec->data[i] == s_rec_byte(rec->seq, i);
    seen->records++;
    seen->bytes += rec->len;
    return same ? 0 : 1;
}

static int s_check_group(const evs_js_group_t *g, void *arg)
{
    s_seen_t *seen = arg;
    const tc_group_t *want = tc_groups_at(seen->table, g->seq);
    uint64_t records = seen->records;
    bool same = want && g->seq == seen->groups + 1 && strcmp(g->writer, want->writer) == 0 &&
                g->first_seq == want->first && evs_js_group_each(g, s_check_record, seen) == 0 &&
                seen->records - records == want->n;
    if (!same) {
        fprintf(stderr, "group %" PRIu64 " (%s:%" PRIu64 ") is not what was acknowledged\n", g->seq,
                g->writer, g->first_seq);
        seen->bad++;
    }
    seen->groups++;
    return 0;
}

bool tc_groups_read_back(tc_groups_t *self, evs_js_log_t *log, const char *when)
{
    s_seen_t seen = {.table = self};
    uint64_t last = tc_groups_last(self);
    int64_t t0 = zclock_mono(), failing_since = 0;
    int rc, retries = 0;
    /* on from where it stopped while the cluster cannot answer (an election), as a client
     * would, for 30 s at most */
    while ((rc = evs_js_read(log, seen.groups + 1, UINT64_MAX, s_check_group, &seen)) != 0 &&
           (rc == EVS_JS_UNAVAILABLE || rc == EVS_JS_TIMEOUT)) {
        int64_t now = zclock_mono();
        if (!failing_since)
            failing_since = now;
        if (now - failing_since > 30000)
            break;
        retries++;
        zclock_sleep(100);
    }
    int64_t ms = zclock_mono() - t0;
    if (rc != 0)
        fprintf(stderr, "read: %s\n", evs_js_error());
    evs_js_info_t info;
    bool ok = rc == 0 && seen.groups == last && seen.bad == 0 && evs_js_log_info(log, &info) == 0 &&
              info.last_seq == last && info.groups == last;
    TH_CHECK(ok);
    printf("read back %s: %" PRIu64 " groups (%" PRIu64 " acknowledged), %" PRIu64
           " records, %" PRIu64 " bytes in %" PRId64 " ms, %d differ, read %d times again\n",
           when, seen.groups, last, seen.records, seen.bytes, ms, seen.bad, retries);
    return ok;
}

/* ------------------------------------------------------------------ the writer thread */

struct _tc_load_t {
    tc_groups_t *groups;            /* where acknowledgements go (borrowed) */
    evs_js_log_t *log;              /* the stream (borrowed) */
    char writer[16];                /* its writer id */
    pthread_t thread;               /* the appending thread */
    atomic_bool stop;               /* set to end the thread */
    atomic_uint_fast64_t acked;     /* groups acknowledged */
    atomic_int retries;             /* appends tried again */
    atomic_int_fast64_t max_gap_ms; /* longest time between two acknowledgements */
    atomic_int failed;              /* appends that failed for good */
};

static void *s_load_run(void *arg)
{
    tc_load_t *l = arg;
    int64_t last_ack = zclock_mono();
    while (!atomic_load(&l->stop)) {
        uint64_t first = tc_groups_next(l->groups), expect = tc_groups_last(l->groups);
        uint32_t n = 1 + (uint32_t) (first % 3);
        evs_js_ack_t ack;
        int rc;
        int64_t deadline = zclock_mono() + 30000;
        /* the same group again until it is acknowledged: stored once, whatever happened */
        while ((rc = tc_groups_append(l->log, l->writer, first, n, expect, &ack)) != 0 &&
               (rc == EVS_JS_TIMEOUT || rc == EVS_JS_UNAVAILABLE) && zclock_mono() < deadline) {
            atomic_fetch_add(&l->retries, 1);
            zclock_sleep(50);
        }
        if (rc != 0) {
            fprintf(stderr, "load: %s: %s\n", evs_js_strerror(rc), evs_js_error());
            atomic_fetch_add(&l->failed, 1);
            break;
        }
        int64_t now = zclock_mono();
        if (now - last_ack > atomic_load(&l->max_gap_ms))
            atomic_store(&l->max_gap_ms, now - last_ack);
        last_ack = now;
        tc_groups_acked(l->groups, ack.seq, l->writer, first, n);
        atomic_fetch_add(&l->acked, 1);
    }
    return NULL;
}

tc_load_t *tc_load_start(tc_groups_t *groups, evs_js_log_t *log, const char *writer)
{
    tc_load_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->groups = groups;
    self->log = log;
    snprintf(self->writer, sizeof self->writer, "%s", writer);
    if (pthread_create(&self->thread, NULL, s_load_run, self) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void tc_load_stats(tc_load_t *self, tc_load_stats_t *stats)
{
    *stats = (tc_load_stats_t){.acked = atomic_load(&self->acked),
                               .retries = atomic_load(&self->retries),
                               .max_gap_ms = atomic_load(&self->max_gap_ms),
                               .failed = atomic_load(&self->failed)};
}

int64_t tc_load_wait(tc_load_t *self, uint64_t from, uint64_t more, int timeout_ms)
{
    int64_t t0 = zclock_mono();
    while (atomic_load(&self->acked) < from + more) {
        if (zclock_mono() - t0 > timeout_ms || atomic_load(&self->failed))
            return -1;
        zclock_sleep(5);
    }
    return zclock_mono() - t0;
}

void tc_load_stop(tc_load_t **self_p, tc_load_stats_t *stats)
{
    if (!self_p || !*self_p)
        return;
    tc_load_t *self = *self_p;
    atomic_store(&self->stop, true);
    pthread_join(self->thread, NULL);
    if (stats)
        tc_load_stats(self, stats);
    free(self);
    *self_p = NULL;
}
