/* cluster.h: the cluster suite's kit: a NATS JetStream cluster of real nats-server
 * processes on free local ports inside a test's folder (harness.h), killed and restarted
 * at will. */
#ifndef TP_CLUSTER_H
#define TP_CLUSTER_H

#include <stdbool.h>
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

/** What two racers run (tc_race()): 0 for success. */
typedef int(tc_race_fn)(void *arg);

/**
 * @brief Runs @p fn(args[0]) and @p fn(args[1]) on two threads released at the same moment
 * (a barrier), their results into rc[0] and rc[1].
 * @return how many of the two succeeded (0, 1 or 2)
 */
int tc_race(tc_race_fn *fn, void *const args[2], int rc[2]);

/** Sends @p sig to node @p node and waits for it to end (SIGKILL: a crash). */
void tc_cluster_stop(tc_cluster_t *self, int node, int sig);

/** Starts node @p node again, on its ports and store; false when its client port does not
 *  accept connections within @p timeout_ms. */
bool tc_cluster_start(tc_cluster_t *self, int node, int timeout_ms);

#endif
