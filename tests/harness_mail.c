/* harness_mail.c: the integration tests' mail: a real SMTP server (Debian's
 * python3-aiosmtpd) storing what it receives in a Maildir, and reading mails from
 * there or from an outbox folder. */
#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"

/* Starts the server on @p port as the daemon "smtp" (its slot reused); ready when it
 * accepts a connection. */
static int s_smtp_run(th_t *self, int port)
{
    char maildir[400], listen[64];
    snprintf(maildir, sizeof maildir, "%s/maildir", th_dir(self));
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    /* Debian's python3, where python3-aiosmtpd is installed */
    char *const argv[] = {
        "/usr/bin/python3",          "-m",    "aiosmtpd", "-n", "-l", listen, "-c",
        "aiosmtpd.handlers.Mailbox", maildir, NULL};
    if (port <= 0 || th_spawn(self, "smtp", argv) <= 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t) port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return port;
        zclock_sleep(50);
    }
    return -1;
}

int th_smtp_start(th_t *self)
{
    return s_smtp_run(self, th_free_port());
}

int th_smtp_restart(th_t *self, int port)
{
    if (th_running(self, "smtp"))
        return -1;
    return s_smtp_run(self, port);
}

static char *s_decode_message(const char *raw)
{
    /* CRLF as sent, or LF as Python's mailbox module (aiosmtpd's Mailbox) stores it */
    const char *sep = strstr(raw, "\r\n\r\n");
    size_t hlen = sep ? (size_t) (sep - raw) + 4 : 0;
    const char *lf = strstr(raw, "\n\n");
    if (lf && (!sep || lf < sep)) {
        sep = lf;
        hlen = (size_t) (lf - raw) + 2;
    }
    if (!sep || !strstr(raw, "Content-Transfer-Encoding: base64"))
        return strdup(raw);
    const char *b64 = raw + hlen;
    size_t cap = strlen(b64);
    char *out = malloc(hlen + cap + 1);
    if (!out)
        return NULL;
    memcpy(out, raw, hlen);
    size_t bin_len = 0;
    if (sodium_base642bin((unsigned char *) out + hlen, cap, b64, strlen(b64), "\r\n", &bin_len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(out);
        return strdup(raw);
    }
    out[hlen + bin_len] = '\0';
    return out;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t) n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t) n, f) == (size_t) n)
        buf[n] = '\0';
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The first message in @p dir to @p to containing @p needle (decoded; caller frees), or
 * with @p count not NULL: none, and how many there are into *count. */
static char *s_scan(const char *dir, const char *to, const char *needle, int *count)
{
    DIR *d = opendir(dir);
    if (count)
        *count = d ? 0 : -1;
    if (!d)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *raw = s_slurp(path);
        char *text = raw ? s_decode_message(raw) : NULL;
        free(raw);
        bool match = text && (!to || strstr(text, to)) && (!needle || strstr(text, needle));
        if (match && count)
            (*count)++;
        if (match && !count)
            found = text;
        else
            free(text);
    }
    closedir(d);
    return found;
}

/* The folder th_mail_wait and th_mail_count read. */
static void s_folder(th_t *self, const char *folder, char *dir, size_t dirsz)
{
    if (folder)
        snprintf(dir, dirsz, "%s", folder);
    else
        snprintf(dir, dirsz, "%s/maildir/new", th_dir(self));
}

char *th_mail_wait(th_t *self, const char *folder, const char *to, const char *needle,
                   int timeout_ms)
{
    char dir[512];
    s_folder(self, folder, dir, sizeof dir);
    int64_t deadline = zclock_mono() + timeout_ms;
    do {
        char *m = s_scan(dir, to, needle, NULL);
        if (m)
            return m;
        zclock_sleep(50);
    } while (zclock_mono() < deadline);
    return NULL;
}

int th_mail_count(th_t *self, const char *folder, const char *to, const char *needle)
{
    char dir[512];
    s_folder(self, folder, dir, sizeof dir);
    int n = 0;
    s_scan(dir, to, needle, &n);
    return n < 0 ? 0 : n;
}

bool th_token_after(const char *text, const char *marker, char *out, size_t outsz)
{
    const char *p = text ? strstr(text, marker) : NULL;
    if (!p)
        return false;
    p += strlen(marker);
    size_t n = 0;
    while ((isalnum((unsigned char) p[n]) || p[n] == '-' || p[n] == '_') && n + 1 < outsz)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
    return n > 0;
}
