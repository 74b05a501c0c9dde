/* tpctl_produce.c: `tpctl produce ...`, the producers' facts from the command line (role
 * producer): checked arguments -> a JSON command built with jansson -> tpctl_call_json. */
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "tpctl.h"

/* Longest argument taken; the service checks its own limits and names the field, this
 * only keeps absurd input off the wire. */
#define S_ARG_MAX 4096
/* Longest id (order, fact, request); the production service takes fact ids up to 128. */
#define S_ID_MAX 128
/* Most certificates one command carries (the service allows 8; more is its refusal). */
#define S_CERTS_MAX 16

/* One fact: its word on the command line, its command, its positional arguments. */
typedef struct {
    const char *name;    /* "card" */
    const char *command; /* "RecordCardProduced" */
    int npos;            /* positional arguments, the first always ORDER_ID */
    const char *keys[2]; /* their JSON members */
    bool fact;           /* takes --fact ID (required) */
    const char *usage;   /* after "tpctl produce " */
} s_kind_t;

static const s_kind_t s_kinds[] = {
    {"certificates",
     "RecordCertificates",
     1,
     {"orderId", NULL},
     true,
     "certificates ORDER_ID --serial HEX --kind KIND --from DATE --to DATE [--subject TEXT]\n"
     "        [--serial HEX [--kind ...] ...] --fact ID"},
    {"card",
     "RecordCardProduced",
     2,
     {"orderId", "cardNumber"},
     true,
     "card ORDER_ID CARD_NUMBER --fact ID"},
    {"shipped",
     "RecordCardShipped",
     2,
     {"orderId", "trackingNumber"},
     true,
     "shipped ORDER_ID TRACKING --fact ID"},
    {"pin-shipped",
     "RecordPinLetterShipped",
     2,
     {"orderId", "trackingNumber"},
     true,
     "pin-shipped ORDER_ID TRACKING --fact ID"},
    {"delivered",
     "RecordCardDelivered",
     1,
     {"orderId", NULL},
     true,
     "delivered ORDER_ID --fact ID"},
    {"pin-delivered",
     "RecordPinLetterDelivered",
     1,
     {"orderId", NULL},
     true,
     "pin-delivered ORDER_ID --fact ID"},
    {"job", "GetJob", 1, {"orderId", NULL}, false, "job ORDER_ID"},
};
#define S_N_KINDS (sizeof s_kinds / sizeof s_kinds[0])

void tpctl_produce_usage(FILE *f)
{
    for (size_t i = 0; i < S_N_KINDS; i++)
        fprintf(f, "  tpctl [-c CONFIG] produce %s\n", s_kinds[i].usage);
    fprintf(f, "      KIND is signature, authentication, encryption or seal; DATE is\n"
               "      YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ; each --serial starts a\n"
               "      certificate, which takes the --kind, --from, --to and --subject given\n"
               "      after it, and for those missing the previous certificate's. A fact sent\n"
               "      again with the same --fact ID is acknowledged as a duplicate and changes\n"
               "      nothing.\n");
}

static int s_usage_of(const s_kind_t *k, const char *why)
{
    if (why)
        fprintf(stderr, "tpctl: %s\n", why);
    if (k)
        fprintf(stderr, "usage: tpctl [-c CONFIG] produce %s [--request-id ID]\n", k->usage);
    else {
        fprintf(stderr, "usage:\n");
        tpctl_produce_usage(stderr);
    }
    return 2;
}

/* An id as the services take them: 1..S_ID_MAX printable ASCII characters, no space. */
static bool s_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > S_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
            return false;
    return true;
}

/* Reads @p n digits at @p s into @p v; false when they are not all digits. */
static bool s_digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ" into microseconds since the epoch;
 * strict: a date that does not exist (2026-02-30) is refused, not rolled over. */
static bool s_parse_date(const char *s, int64_t *us)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, hh = 0, mm = 0, ss = 0;
    size_t n = strlen(s);
    if ((n != 10 && n != 20) || !s_digits(s, 4, &y) || s[4] != '-' || !s_digits(s + 5, 2, &m) ||
        s[7] != '-' || !s_digits(s + 8, 2, &d))
        return false;
    if (n == 20 &&
        (s[10] != 'T' || !s_digits(s + 11, 2, &hh) || s[13] != ':' || !s_digits(s + 14, 2, &mm) ||
         s[16] != ':' || !s_digits(s + 17, 2, &ss) || s[19] != 'Z'))
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap) ||
        hh > 23 || mm > 59 || ss > 59)
        return false;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    *us = (int64_t) timegm(&tm) * 1000000;
    return true;
}

/* --kind, --from, --to, --subject of the certificate being built into @p cert; NULL or
 * why not. */
