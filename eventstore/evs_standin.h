/* evs_standin.h: a stand-in for one instance of a service, for the tests of clients that
 * fail over between instances (evs_bus.h: evs_client_t, gateway/gw_backend.c).
 *
 * A ROUTER on its own thread that answers every request as it is told: as the active
 * instance (ok, an empty body), as a standby (refused EVS_BUS_NOT_ACTIVE), or not at all;
 * and that counts the requests it took, by request id, so that a test can tell which
 * instance saw which request and how often. It decides nothing and keeps nothing else.
 */
#ifndef EVS_STANDIN_H
#define EVS_STANDIN_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How a stand-in answers. */
typedef enum {
    EVS_STANDIN_ACTIVE = 0, /**< ok = true, the request's id, no body */
    EVS_STANDIN_STANDBY,    /**< ok = false, one error with code EVS_BUS_NOT_ACTIVE */
    EVS_STANDIN_SILENT,     /**< no answer (a hung instance: its connection stays up) */
    EVS_STANDIN_LOSE_ONE    /**< no answer to the first request; then its socket is closed
                                 (an instance stopped with a request, then killed) */
} evs_standin_mode_t;

typedef struct _evs_standin_t evs_standin_t;

/**
 * @brief Bind a stand-in at @p endpoint.
 * @param[in] cert the service's certificate: the ROUTER is a CURVE server with it, admitting
 *            every client (no ZAP domain); NULL: no CURVE (inproc://)
 * @return the stand-in, or NULL when the endpoint cannot be bound
 */
evs_standin_t *evs_standin_new(const char *endpoint, zcert_t *cert, evs_standin_mode_t mode);

/** Destroy (the socket is closed); sets *self_p to NULL; safe twice. */
void evs_standin_destroy(evs_standin_t **self_p);

/** @brief Answer from now on as @p mode says. */
void evs_standin_set(evs_standin_t *self, evs_standin_mode_t mode);

/**
 * @brief How many requests with id @p request_id it took (NULL: all of them), answered or
 * not. Requests that arrived before the call are counted once it returns.
 */
size_t evs_standin_count(evs_standin_t *self, const char *request_id);

#ifdef __cplusplus
}
#endif
#endif
