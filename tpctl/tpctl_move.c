/* tpctl_move.c: `tpctl log import DIR`: a service's embedded log (its data folder: the log,
 * its key store and its secret) moved into the service's streams on the JetStream cluster of
 * the config (store = jetstream); what import and export share (export: tpctl_export.c).
 *
 * Import writes the stream as the runtime would have written it (services/common/
 * svc_cluster.c): one group (evs_group.h) per message, each carrying the checkpoint
 * "$stream" = its stream sequence, appended with the stream's expected last sequence, so
 * that an instance started on the cluster builds its local copy from it as from any other
 * groups. The records go in their order, in groups of at most S_GROUP_BYTES or
 * S_GROUP_ITEMS items; then the request results and the upstream checkpoints, in further
 * groups. The keys of the data subjects and the service's secret go into the key stream
 * (evs_js_vault.h) first: the stream never holds an event whose key is not there yet, and
 * a run that fails while putting keys can be run again (a key stored twice is stored once).
 * Once a group is in, the stream is not empty and a second run is refused: an import is
 * never appended twice, and never resumed either (delete the stream and start again). */
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "evs.h"
#include "evs_group.h"
#include "evs_js.h"
#include "evs_js_vault.h"
#include "evs_vault.h"
#include "svc_lock.h"
#include "tpctl.h"

#define S_WRITER      "tpctl-import" /* the message ids' writer of an import */
#define S_GROUP_BYTES (512 * 1024)   /* a group's size at most (max_payload is 1 MiB) */
#define S_GROUP_ITEMS 1000           /* a group's items at most */
#define S_CKPT_ROOM   32             /* what the "$stream" checkpoint adds to a group */
#define S_KEYS_PUT    256            /* keys stored in the key stream per call */

void tpctl_moved_print(const tpctl_moved_t *m, const char *key, const char *where)
{
    char hash[EVS_HASH_SIZE * 2 + 1];
    sodium_bin2hex(hash, sizeof hash, m->head_hash, EVS_HASH_SIZE);
    json_t *j = json_object();
    json_object_set_new(j, "service", json_string(m->service));
    json_object_set_new(j, "stream", json_string(m->stream));
    json_object_set_new(j, "groups", json_integer((json_int_t) m->groups));
    json_object_set_new(j, "records", json_integer((json_int_t) m->records));
    json_object_set_new(j, "requests", json_integer((json_int_t) m->requests));
    json_object_set_new(j, "checkpoints", json_integer((json_int_t) m->checkpoints));
    json_object_set_new(j, "keys", json_integer((json_int_t) m->keys));
    json_object_set_new(j, "erased", json_integer((json_int_t) m->erased));
    json_object_set_new(j, "secretKey", json_boolean(m->secret));
    json_object_set_new(j, "headSeq", json_integer((json_int_t) m->head_seq));
    json_object_set_new(j, "headHash", json_string(hash));
    json_object_set_new(j, key, json_string(where));
    char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", line);
    free(line);
    json_decref(j);
}

bool tpctl_js_retry(int rc)
{
    return rc == EVS_JS_TIMEOUT || rc == EVS_JS_UNAVAILABLE;
}

int tpctl_js_connect(const char *config_path, const char *name, evs_js_t **js)
{
    zconfig_t *config = tpctl_system_config(config_path);
    if (!config)
        return -1;
    evs_js_opts_t o = {0};
    o.servers = svc_config_get(config, name, "js_servers", NULL);
    o.creds_file = svc_config_get(config, name, "js_creds", NULL);
    o.tls_ca = svc_config_get(config, name, "js_tls_ca", NULL);
    o.replicas = atoi(svc_config_get(config, name, "js_replicas", "3"));
    o.timeout_ms = atoi(svc_config_get(config, name, "js_timeout_ms", "1000"));
    o.name = "tpctl";
    int rc = -1;
    if (!o.servers)
        fprintf(stderr, "tpctl: the config names no cluster (js_servers; -c CONFIG, $TP_CONFIG "
                        "or var/tp.cfg)\n");
    else if ((rc = evs_js_connect(&o, js)) == 0 && (rc = evs_js_wait_ready(*js, 30000)) != 0)
        evs_js_destroy(js);
    if (rc != 0 && o.servers)
        fprintf(stderr, "tpctl: JetStream at %s: %s (%s)\n", o.servers, evs_js_strerror(rc),
                evs_js_error());
    zconfig_destroy(&config);
    return rc;
}

