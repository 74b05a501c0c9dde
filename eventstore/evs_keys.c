/* evs_keys.c: key files, keyrings and the process's ZAP handler (see evs_keys.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "evs_keys.h"
#include "evs_witness.h"

/* ------------------------------------------------------------------ identities */

int evs_peer_from_stem(const char *stem, evs_peer_t *peer)
{
    memset(peer, 0, sizeof *peer);
    size_t n = stem ? strlen(stem) : 0;
    if (n == 0 || n >= EVS_KEYS_STEM_MAX || stem[0] == '-' || stem[0] == '_')
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = stem[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return -1;
    }
    static const struct {
        const char *prefix;
        evs_peer_kind_t kind;
    } kinds[] = {{"operator-", EVS_PEER_OPERATOR},
                 {"producer-", EVS_PEER_PRODUCER},
                 {"ident-", EVS_PEER_IDENT}};
    memcpy(peer->stem, stem, n + 1);
    peer->kind = EVS_PEER_SERVICE;
    peer->name = peer->stem;
    if (streq(stem, "gateway"))
        peer->kind = EVS_PEER_GATEWAY;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t k = strlen(kinds[i].prefix);
        if (strncmp(stem, kinds[i].prefix, k) == 0) {
            if (n == k) {   /* a prefix with no name */
                memset(peer, 0, sizeof *peer);
                return -1;
            }
            peer->kind = kinds[i].kind;
            peer->name = peer->stem + k;
        }
    }
    return 0;
}

const char *evs_peer_kind_name(evs_peer_kind_t kind)
{
    switch (kind) {
    case EVS_PEER_SERVICE: return "service";
    case EVS_PEER_GATEWAY: return "gateway";
    case EVS_PEER_OPERATOR: return "operator";
    case EVS_PEER_PRODUCER: return "producer";
    case EVS_PEER_IDENT: return "ident";
    default: return "none";
    }
}

/* ------------------------------------------------------------------ key files */

/* Syncs the folder of @p path (a rename in it survives a power cut then). */
static int s_sync_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes @p text to @p path with @p mode: a temporary file of its own first (two writers
 * never share one), renamed when complete, the folder synced. */
static int s_write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 48];
    uint32_t nonce = randombytes_random();
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%08x", path, (long) getpid(), nonce);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t) len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return s_sync_dir(path);
}

/* The metadata line of a service's witness key (evs_witness.h) into @p out ("" for other
 * kinds): the public half of the Ed25519 key derived from @p cert's secret. */
static void s_witness_line(const evs_peer_t *peer, zcert_t *cert, char *out, size_t outsz)
{
    uint8_t pk[EVS_WITNESS_PK], sk[EVS_WITNESS_SK];
    char hex[2 * EVS_WITNESS_PK + 1];
    *out = '\0';
    if (peer->kind != EVS_PEER_SERVICE || evs_witness_keypair(cert, pk, sk) != 0)
        return;
    sodium_memzero(sk, sizeof sk);
    snprintf(out, outsz, "    %s = \"%s\"\n", EVS_WITNESS_META,
             sodium_bin2hex(hex, sizeof hex, pk, sizeof pk));
}

/* Writes the public certificate of @p cert to @p path. */
static int s_write_public(const char *path, const evs_peer_t *peer, zcert_t *cert)
{
    char text[1024], witness[160];
    s_witness_line(peer, cert, witness, sizeof witness);
    snprintf(text, sizeof text,
             "#   trustportal CURVE public key of %s (%s)\n"
             "metadata\n    identity = \"%s\"\n    kind = \"%s\"\n%s"
             "curve\n    public-key = \"%s\"\n",
             peer->stem, evs_peer_kind_name(peer->kind), peer->stem,
             evs_peer_kind_name(peer->kind), witness, zcert_public_txt(cert));
    return s_write_file(path, text, 0644);
}

/* A service's pair made before witness keys existed: its public file gets the witness
 * key (the secret is read, never written). 0 when nothing was to be done or it was done. */
static int s_add_witness_key(const char *dir, const evs_peer_t *peer, const char *pub)
{
    uint8_t pk[EVS_WITNESS_PK];
    if (peer->kind != EVS_PEER_SERVICE || evs_witness_public(dir, peer->stem, pk) == 0)
        return 0;
    zcert_t *cert = evs_keys_load_secret(dir, peer->stem);
    if (!cert)
        return -1;
    int rc = s_write_public(pub, peer, cert);
    zcert_destroy(&cert);
    return rc;
}

