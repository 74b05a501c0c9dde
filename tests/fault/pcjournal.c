/* pcjournal.c: a power-cut journal read back, and the files rebuilt from it (pcjournal.h).
 *
 * The journal and the base file are read into memory once (a few megabytes under the fault
 * suite's load); each rebuild copies the base and applies
 * the writes in the journal's order, so that where two writes overlap the later one wins,
 * as it does in the page cache. */
#include "pcjournal.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_SECTOR 512 /* what a torn write keeps: a prefix of whole sectors */

struct _pc_journal_t {
    pc_rec_t *recs;       /* the records' headers */
    const uint8_t **data; /* a write's bytes (into blob), else NULL */
    size_t n;             /* records */
    zchunk_t *blob;       /* the journal as read */
    zchunk_t *base;       /* the file before the first record */
};

pc_journal_t *pc_journal_new(const char *path, const char *base)
{
    pc_journal_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->blob = zchunk_slurp(path, 0);
    self->base = zchunk_slurp(base, 0);
    if (!self->blob || !self->base) {
        fprintf(stderr, "pcjournal: cannot read %s or %s\n", path, base);
        goto fail;
    }
    const uint8_t *blob = zchunk_data(self->blob);
    size_t len = zchunk_size(self->blob);
    size_t cap = len / sizeof(pc_rec_t) + 1; /* at most so many records */
    self->recs = calloc(cap, sizeof *self->recs);
    self->data = calloc(cap, sizeof *self->data);
    if (!self->recs || !self->data)
        goto fail;
    for (size_t at = 0; at < len; self->n++) {
        pc_rec_t *r = &self->recs[self->n];
        if (len - at < sizeof *r)
            goto short_;
        memcpy(r, blob + at, sizeof *r);
        at += sizeof *r;
        bool write = r->kind == PC_WRITE || r->kind == PC_DWRITE;
        if (r->kind < PC_WRITE || r->kind > PC_TRUNCATE || (!write && r->len) || r->len > len - at)
            goto short_;
        self->data[self->n] = write ? blob + at : NULL;
        at += r->len;
    }
    return self;
short_:
    fprintf(stderr, "pcjournal: %s: record %zu cut short or unknown\n", path, self->n);
fail:
    pc_journal_destroy(&self);
    return NULL;
}

void pc_journal_destroy(pc_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pc_journal_t *self = *self_p;
    free(self->recs);
    free(self->data);
    zchunk_destroy(&self->blob);
    zchunk_destroy(&self->base);
    free(self);
    *self_p = NULL;
}

size_t pc_journal_size(const pc_journal_t *self)
{
    return self->n;
}

const pc_rec_t *pc_journal_rec(const pc_journal_t *self, size_t i)
{
    return i < self->n ? &self->recs[i] : NULL;
}

uint64_t pc_rand(uint64_t *rng)
{
    uint64_t x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *rng = x;
}

/* The file being rebuilt: bytes and length (a truncate shortens it, a write past its end
 * lengthens it, the gap zeros). */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
} s_file_t;

static int s_apply(s_file_t *f, uint64_t off, const uint8_t *data, uint64_t n, bool truncate)
{
    uint64_t end = truncate ? off : off + n;
    if (end > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < end)
            cap *= 2;
        uint8_t *grown = realloc(f->buf, cap);
        if (!grown)
            return -1;
        f->buf = grown;
        f->cap = cap;
    }
    if (end > f->len)
        memset(f->buf + f->len, 0, end - f->len);
    if (truncate)
        f->len = end;
    else {
        memcpy(f->buf + off, data, n);
        if (end > f->len)
            f->len = end;
    }
    return 0;
}

int pc_journal_rebuild(const pc_journal_t *self, int64_t cut_ns, uint64_t *rng, const char *out,
                       pc_pick_t *pick)
{
    pc_pick_t none = {0};
    if (!pick)
        pick = &none;
    *pick = none;
    /* the barrier: the last flush done by the cut */
    size_t barrier = 0; /* records before it are durable */
    for (size_t i = 0; i < self->n; i++)
        if (self->recs[i].kind == PC_SYNC && self->recs[i].end_ns <= cut_ns)
            barrier = i + 1;
    size_t base_len = zchunk_size(self->base);
    s_file_t f = {malloc(base_len ? base_len : 1), base_len, base_len ? base_len : 1};
    if (!f.buf)
        return -1;
    memcpy(f.buf, zchunk_data(self->base), base_len);
    int rc = 0;
    for (size_t i = 0; i < self->n && rc == 0; i++) {
        const pc_rec_t *r = &self->recs[i];
        if (r->kind == PC_SYNC || r->kind == PC_NOSYNC || r->start_ns >= cut_ns)
            continue; /* a flush writes nothing; what began after the cut never was */
        uint64_t n = r->len;
        bool durable = !rng || i < barrier || (r->kind == PC_DWRITE && r->end_ns <= cut_ns);
        if (durable)
            pick->durable++;
        else {
            /* whole, lost or torn alike often; a torn write ends at one of the sector
             * boundaries inside it (one within a sector is whole or lost) */
            uint64_t first = (r->off / S_SECTOR + 1) * S_SECTOR;
            uint64_t last = (r->off + n - 1) / S_SECTOR * S_SECTOR;
            uint64_t roll = pc_rand(rng) % 3;
            if (roll == 2 && n > 0 && last >= first) {
                n = first + pc_rand(rng) % ((last - first) / S_SECTOR + 1) * S_SECTOR - r->off;
                pick->torn++;
            }
            else if (roll == 1 || roll == 2) {
                pick->lost++;
                continue;
            }
            else
                pick->kept++;
        }
        rc = s_apply(&f, r->off, self->data[i], n, r->kind == PC_TRUNCATE);
    }
    int fd = rc == 0 ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    size_t done = 0;
    while (fd >= 0 && done < f.len) {
        ssize_t w = write(fd, f.buf + done, f.len - done);
        if (w <= 0)
            break;
        done += (size_t) w;
    }
    if (fd < 0 || done < f.len) {
        fprintf(stderr, "pcjournal: cannot write %s: %s\n", out, strerror(errno));
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    free(f.buf);
    return rc;
}
