/* account_internal.h: the account core's state and helpers shared by account.c,
 * account_session.c, account_state.c, account_summary.c, account_util.c,
 * account_mail.c, account_notice.c, account_notice_text.c and account_deletion.c (not for
 * other modules). */
#ifndef ACCOUNT_INTERNAL_H
#define ACCOUNT_INTERNAL_H
#include "account.h"
#include "account.pb-c.h"

#define ACC_ID_SIZE       32 /* "acc-" + 16 hex + NUL, with room */
#define ACC_HEX_SIZE      65 /* SHA-256 in hex + NUL */
#define ACC_NONCE_SIZE    16 /* 128-bit nonces for tokens and mail ids */
#define ACC_NONCE_MAX     32 /* longest nonce accepted from the log */
#define ACC_CONFIRM_SLOTS 3  /* live confirmation tokens per account */
#define ACC_WINDOW_MAX    20 /* largest throttling window (ACCOUNT_ADDR_MAX_FAILS) */
#define ACC_EMAIL_MAX     254
#define ACC_PASSWORD_MIN  12
#define ACC_PASSWORD_MAX  128
#define ACC_CODE_MAX      64
#define ACC_ORDER_ID_MAX  64  /* longest order, product or request id taken from upstream */
#define ACC_DETAIL_MAX    500 /* longest detail of a notice (characters), e.g. a data problem */
#define ACC_REASON_MAX    500 /* longest reason of a deletion (characters) */
/* The kind of the mail confirming a deletion request (acc_mail_t.kind, MailSent.kind). */
#define ACC_DELETION_KIND "deletion-requested"

typedef enum { ACC_UNCONFIRMED, ACC_ACTIVE, ACC_DELETED } acc_status_t;

/* The times of the last few occurrences of something (failed logins, mails).
 * A zero slot is empty; times are epoch microseconds, always positive. */
typedef struct {
    int64_t at[ACC_WINDOW_MAX];
} acc_window_t;

typedef struct {
    char id[ACC_ID_SIZE]; /* "acc-" + 16 hex */
    char *email;          /* normalized; NULL once deleted */
    char *password_hash;  /* Argon2id string; NULL once deleted */
    char language[4];     /* "de" or "en" */
    acc_status_t status;
    int64_t registered_at_us;
    char confirm[ACC_CONFIRM_SLOTS][ACC_HEX_SIZE]; /* live confirmation tokens, oldest first */
    char reset[ACC_HEX_SIZE];                      /* the live reset token, "" when none */
    zlistx_t *shops;                               /* shop ids redeemed, in order (strings) */
    zlistx_t *officer_of;                          /* shop ids this account is an officer of */
    zlistx_t *sessions;                            /* live session hashes (hex), oldest first */
    acc_window_t rejected;                         /* ShopCodeRejected times */
    acc_window_t mails;                            /* times of events that called for a mail */
    bool status_mails_off;                         /* SetNotifications "off": no status notices */
    char fail_key[ACC_HEX_SIZE];                   /* its address's key in fails_email (the
                                                      last LoginFailed's), "" when none */
    int64_t confirm_until_us;                      /* unconfirmed: its last link's expiry */
    int64_t deletion_at_us;                        /* an open deletion request: when (0: none) */
    char *deletion_reason;                         /* its reason, "" when none given (owned) */
} acc_account_t;

typedef struct {
    char hash[ACC_HEX_SIZE]; /* SHA-256 of the token, hex (the key) */
    char account_id[ACC_ID_SIZE];
    bool reset; /* purpose "reset", else "confirm" */
    int64_t expires_at_us;
    char *password_hash; /* confirm: the password it activates (owned); may be NULL */
    char mail_id[128];   /* the mail that carries it */
} acc_token_t;

typedef struct {
    char hash[ACC_HEX_SIZE]; /* SHA-256 of the session token, hex (the key) */
    char account_id[ACC_ID_SIZE];
    int64_t started_at_us;
    int64_t touched_at_us; /* last recorded activity (start or SessionTouched) */
    int64_t expires_at_us; /* absolute expiry */
    char *client_addr;     /* where the login came from (owned) */
} acc_session_t;

