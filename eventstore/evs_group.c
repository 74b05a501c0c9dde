/* evs_group.c: groups (evs_group.h): built item by item or from a batch's ops, decoded,
 * read, and applied into a batch after the chain's checks. */
#include "evs_group.h"
#include "evs_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAGIC      "TPG"
#define S_RECORD     0x01
#define S_REQUEST    0x02
#define S_CHECKPOINT 0x03
#define S_FIRST_CAP  4096 /* a new group's buffer; it doubles as needed */

struct _evs_group_t {
    uint8_t *buf; /* the header, then the items */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
    size_t n;     /* items */
};

/* Why the last apply or read of this thread failed. */
static _Thread_local char s_why[240];

static int s_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_why, sizeof s_why, fmt, ap);
    va_end(ap);
    return code;
}

const char *evs_group_error(void)
{
    return s_why;
}

static void s_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (24 - 8 * i));
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void s_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (56 - 8 * i));
}

static uint64_t s_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

//  --------------------------------------------------------------------------
//  The builder

evs_group_t *evs_group_new(void)
{
    evs_group_t *self = calloc(1, sizeof *self);
    uint8_t *buf = self ? malloc(S_FIRST_CAP) : NULL;
    if (!buf) {
        free(self);
        return NULL;
    }
    self->buf = buf;
    self->cap = S_FIRST_CAP;
    memcpy(self->buf, S_MAGIC, 3);
    self->buf[3] = EVS_GROUP_VERSION;
    self->len = EVS_GROUP_HEADER;
    return self;
}

