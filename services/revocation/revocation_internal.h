/* revocation_internal.h: the revocation core's state and the helpers its files share
 * (revocation_state.c state and apply, revocation_react.c reactions and the timer,
 * revocation.c commands, revocation_password.c RevokeWithPassword, revocation_util.c
 * pure helpers, revocation_query.c queries and summary). Not for use outside
 * services/revocation. */
#ifndef REVOCATION_INTERNAL_H
#define REVOCATION_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include "revocation.h"
#include "revocation.pb-c.h"
#include "svc_officers.h"

#define RVK_ID_MAX          64  /* longest id taken from upstream events and commands */
#define RVK_NUMBER_MAX      64  /* longest order or card number, normalized */
#define RVK_SERIAL_MAX      128 /* longest serial number */
#define RVK_PASSWORD_MAX    128 /* longest revocation password, in characters */
#define RVK_CALLER_MAX      200
#define RVK_CALLER_AUTH_MAX 500
#define RVK_HEX_SIZE        65 /* SHA-256 in hex + NUL */
#define RVK_STREAM_MAX      96 /* "product-" + an order id, "attempts-" + a hash */
#define RVK_WINDOW_MAX      REVOCATION_ADDR_MAX_FAILS /* slots of a throttling window */

#define RVK_SEAL_CARD "seal-card"

typedef struct _rvk_request_t rvk_request_t;

/** What the service knows of one order and its card. */
typedef struct {
    char *order_id;         /* the key */
    char *product_id;       /* NULL until the card was shipped */
    char *account_id;       /* the owner; NULL until OrderPlaced came */
    char *shop_id;          /* NULL when ordered without a shop (or not known yet) */
    char *product_type;     /* catalog product, e.g. "seal-card"; NULL until OrderPlaced */
    char *password_hash;    /* Argon2id string of the revocation password; NULL until known */
    char *card_number;      /* NULL until produced */
    zlistx_t *serials;      /* serial numbers (strings), in the order learned */
    int64_t shipped_at_us;  /* 0 until shipped */
    int64_t told_at_us;     /* when its owner was last told of failed attempts (0: never) */
    rvk_request_t *request; /* its revocation request, open or completed (NULL: none) */
} rvk_product_t;

/** One revocation request with its evidence. */
struct _rvk_request_t {
    Tp__Revocation__RevocationRequested *requested; /* the event (owned) */
    rvk_product_t *product;                         /* borrowed */
    Tp__Revocation__RevocationCompleted *completed; /* the event (owned); NULL while open */
};

/** The times of the last few failed attempts; a zero slot is empty. */
typedef struct {
    int64_t at[RVK_WINDOW_MAX];
} rvk_window_t;

typedef struct {
    zhashx_t *products;       /* order id -> rvk_product_t (owned) */
    zhashx_t *by_product;     /* product id -> rvk_product_t (borrowed); shipped ones only */
    zhashx_t *by_number;      /* normalized order or card number -> rvk_product_t (borrowed) */
    svc_officers_t officers;  /* active appointments only (svc_officers.h) */
    zhashx_t *requests;       /* request id -> rvk_request_t (owned) */
    zlistx_t *received;       /* every request (borrowed), in the order received */
    zlistx_t *open;           /* open requests (borrowed), in the order received */
    zlistx_t *revoked;        /* completed requests (borrowed), in the order completed */
    zhashx_t *fails_addr;     /* client address (svc_addr_key) -> rvk_window_t (owned) */
    int64_t swept_at_us;      /* last time stale windows were dropped (an event's time) */
    uint64_t failed_attempts; /* RevocationAttemptFailed events applied */
    uint64_t events;          /* events applied */
    int64_t delay_us;         /* setting processing_delay_s */
    int64_t alarm_us;         /* setting alarm_after_s */
} rvk_state_t;

