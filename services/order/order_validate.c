/* order_validate.c: validation of the fields of an order and a shop, one error per
 * bad field with its lowerCamelCase path and a reason a customer can act on. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "svc_text.h"
#include "order_internal.h"

/* ------------------------------------------------------------------ dates */

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm, proleptic Gregorian). */
static int64_t s_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ord_civil(int64_t days, int *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}

int64_t ord_days_of(int64_t us)
{
    int64_t s = us / 1000000;
    return (s >= 0 ? s : s - 86399) / 86400;
}

bool ord_parse_date(const char *s, int64_t *days)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char) s[i]))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return false;
    *days = s_days_from_civil(y, m, d);
    return true;
}

/* ------------------------------------------------------------------ text */

bool ord_check_text(svc_out_t *out, const char *path, const char *value, size_t min,
                    size_t max)
{
    value = ord_s(value);
    long n = svc_text_len(value, false);
    if (n < 0) {
        svc_out_error(out, "invalid", path, "must be text without control characters");
        return false;
    }
    /* blank is missing: "  " would print as an empty field on the form */
    bool blank = true;
    for (const char *p = value; *p && blank; p++)
        blank = *p == ' ';
    if (min > 0 && (n == 0 || blank)) {
        svc_out_error(out, "invalid", path, "is required");
        return false;
    }
    if ((size_t) n < min || (size_t) n > max) {
        svc_out_error(out, "invalid", path, "must be %zu to %zu characters", min, max);
        return false;
    }
    return true;
}

/* Names: letters of any script, spaces, hyphens, apostrophes and dots; no digits or
 * symbols (they appear in the certificate exactly as given). */
static void s_check_name(svc_out_t *out, const char *path, const char *value, size_t max)
{
    if (!ord_check_text(out, path, value, 1, max))
        return;
    for (const unsigned char *p = (const unsigned char *) value; *p; p++)
        if (*p < 0x80 && !isalpha(*p) && !strchr(" -'.", *p)) {
            svc_out_error(out, "invalid", path,
                          "may contain letters, spaces, hyphens, apostrophes and dots only");
            return;
        }
}

/* ------------------------------------------------------------------ codes */

/* Every assigned ISO 3166-1 alpha-2 code, in capitals. */
static const char s_countries[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

bool ord_country_valid(const char *cc)
{
    if (!cc || strlen(cc) != 2 || !isupper((unsigned char) cc[0]) ||
        !isupper((unsigned char) cc[1]))
        return false;
    for (const char *p = s_countries; *p; p += 3)
        if (p[0] == cc[0] && p[1] == cc[1])
            return true;
    return false;
}

static void s_check_country(svc_out_t *out, const char *path, const char *cc)
{
    if (!*ord_s(cc))
        svc_out_error(out, "invalid", path, "is required");
    else if (!ord_country_valid(cc))
        svc_out_error(out, "invalid", path,
                      "must be an ISO 3166-1 alpha-2 country code in capitals, e.g. DE");
}

/* local@domain: a practical subset of RFC 5321 (no quoted local parts, no IP literals). */
bool ord_email_valid(const char *s)
{
    const char *at = s ? strchr(s, '@') : NULL;
    size_t len = s ? strlen(s) : 0;
    if (!at || strchr(at + 1, '@') || len > 254 || at == s || at - s > 64)
        return false;
    for (const char *p = s; p < at; p++) {
        if (*p == '.' && (p == s || p + 1 == at || p[1] == '.'))
            return false;
        if (!isalnum((unsigned char) *p) && !strchr(".!#$%&'*+/=?^_`{|}~-", *p))
            return false;
    }
    const char *label = at + 1;
    int labels = 0;
    for (;;) {
        const char *end = strchr(label, '.');
        size_t n = end ? (size_t) (end - label) : strlen(label);
        if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
            return false;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char) label[i]) && label[i] != '-')
                return false;
        labels++;
        if (!end) {
            for (size_t i = 0; i < n; i++)   /* top-level domain: letters */
                if (!isalpha((unsigned char) label[i]))
                    return false;
            return labels >= 2 && n >= 2;
        }
        label = end + 1;
    }
}

bool ord_shop_code_valid(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n < 6 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char) code[i]) && code[i] != '-')
            return false;
    return true;
}