int evs_keys_create(const char *dir, const char *stem)
{
    evs_peer_t peer;
    if (evs_peer_from_stem(stem, &peer) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    char pub[PATH_MAX], sec[PATH_MAX];
    snprintf(pub, sizeof pub, "%s/%s.pub", dir, stem);
    snprintf(sec, sizeof sec, "%s/%s.secret", dir, stem);
    if (access(pub, F_OK) == 0 && access(sec, F_OK) == 0) {
        if (s_add_witness_key(dir, &peer, pub) != 0)
            zsys_warning("keys: could not add the witness key to %s: %s", pub, strerror(errno));
        return 0;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        errno = ENOMEM;
        return -1;
    }
    char text[1024], witness[160];
    s_witness_line(&peer, cert, witness, sizeof witness);
    /* the zcert file format (ZPL), so that zcert_load reads both files */
    snprintf(text, sizeof text,
             "#   trustportal CURVE secret key of %s (%s): keep it 0600, never copy it\n"
             "metadata\n    identity = \"%s\"\n    kind = \"%s\"\n%s"
             "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
             stem, evs_peer_kind_name(peer.kind), stem, evs_peer_kind_name(peer.kind), witness,
             zcert_public_txt(cert), zcert_secret_txt(cert));
    int rc = s_write_file(sec, text, 0600);
    /* the public file last: a keyring never sees a key whose secret is missing */
    if (rc == 0)
        rc = s_write_public(pub, &peer, cert);
    sodium_memzero(text, sizeof text);
    zcert_destroy(&cert);
    return rc == 0 ? 1 : -1;
}

int evs_keys_revoke(const char *dir, const char *stem)
{
    evs_peer_t peer;
    if (evs_peer_from_stem(stem, &peer) != 0) {
        errno = EINVAL;
        return -1;
    }
    char from[PATH_MAX], to[PATH_MAX + 96], rdir[PATH_MAX];
    snprintf(rdir, sizeof rdir, "%s/revoked", dir);
    if (mkdir(rdir, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(from, sizeof from, "%s/%s.pub", dir, stem);
    if (access(from, F_OK) != 0)
        return -1;
    /* the public key first: from then on no keyring admits it */
    snprintf(to, sizeof to, "%s/%s.pub", rdir, stem);
    if (rename(from, to) != 0)
        return -1;
    snprintf(from, sizeof from, "%s/%s.secret", dir, stem);
    snprintf(to, sizeof to, "%s/%s.secret", rdir, stem);
    if (rename(from, to) != 0 && errno != ENOENT)
        return -1;
    /* the revocation must survive a power cut: both folders synced */
    return s_sync_dir(from) == 0 && s_sync_dir(to) == 0 ? 0 : -1;
}

zcert_t *evs_keys_load_secret(const char *dir, const char *stem)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.secret", dir, stem);
    struct stat st;
    if (stat(path, &st) != 0) {
        zsys_error("keys: no secret key %s: %s (tpctl keys init creates it)", path,
                   strerror(errno));
        return NULL;
    }
    if (st.st_mode & 077) {
        zsys_error("keys: %s is readable by others (mode %03o); it must be 0600", path,
                   (unsigned) (st.st_mode & 0777));
        return NULL;
    }
    zcert_t *cert = zcert_load(path);
    if (!cert || strlen(zcert_secret_txt(cert)) != 40 ||
        streq(zcert_secret_txt(cert), "0000000000000000000000000000000000000000")) {
        zsys_error("keys: %s is not a secret certificate", path);
        zcert_destroy(&cert);
    }
    return cert;
}

int evs_keys_public(const char *dir, const char *stem, char *out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.pub", dir, stem);
    zcert_t *cert = zcert_load(path);
    if (!cert)
        return -1;
    snprintf(out, EVS_KEYS_Z85, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return strlen(out) == 40 ? 0 : -1;
}

/* ------------------------------------------------------------------ keyring */

struct _evs_keyring_t {
    char *dir;                  /* the folder */
    pthread_mutex_t reload;     /* one refresh at a time (loop and ZAP thread) */
    pthread_mutex_t lock;       /* keys is read on the loop and the ZAP thread */
    zhashx_t *keys;             /* Z85 public key -> evs_peer_t */
    struct timespec mtime;      /* the folder's, at the last load */
    bool loaded;                /* mtime is valid */
    int64_t loaded_at;          /* zclock_mono() of the last load */
};

/* The public keys of @p dir, or NULL (errno set) when it cannot be read now: the folder
 * is gone (ENOENT), or a file could not be read for want of a resource (EAGAIN: try
 * again later, not "no keys"). A file that is not a key is left out with a warning. */
static zhashx_t *s_load(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            errno = EAGAIN;
        return NULL;
    }
    zhashx_t *keys = zhashx_new();
    zhashx_set_destructor(keys, (zhashx_destructor_fn *) zstr_free);
    struct dirent *e;
    bool transient = false;
    while (!transient && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcmp(e->d_name + n - 4, ".pub") != 0 || n - 4 >= EVS_KEYS_STEM_MAX)
            continue;
        char stem[EVS_KEYS_STEM_MAX];
        memcpy(stem, e->d_name, n - 4);
        stem[n - 4] = '\0';
        evs_peer_t peer;
        char z85[EVS_KEYS_Z85], path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT && errno != EACCES) {
            transient = true;   /* no descriptor, no memory, an I/O error */
            break;
        }
        if (fd >= 0)
            close(fd);
        if (evs_peer_from_stem(stem, &peer) != 0 || evs_keys_public(dir, stem, z85) != 0) {
            zsys_warning("keys: %s/%s is not a key; ignored", dir, e->d_name);
            continue;
        }
        evs_peer_t *copy = malloc(sizeof *copy);
        if (!copy) {
            transient = true;
            break;
        }
        *copy = peer;
        copy->name = copy->stem + (peer.name - peer.stem);
        zhashx_update(keys, z85, copy);
    }
    closedir(d);
    if (transient) {
        zhashx_destroy(&keys);
        errno = EAGAIN;
    }
    return keys;
}

