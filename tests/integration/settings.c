/* settings.c: the settings tables against what depends on them: deploy/trustportal.cfg
 * against `tpctl config defaults` (every key in both, the same values but for the
 * differences listed below); the defaults the sources read settings with against the
 * tables; the loader's verdicts with their line numbers (`tpctl config check`); and
 * real daemons, which refuse to start with a misspelt key or a value out of range in
 * what they read, and start with keys of another daemon's section they do not know. */
#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* What deploy/trustportal.cfg sets otherwise than the defaults, on purpose. */
static const struct {
    const char *key;
    const char *value;
} s_differ[] = {
    {"data", "var/data"}, /* run.sh keeps a system under var/ ($TP_HOME) */
    {"run", "var/run"},
    {"keys", "var/keys"},
    {"outbox", "var/outbox"},       /* the default is <data>/outbox */
    {"gateway/cookie_secure", "0"}, /* plain http on localhost; the default is 1 */
};

#define S_MAX 256

/* One setting of a file, set or commented out (`#   key = value`). */
typedef struct {
    char key[96]; /* "section/key", or "key" at the root */
    char value[256];
    bool commented;
    int line;
} s_entry_t;

typedef struct {
    const char *path;
    s_entry_t e[S_MAX];
    int n;
} s_file_t;

static const s_entry_t *s_find(const s_file_t *f, const char *key)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].key, key) == 0)
            return &f->e[i];
    return NULL;
}

/* The value after `key =`: quoted, or up to a comment, as zconfig reads it; in a
 * commented-out line, up to two spaces (a remark may follow). */
static void s_value(const char *p, bool commented, char *out, size_t outsz)
{
    p += strspn(p, " ");
    size_t n;
    if (*p == '"' || *p == '\'') {
        const char *end = strchr(p + 1, *p);
        n = end ? (size_t) (end - p - 1) : strlen(p + 1);
        p++;
    }
    else {
        const char *end = commented ? strstr(p, "  ") : strchr(p, '#');
        n = end ? (size_t) (end - p) : strlen(p);
        while (n && p[n - 1] == ' ')
            n--;
    }
    snprintf(out, outsz, "%.*s", (int) n, p);
}

/* Reads the settings of a ZPL file, with those commented out: `#` and spaces, then a
 * lower-case `key =`; at the left margin they are the root's, indented a section's. */
static bool s_parse(const char *path, s_file_t *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "settings: cannot read %s\n", path);
        return false;
    }
    out->path = path;
    out->n = 0;
    char line[1024], section[64] = "";
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        size_t indent = strspn(line, " ");
        const char *p = line + indent;
        bool commented = *p == '#';
        if (commented) {
            size_t sp = strspn(p + 1, " ");
            if (sp == 0)
                continue;
            p += 1 + sp;
        }
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (n == 0)
            continue;
        bool eq = strncmp(p + n, " =", 2) == 0;
        if (!eq) {
            if (!commented && indent == 0 && !p[n])
                snprintf(section, sizeof section, "%.*s", (int) n, p);
            continue;
        }
        if (!commented && indent == 0)
            section[0] = '\0'; /* a root setting ends the section */
        if (out->n == S_MAX)
            break;
        s_entry_t *e = &out->e[out->n++];
        if (indent && *section)
            snprintf(e->key, sizeof e->key, "%s/%.*s", section, (int) n, p);
        else
            snprintf(e->key, sizeof e->key, "%.*s", (int) n, p);
        e->commented = commented;
        e->line = lineno;
        s_value(p + n + 2, commented, e->value, sizeof e->value);
        if (s_find(out, e->key) != e) {
            fprintf(stderr, "%s:%d: %s a second time\n", path, lineno, e->key);
            th_failed++;
        }
    }
    fclose(f);
    return true;
}

static const char *s_differs(const char *key)
{
    for (size_t i = 0; i < sizeof s_differ / sizeof s_differ[0]; i++)
        if (strcmp(s_differ[i].key, key) == 0)
            return s_differ[i].value;
    return NULL;
}

/* deploy/trustportal.cfg against the defaults: the same keys, the same values (set or
 * commented out) but for s_differ; a key without a default only commented out. */
