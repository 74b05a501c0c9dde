/* identification.h: the identification service (tp-identification), one case per order.
 *
 * Reacts to the order service's OrderPlaced by opening a case for the chosen method
 * (PostIdent cases get a process number for the coupon) and to the account service's
 * officer appointments, so that it knows who may record an OfficerIdent result.
 * Commands "identification.<Name>" (see proto/identification.proto):
 *
 *   RecordPostIdentResult  producer or operator; keyed by the PostIdent number
 *   RecordResult           operator: notarident, botschaftsident, dtrustident;
 *                          officer of the order's shop: officerident (nobody else)
 *   OpenNewAttempt         operator; reopens a failed case (PostIdent: a new number)
 *   ListCases (query)      operator: all; officer: open cases of their shops
 *   GetCase (query)        operator; officer of the case's shop; the case's own account
 *
 * Refusals: "invalid" (field named), "forbidden", "not_found", "conflict" (the case is
 * already closed). An identified case is final; a failed one is closed until an
 * operator opens a new attempt (see identification.c).
 */
#ifndef IDENTIFICATION_H
#define IDENTIFICATION_H
#include "svc.h"

/** The identification core. Upstreams: "order", "account". */
extern const svc_def_t identification_def;

/** Digits of a PostIdent process number: an 11-digit sequence and a Luhn check digit. */
#define IDENT_POSTIDENT_DIGITS 12

/** Most cases one ListCases reply carries (oldest first; `truncated` says more matched). */
#define IDENT_LIST_MAX 1000

/** Limits of the result fields, in bytes. */
#define IDENT_EVIDENCE_MAX 200
#define IDENT_REASON_MAX   500
#define IDENT_WHO_MAX      200

/** How far a provider's identified_at_us may lie ahead of our clock (clock skew). */
#define IDENT_CLOCK_SKEW_US (10 * 60 * 1000000LL)
#endif
