/* revocation_util.c: the revocation core's pure helpers: numbers, ids, text, reasons. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "svc_text.h"
#include "revocation_internal.h"

/* Numbers are read off letters and cards and typed in by people in a hurry: case,
 * spaces and separators ("TP-2026-000042", "tp 2026 000042") must not matter. */
bool rvk_number_normalize(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    if (!in || outsz == 0 || strlen(in) > 4 * RVK_NUMBER_MAX)
        return false;
    for (const char *c = in; *c; c++) {
        if (!isalnum((unsigned char) *c) || (unsigned char) *c >= 0x80)
            continue;
        if (n + 1 >= outsz || n >= RVK_NUMBER_MAX)
            return false;
        out[n++] = (char) toupper((unsigned char) *c);
    }
    out[n] = '\0';
    return n > 0;
}

void rvk_sha256_hex(const char *s, char *out)
{
    uint8_t raw[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(raw, (const uint8_t *) s, strlen(s));
    sodium_bin2hex(out, RVK_HEX_SIZE, raw, sizeof raw);
}

bool rvk_valid_id(const char *s)
{
    return svc_valid_id(s, RVK_ID_MAX);
}

void rvk_product_stream(char *out, size_t outsz, const char *order_id)
{
    snprintf(out, outsz, "product-%s", order_id);
}

static bool s_reason_valid(const char *reason)
{
    return reason && (streq(reason, "card_lost") || streq(reason, "suspected_misuse") ||
                      streq(reason, "other"));
}

void rvk_check_reason(svc_out_t *out, const char *reason, const char *comment)
{
    if (!s_reason_valid(reason))
        svc_out_error(out, "invalid", "reason",
                      "must be one of card_lost, suspected_misuse, other");
    long n = svc_text_len(rvk_s(comment), true);
    if (n < 0 || n > REVOCATION_COMMENT_MAX)
        svc_out_error(out, "invalid", "comment",
                      "must be at most %d characters of text (no control characters)",
                      REVOCATION_COMMENT_MAX);
}

bool rvk_check_revocable(const rvk_product_t *p, const char *field, svc_out_t *out)
{
    if (!p->product_id) {
        svc_out_error(out, "not_found", field,
                      "the card of this order has not been shipped yet: there is nothing to "
                      "revoke; please contact customer support to stop the order");
        return false;
    }
    if (p->request && !p->request->completed) {
        svc_out_error(out, "conflict", field,
                      "already being revoked (request %s); revocation is irreversible and "
                      "completes within minutes",
                      p->request->requested->request_id);
        return false;
    }
    if (p->request) {
        svc_out_error(out, "conflict", field, "already revoked (request %s)",
                      p->request->requested->request_id);
        return false;
    }
    return true;
}