/* ------------------------------------------------------------------ import: groups */

typedef struct {
    evs_js_log_t *log;
    evs_group_t *group; /* the group being filled */
    uint64_t seq;       /* the stream sequence of the last group appended */
    tpctl_moved_t *m;
    int rc;
} s_import_t;

/* Appends the group being filled (with its "$stream" checkpoint) as stream group seq + 1. */
static int s_append(s_import_t *im)
{
    uint64_t seq = im->seq + 1;
    uint8_t *body = NULL;
    size_t len = 0;
    int rc = evs_group_add_checkpoint(im->group, TPCTL_STREAM_CKPT, seq, NULL);
    if (rc == 0)
        rc = evs_group_take(im->group, &body, &len);
    if (rc != 0) {
        fprintf(stderr, "tpctl: group %" PRIu64 ": %s\n", seq, evs_strerror(rc));
        return rc;
    }
    evs_js_ack_t ack = {0};
    rc = EVS_JS_TIMEOUT;
    int tries = 0;
    while (tpctl_js_retry(rc) && tries++ < TPCTL_JS_TRIES) {
        if (tries > 1)
            zclock_sleep(250);
        rc = evs_js_append_raw(im->log, S_WRITER, seq, seq - 1, body, len, &ack);
        /* the same group found stored: ours when an earlier try of this call may have
         * stored it, another import's at the first try (the same message id) */
        if (rc == 0 && ack.duplicate && tries == 1) {
            fprintf(stderr,
                    "tpctl: group %" PRIu64 " of %s was stored by another import "
                    "meanwhile: stopped\n",
                    seq, evs_js_log_stream(im->log));
            rc = EVS_CONFLICT;
        }
    }
    free(body);
    if (rc == 0 && ack.seq != seq) {
        fprintf(stderr, "tpctl: group %" PRIu64 " was stored as %" PRIu64 "\n", seq, ack.seq);
        rc = EVS_CORRUPT;
    }
    else if (rc != 0 && rc != EVS_CONFLICT)
        fprintf(stderr, "tpctl: appending group %" PRIu64 " to %s: %s (%s)\n", seq,
                evs_js_log_stream(im->log), evs_js_strerror(rc), evs_js_error());
    else if (rc == EVS_CONFLICT && !ack.duplicate)
        fprintf(stderr,
                "tpctl: %s got another group %" PRIu64 " meanwhile (another writer): "
                "stopped\n",
                evs_js_log_stream(im->log), seq);
    if (rc == 0) {
        im->seq = seq;
        im->m->groups++;
    }
    return rc;
}

/* Makes room for an item of @p bytes: appends the group first when it would pass a limit. */
static int s_room(s_import_t *im, size_t bytes)
{
    size_t n = evs_group_count(im->group);
    if (n == 0 ||
        (evs_group_size(im->group) + bytes + S_CKPT_ROOM <= S_GROUP_BYTES && n + 1 < S_GROUP_ITEMS))
        return 0;
    return s_append(im);
}

/* Appends what the group holds, if anything (at the end of a kind of items). */
static int s_flush(s_import_t *im)
{
    return evs_group_count(im->group) ? s_append(im) : 0;
}

static int s_import_record(const evs_record_t *rec, void *arg)
{
    s_import_t *im = arg;
    int rc = s_room(im, 5 + rec->len);
    if (rc == 0 && (rc = evs_group_add_record(im->group, rec->data, rec->len)) != 0)
        fprintf(stderr, "tpctl: record %" PRIu64 ": %s\n", rec->seq, evs_strerror(rc));
    im->m->records += rc == 0;
    return im->rc = rc;
}

static int s_import_request(const char *id, const uint8_t *result, size_t len, void *arg)
{
    s_import_t *im = arg;
    int rc = s_room(im, 6 + strlen(id) + len);
    if (rc == 0 && (rc = evs_group_add_request(im->group, id, result, len)) != 0)
        fprintf(stderr, "tpctl: request %s: %s\n", id, evs_strerror(rc));
    im->m->requests += rc == 0;
    return im->rc = rc;
}