bool ord_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 3 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char) id[i]) && !isdigit((unsigned char) id[i]) && id[i] != '-')
            return false;
    return true;
}

bool ord_method_known(const char *m)
{
    static const char *const known[] = {"postident", "notarident", "botschaftsident",
                                        "officerident", "dtrustident"};
    for (size_t i = 0; m && i < sizeof known / sizeof known[0]; i++)
        if (streq(m, known[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ records */

static void s_path(char *out, size_t outsz, const char *prefix, const char *field)
{
    snprintf(out, outsz, "%s.%s", prefix, field);
}

static void s_check_address(svc_out_t *out, const char *prefix, const Tp__Order__Address *a)
{
    char path[128];
    if (!a) {
        svc_out_error(out, "invalid", prefix, "is required");
        return;
    }
    s_path(path, sizeof path, prefix, "street");
    ord_check_text(out, path, a->street, 1, 200);
    s_path(path, sizeof path, prefix, "city");
    ord_check_text(out, path, a->city, 1, 100);
    s_path(path, sizeof path, prefix, "country");
    s_check_country(out, path, a->country);
    s_path(path, sizeof path, prefix, "postalCode");
    const char *pc = ord_s(a->postal_code);
    size_t n = strlen(pc);
    if (n == 0) {
        svc_out_error(out, "invalid", path, "is required");
        return;
    }
    if (streq(ord_s(a->country), "DE")) {
        bool ok = n == 5;
        for (size_t i = 0; ok && i < n; i++)
            ok = isdigit((unsigned char) pc[i]);
        if (!ok)
            svc_out_error(out, "invalid", path, "must be five digits in Germany");
        return;
    }
    bool ok = n >= 2 && n <= 12 && isalnum((unsigned char) pc[0]);
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char) pc[i]) || pc[i] == ' ' || pc[i] == '-';
    if (!ok)
        svc_out_error(out, "invalid", path,
                      "must be 2 to 12 letters, digits, spaces or hyphens");
}

static void s_check_phone(svc_out_t *out, const char *path, const char *phone)
{
    size_t n = strlen(phone), digits = 0;
    if (n == 0)
        return;   /* optional */
    bool ok = n <= 32;
    for (size_t i = 0; ok && i < n; i++) {
        digits += isdigit((unsigned char) phone[i]) != 0;
        ok = isdigit((unsigned char) phone[i]) || strchr(" -/()", phone[i]) ||
             (phone[i] == '+' && i == 0);
    }
    if (!ok || digits < 6 || digits > 15)
        svc_out_error(out, "invalid", path,
                      "must be a phone number of 6 to 15 digits, e.g. +49 30 1234567");
}

void ord_check_applicant(svc_out_t *out, const Tp__Order__Applicant *a, int64_t now_us)
{
    if (!a) {
        svc_out_error(out, "invalid", "applicant", "is required");
        return;
    }
    s_check_name(out, "applicant.givenNames", a->given_names, 100);
    s_check_name(out, "applicant.familyName", a->family_name, 100);
    ord_check_text(out, "applicant.birthPlace", a->birth_place, 1, 100);
    s_check_country(out, "applicant.nationality", a->nationality);
    s_check_address(out, "applicant.address", a->address);

    int64_t today = ord_days_of(now_us), born;
    int ty, tm, td;
    ord_civil(today, &ty, &tm, &td);
    if (!*ord_s(a->birth_date))
        svc_out_error(out, "invalid", "applicant.birthDate", "is required");
    else if (!ord_parse_date(a->birth_date, &born))
        svc_out_error(out, "invalid", "applicant.birthDate",
                      "must be a real date written YYYY-MM-DD");
    else if (born >= today)
        svc_out_error(out, "invalid", "applicant.birthDate", "must be in the past");
    else {
        int by, bm, bd;
        ord_civil(born, &by, &bm, &bd);
        int age = ty - by - (tm < bm || (tm == bm && td < bd));
        if (age < ORDER_MIN_AGE)
            svc_out_error(out, "invalid", "applicant.birthDate",
                          "the applicant must be at least %d years old", ORDER_MIN_AGE);
        else if (age > 130)
            svc_out_error(out, "invalid", "applicant.birthDate", "is not plausible");
    }

    const char *email = ord_s(a->email);
    if (!*email)
        svc_out_error(out, "invalid", "applicant.email", "is required");
    else if (!ord_email_valid(email))
        svc_out_error(out, "invalid", "applicant.email",
                      "must be an e-mail address like name@example.de");
    s_check_phone(out, "applicant.phone", ord_s(a->phone));

    const char *type = ord_s(a->document_type);
    if (!*type)
        svc_out_error(out, "invalid", "applicant.documentType", "is required");
    else if (!streq(type, "id-card") && !streq(type, "passport"))
        svc_out_error(out, "invalid", "applicant.documentType",
                      "must be \"id-card\" or \"passport\"");
    const char *num = ord_s(a->document_number);
    size_t n = strlen(num);
    bool ok = n >= 5 && n <= 20;
    for (size_t i = 0; ok && i < n; i++)
        ok = isupper((unsigned char) num[i]) || isdigit((unsigned char) num[i]);
    if (n == 0)
        svc_out_error(out, "invalid", "applicant.documentNumber", "is required");
    else if (!ok)
        svc_out_error(out, "invalid", "applicant.documentNumber",
                      "must be 5 to 20 capital letters and digits, as printed on the document");
    ord_check_text(out, "applicant.documentAuthority", a->document_authority, 1, 200);
    int64_t expiry;
    if (!*ord_s(a->document_expiry))
        svc_out_error(out, "invalid", "applicant.documentExpiry", "is required");
    else if (!ord_parse_date(a->document_expiry, &expiry))
        svc_out_error(out, "invalid", "applicant.documentExpiry",
                      "must be a real date written YYYY-MM-DD");
    else if (expiry < today)
        svc_out_error(out, "invalid", "applicant.documentExpiry",
                      "the document has expired; a valid identity document is required");
    else if (expiry > today + 366 * 20)
        svc_out_error(out, "invalid", "applicant.documentExpiry", "is not plausible");
}

bool ord_organization_given(const Tp__Order__Organization *o)
{
    if (!o)
        return false;
    const Tp__Order__Address *a = o->address;
    return *ord_s(o->name) || *ord_s(o->register_court) || *ord_s(o->register_number) ||
           o->n_representatives > 0 ||
           (a && (*ord_s(a->street) || *ord_s(a->postal_code) || *ord_s(a->city) ||
                  *ord_s(a->country)));
}

#define ORD_MAX_REPRESENTATIVES 20

void ord_check_organization(svc_out_t *out, const Tp__Order__Organization *o)
{
    if (!o) {
        svc_out_error(out, "invalid", "organization", "is required for this product");
        return;
    }
    ord_check_text(out, "organization.name", o->name, 1, 200);
    ord_check_text(out, "organization.registerCourt", o->register_court, 2, 200);
    const char *num = ord_s(o->register_number);
    if (ord_check_text(out, "organization.registerNumber", num, 1, 50) &&
        !strpbrk(num, "0123456789"))
        svc_out_error(out, "invalid", "organization.registerNumber",
                      "must contain the register's number, e.g. HRB 12345");
    s_check_address(out, "organization.address", o->address);
    if (o->n_representatives == 0)
        svc_out_error(out, "invalid", "organization.representatives",
                      "at least one authorized representative is required");
    else if (o->n_representatives > ORD_MAX_REPRESENTATIVES)
        svc_out_error(out, "invalid", "organization.representatives",
                      "at most %d representatives", ORD_MAX_REPRESENTATIVES);
    for (size_t i = 0; i < o->n_representatives && i < ORD_MAX_REPRESENTATIVES; i++) {
        const Tp__Order__Representative *r = o->representatives[i];
        char path[96];
        if (!r) {
            snprintf(path, sizeof path, "organization.representatives[%zu]", i);
            svc_out_error(out, "invalid", path, "is required");
            continue;
        }
        snprintf(path, sizeof path, "organization.representatives[%zu].givenNames", i);
        s_check_name(out, path, r->given_names, 100);
        snprintf(path, sizeof path, "organization.representatives[%zu].familyName", i);
        s_check_name(out, path, r->family_name, 100);
        snprintf(path, sizeof path, "organization.representatives[%zu].role", i);
        ord_check_text(out, path, r->role, 0, 100);
    }
}