typedef struct {
    char *shop_id;
    char *code;     /* as the operator set it */
    char *code_key; /* normalized (trimmed, lower-case) code, "" when none */
    char *name;
    bool disabled;
} acc_shop_t;

/* What a notice mail tells (NoticeDue); strings owned, "" when not given. */
typedef struct {
    char *order_id;
    char *product_id;
    char *detail; /* wartend: what is wrong; versendet: tracking number; revocation: how */
    char *reason; /* revocation: card_lost, suspected_misuse, other */
    char *request_id;
    int64_t at_us; /* when it happened */
} acc_notice_t;

typedef struct {
    char id[128];     /* "<kind>:<nonce hex>", or a notice's "<kind>:<upstream>#<seq>" (the key) */
    const char *kind; /* "confirm", "reset", "known-email", ACC_DELETION_KIND, or a notice
                         kind (static) */
    char account_id[ACC_ID_SIZE];
    uint8_t nonce[ACC_NONCE_MAX];
    size_t nonce_len;
    char token_hash[ACC_HEX_SIZE]; /* the token this mail carries, "" for known-email */
    int64_t expires_at_us;         /* when the token expires; INT64_MAX for known-email */
    acc_notice_t *notice;          /* a notice's content (owned), NULL for the other mails */
} acc_mail_t;

typedef struct {
    zhashx_t *accounts;    /* id -> acc_account_t (owned) */
    zhashx_t *by_email;    /* email -> acc_account_t (borrowed); live accounts only */
    zhashx_t *tokens;      /* token hash hex -> acc_token_t (owned) */
    zhashx_t *sessions;    /* session hash hex -> acc_session_t (owned) */
    zhashx_t *shops;       /* shop id -> acc_shop_t (owned) */
    zhashx_t *codes;       /* normalized code -> acc_shop_t (borrowed) */
    zhashx_t *mails;       /* mail id -> acc_mail_t (owned): mails not yet sent */
    zhashx_t *fails_email; /* SHA-256 hex of an address -> acc_window_t (owned) */
    zhashx_t *fails_addr;  /* client address -> acc_window_t (owned) */
    zhashx_t *orders;      /* order id -> acc_account_t (borrowed): whose order (OrderKnown) */
    zhashx_t *unconfirmed; /* id -> acc_account_t (borrowed): registrations not confirmed */
    zhashx_t *revocations; /* revocation request id -> order id (owned): requested, told,
                              not yet completed */
    int64_t swept_at_us;   /* last time stale throttling windows were dropped */
    uint64_t events;       /* events applied */
    char base_url[256];         /* the portal's public URL, for links in mails (setting "base_url") */
} acc_state_t;

/* ---- account_state.c: state, lookups, apply; account_summary.c: summary */
void *acc_state_new(void);
void acc_state_destroy(void **state_p);
void acc_apply(void *state, const svc_event_t *ev);
char *acc_summary(const void *state);
const acc_account_t *acc_find(const acc_state_t *st, const char *id);
/** The live (not deleted) account of a normalized address. */
const acc_account_t *acc_find_email(const acc_state_t *st, const char *email);
/** Occurrences in @p w later than @p since. */
size_t acc_window_count(const acc_window_t *w, int64_t since);
/** A session that is still valid at @p now (of an active account), or NULL. */
const acc_session_t *acc_session_live(const acc_state_t *st, const char *hash_hex, int64_t now);
/** The idle deadline of @p s (never after its absolute expiry). */
int64_t acc_session_idle_end(const acc_session_t *s);

/* ---- account_util.c: pure helpers */
/** Trims and lower-cases @p in into @p out; true when it is a sane address
 *  (ASCII, one @, local part <= 64 of atext and dots, a domain of >= 2 labels). */
