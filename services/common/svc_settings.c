/* svc_settings.c: the runtime's settings table and the one loader of the config file
 * (see svc_settings.h for the rules). */
#include "svc_settings.h"
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "svc.h"

/* The defaults here are those svc.c, svc_mail.c and the services use where they read
 * the setting; tests/integration/settings.c compares them with the sources. */
const svc_setting_t svc_settings_runtime[] = {
    {"data", "data", SVC_SETTING_PATH, 0, 0,
     "Root folder of the services' event logs: <data>/<service>/ (data.mdb, secret.key).\n"
     "In a service's section: that service's own folder."},
    {"run", "run", SVC_SETTING_PATH, 0, 0,
     "Folder of the local (ipc://) sockets: <run>/<service>.pub and .router.", SVC_SETTING_ROOT},
    {"keys", "keys", SVC_SETTING_PATH, 0, 0,
     "Folder of the CURVE keys (every socket is authenticated): <stem>.pub and\n"
     "<stem>.secret (0600) for each service, the gateway, each operator, production\n"
     "line and identification feed; made by `tpctl keys init` and `tpctl keys add-...`.",
     SVC_SETTING_ROOT},
    {"outbox", NULL, SVC_SETTING_PATH, 0, 0,
     "Mail: with no smtp_url, every mail is written as an .eml file into this folder\n"
     "(default <data>/outbox)."},
    {"smtp_url", NULL, SVC_SETTING_STRING, 0, 0,
     "The SMTP server, e.g. smtp://mail.example.org:587 (smtps://host:465 for implicit TLS)."},
    {"smtp_user", NULL, SVC_SETTING_STRING, 0, 0, "Its user name and password."},
    {"smtp_password", NULL, SVC_SETTING_STRING, 0, 0, NULL},
    {"smtp_tls", "require", SVC_SETTING_STRING, 0, 0,
     "require | try | none (none only for a local test server).", 0, "require|try|none"},
    {"mail_from", "portal@localhost", SVC_SETTING_STRING, 0, 0, "The sender of the mails."},
    {"batch_max", "1024", SVC_SETTING_INT, 1, 65536,
     "Requests decided into one group commit at most."},
    {"pipeline", "1", SVC_SETTING_BOOL, 0, 1,
     "1: decide the next group while the previous one is written and synced (on its\n"
     "own thread); 0: one group at a time, on the service loop alone."},
    {"slow_commit_ms", "250", SVC_SETTING_NUMBER, 0, 3600000,
     "Commits that take longer than this are logged, with where their time went\n"
     "(ms, fractions allowed; 0: none)."},
    {"tick_ms", "1000", SVC_SETTING_INT, 1, 3600000,
     "Period of the services' timers (tick), in milliseconds."},
    {"witness_interval_ms", "10000", SVC_SETTING_INT, 100, 3600000,
     "A service that writes signs its head (seq and hash) into its own log at least this\n"
     "often (ms), and at a clean stop; its followers record each signed head, so that\n"
     "`tpctl log verify DIR --witnesses DIR...` can tell a log rewritten, truncated or\n"
     "restored from an older backup."},
    {"window_hours", "2", SVC_SETTING_INT, 1, 8760,
     "Client addresses kept for throttling are sealed per hour (svc_seal.h) and erased\n"
     "this many hours after the hour they were written in: longer than any throttling\n"
     "window."},
    {"workers", "2", SVC_SETTING_INT, 1, 256,
     "Threads for slow work (password hashing, PDF rendering, mail)."},
    {"slow_burst", "30", SVC_SETTING_INT, 1, 1000000,
     "Slow work (password hashing) for visitors, per client address (IPv6: per /64):\n"
     "this many requests at once, then slow_per_minute a minute; beyond that a request\n"
     "is refused \"throttled\" before anything is hashed."},
    {"slow_per_minute", "60", SVC_SETTING_INT, 1, 1000000, NULL},
    {"slow_refusal_delay_ms", "1000", SVC_SETTING_INT, 0, 60000,
     "Such a refusal is answered this late (ms; earlier when the caller's deadline is\n"
     "nearer): a client that floods gets one answer per connection and period, and its\n"
     "flood costs the machine little."},
    {"slow_queue_max", "32", SVC_SETTING_INT, 1, 100000,
     "Requests waiting for a worker or on one, at most; one more is refused\n"
     "\"unavailable\" (503). A request whose caller's deadline passed while it waited\n"
     "is dropped unhashed."},
    {"react_delay_ms", "0", SVC_SETTING_INT, 0, 60000,
     "How long live upstream events may wait before the service reacts (ms): those\n"
     "arriving meanwhile share one commit. Default 0; a service may have its own\n"
     "(svc_def_t.react_delay_ms: the revocation service's is 20)."},
    {"pub_hwm", "100000", SVC_SETTING_INT, 0, 100000000,
     "ZeroMQ high-water marks of the event publisher and of subscribers, in messages\n"
     "(a message carries one event, or up to 256 committed together: the memory a slow\n"
     "subscriber can hold up grows with both). A subscriber that falls behind loses\n"
     "live messages and reads them instead, so lower marks lose nothing."},
    {"sub_hwm", "100000", SVC_SETTING_INT, 0, 100000000, NULL},
    {"nosync", "0", SVC_SETTING_BOOL, 0, 1,
     "1: commits are not synced to disk (tests and benchmarks only: a crash of the\n"
     "machine loses the last commits)."},
    {"store", "lmdb", SVC_SETTING_STRING, 0, 0,
     "Where the log of record is: lmdb (embedded, in the data folder) or jetstream (the\n"
     "service's stream on a NATS JetStream cluster, R=3, with a local copy in the data\n"
     "folder; several instances of a service, one active: README \"Running on several\n"
     "machines\").",
     0, "lmdb|jetstream"},
    {"host", NULL, SVC_SETTING_STRING, 0, 0,
     "This host's name in the cluster: an instance is <service>@<host> (default: the\n"
     "machine's host name)."},
    {"js_servers", NULL, SVC_SETTING_STRING, 0, 0,
     "With the jetstream store: the cluster's client URLs, comma-separated, e.g.\n"
     "nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222 (tls:// for TLS)."},
    {"js_replicas", "3", SVC_SETTING_INT, 1, 5,
     "Replicas of the streams and buckets created (3: one node may be lost)."},
    {"js_creds", NULL, SVC_SETTING_PATH, 0, 0, "A NATS credentials file (none by default)."},
    {"js_tls_ca", NULL, SVC_SETTING_PATH, 0, 0,
     "The CA certificates (PEM) the servers' are checked against; set: TLS required."},
    {"js_lease_ttl_ms", "3000", SVC_SETTING_INT, 3000, 60000,
     "How long the active instance's lease lives after its last renewal (renewed every\n"
     "second; it stops writing 1 s before): a standby takes over about this long after\n"
     "the active one died. The same on every host; at least 2000 + js_timeout_ms."},
    {"js_timeout_ms", "1000", SVC_SETTING_INT, 100, 58000,
     "Each request to JetStream waits this long; an append not acknowledged in time is\n"
     "sent again (stored once)."},
    {"pub", NULL, SVC_SETTING_ENDPOINT, 0, 0,
     "Endpoint of the service's PUB socket, e.g. tcp://10.0.0.5:7101\n"
     "(default ipc://<run>/<service>.pub).",
     SVC_SETTING_SECTION},
    {"router", NULL, SVC_SETTING_ENDPOINT, 0, 0,
     "Endpoint of its ROUTER socket, where requests come in\n"
     "(default ipc://<run>/<service>.router).",
     SVC_SETTING_SECTION},
    {"routers", NULL, SVC_SETTING_ENDPOINTS, 0, 0,
     "A service run as several instances (one active, the others standby): the ROUTER\n"
     "endpoints of them all, comma-separated, e.g.\n"
     "tcp://10.0.0.1:7101,tcp://10.0.0.2:7101. Its clients (gateway, tpctl, followers)\n"
     "connect to every one and reach the active instance (default: router alone).",
     SVC_SETTING_SECTION},
    {"pubs", NULL, SVC_SETTING_ENDPOINTS, 0, 0,
     "Their PUB endpoints, which followers subscribe to (default: pub alone).",
     SVC_SETTING_SECTION},
    {"upstreams", NULL, SVC_SETTING_LIST, 0, 0,
     "The services it follows, e.g. order,account (default: the service's own list).",
     SVC_SETTING_SECTION},
    {"followers", NULL, SVC_SETTING_LIST, 0, 0,
     "The services that may follow it (\"$read\" and its PUB socket), e.g.\n"
     "order,revocation, and gateway for the portal's live updates (default: the\n"
     "service's own list).",
     SVC_SETTING_SECTION},
    {"producer", NULL, SVC_SETTING_ENDPOINT, 0, 0,
     "A second endpoint of its ROUTER for production lines on other hosts, e.g.\n"
     "tcp://10.0.0.5:7110 (the same keys and rights); none by default.",
     SVC_SETTING_SECTION},
    {NULL}};

