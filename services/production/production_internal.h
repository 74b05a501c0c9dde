/* production_internal.h: the production core's state and the helpers its files share
 * (production.c facts, reactions, tick; production_state.c state; production_query.c
 * queries). Not for use outside services/production. */
#ifndef PRODUCTION_INTERNAL_H
#define PRODUCTION_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include "production.h"
#include "production.pb-c.h"

/** A production job, and the product it turns into once the card is shipped. */
typedef struct {
    char *order_id;
    char *account_id;   /* the owner of the product */
    char *product_type; /* the catalog product, e.g. "seal-card" */
    char *shop_id;
    int64_t opened_at_us;
    Tp__Production__CertificatesCreated *certs; /* the event (owned), NULL until recorded */
    int64_t certs_at_us;
    char *card_number; /* NULL until produced */
    int64_t produced_at_us;
    char *tracking_number; /* the card's registered mail */
    int64_t shipped_at_us; /* 0 until shipped: then the product exists */
    char *pin_tracking_number;
    int64_t pin_shipped_at_us;
    int64_t card_delivered_at_us;
    int64_t pin_delivered_at_us;
    int64_t completed_at_us; /* JobCompleted */
    /* the product */
    char *product_id;      /* "prd-<order id>", NULL until shipped */
    int64_t valid_from_us; /* latest valid_from of the certificates */
    int64_t valid_to_us;   /* earliest valid_to of the certificates */
    int64_t activated_at_us;
    int64_t revocation_at_us;    /* ProductRevocationPending */
    char *revocation_request_id; /* the request that revokes it */
    int64_t revoked_at_us;       /* ProductRevoked: final */
    void *pending;               /* handle in prd_state_t.pending while waiting for
                                    activation, else NULL */
} prd_job_t;

typedef struct {
    zhashx_t *jobs;              /* order id -> prd_job_t (owned) */
    zhashx_t *products;          /* product id -> prd_job_t (borrowed) */
    zhashx_t *by_account;        /* account id -> zlistx_t of prd_job_t * in shipping order */
    zhashx_t *facts;             /* fact id -> order id it was recorded for (the job's own,
                                    borrowed: no copy per fact); grows with every fact */
    zhashx_t *serials;           /* lower-case serial -> order id (the job's, borrowed) */
    zhashx_t *cards;             /* upper-case card number -> order id (the job's, borrowed) */
    zlistx_t *pending;           /* jobs shipped and waiting for activation (borrowed), log order:
                                    the tick walks these only, not every product ever made */
    int64_t activation_delay_us; /* setting, from configure */
    uint64_t events;             /* events applied */
} prd_state_t;

/** Job status names (wire values of JobView.status). */
#define PRD_OPENED       "opened"
#define PRD_CERTIFICATES "certificates"
#define PRD_PRODUCED     "produced"
#define PRD_SHIPPED      "shipped"
#define PRD_DELIVERED    "delivered"

/** Longest order id accepted (the order service makes "TP-2026-000042"). */
#define PRD_ORDER_ID_MAX 64

/** Stream ids: "job-<order id>", "product-<product id>". */
#define PRD_STREAM_MAX 96

void *prd_state_new(void);
void prd_state_destroy(void **state_p);
void prd_apply(void *state, const svc_event_t *ev);
char *prd_summary(const void *state);

const prd_job_t *prd_job(const prd_state_t *st, const char *order_id);
const prd_job_t *prd_product(const prd_state_t *st, const char *product_id);
/** The account's products in shipping order (NULL when none). */
zlistx_t *prd_products_of(const prd_state_t *st, const char *account_id);

/** The job's status (one of the PRD_ constants). */
const char *prd_job_status(const prd_job_t *job);
/** The product's status (one of the PRODUCTION_ status constants). */
const char *prd_product_status(const prd_job_t *job);
/** When the product is due for activation (0 when not shipped). */
int64_t prd_activates_at(const prd_state_t *st, const prd_job_t *job);
/** The product id of an order: "prd-<order id>". */
void prd_product_id(char *out, size_t outsz, const char *order_id);

/** A NULL-safe view of a protobuf string. */
static inline const char *prd_s(const char *s)
{
    return s ? s : "";
}

/* ------------------------------------------------------------------ queries */

void prd_query_list_products(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                             svc_out_t *out);
void prd_query_get_product(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                           svc_out_t *out);
void prd_query_get_job(const void *state, const svc_ctx_t *ctx, const ProtobufCMessage *msg,
                       svc_out_t *out);
/** The JobView of @p job, as the reply (GetJob). */
void prd_reply_job(const prd_state_t *st, const prd_job_t *job, svc_out_t *out);
#endif
