/* account_testrig.h: what the account core's unit tests share (account_notice_test.c,
 * account_deletion_test.c): a confirmed account made through Register and Confirm, and
 * the mails pending for one address. Linked by those tests only. */
#ifndef ACCOUNT_TESTRIG_H
#define ACCOUNT_TESTRIG_H
#include "account_internal.h"
#include "svc_testcore.h"

/** A test program's setup: a core under test into *@p tc (fresh random bytes for each
 *  command, a random secret, the clock at 2026-09-21 moving 1 ms with each commit), its
 *  output into *@p out. */
void acc_tr_start(svc_tc_t **tc, svc_out_t **out);

/** Checks that the state rebuilt from @p tc's log has the live state's summary, and that
 *  the summary contains @p needle. */
void acc_tr_check_replay(svc_tc_t *tc, const char *needle);

/** A confirmed account for @p email with mails in @p lang, made through Register and the
 *  mailed link's Confirm on @p tc; its id into @p id (ACC_ID_SIZE). The password is a
 *  stand-in for a prepared hash: these accounts never log in. */
void acc_tr_account(svc_tc_t *tc, const char *email, const char *lang, char *id);

/** The mails pending to @p to whose id starts with @p kind ":"; the last one into @p mail
 *  (overwritten; the caller frees its body) when not NULL. */
size_t acc_tr_pending(svc_tc_t *tc, const char *to, const char *kind, svc_mail_t *mail);
#endif
