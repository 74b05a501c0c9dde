/* peer_postgres.c: a temporary PostgreSQL cluster, and the example service's events
 * inserted into it (INSERT, or COPY) from several clients. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "peer_postgres.h"

#ifdef TP_HAVE_LIBPQ
#include <czmq.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"

#define S_BIN         "/usr/lib/postgresql/15/bin" /* Debian's postgresql-15 */
#define S_USER        "tp"                         /* the cluster's one (super)user */
#define S_SOCKET      ".s.PGSQL.5432"              /* the socket's name in the folder */
#define S_SUN_PATH    107                          /* longest unix socket path (sun_path - 1) */
#define S_CLIENTS_MAX 90                           /* max_connections 100, less reserved ones */

/* The durable defaults, said out loud: what the figures are measured with. */
static const char *const s_conf[] = {"listen_addresses = ''", "fsync = on",
                                     "synchronous_commit = on", "full_page_writes = on", NULL};

static const char s_schema[] =
    "CREATE TABLE events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " stream text NOT NULL, version bigint NOT NULL, body bytea NOT NULL,"
    " UNIQUE (stream, version));"
    "CREATE TABLE requests (request_id text PRIMARY KEY, result bytea NOT NULL);";

/* One event: its request and itself, one statement. */
static const char s_insert[] =
    "WITH r AS (INSERT INTO requests (request_id, result) VALUES ($1, $2))"
    " INSERT INTO events (stream, version, body) VALUES ($3, $4, $5)";

struct _pp_t {
    char dir[PATH_MAX + 16]; /* the cluster's folder: data/, the socket, the logs */
    char bin[256];           /* PostgreSQL's programs */
    char as[64];             /* "runuser -u USER -- " when run as root, else "" */
    char desc[256];          /* version and durability settings, as the server says */
    bool started;            /* the server runs (pg_ctl start succeeded) */
    uint64_t events;         /* events inserted so far, for the check after a run */
};

/* One client thread of a run. */
typedef struct {
    const pe_set_t *set;   /* in */
    size_t client;         /* in: it sends events client, client + clients, ... */
    pp_way_t way;          /* in */
    size_t group;          /* in: events a transaction (PP_INSERTS, PP_COPY) */
    PGconn *conn;          /* in: its own connection, the statement prepared */
    char *copy[2];         /* COPY data of requests and of events (PP_COPY) */
    size_t copy_cap;       /* bytes each of them holds */
    pthread_barrier_t *go; /* in: all start together */
    size_t done;           /* out: events committed */
    char err[200];         /* out: the first failure, "" when none */
} s_client_t;

static void s_why(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_why(char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whysz, fmt, ap);
    va_end(ap);
}

/* Runs PostgreSQL's program @p prog (as the server's user) with @p args, output to
 * <dir>/<prog>.log; on failure the log's last line goes into @p why. */
static int s_pg(pp_t *self, const char *prog, const char *args, char *why, size_t whysz)
{
    int rc = th_run(NULL, "cd '%s' && %s'%s/%s' %s >>'%s/%s.log' 2>&1", self->dir, self->as,
                    self->bin, prog, args, self->dir, prog);
    if (rc == 0)
        return 0;
    char *last = NULL;
    th_run(&last, "tail -n 1 '%s/%s.log'", self->dir, prog);
    if (last)
        last[strcspn(last, "\n")] = '\0';
    s_why(why, whysz, "%s failed (exit %d): %s", prog, rc, last && *last ? last : "no output");
    free(last);
    return -1;
}

static PGconn *s_connect(pp_t *self, char *why, size_t whysz)
{
    const char *keys[] = {"host", "port", "dbname", "user", NULL};
    const char *vals[] = {self->dir, "5432", "postgres", S_USER, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    if (conn && PQstatus(conn) == CONNECTION_OK)
        return conn;
    s_why(why, whysz, "cannot connect: %s", conn ? PQerrorMessage(conn) : "out of memory");
    why[strcspn(why, "\n")] = '\0';
    PQfinish(conn);
    return NULL;
}

/* Runs @p sql (no parameters) and checks its status; -1 with why on failure. */
static int s_exec(PGconn *conn, const char *sql, ExecStatusType want, PGresult **res_p, char *why,
                  size_t whysz)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != want) {
        s_why(why, whysz, "%.40s...: %s", sql, PQerrorMessage(conn));
        why[strcspn(why, "\n")] = '\0';
        PQclear(res);
        return -1;
    }
    if (res_p)
        *res_p = res;
    else
        PQclear(res);
    return 0;
}

