/* flow.h: a customer's way through account, order and identification (register,
 * confirm, log in, redeem a shop code, order, follow the order), shared by the
 * integration tests of the three services. Each helper fails with a message on
 * stderr and false or NULL; the tests decide what to check. */
#ifndef FLOW_H
#define FLOW_H
#include "account.pb-c.h"
#include "harness.h"
#include "identification.pb-c.h"
#include "order.pb-c.h"

/** Time-out of one call (ms): Argon2id hashing sits behind some of them. */
#define FL_CALL_MS 10000

/** The demo shop the order service seeds (order.h). */
#define FL_DEMO_SHOP "shop-demo"
#define FL_DEMO_CODE "DEMO-SHOP-2026"

extern const th_actor_t fl_operator;  /**< role "operator" */
extern const th_actor_t fl_producer;  /**< a production line's key */
extern const th_actor_t fl_ident;     /**< the ident provider's feed's key */
extern const th_actor_t fl_anonymous; /**< no role, no account, a client address */

/** Config of the three services: tick 200 ms; mails to the SMTP server on @p smtp_port
 *  (no TLS), or into the outbox folder when @p smtp_port < 0. */
void fl_configure(th_t *th, int smtp_port);

/** A customer account and its session. */
typedef struct {
    char email[128];
    char password[64];
    char account_id[64];
    char session[128];
    th_actor_t as;      /**< role "customer", actor_account = account_id */
    th_actor_t officer; /**< role "officer", the same account */
} fl_customer_t;

/** Registers @p email, reads the confirmation link from the mail (SMTP server or
 *  outbox, as configured), confirms and logs in; mails in English. */
bool fl_signup(th_t *th, const char *email, fl_customer_t *c);

/** The same with mails in @p language ("de" or "en"). */
bool fl_signup_in(th_t *th, const char *email, const char *language, fl_customer_t *c);

/** Waits up to @p timeout_ms for the mail with a "token=" link to @p email; the token
 *  into @p token. */
bool fl_mail_token(th_t *th, const char *email, char *token, size_t tokensz, int timeout_ms);

/** Redeems @p code for @p c, retrying while the account service has not yet learned
 *  the shop from the order service ("unknown_shop_code"), up to 10 s. */
bool fl_redeem(th_t *th, const fl_customer_t *c, const char *code);

/** A PlaceOrder with valid data of an adult applicant with a valid id card, and for a
 *  seal card the organization, with the storage it points into. */
typedef struct {
    Tp__Order__PlaceOrder cmd;
    Tp__Order__Applicant applicant;
    Tp__Order__Address home, seat;
    Tp__Order__Organization org;
    Tp__Order__Representative rep;
    Tp__Order__Representative *reps[1];
    char expiry[32];
} fl_order_t;

/** Fills @p o for @p product ("seal-card" gets the organization), @p shop (NULL = none)
 *  and @p method. */
void fl_order_init(fl_order_t *o, const char *product, const char *shop, const char *method);

/** The OrderView of an ok reply (caller frees with tp__order__order_view__free_unpacked),
 *  or NULL. */
Tp__Order__OrderView *fl_view(const Tp__Reply *r);

/** Places @p o for @p c with @p request_id; the order id into @p order_id. */
bool fl_place(th_t *th, const fl_customer_t *c, const char *request_id, fl_order_t *o,
              char *order_id, size_t idsz);

/** GetOrder as @p as (FindOrder for an operator); NULL when refused. */
Tp__Order__OrderView *fl_get_order(th_t *th, const th_actor_t *as, const char *order_id);

/** The step @p name of @p v, or NULL. */
const Tp__Order__Step *fl_step(const Tp__Order__OrderView *v, const char *name);

/** Waits until the order has a PostIdent number (into @p number). */
bool fl_wait_postident(th_t *th, const char *order_id, char *number, size_t numsz, int timeout_ms);

/** The ident provider's feed reports PostIdent process @p number identified, with
 *  @p evidence (request id @p request_id; NULL: a fresh one). False when refused. */
bool fl_postident_ok(th_t *th, const char *number, const char *request_id, const char *evidence);

/** Waits until the order's step @p step is done. */
bool fl_wait_step(th_t *th, const char *order_id, const char *step, int timeout_ms);

/** Waits until the order's status is @p status. */
bool fl_wait_status(th_t *th, const char *order_id, const char *status, int timeout_ms);

/** Events of @p type in @p service's log whose payload contains @p needle (NULL: all);
 *  -1 when the log cannot be read. */
int fl_count_events(th_t *th, const char *service, const char *type, const char *needle);
#endif