bool acc_email_normalize(const char *in, char *out, size_t outsz);
/** Trims and lower-cases a shop code; false when empty or longer than ACC_CODE_MAX. */
bool acc_code_normalize(const char *in, char *out, size_t outsz);
/** Lower-case hex of SHA-256 over @p len bytes (out: ACC_HEX_SIZE). */
void acc_sha256_hex(const void *data, size_t len, char *out);
/** The keyed hash of a normalized e-mail address, as lookups keep it in events (out:
 *  ACC_HEX_SIZE): BLAKE2b-256 keyed with the service's secret, so that nobody without
 *  the secret can test guessed addresses against the log. */
void acc_email_key(const uint8_t *secret, const char *email, char *out);

/** The core's tick (account_tick.c): sessions, expired links, unconfirmed registrations.
 *  O(live sessions + pending mails + unconfirmed registrations), at most 256 events. */
void acc_tick(const void *state, int64_t now_us, svc_out_t *out);
void acc_hex(const uint8_t *data, size_t len, char *out, size_t outsz);
/** Number of UTF-8 characters of @p s, or -1 when it is not valid UTF-8. */
long acc_utf8_chars(const char *s);
/** Puts @p value (malloc'd; taken) where the password in *@p field was, wiping and freeing
 *  that: 0; -1 and an "internal" error when @p value is NULL (out of memory). */
int acc_swap_secret(char **field, char *value, svc_out_t *out);

/* ---- account.c: helpers of the commands, shared with account_session.c */
/** Replies the uniform `Accepted` with @p text. */
void acc_accepted(svc_out_t *out, const char *text);
/** Normalizes @p in into @p email (ACC_EMAIL_MAX + 1); else an "invalid" error on "email". */
bool acc_check_email(const char *in, char *email, svc_out_t *out);
/** False (and an "internal" error) when ctx->random is missing or all zeros. */
bool acc_random_ok(const svc_ctx_t *ctx, svc_out_t *out);
/** True when @p s is an Argon2id hash string (a password went through prepare). */
bool acc_prepared_hash(const char *s);
/** True when the account may be sent one more mail at @p now (ACCOUNT_MAIL_MAX an hour). */
bool acc_mail_allowed(const acc_account_t *a, int64_t now);
/** ConfirmationReissued for unconfirmed account @p a: a fresh link by mail, which
 *  activates @p password_hash (NULL: the account's latest) with @p language (NULL: the
 *  account's). An error in @p out when no fresh token could be made. */
void acc_reissue(const acc_state_t *st, const svc_ctx_t *ctx, const acc_account_t *a,
                 const char *password_hash, const char *language, svc_out_t *out);
/** SHA-256 of a token as received, raw (32 bytes) and hex; false when it cannot be one. */
bool acc_token_hash_of(const char *token, uint8_t *raw, char *hex);
/** The acting account (header.actor_account) when it is active, else NULL. */
const acc_account_t *acc_actor(const acc_state_t *st, const svc_ctx_t *ctx);
/** The acting account when it is active and acts for itself (a customer or officer);
 *  else NULL and an error: "unauthenticated", or "forbidden" with @p forbidden. */
const acc_account_t *acc_owner(const acc_state_t *st, const svc_ctx_t *ctx, const char *forbidden,
                               svc_out_t *out);
/** Replies a SessionInfo for @p a: @p token only for Login; expiry from @p s (may be NULL). */
void acc_reply_session(const acc_state_t *st, const acc_account_t *a, const char *token,
                       const acc_session_t *s, int64_t now, svc_out_t *out);
/** Replies the AccountView of @p a (every shop redeemed, disabled ones too). */
void acc_reply_view(const acc_account_t *a, svc_out_t *out);

/* ---- account_session.c: Login, Logout, TouchSession, ResolveSession, WhoAmI; verdicts */
/** A lookup's answer: a copy of @p hash, or of a dummy hash of the same cost when it is
 *  none (NULL, deleted), so that verifying takes as long and fails. NULL: out of memory. */
char *acc_lookup_hash(const char *hash);
/** On a worker: verifies the password in *@p field against @p lookup (a hash from
 *  acc_lookup_hash) and puts the verdict in its place, wiping the password. A lookup that
 *  says throttled refuses ("throttled") without hashing. 0, or -1 with an error. */
