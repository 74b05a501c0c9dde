/* evs_bloom.c: scalable blocked Bloom filter over byte strings (see evs_bloom.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs_bloom.h"

#define S_WORDS 8               /* 64-bit words per block: 512 bits, one cache line */
#define S_BITS_PER_KEY 12       /* at least; the block count is a power of two */
#define S_K 7                   /* bits set per key, 9 bits of hash each */
#define S_MIN_KEYS 4096
#define S_MAX_FILTERS 48

typedef struct {
    uint64_t *blocks;           /* nblocks * S_WORDS words, 64-byte aligned */
    size_t nblocks;             /* a power of two */
    size_t cap;                 /* keys it is sized for */
    size_t n;                   /* keys added */
} s_filter_t;

struct _evs_bloom_t {
    s_filter_t filters[S_MAX_FILTERS];
    size_t n_filters;
    size_t count;
};

/* splitmix64's finalizer: every input bit moves every output bit. */
static uint64_t s_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* 64 bits of hash of @p len bytes, a word at a time. */
static uint64_t s_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (len * 0xff51afd7ed558ccdull);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = s_mix(h ^ w);
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    return s_mix(h ^ w ^ ((uint64_t) len << 56));
}

static int s_filter_init(s_filter_t *f, size_t cap)
{
    size_t want = (cap * S_BITS_PER_KEY + 511) / 512, nblocks = 1;
    while (nblocks < want)
        nblocks <<= 1;
    void *mem = NULL;
    if (posix_memalign(&mem, 64, nblocks * S_WORDS * sizeof(uint64_t)) != 0)
        return -ENOMEM;
    memset(mem, 0, nblocks * S_WORDS * sizeof(uint64_t));
    *f = (s_filter_t) {mem, nblocks, cap, 0};
    return 0;
}

evs_bloom_t *evs_bloom_new(size_t expected)
{
    evs_bloom_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (s_filter_init(&self->filters[0], expected > S_MIN_KEYS ? expected : S_MIN_KEYS)) {
        free(self);
        return NULL;
    }
    self->n_filters = 1;
    return self;
}

void evs_bloom_destroy(evs_bloom_t **self_p)
{
    evs_bloom_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_filters; i++)
        free(self->filters[i].blocks);
    free(self);
    *self_p = NULL;
}

int evs_bloom_add(evs_bloom_t *self, const void *key, size_t len)
{
    s_filter_t *f = &self->filters[self->n_filters - 1];
    if (f->n >= f->cap) {
        if (self->n_filters == S_MAX_FILTERS ||
            s_filter_init(&self->filters[self->n_filters], f->cap * 2) != 0)
            return -ENOMEM;
        f = &self->filters[self->n_filters++];
    }
    uint64_t h1 = s_hash(key, len), h2 = s_mix(h1 ^ 0x2545f4914f6cdd1dull);
    uint64_t *block = f->blocks + (h1 & (f->nblocks - 1)) * S_WORDS;
    for (int i = 0; i < S_K; i++) {
        unsigned bit = (unsigned) (h2 >> (9 * i)) & 511;
        block[bit >> 6] |= 1ull << (bit & 63);
    }
    f->n++;
    self->count++;
    return 0;
}

bool evs_bloom_maybe(const evs_bloom_t *self, const void *key, size_t len)
{
    uint64_t h1 = s_hash(key, len), h2 = s_mix(h1 ^ 0x2545f4914f6cdd1dull);
    for (size_t k = 0; k < self->n_filters; k++) {
        const s_filter_t *f = &self->filters[k];
        const uint64_t *block = f->blocks + (h1 & (f->nblocks - 1)) * S_WORDS;
        bool all = true;
        for (int i = 0; i < S_K && all; i++) {
            unsigned bit = (unsigned) (h2 >> (9 * i)) & 511;
            all = (block[bit >> 6] >> (bit & 63)) & 1;
        }
        if (all)
            return true;
    }
    return false;
}

size_t evs_bloom_count(const evs_bloom_t *self)
{
    return self->count;
}

//  --------------------------------------------------------------------------
//  Self-test

#define S_CHECK(c)                                                                  \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            failed++;                                                               \
        }                                                                           \
    } while (0)

int evs_bloom_test(bool verbose)
{
    int failed = 0;
    enum { N = 200000 };
    /* sized for far fewer keys than it gets: it must grow, and keep every key */
    evs_bloom_t *b = evs_bloom_new(1000);
    S_CHECK(b);
    if (!b)
        return 1;
    char key[64];
    S_CHECK(!evs_bloom_maybe(b, "anything", 8));
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "req-%d-%08x", i, (unsigned) (i * 2654435761u));
        S_CHECK(evs_bloom_add(b, key, (size_t) n) == 0);
    }
    S_CHECK(evs_bloom_count(b) == N);
    S_CHECK(b->n_filters > 1);
    int missing = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "req-%d-%08x", i, (unsigned) (i * 2654435761u));
        missing += !evs_bloom_maybe(b, key, (size_t) n);
    }
    S_CHECK(missing == 0);
    /* keys never added: a few false positives, well under 5 % */
    int fp = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "other-%d", i);
        fp += evs_bloom_maybe(b, key, (size_t) n);
    }
    double rate = (double) fp / N;
    if (verbose)
        printf("evs_bloom: %zu filters for %d keys, false positives %.3f %%\n", b->n_filters,
               N, rate * 100);
    S_CHECK(rate < 0.05);
    /* keys of every length up to 63, prefixes of each other: all found */
    evs_bloom_t *c = evs_bloom_new(0);
    S_CHECK(c);
    memset(key, 'x', sizeof key);
    for (size_t n = 0; c && n < sizeof key; n++)
        S_CHECK(evs_bloom_add(c, key, n) == 0);
    for (size_t n = 0; c && n < sizeof key; n++)
        S_CHECK(evs_bloom_maybe(c, key, n));
    evs_bloom_destroy(&c);
    evs_bloom_destroy(&b);
    S_CHECK(b == NULL);
    evs_bloom_destroy(&b);   /* safe on NULL */
    return failed ? 1 : 0;
}
