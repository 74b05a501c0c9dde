/* svc_mail.c: one mail out, over SMTP (libcurl) or into the outbox folder. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "svc_mail.h"

/* Appends printf output to a growing buffer; returns false when out of memory. */
typedef struct {
    char *data;
    size_t len, cap;
} s_buf_t;

static bool s_add(s_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = (b->cap + n + 1) * 2;
        char *nd = realloc(b->data, ncap);
        if (!nd)
            return false;
        b->data = nd;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static bool s_adds(s_buf_t *b, const char *s)
{
    return s_add(b, s, strlen(s));
}

static bool s_is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s >= 0x80 || *s == '\r' || *s == '\n')
            return false;
    return true;
}

/* Header values never carry CR or LF: a recipient or subject cannot inject headers. */
static bool s_header_safe(const char *s)
{
    return !strpbrk(s, "\r\n");
}

char *svc_mail_format(const svc_mail_cfg_t *cfg, const svc_mail_t *mail, long date_s)
{
    s_buf_t b = {0};
    char line[1024];
    time_t t = (time_t) date_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *from = cfg->from && *cfg->from ? cfg->from : "portal@localhost";
    const char *domain = strchr(from, '@') ? strchr(from, '@') + 1 : "localhost";
    /* the Message-ID is the mail id: a resent mail is recognizably the same mail */
    char msgid[160];
    size_t k = 0;
    for (const char *p = mail->id; *p && k + 1 < sizeof msgid; p++)
        msgid[k++] = (isalnum((unsigned char) *p) || *p == '.' || *p == '-') ? *p : '.';
    msgid[k] = '\0';
    snprintf(line, sizeof line,
             "Date: %s\r\nFrom: %s\r\nTo: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n",
             date, from, mail->to, msgid, domain);
    bool ok = s_adds(&b, line);
    if (s_is_ascii(mail->subject)) {
        ok &= s_adds(&b, "Subject: ") && s_adds(&b, mail->subject) && s_adds(&b, "\r\n");
    }
    else {
        /* RFC 2047 encoded word; subjects here are short, one word suffices */
        size_t n = strlen(mail->subject);
        size_t enc = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(enc);
        ok &= b64 != NULL;
        if (b64) {
            sodium_bin2base64(b64, enc, (const unsigned char *) mail->subject, n,
                              sodium_base64_VARIANT_ORIGINAL);
            ok &= s_adds(&b, "Subject: =?UTF-8?B?") && s_adds(&b, b64) && s_adds(&b, "?=\r\n");
            free(b64);
        }
    }
    ok &= s_adds(&b, "Content-Type: text/plain; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\n");
    const char *body = mail->body ? mail->body : "";
    size_t n = strlen(body);
    size_t enc = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(enc);
    ok &= b64 != NULL;
    if (b64) {
        sodium_bin2base64(b64, enc, (const unsigned char *) body, n,
                          sodium_base64_VARIANT_ORIGINAL);
        size_t len = strlen(b64);
        for (size_t i = 0; ok && i < len; i += 76)   /* RFC 2045 line length */
            ok &= s_add(&b, b64 + i, len - i < 76 ? len - i : 76) && s_adds(&b, "\r\n");
        free(b64);
    }
    if (!ok) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

static int s_outbox(const svc_mail_cfg_t *cfg, const svc_mail_t *mail, const char *msg,
                    char *err, size_t errsz)
{
    const char *dir = cfg->outbox && *cfg->outbox ? cfg->outbox : "outbox";
    /* mails carry confirmation and reset links: the owner alone reads them */
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    char name[200];
    size_t k = 0;
    for (const char *p = mail->id; *p && k + 1 < sizeof name; p++)
        name[k++] = (isalnum((unsigned char) *p) || *p == '-' || *p == '.') ? *p : '_';
    name[k] = '\0';
    char path[600], tmp[620];
    snprintf(path, sizeof path, "%s/%s.eml", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "open %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t len = strlen(msg);
    /* a temporary file left over from a crash keeps its mode through O_TRUNC */
    bool ok = fchmod(fd, 0600) == 0 && write(fd, msg, len) == (ssize_t) len && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errsz, "write %s: %s", path, strerror(ok ? errno : saved));
        unlink(tmp);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *data;
    size_t len, off;
} s_upload_t;

static size_t s_read(char *out, size_t size, size_t nitems, void *arg)
{
    s_upload_t *u = arg;
    size_t room = size * nitems;
    size_t n = u->len - u->off < room ? u->len - u->off : room;
    memcpy(out, u->data + u->off, n);
    u->off += n;
    return n;
}

static int s_smtp(const svc_mail_cfg_t *cfg, const svc_mail_t *mail, const char *msg, char *err,
                  size_t errsz)
{
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errsz, "curl_easy_init failed");
        return -1;
    }
    char from[300];
    snprintf(from, sizeof from, "<%s>", cfg->from && *cfg->from ? cfg->from : "portal@localhost");
    char to[300];
    snprintf(to, sizeof to, "<%s>", mail->to);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    s_upload_t up = {msg, strlen(msg), 0};
    const char *tls = cfg->tls && *cfg->tls ? cfg->tls : "require";
    curl_easy_setopt(curl, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, cfg->timeout_s > 0 ? cfg->timeout_s : 30L);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, strcmp(tls, "none") == 0  ? (long) CURLUSESSL_NONE
                                            : strcmp(tls, "try") == 0 ? (long) CURLUSESSL_TRY
                                                                      : (long) CURLUSESSL_ALL);
    if (cfg->user && *cfg->user) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        snprintf(err, errsz, "%s: %s", cfg->smtp_url, curl_easy_strerror(rc));
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    return rc == CURLE_OK ? 0 : -1;
}