static const char *s_cert_option(json_t *cert, const char *opt, const char *v)
{
    if (streq(opt, "--kind") || streq(opt, "--subject")) {
        json_t *s = json_string(v);
        if (!s)
            return "texts must be UTF-8";
        json_object_set_new(cert, streq(opt, "--kind") ? "kind" : "subject", s);
        return NULL;
    }
    int64_t us;
    if (!s_parse_date(v, &us))
        return "a date is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), a real one";
    json_object_set_new(cert, streq(opt, "--from") ? "validFromUs" : "validToUs",
                        json_integer((json_int_t) us));
    return NULL;
}

/* A new certificate with @p serial, taking the fields of @p prev it does not set itself. */
static json_t *s_cert_new(const char *serial, json_t *prev)
{
    json_t *cert = prev ? json_deep_copy(prev) : json_object();
    if (cert)
        json_object_set_new(cert, "serial", json_string(serial));
    return cert;
}

/* Splits argv (after the kind) into the body; NULL or why not. */
static const char *s_parse(const s_kind_t *k, int argc, char **argv, json_t *body,
                           const char **fact, const char **request_id)
{
    json_t *certs = streq(k->name, "certificates") ? json_array() : NULL, *cur = NULL;
    const char *why = NULL;
    int npos = 0;
    bool options = true;
    if (certs)
        json_object_set_new(body, "certificates", certs);
    for (int i = 0; i < argc && !why; i++) {
        const char *arg = argv[i];
        if (strlen(arg) > S_ARG_MAX)
            return "an argument is longer than 4096 bytes";
        if (options && streq(arg, "--")) {
            options = false;
            continue;
        }
        if (!(options && arg[0] == '-' && arg[1] == '-')) {
            if (npos >= k->npos)
                return "too many arguments";
            if (!s_id_ok(arg))
                return npos ? "an id or number is 1 to 128 printable characters without spaces"
                            : "ORDER_ID is 1 to 128 printable characters without spaces";
            json_object_set_new(body, k->keys[npos++], json_string(arg));
            continue;
        }
        bool is_fact = streq(arg, "--fact") && k->fact, is_rid = streq(arg, "--request-id");
        bool is_cert =
            certs && (streq(arg, "--serial") || streq(arg, "--kind") || streq(arg, "--from") ||
                      streq(arg, "--to") || streq(arg, "--subject"));
        if (!is_fact && !is_rid && !is_cert) {
            static char msg[96];
            snprintf(msg, sizeof msg, "unknown option %.64s", arg);
            return msg;
        }
        if (i + 1 >= argc)
            return "an option needs a value";
        const char *v = argv[++i];
        if (strlen(v) > S_ARG_MAX)
            return "an argument is longer than 4096 bytes";
        if (is_fact || is_rid) {
            const char **slot = is_fact ? fact : request_id;
            if (*slot)
                return is_fact ? "--fact given twice" : "--request-id given twice";
            if (!s_id_ok(v))
                return "an id is 1 to 128 printable characters without spaces";
            *slot = v;
        }
        else if (streq(arg, "--serial")) {
            if (json_array_size(certs) >= S_CERTS_MAX)
                return "too many certificates";
            if (!s_id_ok(v))
                return "a serial is hexadecimal digits";
            cur = s_cert_new(v, cur);
            if (!cur || json_array_append_new(certs, cur) != 0)
                return "out of memory";
        }
        else if (!cur)
            why = "--kind, --from, --to and --subject belong to a certificate: --serial first";
        else
            why = s_cert_option(cur, arg, v);
    }
    if (why)
        return why;
    if (npos < k->npos)
        return "missing arguments";
    if (k->fact && !*fact)
        return "--fact ID is required: it names the fact, so that a repeat changes nothing";
    if (certs && json_array_size(certs) == 0)
        return "at least one --serial HEX with --kind, --from and --to";
    for (size_t i = 0; certs && i < json_array_size(certs); i++) {
        json_t *c = json_array_get(certs, i);
        if (!json_object_get(c, "kind") || !json_object_get(c, "validFromUs") ||
            !json_object_get(c, "validToUs"))
            return "each certificate needs --kind, --from and --to (or the previous one's)";
    }
    if (*fact)
        json_object_set_new(body, "factId", json_string(*fact));
    return NULL;
}

int tpctl_produce(int argc, char **argv, const char *config)
{
    if (argc < 2)
        return s_usage_of(NULL, "produce what?");
    const s_kind_t *k = NULL;
    for (size_t i = 0; i < S_N_KINDS; i++)
        if (streq(s_kinds[i].name, argv[1]))
            k = &s_kinds[i];
    if (!k) {
        fprintf(stderr, "tpctl: unknown fact '%.64s'\n", argv[1]);
        return s_usage_of(NULL, NULL);
    }
    json_t *body = json_object();
    const char *fact = NULL, *request_id = NULL;
    const char *why =
        body ? s_parse(k, argc - 2, argv + 2, body, &fact, &request_id) : "out of memory";
    char *text = why ? NULL : json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (why || !text) {
        free(text);
        return s_usage_of(k, why ? why : "out of memory");
    }
    int rc = tpctl_call_json(config, "production", k->command, text, "producer", NULL, request_id);
    free(text);
    return rc;
}
