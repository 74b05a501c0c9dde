/* prodflow.h: the production and revocation flow over all five daemons (issue 4),
 * shared by production_flow (with every refusal) and production_crash (with a daemon
 * killed after each step): three orders released for production, the producers' facts
 * through `tpctl produce` and the CURVE producer endpoint, products activated after a
 * short delay, and revoked by the owner, with the revocation password, and by the shop's
 * officer. Each helper reports what went wrong on stderr; checks are TH_CHECKs. */
#ifndef PRODFLOW_H
#define PRODFLOW_H
#include "flow.h"
#include "production.h"
#include "production.pb-c.h"
#include "revocation.pb-c.h"

/** The products of the flow. */
enum {
    PF_OWNER_REVOKES = 0,   /**< signature card: the owner revokes it, logged in */
    PF_PASSWORD_REVOKES,    /**< signature card: revoked with the revocation password */
    PF_OFFICER_REVOKES,     /**< seal card of the demo shop: its officer revokes it */
    PF_N
};

/** Seconds from shipping to activation, and from a revocation request to its completion. */
#define PF_ACTIVATION_S  "2"
#define PF_ACTIVATION_US 2000000
#define PF_PROCESSING_S "1"

/** A system of the five daemons and the flow's state. */
typedef struct pf_s pf_t;
struct pf_s {
    th_t *th;
    char producer_ep[256];    /**< the production service's producers' endpoint (tcp; on a
                                   cluster, every instance's, comma-separated) */
    fl_customer_t owner;      /**< orders all three cards */
    fl_customer_t officer;    /**< officer of the demo shop */
    char orders[PF_N][64];
    char products[PF_N][80];
    char cards[PF_N][40];
    const char *activation_delay_s; /**< NULL: PF_ACTIVATION_S (the benchmark: a day) */
    const char *order_listener; /**< a key that may follow the order service besides its
                                     followers (the benchmark's listener); NULL: none */
    bool refusals;            /**< also check every refusal (production_flow) */
    bool crash;               /**< daemons are killed in between: transient states may be
                                   missed */
    /** Called after the config is written and before the daemons start (may be NULL):
     *  the cluster suite sets up its second host there. False: the setup fails. */
    bool (*before_start)(pf_t *pf);
    /** Called after each step with its name (may be NULL): production_crash kills there. */
    void (*after_step)(pf_t *pf, const char *step);
    void *arg;
};

/** The five services, in start order. */
extern const char *const pf_services[5];

/** A fresh system (th_new(@p name)): config (tick 200 ms, the delays above, the producer
 *  endpoint with its certificates), all five daemons started. False when it did not come
 *  up. */
bool pf_setup(pf_t *pf, const char *name);

/** The whole flow, with after_step between the steps; false when it could not go on. */
bool pf_run(pf_t *pf);

/** The end state in words (order and product statuses, the revocation list, the requests'
 *  evidence, each service's summary without its digest), one item a line, for comparing
 *  two runs; caller frees. */
char *pf_end_state(pf_t *pf);

/** Every log verifies and replays to the live state; no event that happens once per
 *  order or product is there twice, and each is there once for each of the three. */
void pf_check_logs(pf_t *pf);

/** The key of the production line that sends over the producers' endpoint. */
#define PF_LINE_KEY "producer-line-1"

/** How a producer fact is sent. PF_VIA_BATCH: in a "$batch" over the CURVE endpoint,
 *  followed in the same batch by the same fact under another request id, which must be
 *  acknowledged as a duplicate. PF_VIA_TPCTL_FILE: as a line of a facts file (`tpctl
 *  produce --file`) followed by the same fact under another request id (a duplicate),
 *  after a file with the same line and a bad one, which must send nothing. */
typedef enum {
    PF_VIA_TPCTL,
    PF_VIA_CURVE,
    PF_VIA_ROUTER,
    PF_VIA_BATCH,
    PF_VIA_TPCTL_FILE
} pf_via_t;

/** The answer to one fact: ok, the ack, or the first error. */
typedef struct {
    bool answered, ok, duplicate;
    uint64_t last_seq;
    char job_status[32], order_id[64];
    char code[32], field[64], message[256];
} pf_ack_t;

/** Sends producer fact @p kind ("certificates", "card", "shipped", "pin-shipped",
 *  "delivered", "pin-delivered", as `tpctl produce` names them) for order @p idx of the
 *  flow (or @p order_id when not NULL) with @p fact_id, over @p via. */
pf_ack_t pf_fact(pf_t *pf, pf_via_t via, const char *kind, int idx, const char *order_id,
                 const char *fact_id);

/** Waits until product @p idx shows @p status to its owner; the view (caller frees), or
 *  NULL on time-out. */
Tp__Production__ProductView *pf_wait_product(pf_t *pf, int idx, const char *status,
                                             int timeout_ms);
#endif
