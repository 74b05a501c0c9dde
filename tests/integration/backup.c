/* backup.c: `tpctl log backup` and `tpctl log restore` against the real order service and
 * its follower identification. A backup is taken while an operator's commands keep coming
 * in (tpctl shop create in a loop): it verifies, holds the log, the key and the key store
 * (a few keys put into order's folder before it started) and nothing else, and its head
 * lies between the heads before and after it. A restore into the
 * running service's folder is refused, naming the process, and changes nothing. Then
 * order is stopped and the backup restored into a new folder; order started there
 * verifies and answers with the backup's state; identification, stopped before the
 * backup (so that it has seen nothing the backup lacks), resumes: its checkpoint of order
 * is within order's head, and an order placed now gets its identification case. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ctl.h"
#include "evs_vault.h"
#include "flow.h"

static th_t *s_th;
static const char *s_tpctl;

/* The subjects of the keys put into order's key store, and their keys. */
static const char *const s_subjects[] = {"order:TP-2026-000001", "account:acc-1f3a",
                                         "order:TP-2026-000002"};
#define S_SUBJECTS 3
static uint8_t s_keys[S_SUBJECTS][EVS_VAULT_KEY_SIZE];

static bool s_exists(const char *dir, const char *name)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static bool s_mode(const char *dir, const char *name, mode_t mode)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && (st.st_mode & 0777) == mode;
}

/* Keys for s_subjects in the key store of the data folder @p data_dir (made when missing). */
static bool s_vault_make(const char *data_dir)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/" EVS_VAULT_DIR, data_dir);
    evs_vault_t *v = NULL;
    bool ok =
        th_run(NULL, "mkdir -p -m 700 '%s'", data_dir) == 0 && evs_vault_open(dir, false, &v) == 0;
    for (int i = 0; ok && i < S_SUBJECTS; i++)
        ok = evs_vault_get_or_create(v, s_subjects[i], s_keys[i]) == 0;
    ok = ok && evs_vault_commit(v) == 0;
    evs_vault_close(&v);
    return ok;
}

/* Whether the key store in @p dir (a data folder or a backup) has s_subjects' keys. */
static bool s_vault_has(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/" EVS_VAULT_DIR, dir);
    evs_vault_t *v = NULL;
    uint8_t key[EVS_VAULT_KEY_SIZE];
    bool ok = evs_vault_open(path, true, &v) == 0;
    for (int i = 0; ok && i < S_SUBJECTS; i++)
        ok = evs_vault_get(v, s_subjects[i], key, NULL) == 0 &&
             memcmp(key, s_keys[i], sizeof key) == 0;
    evs_vault_close(&v);
    return ok;
}

/* A customer of the gateway (order trusts the gateway's account id) places an order
 * with PostIdent; its id into @p id. */
static bool s_place(const char *account, char *id, size_t idsz)
{
    fl_customer_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.account_id, sizeof c.account_id, "%s", account);
    c.as = (th_actor_t) {"customer", c.account_id, "192.0.2.20", NULL};
    fl_order_t o;
    fl_order_init(&o, "signature-card", NULL, "postident");
    return fl_place(s_th, &c, NULL, &o, id, idsz);
}

/* The backup, taken while the writer runs; its JSON (caller decrefs) or NULL. */
static json_t *s_backup_while_writing(const char *order_dir, const char *dest)
{
    /* the operator's commands, one process each, as a back office sends them */
    char loop[1400];
    snprintf(loop, sizeof loop,
             "for i in $(seq 1 120); do %s -c '%s' shop create BACKUP-$i \"Shop $i\" "
             ">/dev/null || exit 1; done",
             s_tpctl, th_config(s_th));
    char *argv[] = {"/bin/sh", "-c", loop, NULL};
    uint64_t start = th_head(s_th, "order");
    TH_CHECK(th_spawn(s_th, "writer", argv) > 0);
    /* under way: some of its commands are in */
    uint64_t before = start;
    for (int i = 0; i < 200 && before < start + 10; i++) {
        zclock_sleep(50);
        before = th_head(s_th, "order");
    }
    TH_CHECK(before != UINT64_MAX && before >= start + 10);
    json_t *j = NULL;
    char *err = NULL;
    int rc = ctl_run(s_th, &j, &err, "log backup '%s' '%s'", order_dir, dest);
    uint64_t after = th_head(s_th, "order");
    bool writing = th_running(s_th, "writer");
    fprintf(stderr, "backup while writing: heads %llu <= %lld <= %llu, writer %s\n",
            (unsigned long long) before, (long long) ctl_int(j, "headSeq"),
            (unsigned long long) after, writing ? "still running" : "done");
    if (rc != 0)
        fprintf(stderr, "tpctl log backup: exit %d: %s\n", rc, err ? err : "");
    TH_CHECK(rc == 0 && json_is_object(j));
    TH_CHECK(writing);
    TH_CHECK(ctl_int(j, "headSeq") >= (int64_t) before && ctl_int(j, "headSeq") <= (int64_t) after);
    TH_CHECK(ctl_int(j, "events") == ctl_int(j, "headSeq") && ctl_int(j, "bytes") > 0);
    TH_CHECK(json_is_true(json_object_get(j, "secretKey")));
    TH_CHECK(json_is_true(json_object_get(j, "vault")) && ctl_int(j, "vaultKeys") >= S_SUBJECTS);
    const char *service = json_string_value(json_object_get(j, "service"));
    const char *hash = json_string_value(json_object_get(j, "headHash"));
    const char *where = json_string_value(json_object_get(j, "dest"));
    TH_CHECK(service && streq(service, "order"));
    TH_CHECK(hash && strlen(hash) == 64);
    TH_CHECK(where && streq(where, dest));
    free(err);
    return j;
}

