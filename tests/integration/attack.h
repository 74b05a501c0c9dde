/* attack.h: what the tests of the attacks on registration, login and revocation share
 * (attack_*.c): the daemons and the gateway behind a trusted reverse proxy (so that each
 * test client comes from an address of its own, as X-Forwarded-For says), times compared
 * as distributions, and a flood of the password routes from one address. */
#ifndef ATTACK_H
#define ATTACK_H
#include <stdbool.h>
#include <stddef.h>
#include "gw_client.h"
#include "harness.h"

/** @brief A system folder (th_new(@p name), CZMQ set up and quiet) with a real SMTP server
 *  for the mails, and the gateway's trusted proxy 127.0.0.1: a client that sends
 *  "X-Forwarded-For: ADDR" (gwc_set_client) is ADDR to the gateway. One more setting
 *  @p path = @p value when @p path is not NULL (th_set). NULL when the SMTP server did not
 *  start. */
th_t *at_new(const char *name, const char *path, const char *value);

/**
 * @brief Starts the services in @p services (a comma list of account, order,
 * identification, production, revocation, in that order), then the gateway; the base URL
 * into @p base (>= 64 bytes). False when something did not come up (then @p th is
 * destroyed and NULL).
 */
bool at_start(th_t **th, const char *services, char *base, size_t basesz);

/** @brief The end of a test @p name begun at @p t0 (zclock_mono): destroys @p th, prints
 *  the time taken and the failed checks. @return the exit code */
int at_end(th_t **th, const char *name, int64_t t0);

/** Times of one kind of request, in seconds. */
typedef struct {
    double *v;
    size_t n, cap;
} at_times_t;

void at_times_add(at_times_t *t, double secs);
void at_times_free(at_times_t *t);
/** The median (0 when empty). */
double at_median(const at_times_t *t);
/** The standard error of the median, from the median absolute deviation: robust to the
 *  outliers a shared machine throws in (1.2533 * 1.4826 * MAD / sqrt(n)). */
double at_se_median(const at_times_t *t);

/**
 * @brief Two distributions the same within the noise of the measurement: the medians
 * differ by at most the band, 4 standard errors of the difference, and not less than
 * @p floor_s (the clock's and the scheduler's grain). Prints both medians, the difference
 * and the band, labelled @p what.
 * @return true when within the band
 */
bool at_same(const char *what, const at_times_t *a, const at_times_t *b, double floor_s);

/** A flood of the password routes from one address, on its own threads. */
typedef struct _at_flood_t at_flood_t;

/**
 * @brief Starts @p connections threads, each with its own connection to @p base, sending
 * as fast as they are answered, from the address @p addr: a wrong password for
 * @p email (log in), a registration, a password reset with a made-up link, a revocation
 * with a wrong password for @p number, in turn.
 */
at_flood_t *at_flood_start(const char *base, const char *addr, const char *email,
                           const char *number, int connections);

/** @brief Stops the threads; prints how many requests were answered with which status;
 *  the count of 429 answers into @p throttled and of all into @p total (may be NULL). */
void at_flood_stop(at_flood_t **self_p, long *throttled, long *total);
#endif