const svc_setting_t *svc_settings_find(const svc_setting_t *table, const char *key)
{
    for (size_t i = 0; table && table[i].key; i++)
        if (streq(table[i].key, key))
            return &table[i];
    return NULL;
}

const char *svc_setting_get(zconfig_t *config, const char *name, const svc_setting_t *table,
                            const char *key)
{
    const svc_setting_t *s = svc_settings_find(table, key);
    assert(s); /* a setting read must be in its table */
    return svc_config_get(config, name, key, s->dflt);
}

void svc_settings_print(FILE *out, const svc_setting_t *setting, const char *value, int indent)
{
    for (const char *h = setting->help; h && *h;) {
        size_t n = strcspn(h, "\n");
        fprintf(out, "%*s#   %.*s\n", indent, "", (int) n, h);
        h += n + (h[n] == '\n');
    }
    if (setting->where == SVC_SETTING_ROOT)
        fprintf(out, "%*s#   At the root only.\n", indent, "");
    if (!value)
        fprintf(out, "%*s#   %s =\n", indent, "", setting->key);
    else if (strchr(value, '#') || strchr(value, '"') || isspace((unsigned char) *value))
        fprintf(out, "%*s%s = '%s'\n", indent, "", setting->key, value);
    else
        fprintf(out, "%*s%s = %s\n", indent, "", setting->key, value);
}