static void s_compare(const s_file_t *dflt, const s_file_t *deploy)
{
    for (int i = 0; i < dflt->n; i++) {
        const s_entry_t *d = &dflt->e[i];
        const s_entry_t *p = s_find(deploy, d->key);
        const char *differs = s_differs(d->key);
        bool ok = p && (differs        ? !p->commented && strcmp(p->value, differs) == 0
                        : d->commented ? p->commented
                                       : strcmp(p->value, d->value) == 0);
        if (!ok) {
            fprintf(stderr, "%s:%d: %s = %s%s; the defaults: %s%s = %s\n", deploy->path,
                    p ? p->line : 0, d->key, p ? p->value : "(missing)",
                    p && p->commented ? " (commented out)" : "", d->commented ? "# " : "", d->key,
                    differs ? differs : d->value);
            th_failed++;
        }
    }
    for (int i = 0; i < deploy->n; i++)
        if (!s_find(dflt, deploy->e[i].key)) {
            fprintf(stderr, "%s:%d: %s is in no table\n", deploy->path, deploy->e[i].line,
                    deploy->e[i].key);
            th_failed++;
        }
}

/* ------------------------------------------------------------------ the sources */

/* The arguments of the call whose '(' is at @p open, at most @p max, trimmed, into
 * @p args (each at most 127 bytes); their count. */
static int s_args(const char *open, char args[][128], int max)
{
    int n = 0, depth = 0;
    size_t len = 0;
    char quote = 0;
    for (const char *c = open + 1; *c && n < max; c++) {
        if (quote) {
            if (*c == '\\' && c[1])
                c++;
            else if (*c == quote)
                quote = 0;
        }
        else if (*c == '"' || *c == '\'')
            quote = *c;
        else if (*c == '(')
            depth++;
        else if ((*c == ',' || *c == ')') && depth == 0) {
            args[n][len] = '\0';
            n++;
            len = 0;
            if (*c == ')')
                break;
            continue;
        }
        else if (*c == ')')
            depth--;
        if (len < 127 && !(len == 0 && (*c == ' ' || *c == '\n')))
            args[n][len++] = *c;
    }
    for (int i = 0; i < n; i++) {
        size_t l = strlen(args[i]);
        while (l && (args[i][l - 1] == ' ' || args[i][l - 1] == '\n'))
            args[i][--l] = '\0';
    }
    return n;
}

/* A plain string literal's text into @p out; false when @p arg is not one. */
static bool s_literal(const char *arg, char *out, size_t outsz)
{
    size_t l = strlen(arg);
    if (l < 2 || arg[0] != '"' || arg[l - 1] != '"' || memchr(arg + 1, '"', l - 2) ||
        strchr(arg, '\\'))
        return false;
    snprintf(out, outsz, "%.*s", (int) l - 2, arg + 1);
    return true;
}

/* Every `svc_config_get(c, name, "key", default)` and `zconfig_get(c, "key", default)` of
 * @p file: the key is in the defaults (the service's section first, for a file of
 * services/<name>/), with the default the call uses when that is a literal or NULL. */
static int s_scan_file(const char *file, const s_file_t *dflt)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    char service[64] = "";
    const char *s = strstr(file, "/services/");
    if (s && strncmp(s, "/services/common/", 17) != 0)
        snprintf(service, sizeof service, "%.*s", (int) strcspn(s + 10, "/"), s + 10);
    int calls = 0;
    static const struct {
        const char *fn;
        int key;
    } fns[] = {{"svc_config_get(", 2}, {"zconfig_get(", 1}};
    for (size_t k = 0; k < 2; k++)
        for (const char *c = strstr(text, fns[k].fn); c; c = strstr(c + 1, fns[k].fn)) {
            if (c > text && (isalnum((unsigned char) c[-1]) || c[-1] == '_'))
                continue;
            char args[4][128], key[128], value[128];
            int n = s_args(c + strlen(fns[k].fn) - 1, args, 4);
            if (n < fns[k].key + 2 || !s_literal(args[fns[k].key], key, sizeof key) ||
                strchr(key, '/'))
                continue;
            calls++;
            char path[200];
            snprintf(path, sizeof path, "%s/%s", service, key);
            const s_entry_t *e = *service ? s_find(dflt, path) : NULL;
            if (!e)
                e = s_find(dflt, key);
            const char *use = args[fns[k].key + 1];
            bool literal = s_literal(use, value, sizeof value);
            bool ok = e && (literal                ? !e->commented && strcmp(e->value, value) == 0
                            : !strcmp(use, "NULL") ? e->commented
                                                   : true);
            if (!ok) {
                fprintf(stderr, "%s: reads '%s' with the default %s; the tables: %s\n", file, key,
                        use,
                        !e             ? "(no such setting)"
                        : e->commented ? "none"
                                       : e->value);
                th_failed++;
            }
        }
    return calls;
}

