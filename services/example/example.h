/* example.h: the example service, a fixture that exercises the whole backbone:
 * commands with version checks, a query, slow work on the worker pool, a
 * subscription (the "mirror" role) and a timer. Not part of the product. */
#ifndef EXAMPLE_H
#define EXAMPLE_H
#include "svc.h"

/** The example core. Upstreams come from config (`upstreams = alpha`). */
extern const svc_def_t example_def;

/** Threshold at which tick marks a counter (once). */
#define EXAMPLE_TICK_AT 10
#endif
