/* tpctl_config.c: `tpctl config defaults|check`, and the config every tpctl command
 * loads, judged with the tables of every daemon (svc_settings.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gw_config.h"
#include "tpctl.h"

/* At most this many daemons: the services and the gateway. */
#define S_DAEMONS_MAX 16

/* tpctl's own settings (its section "tpctl"): which of the keys it sends with. */
static const svc_setting_t s_tpctl[] = {
    {"as_operator", NULL, SVC_SETTING_STRING, 0, 0,
     "The operator tpctl acts as (its key operator-NAME in the keys folder); the\n"
     "command line's --as-operator NAME overrides it; without either, the only\n"
     "operator key there is.",
     SVC_SETTING_SECTION},
    {"as_producer", NULL, SVC_SETTING_STRING, 0, 0,
     "The same for `tpctl produce` (producer-NAME) and", SVC_SETTING_SECTION},
    {"as_ident", NULL, SVC_SETTING_STRING, 0, 0,
     "for `tpctl ident postident` (ident-NAME).", SVC_SETTING_SECTION},
    {NULL}};

/* Every daemon of the system: each service by its own name, the gateway, and tpctl. */
static size_t s_daemons(svc_settings_daemon_t *out)
{
    size_t n = 0;
    for (size_t i = 0; tpctl_service_names[i] && n < S_DAEMONS_MAX - 1; i++) {
        const svc_def_t *def = tpctl_service(tpctl_service_names[i]);
        out[n++] = (svc_settings_daemon_t){def->name, def->settings, true};
    }
    out[n++] = (svc_settings_daemon_t){"gateway", gw_settings, false};
    out[n++] = (svc_settings_daemon_t){"tpctl", s_tpctl, false};
    return n;
}

zconfig_t *tpctl_config_load(const char *path, char **errors)
{
    svc_settings_daemon_t daemons[S_DAEMONS_MAX];
    size_t n = s_daemons(daemons);
    return svc_settings_load(path, daemons, n, SVC_SETTINGS_COMPLETE, errors);
}

/* A service's section: what differs from the root for it (its upstreams, its reaction
 * delay), then its own settings; nothing when it has none of these. */
static void s_service(FILE *out, const svc_def_t *def)
{
    char ups[256] = "";
    for (size_t i = 0; def->upstreams && def->upstreams[i]; i++)
        snprintf(ups + strlen(ups), sizeof ups - strlen(ups), "%s%s", i ? "," : "",
                 def->upstreams[i]);
    if (!*ups && !def->react_delay_ms && !(def->settings && def->settings[0].key))
        return;
    fprintf(out, "%s\n", def->name);
    /* the runtime's settings by this service's own defaults; their help is at the root */
    svc_setting_t s = *svc_settings_find(svc_settings_runtime, "upstreams");
    s.help = NULL;
    if (*ups)
        svc_settings_print(out, &s, ups, 4);
    if (def->react_delay_ms) {
        char delay[24];
        snprintf(delay, sizeof delay, "%d", def->react_delay_ms);
        s = *svc_settings_find(svc_settings_runtime, "react_delay_ms");
        s.help = NULL;
        svc_settings_print(out, &s, delay, 4);
    }
    for (const svc_setting_t *own = def->settings; own && own->key; own++)
        svc_settings_print(out, own, own->dflt, 4);
}

/* `tpctl config defaults`: the whole config with every default, from the tables. */
static void s_defaults(FILE *out)
{
    fprintf(out,
            "#   trustportal.cfg: the system's configuration, one file for every daemon (ZPL,\n"
            "#   as read by CZMQ's zconfig): `name = value` lines, a section's settings\n"
            "#   indented by 4 spaces beneath its name, `#` comments. Here every setting\n"
            "#   with its default (`tpctl config defaults`); those without one are shown\n"
            "#   commented out. A daemon refuses to start with a setting that is not its\n"
            "#   own or the runtime's, or out of its range (`tpctl config check FILE`).\n"
            "#\n"
            "#   The root holds the settings of every service; a service's section (its\n"
            "#   name, or the one it is started with: -n NAME) overrides them for it.\n"
            "\n");
    const svc_setting_t *s;
    for (s = svc_settings_runtime; s->key; s++)
        if (s->where != SVC_SETTING_SECTION)
            svc_settings_print(out, s, s->dflt, 0);
    fprintf(out, "\n#   In a service's section only:\n");
    for (s = svc_settings_runtime; s->key; s++)
        if (s->where == SVC_SETTING_SECTION)
            svc_settings_print(out, s, NULL, 0);
    fprintf(out, "\n");
    for (size_t i = 0; tpctl_service_names[i]; i++)
        s_service(out, tpctl_service(tpctl_service_names[i]));
    fprintf(out, "gateway\n");
    for (s = gw_settings; s->key; s++)
        svc_settings_print(out, s, s->dflt, 4);
    fprintf(out, "tpctl\n");
    for (s = s_tpctl; s->key; s++)
        svc_settings_print(out, s, s->dflt, 4);
}

int tpctl_config(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "defaults") == 0) {
        s_defaults(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[0], "check") == 0) {
        char *errors = NULL;
        zconfig_t *config = tpctl_config_load(argv[1], &errors);
        if (config)
            printf("%s: ok\n", argv[1]);
        else
            fputs(errors ? errors : "refused\n", stderr);
        int rc = config ? 0 : 2;
        zconfig_destroy(&config);
        free(errors);
        return rc;
    }
    fprintf(stderr, "usage: tpctl config defaults | tpctl config check FILE\n");
    return 2;
}