int acc_verify_into(char **field, const char *lookup, svc_out_t *out);
/** True when @p verdict came from acc_verify_into (a password field prepare replaced). */
bool acc_verdict_prepared(const char *verdict);
/** True when @p verdict says the password matched, and matched @p hash (still the one in
 *  state when decide runs: a password changed meanwhile makes it worthless). */
bool acc_verdict_ok(const char *verdict, const char *hash);
char *acc_lookup_login(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg);
int acc_prepare_login(ProtobufCMessage *msg, const char *lookup, svc_out_t *out);
svc_decide_fn acc_login, acc_logout, acc_touch, acc_resolve, acc_whoami;

/* ---- account_mail.c: mails and tokens */
/** Token for @p purpose ("confirm", "reset") and @p nonce: base64url of
 *  HMAC-SHA256(secret, purpose ":" nonce), 43 characters (out: >= 64 bytes). */
void acc_token_derive(const uint8_t *secret, const char *purpose, const uint8_t *nonce,
                      size_t nonce_len, char *out, size_t outsz);
size_t acc_mails_pending(const void *state, const uint8_t *secret, svc_mail_t *out, size_t max);
void acc_mail_sent(const void *state, const char *mail_id, int64_t now_us, svc_out_t *out);
/** Frees an acc_mail_t and its notice (a zhashx destructor). */
void acc_mail_free(void **item);

/* ---- account_notice.c: notices of the owner's orders and cards, the status-mail setting */
/** The static name of notice kind @p kind (NoticeDue.kind), or NULL when it is none;
 *  @p status (may be NULL) says whether it is a status notice (off with status mails). */
const char *acc_notice_kind(const char *kind, bool *status);
/** React to the order, production and revocation services' events (account.h). */
void acc_react_notice(const acc_state_t *st, const char *upstream, const svc_event_t *ev,
                      svc_out_t *out);
/** Apply OrderKnown, NoticeDue, NotificationsChanged; false for any other type. */
bool acc_apply_notice(acc_state_t *st, const svc_event_t *ev);
/** Forgets the open revocations of account @p a, being deleted (AccountDeleted drops its
 *  pending mails). */
void acc_notices_forget(acc_state_t *st, const acc_account_t *a);
/** "on" or "off": the account's status-mail setting. */
const char *acc_status_mails(const acc_account_t *a);
svc_decide_fn acc_set_notifications;

/* ---- account_notice_text.c: the notices' mails (DE and EN) */
/** Builds the mail of notice @p m to account @p a into @p mail; false when out of memory. */
bool acc_notice_mail(const acc_state_t *st, const acc_account_t *a, const acc_mail_t *m,
                     svc_mail_t *mail);
/** What the mails of the notices and of a deletion request share, [0] German, [1] English:
 *  the greeting, the farewell, and how to reach support ("Monday to Friday ..."). */
extern const char *const acc_mail_hello[2];
extern const char *const acc_mail_bye[2];
extern const char *const acc_mail_support[2];
/** The time @p at_us as a mail says it, in UTC (German when @p de). */
void acc_mail_when(int64_t at_us, bool de, char *out, size_t outsz);

/* ---- account_deletion.c: the owner's deletion request and the account's own view */
/** Fills @p out (initialised) with @p a's open deletion request, borrowing from @p a;
 *  false when it has none. */
bool acc_deletion_view(const acc_account_t *a, Tp__Account__DeletionRequest *out);
/** Apply AccountDeletionRequested; false for any other type. */
bool acc_apply_deletion(acc_state_t *st, const svc_event_t *ev);
/** Builds the mail confirming @p a's deletion request (@p m) into @p mail; false when
 *  there is no open request or out of memory. */
bool acc_deletion_mail(const acc_state_t *st, const acc_account_t *a, const acc_mail_t *m,
                       svc_mail_t *mail);
svc_decide_fn acc_request_deletion, acc_list_deletions, acc_get_account;
#endif
