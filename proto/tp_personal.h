/* tp_personal.h: which fields of trustportal's messages hold personal data: the one
 * declaration the runtime seals by (services/common/svc_seal.h) and the tests walk.
 *
 * Every string and bytes field of every message in tp_types_all is declared here, by
 * its name or by "package.Message.field": personal or plain. A field that the table
 * does not name is an error that the test `tp_personal` reports, so no new field
 * reaches a log before someone decided what it is.
 *
 * Personal fields are strings. Each value is sealed for one data subject: the nearest
 * enclosing message (the field's own first) that has a non-empty `order_id` names the
 * subject "order:<id>" (the applicant of that order), else one with a non-empty
 * `account_id` names "account:<id>". A field declared TP_PERSONAL_WINDOW is a client
 * address kept for throttling: its subject is the hour it was written in
 * ("window:YYYYMMDDHH"), erased when the throttling windows have passed.
 *
 * What is plain, and why: ids (accounts, orders, products, shops, requests: pseudonyms
 * whose meaning lives in sealed fields), codes and states, staff names (who did what,
 * which SPEC's audit rule keeps), organizations, tracking, card and serial numbers, and
 * operators' notes and reasons, which say what is missing or wrong, never the applicant's
 * data (the operators' manual in README.md says so).
 */
#ifndef TP_PERSONAL_H
#define TP_PERSONAL_H

#include <protobuf-c/protobuf-c.h>

typedef enum {
    TP_UNDECLARED = -1,     /**< the table does not say: an error (test tp_personal) */
    TP_PLAIN = 0,           /**< kept as it is */
    TP_PERSONAL = 1,        /**< sealed for the subject of its message */
    TP_PERSONAL_WINDOW = 2, /**< sealed for the hour it was written in (throttling) */
} tp_personal_kind_t;

/** @brief What field @p f of message @p m is. */
tp_personal_kind_t tp_personal_kind(const ProtobufCMessageDescriptor *m,
                                    const ProtobufCFieldDescriptor *f);

/** @brief Whether @p m or a message inside it (at any depth) has a personal field. */
int tp_personal_any(const ProtobufCMessageDescriptor *m);

/** One row of the table: a field name ("email") or a qualified one
 *  ("tp.account.LoginFailed.client_addr", which wins over the name alone). */
typedef struct {
    const char *field;
    tp_personal_kind_t kind;
} tp_personal_row_t;

/** The table, ended by a row with field NULL (for the test). */
extern const tp_personal_row_t tp_personal_table[];
#endif