evs_keyring_t *evs_keyring_new(const char *dir)
{
    evs_keyring_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_mutex_init(&self->reload, NULL);
    self->dir = strdup(dir);
    struct stat st;
    if (!self->dir || stat(dir, &st) != 0 || !(self->keys = s_load(dir))) {
        evs_keyring_destroy(&self);
        return NULL;
    }
    self->mtime = st.st_mtim;
    self->loaded = true;
    self->loaded_at = zclock_mono();
    return self;
}

void evs_keyring_destroy(evs_keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    evs_keyring_t *self = *self_p;
    zhashx_destroy(&self->keys);
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->reload);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

int evs_keyring_refresh(evs_keyring_t *self)
{
    /* one at a time: two threads reloading together could install the older list last */
    pthread_mutex_lock(&self->reload);
    struct stat st;
    if (stat(self->dir, &st) != 0) {
        /* the folder is gone: nobody is admitted any more */
        st.st_mtim = (struct timespec) {0, 0};
    }
    /* A folder's mtime moves in the file system's ticks (milliseconds): a key revoked in
     * the tick of the last load leaves it unchanged. While it is younger than two seconds
     * the folder is read again at every refresh (keys change rarely; then it costs a few
     * file reads a second for two seconds). */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    bool recent = now.tv_sec - st.st_mtim.tv_sec < 2;
    /* and once a minute in any case: a .pub rewritten in place leaves the folder as it was */
    bool stale = zclock_mono() - self->loaded_at > 60000;
    bool same = self->loaded && !recent && !stale && st.st_mtim.tv_sec == self->mtime.tv_sec &&
                st.st_mtim.tv_nsec == self->mtime.tv_nsec;
    if (same) {
        pthread_mutex_unlock(&self->reload);
        return 0;
    }
    zhashx_t *keys = s_load(self->dir);
    if (!keys && errno == EAGAIN) {
        /* a passing want (descriptors, memory): keep what we have, try again next time */
        zsys_warning("keys: cannot read %s now; the keys as they were stay", self->dir);
        pthread_mutex_unlock(&self->reload);
        return 0;
    }
    if (!keys)
        keys = zhashx_new();   /* the folder is gone: nobody is admitted any more */
    if (!keys) {
        pthread_mutex_unlock(&self->reload);
        return 0;
    }
    pthread_mutex_lock(&self->lock);
    int gone = 0;
    for (void *v = zhashx_first(self->keys); v && !gone; v = zhashx_next(self->keys))
        gone = zhashx_lookup(keys, zhashx_cursor(self->keys)) == NULL;
    size_t before = zhashx_size(self->keys);
    zhashx_destroy(&self->keys);
    self->keys = keys;
    self->mtime = st.st_mtim;
    self->loaded = true;
    self->loaded_at = zclock_mono();
    pthread_mutex_unlock(&self->lock);
    if (gone || before != zhashx_size(keys))
        zsys_info("keys: %zu keys in %s%s", zhashx_size(keys), self->dir,
                  gone ? " (some revoked)" : "");
    pthread_mutex_unlock(&self->reload);
    return gone;
}

