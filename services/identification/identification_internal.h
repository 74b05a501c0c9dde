/* identification_internal.h: the core's state, shared by identification.c (apply, react,
 * summary) and identification_cmd.c (commands and queries); not part of the API. */
#ifndef IDENTIFICATION_INTERNAL_H
#define IDENTIFICATION_INTERNAL_H
#include "identification.h"
#include "svc_officers.h"

/* Order, account and shop ids: printable ASCII without spaces, so that
 * "case-<order id>" stays within EVS_MAX_ID and officer keys can use '\n'. */
#define IDENT_ID_MAX     128
#define IDENT_STREAM_MAX (IDENT_ID_MAX + 16)

/* A case is open until its result; identified is final, failed until a new attempt. */
typedef enum { IDENT_OPEN, IDENT_IDENTIFIED, IDENT_FAILED } ident_status_t;

/** "open", "identified", "failed", by ident_status_t. */
extern const char *const ident_status_names[];

typedef struct {
    char *order_id;             /* the order; key of the case, stream "case-<order id>" */
    char *account_id;           /* the customer who ordered */
    char *shop_id;              /* the order's shop, "" when none */
    char *method;               /* "postident", "notarident", ... */
    char *postident_number;     /* PostIdent process number, "" for other methods */
    char *applicant_name;       /* given names and family name, as ordered */
    char *applicant_birth_date; /* YYYY-MM-DD, as ordered */
    ident_status_t status;      /* open, identified or failed */
    char *evidence_ref;         /* provider reference, deed or file number */
    char *identified_by;        /* who identified: notary, embassy, officer, provider */
    char *recorded_by_account;  /* the account that recorded the result */
    char *recorded_by_role;     /* its role: producer, operator, officer */
    char *reason;               /* why it failed */
    char *application_by;       /* the operator who recorded the signed application, "" */
    int64_t opened_at_us;       /* when CaseOpened was recorded */
    int64_t closed_at_us;       /* when identified or failed (the provider's time if given) */
    uint32_t attempt;           /* 1, one more for each new attempt after a failure */
} ident_case_t;

typedef struct {
    zhashx_t *cases;        /* order id -> ident_case_t */
    zhashx_t *by_number;    /* PostIdent number -> ident_case_t, borrowed from cases */
    svc_officers_t officers; /* active appointments only (svc_officers.h) */
    uint64_t postident_seq; /* highest PostIdent sequence issued */
    uint64_t events;        /* events applied */
    bool four_eyes;         /* setting four_eyes: the application's operator does not
                               record the identification */
} ident_state_t;

/** The case of an order, or NULL. Borrowed until the next apply. */
const ident_case_t *ident_find(const ident_state_t *st, const char *order_id);

/** True when @p account is an active officer of @p shop (both non-empty). */
bool ident_is_officer(const ident_state_t *st, const char *account, const char *shop);

/** True when @p account is an active officer of any shop. O(officers). */
bool ident_is_any_officer(const ident_state_t *st, const char *account);

/** True for an id: 1..IDENT_ID_MAX bytes of printable ASCII without spaces. */
bool ident_valid_id(const char *s);

/** True for valid UTF-8 without C0/C1 control characters. */
bool ident_clean_utf8(const char *s);

/** The sequence of a well-formed PostIdent number (12 digits, valid check digit), else 0. */
uint64_t ident_postident_seq(const char *number);

/** A fresh PostIdent number into @p number; -1 when the sequence is exhausted. */
int ident_postident_next(const ident_state_t *st, char number[IDENT_POSTIDENT_DIGITS + 1]);

/** The commands and queries (identification_cmd.c), see svc_decide_fn. */
svc_decide_fn ident_decide_postident;   /* RecordPostIdentResult */
svc_decide_fn ident_decide_result;      /* RecordResult */
svc_decide_fn ident_decide_new_attempt; /* OpenNewAttempt */
svc_decide_fn ident_query_list;         /* ListCases */
svc_decide_fn ident_query_get;          /* GetCase */
#endif
