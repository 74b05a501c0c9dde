/* witnesses.c: logs that witness each other, with the real order service and its follower
 * identification (both signing their heads every 300 ms while they write).
 *
 *  1. order's signed heads are in its log and in identification's (as HeadWitnessed), and
 *     `tpctl log verify ORDER --witnesses IDENT` agrees with them (also with --keys).
 *  2. A backup of order is taken; order writes on until identification has recorded a
 *     head past the backup's; order stops cleanly (its last head signed).
 *  3. Copies of order's folder changed behind its back, each still verifying on its own
 *     chain, are each named by the witness: the tail rewritten with recomputed hashes, the
 *     log truncated with its head fixed up, and the older backup restored.
 *  4. order started on the restored older backup: identification, whose checkpoint is past
 *     that head, stops following order (an ALARM in its log; `tpctl status` says why) and
 *     takes nothing of what order writes now, also not once order's head has passed its
 *     checkpoint, and again after a restart of identification (the checkpoint's hash).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"
#include "forge.h"
#include "harness.h"

static th_t *s_th;

/* @p n shops created in order, one tpctl process each, as the back office sends them. */
static bool s_shops(const char *tag, int n)
{
    static int round = 0;
    char *out = NULL;
    round++;
    int rc = th_run(&out,
                    "for i in $(seq 1 %d); do %s -c '%s' shop create SHOP-%s-%d-$i \"Shop $i\" "
                    ">/dev/null 2>&1 || { %s -c '%s' shop create SHOP-%s-%d-$i \"Shop $i\" 2>&1; "
                    "exit 1; }; done",
                    n, th_env("TPCTL"), th_config(s_th), tag, round, th_env("TPCTL"),
                    th_config(s_th), tag, round);
    if (rc != 0)
        fprintf(stderr, "shop create: %s\n", out ? out : "?");
    free(out);
    return rc == 0;
}

/* `tpctl log verify DIR --witnesses WITNESS [more]`: exit code; the JSON into *out. */
static int s_verify(json_t **out, char **err, const char *dir, const char *witness,
                    const char *more)
{
    return ctl_run(s_th, out, err, "log verify '%s' --witnesses '%s' %s", dir, witness,
                   more ? more : "");
}

/* The entry of the first witness in a verify's JSON. */
static json_t *s_witness0(json_t *j)
{
    return json_array_get(json_object_get(j, "witnesses"), 0);
}

/* The newest head of order that identification has recorded (0: none, -1: error). */
static int64_t s_newest(const char *order_dir, const char *ident_dir)
{
    json_t *j = NULL;
    int rc = s_verify(&j, NULL, order_dir, ident_dir, NULL);
    int64_t v = rc == 0 ? ctl_int(s_witness0(j), "newestSeq") : -1;
    json_decref(j);
    return v;
}

/* Writes to order until identification has recorded a head of order past @p seq. */
static int64_t s_write_past(const char *order_dir, const char *ident_dir, int64_t seq)
{
    int64_t newest = -1;
    for (int i = 0; i < 40; i++) {
        if (!s_shops("W", 3))
            return -1;
        zclock_sleep(400);
        newest = s_newest(order_dir, ident_dir);
        if (newest > seq)
            break;
    }
    return newest;
}

/* The forged copy @p name of order's (stopped) folder: named by the witness, while its
 * chain alone verifies. */
