/* tpctl_log.c: `tpctl log dump|stats|verify|replay` against a running service's log,
 * and `verify` naming the first damaged record of a copy changed behind its back. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "example.pb-c.h"
#include "forge.h"
#include "harness.h"

static int s_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    const char *tpctl = th_env("TPCTL");
    th_t *th = th_new("tpctllog");
    th_set(th, "tick_ms", "60000");
    TH_CHECK(th_start(th, th_env("TP_EXAMPLE"), "alpha", 10000) > 0);
    Tp__Example__Increment inc = TP__EXAMPLE__INCREMENT__INIT;
    inc.by = 2;
    const char *counters[] = {"a", "b", "a"};
    for (int i = 0; i < 3; i++) {
        inc.counter = (char *) counters[i];
        char rid[16];
        snprintf(rid, sizeof rid, "r-%d", i);
        Tp__Reply *r = th_call(th, "alpha", rid, "example.Increment", &inc.base, 5000);
        TH_CHECK(r && r->ok);
        if (r)
            tp__reply__free_unpacked(r, NULL);
    }
    char dir[512];
    th_data_dir(th, "alpha", dir, sizeof dir);

    /* all of it works beside the running daemon */
    char *out = NULL;
    TH_CHECK(th_run(&out, "%s log dump '%s'", tpctl, dir) == 0);
    TH_CHECK(s_lines(out) == 3);
    TH_CHECK(out && strstr(out, "\"payload\":{\"counter\":\"b\",\"by\":\"2\",\"value\":\"2\"}"));
    TH_CHECK(out && strstr(out, "\"causationId\":\"r-2\""));
    free(out);
    TH_CHECK(th_run(&out, "%s log dump '%s' --stream counter-a", tpctl, dir) == 0);
    TH_CHECK(s_lines(out) == 2);
    free(out);
    TH_CHECK(th_run(&out, "%s log dump '%s' --from 2 --to 2", tpctl, dir) == 0);
    TH_CHECK(s_lines(out) == 1 && strstr(out, "\"seq\":2,"));
    free(out);
    TH_CHECK(th_run(&out, "%s log dump '%s' --type Nope", tpctl, dir) == 0);
    TH_CHECK(out && s_lines(out) == 0);
    free(out);
    TH_CHECK(th_run(&out, "%s log stats '%s'", tpctl, dir) == 0);
    TH_CHECK(out && strstr(out, "\"CounterIncremented\": 3") && strstr(out, "\"headSeq\": 3") &&
             strstr(out, "\"service\": \"example\""));
    free(out);
    TH_CHECK(th_run(&out, "%s log verify '%s'", tpctl, dir) == 0);
    TH_CHECK(out && strstr(out, "\"ok\":true,\"checked\":3"));
    free(out);
    TH_CHECK(th_run(&out, "%s log replay '%s' --to-seq 2", tpctl, dir) == 0);
    TH_CHECK(out && strstr(out, "\"applied\":2,") && strstr(out, "\"total\":4"));
    free(out);
    TH_CHECK(th_run(&out, "%s log replay '%s' --to-time 2000-01-01T00:00:00Z", tpctl, dir) == 0);
    TH_CHECK(out && strstr(out, "\"applied\":0,"));
    free(out);
    /* bad use: a clear error and exit 2 */
    TH_CHECK(th_run(NULL, "%s log dump '%s' --from x 2>/dev/null", tpctl, dir) == 2);
    TH_CHECK(th_run(NULL, "%s log nope '%s' 2>/dev/null", tpctl, dir) == 2);
    TH_CHECK(th_run(NULL, "%s log stats /nonexistent/folder 2>/dev/null", tpctl) == 1);

    /* a copy damaged behind its back: verify names the record and exits 1 */
    th_stop(th, "alpha", SIGTERM);
    char copy[600];
    snprintf(copy, sizeof copy, "%s/copy", th_dir(th));
    TH_CHECK(th_run(NULL, "cp -r '%s' '%s'", dir, copy) == 0);
    TH_CHECK(forge_flip(copy, 2) == 0);
    TH_CHECK(th_run(&out, "%s log verify '%s' 2>/dev/null", tpctl, copy) == 1);
    TH_CHECK(out && strstr(out, "\"ok\":false") && strstr(out, "\"badSeq\":2"));
    free(out);

    th_destroy(&th);
    printf("tpctl_log: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
