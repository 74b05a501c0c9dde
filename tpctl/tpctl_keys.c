/* tpctl_keys.c: `tpctl keys ...`: the CURVE keys of the system's components. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "evs_keys.h"
#include "tpctl.h"

/* The services `init` makes keys for, and the gateway. */
static const char *const s_components[] = {"account", "order", "identification", "production",
                                           "revocation", "gateway", NULL};

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: tpctl [-c CONFIG] keys init\n"
            "       tpctl [-c CONFIG] keys add-operator|add-producer|add-ident|add-service NAME\n"
            "       tpctl [-c CONFIG] keys list\n"
            "       tpctl [-c CONFIG] keys revoke STEM      (e.g. operator-alice)\n"
            "The keys folder is the config's `keys` (tpctl keys --dir DIR ... to name one).\n");
}

/* Creates @p stem's pair; prints what happened. 0, or 1. */
static int s_create(const char *dir, const char *stem)
{
    int rc = evs_keys_create(dir, stem);
    if (rc < 0) {
        fprintf(stderr, "tpctl: cannot create the key %s in %s: %s\n", stem, dir,
                errno == EINVAL ? "not a valid name ([a-z0-9_-], at most 63)" : strerror(errno));
        return 1;
    }
    char z85[EVS_KEYS_Z85] = "";
    evs_keys_public(dir, stem, z85);
    printf("%s %s %s\n", rc == 1 ? "created" : "exists ", stem, z85);
    return 0;
}

/* Every key in @p dir (and in @p dir/revoked, marked so), one line each. */
static int s_list(const char *dir, const char *sub)
{
    char path[600];
    snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    DIR *d = opendir(path);
    if (!d) {
        if (sub)
            return 0;
        fprintf(stderr, "tpctl: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    zlistx_t *names = zlistx_new();
    zlistx_set_destructor(names, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator(names, (zlistx_duplicator_fn *) strdup);
    zlistx_set_comparator(names, (zlistx_comparator_fn *) strcmp);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && streq(e->d_name + n - 4, ".pub"))
            zlistx_add_end(names, e->d_name);
    }
    closedir(d);
    zlistx_sort(names);
    for (char *name = zlistx_first(names); name; name = zlistx_next(names)) {
        name[strlen(name) - 4] = '\0';
        evs_peer_t peer;
        char z85[EVS_KEYS_Z85] = "";
        evs_keys_public(path, name, z85);
        bool valid = evs_peer_from_stem(name, &peer) == 0;
        printf("%-28s %-9s %s%s\n", name, valid ? evs_peer_kind_name(peer.kind) : "invalid",
               z85, sub ? "  REVOKED" : "");
    }
    zlistx_destroy(&names);
    return 0;
}

int tpctl_keys(int argc, char **argv, const char *config_path)
{
    /* argv[0] is "keys" */
    char dir[512] = "";
    int i = 1;
    if (i + 1 < argc && streq(argv[i], "--dir")) {
        snprintf(dir, sizeof dir, "%s", argv[i + 1]);
        i += 2;
    }
    if (i >= argc) {
        s_usage(stderr);
        return 2;
    }
    if (!*dir) {
        zconfig_t *config = tpctl_system_config(config_path);
        if (!config)
            return 1;
        snprintf(dir, sizeof dir, "%s", svc_keys_dir(config));
        zconfig_destroy(&config);
    }
    const char *verb = argv[i];
    const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
    if (i + 2 < argc) {
        s_usage(stderr);
        return 2;
    }
    if (streq(verb, "init") && !arg) {
        int rc = 0;
        for (size_t k = 0; s_components[k]; k++)
            rc |= s_create(dir, s_components[k]);
        return rc;
    }
    static const char *const adds[][2] = {{"add-operator", "operator-"},
                                          {"add-producer", "producer-"},
                                          {"add-ident", "ident-"},
                                          {"add-service", ""}};
    for (size_t k = 0; k < sizeof adds / sizeof adds[0]; k++) {
        if (!streq(verb, adds[k][0]))
            continue;
        if (!arg) {
            s_usage(stderr);
            return 2;
        }
        char stem[EVS_KEYS_STEM_MAX + 16];
        snprintf(stem, sizeof stem, "%s%s", adds[k][1], arg);
        evs_peer_t peer;
        /* a service's name must not read as another kind */
        if (evs_peer_from_stem(stem, &peer) != 0 ||
            (!*adds[k][1] && peer.kind != EVS_PEER_SERVICE)) {
            fprintf(stderr, "tpctl: '%s' is not a valid name ([a-z0-9_-], at most 63)\n", arg);
            return 2;
        }
        return s_create(dir, stem);
    }
    if (streq(verb, "list") && !arg)
        return s_list(dir, NULL) | s_list(dir, "revoked");
    if (streq(verb, "revoke") && arg) {
        if (evs_keys_revoke(dir, arg) != 0) {
            fprintf(stderr, "tpctl: cannot revoke %s in %s: %s\n", arg, dir,
                    errno == ENOENT ? "no such key" : strerror(errno));
            return 1;
        }
        printf("revoked %s (moved to %s/revoked): running services refuse its requests "
               "within a second; a subscription to a service's events that it holds already "
               "ends when that service restarts\n",
               arg, dir);
        return 0;
    }
    s_usage(stderr);
    return 2;
}