static int s_import_checkpoint(const char *upstream, uint64_t seq, const uint8_t *hash, void *arg)
{
    s_import_t *im = arg;
    if (streq(upstream, TPCTL_STREAM_CKPT))
        return 0;
    int rc = s_room(im, 11 + strlen(upstream) + EVS_HASH_SIZE);
    if (rc == 0 && (rc = evs_group_add_checkpoint(im->group, upstream, seq, hash)) != 0)
        fprintf(stderr, "tpctl: checkpoint %s: %s\n", upstream, evs_strerror(rc));
    im->m->checkpoints += rc == 0;
    return im->rc = rc;
}

/* The records, then the request results and the checkpoints, into the empty stream. */
static int s_import_log(evs_t *store, evs_js_log_t *log, tpctl_moved_t *m)
{
    s_import_t im = {log, evs_group_new(), 0, m, 0};
    if (!im.group)
        return -ENOMEM;
    const char *what = "the records";
    int rc = evs_read(store, 1, UINT64_MAX, 0, s_import_record, &im);
    if (rc == 0)
        rc = s_flush(&im);
    if (rc == 0) {
        what = "the request results";
        rc = evs_requests_each(store, s_import_request, &im);
    }
    if (rc == 0) {
        what = "the checkpoints";
        rc = evs_checkpoints_each(store, s_import_checkpoint, &im);
    }
    if (rc == 0)
        rc = s_flush(&im);
    if (rc != 0 && rc != im.rc) /* the log's own failure (a callback's is said) */
        fprintf(stderr, "tpctl: reading %s of the log: %s\n", what, evs_strerror(rc));
    evs_group_destroy(&im.group);
    return rc;
}

/* ------------------------------------------------------------------ import: keys */

/* The subjects of a key store, with a key and erased. */
typedef struct {
    zlist_t *keyed;
    zlist_t *erased;
} s_subjects_t;

static int s_subject(const char *subject, bool erased, int64_t erased_at_us, const char *reason,
                     void *arg)
{
    (void) erased_at_us;
    (void) reason;
    s_subjects_t *s = arg;
    char *copy = strdup(subject);
    if (!copy || zlist_append(erased ? s->erased : s->keyed, copy) != 0) {
        free(copy);
        return -ENOMEM;
    }
    return 0;
}

/* Stores @p n keys in the key stream, trying again while it does not answer. */
static int s_put(evs_js_vault_t *kv, const char *const *subjects,
                 const uint8_t (*keys)[EVS_VAULT_KEY_SIZE], size_t n)
{
    int rc = EVS_JS_TIMEOUT;
    for (int tries = 0; tpctl_js_retry(rc) && tries < TPCTL_JS_TRIES; tries++) {
        if (tries)
            zclock_sleep(250);
        rc = evs_js_vault_put(kv, subjects, keys, n);
    }
    if (rc != 0)
        fprintf(stderr, "tpctl: storing keys in %s: %s (%s)\n", evs_js_vault_stream(kv),
                evs_js_strerror(rc), evs_js_error());
    return rc;
}

/* Every key of @p vault into the key stream, S_KEYS_PUT at a time, then every erased
 * subject erased there. */
