/* single_instance.c: one process per log. A second copy of each daemon on the same data
 * folder exits at once, non-zero, naming the folder and the process that serves it; a
 * copy with a folder of its own but the same run folder does not take the first one's
 * sockets; a second gateway on the same port names the address in use. Each time the
 * first keeps serving. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gw_client.h"
#include "harness.h"

#define S_EXIT_MS 2000   /* how soon a refused copy must be gone */

/* Runs @p argv as daemon @p copy while the first serves; checks that it ends by itself
 * within S_EXIT_MS, non-zero, with each of @p needles (NULL-terminated) in its log. A
 * copy still running then is stopped, so that the caller's check of the first is made
 * without it, as it would be found once the copy was gone. */
static void s_refused(th_t *th, const char *copy, char *const argv[], const char *const needles[])
{
    int64_t t0 = zclock_mono();
    TH_CHECK(th_spawn(th, copy, argv) > 0);
    int rc = th_wait_exit(th, copy, S_EXIT_MS);
    int64_t ms = zclock_mono() - t0;
    if (rc <= 0)
        fprintf(stderr, "%s: %s after %lld ms\n", copy, rc < 0 ? "still running" : "exit 0",
                (long long) ms);
    TH_CHECK(rc > 0 && ms <= S_EXIT_MS);
    if (rc < 0)   /* gone, it takes the socket files it bound with it */
        th_stop(th, copy, SIGTERM);
    char *log = NULL;
    th_run(&log, "cat '%s/logs/%s.log'", th_dir(th), copy);
    for (size_t i = 0; needles[i]; i++) {
        bool has = log && strstr(log, needles[i]);
        if (!has)
            fprintf(stderr, "%s: no \"%s\" in its log:\n%s\n", copy, needles[i],
                    log ? log : "(none)");
        TH_CHECK(has);
    }
    free(log);
}

/* The program's name as a refusal gives it (argv[0] without the folder). */
static const char *s_program(const char *exe)
{
    const char *slash = strrchr(exe, '/');
    return slash ? slash + 1 : exe;
}

/* Service @p name: started, then a second copy on the same config and folder. */
static void s_same_folder(th_t *th, const char *name)
{
    const char *exe = th_exe_of(name);
    pid_t first = th_start(th, exe, name, 15000);
    TH_CHECK(first > 0);
    if (first <= 0)
        return;
    char dir[512], message[800], copy[64];
    th_data_dir(th, name, dir, sizeof dir);
    snprintf(message, sizeof message,
             "%s: the log in %s is in use by process %d (%s); not starting", name, dir,
             (int) first, s_program(exe));
    snprintf(copy, sizeof copy, "second-%s", name);
    char *argv[] = {(char *) exe, "-c", (char *) th_config(th), "-n", (char *) name, NULL};
    const char *needles[] = {message, NULL};
    s_refused(th, copy, argv, needles);
    TH_CHECK(th_running(th, name) && th_pid(th, name) == first);
    TH_CHECK(th_head(th, name) != UINT64_MAX);   /* over its socket file: still there */
}

/* Service @p name (running) again with a data folder of its own but the same run folder:
 * its sockets would replace the first one's; refused before it opens a log. */
static void s_same_sockets(th_t *th, const char *name)
{
    zconfig_t *config = zconfig_load(th_config(th));
    TH_CHECK(config);
    if (!config)
        return;
    char dir[512], path[600], cfg[600], message[800], key[128];
    snprintf(dir, sizeof dir, "%s/other-%s", th_dir(th), name);
    snprintf(key, sizeof key, "%s/data", name);
    zconfig_put(config, key, dir);
    snprintf(cfg, sizeof cfg, "%s/other.cfg", th_dir(th));
    TH_CHECK(zconfig_save(config, cfg) == 0);
    zconfig_destroy(&config);
    const char *exe = th_exe_of(name);
    snprintf(message, sizeof message, "%s: ipc://%s/run/%s.pub is served by process %d (%s); "
             "not starting", name, th_dir(th), name, (int) th_pid(th, name), s_program(exe));
    char *argv[] = {(char *) exe, "-c", cfg, "-n", (char *) name, NULL};
    const char *needles[] = {message, NULL};
    s_refused(th, "other-folder", argv, needles);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    TH_CHECK(access(path, F_OK) != 0);
    TH_CHECK(th_head(th, name) != UINT64_MAX);
}

/* The gateway: a second one on the same address. */
static void s_gateway(th_t *th)
{
    char base[64], message[128];
    TH_CHECK(gwc_start_gateway(th, "account", base, sizeof base));
    const char *addr = base + strlen("http://");
    snprintf(message, sizeof message, "gateway: cannot listen on %s", addr);
    char *argv[] = {(char *) th_env("TP_GATEWAY"), "-c", (char *) th_config(th), NULL};
    const char *needles[] = {message, "Address already in use", NULL};
    s_refused(th, "second-gateway", argv, needles);
    gwc_t *c = gwc_new(base);
    gwc_resp_t r;
    TH_CHECK(gwc_req(c, "GET", "/healthz", NULL, NULL, &r) == 200);
    gwc_resp_free(&r);
    gwc_destroy(&c);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    th_t *th = th_new("single");
    static const char *names[] = {"account", "order", "identification", "production",
                                  "revocation", "example"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        s_same_folder(th, names[i]);
    s_same_sockets(th, "order");
    /* killed, it leaves its lock file and socket files: neither is in the way */
    TH_CHECK(th_restart(th, "order", 15000));
    s_gateway(th);
    th_destroy(&th);
    printf("single_instance: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