/* A restore into the folder of the running order service: refused, naming the process;
 * nothing moved, and order goes on answering. */
static void s_restore_refused(const char *backup, const char *order_dir)
{
    char expect[128];
    snprintf(expect, sizeof expect, "in use by process %d (tp-order)",
             (int) th_pid(s_th, "order"));
    const char *modes[] = {"", "--replace"};
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        int rc = ctl_run(s_th, NULL, &err, "log restore '%s' '%s' %s", backup, order_dir, modes[i]);
        bool named = err && strstr(err, expect);
        if (rc != 1 || !named)
            fprintf(stderr, "restore into the running folder %s: exit %d, stderr: %s", modes[i],
                    rc, err ? err : "(none)\n");
        TH_CHECK(rc == 1 && named);
        free(err);
    }
    char *out = NULL;
    th_run(&out, "ls -d '%s'.replaced-* 2>/dev/null", order_dir);
    TH_CHECK(out && !*out);
    free(out);
    TH_CHECK(th_head(s_th, "order") != UINT64_MAX);
}

/* Into a new folder: the backup's head, the key; again only with --replace, which moves
 * the first one aside. */
static void s_restore_new(const char *backup, json_t *taken, const char *new_dir)
{
    json_t *j = NULL;
    char *err = NULL;
    int rc = ctl_run(s_th, &j, &err, "log restore '%s' '%s'", backup, new_dir);
    if (rc != 0)
        fprintf(stderr, "tpctl log restore: exit %d: %s\n", rc, err ? err : "");
    free(err);
    TH_CHECK(rc == 0 && json_is_object(j));
    TH_CHECK(ctl_int(j, "headSeq") == ctl_int(taken, "headSeq"));
    TH_CHECK(json_equal(json_object_get(j, "headHash"), json_object_get(taken, "headHash")));
    TH_CHECK(json_is_true(json_object_get(j, "secretKey")));
    TH_CHECK(s_mode(new_dir, "data.mdb", 0600) && s_mode(new_dir, "secret.key", 0600));
    TH_CHECK(json_is_true(json_object_get(j, "vault")));
    TH_CHECK(ctl_int(j, "vaultKeys") == ctl_int(taken, "vaultKeys"));
    TH_CHECK(s_mode(new_dir, "vault/data.mdb", 0600) && s_vault_has(new_dir));
    json_decref(j);

    TH_CHECK(ctl_run(s_th, NULL, &err, "log restore '%s' '%s'", backup, new_dir) == 1);
    TH_CHECK(err && strstr(err, "holds a log already") && strstr(err, "--replace"));
    free(err);
    TH_CHECK(ctl_run(s_th, &j, NULL, "log restore '%s' '%s' --replace", backup, new_dir) == 0);
    const char *replaced = json_string_value(json_object_get(j, "replaced"));
    TH_CHECK(replaced && strstr(replaced, ".replaced-"));
    TH_CHECK(replaced && s_exists(replaced, "data.mdb") && s_exists(replaced, "secret.key"));
    TH_CHECK(replaced && s_exists(replaced, "vault/data.mdb") && s_vault_has(new_dir));
    TH_CHECK(ctl_int(j, "headSeq") == ctl_int(taken, "headSeq"));
    json_decref(j);
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    s_tpctl = th_env("TPCTL");
    s_th = th_new("backup");
    th_set(s_th, "tick_ms", "200");
    char order_dir[512], ident_dir[512], backup[600], new_dir[600], id[64], number[64];
    th_data_dir(s_th, "order", order_dir, sizeof order_dir);
    th_data_dir(s_th, "identification", ident_dir, sizeof ident_dir);
    TH_CHECK(s_vault_make(order_dir));
    bool up = th_start(s_th, th_env("TP_ORDER"), "order", 20000) > 0 &&
              th_start(s_th, th_env("TP_IDENTIFICATION"), "identification", 20000) > 0;
    TH_CHECK(up);
    snprintf(backup, sizeof backup, "%s/backups/order-1", th_dir(s_th));
    snprintf(new_dir, sizeof new_dir, "%s/restored/order", th_dir(s_th));
    TH_CHECK(th_run(NULL, "mkdir -m 700 '%s/backups'", th_dir(s_th)) == 0);

    /* an order the follower has taken in; then it stops, before the backup */
    TH_CHECK(up && s_place("acc-backup-1", id, sizeof id));
    TH_CHECK(fl_wait_postident(s_th, id, number, sizeof number, 15000));
    char digest[128];
    TH_CHECK(th_settle(s_th, "identification", digest, sizeof digest, 400, 15000));
    th_stop(s_th, "identification", SIGTERM);

    json_t *taken = s_backup_while_writing(order_dir, backup);
    int64_t head = ctl_int(taken, "headSeq");
    TH_CHECK(s_exists(backup, "data.mdb") && s_exists(backup, "secret.key"));
    TH_CHECK(!s_exists(backup, "lock.mdb") && !s_exists(backup, "service.lock"));
    TH_CHECK(s_mode(backup, "data.mdb", 0600) && s_mode(backup, "secret.key", 0600));
    TH_CHECK(s_mode(backup, "vault", 0700) && s_mode(backup, "vault/data.mdb", 0600));
    TH_CHECK(!s_exists(backup, "vault/lock.mdb") && s_vault_has(backup));
    json_t *j = NULL;
    TH_CHECK(ctl_run(s_th, &j, NULL, "log verify '%s'", backup) == 0);
    TH_CHECK(json_is_true(json_object_get(j, "ok")) && ctl_int(j, "checked") == head);
    json_decref(j);
    /* a backup is never made over anything */
    char *err = NULL;
    TH_CHECK(ctl_run(s_th, NULL, &err, "log backup '%s' '%s'", order_dir, backup) == 1);
    TH_CHECK(err && strstr(err, "never replaces"));
    free(err);

    s_restore_refused(backup, order_dir);

    /* the writer done; order stopped, with more than the backup holds */
    TH_CHECK(th_wait_exit(s_th, "writer", 60000) == 0);
    th_stop(s_th, "order", SIGTERM);
    int64_t old_head = -1;
    TH_CHECK(ctl_run(s_th, &j, NULL, "log stats '%s'", order_dir) == 0);
    old_head = ctl_int(j, "headSeq");
    json_decref(j);
    TH_CHECK(old_head > head);
    fprintf(stderr, "order stopped at %lld, the backup has %lld\n", (long long) old_head,
            (long long) head);

    s_restore_new(backup, taken, new_dir);
    TH_CHECK(th_run(NULL, "cmp -s '%s/secret.key' '%s/secret.key'", order_dir, new_dir) == 0);

    /* order on the restored folder: it verifies and answers with the backup's state */
    th_set(s_th, "order/data", new_dir);
    TH_CHECK(th_start(s_th, th_env("TP_ORDER"), "order", 20000) > 0);
    TH_CHECK(th_head(s_th, "order") == (uint64_t) head);
    TH_CHECK(ctl_run(s_th, &j, NULL, "log verify '%s'", new_dir) == 0);
    TH_CHECK(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    TH_CHECK(ctl_run(s_th, &j, NULL, "shop list") == 0);
    json_t *shops = json_object_get(json_object_get(j, "reply"), "shops");
    int created = ctl_count(s_th, new_dir, "ShopCreated");
    TH_CHECK(created > 10 && json_array_size(shops) == (size_t) created);
    json_decref(j);

    /* the follower resumes: its checkpoint is within the restored head, it catches up,
     * and what order does now reaches it */
    int64_t cp = ctl_checkpoint(s_th, ident_dir, "order");
    fprintf(stderr, "identification's checkpoint of order: %lld (order's head %lld)\n",
            (long long) cp, (long long) head);
    TH_CHECK(cp > 0 && cp <= head);
    TH_CHECK(th_start(s_th, th_env("TP_IDENTIFICATION"), "identification", 20000) > 0);
    char id2[64] = "";
    TH_CHECK(s_place("acc-backup-2", id2, sizeof id2));
    TH_CHECK(fl_wait_postident(s_th, id2, number, sizeof number, 15000));
    TH_CHECK(th_settle(s_th, "identification", digest, sizeof digest, 400, 15000));
    uint64_t now = th_head(s_th, "order");
    th_stop(s_th, "identification", SIGTERM);
    cp = ctl_checkpoint(s_th, ident_dir, "order");
    TH_CHECK(cp > head && cp <= (int64_t) now);
    TH_CHECK(fl_count_events(s_th, "identification", "CaseOpened", id2) == 1);
    th_check_replay(s_th, "order");

    json_decref(taken);
    th_destroy(&s_th);
    printf("backup: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
