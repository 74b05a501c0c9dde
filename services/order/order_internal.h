/* order_internal.h: the order core's state and the helpers its files share
 * (order.c commands, order_query.c queries, order_state.c state, order_validate.c
 * field validation). Not for use outside services/order. */
#ifndef ORDER_INTERNAL_H
#define ORDER_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include "order.h"
#include "order.pb-c.h"

/* ------------------------------------------------------------------ state */

/** Products and shops. The state keeps two: the one recorded in the log, and the seed,
 *  which answers until the seed events are written (so the first command and early
 *  queries see the catalog they are about to create). */
typedef struct {
    zhashx_t *products;    /* product id -> Tp__Order__Product * (owned, from the event) */
    zlistx_t *product_ids; /* product ids in listing order (owned strings) */
    zhashx_t *shops;       /* shop id -> Tp__Order__Shop * (owned, from the event) */
    zhashx_t *codes;       /* lower-case shop code -> shop id (owned strings) */
} ord_catalog_t;

/** Identification as the order knows it. */
typedef enum { ORD_IDENT_PENDING = 0, ORD_IDENT_SUCCEEDED, ORD_IDENT_FAILED } ord_ident_t;

typedef struct {
    Tp__Order__OrderPlaced *placed; /* the OrderPlaced event (owned): data, method, language */
    int64_t placed_at_us;
    char *postident_number;         /* NULL until the identification service assigns one */
    int64_t application_at_us;      /* 0 until the signed application arrived */
    ord_ident_t ident;              /* the last identification result */
    int64_t ident_at_us;            /* when identified, or when the last failure came */
    char *ident_reason;             /* reason of the last failure, or NULL */
    char *ident_by;                 /* the operator who recorded the identification, or NULL */
    bool problem_open;              /* a data problem is open (status wartend) */
    char *problem;                  /* reason of the open, or the last, data problem */
    int64_t problem_at_us;
    int64_t released_at_us;         /* 0 until OrderReleasedForProduction */
    /* Followed from the production service (order_production.c); zero until then */
    int64_t production_started_at_us; /* ProductionStarted: the job was opened */
    int64_t produced_at_us;         /* OrderProduced: the card was produced */
    int64_t shipped_at_us;          /* OrderShipped: versendet */
    int64_t delivered_at_us;        /* OrderDelivered: card and PIN letter, fertig */
    char *tracking_number;          /* the card's registered mail */
    char *card_product_id;          /* "prd-<order id>": the card in "Meine Produkte" */
    int64_t valid_to_us;            /* CertificatesValid: the certificates' last moment */
    bool erased;                    /* OrderDataErased: its personal data is gone */
    void *retained;                 /* its handle in ord_state_t.retained, or NULL */
} ord_order_t;

typedef struct {
    ord_catalog_t catalog;   /* as recorded in the log */
    ord_catalog_t seed;      /* the first start's catalog, before it is recorded */
    bool seeded;             /* CatalogSeeded was applied: never seed again */
    zhashx_t *orders;        /* order id -> ord_order_t (owned) */
    zhashx_t *by_account;    /* account id -> zlistx_t of ord_order_t * (placement order) */
    uint64_t order_seq;      /* highest order number given, e.g. 42 of TP-2026-000042 */
    uint64_t events;         /* events applied */
    bool four_eyes;          /* setting four_eyes: the operator who recorded the
                                identification does not record the application */
    int64_t retention_us;    /* setting retention_days: evidence kept after expiry */
    zlistx_t *retained;      /* orders with certificates, not erased, by valid_to_us
                                (order_retention.c) */
} ord_state_t;

/** Status names (wire values of OrderView.status). */
#define ORD_OFFEN "offen"
#define ORD_WARTEND "wartend"
#define ORD_IN_PRODUKTION "in_produktion"
#define ORD_VERSENDET "versendet"
#define ORD_FERTIG "fertig"

/** Longest stream id we build: "order-" + an order id of at most 64 bytes. */
#define ORD_STREAM_MAX 96

void *ord_state_new(void);
void ord_state_destroy(void **state_p);
void ord_apply(void *state, const svc_event_t *ev);
char *ord_summary(const void *state);

/** The catalog in force: the recorded one once seeded, else the seed. */
const ord_catalog_t *ord_catalog(const ord_state_t *st);
const Tp__Order__Product *ord_product(const ord_catalog_t *cat, const char *product_id);
const Tp__Order__Shop *ord_shop(const ord_catalog_t *cat, const char *shop_id);
/** A shop by code, case-insensitively; NULL when none. */
const Tp__Order__Shop *ord_shop_by_code(const ord_catalog_t *cat, const char *code);
const ord_order_t *ord_order(const ord_state_t *st, const char *order_id);
/** The account's orders in placement order (NULL when none). */
zlistx_t *ord_orders_of(const ord_state_t *st, const char *account_id);