static void s_scan_sources(const char *root, const s_file_t *dflt)
{
    static const char *const patterns[] = {"services/*/*.c", "gateway/*.c", "tpctl/*.c",
                                           "eventstore/*.c"};
    int calls = 0;
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        char pattern[512];
        snprintf(pattern, sizeof pattern, "%s/%s", root, patterns[i]);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) != 0)
            continue;
        for (size_t j = 0; j < g.gl_pathc; j++)
            if (!strstr(g.gl_pathv[j], "_test") && !strstr(g.gl_pathv[j], "selftest"))
                calls += s_scan_file(g.gl_pathv[j], dflt);
        globfree(&g);
    }
    /* svc.c alone reads some twenty: the scan must have found them */
    TH_CHECK(calls >= 20);
}

/* ------------------------------------------------------------------ the loader */

/* Writes @p text to @p path. */
static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    TH_CHECK(f);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A copy of @p from with the line that starts with @p old replaced by @p new; the number
 * of that line (0 when none starts so). */
static int s_copy_with(const char *from, const char *to, const char *old, const char *new_)
{
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    char line[1024];
    int lineno = 0, found = 0;
    while (in && out && fgets(line, sizeof line, in)) {
        lineno++;
        if (!found && strncmp(line, old, strlen(old)) == 0) {
            fprintf(out, "%s\n", new_);
            found = lineno;
        }
        else
            fputs(line, out);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return found;
}

/* The line of @p path that holds @p needle, or 0. */
static int s_line_of(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0, found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        lineno++;
        if (strstr(line, needle))
            found = lineno;
    }
    if (f)
        fclose(f);
    return found;
}

/* Runs @p cmd (its stderr with its stdout); true when it exits with @p rc and says
 * "FILE:LINE: @p what". */
static bool s_says(const char *cmd, int rc, const char *file, int line, const char *what)
{
    char *out = NULL;
    int got = th_run(&out, "%s 2>&1", cmd);
    char want[1024];
    snprintf(want, sizeof want, "%s:%d: %s", file, line, what);
    bool ok = got == rc && out && strstr(out, want);
    if (!ok)
        fprintf(stderr, "settings: `%s` exited %d, not %d, or did not say\n  %s\nbut:\n%s\n", cmd,
                got, rc, want, out ? out : "");
    free(out);
    return ok;
}

