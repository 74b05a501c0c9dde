/* evs_sha256.h: SHA-256 of the hash chain (SHA-NI when the CPU has it, else libsodium). */
#ifndef EVS_SHA256_H
#define EVS_SHA256_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** @brief SHA-256 of @p len bytes at @p data into @p out (32 bytes). Thread-safe after
 *  the first call (which decides the implementation once). */
void evs_sha256(uint8_t out[32], const uint8_t *data, size_t len);

/** True when the CPU's SHA extensions are used. */
bool evs_sha256_accelerated(void);

/** Self-test: agrees with libsodium on every length 0..1024 and a known answer. */
int evs_sha256_test(bool verbose);
#endif
