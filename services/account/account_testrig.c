/* account_testrig.c: what the account core's unit tests share (account_testrig.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "account_testrig.h"

void acc_tr_start(svc_tc_t **tc, svc_out_t **out)
{
    CHECK(sodium_init() >= 0);
    *tc = svc_tc_new(&account_def);
    assert(*tc);
    svc_tc_set_random(*tc, SVC_TC_RANDOM_FRESH);
    randombytes_buf(svc_tc_secret(*tc), SVC_SECRET_SIZE);
    svc_tc_set_now(*tc, INT64_C(1790000000) * 1000000);
    svc_tc_set_step(*tc, 1000);
    *out = svc_tc_out(*tc);
}

void acc_tr_check_replay(svc_tc_t *tc, const char *needle)
{
    void *again = svc_tc_rebuild(tc);
    char *a = account_def.summary(svc_tc_state(tc));
    char *b = account_def.summary(again);
    CHECK(a && b && streq(a, b) && strstr(a, needle));
    if (svc_tc_verbose())
        printf("summary: %s\n", a ? a : "(none)");
    free(a);
    free(b);
    account_def.state_destroy(&again);
}

void acc_tr_account(svc_tc_t *tc, const char *email, const char *lang, char *id)
{
    Tp__Account__Register reg = TP__ACCOUNT__REGISTER__INIT;
    reg.email = (char *) email;
    reg.password = "$argon2id$v=19$m=19456,t=2,p=1$c3RhbmQtaW4$c3RhbmQtaW4";
    reg.language = (char *) lang;
    CHECK(svc_tc_do(tc, "Register", "", NULL, &reg.base) == 1);
    const acc_account_t *a = acc_find_email(svc_tc_state(tc), email);
    CHECK(a != NULL);
    snprintf(id, ACC_ID_SIZE, "%s", a ? a->id : "");
    svc_mail_t mails[8];
    size_t n = svc_tc_mails(tc, mails, 8);
    char token[128] = "";
    for (size_t i = 0; i < n; i++) {
        const char *p = strstr(mails[i].body, "token=");
        if (streq(mails[i].to, email) && p)
            sscanf(p + 6, "%127[A-Za-z0-9_-]", token);
        free(mails[i].body);
    }
    Tp__Account__Confirm c = TP__ACCOUNT__CONFIRM__INIT;
    c.token = token;
    char *verdict = zsys_sprintf("\001ok:%s", reg.password); /* as prepare leaves it */
    c.password = verdict;
    CHECK(svc_tc_do(tc, "Confirm", "", NULL, &c.base) == 1);
    zstr_free(&verdict);
}

size_t acc_tr_pending(svc_tc_t *tc, const char *to, const char *kind, svc_mail_t *mail)
{
    svc_mail_t mails[32];
    size_t n = svc_tc_mails(tc, mails, 32), k = 0;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s:", kind);
    for (size_t i = 0; i < n; i++) {
        bool it = streq(mails[i].to, to) && strncmp(mails[i].id, prefix, strlen(prefix)) == 0;
        if (it && mail) {
            if (k)
                free(mail->body);
            *mail = mails[i];
        }
        else
            free(mails[i].body);
        k += it;
    }
    return k;
}
