/* svc_out.c: the collector of what a core's decide/react/tick produce. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "svc.h"
#include "svc_internal.h"

static bool s_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

svc_out_t *svc_out_new(void)
{
    return calloc(1, sizeof(svc_out_t));
}

void svc_out_reset(svc_out_t *out)
{
    for (size_t i = 0; i < out->n_events; i++) {
        free(out->events[i].stream_id);
        free(out->events[i].payload);
    }
    for (size_t i = 0; i < out->n_expects; i++)
        free(out->expects[i].stream_id);
    for (size_t i = 0; i < out->n_errors; i++) {
        free(out->errors[i].code);
        free(out->errors[i].field);
        free(out->errors[i].message);
    }
    for (size_t i = 0; i < out->n_logs; i++)
        free(out->logs[i]);
    for (size_t i = 0; i < out->n_erase; i++) {
        free(out->erase[i]);
        free(out->erase_reason[i]);
    }
    out->n_erase = 0;
    free(out->reply);
    out->reply = NULL;
    out->reply_len = 0;
    out->n_events = out->n_expects = out->n_errors = out->n_logs = 0;
    out->any_error = false;
    out->keep_events = false;
}

void svc_out_destroy(svc_out_t **out_p)
{
    if (!out_p || !*out_p)
        return;
    svc_out_t *out = *out_p;
    svc_out_reset(out);
    free(out->events);
    free(out->expects);
    free(out->errors);
    free(out->logs);
    free(out->erase);
    free(out->erase_reason);
    free(out);
    *out_p = NULL;
}

int svc_out_event(svc_out_t *out, const char *stream_id, const ProtobufCMessage *event)
{
    if (!stream_id || !*stream_id || strlen(stream_id) > EVS_MAX_ID) {
        svc_out_error(out, "internal", NULL, "event with an invalid stream id");
        return -1;
    }
    if (!s_grow((void **) &out->events, &out->cap_events, out->n_events, sizeof *out->events))
        goto oom;
    svc_out_event_t *ev = &out->events[out->n_events];
    ev->type = event->descriptor->short_name;
    ev->desc = event->descriptor;
    ev->len = protobuf_c_message_get_packed_size(event);
    ev->payload = malloc(ev->len ? ev->len : 1);
    ev->stream_id = strdup(stream_id);
    if (!ev->payload || !ev->stream_id) {
        free(ev->payload);
        free(ev->stream_id);
        goto oom;
    }
    protobuf_c_message_pack(event, ev->payload);
    out->n_events++;
    return 0;
oom:
    svc_out_error(out, "internal", NULL, "out of memory");
    return -1;
}

int svc_out_erase(svc_out_t *out, const char *subject, const char *reason)
{
    if (!subject || !*subject || strlen(subject) > 200) {
        svc_out_error(out, "internal", NULL, "erasure of an invalid subject");
        return -1;
    }
    if (out->n_erase == out->cap_erase) {
        size_t cap = out->cap_erase ? out->cap_erase * 2 : 4;
        char **a = realloc(out->erase, cap * sizeof *a);
        if (a)
            out->erase = a;
        char **b = a ? realloc(out->erase_reason, cap * sizeof *b) : NULL;
        if (b)
            out->erase_reason = b;
        if (!a || !b)
            goto oom;
        out->cap_erase = cap;
    }
    out->erase[out->n_erase] = strdup(subject);
    out->erase_reason[out->n_erase] = strdup(reason ? reason : "");
    if (!out->erase[out->n_erase] || !out->erase_reason[out->n_erase]) {
        free(out->erase[out->n_erase]);
        free(out->erase_reason[out->n_erase]);
        goto oom;
    }
    out->n_erase++;
    return 0;
oom:
    svc_out_error(out, "internal", NULL, "out of memory");
    return -1;
}

size_t svc_out_n_erasures(const svc_out_t *out)
{
    return out->n_erase;
}

const char *svc_out_erasure_at(const svc_out_t *out, size_t i)
{
    return i < out->n_erase ? out->erase[i] : NULL;
}

void svc_out_expect(svc_out_t *out, const char *stream_id, int64_t expected)
{
    if (!s_grow((void **) &out->expects, &out->cap_expects, out->n_expects,
                sizeof *out->expects)) {
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    out->expects[out->n_expects].stream_id = strdup(stream_id);
    out->expects[out->n_expects].expected = expected;
    out->n_expects++;
}

void svc_out_error(svc_out_t *out, const char *code, const char *field, const char *fmt, ...)
{
    out->any_error = true;
    if (!s_grow((void **) &out->errors, &out->cap_errors, out->n_errors, sizeof *out->errors))
        return;   /* any_error already refuses the command */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    svc_out_error_t *e = &out->errors[out->n_errors++];
    e->code = strdup(code ? code : "invalid");
    e->field = strdup(field ? field : "");
    e->message = strdup(msg);
}

void svc_out_reply(svc_out_t *out, const ProtobufCMessage *reply)
{
    free(out->reply);
    out->reply_len = protobuf_c_message_get_packed_size(reply);
    out->reply = malloc(out->reply_len ? out->reply_len : 1);
    if (!out->reply) {
        out->reply_len = 0;
        svc_out_error(out, "internal", NULL, "out of memory");
        return;
    }
    protobuf_c_message_pack(reply, out->reply);
}

void svc_out_keep_events(svc_out_t *out)
{
    out->keep_events = true;
}

void svc_out_log(svc_out_t *out, char level, const char *fmt, ...)
{
    if (!s_grow((void **) &out->logs, &out->cap_logs, out->n_logs, sizeof *out->logs))
        return;
    char msg[512];
    msg[0] = level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
    va_end(ap);
    char *line = strdup(msg);
    if (line)
        out->logs[out->n_logs++] = line;
}

bool svc_out_failed(const svc_out_t *out)
{
    return out->any_error || out->n_errors > 0;
}

size_t svc_out_n_events(const svc_out_t *out)
{
    return out->n_events;
}

size_t svc_out_n_errors(const svc_out_t *out)
{
    return out->n_errors;
}

int svc_out_event_at(const svc_out_t *out, size_t i, const char **type, const char **stream_id,
                     const uint8_t **payload, size_t *len)
{
    if (i >= out->n_events)
        return -1;
    if (type)
        *type = out->events[i].type;
    if (stream_id)
        *stream_id = out->events[i].stream_id;
    if (payload)
        *payload = out->events[i].payload;
    if (len)
        *len = out->events[i].len;
    return 0;
}

int svc_out_error_at(const svc_out_t *out, size_t i, const char **code, const char **field,
                     const char **message)
{
    if (i >= out->n_errors)
        return -1;
    if (code)
        *code = out->errors[i].code;
    if (field)
        *field = out->errors[i].field;
    if (message)
        *message = out->errors[i].message;
    return 0;
}

size_t svc_out_n_logs(const svc_out_t *out)
{
    return out->n_logs;
}

const char *svc_out_log_at(const svc_out_t *out, size_t i)
{
    return i < out->n_logs ? out->logs[i] : NULL;
}

bool svc_out_keeps_events(const svc_out_t *out)
{
    return out->keep_events;
}

const uint8_t *svc_out_reply_bytes(const svc_out_t *out, size_t *len)
{
    if (len)
        *len = out->reply_len;
    return out->reply;
}
