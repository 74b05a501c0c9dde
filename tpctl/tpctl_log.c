/* tpctl_log.c: `tpctl log dump|verify|stats|replay` over a service's event log (backup
 * and restore: tpctl_backup.c). */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "evs.h"
#include "evs_vault.h"
#include "evs_witness.h"
#include "pbj.h"
#include "tp.pb-c.h"
#include "tp_types.h"
#include "tpctl.h"

typedef struct {
    const char *dir;
    uint64_t from, to;
    const char *stream;
    const char *type;
    const char *service;
    uint64_t to_seq;
    int64_t to_time;
    size_t top_streams;
    const char **witnesses;   /* verify: the logs that witness this one */
    size_t n_witnesses;
    const char *keys;         /* verify: the keys folder the witness keys are taken from */
    const char *vault;        /* dump, replay: the key store that opens personal fields */
} s_opts_t;

static int s_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return -1;
    *out = v;
    return 0;
}

/* RFC 3339 UTC ("2026-11-26T12:00:00Z", optional fraction) or microseconds. */
static int s_parse_time(const char *s, int64_t *out)
{
    uint64_t us;
    if (s_parse_u64(s, &us) == 0) {
        *out = (int64_t) us;
        return 0;
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    int64_t frac = 0;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 6)
                frac = frac * 10 + (*rest - '0');
        for (; digits < 6; digits++)
            frac *= 10;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -1;
    *out = (int64_t) timegm(&tm) * 1000000 + frac;
    return 0;
}