/* ---- revocation_state.c: state, lookups, apply, configure */
void *rvk_state_new(void);
void rvk_state_destroy(void **state_p);
void rvk_apply(void *state, const svc_event_t *ev);
void rvk_configure(void *state, zconfig_t *config, const char *name);
/** The service's own settings (svc_settings.h): processing_delay_s, alarm_after_s. */
extern const svc_setting_t rvk_settings[];
const rvk_product_t *rvk_product(const rvk_state_t *st, const char *order_id);
/** The shipped product of a product id, or NULL. */
const rvk_product_t *rvk_by_product(const rvk_state_t *st, const char *product_id);
/** A product id's record even when not shipped yet ("prd-<order id>"), or NULL. */
const rvk_product_t *rvk_find_product(const rvk_state_t *st, const char *product_id);
const rvk_request_t *rvk_request(const rvk_state_t *st, const char *request_id);
/** True when @p account is an active officer of @p shop. */
bool rvk_is_officer(const rvk_state_t *st, const char *account, const char *shop);
/** True when @p account is an active officer of any shop. O(officers). */
bool rvk_is_any_officer(const rvk_state_t *st, const char *account);
/** Failures in @p w later than @p since. */
size_t rvk_window_count(const rvk_window_t *w, int64_t since);

/* ---- revocation_util.c: pure helpers */
/** Upper-case letters and digits of @p in, other characters dropped, into @p out
 *  (RVK_NUMBER_MAX + 1); false when nothing or too much is left. */
bool rvk_number_normalize(const char *in, char *out, size_t outsz);
/** Lower-case hex of SHA-256 over a string (out: RVK_HEX_SIZE). */
void rvk_sha256_hex(const char *s, char *out);
/** Ids from upstream events and commands: 1..RVK_ID_MAX printable ASCII, no spaces. */
bool rvk_valid_id(const char *s);
/** The stream of an order's product: "product-<order id>". */
void rvk_product_stream(char *out, size_t outsz, const char *order_id);
/** Checks reason and comment; an "invalid" error per bad field. */
void rvk_check_reason(svc_out_t *out, const char *reason, const char *comment);
/** Checks that @p p can be revoked now: "not_found" on @p field when it is not shipped,
 *  "conflict" when a request is open or completed. @return true when it can */
bool rvk_check_revocable(const rvk_product_t *p, const char *field, svc_out_t *out);

/* ---- revocation.c: commands */
/** Writes RevocationRequested for @p p with this evidence; replies the view unless
 *  @p reply is false. @return the new request id in @p id_out (>= 24 bytes), or false. */
bool rvk_request_revocation(const rvk_product_t *p, const svc_ctx_t *ctx, const char *reason,
                            const char *comment, const char *requested_by,
                            const char *authenticated_by, const char *detail, const rvk_state_t *st,
                            char *id_out, bool reply, svc_out_t *out);

/* ---- revocation_password.c: RevokeWithPassword */
char *rvk_lookup_password(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg);
int rvk_prepare_password(ProtobufCMessage *msg, const char *lookup, svc_out_t *out);
svc_decide_fn rvk_revoke_with_password;

/* ---- revocation_react.c: reactions and the timer */
void rvk_react(const void *state, const char *upstream, const svc_event_t *ev, svc_out_t *out);
void rvk_tick(const void *state, int64_t now_us, svc_out_t *out);

/* ---- revocation_query.c: queries, views, summary */
svc_decide_fn rvk_list_requests, rvk_list_own_requests, rvk_get_request,
    rvk_get_revocation_list;
/** Fills @p v (initialized by the caller) from @p r; everything in it is borrowed from
 *  @p r and stays valid as long as @p r does. */
void rvk_view_of(const rvk_request_t *r, Tp__Revocation__RevocationView *v);
char *rvk_summary(const void *state);

/** A NULL-safe view of a string. */
static inline const char *rvk_s(const char *s)
{
    return s ? s : "";
}
#endif
