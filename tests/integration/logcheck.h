/* logcheck.h: reading a service's log from a test (read-only, beside the running daemon). */
#ifndef LOGCHECK_H
#define LOGCHECK_H
#include <stdint.h>
#include "evs.h"
#include "tp.pb-c.h"

/** Calls fn with every decoded envelope of the log in @p dir, its personal fields opened
 *  with the service's key store (svc_seal.h) when it has one; returns records seen or -1. */
int64_t lc_each(const char *dir, void (*fn)(const Tp__Envelope *env, void *arg), void *arg);
#endif