/* The tables, and the settings checked and described. */
static int s_setup(pp_t *self, char *why, size_t whysz)
{
    PGconn *conn = s_connect(self, why, whysz);
    PGresult *res = NULL;
    int rc = conn ? s_exec(conn,
                           "SELECT current_setting('server_version'), current_setting('fsync'),"
                           " current_setting('synchronous_commit'),"
                           " current_setting('full_page_writes'),"
                           " current_setting('wal_sync_method')",
                           PGRES_TUPLES_OK, &res, why, whysz)
                  : -1;
    if (rc == 0) {
        const char *fsync = PQgetvalue(res, 0, 1), *sync = PQgetvalue(res, 0, 2),
                   *fpw = PQgetvalue(res, 0, 3);
        snprintf(self->desc, sizeof self->desc,
                 "PostgreSQL %s, fsync %s, synchronous_commit %s, full_page_writes %s,"
                 " wal_sync_method %s",
                 PQgetvalue(res, 0, 0), fsync, sync, fpw, PQgetvalue(res, 0, 4));
        if (strcmp(fsync, "on") || strcmp(sync, "on") || strcmp(fpw, "on")) {
            s_why(why, whysz, "the server is not durable as asked: %s", self->desc);
            rc = -1;
        }
        PQclear(res);
    }
    if (rc == 0)
        rc = s_exec(conn, s_schema, PGRES_COMMAND_OK, NULL, why, whysz);
    PQfinish(conn);
    return rc;
}

/* The user the server runs as when we are root (PostgreSQL refuses root): the folder
 * is handed to it. */
