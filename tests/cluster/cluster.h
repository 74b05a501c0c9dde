/* cluster.h: the cluster suite's kit: a NATS JetStream cluster of real nats-server
 * processes on free local ports inside a test's folder (harness.h), killed, paused and
 * restarted at will, and looked at through their monitoring ports; with groups.h, what the
 * tests append and read back. */
#ifndef TP_CLUSTER_H
#define TP_CLUSTER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <nats/nats.h>
#include "evs_js.h"
#include "groups.h"
#include "harness.h"

/** Nodes of the cluster: three, so that one may be lost. */
#define TC_NODES 3

typedef struct _tc_cluster_t tc_cluster_t;

/**
 * @brief Start a cluster of TC_NODES nodes in @p th's folder and wait until it serves
 * JetStream (its servers elected their metadata leader, which names the other nodes
 * current: a stream of TC_NODES replicas can be placed).
 *
 * Node i (0-based) is server "n<i+1>", daemon "nats-<i+1>" of @p th (its log in
 * logs/nats-<i+1>.log), config nats/n<i+1>.conf (client, route and monitoring port,
 * JetStream with its store in nats/n<i+1>/, routes to the other nodes), from the
 * nats-server of $TP_NATS_SERVER (set by meson). th_destroy() ends what still runs and
 * removes it all; a node left paused is only killed after its 5 s (tc_cluster_down() and
 * tc_cluster_destroy() resume it first).
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

/** Stops every node (SIGTERM; a paused one resumed first) and frees; sets *self_p to NULL.
 *  Safe on NULL or twice. */
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

/** A loader thread's tally (js_vault): writers that go on while nodes are killed.
 *  Zero it before use. */
typedef struct {
    atomic_bool stop;           /**< set by the test: the loader ends */
    atomic_uint_fast64_t acked; /**< what it had acknowledged, in the loader's units */
    int retries;                /**< calls tried again after a time-out or unavailable */
    int64_t max_gap_ms;         /**< longest time between two successful calls */
    int failed;                 /**< calls that failed for good (the loader then ends) */
    int64_t last_ok;            /**< zclock_mono() of the last success; 0: none yet */
} tc_tally_t;

/** One call of a loader (an append, a put): 0 or an evs_js_ code. */
typedef int(tc_call_fn)(void *arg);

/**
 * @brief Calls @p fn(@p arg) until it returns something else than EVS_JS_TIMEOUT or
 * EVS_JS_UNAVAILABLE, 50 ms apart, for 30 s at most: the same call again, which the
 * module under test must take as a retry. Counts the retries and the longest gap between
 * successes; a failure is said on stderr and counted in self->failed.
 * @return fn's last value
 */
int tc_tally_call(tc_tally_t *self, tc_call_fn *fn, void *arg);

/**
 * @brief Waits until the loader's acked reaches @p target.
 * @return the time it took in ms, or -1 when @p timeout_ms passed first or the loader
 *         failed
 */
int64_t tc_tally_wait(tc_tally_t *self, uint64_t target, int timeout_ms);

/** Sends @p sig to node @p node and waits for it to end (SIGKILL: a crash); a paused node
 *  is resumed first, so that it can act on the signal. */
void tc_cluster_stop(tc_cluster_t *self, int node, int sig);

/**
 * @brief Pauses node @p node (SIGSTOP): a partition as the others see it. Its process lives
 * on and keeps its ports, its connections stay open, and it answers nothing: no heartbeat,
 * no vote, no acknowledgement, no PONG to its clients, no monitoring request. A node
 * already paused or not running is left as it is.
 */
void tc_cluster_pause(tc_cluster_t *self, int node);

/** Resumes a paused node (SIGCONT): it goes on from where it stood, with what its sockets
 *  buffered meanwhile. A node that is not paused is left as it is. */
void tc_cluster_resume(tc_cluster_t *self, int node);

/** Whether node @p node is paused. */
bool tc_cluster_paused(tc_cluster_t *self, int node);

/** Waits until the stream's leader names every replica current (evs_js_info_t.current ==
 *  TC_NODES); the time it took, or -1 after @p timeout_ms. */
int64_t tc_wait_current(evs_js_log_t *log, int timeout_ms);

/* ------------------------------------------------------------------ monitoring */

/**
 * @brief GET http://127.0.0.1:<node's monitoring port><path>, e.g. "/jsz?streams=true",
 * parsed as JSON.
 * @return the document (caller json_decref()s), or NULL when the node does not answer within
 *         @p timeout_ms (a paused node never does), answers an error status or no JSON
 */
json_t *tc_cluster_monitor(tc_cluster_t *self, int node, const char *path, int timeout_ms);

/** A stream as one node's monitoring (/jsz) reports it (tc_cluster_stream()). */
typedef struct {
    uint64_t messages;  /**< groups in this node's own store */
    uint64_t first_seq; /**< its first sequence (0 when empty) */
    uint64_t last_seq;  /**< its last sequence */
    char leader[16];    /**< the stream's leader as this node knows it ("" when none) */
    int replicas;       /**< entries in replica[]: the other servers of the stream; only
                             the leader's numbers say where they stand (a follower lists
                             them too, with what its own Raft node last knew) */
    struct {
        char name[16];     /**< the replica's server name */
        bool current;      /**< has acknowledged every Raft entry the leader applied, and was
                                heard from within 10 s */
        bool offline;      /**< the leader takes its server for gone */
        uint64_t lag;      /**< Raft entries the leader committed that it has not
                                acknowledged (messages, and the group's other entries) */
        int64_t active_ms; /**< since the leader last heard from it */
    } replica[TC_NODES];
} tc_stream_t;

/**
 * @brief Stream @p stream as node @p node says of it on its monitoring port: the sequences
 * of its own copy (what it stored, whether or not it leads), and, when it leads, how far
 * each replica is behind it. nats-server 2.9.10 computes a replica's lag as the Raft group
 * leader's commit index minus the last index that replica acknowledged, and calls it current
 * when that index reached the leader's applied index (raft.go, Peers()); the stream's own
 * info ($JS.API.STREAM.INFO, evs_js_log_info()) gives the same numbers. So `current` and
 * `lag` speak of the replica's Raft log, not of its store: js_partition saw a former leader,
 * paused and resumed, named current with lag 0 while its store (messages, last_seq here)
 * stayed behind for minutes.
 * @return 0, or -1 when the node does not answer in @p timeout_ms or holds no such stream
 */
int tc_cluster_stream(tc_cluster_t *self, int node, const char *stream, tc_stream_t *out,
                      int timeout_ms);

/** The node that serves the client connection named @p name (evs_js_opts_t.name), from the
 *  nodes' /connz; -1 when none does (or only a paused one could). */
int tc_cluster_client_node(tc_cluster_t *self, const char *name);

/** Starts node @p node again, on its ports and store; false when its client port does not
 *  accept connections within @p timeout_ms. */
bool tc_cluster_start(tc_cluster_t *self, int node, int timeout_ms);

#endif