bool evs_keyring_lookup(evs_keyring_t *self, const char *z85, evs_peer_t *peer)
{
    if (!z85 || strlen(z85) != 40)
        return false;
    pthread_mutex_lock(&self->lock);
    const evs_peer_t *p = zhashx_lookup(self->keys, z85);
    if (p) {
        *peer = *p;
        peer->name = peer->stem + (p->name - p->stem);
    }
    pthread_mutex_unlock(&self->lock);
    return p != NULL;
}

size_t evs_keyring_size(evs_keyring_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = zhashx_size(self->keys);
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* ------------------------------------------------------------------ ZAP handler */

typedef struct {
    char *domain;
    evs_keyring_t *ring;
    evs_zap_allow_fn *allow;
    void *arg;
} s_domain_t;

/* One handler per process: ZeroMQ asks "inproc://zeromq.zap.01" of the context. */
static pthread_mutex_t s_zap_lock = PTHREAD_MUTEX_INITIALIZER;
static zactor_t *s_zap;            /* the handler, while a domain is registered */
static s_domain_t *s_domains;      /* the registered domains */
static size_t s_n_domains, s_cap_domains;
static size_t s_zap_refusals;      /* handshakes refused */

/* Decides one ZAP request (under s_zap_lock). Returns true to admit; @p user_id gets
 * the client's Z85 key. */
static bool s_zap_decide(const char *domain, const char *mechanism, zframe_t *key,
                         char *user_id)
{
    if (!streq(mechanism, "CURVE") || !key || zframe_size(key) != 32)
        return false;
    zmq_z85_encode(user_id, zframe_data(key), 32);
    for (size_t i = 0; i < s_n_domains; i++) {
        s_domain_t *d = &s_domains[i];
        if (!streq(d->domain, domain))
            continue;
        evs_keyring_refresh(d->ring);   /* a key added a moment ago is known at once */
        evs_peer_t peer;
        return evs_keyring_lookup(d->ring, user_id, &peer) && d->allow(d->arg, &peer);
    }
    return false;   /* a domain nobody registered admits nobody */
}

static void s_zap_actor(zsock_t *pipe, void *args)
{
    (void) args;
    zsock_signal(pipe, 0);   /* zactor_new's handshake; the outcome follows as a string */
    /* a handler stopped a moment ago may still hold the address in ZeroMQ: try again for
     * a while. Without a handler ZeroMQ would admit every CURVE client, so a handler that
     * cannot bind must say so (evs_zap_add fails then) */
    zsock_t *handler = zsock_new(ZMQ_REP);
    int rc = -1;
    for (int i = 0; handler && i < 200 && rc != 0; i++) {
        rc = zsock_bind(handler, "inproc://zeromq.zap.01");
        if (rc != 0)
            zclock_sleep(10);
    }
    if (rc != 0) {
        zsys_error("keys: cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
        zsock_destroy(&handler);
        zstr_send(pipe, "ERROR");
        char *term = zstr_recv(pipe);   /* $TERM, from zactor_destroy */
        zstr_free(&term);
        return;
    }
    zstr_send(pipe, "OK");
    /* only $TERM ends it: a signal must not (ZeroMQ would then admit every client) */
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    if (poller)
        zpoller_set_nonstop(poller, true);
    while (poller) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (!which && zpoller_terminated(poller))
            break;   /* the context is going away with the process */
        if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            bool term = cmd && streq(cmd, "$TERM");
            zstr_free(&cmd);
            if (term)
                break;
            continue;
        }
        zmsg_t *req = which == handler ? zmsg_recv(handler) : NULL;
        if (!req)
            continue;   /* interrupted: wait again */
        char *version = zmsg_popstr(req), *request_id = zmsg_popstr(req);
        char *domain = zmsg_popstr(req), *address = zmsg_popstr(req);
        char *identity = zmsg_popstr(req), *mechanism = zmsg_popstr(req);
        zframe_t *key = zmsg_pop(req);
        char user_id[EVS_KEYS_Z85] = "";
        pthread_mutex_lock(&s_zap_lock);
        bool ok = version && streq(version, "1.0") && domain && mechanism &&
                  s_zap_decide(domain, mechanism, key, user_id);
        if (!ok)
            s_zap_refusals++;
        pthread_mutex_unlock(&s_zap_lock);
        if (!ok)
            zsys_info("keys: refused %s key %.40s from %s on %s",
                      mechanism ? mechanism : "?", user_id[0] ? user_id : "(none)",
                      address ? address : "?", domain ? domain : "?");
        zmsg_t *rep = zmsg_new();
        zmsg_addstr(rep, "1.0");
        zmsg_addstr(rep, request_id ? request_id : "");
        zmsg_addstr(rep, ok ? "200" : "400");
        zmsg_addstr(rep, ok ? "OK" : "not admitted");
        zmsg_addstr(rep, ok ? user_id : "");
        zmsg_addmem(rep, NULL, 0);   /* no metadata */
        zmsg_send(&rep, handler);
        zframe_destroy(&key);
        zstr_free(&version);
        zstr_free(&request_id);
        zstr_free(&domain);
        zstr_free(&address);
        zstr_free(&identity);
        zstr_free(&mechanism);
        zmsg_destroy(&req);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
}

int evs_zap_add(const char *domain, evs_keyring_t *ring, evs_zap_allow_fn *allow, void *arg)
{
    int rc = -1;
    pthread_mutex_lock(&s_zap_lock);
    for (size_t i = 0; i < s_n_domains; i++)
        if (streq(s_domains[i].domain, domain)) {
            zsys_error("keys: ZAP domain %s registered twice", domain);
            goto done;
        }
    if (s_n_domains == s_cap_domains) {
        size_t cap = s_cap_domains ? s_cap_domains * 2 : 8;
        s_domain_t *d = realloc(s_domains, cap * sizeof *d);
        if (!d)
            goto done;
        s_domains = d;
        s_cap_domains = cap;
    }
    char *copy = strdup(domain);
    if (!copy)
        goto done;
    if (!s_zap) {
        /* the handler must listen before a socket of the domain is bound: a CURVE server
         * with no handler would admit every client */
        pthread_mutex_unlock(&s_zap_lock);
        zactor_t *actor = zactor_new(s_zap_actor, NULL);
        char *status = actor ? zstr_recv(actor) : NULL;
        bool up = status && streq(status, "OK");
        zstr_free(&status);
        if (!up)
            zactor_destroy(&actor);
        pthread_mutex_lock(&s_zap_lock);
        if (s_zap)   /* another thread started one meanwhile: that one serves */
            zactor_destroy(&actor);
        else if (actor)
            s_zap = actor;
        else {
            free(copy);
            goto done;
        }
    }
    s_domains[s_n_domains++] = (s_domain_t) {copy, ring, allow, arg};
    rc = 0;
done:
    pthread_mutex_unlock(&s_zap_lock);
    return rc;
}

void evs_zap_remove(const char *domain)
{
    zactor_t *stop = NULL;
    pthread_mutex_lock(&s_zap_lock);
    for (size_t i = 0; i < s_n_domains; i++)
        if (streq(s_domains[i].domain, domain)) {
            free(s_domains[i].domain);
            s_domains[i] = s_domains[--s_n_domains];
            break;
        }
    if (s_n_domains == 0) {
        stop = s_zap;
        s_zap = NULL;
    }
    pthread_mutex_unlock(&s_zap_lock);
    zactor_destroy(&stop);
}

size_t evs_zap_refused(void)
{
    pthread_mutex_lock(&s_zap_lock);
    size_t n = s_zap_refusals;
    pthread_mutex_unlock(&s_zap_lock);
    return n;
}

void evs_keys_server(zsock_t *sock, zcert_t *cert, const char *domain)
{
    zcert_apply(cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, domain);
}

void evs_keys_client(zsock_t *sock, zcert_t *cert, const char *server_z85)
{
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, server_z85);
}