int svc_mail_send(const svc_mail_cfg_t *cfg, const svc_mail_t *mail, char *err, size_t errsz)
{
    if (!s_header_safe(mail->to) || !s_header_safe(mail->subject) || !strchr(mail->to, '@')) {
        snprintf(err, errsz, "refused: recipient or subject not a single header line");
        return -1;
    }
    char *msg = svc_mail_format(cfg, mail, (long) time(NULL));
    if (!msg) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    int rc = cfg->smtp_url && *cfg->smtp_url ? s_smtp(cfg, mail, msg, err, errsz)
                                              : s_outbox(cfg, mail, msg, err, errsz);
    free(msg);
    return rc;
}

int svc_mail_test(bool verbose)
{
    int failed = 0;
#define CHECK(c)                                                                     \
    do {                                                                             \
        if (!(c)) {                                                                  \
            fprintf(stderr, "svc_mail_test: %s:%d: %s\n", __FILE__, __LINE__, #c);   \
            failed++;                                                                \
        }                                                                            \
    } while (0)
    char dir[] = "/tmp/tp-mail-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char outbox[100];
    snprintf(outbox, sizeof outbox, "%s/outbox", dir);
    svc_mail_cfg_t cfg = {NULL, NULL, NULL, "portal@tp.example", NULL, outbox, 0};
    svc_mail_t m = {"confirm:abc/1", "kunde@example.org", "Bitte bestätigen", NULL};
    m.body = strdup("Hallo,\nbitte öffnen Sie den Link.\n");
    char *msg = svc_mail_format(&cfg, &m, 1764200000);
    CHECK(msg && strstr(msg, "Subject: =?UTF-8?B?"));
    CHECK(msg && strstr(msg, "Message-ID: <confirm.abc.1@tp.example>"));
    CHECK(msg && strstr(msg, "Date: Wed, 26 Nov 2025 23:33:20 +0000"));
    free(msg);
    char err[256] = "";
    CHECK(svc_mail_send(&cfg, &m, err, sizeof err) == 0);
    CHECK(svc_mail_send(&cfg, &m, err, sizeof err) == 0);   /* the same mail again */
    char path[200];
    snprintf(path, sizeof path, "%s/confirm_abc_1.eml", outbox);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size > 100);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(stat(outbox, &st) == 0 && (st.st_mode & 0777) == 0700);
    /* a readable temporary file left over from a crash: the mail still ends up 0600 */
    char tmp[220];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && fchmod(fd, 0644) == 0);
    if (fd >= 0)
        close(fd);
    CHECK(svc_mail_send(&cfg, &m, err, sizeof err) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", outbox);
    CHECK(system(cmd) == 0);   /* one file: resending replaced it */
    /* header injection refused */
    svc_mail_t bad = {"x", "a@b.c\r\nBcc: evil@x", "s", NULL};
    CHECK(svc_mail_send(&cfg, &bad, err, sizeof err) == -1 && strstr(err, "refused"));
    /* an SMTP server that is not there: a clear error, no crash */
    svc_mail_cfg_t smtp = {"smtp://127.0.0.1:1", NULL, NULL, "p@x.y", "none", NULL, 5};
    CHECK(svc_mail_send(&smtp, &m, err, sizeof err) == -1 && strstr(err, "smtp://127.0.0.1:1"));
    if (verbose)
        printf("svc_mail_test: smtp error: %s\n", err);
    free(m.body);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return failed ? 1 : 0;
#undef CHECK
}
