/* tpctl_produce.c: `tpctl produce ...`, the producers' facts from the command line (role
 * producer): checked arguments -> a JSON command built with jansson -> tpctl_call_json. */
#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "pbj.h"
#include "svc_text.h"
#include "tp_types.h"
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
               "      nothing.\n"
               "  tpctl [-c CONFIG] produce --file FILE   (FILE - for standard input)\n"
               "      one fact a line, as after \"produce\" above (\"...\" or '...' around\n"
               "      values with spaces; blank lines and # comments skipped). Every line is\n"
               "      checked first: one bad line and nothing is sent. Then the facts go in\n"
               "      batches of 256, each its own request (id: --request-id, else\n"
               "      \"produce-\" and the fact id, so sending the file again changes\n"
               "      nothing); one JSON line a fact is printed, with its line number.\n");
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
    return svc_valid_id(s, S_ID_MAX);
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

/* ------------------------------------------------------------------ --file */

#define S_LINE_MAX 16384   /* longest line of a facts file */
#define S_LINE_ARGS 128    /* most words on one line */
#define S_FILE_BATCH 256   /* facts to a "$batch" request */

/* Splits @p line in place into words: blanks separate, "..." (with \" and \\) or '...'
 * keep blanks in a value. The word count, or -1 with @p why. */
static int s_split(char *line, char **words, int max, const char **why)
{
    int n = 0;
    char *in = line;
    while (true) {
        while (*in == ' ' || *in == '\t')
            in++;
        if (!*in)
            return n;
        if (n == max) {
            *why = "too many words on the line";
            return -1;
        }
        char *out = in;
        words[n++] = out;
        while (*in && *in != ' ' && *in != '\t') {
            char q = *in;
            if (q != '"' && q != '\'') {
                *out++ = *in++;
                continue;
            }
            for (in++; *in && *in != q; in++) {
                if (q == '"' && *in == '\\' && (in[1] == '"' || in[1] == '\\'))
                    in++;
                *out++ = *in;
            }
            if (*in != q) {
                *why = "a quote is not closed";
                return -1;
            }
            in++;
        }
        bool end = !*in;
        *out = '\0';
        if (end)
            return n;
        in++;
    }
}

/* One fact of the file, checked and built. */
typedef struct {
    int line;
    const s_kind_t *k;
    char request_id[S_ID_MAX + 16];
    ProtobufCMessage *msg;
} s_line_t;

/* Line @p text (number @p no) into @p item; NULL or why not. */
static const char *s_line(char *text, int no, s_line_t *item)
{
    char *words[S_LINE_ARGS];
    const char *why = NULL;
    int n = s_split(text, words, S_LINE_ARGS, &why);
    if (n < 0)
        return why;
    const s_kind_t *k = NULL;
    for (size_t i = 0; n > 0 && i < S_N_KINDS; i++)
        if (streq(s_kinds[i].name, words[0]))
            k = &s_kinds[i];
    if (!k)
        return "unknown fact (certificates, card, shipped, pin-shipped, delivered, "
               "pin-delivered)";
    if (!k->fact)
        return "job is a query: a facts file holds facts";
    json_t *body = json_object();
    const char *fact = NULL, *rid = NULL;
    why = body ? s_parse(k, n - 1, words + 1, body, &fact, &rid) : "out of memory";
    const ProtobufCMessageDescriptor *desc = tp_types_find("production", k->command);
    pbj_error_t perr = {{0}, {0}};
    ProtobufCMessage *msg = !why && desc ? pbj_from_json(desc, body, 0, &perr) : NULL;
    json_decref(body);
    if (why)
        return why;
    if (!msg) {
        static char msgbuf[300];
        snprintf(msgbuf, sizeof msgbuf, "%s%s%s", perr.field, *perr.field ? ": " : "",
                 *perr.message ? perr.message : "not a known command");
        return msgbuf;
    }
    *item = (s_line_t) {no, k, "", msg};
    if (rid)
        snprintf(item->request_id, sizeof item->request_id, "%s", rid);
    else
        snprintf(item->request_id, sizeof item->request_id, "produce-%s", fact);
    return NULL;
}

/* Reads every line of @p f into @p items (grown); the number of bad lines (said on
 * stderr), or -1 on a read error. */
