/* gateway_api.h: what the parts of the gateway_api test share: the system under test,
 * three browsers (customers A and B, officer O), and the ids A's orders got. */
#ifndef GATEWAY_API_H
#define GATEWAY_API_H
#include "flow.h"
#include "gw_client.h"

typedef struct {
    th_t *th;
    char base[64];          /* http://127.0.0.1:PORT */
    gwc_t *anon;            /* no session */
    gwc_t *a, *b, *o;       /* customer A, customer B (officer of another shop), officer O */
    char a_order[32];       /* A's seal card (PostIdent) in the demo shop */
    char a_case[32];        /* A's signature card (OfficerIdent), its case left open */
    char b_order[32];       /* B's signature card (PostIdent, no shop) */
    bool production;        /* tp-production runs (else its routes must be 503) */
    bool revocation;        /* tp-revocation runs */
} gt_t;


/** Products and revocation: A's and B's cards shipped (operator and producer steps as
 *  tpctl would), revoked by the owner and without login, listed; without the production
 *  and revocation daemons their routes must answer 503. */
void gt_products(gt_t *t);

/** The failures every route shares: no session, CSRF (Origin and token), wrong JSON,
 *  oversized bodies, throttling, and another account's resources (a matrix over routes
 *  and methods). */
void gt_failures(gt_t *t);
#endif