static void s_format_time(int64_t us, char *out, size_t outsz)
{
    time_t secs = (time_t) (us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%06" PRId64 "Z", base, us % 1000000);
}

static int s_open(const char *dir, evs_t **store)
{
    evs_opts_t opts = {.flags = EVS_RDONLY};
    int rc = evs_open(dir, &opts, store);
    if (rc != 0)
        fprintf(stderr, "tpctl: cannot open the log in %s: %s\n", dir, evs_strerror(rc));
    return rc;
}

/* ------------------------------------------------------------------ dump */

typedef struct {
    const s_opts_t *o;
    const char *service;
    uint64_t printed;
    evs_vault_t *vault;       /* NULL: personal fields shown sealed */
} s_dump_t;

/* Opens the key store named by --vault (read-only); 0 when none was named. */
static int s_open_vault(const s_opts_t *o, evs_vault_t **vault)
{
    *vault = NULL;
    if (!o->vault)
        return 0;
    int rc = evs_vault_open(o->vault, true, vault);
    if (rc != 0)
        fprintf(stderr, "tpctl: cannot open the key store in %s: %s\n", o->vault,
                evs_strerror(rc));
    return rc;
}

static json_t *s_hex(const uint8_t *data, size_t len)
{
    char *hex = malloc(len * 2 + 1);
    if (!hex)
        return json_null();
    sodium_bin2hex(hex, len * 2 + 1, data, len);
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

static int s_dump_one(const evs_record_t *rec, void *arg)
{
    s_dump_t *d = arg;
    Tp__Envelope *env = tp__envelope__unpack(NULL, rec->len, rec->data);
    if (!env) {
        printf("{\"seq\":%" PRIu64 ",\"error\":\"record does not decode\"}\n", rec->seq);
        return 0;
    }
    if ((d->o->stream && strcmp(env->stream_id, d->o->stream) != 0) ||
        (d->o->type && strcmp(env->event_type, d->o->type) != 0)) {
        tp__envelope__free_unpacked(env, NULL);
        return 0;
    }
    char when[48];
    s_format_time(env->recorded_at_us, when, sizeof when);
    json_t *j = json_object();
    json_object_set_new(j, "seq", json_integer((json_int_t) env->seq));
    json_object_set_new(j, "stream", json_string(env->stream_id));
    json_object_set_new(j, "version", json_integer((json_int_t) env->stream_version));
    json_object_set_new(j, "type", json_string(env->event_type));
    json_object_set_new(j, "id", json_string(env->event_id));
    json_object_set_new(j, "recordedAt", json_string(when));
    if (*env->correlation_id)
        json_object_set_new(j, "correlationId", json_string(env->correlation_id));
    if (*env->causation_id)
        json_object_set_new(j, "causationId", json_string(env->causation_id));
    if (*env->actor)
        json_object_set_new(j, "actor", json_string(env->actor));
    const ProtobufCMessageDescriptor *desc = tp_types_find(d->service, env->event_type);
    uint8_t *opened = NULL;
    size_t opened_len = 0;
    if (desc && d->vault) {
        char ad[3 * EVS_MAX_ID + 64];
        svc_seal_event_ad(ad, sizeof ad, env->event_id, strlen(env->event_id), env->stream_id,
                          strlen(env->stream_id), env->event_type, strlen(env->event_type));
        if (svc_unseal(desc, env->payload.data, env->payload.len, ad, svc_vault_key, d->vault,
                       &opened, &opened_len, NULL) != 0)
            json_object_set_new(j, "error", json_string("personal fields do not open"));
    }
    json_t *payload =
        desc ? pbj_bytes_to_json(desc, opened ? opened : env->payload.data,
                                 opened ? opened_len : env->payload.len, 0)
             : NULL;
    free(opened);
    if (payload)
        json_object_set_new(j, "payload", payload);
    else
        json_object_set_new(j, "payloadHex", s_hex(env->payload.data, env->payload.len));
    json_object_set_new(j, "prevHash", s_hex(env->prev_hash.data, env->prev_hash.len));
    json_object_set_new(j, "hash", s_hex(env->hash.data, env->hash.len));
    char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) {
        fputs(line, stdout);
        fputc('\n', stdout);
        free(line);
    }
    json_decref(j);
    tp__envelope__free_unpacked(env, NULL);
    d->printed++;
    return ferror(stdout) ? -EIO : 0;
}

static int s_dump(const s_opts_t *o)
{
    evs_t *store = NULL;
    if (s_open(o->dir, &store) != 0)
        return 1;
    evs_stat_t st;
    const char *service = o->service;
    if (!service && evs_stat(store, &st) == 0 && st.service[0])
        service = st.service;
    s_dump_t d = {o, service, 0, NULL};
    if (s_open_vault(o, &d.vault) != 0) {
        evs_destroy(&store);
        return 1;
    }
    int rc = evs_read(store, o->from ? o->from : 1, o->to ? o->to : UINT64_MAX, 0, s_dump_one,
                      &d);
    evs_vault_close(&d.vault);
    evs_destroy(&store);
    if (rc != 0) {
        fprintf(stderr, "tpctl: dump stopped: %s\n", evs_strerror(rc));
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ verify */

/* Checks the log @p store (of @p service) against what @p wdir recorded of it; adds the
 * witness's entry to @p list. Returns 0 when it agrees, 1 when it contradicts the log,
 * -1 when it cannot be read (said on stderr). */
static int s_witness(const s_opts_t *o, evs_t *store, const char *service, const char *wdir,
                     json_t *list)
{
    evs_t *wstore = NULL;
    if (s_open(wdir, &wstore) != 0)
        return -1;
    evs_stat_t wst;
    uint8_t key[EVS_WITNESS_PK];
    bool keyed = o->keys && evs_witness_public(o->keys, service, key) == 0;
    if (o->keys && !keyed) {
        fprintf(stderr, "tpctl: %s/%s.pub names no witness key\n", o->keys, service);
        evs_destroy(&wstore);
        return -1;
    }
    evs_witness_report_t rep;
    int rc = evs_stat(wstore, &wst);
    if (rc == 0)
        rc = evs_witness_check_log(store, service, wstore, keyed ? key : NULL, &rep);
    evs_destroy(&wstore);
    if (rc != 0) {
        fprintf(stderr, "tpctl: cannot read the witness %s: %s\n", wdir, evs_strerror(rc));
        return -1;
    }
    json_t *w = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "dir", wdir, "service", wst.service,
                          "heads", (json_int_t) rep.heads, "agreed", (json_int_t) rep.checked,
                          "newestSeq", (json_int_t) rep.newest, "checkpoint",
                          (json_int_t) rep.checkpoint);
    if (rep.contradicted)
        json_object_set_new(w, "contradiction", json_string(rep.reason));
    json_array_append_new(list, w);
    if (rep.contradicted)
        fprintf(stderr, "tpctl: the log of %s in %s is contradicted by the witness %s (%s): %s\n",
                service, o->dir, wdir, wst.service, rep.reason);
    else if (!rep.heads && !rep.checkpoint) {
        fprintf(stderr, "tpctl: the witness %s (%s) holds nothing of %s: not one of its "
                        "followers, or the wrong folder\n", wdir, wst.service, service);
        return -1;
    }
    return rep.contradicted ? 1 : 0;
}

static int s_verify(const s_opts_t *o)
{
    evs_t *store = NULL;
    if (s_open(o->dir, &store) != 0)
        return 1;
    evs_verify_t rep;
    evs_stat_t st;
    int rc = evs_verify(store, &rep);
    if (rc == 0)
        rc = evs_stat(store, &st);
    if (rc == 0) {
        /* the chain is whole; then what the witnesses recorded of it */
        json_t *list = json_array();
        int worst = 0;
        for (size_t i = 0; i < o->n_witnesses; i++) {
            /* a contradiction (1) outweighs a witness that could not be used (-1) */
            int w = s_witness(o, store, st.service, o->witnesses[i], list);
            worst = w > 0 || worst > 0 ? 1 : (w < 0 ? -1 : worst);
        }
        json_t *j = json_pack("{s:b,s:I}", "ok", worst == 0, "checked", (json_int_t) rep.checked);
        if (o->n_witnesses) {
            json_object_set_new(j, "service", json_string(st.service));
            json_object_set_new(j, "headSeq", json_integer((json_int_t) st.head_seq));
            json_object_set_new(j, "witnesses", list);
        }
        else
            json_decref(list);
        char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", line);
        free(line);
        json_decref(j);
        evs_destroy(&store);
        return worst == 0 ? 0 : (worst > 0 ? 1 : 2);
    }
    evs_destroy(&store);
    if (rc == EVS_CORRUPT) {
        json_t *j = json_pack("{s:b,s:I,s:I,s:s}", "ok", 0, "checked", (json_int_t) rep.checked,
                              "badSeq", (json_int_t) rep.bad_seq, "reason", rep.reason);
        char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", line);
        free(line);
        json_decref(j);
        fprintf(stderr, "tpctl: log damaged at seq %" PRIu64 ": %s\n", rep.bad_seq, rep.reason);
        return 1;
    }
    fprintf(stderr, "tpctl: verify failed: %s\n", evs_strerror(rc));
    return 1;
}

/* ------------------------------------------------------------------ stats */

typedef struct {
    zhashx_t *types;     /* type -> count (uint64_t stored in the pointer) */
    zhashx_t *streams;   /* stream -> count */
    uint64_t events;
    uint64_t bytes;
} s_stats_t;

static void s_count(zhashx_t *h, const char *key, size_t len)
{
    char k[EVS_MAX_ID + 1];
    if (len > EVS_MAX_ID)
        len = EVS_MAX_ID;
    memcpy(k, key, len);
    k[len] = '\0';
    uintptr_t n = (uintptr_t) zhashx_lookup(h, k);
    if (n)
        zhashx_update(h, k, (void *) (n + 1));
    else
        zhashx_insert(h, k, (void *) (uintptr_t) 1);
}

static int s_stats_one(const evs_record_t *rec, void *arg)
{
    s_stats_t *s = arg;
    evs_view_t v;
    if (evs_view(rec->data, rec->len, &v) != 0)
        return EVS_CORRUPT;
    s_count(s->types, v.event_type, v.event_type_len);
    s_count(s->streams, v.stream_id, v.stream_id_len);
    s->events++;
    s->bytes += rec->len;
    return 0;
}

static int s_stats(const s_opts_t *o)
{
    evs_t *store = NULL;
    if (s_open(o->dir, &store) != 0)
        return 1;
    s_stats_t s = {zhashx_new(), zhashx_new(), 0, 0};
    evs_stat_t st;
    int rc = evs_stat(store, &st);
    if (rc == 0)
        rc = evs_read(store, 1, st.head_seq, 0, s_stats_one, &s);
    /* how far this service has read the others (to compare with their heads, e.g.
     * after one of them was restored from a backup) */
    json_t *checkpoints = json_object();
    for (size_t i = 0; rc == 0 && tpctl_service_names[i]; i++) {
        uint64_t cp = 0;
        const char *up = tpctl_service_names[i];
        if (evs_checkpoint(store, up, &cp) == 0 && cp > 0)
            json_object_set_new(checkpoints, up, json_integer((json_int_t) cp));
    }
    evs_destroy(&store);
    if (rc != 0) {
        fprintf(stderr, "tpctl: stats failed: %s\n", evs_strerror(rc));
        json_decref(checkpoints);
        zhashx_destroy(&s.types);
        zhashx_destroy(&s.streams);
        return 1;
    }
    json_t *j = json_object();
    json_object_set_new(j, "service", json_string(st.service));
    json_object_set_new(j, "headSeq", json_integer((json_int_t) st.head_seq));
    json_object_set_new(j, "headHash", s_hex(st.head_hash, EVS_HASH_SIZE));
    json_object_set_new(j, "events", json_integer((json_int_t) s.events));
    json_object_set_new(j, "eventBytes", json_integer((json_int_t) s.bytes));
    json_object_set_new(j, "streams", json_integer((json_int_t) st.streams));
    json_object_set_new(j, "requests", json_integer((json_int_t) st.requests));
    json_object_set_new(j, "mapSize", json_integer((json_int_t) st.map_size));
    json_object_set_new(j, "usedBytes", json_integer((json_int_t) st.used_bytes));
    json_t *types = json_object();
    for (void *n = zhashx_first(s.types); n; n = zhashx_next(s.types))
        json_object_set_new(types, zhashx_cursor(s.types), json_integer((json_int_t) (uintptr_t) n));
    json_object_set_new(j, "types", types);
    json_object_set_new(j, "checkpoints", checkpoints);
    /* the largest streams: a partial selection, O(streams * top) */
    json_t *top = json_array();
    size_t want = o->top_streams;
    while (want-- > 0 && zhashx_size(s.streams) > 0) {
        const char *best = NULL;
        uintptr_t best_n = 0;
        for (void *n = zhashx_first(s.streams); n; n = zhashx_next(s.streams)) {
            if ((uintptr_t) n > best_n) {
                best_n = (uintptr_t) n;
                best = zhashx_cursor(s.streams);
            }
        }
        json_array_append_new(top, json_pack("{s:s,s:I}", "stream", best, "events",
                                             (json_int_t) best_n));
        zhashx_delete(s.streams, best);
    }
    json_object_set_new(j, "largestStreams", top);
    char *out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", out);
    free(out);
    json_decref(j);
    zhashx_destroy(&s.types);
    zhashx_destroy(&s.streams);
    return 0;
}

/* ------------------------------------------------------------------ replay */

typedef struct {
    uint64_t head;
    int64_t started;
    bool tty;
} s_progress_t;

static void s_progress(uint64_t seq, void *arg)
{
    s_progress_t *p = arg;
    if (!p->tty || !p->head)
        return;
    int width = 40;
    int filled = (int) ((double) seq / (double) p->head * width);
    if (filled > width)
        filled = width;
    fprintf(stderr, "\r[%.*s%*s] %" PRIu64 "/%" PRIu64, filled,
            "########################################", width - filled, "", seq, p->head);
    fflush(stderr);
}

static int s_replay(const s_opts_t *o)
{
    evs_t *store = NULL;
    if (s_open(o->dir, &store) != 0)
        return 1;
    evs_stat_t st;
    int rc = evs_stat(store, &st);
    const char *name = o->service ? o->service : (rc == 0 ? st.service : NULL);
    const svc_def_t *def = tpctl_service(name);
    if (!def) {
        fprintf(stderr, "tpctl: no service core named '%s' (use --service)\n", name ? name : "");
        evs_destroy(&store);
        return 2;
    }
    s_progress_t prog = {st.head_seq, zclock_usecs(), isatty(2)};
    void *state = def->state_new();
    if (def->configure)
        def->configure(state, NULL, def->name);
    uint64_t applied = 0;
    evs_vault_t *vault = NULL;
    if (s_open_vault(o, &vault) != 0) {
        def->state_destroy(&state);
        evs_destroy(&store);
        return 1;
    }
    svc_keys_t keys = {svc_vault_key, vault};
    int64_t t0 = zclock_usecs();
    rc = svc_rebuild(def, state, store, o->to_seq ? o->to_seq : UINT64_MAX,
                     o->to_time ? o->to_time : INT64_MAX, &applied, s_progress, &prog,
                     vault ? &keys : NULL);
    evs_vault_close(&vault);
    int64_t took = zclock_usecs() - t0;
    if (prog.tty)
        fprintf(stderr, "\r%60s\r", "");
    evs_destroy(&store);
    if (rc != 0) {
        fprintf(stderr, "tpctl: replay failed after %" PRIu64 " events: %s\n", applied,
                evs_strerror(rc));
        def->state_destroy(&state);
        return 1;
    }
    char *summary = def->summary ? def->summary(state) : NULL;
    json_error_t jerr;
    json_t *sj = summary ? json_loads(summary, 0, &jerr) : NULL;
    json_t *j = json_object();
    json_object_set_new(j, "service", json_string(def->name));
    json_object_set_new(j, "applied", json_integer((json_int_t) applied));
    json_object_set_new(j, "headSeq", json_integer((json_int_t) st.head_seq));
    json_object_set_new(j, "seconds", json_real((double) took / 1e6));
    json_object_set_new(j, "eventsPerSecond",
                        json_real(took > 0 ? (double) applied * 1e6 / (double) took : 0));
    json_object_set_new(j, "state", sj ? sj : json_null());
    char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", line);
    free(line);
    json_decref(j);
    free(summary);
    def->state_destroy(&state);
    (void) prog.started;
    return 0;
}

/* ------------------------------------------------------------------ dispatch */

int tpctl_log(int argc, char **argv, const char *config_path)
{
    if (argc >= 1 && (streq(argv[0], "import") || streq(argv[0], "export")))
        return tpctl_log_move(argc, argv, config_path);
    if (argc >= 1 && streq(argv[0], "backup"))
        return tpctl_log_backup(argc - 1, argv + 1);
    if (argc >= 1 && streq(argv[0], "restore"))
        return tpctl_log_restore(argc - 1, argv + 1);
    if (argc < 2) {
        fprintf(stderr, "usage: tpctl log dump|verify|stats|replay DIR [options], "
                        "tpctl log backup DIR DEST, tpctl log restore SRC DIR [--replace],\n"
                        "       tpctl [-c CONFIG] log import|export DIR [--name NAME]\n");
        return 2;
    }
    const char *sub = argv[0];
    s_opts_t o = {0};
    o.dir = argv[1];
    o.top_streams = 20;
    o.witnesses = calloc((size_t) argc, sizeof *o.witnesses);
    if (!o.witnesses)
        return 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (streq(a, "--witnesses") && v && strncmp(v, "--", 2) != 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                o.witnesses[o.n_witnesses++] = argv[++i];
            continue;
        }
        if (!v) {
            fprintf(stderr, "tpctl: option %s needs a value\n", a);
            free(o.witnesses);
            return 2;
        }
        i++;
        if (streq(a, "--from") && s_parse_u64(v, &o.from) == 0)
            continue;
        if (streq(a, "--to") && s_parse_u64(v, &o.to) == 0)
            continue;
        if (streq(a, "--to-seq") && s_parse_u64(v, &o.to_seq) == 0)
            continue;
        if (streq(a, "--streams") && s_parse_u64(v, &n) == 0) {
            o.top_streams = (size_t) n;
            continue;
        }
        if (streq(a, "--to-time") && s_parse_time(v, &o.to_time) == 0)
            continue;
        if (streq(a, "--stream")) {
            o.stream = v;
            continue;
        }
        if (streq(a, "--type")) {
            o.type = v;
            continue;
        }
        if (streq(a, "--service")) {
            o.service = v;
            continue;
        }
        if (streq(a, "--keys")) {
            o.keys = v;
            continue;
        }
        if (streq(a, "--vault")) {
            o.vault = v;
            continue;
        }
        fprintf(stderr, "tpctl: bad option or value: %s %s\n", a, v);
        free(o.witnesses);
        return 2;
    }
    int rc = 2;
    if (o.keys && !o.n_witnesses)
        fprintf(stderr, "tpctl: --keys goes with --witnesses\n");
    else if (streq(sub, "dump"))
        rc = s_dump(&o);
    else if (streq(sub, "verify"))
        rc = s_verify(&o);
    else if (streq(sub, "stats"))
        rc = s_stats(&o);
    else if (streq(sub, "replay"))
        rc = s_replay(&o);
    else
        fprintf(stderr, "tpctl: unknown log command '%s'\n", sub);
    free(o.witnesses);
    return rc;
}
