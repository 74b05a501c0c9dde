/* svc_text.c: checks of the text fields commands carry (see svc_text.h). */
#include "svc_text.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

long svc_text_len(const char *s, bool lines)
{
    static const uint32_t least[4] = {0, 0x80, 0x800, 0x10000};
    const unsigned char *p = (const unsigned char *) s;
    long n = 0;
    while (*p) {
        uint32_t cp;
        int extra;
        if (*p < 0x80) {
            cp = *p;
            extra = 0;
        }
        else if ((*p & 0xe0) == 0xc0) {
            cp = *p & 0x1f;
            extra = 1;
        }
        else if ((*p & 0xf0) == 0xe0) {
            cp = *p & 0x0f;
            extra = 2;
        }
        else if ((*p & 0xf8) == 0xf0) {
            cp = *p & 0x07;
            extra = 3;
        }
        else
            return -1;
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (*p & 0x3f);
        }
        if (cp < least[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            cp == 0x2028 || cp == 0x2029)
            return -1;
        bool control = cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
        if (control && !(lines && (cp == '\n' || cp == '\r' || cp == '\t')))
            return -1;
        n++;
    }
    return n;
}

bool svc_valid_id(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
            return false;
    return true;
}

int svc_text_test(bool verbose)
{
    static const struct {
        const char *s;
        bool lines;
        long want;
    } cases[] = {
        {"", false, 0},
        {"Müller-Lüdenscheidt", false, 19},
        {"\xe2\x82\xac 5", false, 3},                 /* euro sign */
        {"\xf0\x9f\x98\x80", false, 1},               /* U+1F600 */
        {"a\nb", false, -1},
        {"a\nb\r\n\tc", true, 7},
        {"a\x01", true, -1},                          /* C0 control */
        {"\x7f", false, -1},                          /* DEL */
        {"\xc2\x85", true, -1},                       /* C1 control (NEL) */
        {"\xe2\x80\xa8", true, -1},                   /* U+2028 */
        {"\xe2\x80\xa9", false, -1},                  /* U+2029 */
        {"\xc0\xaf", false, -1},                      /* overlong */
        {"\xe0\x80\xaf", false, -1},                  /* overlong */
        {"\xed\xa0\x80", false, -1},                  /* surrogate */
        {"\xf4\x90\x80\x80", false, -1},              /* beyond U+10FFFF */
        {"\xff", false, -1},
        {"\xc3", false, -1},                          /* cut short */
        {"\xe2\x82", false, -1},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long got = svc_text_len(cases[i].s, cases[i].lines);
        if (got != cases[i].want) {
            fprintf(stderr, "svc_text: case %zu: %ld, expected %ld\n", i, got, cases[i].want);
            failed++;
        }
    }
    static const struct {
        const char *s;
        bool want;
    } ids[] = {{"TP-00001", true},       {"", false},       {NULL, false},
               {"a b", false},           {"a\n", false},    {"\xc3\xa4", false},
               {"\x7f", false},           {"12345678", true}, {"123456789", false}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (svc_valid_id(ids[i].s, 8) != ids[i].want) {
            fprintf(stderr, "svc_text: id case %zu: expected %d\n", i, ids[i].want);
            failed++;
        }
    if (verbose)
        printf(" * svc_text: %zu cases, %zu ids\n", sizeof cases / sizeof cases[0],
               sizeof ids / sizeof ids[0]);
    return failed;
}