void evs_group_destroy(evs_group_t **self_p)
{
    assert(self_p);
    if (!*self_p)
        return;
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

/* Room for one more item of @p n bytes: 0, EVS_INVALID (the count is full), -ENOMEM. */
static int s_room(evs_group_t *self, size_t n)
{
    if (self->n >= UINT32_MAX)
        return EVS_INVALID;
    if (n > SIZE_MAX / 2 - self->len)
        return -ENOMEM;
    if (self->cap - self->len >= n)
        return 0;
    size_t cap = self->cap;
    while (cap - self->len < n)
        cap *= 2;
    uint8_t *buf = realloc(self->buf, cap);
    if (!buf)
        return -ENOMEM;
    self->buf = buf;
    self->cap = cap;
    return 0;
}

/* Adds an item of @p size bytes in all: its kind and, for a request or a checkpoint, its
 * @p name; *rest is where the caller writes the rest. 0, EVS_INVALID, -ENOMEM. */
static int s_item(evs_group_t *self, uint8_t kind, const char *name, size_t name_len, size_t size,
                  uint8_t **rest)
{
    int rc = s_room(self, size);
    if (rc)
        return rc;
    uint8_t *p = self->buf + self->len;
    *p++ = kind;
    if (name) {
        *p++ = (uint8_t) name_len;
        memcpy(p, name, name_len);
        p += name_len;
    }
    self->len += size;
    self->n++;
    *rest = p;
    return 0;
}

int evs_group_add_record(evs_group_t *self, const uint8_t *data, size_t len)
{
    assert(self);
    if (!data || len == 0 || len > UINT32_MAX)
        return EVS_INVALID;
    uint8_t *p;
    int rc = s_item(self, S_RECORD, NULL, 0, 5 + len, &p);
    if (rc == 0) {
        s_put32(p, (uint32_t) len);
        memcpy(p + 4, data, len);
    }
    return rc;
}

/* A request item of an id of @p id_len bytes (1..EVS_MAX_ID, checked by the caller). */
static int s_add_request(evs_group_t *self, const char *id, size_t id_len, const uint8_t *result,
                         size_t len)
{
    if (len > UINT32_MAX || (!result && len))
        return EVS_INVALID;
    uint8_t *p;
    int rc = s_item(self, S_REQUEST, id, id_len, 6 + id_len + len, &p);
    if (rc == 0) {
        s_put32(p, (uint32_t) len);
        if (len)
            memcpy(p + 4, result, len);
    }
    return rc;
}

int evs_group_add_request(evs_group_t *self, const char *request_id, const uint8_t *result,
                          size_t len)
{
    assert(self);
    if (!evsi_id_ok(request_id))
        return EVS_INVALID;
    return s_add_request(self, request_id, strlen(request_id), result, len);
}

/* A checkpoint item of a name of @p len bytes (1..EVS_MAX_ID, checked by the caller). */
static int s_add_checkpoint(evs_group_t *self, const char *upstream, size_t len, uint64_t seq,
                            const uint8_t *hash)
{
    size_t hlen = hash ? EVS_HASH_SIZE : 0;
    uint8_t *p;
    int rc = s_item(self, S_CHECKPOINT, upstream, len, 11 + len + hlen, &p);
    if (rc == 0) {
        s_put64(p, seq);
        p[8] = (uint8_t) hlen;
        if (hlen)
            memcpy(p + 9, hash, hlen);
    }
    return rc;
}

int evs_group_add_checkpoint(evs_group_t *self, const char *upstream, uint64_t seq,
                             const uint8_t *hash)
{
    assert(self);
    if (!evsi_id_ok(upstream))
        return EVS_INVALID;
    return s_add_checkpoint(self, upstream, strlen(upstream), seq, hash);
}

size_t evs_group_size(const evs_group_t *self)
{
    assert(self);
    return self->len;
}

size_t evs_group_count(const evs_group_t *self)
{
    assert(self);
    return self->n;
}

/* Hands the bytes over (the count written into them); self->buf is NULL afterwards. */
static void s_detach(evs_group_t *self, uint8_t **out, size_t *len)
{
    s_put32(self->buf + 4, (uint32_t) self->n);
    *out = self->buf;
    *len = self->len;
    self->buf = NULL;
}

int evs_group_take(evs_group_t *self, uint8_t **out, size_t *len)
{
    assert(self && out && len);
    uint8_t *fresh = malloc(S_FIRST_CAP);
    if (!fresh)
        return -ENOMEM;
    memcpy(fresh, self->buf, 4);
    s_detach(self, out, len);
    self->buf = fresh;
    self->cap = S_FIRST_CAP;
    self->len = EVS_GROUP_HEADER;
    self->n = 0;
    return 0;
}

int evs_group_encode(evs_batch_t *b, uint8_t **out, size_t *len)
{
    assert(b && out && len);
    *out = NULL;
    *len = 0;
    if (b->state == EVSI_FAILED)
        return EVS_BAD_BATCH;
    evs_group_t *g = evs_group_new();
    if (!g)
        return -ENOMEM;
    /* its size first: one allocation */
    size_t size = 0;
    for (size_t i = 0; i < b->n_ops; i++) {
        const evsi_op_t *op = &b->ops[i];
        size += op->kind == EVSI_OP_EVENT     ? 5 + op->len
                : op->kind == EVSI_OP_REQUEST ? 6 + op->key_len + op->len
                                              : 11 + op->key_len + op->len;
    }
    int rc = s_room(g, size);
    for (size_t i = 0; rc == 0 && i < b->n_ops; i++) {
        const evsi_op_t *op = &b->ops[i];
        switch (op->kind) {
        case EVSI_OP_EVENT:
            rc = evs_group_add_record(g, op->data, op->len);
            break;
        case EVSI_OP_REQUEST:
            rc = s_add_request(g, op->key, op->key_len, op->data, op->len);
            break;
        case EVSI_OP_CHECKPOINT:
            rc = s_add_checkpoint(g, op->key, op->key_len, op->seq, op->len ? op->data : NULL);
            break;
        }
    }
    if (rc == 0)
        s_detach(g, out, len);
    evs_group_destroy(&g);
    return rc;
}

//  --------------------------------------------------------------------------
//  Reading

/* One decoded item; its pointers are into the group. */
typedef struct {
    uint8_t kind;        /* S_RECORD, S_REQUEST, S_CHECKPOINT */
    const uint8_t *data; /* the record, or the request's result */
    size_t len;
    const char *name; /* request id or upstream, not NUL-terminated */
    size_t name_len;
    uint64_t seq;        /* checkpoint: the upstream's seq */
    const uint8_t *hash; /* checkpoint: the hash, or NULL */
    evs_view_t view;     /* record: its envelope */
} s_item_t;

/* Decodes the item at *pp (before @p end) and moves past it: NULL, or why it does not. */
static const char *s_next(const uint8_t **pp, const uint8_t *end, s_item_t *it)
{
    const uint8_t *p = *pp;
    size_t left = (size_t) (end - p);
    memset(it, 0, sizeof *it);
    it->kind = *p;
    if (it->kind == S_RECORD) {
        if (left < 5)
            return "record cut short";
        it->len = s_get32(p + 1);
        if (it->len == 0 || it->len > left - 5)
            return "record length beyond the group, or 0";
        it->data = p + 5;
        if (evs_view(it->data, it->len, &it->view))
            return "record does not decode";
        *pp = p + 5 + it->len;
        return NULL;
    }
    if (it->kind != S_REQUEST && it->kind != S_CHECKPOINT)
        return "unknown item";
    if (left < 2 || p[1] < 1 || p[1] > EVS_MAX_ID || (size_t) p[1] > left - 2)
        return "name length 0, over EVS_MAX_ID, or beyond the group";
    it->name = (const char *) p + 2;
    it->name_len = p[1];
    if (memchr(it->name, 0, it->name_len))
        return "a NUL in a name";
    p += 2 + it->name_len;
    left = (size_t) (end - p);
    if (it->kind == S_REQUEST) {
        if (left < 4 || s_get32(p) > left - 4)
            return "request result beyond the group";
        it->len = s_get32(p);
        it->data = p + 4;
        *pp = p + 4 + it->len;
        return NULL;
    }
    if (left < 9 || (p[8] != 0 && p[8] != EVS_HASH_SIZE) || p[8] > left - 9)
        return "checkpoint cut short, or a hash that is not EVS_HASH_SIZE bytes";
    it->seq = s_get64(p);
    it->hash = p[8] ? p + 9 : NULL;
    *pp = p + 9 + p[8];
    return NULL;
}

typedef int(s_item_fn)(const s_item_t *it, size_t index, void *arg);

/* Decodes the whole group first, then calls @p fn per item. */
static int s_walk(const uint8_t *data, size_t len, s_item_fn *fn, void *arg)
{
    if (!data || len < EVS_GROUP_HEADER || memcmp(data, S_MAGIC, 3) != 0)
        return s_fail(EVS_CORRUPT, "not a group (no \"" S_MAGIC "\" header)");
    if (data[3] != EVS_GROUP_VERSION)
        return s_fail(EVS_MISMATCH, "a group of format version %u (this code reads %u)", data[3],
                      EVS_GROUP_VERSION);
    size_t count = s_get32(data + 4), n = 0;
    const uint8_t *end = data + len, *p = data + EVS_GROUP_HEADER;
    s_item_t it;
    for (; p < end; n++) {
        const char *why = n < count ? s_next(&p, end, &it) : "more items than its count";
        if (why)
            return s_fail(EVS_CORRUPT, "item %zu at byte %zu: %s", n, (size_t) (p - data), why);
    }
    if (n != count)
        return s_fail(EVS_CORRUPT, "%zu items of %zu: cut short", n, count);
    p = data + EVS_GROUP_HEADER;
    for (size_t i = 0; i < count; i++) {
        s_next(&p, end, &it);
        int rc = fn(&it, i, arg);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct {
    evs_record_fn *records;
    evs_request_fn *requests;
    evs_checkpoint_fn *checkpoints;
    void *arg;
} s_each_t;

static int s_each_item(const s_item_t *it, size_t index, void *arg)
{
    (void) index;
    s_each_t *e = arg;
    char name[EVS_MAX_ID + 1];
    if (it->kind != S_RECORD) {
        memcpy(name, it->name, it->name_len);
        name[it->name_len] = '\0';
    }
    if (it->kind == S_RECORD && e->records) {
        evs_record_t rec = {it->view.seq, it->data, it->len};
        return e->records(&rec, e->arg);
    }
    if (it->kind == S_REQUEST && e->requests)
        return e->requests(name, it->data, it->len, e->arg);
    if (it->kind == S_CHECKPOINT && e->checkpoints)
        return e->checkpoints(name, it->seq, it->hash, e->arg);
    return 0;
}

int evs_group_each(const uint8_t *data, size_t len, evs_record_fn *records,
                   evs_request_fn *requests, evs_checkpoint_fn *checkpoints, void *arg)
{
    s_each_t e = {records, requests, checkpoints, arg};
    return s_walk(data, len, s_each_item, &e);
}

//  --------------------------------------------------------------------------
//  Applying

typedef struct {
    evs_batch_t *b;       /* the batch applied into */
    uint64_t first, last; /* seqs of the group's records */
} s_apply_t;

static int s_apply_item(const s_item_t *it, size_t index, void *arg)
{
    s_apply_t *a = arg;
    char name[EVS_MAX_ID + 1], why[160] = "";
    int rc;
    if (it->kind == S_RECORD) {
        rc = evsi_rc(evsi_batch_put_record(a->b, it->data, it->len, why, sizeof why));
        if (rc)
            return s_fail(rc, "item %zu (record of seq %llu): %s", index,
                          (unsigned long long) it->view.seq, why[0] ? why : evs_strerror(rc));
        a->last = it->view.seq;
        if (!a->first)
            a->first = a->last;
        return 0;
    }
    memcpy(name, it->name, it->name_len);
    name[it->name_len] = '\0';
    if (it->kind == S_CHECKPOINT) {
        rc = evs_batch_checkpoint_hash(a->b, name, it->seq, it->hash);
        return rc ? s_fail(rc, "item %zu (checkpoint %s): %s", index, name, evs_strerror(rc)) : 0;
    }
    const uint8_t *kept;
    size_t kept_len;
    rc = evs_batch_request_get(a->b, name, &kept, &kept_len);
    if (rc == 0) /* kept already: the same result is this group's, again */
        return kept_len == it->len && memcmp(kept, it->data, it->len) == 0
                   ? 0
                   : s_fail(EVS_CORRUPT, "item %zu: request %s is kept with another result", index,
                            name);
    if (rc == EVS_NOTFOUND)
        rc = evs_batch_append(a->b, NULL, 0, NULL, 0, name, it->data, it->len, NULL, NULL);
    return rc ? s_fail(rc, "item %zu (request %s): %s", index, name, evs_strerror(rc)) : 0;
}

int evs_group_apply(evs_batch_t *b, const uint8_t *data, size_t len, uint64_t *first_seq,
                    uint64_t *last_seq)
{
    assert(b);
    if (first_seq)
        *first_seq = 0;
    if (last_seq)
        *last_seq = 0;
    if (b->state != EVSI_OPEN)
        return s_fail(EVS_BAD_BATCH, "the batch is not open");
    s_apply_t a = {b, 0, 0};
    int rc = s_walk(data, len, s_apply_item, &a);
    if (rc) {
        b->state = EVSI_FAILED; /* it may hold part of the group: never to be written */
        return rc;
    }
    if (first_seq)
        *first_seq = a.first;
    if (last_seq)
        *last_seq = a.last;
    return 0;
}
