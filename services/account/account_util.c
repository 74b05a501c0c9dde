/* account_util.c: small pure helpers of the account core: hex and SHA-256,
 * normalizing and checking e-mail addresses and shop codes, UTF-8 lengths. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_internal.h"

void acc_hex(const uint8_t *data, size_t len, char *out, size_t outsz)
{
    if (outsz < 2 * len + 1)
        len = outsz ? (outsz - 1) / 2 : 0;
    if (outsz)
        sodium_bin2hex(out, outsz, data, len);
}

void acc_sha256_hex(const void *data, size_t len, char *out)
{
    uint8_t d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, data, len);
    acc_hex(d, sizeof d, out, ACC_HEX_SIZE);
}

void acc_email_key(const uint8_t *secret, const char *email, char *out)
{
    uint8_t d[32];
    crypto_generichash(d, sizeof d, (const uint8_t *) email, strlen(email), secret,
                       SVC_SECRET_SIZE);
    acc_hex(d, sizeof d, out, ACC_HEX_SIZE);
}

/* Copies @p in without surrounding white space, lower-cased; false when it does not fit. */
static bool s_trim_lower(const char *in, char *out, size_t outsz)
{
    while (*in && isspace((unsigned char) *in))
        in++;
    size_t n = strlen(in);
    while (n && isspace((unsigned char) in[n - 1]))
        n--;
    if (n + 1 > outsz)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char) tolower((unsigned char) in[i]);
    out[n] = 0;
    return true;
}

/* Letters, digits and the printable specials RFC 5322 allows in a dot-atom. */
static bool s_atext(char c)
{
    return isalnum((unsigned char) c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* Internationalized domains must come in their ASCII (punycode) form. */
bool acc_email_normalize(const char *in, char *out, size_t outsz)
{
    char buf[ACC_EMAIL_MAX + 1];
    if (!in || !s_trim_lower(in, buf, sizeof buf) || strlen(buf) + 1 > outsz)
        return false;
    strcpy(out, buf);
    const char *at = strchr(buf, '@');
    if (!at || strchr(at + 1, '@'))
        return false;
    size_t local = (size_t) (at - buf);
    if (local < 1 || local > 64 || buf[0] == '.' || buf[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; i++)
        if (!(s_atext(buf[i]) || (buf[i] == '.' && buf[i + 1] != '.')))
            return false;
    /* domain: labels of [a-z0-9-], 1..63, no hyphen at either end; at least two;
     * the last one not all digits (that would be an IP address) */
    const char *d = at + 1;
    int labels = 0;
    bool all_digits = true;
    while (true) {
        size_t n = 0;
        all_digits = true;
        while (d[n] && d[n] != '.') {
            if (!(isalnum((unsigned char) d[n]) || d[n] == '-'))
                return false;
            all_digits &= isdigit((unsigned char) d[n]) != 0;
            n++;
        }
        if (n < 1 || n > 63 || d[0] == '-' || d[n - 1] == '-')
            return false;
        labels++;
        if (!d[n])
            break;
        d += n + 1;
    }
    return labels >= 2 && !all_digits;
}

bool acc_code_normalize(const char *in, char *out, size_t outsz)
{
    char buf[ACC_CODE_MAX + 1];
    if (!in || !s_trim_lower(in, buf, sizeof buf) || !*buf || strlen(buf) + 1 > outsz)
        return false;
    strcpy(out, buf);
    return true;
}

long acc_utf8_chars(const char *s)
{
    long n = 0;
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        size_t len = *p < 0x80           ? 1
                     : (*p >> 5) == 0x6  ? 2
                     : (*p >> 4) == 0xe  ? 3
                     : (*p >> 3) == 0x1e ? 4
                                         : 0;
        if (len == 0 || (len == 2 && *p < 0xc2) || (len == 4 && *p > 0xf4))
            return -1;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xc0) != 0x80)
                return -1;
        p += len;
        n++;
    }
    return n;
}

int acc_swap_secret(char **field, char *value, svc_out_t *out)
{
    if (!value) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return -1;
    }
    sodium_memzero(*field, strlen(*field));
    free(*field);
    *field = value;
    return 0;
}
