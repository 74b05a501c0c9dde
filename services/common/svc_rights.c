/* svc_rights.c: keys and rights: who may connect, who sent a request, what it may ask. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "evs_keys.h"
#include "svc_internal.h"

static bool s_follower(const svci_svc_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_followers; i++)
        if (streq(self->followers[i], name))
            return true;
    return false;
}

/* What any command of ours allows (SVC_* bits). */
static unsigned s_any_who(const svc_def_t *def)
{
    unsigned any = 0;
    for (size_t i = 0; i < def->n_commands; i++)
        any |= def->commands[i].who;
    return any;
}

/* ZAP, on the handler's thread (reads only what start-up wrote): who may connect to our
 * ROUTER. The gateway always (its readiness check asks "$status"); rights are checked
 * again at every request. */
static bool s_zap_router(void *arg, const evs_peer_t *peer)
{
    const svci_svc_t *self = arg;
    unsigned any = s_any_who(self->def);
    switch (peer->kind) {
    case EVS_PEER_OPERATOR:
    case EVS_PEER_GATEWAY: return true;
    case EVS_PEER_PRODUCER: return (any & SVC_PRODUCER) != 0;
    case EVS_PEER_IDENT: return (any & SVC_IDENT) != 0;
    case EVS_PEER_SERVICE: return s_follower(self, peer->name);
    default: return false;
    }
}

/* ZAP: who may subscribe to our PUB socket: our followers (the gateway too, for its live
 * updates, when "gateway" is one of them). */
static bool s_zap_pub(void *arg, const evs_peer_t *peer)
{
    return (peer->kind == EVS_PEER_SERVICE && s_follower(arg, peer->name)) ||
           (peer->kind == EVS_PEER_GATEWAY && s_follower(arg, "gateway"));
}

/* "kind:name" into the group's arena. */
static char *s_arena_join(svci_arena_t *a, const char *kind, const char *name)
{
    size_t k = strlen(kind), n = strlen(name);
    char *out = svci_arena_alloc(a, k + n + 2);
    if (out) {
        memcpy(out, kind, k);
        out[k] = ':';
        memcpy(out + k + 1, name, n + 1);
    }
    return out;
}

/* The request in @p p as its key says: @p user_id (the message's ZAP User-Id) names the
 * key; the header's role and account are rewritten from it (the gateway keeps the
 * account of a session as customer or officer, nothing more) and p->who set. Returns
 * false when the key is not in the keys folder (any more): no answer then. */
bool svci_authenticate(svci_svc_t *self, svci_pending_t *p, const char *user_id)
{
    evs_peer_t peer;
    if (!evs_keyring_lookup(self->keyring, user_id, &peer)) {
        self->unknown_keys++;
        return false;
    }
    if (!p->req)
        return true;   /* refused as undecodable */
    svci_arena_t *a = self->pending_arena;
    Tp__Request *req = p->req;
    if (!req->header) {
        req->header = svci_arena_alloc(a, sizeof *req->header);
        if (!req->header)
            return false;
        tp__request_header__init(req->header);
    }
    Tp__RequestHeader *h = req->header;
    static const struct {
        evs_peer_kind_t kind;
        unsigned who;
        const char *role;
    } roles[] = {{EVS_PEER_OPERATOR, SVC_OPERATOR, "operator"},
                 {EVS_PEER_PRODUCER, SVC_PRODUCER, "producer"},
                 {EVS_PEER_IDENT, SVC_IDENT, "ident"},
                 {EVS_PEER_SERVICE, SVC_SERVICE, "service"}};
    p->who = 0;
    p->gateway_reads = peer.kind == EVS_PEER_GATEWAY && s_follower(self, "gateway");
    if (peer.kind == EVS_PEER_GATEWAY) {
        const char *role = h->actor_role ? h->actor_role : "";
        bool account = h->actor_account && *h->actor_account;
        if (!*role && !account)
            p->who = SVC_VISITOR;
        else if (account && streq(role, "customer"))
            p->who = SVC_CUSTOMER;
        else if (account && streq(role, "officer"))
            p->who = SVC_OFFICER;
        return true;   /* anything else it claims: no rights (refused as forbidden) */
    }
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (roles[i].kind != peer.kind)
            continue;
        char *account = s_arena_join(a, roles[i].role, peer.name);
        if (!account)
            return false;
        h->actor_role = (char *) roles[i].role;
        h->actor_account = account;
        /* a service that does not follow us may ask "$status" only */
        if (peer.kind != EVS_PEER_SERVICE || s_follower(self, peer.name))
            p->who = roles[i].who;
    }
    return true;
}

/* May the sender of @p p send command @p c? "$status": anyone with a key; "$read":
 * operators and followers (the gateway when "gateway" is one); "$keys": the follower
 * services named in svc_def_t.personal_to (never the gateway, never an operator);
 * "$summary": operators; "$batch": who may send commands at all
 * (each item is checked again); a command: its table's `who`. An unknown command passes,
 * to be refused as unknown. */