/* ------------------------------------------------------------------ self-test */

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "evs_keys: check failed at line %d: %s\n", __LINE__, #c); \
            failed++;                                                             \
        }                                                                         \
    } while (0)

static bool s_allow_operators(void *arg, const evs_peer_t *peer)
{
    (void) arg;
    return peer->kind == EVS_PEER_OPERATOR;
}

/* One request from a CURVE client with @p cert (NULL: plain) to @p ep; true when the
 * echo came back within 400 ms. */
static bool s_echo(const char *ep, zcert_t *cert, const char *server_z85, zsock_t *server,
                   char *user_id_out)
{
    zsock_t *c = zsock_new(ZMQ_DEALER);
    zsock_set_linger(c, 0);
    if (cert)
        evs_keys_client(c, cert, server_z85);
    zsock_connect(c, "%s", ep);
    zstr_send(c, "ping");
    zpoller_t *p = zpoller_new(server, NULL);
    bool got = false;
    if (zpoller_wait(p, 400) == server) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        void *h = zsock_resolve(server);
        if (zmq_msg_recv(&id, h, 0) >= 0 && zmq_msg_recv(&body, h, 0) >= 0) {
            const char *uid = zmq_msg_gets(&body, "User-Id");
            snprintf(user_id_out, EVS_KEYS_Z85, "%s", uid ? uid : "");
            got = true;
        }
        zmq_msg_close(&id);
        zmq_msg_close(&body);
    }
    zpoller_destroy(&p);
    zsock_destroy(&c);
    return got;
}

