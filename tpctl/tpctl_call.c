/* tpctl_call.c: operator commands to running services: `tpctl call` (any command,
 * JSON in, JSON out) and the named back-office commands built on it. */
#include <assert.h>
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "evs_bus.h"
#include "evs_keys.h"
#include "pbj.h"
#include "tp_types.h"
#include "tpctl.h"

zconfig_t *tpctl_system_config(const char *path)
{
    if (!path)
        path = getenv("TP_CONFIG");
    if (!path && zsys_file_exists("var/tp.cfg"))
        path = "var/tp.cfg";
    if (!path)
        return zconfig_new("root", NULL);
    char *errors = NULL;
    zconfig_t *c = tpctl_config_load(path, &errors);
    if (!c)
        fprintf(stderr, "tpctl: config refused:\n%s", errors ? errors : "");
    free(errors);
    return c;
}

json_t *tpctl_reply_json(const Tp__Reply *r, const char *service, const char *command,
                        json_t *body_override)
{
    json_t *out = json_object();
    json_object_set_new(out, "ok", json_boolean(r->ok));
    if (r->last_seq)
        json_object_set_new(out, "lastSeq", json_integer((json_int_t) r->last_seq));
    if (r->replayed)
        json_object_set_new(out, "replayed", json_true());
    if (!r->ok) {
        json_t *errs = json_array();
        for (size_t i = 0; i < r->n_errors; i++)
            json_array_append_new(errs, json_pack("{s:s,s:s,s:s}", "code", r->errors[i]->code,
                                                  "field", r->errors[i]->field, "message",
                                                  r->errors[i]->message));
        json_object_set_new(out, "errors", errs);
    }
    else if (body_override)
        json_object_set(out, "reply", body_override);
    else if (r->body.len) {
        /* the reply type is found by trying the service's message types in turn would be
         * ambiguous; tpctl knows it from the command table of the service's reply names */
        const ProtobufCMessageDescriptor *d = tpctl_reply_type(service, command);
        json_t *body = d ? pbj_bytes_to_json(d, r->body.data, r->body.len, 0) : NULL;
        if (!body && command[0] == '$')
            body = json_stringn((const char *) r->body.data, r->body.len);
        json_object_set_new(out, "reply", body ? body : json_string("(undecoded)"));
    }
    return out;
}

int tpctl_print_reply(const Tp__Reply *r, const char *service, const char *command,
                      json_t *body_override)
{
    json_t *out = tpctl_reply_json(r, service, command, body_override);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(out);
    return r->ok ? 0 : 1;
}

