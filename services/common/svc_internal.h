/* svc_internal.h: runtime internals shared by the svc_*.c files (not for services). */
#ifndef SVC_INTERNAL_H
#define SVC_INTERNAL_H

#include "svc.h"

typedef struct {
    char *stream_id;       /* owned */
    const char *type;      /* descriptor's short name (static) */
    uint8_t *payload;      /* owned, serialized event */
    size_t len;
} svc_out_event_t;

typedef struct {
    char *stream_id;       /* owned */
    int64_t expected;
} svc_out_expect_t;

typedef struct {
    char *code, *field, *message;   /* owned */
} svc_out_error_t;

struct _svc_out_t {
    svc_out_event_t *events;    /* events in order */
    size_t n_events, cap_events;
    svc_out_expect_t *expects;  /* version expectations */
    size_t n_expects, cap_expects;
    svc_out_error_t *errors;    /* refusals */
    size_t n_errors, cap_errors;
    bool any_error;             /* set even when an error could not be stored */
    bool keep_events;           /* refused, but the events are written (svc_out_keep_events) */
    char **logs;                /* lines to log: first char the level */
    size_t n_logs, cap_logs;
    uint8_t *reply;             /* serialized reply message */
    size_t reply_len;
};

#endif
