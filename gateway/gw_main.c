/* gw_main.c: tp-gateway, the HTTP front of trustportal (JSON API and the web portal). */
#include <stdio.h>
#include <string.h>
#include "gw_backend.h"
#include "gw_config.h"
#include "gw_routes.h"
#include "gw_server.h"
#include "gw_session.h"
#include "gw_sse.h"

static void s_usage(FILE *f)
{
    fprintf(f, "usage: tp-gateway [-c CONFIG] [-v]\n"
               "       tp-gateway --routes     print every API route as \"METHOD PATH\"\n");
}

int main(int argc, char **argv)
{
    const char *config_file = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            config_file = argv[++i];
        else if (strcmp(argv[i], "--routes") == 0) {
            gw_routes_print(stdout);
            return 0;
        }
        else if (strcmp(argv[i], "-v") == 0)
            ;   /* the log goes to stderr anyway */
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            s_usage(stdout);
            return 0;
        }
        else {
            s_usage(stderr);
            return 2;
        }
    }
    zsys_init();
    zsys_set_logident("gateway");
    zsys_set_logstream(stderr);
    /* the gateway's section by its table; the root and other sections as far as it knows */
    const svc_settings_daemon_t me = {"gateway", gw_settings, false};
    zconfig_t *zc =
        config_file ? svc_settings_open(config_file, &me, 1, 0) : zconfig_new("root", NULL);
    if (!zc)
        return 1;   /* said */
    static gw_config_t config;   /* outlives the server's threads */
    int rc = gw_config_load(zc, &config);
    zconfig_destroy(&zc);
    if (rc != 0) {
        gw_config_free(&config);
        return 1;
    }
    gw_config_fit(&config);
    gw_backend_init(&config);
    gw_session_init();
    gw_events_t *hub = gw_events_new(&config);   /* live updates (GET /api/v1/events) */
    gw_sse_init(hub);
    gw_server_t *server = gw_server_new(&config);
    if (!server) {
        gw_events_destroy(&hub);
        gw_config_free(&config);
        return 1;
    }
    zsys_info("gateway: listening on %s:%d (%d threads), public origin %s, web root %s",
              config.listen, gw_server_port(server), config.threads, config.public_origin,
              config.web_root);
    while (!zsys_interrupted)
        zclock_sleep(100);
    zsys_info("gateway: stopping");
    gw_events_stop(hub);          /* ends the streams: no connection stays suspended */
    gw_server_destroy(&server);   /* joins the workers: their sockets close with them */
    gw_events_destroy(&hub);      /* the connections have closed their streams */
    gw_backend_thread_done();
    gw_config_free(&config);
    return 0;
}