int tpctl_call_reply(const char *config_path, const char *service, const char *command,
                     const char *json_text, const char *role, const char *actor,
                     const char *request_id, Tp__Reply **reply_p)
{
    assert(reply_p);
    *reply_p = NULL;
    /* the service's own package first; an instance of another name (e.g. the example
     * service run as "alpha") falls back to any package */
    const ProtobufCMessageDescriptor *desc =
        command[0] == '$' ? NULL : tp_types_find(service, command);
    if (!desc && command[0] != '$')
        desc = tp_types_find(NULL, command);
    if (command[0] != '$' && !desc) {
        fprintf(stderr, "tpctl: %s has no command %s\n", service, command);
        return 2;
    }
    uint8_t *body = NULL;
    size_t body_len = 0;
    if (desc) {
        json_error_t jerr;
        json_t *j = json_loads(json_text && *json_text ? json_text : "{}", 0, &jerr);
        if (!j) {
            fprintf(stderr, "tpctl: the JSON does not parse: %s (column %d)\n", jerr.text,
                    jerr.column);
            return 2;
        }
        pbj_error_t perr;
        ProtobufCMessage *msg = pbj_from_json(desc, j, 0, &perr);
        json_decref(j);
        if (!msg) {
            fprintf(stderr, "tpctl: %s%s%s\n", perr.field, *perr.field ? ": " : "",
                    perr.message);
            return 2;
        }
        body_len = protobuf_c_message_get_packed_size(msg);
        body = malloc(body_len ? body_len : 1);
        if (!body) {
            protobuf_c_message_free_unpacked(msg, NULL);
            fprintf(stderr, "tpctl: out of memory\n");
            return 1;
        }
        protobuf_c_message_pack(msg, body);
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    tpctl_conn_t conn;
    if (tpctl_connect(config_path, service, role, actor, &conn) != 0) {
        free(body);
        return 1;
    }
    conn.hdr.request_id = (char *) (request_id ? request_id : "");
    char wire[256];
    snprintf(wire, sizeof wire, command[0] == '$' ? "%s%.0s" : "%s.%s",
             command[0] == '$' ? command : service, command);
    int rc = evs_client_call_raw(conn.client, &conn.hdr, wire, body, body_len, 10000, reply_p);
    free(body);
    if (rc != 0 || !*reply_p)
        fprintf(stderr, "tpctl: %s did not answer at %s within 10 s\n", service, conn.ep);
    tpctl_disconnect(&conn);
    return rc != 0 || !*reply_p ? 1 : 0;
}

/* The identities named on the command line (--as-operator, --as-producer, --as-ident,
 * --key): the keys tpctl sends with. */
static const char *s_as[3];   /* operator, producer, ident names */
static const char *s_key;     /* an explicit stem */
static const char *const s_kinds[3] = {"operator", "producer", "ident"};

int tpctl_set_identity(const char *option, const char *value)
{
    if (streq(option, "--key")) {
        s_key = value;
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        char opt[32];
        snprintf(opt, sizeof opt, "--as-%s", s_kinds[i]);
        if (streq(option, opt)) {
            s_as[i] = value;
            return 0;
        }
    }
    return -1;
}

/* The stem of the key to act as @p role with: --key; else the role's name from the
 * command line, the config (tpctl/as_operator, tpctl/as_producer, tpctl/as_ident), or
 * the only key of that kind in the folder. */
static int s_stem_for(zconfig_t *config, const char *keys, const char *role, char *out,
                      size_t outsz)
{
    if (s_key) {
        snprintf(out, outsz, "%s", s_key);
        return 0;
    }
    int k = -1;
    for (int i = 0; i < 3; i++)
        if (streq(role, s_kinds[i]))
            k = i;
    if (k < 0) {
        fprintf(stderr, "tpctl: acting as %s needs a key that may: --key gateway\n",
                *role ? role : "a visitor");
        return -1;
    }
    char path[64];
    snprintf(path, sizeof path, "tpctl/as_%s", s_kinds[k]);
    const char *name = s_as[k] ? s_as[k] : zconfig_get(config, path, NULL);
    if (name) {
        snprintf(out, outsz, "%s-%s", s_kinds[k], name);
        return 0;
    }
    /* the only one there is */
    zlist_t *found = zlist_new();
    zlist_autofree(found);
    zdir_t *dir = zdir_new(keys, "-");
    zfile_t **files = dir ? zdir_flatten(dir) : NULL;
    size_t plen = strlen(s_kinds[k]) + 1;
    for (size_t i = 0; files && files[i]; i++) {
        const char *base = strrchr(zfile_filename(files[i], NULL), '/');
        base = base ? base + 1 : zfile_filename(files[i], NULL);
        size_t n = strlen(base);
        if (strncmp(base, s_kinds[k], plen - 1) == 0 && base[plen - 1] == '-' && n > 4 &&
            streq(base + n - 4, ".pub") && !strstr(zfile_filename(files[i], NULL), "/revoked/"))
            zlist_append(found, (char *) base);
    }
    zdir_flatten_free(&files);
    zdir_destroy(&dir);
    int rc = -1;
    if (zlist_size(found) == 1) {
        const char *only = zlist_first(found);
        snprintf(out, outsz, "%.*s", (int) (strlen(only) - 4), only);
        rc = 0;
    }
    else
        fprintf(stderr,
                "tpctl: %s keys in %s: %zu; name one with --as-%s NAME (or tpctl/as_%s in "
                "the config)\n",
                s_kinds[k], keys, zlist_size(found), s_kinds[k], s_kinds[k]);
    zlist_destroy(&found);
    return rc;
}

int tpctl_connect(const char *config_path, const char *service, const char *role,
                  const char *actor, tpctl_conn_t *conn)
{
    memset(conn, 0, sizeof *conn);
    zconfig_t *config = tpctl_system_config(config_path);
    if (!config)
        return 1;
    role = role ? role : "operator";
    if (svc_connect_endpoints(config, service, "router", conn->ep, sizeof conn->ep) != 0) {
        zconfig_destroy(&config);
        return 1;
    }
    char keys[512], stem[EVS_KEYS_STEM_MAX];
    snprintf(keys, sizeof keys, "%s", svc_keys_dir(config));
    int rc = s_stem_for(config, keys, streq(role, "anonymous") ? "" : role, stem, sizeof stem);
    zconfig_destroy(&config);
    if (rc != 0)
        return 1;
    conn->client = evs_client_new_keyed(conn->ep, keys, stem, service);
    if (!conn->client) {
        fprintf(stderr, "tpctl: cannot connect to %s at %s as %s (keys in %s)\n", service,
                conn->ep, stem, keys);
        return 1;
    }
    tp__request_header__init(&conn->hdr);
    /* what the service believes comes from the key; role and account only tell the
     * gateway's key which visitor or account it acts for */
    conn->hdr.actor_role = (char *) (streq(role, "anonymous") ? "" : role);
    conn->hdr.actor_account = (char *) (actor ? actor : "");
    conn->hdr.request_id = "";
    snprintf(conn->who, sizeof conn->who, "tpctl@%s",
             getenv("USER") ? getenv("USER") : "operator");
    conn->hdr.client_addr = conn->who;
    return 0;
}

void tpctl_disconnect(tpctl_conn_t *conn)
{
    evs_client_destroy(&conn->client);
}

int tpctl_call_batch(tpctl_conn_t *conn, const char *service, const evs_batch_item_t *items,
                     size_t n, Tp__Reply **replies)
{
    Tp__Reply *outer = NULL;
    int rc = evs_client_call_batch(conn->client, &conn->hdr, items, n, 10000, &outer, replies);
    if (rc != 0 || !outer) {
        fprintf(stderr, "tpctl: %s did not answer at %s within 10 s\n", service, conn->ep);
        return 1;
    }
    if (!outer->ok) {
        /* the batch as a whole was refused (e.g. too many items): nothing was decided */
        tpctl_print_reply(outer, service, "$batch", NULL);
        tp__reply__free_unpacked(outer, NULL);
        return 1;
    }
    tp__reply__free_unpacked(outer, NULL);
    return 0;
}

int tpctl_call_json(const char *config_path, const char *service, const char *command,
                    const char *json_text, const char *role, const char *actor,
                    const char *request_id)
{
    Tp__Reply *reply = NULL;
    int rc = tpctl_call_reply(config_path, service, command, json_text, role, actor, request_id,
                              &reply);
    if (rc != 0)
        return rc;
    rc = tpctl_print_reply(reply, service, command, NULL);
    tp__reply__free_unpacked(reply, NULL);
    return rc;
}

int tpctl_call(int argc, char **argv, const char *config_path)
{
    const char *role = NULL, *actor = NULL, *rid = NULL;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        if (streq(argv[i], "--role") && i + 1 < argc)
            role = argv[++i];
        else if (streq(argv[i], "--as") && i + 1 < argc)
            actor = argv[++i];
        else if (streq(argv[i], "--request-id") && i + 1 < argc)
            rid = argv[++i];
        else if (streq(argv[i], "--key") && i + 1 < argc)
            tpctl_set_identity("--key", argv[++i]);
        else if (npos < 3)
            pos[npos++] = argv[i];
        else {
            fprintf(stderr, "tpctl: too many arguments\n");
            return 2;
        }
    }
    if (npos < 2) {
        fprintf(stderr, "usage: tpctl call SERVICE COMMAND ['JSON'] [--role R] [--as ACCOUNT] "
                        "[--key STEM] [--request-id ID]\n");
        return 2;
    }
    return tpctl_call_json(config_path, pos[0], pos[1], pos[2], role, actor, rid);
}