static int s_user(pp_t *self, char *why, size_t whysz)
{
    if (geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam("postgres");
    if (!pw)
        pw = getpwnam("nobody");
    if (!pw) {
        s_why(why, whysz, "running as root, and there is no user postgres or nobody to run as");
        return -1;
    }
    snprintf(self->as, sizeof self->as, "runuser -u %s -- ", pw->pw_name);
    if (chown(self->dir, pw->pw_uid, pw->pw_gid) != 0 ||
        th_run(NULL, "runuser -u %s -- test -w '%s' -a -x '%s' 2>/dev/null", pw->pw_name, self->dir,
               self->dir) != 0) {
        s_why(why, whysz,
              "running as root, and user %s (PostgreSQL refuses root) cannot use %s"
              " (a folder above it closed to others, or no runuser)",
              pw->pw_name, self->dir);
        return -1;
    }
    return 0;
}

pp_t *pp_new(const char *base, char *why, size_t whysz)
{
    pp_t *self = calloc(1, sizeof *self);
    char path[PATH_MAX];
    if (!self) {
        s_why(why, whysz, "out of memory");
        return NULL;
    }
    const char *bin = getenv("TP_PG_BIN");
    snprintf(self->bin, sizeof self->bin, "%s", bin && *bin ? bin : S_BIN);
    snprintf(path, sizeof path, "%s/initdb", self->bin);
    if (access(path, X_OK) != 0) {
        s_why(why, whysz, "no PostgreSQL in %s (Debian's postgresql-15)", self->bin);
        goto fail;
    }
    if (!realpath(base, path)) {
        s_why(why, whysz, "no folder %s", base);
        goto fail;
    }
    snprintf(self->dir, sizeof self->dir, "%s/pg-XXXXXX", path);
    if (strchr(self->dir, '\'') || strlen(self->dir) + 1 + strlen(S_SOCKET) > S_SUN_PATH) {
        s_why(why, whysz, "%s: a quote in it, or too long a path for the unix socket", path);
        self->dir[0] = '\0';
        goto fail;
    }
    if (!mkdtemp(self->dir)) {
        s_why(why, whysz, "cannot make a folder in %s", path);
        self->dir[0] = '\0';
        goto fail;
    }
    if (s_user(self, why, whysz) != 0 ||
        s_pg(self, "initdb", "-D data -U " S_USER " -A trust -E UTF8 --locale=C", why, whysz))
        goto fail;
    snprintf(path, sizeof path, "%s/data/postgresql.conf", self->dir);
    FILE *f = fopen(path, "a");
    if (!f) {
        s_why(why, whysz, "cannot write %s", path);
        goto fail;
    }
    fprintf(f, "\n# the backbone benchmark's peer\nunix_socket_directories = '%s'\n", self->dir);
    for (size_t i = 0; s_conf[i]; i++)
        fprintf(f, "%s\n", s_conf[i]);
    if (fclose(f) != 0) {
        s_why(why, whysz, "cannot write %s", path);
        goto fail;
    }
    char args[700];
    snprintf(args, sizeof args, "-D data -l '%s/server.log' -w -t 60 start", self->dir);
    if (s_pg(self, "pg_ctl", args, why, whysz) != 0)
        goto fail;
    self->started = true;
    if (s_setup(self, why, whysz) != 0)
        goto fail;
    return self;
fail:
    pp_destroy(&self);
    return NULL;
}

void pp_destroy(pp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pp_t *self = *self_p;
    char why[256];
    if (self->started && s_pg(self, "pg_ctl", "-D data -m fast -w -t 60 stop", why, sizeof why))
        fprintf(stderr, "peer postgres: %s\n", why);
    if (self->dir[0])
        th_run(NULL, "rm -rf '%s'", self->dir);
    free(self);
    *self_p = NULL;
}

void pp_describe(pp_t *self, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s", self->desc);
}

/* Whether @p res is @p want; else its error into c->err (the first one is kept). */
static bool s_ok(s_client_t *c, const PGresult *res, ExecStatusType want)
{
    if (PQresultStatus(res) == want)
        return true;
    if (!c->err[0]) {
        const char *e = res ? PQresultErrorMessage(res) : "";
        snprintf(c->err, sizeof c->err, "%s", *e ? e : PQerrorMessage(c->conn));
        c->err[strcspn(c->err, "\n")] = '\0';
    }
    return false;
}

/* Sends event @p ev's statement (pipeline mode) or runs it (autocommit). */
static bool s_send(s_client_t *c, const pe_event_t *ev, bool pipelined)
{
    char version[24];
    snprintf(version, sizeof version, "%llu", (unsigned long long) ev->version);
    const char *values[5] = {ev->request_id, (const char *) ev->result, ev->stream, version,
                             (const char *) ev->envelope};
    const int lengths[5] = {0, (int) ev->result_len, 0, 0, (int) ev->envelope_len};
    const int formats[5] = {0, 1, 0, 0, 1};
    if (pipelined)
        return PQsendQueryPrepared(c->conn, "ev", 5, values, lengths, formats, 0) == 1;
    PGresult *res = PQexecPrepared(c->conn, "ev", 5, values, lengths, formats, 0);
    bool ok = s_ok(c, res, PGRES_COMMAND_OK);
    PQclear(res);
    return ok;
}

/* One transaction of @p n events from @p first (every clients-th), in one go: BEGIN,
 * the statements, COMMIT, a sync; then their results. */
static bool s_txn(s_client_t *c, size_t first, size_t n, size_t clients)
{
    bool ok = PQsendQueryParams(c->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
    for (size_t k = 0; ok && k < n; k++)
        ok = s_send(c, pe_set_at(c->set, first + k * clients), true);
    ok = ok && PQsendQueryParams(c->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
         PQpipelineSync(c->conn) == 1;
    if (!ok)
        return false;
    /* each statement's result, then NULL; after a failure the rest come back aborted */
    for (size_t r = 0; r < n + 2; r++) {
        PGresult *res = PQgetResult(c->conn);
        if (!res)
            return false;
        ok = s_ok(c, res, PGRES_COMMAND_OK) && ok;
        PQclear(res);
        if ((res = PQgetResult(c->conn)) != NULL) {
            PQclear(res);
            return false;
        }
    }
    PGresult *sync = PQgetResult(c->conn);
    ok = s_ok(c, sync, PGRES_PIPELINE_SYNC) && ok;
    PQclear(sync);
    return ok;
}

/* COPY's binary format: big-endian integers; a row is its field count, then each
 * field's length and bytes. */
static char *s_be(char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (char) (v >> (8 * (bytes - 1 - i)));
    return p + bytes;
}

static char *s_field(char *p, const void *data, size_t len)
{
    p = s_be(p, len, 4);
    memcpy(p, data, len);
    return p + len;
}

/* COPY @p len bytes of @p data in with @p sql. */
static bool s_copy(s_client_t *c, const char *sql, const char *data, size_t len)
{
    PGresult *res = PQexec(c->conn, sql);
    bool ok = s_ok(c, res, PGRES_COPY_IN);
    PQclear(res);
    if (!ok)
        return false;
    ok = PQputCopyData(c->conn, data, (int) len) == 1;
    ok = PQputCopyEnd(c->conn, ok ? NULL : "the client could not send") == 1 && ok;
    while ((res = PQgetResult(c->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        ok = s_ok(c, res, PGRES_COMMAND_OK) && ok;
        PQclear(res);
        if (st == PGRES_COPY_IN)
            break; /* the end did not go out: the connection is lost */
    }
    return ok;
}

/* One transaction of @p n events from @p first (every clients-th) by COPY: BEGIN, the
 * requests, the events, COMMIT. */
static bool s_copy_txn(s_client_t *c, size_t first, size_t n, size_t clients)
{
    static const char header[19] = "PGCOPY\n\377\r\n\0"; /* then flags and extension: 0 */
    size_t need = sizeof header + 2;
    for (size_t k = 0; k < n; k++) {
        const pe_event_t *ev = pe_set_at(c->set, first + k * clients);
        need += 2 + 5 * 4 + 8 + strlen(ev->stream) + ev->envelope_len + strlen(ev->request_id) +
                ev->result_len;
    }
    if (need > c->copy_cap) {
        c->copy_cap = 0;
        for (int t = 0; t < 2; t++) {
            free(c->copy[t]);
            if (!(c->copy[t] = malloc(need)))
                return false;
        }
        c->copy_cap = need;
    }
    char *r = c->copy[0], *e = c->copy[1];
    memcpy(r, header, sizeof header);
    memcpy(e, header, sizeof header);
    r += sizeof header;
    e += sizeof header;
    for (size_t k = 0; k < n; k++) {
        const pe_event_t *ev = pe_set_at(c->set, first + k * clients);
        r = s_be(r, 2, 2);
        r = s_field(r, ev->request_id, strlen(ev->request_id));
        r = s_field(r, ev->result, ev->result_len);
        e = s_be(e, 3, 2);
        e = s_field(e, ev->stream, strlen(ev->stream));
        e = s_be(s_be(e, 8, 4), ev->version, 8);
        e = s_field(e, ev->envelope, ev->envelope_len);
    }
    r = s_be(r, 0xffff, 2); /* the trailer: a field count of -1 */
    e = s_be(e, 0xffff, 2);
    PGresult *res = PQexec(c->conn, "BEGIN");
    bool ok = s_ok(c, res, PGRES_COMMAND_OK);
    PQclear(res);
    ok = ok &&
         s_copy(c, "COPY requests (request_id, result) FROM STDIN (FORMAT binary)", c->copy[0],
                (size_t) (r - c->copy[0])) &&
         s_copy(c, "COPY events (stream, version, body) FROM STDIN (FORMAT binary)", c->copy[1],
                (size_t) (e - c->copy[1]));
    res = PQexec(c->conn, ok ? "COMMIT" : "ROLLBACK");
    ok = s_ok(c, res, PGRES_COMMAND_OK) && ok;
    PQclear(res);
    return ok;
}

static void *s_client_run(void *arg)
{
    s_client_t *c = arg;
    size_t n = pe_set_size(c->set), clients = (size_t) pe_set_clients(c->set);
    pthread_barrier_wait(c->go);
    for (size_t i = c->client; i < n;) {
        size_t k = c->way == PP_EACH ? 1 : (n - i + clients - 1) / clients;
        if (k > c->group)
            k = c->group;
        bool ok = c->way == PP_EACH      ? s_send(c, pe_set_at(c->set, i), false)
                  : c->way == PP_INSERTS ? s_txn(c, i, k, clients)
                                         : s_copy_txn(c, i, k, clients);
        if (!ok) {
            if (!c->err[0])
                snprintf(c->err, sizeof c->err, "%s", PQerrorMessage(c->conn));
            c->err[strcspn(c->err, "\n")] = '\0';
            break;
        }
        c->done += k;
        i += k * clients;
    }
    return NULL;
}

/* Opens the clients' connections and prepares their statement. */
static int s_clients_open(pp_t *self, s_client_t *cs, size_t clients, char *why, size_t whysz)
{
    for (size_t i = 0; i < clients; i++) {
        if (!(cs[i].conn = s_connect(self, why, whysz)))
            return -1;
        PGresult *res = PQprepare(cs[i].conn, "ev", s_insert, 5, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok || (cs[i].way == PP_INSERTS && PQenterPipelineMode(cs[i].conn) != 1)) {
            s_why(why, whysz, "prepare: %s", PQerrorMessage(cs[i].conn));
            why[strcspn(why, "\n")] = '\0';
            return -1;
        }
    }
    return 0;
}

/* The tables hold every event and request inserted so far. */
static int s_check(pp_t *self, char *why, size_t whysz)
{
    PGconn *conn = s_connect(self, why, whysz);
    PGresult *res = NULL;
    int rc =
        conn ? s_exec(conn, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM requests)",
                      PGRES_TUPLES_OK, &res, why, whysz)
             : -1;
    if (rc == 0) {
        unsigned long long events = strtoull(PQgetvalue(res, 0, 0), NULL, 10),
                           requests = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        if (events != self->events || requests != self->events) {
            s_why(why, whysz, "the tables hold %llu events and %llu requests, not %llu", events,
                  requests, (unsigned long long) self->events);
            rc = -1;
        }
        PQclear(res);
    }
    PQfinish(conn);
    return rc;
}

double pp_run(pp_t *self, const pe_set_t *set, pp_way_t way, size_t group, char *why, size_t whysz)
{
    size_t clients = (size_t) pe_set_clients(set), n = pe_set_size(set), done = 0;
    why[0] = '\0';
    if (clients > S_CLIENTS_MAX) {
        s_why(why, whysz, "%zu clients, more than the server's %d connections", clients,
              S_CLIENTS_MAX);
        return -1;
    }
    s_client_t *cs = calloc(clients, sizeof *cs);
    pthread_t *threads = calloc(clients, sizeof *threads);
    pthread_barrier_t go;
    size_t started = 0;
    double rate = -1;
    if (!cs || !threads) {
        s_why(why, whysz, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < clients; i++)
        cs[i] = (s_client_t){set, i, way, group < 1 ? 1 : group, NULL, {NULL, NULL}, 0, &go, 0, ""};
    if (s_clients_open(self, cs, clients, why, whysz) != 0)
        goto done;
    pthread_barrier_init(&go, NULL, (unsigned) clients + 1);
    for (; started < clients; started++)
        if (pthread_create(&threads[started], NULL, s_client_run, &cs[started]) != 0)
            break;
    if (started < clients) {
        /* cannot happen on this machine; the barrier would wait for ever */
        fprintf(stderr, "peer postgres: cannot start client threads\n");
        exit(1);
    }
    pthread_barrier_wait(&go);
    int64_t t0 = zclock_usecs();
    for (size_t i = 0; i < clients; i++)
        pthread_join(threads[i], NULL);
    int64_t took = zclock_usecs() - t0;
    pthread_barrier_destroy(&go);
    for (size_t i = 0; i < clients; i++) {
        done += cs[i].done;
        if (cs[i].err[0] && !why[0])
            s_why(why, whysz, "client %zu: %s", i, cs[i].err);
    }
    self->events += done;
    if (done != n) {
        if (!why[0])
            s_why(why, whysz, "only %zu of %zu events committed", done, n);
    }
    else if (s_check(self, why, whysz) == 0)
        rate = (double) n * 1e6 / (double) took;
done:
    for (size_t i = 0; cs && i < clients; i++) {
        PQfinish(cs[i].conn);
        free(cs[i].copy[0]);
        free(cs[i].copy[1]);
    }
    free(cs);
    free(threads);
    return rate;
}

#else /* built without libpq */

pp_t *pp_new(const char *base, char *why, size_t whysz)
{
    snprintf(why, whysz, "built without libpq (install libpq-dev, then meson setup again)");
    return NULL;
}

void pp_destroy(pp_t **self_p)
{
    if (self_p)
        *self_p = NULL;
}

void pp_describe(pp_t *self, char *out, size_t outsz)
{
    snprintf(out, outsz, "none");
}

double pp_run(pp_t *self, const pe_set_t *set, pp_way_t way, size_t group, char *why, size_t whysz)
{
    snprintf(why, whysz, "built without libpq");
    return -1;
}
#endif