bool svci_allowed(svci_svc_t *self, const svci_pending_t *p, const char *c)
{
    if (streq(c, "$status"))
        return true;
    if (streq(c, EVS_BUS_READ))
        return (p->who & (SVC_OPERATOR | SVC_SERVICE)) != 0 || p->gateway_reads;
    if (streq(c, "$keys")) {
        /* a follower service that this service's table names (svc_def_t.personal_to) */
        const char *who = p->req && p->req->header ? p->req->header->actor_account : NULL;
        if (!(p->who & SVC_SERVICE) || !who || strncmp(who, "service:", 8) != 0)
            return false;
        for (size_t i = 0; self->def->personal_to && self->def->personal_to[i]; i++)
            if (streq(self->def->personal_to[i], who + 8))
                return true;
        return false;
    }
    if (streq(c, "$summary"))
        return (p->who & SVC_OPERATOR) != 0;
    if (streq(c, SVC_BATCH))
        return (p->who & (SVC_OPERATOR | SVC_PRODUCER | SVC_IDENT)) != 0;
    const svc_command_t *cmd = svci_find_command(self, c);
    return !cmd || (cmd->who & p->who) != 0;
}

/* Refuses @p p's command @p c: a visitor asking what an account may do is told to log
 * in ("unauthenticated"), anyone else "forbidden". Nothing is written. */
void svci_forbid(svci_svc_t *self, svci_pending_t *p, const char *c)
{
    self->forbidden++;
    const svc_command_t *cmd = svci_find_command(self, c);
    if (p->who == SVC_VISITOR && cmd && (cmd->who & (SVC_CUSTOMER | SVC_OFFICER)))
        svci_reply_errors(p, NULL, "unauthenticated", "", "please log in");
    else
        svci_reply_errors(p, NULL, "forbidden", "",
                          "not allowed for the key this request came with");
}

/* Who caused what @p h's request writes (tp.Envelope.actor), into @p out. */
const char *svci_actor(const Tp__RequestHeader *h, char *out, size_t outsz)
{
    const char *role = h->actor_role ? h->actor_role : "";
    const char *account = h->actor_account ? h->actor_account : "";
    if (streq(role, "customer") || streq(role, "officer")) {
        snprintf(out, outsz, "%s:%s", role, account);
        return out;
    }
    return *account ? account : "visitor";
}

/* "a,b" (config @p key), else the NULL-terminated @p dflt, as a malloc'd array. */
static char **s_names(zconfig_t *config, const char *name, const char *key,
                      const char *const *dflt, size_t *n)
{
    const char *text = svc_config_get(config, name, key, NULL);
    size_t most = 1;
    for (const char *c = text; c && *c; c++)
        most += *c == ',' || *c == ' ';
    for (size_t i = 0; !text && dflt && dflt[i]; i++)
        most++;
    char **out = calloc(most, sizeof *out);
    *n = 0;
    if (!out)
        return NULL;
    if (text) {
        char *list = strdup(text);
        for (char *save = NULL, *w = list ? strtok_r(list, ", ", &save) : NULL; w;
             w = strtok_r(NULL, ", ", &save))
            out[(*n)++] = strdup(w);
        free(list);
    }
    else
        for (size_t i = 0; dflt && dflt[i]; i++)
            out[(*n)++] = strdup(dflt[i]);
    return out;
}

/* Our keys, and the ZAP domains of our two sockets, before anything is bound: a CURVE
 * server with no handler listening would admit anyone. */
int svci_start_keys(svci_svc_t *self)
{
    const char *n = self->name;
    snprintf(self->keys_dir, sizeof self->keys_dir, "%s", svc_keys_dir(self->config));
    self->keyring = evs_keyring_new(self->keys_dir);
    if (!self->keyring) {
        zsys_error("%s: cannot read the keys folder %s: %s (tpctl keys init creates it)", n,
                   self->keys_dir, strerror(errno));
        return -1;
    }
    self->cert = evs_keys_load_secret(self->keys_dir, n);
    if (!self->cert)
        return -1;
    self->followers = s_names(self->config, n, "followers", self->def->followers,
                              &self->n_followers);
    snprintf(self->zap_router, sizeof self->zap_router, "%s.router", n);
    if (evs_zap_add(self->zap_router, self->keyring, s_zap_router, self) != 0) {
        self->zap_router[0] = '\0';
        return -1;
    }
    snprintf(self->zap_pub, sizeof self->zap_pub, "%s.pub", n);
    if (evs_zap_add(self->zap_pub, self->keyring, s_zap_pub, self) != 0) {
        self->zap_pub[0] = '\0';
        return -1;
    }
    return 0;
}
