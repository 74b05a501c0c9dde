/* prodflow_internal.h: what the files of the production flow share among themselves. */
#ifndef PRODFLOW_INTERNAL_H
#define PRODFLOW_INTERNAL_H
#include "prodflow.h"

/** Calls pf->after_step. */
void pf_step(pf_t *pf, const char *step);

/** The digits of an order id. */
void pf_digits(const char *order_id, char *out, size_t outsz);

/** The fact id the flow gives fact number @p kind (0..5) of order @p idx. */
void pf_fact_id(const pf_t *pf, int idx, int kind, char *out, size_t outsz);

/** A reply to a fact, in short. */
pf_ack_t pf_ack_of_reply(const Tp__Reply *r);

/** GetProduct of product @p idx as @p as; the view or NULL, the reply into *reply when
 *  @p reply is not NULL (caller frees both). */
Tp__Production__ProductView *pf_get_product(pf_t *pf, const th_actor_t *as, int idx,
                                            Tp__Reply **reply);

/** The refusals (prodflow_refusals.c), at the points of the flow where the service they
 *  are sent to writes nothing else: */
void pf_refuse_facts_early(pf_t *pf);   /**< jobs opened, no fact yet */
void pf_refuse_facts_late(pf_t *pf);    /**< the certificates recorded */
void pf_refuse_revocations(pf_t *pf);   /**< all three Gültig, none revoked */
void pf_refuse_while_pending(pf_t *pf); /**< the owner's request just accepted */
void pf_refuse_double(pf_t *pf);        /**< the owner's product Gesperrt */

/** The revocation list and the requests' evidence after the three revocations. */
void pf_check_list(pf_t *pf);
#endif
