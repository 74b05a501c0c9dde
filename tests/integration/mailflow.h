/* mailflow.h: the mails that keep an owner informed, at a real SMTP server, shared by
 * status_mails (every change, the setting) and status_mails_crash (the account service
 * killed between a change and its mail): the five daemons with mail to the SMTP server,
 * an owner, orders taken through their statuses by an operator, the identification feed
 * and a production line, and the owner's mails counted by kind. Each helper reports what
 * went wrong on stderr. */
#ifndef MAILFLOW_H
#define MAILFLOW_H
#include "prodflow.h"

/** A system of the five daemons mailing to an SMTP server, and its owner. */
typedef struct {
    pf_t pf;             /**< pf.th: the system; pf_fact sends the production facts */
    int smtp_port;       /**< where the SMTP server listens (th_smtp_restart) */
    fl_customer_t owner; /**< signed up in the language mf_setup was given */
} mf_t;

/** A fresh system (th_new(@p name)): an SMTP server, the config (tick 200 ms, activation
 *  PF_ACTIVATION_S after shipping, revocations completed after PF_PROCESSING_S), the five
 *  daemons, and the owner @p email with mails in @p language. False when it did not come
 *  up. */
bool mf_setup(mf_t *mf, const char *name, const char *email, const char *language);

/** Places a signature card order for the owner, identified by PostIdent: "offen" until
 *  the operator records the signed application. Its id into @p order. */
bool mf_order(mf_t *mf, char *order, size_t ordersz);

/** The operator records, for @p order, "problem" (with @p text: Wartend), "resolve" or
 *  "application" (the signed application arrived). False when refused. */
bool mf_operator(mf_t *mf, const char *what, const char *order, const char *text);

/** Production fact @p kind ("certificates", "card", "shipped", "pin-shipped", "delivered",
 *  "pin-delivered", as pf_fact names them) for @p order, from the production line. */
bool mf_fact(mf_t *mf, const char *kind, const char *order);

/** The tracking number the production line gives @p order's card. */
void mf_tracking(const char *order, char *out, size_t outsz);

/** The owner's mails of notice kind @p kind (their Message-ID: "<kind>.<upstream>.<seq>@")
 *  in the SMTP server's Maildir now. */
int mf_count(mf_t *mf, const char *kind);

/** The owner's first mail whose text contains @p needle, when it is of kind @p kind: the
 *  message with its body decoded (caller frees), else NULL. */
char *mf_mail(mf_t *mf, const char *kind, const char *needle);

/** Waits up to @p timeout_ms until the owner has @p n mails of @p kind; the last count. */
int mf_wait(mf_t *mf, const char *kind, int n, int timeout_ms);

/** Waits until the account service has taken in what its upstreams wrote and has no mail
 *  left to send; false on time-out. */
bool mf_quiet(mf_t *mf, int timeout_ms);

/** Ends everything (th_destroy). */
void mf_destroy(mf_t *mf);
#endif