static void s_named(const char *name, const char *copy, const char *ident_dir,
                    const char *expect)
{
    json_t *j = NULL;
    char *err = NULL;
    TH_CHECK(ctl_run(s_th, &j, NULL, "log verify '%s'", copy) == 0);   /* the chain: fine */
    TH_CHECK(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    int rc = s_verify(&j, &err, copy, ident_dir, NULL);
    const char *why = json_string_value(json_object_get(s_witness0(j), "contradiction"));
    fprintf(stderr, "%s: exit %d: %s", name, rc, err ? err : "(no message)\n");
    TH_CHECK(rc == 1 && !json_is_true(json_object_get(j, "ok")));
    TH_CHECK(why && strstr(why, expect));
    TH_CHECK(err && strstr(err, "contradicted by the witness") && strstr(err, ident_dir) &&
             strstr(err, "(identification)"));
    json_decref(j);
    free(err);
}

/* identification's status of its upstream order: the contradiction ("" when none). */
static char *s_contradiction(void)
{
    json_t *j = NULL;
    char *why = NULL;
    if (ctl_run(s_th, &j, NULL, "status identification") == 0) {
        json_t *ups = json_object_get(json_object_get(j, "reply"), "upstreams");
        for (size_t i = 0; i < json_array_size(ups); i++) {
            json_t *u = json_array_get(ups, i);
            const char *name = json_string_value(json_object_get(u, "name"));
            const char *c = json_string_value(json_object_get(u, "contradiction"));
            if (name && streq(name, "order"))
                why = strdup(c ? c : "");
        }
    }
    json_decref(j);
    return why;
}

/* Waits for identification to stop following order; its reason, or NULL. */
static char *s_wait_contradiction(int timeout_ms)
{
    for (int64_t end = zclock_mono() + timeout_ms; zclock_mono() < end; zclock_sleep(200)) {
        char *why = s_contradiction();
        if (why && *why)
            return why;
        free(why);
    }
    return NULL;
}

/* Occurrences of @p needle in identification's log file. */
static int s_alarms(void)
{
    char *out = NULL;
    th_run(&out, "grep -c 'ALARM: upstream order contradicts' '%s/logs/identification.log'",
           th_dir(s_th));
    int n = out ? atoi(out) : 0;
    free(out);
    return n;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    s_th = th_new("witnesses");
    th_set(s_th, "witness_interval_ms", "300");
    bool up = th_start(s_th, th_env("TP_ORDER"), "order", 20000) > 0 &&
              th_start(s_th, th_env("TP_IDENTIFICATION"), "identification", 20000) > 0;
    TH_CHECK(up);
    char order_dir[512], ident_dir[512], backup[600], copy[600], restored[600];
    th_data_dir(s_th, "order", order_dir, sizeof order_dir);
    th_data_dir(s_th, "identification", ident_dir, sizeof ident_dir);
    snprintf(backup, sizeof backup, "%s/backup-order", th_dir(s_th));

    /* 1. signed heads, recorded by the follower */
    int64_t newest = up ? s_write_past(order_dir, ident_dir, 0) : -1;
    TH_CHECK(newest > 0);
    TH_CHECK(ctl_count(s_th, order_dir, "HeadSigned") >= 1);
    TH_CHECK(ctl_count(s_th, ident_dir, "HeadWitnessed") >= 1);
    json_t *j = NULL;
    TH_CHECK(s_verify(&j, NULL, order_dir, ident_dir, NULL) == 0);
    TH_CHECK(json_is_true(json_object_get(j, "ok")) &&
             ctl_int(s_witness0(j), "heads") == ctl_int(s_witness0(j), "agreed") &&
             ctl_int(s_witness0(j), "heads") >= 1);
    json_decref(j);
    char keys_opt[700];
    snprintf(keys_opt, sizeof keys_opt, "--keys '%s'", th_keys(s_th));
    TH_CHECK(s_verify(&j, NULL, order_dir, ident_dir, keys_opt) == 0);
    json_decref(j);
    /* a signature by another key than order's is not taken for order's */
    char other_keys[600];
    snprintf(other_keys, sizeof other_keys, "%s/other-keys", th_dir(s_th));
    TH_CHECK(th_run(NULL, "mkdir -m 700 '%s' && cp '%s/identification.pub' '%s/order.pub'",
                    other_keys, th_keys(s_th), other_keys) == 0);
    snprintf(keys_opt, sizeof keys_opt, "--keys '%s'", other_keys);
    TH_CHECK(s_verify(&j, NULL, order_dir, ident_dir, keys_opt) == 1);
    json_decref(j);

    /* quiet when nothing comes in: recording each other's signed heads signs nothing */
    zclock_sleep(1000);
    uint64_t quiet_o = th_head(s_th, "order"), quiet_i = th_head(s_th, "identification");
    zclock_sleep(1500);
    TH_CHECK(th_head(s_th, "order") == quiet_o && th_head(s_th, "identification") == quiet_i);
    /* a witness that holds nothing of the log says nothing: refused, not passed */
    char *err = NULL;
    TH_CHECK(s_verify(&j, &err, order_dir, order_dir, NULL) == 2);
    TH_CHECK(err && strstr(err, "holds nothing of order"));
    json_decref(j);
    free(err);

    /* 2. a backup; then more, until the follower has seen a head past it */
    TH_CHECK(ctl_run(s_th, &j, NULL, "log backup '%s' '%s'", order_dir, backup) == 0);
    int64_t backup_head = ctl_int(j, "headSeq");
    json_decref(j);
    newest = s_write_past(order_dir, ident_dir, backup_head + 1);
    fprintf(stderr, "backup head %lld; identification recorded order's head %lld\n",
            (long long) backup_head, (long long) newest);
    TH_CHECK(backup_head > 0 && newest > backup_head + 1);
    char digest[128];
    TH_CHECK(th_settle(s_th, "identification", digest, sizeof digest, 400, 15000));
    th_stop(s_th, "order", SIGTERM);
    int64_t ident_cp = ctl_checkpoint(s_th, ident_dir, "order");
    TH_CHECK(ident_cp >= newest);

    /* 3. forged copies: each verifies on its own, each is named by the witness */
    snprintf(copy, sizeof copy, "%s/forged", th_dir(s_th));
    TH_CHECK(th_run(NULL, "cp -a '%s' '%s'", order_dir, copy) == 0);
    TH_CHECK(forge_rewrite_tail(copy, (uint64_t) newest - 1) == 0);
    s_named("tail rewritten", copy, ident_dir, "rewritten");
    TH_CHECK(th_run(NULL, "rm -rf '%s' && cp -a '%s' '%s'", copy, order_dir, copy) == 0);
    TH_CHECK(forge_truncate(copy, (uint64_t) newest - 1) == 0);
    s_named("truncated", copy, ident_dir, "truncated");
    /* cut after the last signed head the witness recorded, but before what it took */
    TH_CHECK(th_run(NULL, "rm -rf '%s' && cp -a '%s' '%s'", copy, order_dir, copy) == 0);
    TH_CHECK(forge_truncate(copy, (uint64_t) ident_cp - 1) == 0);
    s_named("truncated past the last signed head", copy, ident_dir, "its checkpoint");
    snprintf(restored, sizeof restored, "%s/restored-order", th_dir(s_th));
    TH_CHECK(ctl_run(s_th, NULL, NULL, "log restore '%s' '%s'", backup, restored) == 0);
    s_named("older backup restored", restored, ident_dir, "older backup");
    /* the untouched log still agrees */
    TH_CHECK(s_verify(&j, NULL, order_dir, ident_dir, NULL) == 0);
    json_decref(j);

    /* 4. order runs on the older backup: identification stops following it */
    th_set(s_th, "order/data", restored);
    TH_CHECK(th_start(s_th, th_env("TP_ORDER"), "order", 20000) > 0);
    char *why = s_wait_contradiction(10000);
    fprintf(stderr, "identification on order rolled back: %s\n", why ? why : "(nothing)");
    TH_CHECK(why && strstr(why, "behind seq"));
    free(why);
    TH_CHECK(s_alarms() >= 1);
    /* what order writes now, up to past identification's checkpoint, is not taken */
    for (int i = 0; i < 40 && th_head(s_th, "order") <= (uint64_t) ident_cp + 5; i++)
        TH_CHECK(s_shops("R", 5));
    TH_CHECK(th_head(s_th, "order") > (uint64_t) ident_cp + 5);
    zclock_sleep(1500);
    TH_CHECK(th_head(s_th, "identification") != UINT64_MAX);
    th_stop(s_th, "identification", SIGTERM);
    TH_CHECK(ctl_checkpoint(s_th, ident_dir, "order") == ident_cp);
    /* restarted, it sees from its checkpoint's hash that order's record after it follows
     * another history */
    TH_CHECK(th_start(s_th, th_env("TP_IDENTIFICATION"), "identification", 20000) > 0);
    why = s_wait_contradiction(10000);
    fprintf(stderr, "identification restarted: %s\n", why ? why : "(nothing)");
    TH_CHECK(why && strstr(why, "rewritten or rolled back"));
    free(why);
    th_stop(s_th, "identification", SIGTERM);
    TH_CHECK(ctl_checkpoint(s_th, ident_dir, "order") == ident_cp);
    TH_CHECK(s_alarms() >= 2);

    th_destroy(&s_th);
    printf("witnesses: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
