/* svc_digest.c: the SHA-256 digest of a core's state (for summaries). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "svc_digest.h"

void svc_digest_init(svc_digest_t *d)
{
    crypto_hash_sha256_init(&d->h);
}

void svc_digest_line(svc_digest_t *d, const char *fmt, ...)
{
    char stack[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    char *line = stack;
    if (n >= (int) sizeof stack) {
        /* a long record: format it again into a buffer that fits */
        line = malloc((size_t) n + 1);
        if (!line)
            return;
        va_start(ap, fmt);
        vsnprintf(line, (size_t) n + 1, fmt, ap);
        va_end(ap);
    }
    if (n > 0)
        crypto_hash_sha256_update(&d->h, (const uint8_t *) line, (size_t) n);
    crypto_hash_sha256_update(&d->h, (const uint8_t *) "\n", 1);
    if (line != stack)
        free(line);
}

void svc_digest_hex(svc_digest_t *d, char hex[65])
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&d->h, digest);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
}

zlistx_t *svc_sorted_keys(zhashx_t *hash)
{
    zlistx_t *keys = zlistx_new();
    if (!keys)
        return NULL;
    zlistx_set_comparator(keys, (zlistx_comparator_fn *) strcmp);
    for (void *v = zhashx_first(hash); v; v = zhashx_next(hash))
        zlistx_add_end(keys, (void *) zhashx_cursor(hash));
    zlistx_sort(keys);
    return keys;
}