int evs_keys_test(bool verbose)
{
    int failed = 0;
    evs_peer_t peer;
    CHECK(evs_peer_from_stem("operator-alice", &peer) == 0 && peer.kind == EVS_PEER_OPERATOR &&
          streq(peer.name, "alice"));
    CHECK(evs_peer_from_stem("producer-line-1", &peer) == 0 &&
          peer.kind == EVS_PEER_PRODUCER && streq(peer.name, "line-1"));
    CHECK(evs_peer_from_stem("ident-postident", &peer) == 0 && peer.kind == EVS_PEER_IDENT);
    CHECK(evs_peer_from_stem("gateway", &peer) == 0 && peer.kind == EVS_PEER_GATEWAY);
    CHECK(evs_peer_from_stem("order", &peer) == 0 && peer.kind == EVS_PEER_SERVICE &&
          streq(peer.name, "order"));
    CHECK(evs_peer_from_stem("operator-", &peer) != 0);
    CHECK(evs_peer_from_stem("Order", &peer) != 0);
    CHECK(evs_peer_from_stem("../x", &peer) != 0);
    CHECK(evs_peer_from_stem("", &peer) != 0);
    CHECK(evs_peer_from_stem("-x", &peer) != 0);

    char dir[] = "/tmp/evs-keys-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char keys[PATH_MAX];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    CHECK(evs_keys_create(keys, "order") == 1);
    CHECK(evs_keys_create(keys, "order") == 0);   /* kept as it is */
    {
        /* a service's public certificate names its witness key, derived from its secret */
        uint8_t pk[EVS_WITNESS_PK], pk2[EVS_WITNESS_PK], sk[EVS_WITNESS_SK];
        zcert_t *own = evs_keys_load_secret(keys, "order");
        CHECK(own && evs_witness_keypair(own, pk2, sk) == 0);
        CHECK(evs_witness_public(keys, "order", pk) == 0 && memcmp(pk, pk2, sizeof pk) == 0);
        zcert_destroy(&own);
    }
    CHECK(evs_keys_create(keys, "operator-alice") == 1);
    CHECK(evs_keys_create(keys, "producer-line1") == 1);
    {
        uint8_t pk[EVS_WITNESS_PK];   /* only services sign heads */
        CHECK(evs_witness_public(keys, "producer-line1", pk) == -1);
    }
    CHECK(evs_keys_create(keys, "Bad Stem") == -1 && errno == EINVAL);
    struct stat st;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/order.secret", keys);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(keys, &st) == 0 && (st.st_mode & 0777) == 0700);
    zcert_t *server = evs_keys_load_secret(keys, "order");
    zcert_t *alice = evs_keys_load_secret(keys, "operator-alice");
    zcert_t *line1 = evs_keys_load_secret(keys, "producer-line1");
    CHECK(server && alice && line1);
    char order_pub[EVS_KEYS_Z85], alice_pub[EVS_KEYS_Z85];
    CHECK(evs_keys_public(keys, "order", order_pub) == 0);
    CHECK(evs_keys_public(keys, "operator-alice", alice_pub) == 0);
    CHECK(server && streq(order_pub, zcert_public_txt(server)));
    /* a secret others can read is refused */
    CHECK(chmod(path, 0640) == 0);
    zcert_t *loose = evs_keys_load_secret(keys, "order");
    CHECK(loose == NULL);
    zcert_destroy(&loose);
    CHECK(chmod(path, 0600) == 0);

    evs_keyring_t *ring = evs_keyring_new(keys);
    CHECK(ring && evs_keyring_size(ring) == 3);
    CHECK(ring && evs_keyring_lookup(ring, alice_pub, &peer) &&
          peer.kind == EVS_PEER_OPERATOR && streq(peer.name, "alice"));
    CHECK(ring && !evs_keyring_lookup(ring, "0000000000000000000000000000000000000000", &peer));
    CHECK(ring && evs_keyring_refresh(ring) == 0);   /* nothing changed */

    /* a CURVE ROUTER that admits operators only */
    CHECK(evs_zap_add("test.router", ring, s_allow_operators, NULL) == 0);
    CHECK(evs_zap_add("test.router", ring, s_allow_operators, NULL) == -1);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    evs_keys_server(router, server, "test.router");
    char ep[PATH_MAX + 32];
    snprintf(ep, sizeof ep, "ipc://%s/test.router", dir);
    CHECK(zsock_bind(router, "%s", ep) == 0);
    char uid[EVS_KEYS_Z85] = "";
    size_t refused = evs_zap_refused();
    CHECK(s_echo(ep, alice, order_pub, router, uid) && streq(uid, alice_pub));
    CHECK(!s_echo(ep, line1, order_pub, router, uid));   /* known, but not allowed here */
    zcert_t *stranger = zcert_new();
    CHECK(!s_echo(ep, stranger, order_pub, router, uid));   /* unknown key */
    CHECK(!s_echo(ep, NULL, NULL, router, uid));             /* no key: no handshake */
    CHECK(evs_zap_refused() >= refused + 2);
    /* a key added while running is admitted; a revoked one no longer */
    CHECK(evs_keys_create(keys, "operator-bob") == 1);
    zcert_t *bob = evs_keys_load_secret(keys, "operator-bob");
    CHECK(bob && s_echo(ep, bob, order_pub, router, uid));
    CHECK(evs_keys_revoke(keys, "operator-alice") == 0);
    CHECK(evs_keyring_refresh(ring) == 1);
    CHECK(!evs_keyring_lookup(ring, alice_pub, &peer));
    CHECK(!s_echo(ep, alice, order_pub, router, uid));
    CHECK(evs_keys_revoke(keys, "operator-alice") == -1);
    if (verbose)
        printf("evs_keys: %zu handshakes refused\n", evs_zap_refused());
    zsock_destroy(&router);
    evs_zap_remove("test.router");
    /* a reload that cannot read the folder for want of descriptors keeps the keys as
     * they were (not "no keys"), and the next one reads it */
    size_t had = evs_keyring_size(ring);
    CHECK(evs_keys_create(keys, "operator-carol") == 1);
    struct rlimit rl, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    int probe = dup(0);
    close(probe);
    low = rl;
    low.rlim_cur = (rlim_t) probe;   /* the next descriptor is beyond the limit */
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    evs_keyring_refresh(ring);
    size_t starved = evs_keyring_size(ring);
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(starved == had);
    evs_keyring_refresh(ring);
    CHECK(evs_keyring_size(ring) == had + 1);
    zcert_destroy(&bob);
    zcert_destroy(&stranger);
    zcert_destroy(&server);
    zcert_destroy(&alice);
    zcert_destroy(&line1);
    evs_keyring_destroy(&ring);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "evs_keys: could not remove %s\n", dir);
    return failed ? -1 : 0;
}