static int s_import_keys(evs_vault_t *vault, evs_js_vault_t *kv, tpctl_moved_t *m)
{
    s_subjects_t s = {zlist_new(), zlist_new()};
    const char **subjects = calloc(S_KEYS_PUT, sizeof *subjects);
    uint8_t(*keys)[EVS_VAULT_KEY_SIZE] = sodium_malloc(S_KEYS_PUT * EVS_VAULT_KEY_SIZE);
    int rc = -ENOMEM;
    if (s.keyed && s.erased && subjects && keys) {
        zlist_autofree(s.keyed);
        zlist_autofree(s.erased);
        rc = evs_vault_each(vault, s_subject, &s);
        if (rc != 0)
            fprintf(stderr, "tpctl: reading the key store: %s\n", evs_strerror(rc));
    }
    size_t n = 0;
    for (char *sub = rc == 0 ? zlist_first(s.keyed) : NULL; sub; sub = zlist_next(s.keyed)) {
        if ((rc = evs_vault_get(vault, sub, keys[n], NULL)) != 0) {
            fprintf(stderr, "tpctl: the key of %s: %s\n", sub, evs_strerror(rc));
            break;
        }
        subjects[n++] = sub;
        if (n == S_KEYS_PUT) {
            if ((rc = s_put(kv, subjects, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) keys, n)) != 0)
                break;
            m->keys += n;
            n = 0;
        }
    }
    if (rc == 0 && n) {
        if ((rc = s_put(kv, subjects, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) keys, n)) == 0)
            m->keys += n;
    }
    for (char *sub = rc == 0 ? zlist_first(s.erased) : NULL; sub; sub = zlist_next(s.erased)) {
        rc = EVS_JS_TIMEOUT;
        for (int tries = 0; tpctl_js_retry(rc) && tries < TPCTL_JS_TRIES; tries++) {
            if (tries)
                zclock_sleep(250);
            rc = evs_js_vault_erase(kv, sub);
        }
        if (rc != 0) {
            fprintf(stderr, "tpctl: erasing %s in %s: %s (%s)\n", sub, evs_js_vault_stream(kv),
                    evs_js_strerror(rc), evs_js_error());
            break;
        }
        m->erased++;
    }
    if (keys)
        sodium_free(keys);
    free(subjects);
    zlist_destroy(&s.keyed);
    zlist_destroy(&s.erased);
    return rc;
}

/* Reads the secret in @p path (SVC_SECRET_SIZE bytes); -ENOENT when there is none. */
static int s_secret_read(const char *path, uint8_t secret[SVC_SECRET_SIZE])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? -errno : 0;
    if (rc == 0 && st.st_size != SVC_SECRET_SIZE)
        rc = EVS_CORRUPT;
    if (rc == 0 && read(fd, secret, SVC_SECRET_SIZE) != SVC_SECRET_SIZE)
        rc = -EIO;
    close(fd);
    return rc;
}

/* The secret of @p dir into the key stream as "secret:<name>", as the runtime keeps it. */
static int s_import_secret(const char *dir, const char *name, evs_js_vault_t *kv, tpctl_moved_t *m)
{
    char path[PATH_MAX], subject[EVS_JS_MAX_NAME + 16];
    snprintf(path, sizeof path, "%s/secret.key", dir);
    snprintf(subject, sizeof subject, "secret:%s", name);
    _Static_assert(SVC_SECRET_SIZE == EVS_VAULT_KEY_SIZE, "the secret is kept as a key");
    uint8_t secret[SVC_SECRET_SIZE];
    int rc = s_secret_read(path, secret);
    if (rc == -ENOENT) {
        fprintf(stderr,
                "tpctl: %s has no secret.key: the first instance makes one, and the "
                "links in mails sent before stop working\n",
                dir);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "tpctl: %s: %s\n", path,
                rc == EVS_CORRUPT ? "not a secret of 32 bytes" : evs_strerror(rc));
        return rc;
    }
    const char *one[1] = {subject};
    rc = s_put(kv, one, (const uint8_t(*)[EVS_VAULT_KEY_SIZE]) secret, 1);
    sodium_memzero(secret, sizeof secret);
    if (rc == EVS_CONFLICT)
        fprintf(stderr,
                "tpctl: the cluster keeps another secret of %s (an instance started "
                "there before the import made its own)\n",
                name);
    m->secret = rc == 0;
    return rc;
}

/* ------------------------------------------------------------------ import */

