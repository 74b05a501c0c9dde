/* personal_data.c: personal data is sealed in every log, opens only with the service's
 * key store, reaches the followers that need it, and is gone after an erasure.
 *
 * Real services (account, order, identification, production, revocation) on a fresh
 * folder: a customer registers and logs in, fails a login, and places an order whose
 * applicant carries marker values in every personal field. Then:
 *  - identification opened the case with the applicant's name and birth date (it asked
 *    the order service for the key: "$keys"), and revocation took the revocation
 *    password's hash;
 *  - with the services stopped, no marker is in any file of any data folder outside the
 *    key stores (every byte of data.mdb read), nor in `tpctl log dump` without the key
 *    store; with it (--vault) the markers are there;
 *  - the operator deletes the account: the account's e-mail address and the order's
 *    applicant (the order never reached production) read as erased in account, order
 *    and identification, also with their key stores; every service starts again and
 *    `tpctl log replay --vault` rebuilds each state; the erasures are in the logs
 *    (SubjectErased), and no marker is in the key stores' files either. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include "ctl.h"
#include "flow.h"

#define EMAIL "personal.canary@example.org"

static th_t *s_th;

/* Markers in the applicant's data: none may be found where it is sealed. */
static const char *const s_markers[] = {
    "Canaryvorname", "Canaryfamilie", "Canaryort", "Canarystrasse 7", "CNRY12345",
    "canary.applicant@example.org", "+49 30 7777 1234", "Canaryamt", EMAIL,
    "192.0.2.10",   /* the customer's client address (fl_anonymous) */
    NULL,
};

static const char *const s_services[] = {"account", "order", "identification", "production",
                                         "revocation", NULL};

/* Occurrences of any marker in the file @p path (whole file read). */
static int s_scan_file(const char *path, const char **found)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n > 0 ? malloc((size_t) n) : NULL;
    int hits = 0;
    if (buf && fread(buf, 1, (size_t) n, f) == (size_t) n)
        for (size_t i = 0; s_markers[i]; i++)
            if (memmem(buf, (size_t) n, s_markers[i], strlen(s_markers[i]))) {
                *found = s_markers[i];
                hits++;
            }
    free(buf);
    fclose(f);
    return hits;
}

/* Markers in the files of folder @p dir and below (not into key stores unless
 * @p vaults). */
static int s_scan_dir(const char *dir, bool vaults)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int hits = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (vaults || strcmp(e->d_name, "vault") != 0)
                hits += s_scan_dir(path, vaults);
            continue;
        }
        const char *found = NULL;
        int h = s_scan_file(path, &found);
        if (h)
            fprintf(stderr, "personal_data: %s holds \"%s\" in the clear\n", path, found);
        hits += h;
    }
    closedir(d);
    return hits;
}

/* tpctl log dump of @p service (with its key store when @p vault); caller frees. */
static char *s_dump(const char *service, bool vault)
{
    char dir[512];
    th_data_dir(s_th, service, dir, sizeof dir);
    char *out = NULL;
    int rc = vault ? th_run(&out, "%s log dump '%s' --vault '%s/vault'", th_env("TPCTL"), dir, dir)
                   : th_run(&out, "%s log dump '%s'", th_env("TPCTL"), dir);
    if (rc != 0) {
        fprintf(stderr, "personal_data: tpctl log dump %s: exit %d\n", service, rc);
        free(out);
        return NULL;
    }
    return out;
}

/* Markers in @p text; the client address only when @p addr (a failed login's is kept,
 * sealed for its hour, until the throttling window passed, whoever is deleted). */
static int s_markers_in(const char *text, bool addr)
{
    int n = 0;
    for (size_t i = 0; text && s_markers[i]; i++)
        if (addr || strcmp(s_markers[i], "192.0.2.10") != 0)
            n += strstr(text, s_markers[i]) != NULL;
    return n;
}

static void s_stop_all(void)
{
    for (size_t i = 0; s_services[i]; i++) {
        kill(th_pid(s_th, s_services[i]), SIGTERM);
        TH_CHECK(th_wait_exit(s_th, s_services[i], 10000) == 0);
    }
}

static bool s_start_all(void)
{
    return th_start_services(s_th, 15000) &&
           th_start(s_th, th_exe_of("production"), "production", 15000) > 0 &&
           th_start(s_th, th_exe_of("revocation"), "revocation", 15000) > 0;
}

/* The identification case of @p order as the operator sees it (GetCase). */
static Tp__Identification__Case *s_case(const char *order)
{
    Tp__Identification__GetCase q = TP__IDENTIFICATION__GET_CASE__INIT;
    q.order_id = (char *) order;
    Tp__Reply *r = th_call(s_th, "identification", NULL, "identification.GetCase", &q.base,
                           FL_CALL_MS);
    Tp__Identification__Case *c =
        r && r->ok ? tp__identification__case__unpack(NULL, r->body.len, r->body.data) : NULL;
    th_reply_free(&r);
    return c;
}