int main(void)
{
    const char *tpctl = th_env("TPCTL");
    const char *root = th_env("TP_SOURCE_ROOT");
    th_t *th = th_new("settings");
    char deploy[600], dflt_path[600], bad[600], cmd[1400];
    snprintf(deploy, sizeof deploy, "%s/deploy/trustportal.cfg", root);
    snprintf(dflt_path, sizeof dflt_path, "%s/defaults.cfg", th_dir(th));
    snprintf(bad, sizeof bad, "%s/bad.cfg", th_dir(th));

    /* the defaults, and the shipped file held to them; both pass the loader */
    TH_CHECK(th_run(NULL, "%s config defaults > %s", tpctl, dflt_path) == 0);
    static s_file_t dflt, shipped;
    TH_CHECK(s_parse(dflt_path, &dflt) && s_parse(deploy, &shipped));
    TH_CHECK(dflt.n > 40);
    s_compare(&dflt, &shipped);
    TH_CHECK(th_run(NULL, "%s config check %s", tpctl, deploy) == 0);
    TH_CHECK(th_run(NULL, "%s config check %s", tpctl, dflt_path) == 0);

    /* the sources read with the tables' defaults */
    s_scan_sources(root, &dflt);

    /* a misspelt key, a value out of range: refused, with their lines */
    int line = s_copy_with(deploy, bad, "    cookie_secure = ", "    cookie_secur = 0");
    TH_CHECK(line > 0);
    snprintf(cmd, sizeof cmd, "%s config check %s", tpctl, bad);
    TH_CHECK(s_says(cmd, 2, bad, line, "unknown setting 'cookie_secur' in section 'gateway'"));
    line = s_copy_with(deploy, bad, "batch_max = ", "batch_max = 0");
    TH_CHECK(line > 0);
    TH_CHECK(s_says(cmd, 2, bad, line, "batch_max = 0 out of range 1..65536"));
    line = s_copy_with(deploy, bad, "    processing_delay_s = ", "    processing_delay_s = 7200");
    TH_CHECK(s_says(cmd, 2, bad, line, "processing_delay_s = 7200 out of range 0..3600"));
    /* a section named like no daemon: an instance when it holds only services' keys... */
    TH_CHECK(s_copy_with(deploy, bad, "order", "ordre") > 0);
    TH_CHECK(th_run(NULL, "%s config check %s", tpctl, bad) == 0);
    /* ... else refused */
    TH_CHECK(s_copy_with(deploy, bad, "gateway", "gatewya") > 0);
    TH_CHECK(s_says(cmd, 2, bad, s_line_of(bad, "    listen = "),
                    "unknown setting 'listen' in section 'gatewya' (one of section 'gateway')"));

    /* real daemons: each refuses what it reads, misspelt or out of range, and exits */
    char data[400], run[400], text[1400];
    snprintf(data, sizeof data, "%s/data", th_dir(th));
    snprintf(run, sizeof run, "%s/run", th_dir(th));
    snprintf(text, sizeof text,
             "data = %s\nrun = %s\nalpha\n    tick_ms = 20\n    batch_maxx = 5\n", data, run);
    s_write(bad, text);
    snprintf(cmd, sizeof cmd, "timeout 20 %s -c %s -n alpha", th_env("TP_EXAMPLE"), bad);
    TH_CHECK(s_says(cmd, 1, bad, 5, "unknown setting 'batch_maxx' in section 'alpha'"));
    snprintf(text, sizeof text, "data = %s\nrun = %s\ntick_ms = 0\n", data, run);
    s_write(bad, text);
    TH_CHECK(s_says(cmd, 1, bad, 3, "tick_ms = 0 out of range 1..3600000"));
    snprintf(text, sizeof text,
             "data = %s\nrun = %s\nproduction\n    activation_delay_s = 999999999999\n", data, run);
    s_write(bad, text);
    snprintf(cmd, sizeof cmd, "timeout 20 %s -c %s", th_env("TP_PRODUCTION"), bad);
    TH_CHECK(s_says(cmd, 1, bad, 4, "activation_delay_s = 999999999999 out of range 0..316224000"));
    snprintf(text, sizeof text,
             "data = %s\nrun = %s\ngateway\n    port = %d\n    cookie_secur = 1\n", data, run,
             th_free_port());
    s_write(bad, text);
    snprintf(cmd, sizeof cmd, "timeout 20 %s -c %s", th_env("TP_GATEWAY"), bad);
    TH_CHECK(s_says(cmd, 1, bad, 5, "unknown setting 'cookie_secur' in section 'gateway'"));

    /* ... and starts with what it does not read: another daemon's keys it does not know
     * (which tpctl, knowing every daemon, refuses) */
    th_set(th, "gateway/cookie_secur", "1");
    th_set(th, "beta/base_url", "http://localhost:8080");
    th_set(th, "alpha/tick_ms", "20");
    TH_CHECK(th_start(th, th_env("TP_EXAMPLE"), "alpha", 10000) > 0);
    line = s_line_of(th_config(th), "cookie_secur");
    snprintf(cmd, sizeof cmd, "%s config check %s", tpctl, th_config(th));
    TH_CHECK(
        s_says(cmd, 2, th_config(th), line, "unknown setting 'cookie_secur' in section 'gateway'"));
    th_destroy(&th);
    printf("settings: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
