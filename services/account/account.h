/* account.h: the account service's pure core (tp-account): registration and
 * confirmation, sessions, password reset, shop codes, officers, deletion (asked for by
 * the owner, carried out by an operator), and the mails that keep an owner informed of
 * their orders and cards (notices).
 *
 * Commands ("account.<Name>", messages in proto/account.proto):
 *
 *   Register, ResendConfirmation, RequestPasswordReset   anonymous; always the same
 *       `Accepted` reply for a well-formed request, whether the address is unknown,
 *       unconfirmed or active, and the same work: Register hashes the password
 *       (Argon2id) in `prepare` every time, and every answer is kept (committed).
 *   Confirm   anonymous; the token from the mail and the password chosen with the
 *       registration the token was sent for (`lookup` copies that registration's hash,
 *       `prepare` verifies on a worker). Refusals: "invalid_token" (unknown, used,
 *       superseded) or "expired", field "token"; "invalid_credentials", field
 *       "password", when it is not that registration's password (the link stays usable).
 *   CompletePasswordReset   anonymous; the token from the mail. Refusals as Confirm's
 *       on "token".
 *   Login   anonymous; a `SessionInfo` with the session token (secret_reply: the token
 *       is never kept in the idempotency records). The password is verified in
 *       `prepare` against what `lookup` copied from state (a dummy hash of the same
 *       cost for unknown addresses, so the time is the same); `lookup` answers
 *       "throttled" instead when the address or the client address is throttled, so
 *       that a throttled attempt costs no hashing.
 *       A wrong password, an unknown address and the RIGHT password of an unconfirmed
 *       account are all RECORDED (LoginFailed, for durable throttling) and answered
 *       alike as an ok reply: SessionInfo with an empty session_token and account_id
 *       and refusal = "invalid_credentials" (the gateway turns it into that error).
 *       For the unconfirmed account a ConfirmationReissued for the verified password
 *       comes with it (within the mail limit): its owner gets a fresh link by mail.
 *       Throttled attempts ("throttled") are ordinary errors.
 *   Logout, TouchSession, ResolveSession (query)   by session token; an unknown or
 *       expired session is "unauthenticated" (field "sessionToken"); Logout of an
 *       unknown session is fine. TouchSession is a command: it needs a fresh request id.
 *   RedeemShopCode (customer: actor_account)   ok reply `ShopRedeemed`. An unknown or
 *       disabled code is recorded (ShopCodeRejected, for throttling) and answered as an
 *       ok reply with an EMPTY shop_id and refusal = "unknown_shop_code" (the gateway
 *       turns it into a 400 error "unknown_shop_code" on field "code"): a refused
 *       command cannot write, and throttling has to survive a restart.
 *   WhoAmI (query, actor_account)   SessionInfo without token.
 *   AppointOfficer, RevokeOfficer, DeleteAccount, FindAccount (query)   operator only.
 *   SetNotifications (customer or officer: actor_account, its own account only)
 *       status_mails "on" or "off" (anything else: "invalid" on "statusMails") ->
 *       `Notifications` with the setting as it now is; NotificationsChanged when it
 *       changes, nothing when it is already so. SessionInfo and AccountView show it.
 *   RequestDeletion (customer or officer: actor_account, its own account only)   the
 *       owner asks for its account's deletion, with an optional reason (at most 500
 *       characters of text): AccountDeletionRequested and a `DeletionRequest` reply; the
 *       request is open, shown in SessionInfo, AccountView and ListDeletionRequests, until
 *       an operator's DeleteAccount closes it. Asked again while open: the open request,
 *       nothing written. A mail confirms it ("deletion-requested:<account>-<time>"): what
 *       happens next, that cards are not revoked by it, what to do if it was not the owner.
 *   ListDeletionRequests (query, operator)   the open requests, oldest first: account,
 *       address, when, reason.
 *   GetAccount (query; customer or officer: its own account)   its AccountView, every
 *       field the service shows of it (the portal's data export).
 *
 * Sessions: the token is 32 random bytes (base64url); only its SHA-256 is kept. A
 * session ends ACCOUNT_SESSION_ABSOLUTE_US after login, or ACCOUNT_SESSION_IDLE_US
 * after its last recorded activity. Activity is recorded without an event per
 * request: ResolveSession answers touch_due = true once the last record is
 * ACCOUNT_SESSION_TOUCH_US old, and the gateway then sends TouchSession (one
 * SessionTouched event per session per 5 minutes at most). A gateway that never
 * touches gets sessions that end 30 minutes after login. The tick ends expired
 * sessions (SessionEnded "expired") to keep the state small.
 *
 * Tokens in mails: HMAC-SHA256(service secret, "<purpose>:" + nonce), base64url;
 * the log holds the nonce and the token's SHA-256 only, so a mail can be rebuilt
 * after a restart and a stolen log does not give working links. A confirmation link
 * activates the password of the registration it was sent for (up to 3 links live per
 * account), and only when that password comes with it: whoever registers someone
 * else's address, before or after its owner, cannot slip his password into the account
 * its owner confirms, whichever of the links in her mailbox she opens.
 *
 * Throttling is counted from logged events (LoginFailed, ShopCodeRejected), so it
 * survives restarts and replays. Once ACCOUNT_LOGIN_MAX_FAILS logins failed for one
 * e-mail address (registered or not: existence stays hidden), or
 * ACCOUNT_ADDR_MAX_FAILS from one client address (an IPv6 client by its /64,
 * svc_addr.h), within ACCOUNT_LOGIN_WINDOW_US,
 * further logins are refused ("throttled") until the oldest failure leaves the
 * window; a successful login clears the address's count. Likewise
 * ACCOUNT_REDEEM_MAX_REJECTS rejected shop codes per account within
 * ACCOUNT_REDEEM_WINDOW_US refuse every redemption ("throttled", field "code").
 * Mails: at most ACCOUNT_MAIL_MAX per account within ACCOUNT_MAIL_WINDOW_US; further
 * requests get the same answer but no mail (no mail bombing through the portal).
 *
 * Mails (mails_pending / mail_sent): confirmation ("confirm:<nonce hex>"), password
 * reset ("reset:<nonce hex>") and "someone registered your address"
 * ("known-email:<nonce hex>"), in the account's language (DE or EN), plain text.
 * A mail is pending from the event that calls for it until its MailSent, or until
 * its link is used, superseded or expired (the tick writes TokenExpired).
 *
 * Notices (account_notice.c): react turns each upstream event that changes what an
 * owner sees into a NoticeDue event, whose mail ("<kind>:<upstream>#<seq>") is pending
 * until its MailSent. The runtime commits react's events with the upstream checkpoint,
 * so each change makes exactly one NoticeDue, across crashes; the mail then goes at
 * least once (a crash between the SMTP server's acceptance and MailSent's commit sends
 * it again after the restart, with the same Message-ID), and never more otherwise.
 *
 *   order       DataProblemRecorded          "wartend" (what is wrong or missing)
 *               OrderReleasedForProduction   "in-produktion"
 *               OrderShipped                 "versendet" (the tracking number)
 *               OrderDelivered               "fertig"
 *   production  ProductActivated             "gueltig"
 *   revocation  RevocationRequested          "revocation-requested" (how: portal session,
 *                                            revocation password, officer, operator; and
 *                                            what to do if it was not the owner)
 *               RevocationCompleted          "revocation-completed"
 *               RevocationAttemptFailed      "revocation-attempt" (a wrong revocation
 *                                            password for the card; only those with
 *                                            tell_owner: the first, then one a day)
 *
 * The status notices (the first five) are not made while the account's status mails
 * are off; the revocation notices (the last three) always are. An event is mapped to
 * the order's account by what the same upstream said before it: OrderPlaced, JobOpened
 * and ProductKnown (with an account) each write OrderKnown once per order; a completed
 * revocation by its request (kept from its RevocationRequested until then). An order
 * whose account is not known here gets no mails (logged); nor does a deleted account.
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H
#include "svc.h"

/** The account core. Subscribes to "order" (shops and orders), "production" and
 *  "revocation" (the notices). */
