/* sse_client.h: a browser's live-update stream (GET /api/v1/events) for the tests: one
 * libcurl transfer on a thread of its own, everything received kept with the time it came,
 * so a test can wait for a message, read the last event id, and measure latency. */
#ifndef SSE_CLIENT_H
#define SSE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct _sse_t sse_t;

/** Opens the stream at @p base with session cookie @p session ("" or NULL: none) and
 *  Last-Event-ID @p last_id (NULL: none). Returns at once; the transfer runs until
 *  sse_close() or the server ends it. */
sse_t *sse_open(const char *base, const char *session, const char *last_id);

/** Stops the transfer and frees; sets *self_p to NULL; safe twice. */
void sse_close(sse_t **self_p);

/** The HTTP status once the headers came (0 before, or when the transfer failed). */
long sse_status(sse_t *self);

/** Waits until the text received holds @p needle (after the @p skip first bytes); the
 *  offset just past it, or -1 on time-out. */
long sse_wait(sse_t *self, const char *needle, size_t skip, int timeout_ms);

/** A copy of everything received (caller frees). */
char *sse_text(sse_t *self);

/** Whether the transfer has ended (the server closed, or it failed). */
bool sse_ended(sse_t *self);

/** The id of the last complete event received into @p out; false when none. */
bool sse_last_id(sse_t *self, char *out, size_t outsz);

/** Occurrences of @p needle in what was received. */
int sse_count(sse_t *self, const char *needle);
#endif
