/* cluster.h: the cluster suite's kit: a NATS JetStream cluster of real nats-server
 * processes on free local ports inside a test's folder (harness.h), killed and restarted
 * at will. */
#ifndef TP_CLUSTER_H
#define TP_CLUSTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <nats/nats.h>
#include "evs_js.h"
#include "harness.h"

/** Nodes of the cluster: three, so that one may be lost. */
#define TC_NODES 3

typedef struct _tc_cluster_t tc_cluster_t;

/**
 * @brief Start a cluster of TC_NODES nodes in @p th's folder and wait until it serves
 * JetStream (its servers elected their metadata leader).
 *
 * Node i (0-based) is server "n<i+1>", daemon "nats-<i+1>" of @p th (its log in
 * logs/nats-<i+1>.log), config nats/n<i+1>.conf (client and route port, JetStream with its
 * store in nats/n<i+1>/, routes to the other nodes), from the nats-server of
 * $TP_NATS_SERVER (set by meson). th_destroy() ends what still runs and removes it all.
 * @return the cluster, or NULL (said on stderr) when a node does not start or the cluster
 *         does not answer within @p timeout_ms
 */
tc_cluster_t *tc_cluster_new(th_t *th, int timeout_ms);

/** A test's start: its folder (th_new(@p name)) and a cluster in it, said on stdout with
 *  the time it took; NULL, *th_p NULL and a failed check when either fails. */
tc_cluster_t *tc_cluster_up(const char *name, th_t **th_p);

/** A test's end: the cluster and the folder gone, "passed" or "FAILED" on stdout with the
 *  time since tc_cluster_up(). @return the test's exit status (1 when a check failed) */
int tc_cluster_down(tc_cluster_t **self_p, th_t **th_p);

/** Stops every node (SIGTERM) and frees; sets *self_p to NULL. Safe on NULL or twice. */
void tc_cluster_destroy(tc_cluster_t **self_p);

/** Every node's client URL, comma-separated (evs_js_opts_t.servers). */
const char *tc_cluster_urls(tc_cluster_t *self);

/** Node @p node's client URL, and its server name ("n1"...). */
const char *tc_cluster_url(tc_cluster_t *self, int node);
const char *tc_cluster_name(tc_cluster_t *self, int node);

/** The node whose server is named @p name (a stream's leader), or -1. */
int tc_cluster_node(tc_cluster_t *self, const char *name);

/** A connection for a test (2 s timeouts, 3 replicas) to @p servers (NULL: every node),
 *  named @p name; NULL (said on stderr) when it fails. */
evs_js_t *tc_connect(tc_cluster_t *self, const char *servers, const char *name);

/** Creates stream @p cfg as it is, through a connection of its own (a stream made by
 *  someone else, for the checks of what is found); false when the cluster refuses it. */
bool tc_add_stream(tc_cluster_t *self, jsStreamConfig *cfg);

/** What two racers run (tc_race()): 0 for success. */
typedef int(tc_race_fn)(void *arg);

/**
 * @brief Runs @p fn(args[0]) and @p fn(args[1]) on two threads released at the same moment
 * (a barrier), their results into rc[0] and rc[1].
 * @return how many of the two succeeded (0, 1 or 2)
 */
int tc_race(tc_race_fn *fn, void *const args[2], int rc[2]);

/** A loader thread's tally: the cluster tests' writers that go on while nodes are killed.
 *  Zero it before use. */
typedef struct {
    atomic_bool stop;           /**< set by the test: the loader ends */
    atomic_uint_fast64_t acked; /**< what it had acknowledged, in the loader's units */
    int retries;                /**< calls tried again after a time-out or unavailable */
    int64_t max_gap_ms;         /**< longest time between two successful calls */
    int failed;                 /**< calls that failed for good (the loader then ends) */
    int64_t last_ok;            /**< zclock_mono() of the last success; 0: none yet */
} tc_load_t;

/** One call of a loader (an append, a put): 0 or an evs_js_ code. */
typedef int(tc_call_fn)(void *arg);

/**
 * @brief Calls @p fn(@p arg) until it returns something else than EVS_JS_TIMEOUT or
 * EVS_JS_UNAVAILABLE, 50 ms apart, for 30 s at most: the same call again, which the
 * module under test must take as a retry. Counts the retries and the longest gap between
 * successes; a failure is said on stderr and counted in self->failed.
 * @return fn's last value
 */
int tc_load_call(tc_load_t *self, tc_call_fn *fn, void *arg);

/**
 * @brief Waits until the loader's acked reaches @p target.
 * @return the time it took in ms, or -1 when @p timeout_ms passed first or the loader
 *         failed
 */
int64_t tc_load_wait(tc_load_t *self, uint64_t target, int timeout_ms);

/** Sends @p sig to node @p node and waits for it to end (SIGKILL: a crash). */
void tc_cluster_stop(tc_cluster_t *self, int node, int sig);

/** Starts node @p node again, on its ports and store; false when its client port does not
 *  accept connections within @p timeout_ms. */
bool tc_cluster_start(tc_cluster_t *self, int node, int timeout_ms);

#endif