/** Adds the seed events (products, demo shop, CatalogSeeded) to @p out. */
void ord_seed_events(svc_out_t *out);
/** Adds the seed events when the catalog was never seeded (first command or tick). */
void ord_seed_if_needed(const ord_state_t *st, svc_out_t *out);

/** The order's status, derived from its facts (one of the ORD_ constants). */
const char *ord_status(const ord_order_t *o);
/** True when @p o is released by the facts given, counting the ones about to be added. */
bool ord_ready(const ord_order_t *o, bool application, bool identified, bool resolved);

/** True when @p method may be used for @p product in @p shop (NULL = the portal). */
bool ord_method_allowed(const Tp__Order__Product *product, const Tp__Order__Shop *shop,
                        const char *method);
/** True when @p shop offers @p product_id (an empty list offers every orderable one). */
bool ord_shop_offers(const Tp__Order__Shop *shop, const char *product_id);

/** Stream ids of the service's aggregates. */
void ord_stream(char *out, size_t outsz, const char *kind, const char *id);

/** A NULL-safe view of a protobuf string. */
static inline const char *ord_s(const char *s)
{
    return s ? s : "";
}

/* ------------------------------------------------------------------ validation */

/** Parses a strict "YYYY-MM-DD" of a real date (1900..2199) into days since 1970-01-01.
 *  @return true when valid */
bool ord_parse_date(const char *s, int64_t *days);
/** Days since 1970-01-01 of a time in microseconds (UTC). */
int64_t ord_days_of(int64_t us);
/** The civil date of @p days since 1970-01-01. */
void ord_civil(int64_t days, int *y, int *m, int *d);
/** True when @p cc is an assigned ISO 3166-1 alpha-2 code, in capitals. */
bool ord_country_valid(const char *cc);
bool ord_email_valid(const char *s);
/** Shop codes: 6..32 of [A-Za-z0-9-]. */
bool ord_shop_code_valid(const char *code);
/** Ids given by operators (shop ids): 3..64 of [a-z0-9-]. */
bool ord_id_valid(const char *id);
/** Free text: valid UTF-8 without control characters, @p min..@p max characters. Adds
 *  an "invalid" error at @p path when not. @return true when valid */
bool ord_check_text(svc_out_t *out, const char *path, const char *value, size_t min,
                    size_t max);
/** Each field of an applicant, errors at "applicant.<field>". */
void ord_check_applicant(svc_out_t *out, const Tp__Order__Applicant *a, int64_t now_us);
/** Each field of an organization, errors at "organization.<field>". */
void ord_check_organization(svc_out_t *out, const Tp__Order__Organization *o);
/** True when any field of @p o is filled in (an organization was given). */
bool ord_organization_given(const Tp__Order__Organization *o);
/** True for the five identification methods. */
bool ord_method_known(const char *method);

/* ------------------------------------------------------------------ production */

/** Reacts to an event of the production service (JobOpened, CardProduced, CardShipped,
 *  JobCompleted); other types are ignored. */
void ord_react_production(const ord_state_t *st, const svc_event_t *ev, svc_out_t *out);

/* order_retention.c: the applicants' personal data kept as long as it is needed */
/** React to production's CertificatesCreated (CertificatesValid) and the account
 *  service's AccountDeleted (its orders that never reached production are erased). */
void ord_react_retention(const ord_state_t *st, const char *upstream, const svc_event_t *ev,
                         svc_out_t *out);
/** Tick: erases the evidence of orders whose retention after expiry passed. */
void ord_tick_retention(const ord_state_t *st, int64_t now_us, svc_out_t *out);
/** Apply CertificatesValid and OrderDataErased; false for other types. */
bool ord_apply_retention(ord_state_t *st, const svc_event_t *ev);

/* ------------------------------------------------------------------ queries */

void ord_query_list_orders(const void *state, const svc_ctx_t *ctx,
                           const ProtobufCMessage *msg, svc_out_t *out);
void ord_query_get_order(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                         svc_out_t *out);
void ord_query_find_order(const void *state, const svc_ctx_t *ctx,
                          const ProtobufCMessage *msg, svc_out_t *out);
void ord_query_get_document(const void *state, const svc_ctx_t *ctx,
                            const ProtobufCMessage *msg, svc_out_t *out);
void ord_query_get_catalog(const void *state, const svc_ctx_t *ctx,
                           const ProtobufCMessage *msg, svc_out_t *out);
void ord_query_list_shops(const void *state, const svc_ctx_t *ctx,
                          const ProtobufCMessage *msg, svc_out_t *out);
/** Replies with the view of @p o (used by PlaceOrder with a not-yet-applied order). */
void ord_reply_view(const ord_state_t *st, const ord_order_t *o, svc_out_t *out);
#endif