int main(void)
{
    zsys_init();
    zsys_set_logstream(NULL);
    s_th = th_new("personal");
    int port = th_smtp_start(s_th);
    TH_CHECK(port > 0);
    fl_configure(s_th, port);
    bool up = port > 0 && s_start_all();
    TH_CHECK(up);

    fl_customer_t c;
    TH_CHECK(up && fl_signup(s_th, EMAIL, &c));
    /* a failed login: the client address is kept for throttling, sealed for its hour */
    Tp__Account__Login login = TP__ACCOUNT__LOGIN__INIT;
    login.email = EMAIL;
    login.password = "not the password at all";
    Tp__Reply *r = th_call_as(s_th, "account", &fl_anonymous, NULL, "account.Login", &login.base,
                              FL_CALL_MS);
    TH_CHECK(r && r->ok);   /* refused in the reply's body, as every login answer is */
    th_reply_free(&r);

    fl_order_t o;
    fl_order_init(&o, "signature-card", NULL, "postident");
    o.applicant.given_names = "Canaryvorname";
    o.applicant.family_name = "Canaryfamilie";
    o.applicant.birth_place = "Canaryort";
    o.home.street = "Canarystrasse 7";
    o.applicant.document_number = "CNRY12345";
    o.applicant.email = "canary.applicant@example.org";
    o.applicant.phone = "+49 30 7777 1234";
    o.applicant.document_authority = "Canaryamt";
    char order[64] = "";
    TH_CHECK(fl_place(s_th, &c, NULL, &o, order, sizeof order));
    char number[64];
    TH_CHECK(fl_wait_postident(s_th, order, number, sizeof number, 15000));

    /* the follower that needs them has the applicant's name and birth date, opened */
    Tp__Identification__Case *ca = s_case(order);
    TH_CHECK(ca && strcmp(ca->applicant_name, "Canaryvorname Canaryfamilie") == 0 &&
             strcmp(ca->applicant_birth_date, "1984-08-12") == 0);
    if (ca)
        fprintf(stderr, "personal_data: identification's case: %s, %s\n", ca->applicant_name,
                ca->applicant_birth_date);
    if (ca)
        tp__identification__case__free_unpacked(ca, NULL);
    /* revocation took the revocation password's hash (its copy, sealed for the order) */
    for (int i = 0; i < 100 && fl_count_events(s_th, "revocation", "ProductKnown", order) < 1; i++)
        zclock_sleep(100);
    TH_CHECK(fl_count_events(s_th, "revocation", "ProductKnown", order) == 1);

    s_stop_all();
    /* nothing of it in the clear in any file of any log */
    for (size_t i = 0; s_services[i]; i++) {
        char dir[512];
        th_data_dir(s_th, s_services[i], dir, sizeof dir);
        TH_CHECK(s_scan_dir(dir, false) == 0);
    }
    char *sealed = s_dump("order", false), *opened = s_dump("order", true);
    TH_CHECK(sealed && strstr(sealed, "sealed:1:order:") && s_markers_in(sealed, true) == 0);
    TH_CHECK(opened && s_markers_in(opened, true) >= 7);
    free(sealed);
    free(opened);
    sealed = s_dump("account", false);
    opened = s_dump("account", true);
    TH_CHECK(sealed && !strstr(sealed, EMAIL) && !strstr(sealed, "$argon2id$"));
    TH_CHECK(opened && strstr(opened, EMAIL) && strstr(opened, "$argon2id$"));
    free(sealed);
    free(opened);
    sealed = s_dump("revocation", false);
    opened = s_dump("revocation", true);
    TH_CHECK(sealed && !strstr(sealed, "$argon2id$"));
    TH_CHECK(opened && strstr(opened, "$argon2id$"));
    free(sealed);
    free(opened);

    /* the operator deletes the account: the e-mail address goes, and the applicant of
     * the order that never reached production */
    TH_CHECK(s_start_all());
    char *err = NULL;
    json_t *j = NULL;
    int rc = ctl_run(s_th, &j, &err, "account delete %s --reason 'asked by the customer'",
                     c.account_id);
    if (rc != 0)
        fprintf(stderr, "tpctl account delete: %d: %s\n", rc, err ? err : "");
    TH_CHECK(rc == 0);
    json_decref(j);
    free(err);
    for (int i = 0; i < 150 && (fl_count_events(s_th, "identification", "SubjectErased", NULL) < 1 ||
                                fl_count_events(s_th, "revocation", "SubjectErased", NULL) < 1);
         i++)
        zclock_sleep(100);
    TH_CHECK(fl_count_events(s_th, "account", "SubjectErased", NULL) == 1);
    TH_CHECK(fl_count_events(s_th, "order", "SubjectErased", NULL) == 1);
    TH_CHECK(fl_count_events(s_th, "order", "OrderDataErased", order) == 1);
    TH_CHECK(fl_count_events(s_th, "identification", "SubjectErased", NULL) == 1);
    TH_CHECK(fl_count_events(s_th, "revocation", "SubjectErased", NULL) == 1);
    ca = s_case(order);   /* the running follower's state holds none of it either */
    TH_CHECK(ca && strcmp(ca->applicant_name, "[erased]") == 0);
    if (ca)
        tp__identification__case__free_unpacked(ca, NULL);

    s_stop_all();
    for (size_t i = 0; s_services[i]; i++) {
        char dir[512];
        th_data_dir(s_th, s_services[i], dir, sizeof dir);
        TH_CHECK(s_scan_dir(dir, false) == 0);
        opened = s_dump(s_services[i], true);
        TH_CHECK(opened && s_markers_in(opened, false) == 0);
        /* account, order, identification and revocation held some of it: now erased */
        bool held = strcmp(s_services[i], "production") != 0;
        TH_CHECK(!held || (opened && strstr(opened, "[erased]")));
        /* the password's and the revocation password's hashes went with it */
        TH_CHECK(opened && !strstr(opened, "$argon2id$"));
        free(opened);
        char *out = NULL;
        rc = th_run(&out, "%s log replay '%s' --vault '%s/vault'", th_env("TPCTL"), dir, dir);
        TH_CHECK(rc == 0);
        free(out);
    }
    /* and every service starts on what is left */
    TH_CHECK(s_start_all());

    th_destroy(&s_th);
    printf("personal_data: %s\n", th_failed ? "FAILED" : "OK");
    return th_failed ? 1 : 0;
}