extern const svc_def_t account_def;

/** Base of the links in mails unless the setting "base_url" (the portal's public URL)
 *  says otherwise. */
#define ACCOUNT_BASE_URL_DEFAULT "http://localhost:8080"

/** The support contact the revocation notices name (the provider's FAQ), as the portal's
 *  help page and the order documents do. */
#define ACCOUNT_SUPPORT_PHONE "+49 (0)30 2598-0"
#define ACCOUNT_SUPPORT_MAIL  "support@d-trust.net"

#define ACCOUNT_MINUTE_US           (60 * INT64_C(1000000))
#define ACCOUNT_CONFIRM_VALID_US    (24 * 60 * ACCOUNT_MINUTE_US)
#define ACCOUNT_RESET_VALID_US      (30 * ACCOUNT_MINUTE_US)
/* An unconfirmed registration is kept this long after its last link expired (so that an
 * "expired" link can still be followed by a new one), then it ends and is erased. */
#define ACCOUNT_UNCONFIRMED_KEEP_US (7 * 24 * 60 * ACCOUNT_MINUTE_US)
#define ACCOUNT_SESSION_ABSOLUTE_US (12 * 60 * ACCOUNT_MINUTE_US)
#define ACCOUNT_SESSION_IDLE_US     (30 * ACCOUNT_MINUTE_US)
#define ACCOUNT_SESSION_TOUCH_US    (5 * ACCOUNT_MINUTE_US)
/** Sessions per account; a login beyond it ends the oldest ("superseded"). */
#define ACCOUNT_MAX_SESSIONS       10
#define ACCOUNT_LOGIN_MAX_FAILS    5
#define ACCOUNT_ADDR_MAX_FAILS     20
#define ACCOUNT_LOGIN_WINDOW_US    (15 * ACCOUNT_MINUTE_US)
#define ACCOUNT_REDEEM_MAX_REJECTS 10
#define ACCOUNT_REDEEM_WINDOW_US   (60 * ACCOUNT_MINUTE_US)
#define ACCOUNT_MAIL_MAX           5
#define ACCOUNT_MAIL_WINDOW_US     (60 * ACCOUNT_MINUTE_US)

/** Argon2id cost: OWASP's minimum (19 MiB, 2 passes, 1 lane). */
#define ACCOUNT_PWHASH_OPSLIMIT 2
#define ACCOUNT_PWHASH_MEMLIMIT (19 * 1024 * 1024)
#endif