static int s_import(const char *dir, const char *name, const char *config_path)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "tpctl: no log in %s\n", dir);
        return 1;
    }
    /* the service's own lock: the log does not change while it is read */
    char why[1400];
    svc_lock_t *lock = svc_lock_dir(dir, why, sizeof why);
    if (!lock) {
        fprintf(stderr, "tpctl: not importing: %s\n", why);
        return 1;
    }
    evs_t *store = NULL;
    evs_vault_t *vault = NULL;
    evs_js_t *js = NULL;
    evs_js_log_t *log = NULL;
    evs_js_vault_t *kv = NULL;
    evs_stat_t st;
    tpctl_moved_t m = {0};
    uint64_t have = 0;
    evs_opts_t opts = {.flags = EVS_RDONLY};
    int rc = evs_open(dir, &opts, &store);
    if (rc == 0)
        rc = evs_stat(store, &st);
    if (rc == 0)
        rc = evs_checkpoint(store, TPCTL_STREAM_CKPT, &have);
    if (rc != 0)
        fprintf(stderr, "tpctl: the log in %s: %s\n", dir, evs_strerror(rc));
    else if (have) {
        fprintf(stderr,
                "tpctl: %s is the local copy of a stream (up to its group %" PRIu64
                "), not an embedded log: nothing imported\n",
                dir, have);
        rc = EVS_MISMATCH;
    }
    else if (!name && !*st.service) {
        fprintf(stderr, "tpctl: the log in %s names no service: give --name\n", dir);
        rc = EVS_INVALID;
    }
    if (rc == 0) {
        name = name ? name : st.service;
        snprintf(path, sizeof path, "%s/" EVS_VAULT_DIR, dir);
        rc = evs_vault_open(path, true, &vault);
        if (rc == -ENOENT)
            rc = 0; /* no key store: no personal data */
        else if (rc != 0)
            fprintf(stderr, "tpctl: the key store in %s: %s\n", path, evs_strerror(rc));
    }
    if (rc == 0)
        rc = tpctl_js_connect(config_path, name, &js);
    evs_js_info_t info = {0};
    if (rc == 0) {
        rc = evs_js_log_open(js, name, EVS_JS_CREATE, &log);
        if (rc == 0)
            rc = evs_js_log_info(log, &info);
        if (rc == 0)
            rc = evs_js_vault_open(js, name, EVS_JS_CREATE, &kv);
        if (rc != 0)
            fprintf(stderr, "tpctl: the streams of %s: %s (%s)\n", name, evs_js_strerror(rc),
                    evs_js_error());
    }
    if (rc == 0 && info.last_seq) {
        fprintf(stderr,
                "tpctl: the stream %s already holds %" PRIu64 " groups: nothing "
                "imported (a log is imported into an empty stream only)\n",
                evs_js_log_stream(log), info.groups);
        rc = EVS_CONFLICT;
    }
    /* the keys first: the stream never holds an event whose key is not in the cluster */
    if (rc == 0 && vault)
        rc = s_import_keys(vault, kv, &m);
    if (rc == 0)
        rc = s_import_secret(dir, name, kv, &m);
    if (rc == 0) {
        m.service = st.service;
        m.stream = evs_js_log_stream(log);
        m.head_seq = st.head_seq;
        memcpy(m.head_hash, st.head_hash, EVS_HASH_SIZE);
        rc = s_import_log(store, log, &m);
        if (rc != 0 && m.groups)
            fprintf(stderr,
                    "tpctl: import stopped after %" PRIu64 " groups: the stream %s is "
                    "no longer empty, and an import into it is refused (delete it to "
                    "start again)\n",
                    m.groups, evs_js_log_stream(log));
    }
    if (rc == 0)
        tpctl_moved_print(&m, "dir", dir);
    evs_js_vault_destroy(&kv);
    evs_js_log_destroy(&log);
    evs_js_destroy(&js);
    evs_vault_close(&vault);
    evs_destroy(&store);
    svc_lock_destroy(&lock);
    return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ the commands */

int tpctl_log_move(int argc, char **argv, const char *config_path)
{
    bool import = argc > 0 && streq(argv[0], "import");
    const char *dir = NULL, *name = NULL, *service = NULL;
    bool bad = argc < 2;
    for (int i = 1; i < argc && !bad; i++) {
        if (streq(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else if (!import && streq(argv[i], "--service") && i + 1 < argc)
            service = argv[++i];
        else if (argv[i][0] == '-' || dir)
            bad = true;
        else
            dir = argv[i];
    }
    if (bad || !dir) {
        fprintf(stderr, "usage: tpctl log import DIR [--name NAME], "
                        "tpctl log export DIR [--name NAME] [--service SERVICE]\n");
        return 2;
    }
    return import ? s_import(dir, name, config_path)
                  : tpctl_log_export(dir, name, service, config_path);
}