static int s_read_lines(FILE *f, const char *path, s_line_t **items, size_t *n)
{
    char *buf = malloc(S_LINE_MAX + 2);
    size_t cap = 0;
    int bad = 0, no = 0;
    while (buf && fgets(buf, S_LINE_MAX + 2, f)) {
        no++;
        size_t len = strlen(buf);
        if (len > S_LINE_MAX && buf[len - 1] != '\n') {
            fprintf(stderr, "tpctl: %s:%d: longer than %d bytes\n", path, no, S_LINE_MAX);
            bad++;
            while (len && buf[len - 1] != '\n' && fgets(buf, S_LINE_MAX + 2, f))
                len = strlen(buf);
            continue;
        }
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        char *text = buf + strspn(buf, " \t");
        if (!*text || *text == '#')
            continue;
        if (*n == cap) {
            size_t more = cap ? 2 * cap : 64;
            s_line_t *grown = realloc(*items, more * sizeof **items);
            if (!grown)
                break;
            *items = grown;
            cap = more;
        }
        const char *why = s_line(text, no, &(*items)[*n]);
        if (why) {
            fprintf(stderr, "tpctl: %s:%d: %s\n", path, no, why);
            bad++;
        }
        else
            (*n)++;
    }
    bool failed = !buf || ferror(f) || !feof(f);
    free(buf);
    return failed ? -1 : bad;
}

/* Sends @p m items in one batch and prints a JSON line each; the number refused, or -1
 * when no answer came. */
static int s_send_lines(tpctl_conn_t *conn, s_line_t *items, size_t m)
{
    evs_batch_item_t its[S_FILE_BATCH];
    char commands[S_FILE_BATCH][64];
    Tp__Reply *replies[S_FILE_BATCH] = {0};
    for (size_t i = 0; i < m; i++) {
        snprintf(commands[i], sizeof commands[i], "production.%s", items[i].k->command);
        its[i] = (evs_batch_item_t) {items[i].request_id, commands[i], items[i].msg};
    }
    if (tpctl_call_batch(conn, "production", its, m, replies) != 0)
        return -1;
    int refused = 0;
    for (size_t i = 0; i < m; i++) {
        json_t *line = json_pack("{s:i}", "line", items[i].line);
        json_t *r = replies[i] ? tpctl_reply_json(replies[i], "production", items[i].k->command,
                                                  NULL)
                               : json_pack("{s:b,s:s}", "ok", 0, "error", "no reply");
        json_object_update(line, r);
        char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(r);
        json_decref(line);
        refused += !replies[i] || !replies[i]->ok;
        if (replies[i])
            tp__reply__free_unpacked(replies[i], NULL);
    }
    return refused;
}

static int s_produce_file(const char *path, const char *config)
{
    FILE *f = streq(path, "-") ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tpctl: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    s_line_t *items = NULL;
    size_t n = 0;
    int bad = s_read_lines(f, path, &items, &n);
    if (f != stdin)
        fclose(f);
    int rc = 0, refused = 0;
    size_t sent = 0;
    if (bad != 0) {
        if (bad < 0)
            fprintf(stderr, "tpctl: reading %s failed\n", path);
        else
            fprintf(stderr, "tpctl: %d bad line%s in %s: nothing sent\n", bad,
                    bad == 1 ? "" : "s", path);
        rc = 2;
    }
    else if (n == 0) {
        fprintf(stderr, "tpctl: no facts in %s\n", path);
        rc = 2;
    }
    /* one connection for all the batches */
    tpctl_conn_t conn;
    memset(&conn, 0, sizeof conn);
    if (rc == 0 && tpctl_connect(config, "production", "producer", NULL, &conn) != 0)
        rc = 1;
    for (size_t from = 0; rc == 0 && from < n; from += S_FILE_BATCH) {
        size_t m = n - from < S_FILE_BATCH ? n - from : S_FILE_BATCH;
        int r = s_send_lines(&conn, items + from, m);
        if (r < 0) {
            fprintf(stderr,
                    "tpctl: no answer for lines %d to %d (and those after them): they may or "
                    "may not be recorded; sending the file again is safe\n",
                    items[from].line, items[from + m - 1].line);
            rc = 1;
            break;
        }
        refused += r;
        sent += m;
    }
    if (conn.client)
        tpctl_disconnect(&conn);
    if (sent)
        fprintf(stderr, "tpctl: %zu facts sent, %d refused\n", sent, refused);
    if (rc == 0 && refused)
        rc = 1;
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(items[i].msg, NULL);
    free(items);
    return rc;
}

int tpctl_produce(int argc, char **argv, const char *config)
{
    if (argc < 2)
        return s_usage_of(NULL, "produce what?");
    if (streq(argv[1], "--file")) {
        if (argc != 3)
            return s_usage_of(NULL, "produce --file FILE (- for standard input)");
        return s_produce_file(argv[2], config);
    }
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