/* ------------------------------------------------------------------ the line pass */

/* What the line pass learns of a name line (a line that makes a node in the tree). */
typedef struct {
    int line;
    bool eq; /* written `name = value`, not `name` alone */
} s_line_t;

typedef struct {
    const char *path;
    const svc_settings_daemon_t *daemons;
    size_t n_daemons;
    int flags;
    s_line_t *lines; /* the name lines, in file order = the tree's pre-order */
    size_t n_lines;
    size_t next; /* the next line to hand out while walking the tree */
    FILE *err;   /* refusals, one a line */
    char *err_text;
    size_t err_size;
    int n_errors;
} s_loader_t;

static void s_refuse(s_loader_t *self, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_refuse(s_loader_t *self, int line, const char *fmt, ...)
{
    if (line > 0)
        fprintf(self->err, "%s:%d: ", self->path, line);
    else
        fprintf(self->err, "%s: ", self->path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(self->err, fmt, ap);
    va_end(ap);
    fputc('\n', self->err);
    self->n_errors++;
}

/* zconfig's name characters (CZMQ's s_is_namechar). */
static bool s_namechar(char c)
{
    return isalnum((unsigned char) c) || (c && strchr("$-_@.&+/", c));
}

/* True when @p p holds nothing but blanks and a comment (zconfig's s_verify_eoln). */
static bool s_eoln(const char *p)
{
    while (isspace((unsigned char) *p))
        p++;
    return *p == '\0' || *p == '#';
}

/* One line, as zconfig_chunk_load reads it; appends a name line to self->lines. Returns
 * -1 (refused) where zconfig_load would stop. */
static int s_scan_line(s_loader_t *self, char *text, int lineno, int *max_level)
{
    size_t len = strlen(text);
    while (len && isspace((unsigned char) text[len - 1]))
        text[--len] = '\0';
    const char *p = text;
    while (*p == ' ')
        p++;
    int spaces = (int) (p - text);
    if (*p == '\t' && !s_eoln(p)) {
        s_refuse(self, lineno, "indent with spaces (4 a level), not tabs");
        return -1;
    }
    if (spaces % 4) {
        s_refuse(self, lineno, "indent by 4 spaces a level (%d here)", spaces);
        return -1;
    }
    const char *name = p;
    while (s_namechar(*p))
        p++;
    if (p == name) {
        if (s_eoln(p))
            return 0; /* blank or comment */
        s_refuse(self, lineno, "not a setting: '%s'", name);
        return -1;
    }
    if (*name == '/' || p[-1] == '/') {
        s_refuse(self, lineno, "'/' at the start or end of a name");
        return -1;
    }
    int level = spaces / 4;
    if (level > *max_level) {
        s_refuse(self, lineno, "indented deeper than the line above allows");
        return -1;
    }
    *max_level = level + 1;
    while (isspace((unsigned char) *p))
        p++;
    bool eq = *p == '=';
    if (eq) {
        p++;
        while (isspace((unsigned char) *p))
            p++;
        if (*p == '"' || *p == '\'') {
            const char *end = strchr(p + 1, *p);
            if (!end) {
                s_refuse(self, lineno, "missing closing %c", *p);
                return -1;
            }
            if (!s_eoln(end + 1)) {
                s_refuse(self, lineno, "text after the quoted value");
                return -1;
            }
        }
    }
    else if (!s_eoln(p)) {
        s_refuse(self, lineno, "write 'name = value': '%s'", name);
        return -1;
    }
    s_line_t *lines = realloc(self->lines, (self->n_lines + 1) * sizeof *lines);
    if (!lines)
        return -1;
    self->lines = lines;
    self->lines[self->n_lines++] = (s_line_t){lineno, eq};
    return 0;
}

/* The line pass over the whole text; 0, or -1 with the refusal said. */
static int s_scan(s_loader_t *self, char *text)
{
    int lineno = 0, max_level = 0;
    for (char *save = NULL, *line = text; line; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        lineno++;
        if (s_scan_line(self, line, lineno, &max_level) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the checks */

/* Why @p value does not fit @p s, into @p why; false when it fits. */
/* Whether @p value is a ZeroMQ endpoint of a transport the services use. */
static bool s_endpoint(const char *value)
{
    static const char *const schemes[] = {"tcp://", "ipc://", "inproc://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(value, schemes[i], strlen(schemes[i])) == 0 && value[strlen(schemes[i])])
            return true;
    return false;
}

static bool s_misfit(const svc_setting_t *s, const char *value, char *why, size_t whysz)
{
    if (!*value) {
        if (!s->dflt)
            return false; /* none, as without the line */
        snprintf(why, whysz, "(no value: remove the line for the default, %s)", s->dflt);
        return true;
    }
    switch (s->kind) {
    case SVC_SETTING_INT:
    case SVC_SETTING_NUMBER: {
        char *end = NULL;
        errno = 0;
        double n =
            s->kind == SVC_SETTING_INT ? (double) strtoll(value, &end, 10) : strtod(value, &end);
        if (errno || end == value || *end || !isfinite(n)) {
            snprintf(why, whysz, "is not %s",
                     s->kind == SVC_SETTING_INT ? "a whole number" : "a number");
            return true;
        }
        if (n < s->min || n > s->max) {
            snprintf(why, whysz, "out of range %.15g..%.15g", s->min, s->max);
            return true;
        }
        return false;
    }
    case SVC_SETTING_BOOL:
        if (streq(value, "0") || streq(value, "1"))
            return false;
        snprintf(why, whysz, "is neither 0 nor 1");
        return true;
    case SVC_SETTING_ENDPOINT:
        if (s_endpoint(value))
            return false;
        snprintf(why, whysz, "is not a ZeroMQ endpoint (tcp://, ipc://, inproc://)");
        return true;
    case SVC_SETTING_ENDPOINTS: {
        char ep[512];
        const char *at = value;
        size_t n = 0, bad = 0;
        while (evs_bus_endpoint_next(&at, ep, sizeof ep))
            s_endpoint(ep) ? n++ : bad++;
        if (n > 0 && !bad && !*at)
            return false;
        snprintf(why, whysz, "is not a list of ZeroMQ endpoints (tcp://a:1,tcp://b:1)");
        return true;
    }
    case SVC_SETTING_LIST:
        for (const char *c = value; *c; c++)
            if (!isalnum((unsigned char) *c) && !strchr("_.-@, ", *c)) {
                snprintf(why, whysz, "is not a list of names (a,b)");
                return true;
            }
        return false;
    case SVC_SETTING_STRING:
        if (s->choices) {
            size_t n = strlen(value);
            for (const char *c = s->choices; c;) {
                const char *bar = strchr(c, '|');
                size_t len = bar ? (size_t) (bar - c) : strlen(c);
                if (len == n && strncmp(c, value, n) == 0)
                    return false;
                c = bar ? bar + 1 : NULL;
            }
            snprintf(why, whysz, "is not one of %s", s->choices);
            return true;
        }
        return false;
    case SVC_SETTING_PATH:
        return false;
    }
    return false;
}

static const svc_settings_daemon_t *s_daemon(s_loader_t *self, const char *section)
{
    for (size_t i = 0; i < self->n_daemons; i++)
        if (streq(self->daemons[i].section, section))
            return &self->daemons[i];
    return NULL;
}

/* The section of a known daemon whose own table has @p key, for a hint; NULL if none. */
static const char *s_owner_of(s_loader_t *self, const char *key)
{
    for (size_t i = 0; i < self->n_daemons; i++)
        if (svc_settings_find(self->daemons[i].settings, key))
            return self->daemons[i].section;
    return NULL;
}

/* A key the loader knows of no daemon of a section named like none it knows: the setting
 * of a service's own table (an instance under another name), when there is one. */
static const svc_setting_t *s_any_service(s_loader_t *self, const char *key)
{
    for (size_t i = 0; i < self->n_daemons; i++) {
        const svc_setting_t *s =
            self->daemons[i].service ? svc_settings_find(self->daemons[i].settings, key) : NULL;
        if (s)
            return s;
    }
    return NULL;
}

/* Hands out the next name line (the tree's nodes come in the same order). */
static const s_line_t *s_take(s_loader_t *self)
{
    static const s_line_t none = {0, true};
    return self->next < self->n_lines ? &self->lines[self->next++] : &none;
}

/* Refuses whatever is indented under @p node, which is a setting, not a section. */
static void s_under_setting(s_loader_t *self, zconfig_t *node)
{
    for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
        const s_line_t *l = s_take(self);
        s_refuse(self, l->line, "'%s' is indented under the setting '%s'", zconfig_name(c),
                 zconfig_name(node));
        s_under_setting(self, c);
    }
}

static void s_value(s_loader_t *self, const svc_setting_t *s, zconfig_t *node, int line)
{
    char why[128];
    const char *value = zconfig_value(node) ? zconfig_value(node) : "";
    if (s_misfit(s, value, why, sizeof why))
        s_refuse(self, line, "%s =%s%s %s", s->key, *value ? " " : "", value, why);
}

/* A key no table allows there; with the section whose daemon has it, when one does. */
static void s_unknown(s_loader_t *self, int line, const char *key, const char *section)
{
    const char *owner = s_owner_of(self, key);
    s_refuse(self, line, "unknown setting '%s' %s%s%s%s%s%s", key, section ? "in section '" : "",
             section ? section : "at the root", section ? "'" : "",
             owner ? " (one of section '" : "", owner ? owner : "", owner ? "')" : "");
}

/* One setting of section @p section (NULL: the root) at @p line. */
static void s_setting(s_loader_t *self, const char *section, zconfig_t *node, int line)
{
    const char *key = zconfig_name(node);
    const svc_setting_t *s = svc_settings_find(svc_settings_runtime, key);
    if (!section) {
        if (!s)
            s_unknown(self, line, key, NULL);
        else if (s->where == SVC_SETTING_SECTION)
            s_refuse(self, line, "'%s' stands in a service's section, not at the root", key);
        else
            s_value(self, s, node, line);
        return;
    }
    const svc_settings_daemon_t *d = s_daemon(self, section);
    if (d) {
        const svc_setting_t *own = svc_settings_find(d->settings, key);
        s = own ? own : d->service ? s : NULL;
    }
    else if (!s && (self->flags & SVC_SETTINGS_COMPLETE))
        s = s_any_service(self, key);
    else if (!s)
        return; /* another daemon's section: that daemon judges it */
    if (!s)
        s_unknown(self, line, key, section);
    else if (s->where == SVC_SETTING_ROOT)
        s_refuse(self, line, "'%s' stands at the root only, not in section '%s'", key, section);
    else
        s_value(self, s, node, line);
}

/* What is done with one node: @p first is the line where its name stood before among
 * its siblings (0: nowhere). */
typedef void(s_node_fn)(s_loader_t *self, zconfig_t *parent, zconfig_t *node, const s_line_t *line,
                        int first);

/* Walks the children of @p parent with their lines. O(n^2) in a parent's children, for
 * the names given twice: a config has tens. */
static void s_children(s_loader_t *self, zconfig_t *parent, s_node_fn *fn)
{
    size_t n = 0;
    for (zconfig_t *c = zconfig_child(parent); c; c = zconfig_next(c))
        n++;
    int *line_of = calloc(n + 1, sizeof *line_of);
    size_t i = 0;
    for (zconfig_t *c = zconfig_child(parent); c; c = zconfig_next(c), i++) {
        const s_line_t *l = s_take(self);
        int first = 0;
        if (line_of) {
            line_of[i] = l->line;
            size_t j = 0;
            for (zconfig_t *e = zconfig_child(parent); e != c && !first; e = zconfig_next(e), j++)
                if (streq(zconfig_name(e), zconfig_name(c)))
                    first = line_of[j];
        }
        fn(self, parent, c, l, first);
    }
    free(line_of);
}

/* A setting of a section. */
static void s_key(s_loader_t *self, zconfig_t *section, zconfig_t *node, const s_line_t *l,
                  int first)
{
    if (first)
        s_refuse(self, l->line, "'%s' is set twice in section '%s' (first at line %d)",
                 zconfig_name(node), zconfig_name(section), first);
    else
        s_setting(self, zconfig_name(section), node, l->line);
    s_under_setting(self, node);
}

/* A name at the left margin: a root setting (`name = value`) or a section. */
static void s_top(s_loader_t *self, zconfig_t *root, zconfig_t *node, const s_line_t *l, int first)
{
    const char *name = zconfig_name(node);
    if (first)
        s_refuse(self, l->line, "'%s' appears twice (first at line %d)", name, first);
    if (l->eq) {
        if (!first)
            s_setting(self, NULL, node, l->line);
        s_under_setting(self, node);
    }
    else if (!zconfig_child(node) && svc_settings_find(svc_settings_runtime, name))
        s_refuse(self, l->line, "'%s' has no value (write %s = value)", name, name);
    else
        s_children(self, node, s_key);
}

/* ------------------------------------------------------------------ the loader */

zconfig_t *svc_settings_load(const char *path, const svc_settings_daemon_t *daemons,
                             size_t n_daemons, int flags, char **errors)
{
    assert(path);
    if (errors)
        *errors = NULL;
    s_loader_t self = {path, daemons, n_daemons, flags};
    self.err = open_memstream(&self.err_text, &self.err_size);
    if (!self.err)
        return NULL;
    zconfig_t *config = NULL;
    errno = 0;
    zchunk_t *chunk = zchunk_slurp(path, 0);
    size_t size = chunk ? zchunk_size(chunk) : 0;
    char *text = chunk ? strndup((const char *) zchunk_data(chunk), size) : NULL;
    zchunk_destroy(&chunk);
    if (!text)
        s_refuse(&self, 0, "cannot read it: %s", strerror(errno ? errno : EIO));
    else if (s_scan(&self, text) == 0) {
        /* zconfig reads no empty file */
        config = size ? zconfig_load(path) : zconfig_new("root", NULL);
        if (!config)
            s_refuse(&self, 0, "not a ZPL file");
        else
            s_children(&self, config, s_top);
    }
    free(text);
    free(self.lines);
    fclose(self.err);
    if (self.n_errors)
        zconfig_destroy(&config);
    if (errors && self.n_errors)
        *errors = self.err_text;
    else
        free(self.err_text);
    return config;
}

zconfig_t *svc_settings_open(const char *path, const svc_settings_daemon_t *daemons,
                             size_t n_daemons, int flags)
{
    char *errors = NULL;
    zconfig_t *config = svc_settings_load(path, daemons, n_daemons, flags, &errors);
    for (char *save = NULL, *line = errors ? strtok_r(errors, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save))
        zsys_error("%s", line);
    free(errors);
    return config;
}

int svc_settings_check_service(const char *path, const char *name, const svc_setting_t *own)
{
    svc_settings_daemon_t me = {name, own, true};
    zconfig_t *config = svc_settings_open(path, &me, 1, 0);
    int rc = config ? 0 : -1;
    zconfig_destroy(&config);
    return rc;
}

/* ------------------------------------------------------------------ self-test */

/* Loads @p text as daemons @p d; true when the verdict is @p want (NULL: accepted, else a
 * text the refusals must hold). */
static bool s_try(const char *text, const svc_settings_daemon_t *d, size_t n, int flags,
                  const char *want, bool verbose)
{
    char path[] = "/tmp/svc_settings_test-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    char *errors = NULL;
    zconfig_t *config = svc_settings_load(path, d, n, flags, &errors);
    char expect[300];
    snprintf(expect, sizeof expect, "%s:%s", path, want ? want : "");
    bool ok = want ? !config && errors && strstr(errors, expect) : config && !errors;
    if (!ok || verbose)
        fprintf(stderr, "svc_settings: %s\n%s--> %s%s\n", ok ? "ok" : "FAILED", text,
                errors ? errors : "accepted\n", want ? want : "(accepted)");
    zconfig_destroy(&config);
    free(errors);
    unlink(path);
    return ok;
}

int svc_settings_test(bool verbose)
{
    static const svc_setting_t own[] = {{"delay_s", "120", SVC_SETTING_INT, 0, 3600, "A delay."},
                                        {NULL}};
    static const svc_setting_t gw[] = {
        {"cookie_secure", "1", SVC_SETTING_BOOL, 0, 1, "Secure cookies."}, {NULL}};
    const svc_settings_daemon_t alpha[] = {{"alpha", own, true}};
    const svc_settings_daemon_t gateway[] = {{"gateway", gw, false}};
    const svc_settings_daemon_t all[] = {{"example", own, true}, {"gateway", gw, false}};
    static const struct {
        const char *text;
        int who;          /* 0: alpha (a service), 1: the gateway, 2: all, complete */
        const char *want; /* NULL: accepted */
    } cases[] = {
        {"", 0, NULL},
        {"# only a comment\n\n", 0, NULL},
        {"data = /srv/tp\nbatch_max = 64\nslow_commit_ms = 0.5\nalpha\n    delay_s = 5\n"
         "    upstreams = beta, gamma\n    pub = tcp://127.0.0.1:7101\n",
         0, NULL},
        /* what zconfig_save writes: quoted values */
        {"batch_max = \"64\"\nalpha\n    delay_s = \"5\"\n", 0, NULL},
        /* another daemon's section: its keys are its own business, the runtime's are checked */
        {"gateway\n    cookie_secur = 1\nbeta\n    upstreams = alpha\n    delay_s = 9\n", 0, NULL},
        {"beta\n    batch_max = 0\n", 0, "2: batch_max = 0 out of range 1..65536"},
        {"gateway\n    cookie_secur = 1\n", 1,
         "2: unknown setting 'cookie_secur' in section 'gateway'"},
        {"gateway\n    batch_max = 5\n", 1, "2: unknown setting 'batch_max' in section 'gateway'"},
        {"alpha\n    tick_ms = 20\n    batch_maxx = 5\n", 0,
         "3: unknown setting 'batch_maxx' in section 'alpha'"},
        {"# comment\nbatch_max = 0\n", 0, "2: batch_max = 0 out of range 1..65536"},
        {"batch_max = 65537\n", 0, "1: batch_max = 65537 out of range 1..65536"},
        {"tick_ms = 12x\n", 0, "1: tick_ms = 12x is not a whole number"},
        {"slow_commit_ms = fast\n", 0, "1: slow_commit_ms = fast is not a number"},
        {"pipeline = 2\n", 0, "1: pipeline = 2 is neither 0 nor 1"},
        {"smtp_tls = tyr\n", 0, "1: smtp_tls = tyr is not one of require|try|none"},
        {"smtp_tls = none\nsmtp_url =\n", 0, NULL},
        {"workers =\n", 0, "1: workers = (no value: remove the line for the default, 2)"},
        {"alpha\n    pub = 127.0.0.1:7101\n", 0, "2: pub = 127.0.0.1:7101 is not a ZeroMQ"},
        {"alpha\n    upstreams = a;b\n", 0, "2: upstreams = a;b is not a list of names"},
        {"alpha\n    routers = \"tcp://10.0.0.1:7101, tcp://10.0.0.2:7101\"\n"
         "    pubs = tcp://10.0.0.1:7102\n",
         0, NULL},
        {"alpha\n    routers = tcp://10.0.0.1:7101,10.0.0.2:7101\n", 0,
         "2: routers = tcp://10.0.0.1:7101,10.0.0.2:7101 is not a list of ZeroMQ endpoints"},
        {"alpha\n    pubs = ,\n", 0, "2: pubs = , is not a list of ZeroMQ endpoints"},
        {"delay_s = 5\n", 0, "1: unknown setting 'delay_s' at the root (one of section 'alpha')"},
        {"cookie_secure = 0\n", 0, "1: unknown setting 'cookie_secure' at the root"},
        {"upstreams = a\n", 0, "1: 'upstreams' stands in a service's section, not at the root"},
        {"alpha\n    run = /tmp\n", 0, "2: 'run' stands at the root only, not in section"},
        {"tick_ms = 5\ntick_ms = 6\n", 0, "2: 'tick_ms' appears twice (first at line 1)"},
        {"alpha\n    tick_ms = 5\n\nalpha\n    workers = 1\n", 0,
         "4: 'alpha' appears twice (first at line 1)"},
        {"alpha\n    tick_ms = 5\n    tick_ms = 6\n", 0,
         "3: 'tick_ms' is set twice in section 'alpha' (first at line 2)"},
        {"tick_ms = 5\n    workers = 1\n", 0, "2: 'workers' is indented under the setting"},
        {"tick_ms\n", 0, "1: 'tick_ms' has no value"},
        {"alpha\n\tworkers = 1\n", 0, "2: indent with spaces"},
        {"alpha\n  workers = 1\n", 0, "2: indent by 4 spaces a level"},
        {"alpha\n        workers = 1\n", 0, "2: indented deeper"},
        {"tick_ms 5\n", 0, "1: write 'name = value'"},
        {"mail_from = \"a@b\n", 0, "1: missing closing \""},
        /* complete: every daemon known */
        {"gateway\n    cookie_secure = 0\nalpha\n    delay_s = 1\n    pub_hwm = 1\n", 2, NULL},
        {"gateway\n    cookie_secur = 1\n", 2,
         "2: unknown setting 'cookie_secur' in section 'gateway'"},
        {"gatewya\n    cookie_secure = 1\n", 2,
         "2: unknown setting 'cookie_secure' in section 'gatewya' (one of section 'gateway')"},
        {"alpha\n    delay_z = 1\n", 2, "2: unknown setting 'delay_z' in section 'alpha'"},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const svc_settings_daemon_t *d = cases[i].who == 0   ? alpha
                                         : cases[i].who == 1 ? gateway
                                                             : all;
        size_t n = cases[i].who == 2 ? 2 : 1;
        int flags = cases[i].who == 2 ? SVC_SETTINGS_COMPLETE : 0;
        if (!s_try(cases[i].text, d, n, flags, cases[i].want, verbose)) {
            fprintf(stderr, "svc_settings: case %zu failed\n", i);
            failed++;
        }
    }
    /* the table: every default fits its own setting */
    for (const svc_setting_t *s = svc_settings_runtime; s->key; s++) {
        char why[128];
        if (s->dflt && s_misfit(s, s->dflt, why, sizeof why)) {
            fprintf(stderr, "svc_settings: default of %s %s\n", s->key, why);
            failed++;
        }
    }
    /* a file that cannot be read */
    char *errors = NULL;
    if (svc_settings_load("/nonexistent/tp.cfg", NULL, 0, 0, &errors) || !errors ||
        !strstr(errors, "/nonexistent/tp.cfg: cannot read it")) {
        fprintf(stderr, "svc_settings: an unreadable file was not refused\n");
        failed++;
    }
    free(errors);
    return failed ? -1 : 0;
}
