/* evs_sha256.c: SHA-256 for the hash chain: the CPU's SHA extensions where present
 * (x86-64 SHA-NI), libsodium's implementation everywhere else.
 *
 * Why: hashing each envelope was a fifth of the instructions of a durable append
 * with libsodium's portable code; SHA-NI does a 64-byte block in a few dozen
 * instructions. The self-test checks both against each other on every length
 * from 0 to 1024 bytes, so the chain is the same whichever one runs. */
#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include "evs_sha256.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define S_HAVE_NI 1

static const uint32_t s_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

/* Compresses @p blocks 64-byte blocks into @p state (the standard SHA-NI sequence:
 * state kept as ABEF/CDGH, message schedule four words at a time). */
__attribute__((target("sha,sse4.1,ssse3"))) static void
s_blocks_ni(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *) &state[0]);
    __m128i st1 = _mm_loadu_si128((const __m128i *) &state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);            /* CDAB */
    st1 = _mm_shuffle_epi32(st1, 0x1B);            /* EFGH */
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);    /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);         /* CDGH */
    while (blocks--) {
        __m128i abef = st0, cdgh = st1;
        __m128i w[4];
        for (int g = 0; g < 16; g++) {
            if (g < 4)
                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (data + 16 * g)),
                                        bswap);
            else {
                /* W[g] = msg2(msg1(W[g-4], W[g-3]) + (W[g-2]:W[g-1] >> 32), W[g-1]) */
                __m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g - 3) & 3]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g - 1) & 3], w[(g - 2) & 3], 4));
                w[g & 3] = _mm_sha256msg2_epu32(t, w[(g - 1) & 3]);
            }
            __m128i msg =
                _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *) &s_k[4 * g]));
            st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
            msg = _mm_shuffle_epi32(msg, 0x0E);
            st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
        }
        st0 = _mm_add_epi32(st0, abef);
        st1 = _mm_add_epi32(st1, cdgh);
        data += 64;
    }
    tmp = _mm_shuffle_epi32(st0, 0x1B);            /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);            /* DCHG */
    st0 = _mm_blend_epi16(tmp, st1, 0xF0);         /* DCBA */
    st1 = _mm_alignr_epi8(st1, tmp, 8);            /* HGFE */
    _mm_storeu_si128((__m128i *) &state[0], st0);
    _mm_storeu_si128((__m128i *) &state[4], st1);
}

static void s_sha256_ni(uint8_t out[32], const uint8_t *data, size_t len)
{
    uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t full = len / 64;
    s_blocks_ni(st, data, full);
    uint8_t tail[128] = {0};
    size_t rest = len - full * 64;
    memcpy(tail, data + full * 64, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t) len * 8;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t) (bits >> (8 * i));
    s_blocks_ni(st, tail, tail_len / 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t) (st[i] >> 24);
        out[4 * i + 1] = (uint8_t) (st[i] >> 16);
        out[4 * i + 2] = (uint8_t) (st[i] >> 8);
        out[4 * i + 3] = (uint8_t) st[i];
    }
}
#endif

static int s_use_ni = -1;   /* -1 not decided yet; decided once, before threads race on it */

bool evs_sha256_accelerated(void)
{
#ifdef S_HAVE_NI
    if (s_use_ni < 0) {
        __builtin_cpu_init();
        s_use_ni = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") &&
                   __builtin_cpu_supports("ssse3");
    }
    return s_use_ni == 1;
#else
    return false;
#endif
}

void evs_sha256(uint8_t out[32], const uint8_t *data, size_t len)
{
#ifdef S_HAVE_NI
    if (evs_sha256_accelerated()) {
        s_sha256_ni(out, data, len);
        return;
    }
#endif
    crypto_hash_sha256(out, data, len);
}

int evs_sha256_test(bool verbose)
{
    int failed = 0;
    uint8_t buf[1024], a[32], b[32];
    randombytes_buf(buf, sizeof buf);
    for (size_t len = 0; len <= sizeof buf; len++) {
        evs_sha256(a, buf, len);
        crypto_hash_sha256(b, buf, len);
        if (memcmp(a, b, 32) != 0) {
            fprintf(stderr, "evs_sha256_test: mismatch with libsodium at length %zu\n", len);
            failed++;
            break;
        }
    }
    /* a known answer: SHA-256("abc") */
    static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                    0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                    0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    evs_sha256(a, (const uint8_t *) "abc", 3);
    if (memcmp(a, abc, 32) != 0) {
        fprintf(stderr, "evs_sha256_test: SHA-256(\"abc\") wrong\n");
        failed++;
    }
    if (verbose)
        printf("evs_sha256_test: %s implementation\n",
               evs_sha256_accelerated() ? "SHA-NI" : "libsodium");
    return failed ? 1 : 0;
}
