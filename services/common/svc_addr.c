/* svc_addr.c: client addresses as the key of throttling, and a rate per key (svc_addr.h). */
#include "svc_addr.h"
#include <arpa/inet.h>
#include <czmq.h>
#include <stdio.h>
#include <string.h>

bool svc_addr_key(const char *addr, char *out, size_t outsz)
{
    uint8_t bin[16];
    if (!outsz)
        return false;
    snprintf(out, outsz, "%s", addr ? addr : "");
    if (!addr || !*addr)
        return false;
    if (inet_pton(AF_INET, addr, bin) == 1) {
        inet_ntop(AF_INET, bin, out, (socklen_t) outsz);
        return true;
    }
    if (inet_pton(AF_INET6, addr, bin) != 1)
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(bin, mapped, sizeof mapped) == 0) {
        inet_ntop(AF_INET, bin + 12, out, (socklen_t) outsz);
        return true;
    }
    memset(bin + 8, 0, 8);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, bin, text, sizeof text);
    snprintf(out, outsz, "%s/64", text);
    return true;
}

/* ------------------------------------------------------------------ rate */

typedef struct {
    double tokens; /* what is left, up to burst */
    int64_t at_ms; /* when tokens was last brought up to date */
} s_bucket_t;

struct _svc_rate_t {
    zhashx_t *buckets; /* key -> s_bucket_t (owned) */
    double burst;      /* a full bucket */
    double per_ms;     /* refill per millisecond */
    size_t max_keys;   /* most keys followed at once */
};

static void s_bucket_free(void **item)
{
    free(*item);
    *item = NULL;
}

svc_rate_t *svc_rate_new(double burst, double per_minute, size_t max_keys)
{
    if (!(burst >= 1) || !(per_minute > 0) || max_keys == 0)
        return NULL;
    svc_rate_t *self = calloc(1, sizeof *self);
    if (!self || !(self->buckets = zhashx_new())) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->buckets, s_bucket_free);
    self->burst = burst;
    self->per_ms = per_minute / 60000.0;
    self->max_keys = max_keys;
    return self;
}

void svc_rate_destroy(svc_rate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->buckets);
    free(*self_p);
    *self_p = NULL;
}

static void s_refill(const svc_rate_t *self, s_bucket_t *b, int64_t now_ms)
{
    if (now_ms > b->at_ms) {
        b->tokens += (double) (now_ms - b->at_ms) * self->per_ms;
        if (b->tokens > self->burst)
            b->tokens = self->burst;
        b->at_ms = now_ms;
    }
}

/* Forgets the keys whose budget is full again: they are as if never seen. O(keys), run
 * only when the table is full, so a flood of new keys costs one sweep per max_keys/2. */
static void s_sweep(svc_rate_t *self, int64_t now_ms)
{
    zlistx_t *full = zlistx_new();
    if (!full)
        return;
    for (s_bucket_t *b = zhashx_first(self->buckets); b; b = zhashx_next(self->buckets)) {
        s_refill(self, b, now_ms);
        if (b->tokens >= self->burst)
            zlistx_add_end(full, (void *) zhashx_cursor(self->buckets));
    }
    for (const char *k = zlistx_first(full); k; k = zlistx_next(full))
        zhashx_delete(self->buckets, k);
    zlistx_destroy(&full);
}

bool svc_rate_take(svc_rate_t *self, const char *key, int64_t now_ms)
{
    assert(self);
    s_bucket_t *b = zhashx_lookup(self->buckets, key ? key : "");
    if (!b) {
        if (zhashx_size(self->buckets) >= self->max_keys) {
            s_sweep(self, now_ms);
            if (zhashx_size(self->buckets) >= self->max_keys)
                return false; /* that many clients throttled at once: no one more */
        }
        b = calloc(1, sizeof *b);
        if (!b)
            return false;
        b->tokens = self->burst;
        b->at_ms = now_ms;
        if (zhashx_insert(self->buckets, key ? key : "", b) != 0) {
            free(b);
            return false;
        }
    }
    s_refill(self, b, now_ms);
    if (b->tokens < 1)
        return false;
    b->tokens -= 1;
    return true;
}

size_t svc_rate_size(const svc_rate_t *self)
{
    return self ? zhashx_size(self->buckets) : 0;
}

/* ------------------------------------------------------------------ self-test */

int svc_addr_test(bool verbose)
{
    static const struct {
        const char *addr, *key;
        bool ok;
    } keys[] = {
        {"198.51.100.7", "198.51.100.7", true},
        {"2001:db8:1:2::5", "2001:db8:1:2::/64", true},
        {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64", true},
        {"2001:DB8:1:2:0:0:0:1", "2001:db8:1:2::/64", true},
        {"::ffff:192.0.2.1", "192.0.2.1", true},
        {"::1", "::/64", true},
        {"", "", false},
        {"unknown", "unknown", false},
        {NULL, "", false},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char out[SVC_ADDR_KEY_MAX];
        bool ok = svc_addr_key(keys[i].addr, out, sizeof out);
        if (ok != keys[i].ok || strcmp(out, keys[i].key) != 0) {
            fprintf(stderr, "svc_addr: key %zu: %d \"%s\", expected %d \"%s\"\n", i, ok, out,
                    keys[i].ok, keys[i].key);
            failed++;
        }
    }
    /* burst 3, then one every 2 s (30 a minute) */
    svc_rate_t *r = svc_rate_new(3, 30, 4);
    int took = 0;
    for (int i = 0; i < 10; i++)
        took += svc_rate_take(r, "a", 1000);
    failed += took != 3;
    failed += svc_rate_take(r, "a", 2999);  /* 1.999 s: not yet */
    failed += !svc_rate_take(r, "a", 3000); /* 2 s: one more */
    failed += svc_rate_take(r, "a", 3000);
    failed += !svc_rate_take(r, "b", 3000); /* another key has its own budget */
    /* a full table forgets the keys that are full again, else refuses new ones */
    failed += !svc_rate_take(r, "c", 3000) || !svc_rate_take(r, "d", 3000);
    failed += svc_rate_take(r, "e", 3000);   /* a, b, c, d all owe */
    failed += !svc_rate_take(r, "e", 60000); /* all full again: swept */
    failed += svc_rate_size(r) != 1;
    svc_rate_destroy(&r);
    svc_rate_destroy(&r);
    failed += svc_rate_new(0, 30, 4) != NULL || svc_rate_new(3, 0, 4) != NULL;
    if (verbose)
        printf(" * svc_addr: %zu keys, rates\n", sizeof keys / sizeof keys[0]);
    if (failed)
        fprintf(stderr, "svc_addr: %d checks failed\n", failed);
    return failed;
}
