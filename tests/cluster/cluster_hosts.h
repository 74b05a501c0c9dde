/* cluster_hosts.h: the cluster suite's second kit: trustportal's daemons on two "hosts"
 * that share one JetStream cluster (store = jetstream), so that each service runs as two
 * instances, one active and one standby.
 *
 * A host is a harness folder (harness.h) with its own config, data folders and run folder
 * (its ipc:// sockets); the second one gets the first one's keys (every instance of a
 * service has the service's key pair, as the hosts of deploy/cluster/ do). Both configs
 * list both hosts' sockets for each service (`routers`, `pubs`), so that every client
 * reaches both instances. */
#ifndef TP_CLUSTER_HOSTS_H
#define TP_CLUSTER_HOSTS_H

#include <stdbool.h>
#include "cluster.h"

/** Hosts of a test. */
#define TC_HOSTS 2

typedef struct {
    th_t *host[TC_HOSTS];   /* host[0] is the test's own folder (borrowed); host[1] owned */
    tc_cluster_t *cluster;  /* borrowed */
} tc_hosts_t;

/**
 * @brief The second host beside @p first (the folder of tc_cluster_up()), and both configs
 * set for @p cluster: store = jetstream, host "h1"/"h2", js_servers every node, a lease
 * of @p lease_ttl_ms, and for each of @p services (NULL-terminated instance names) the
 * routers and pubs of both hosts.
 * @return 0, or -1 (said on stderr)
 */
int tc_hosts_init(tc_hosts_t *self, tc_cluster_t *cluster, th_t *first,
                  const char *const *services, int lease_ttl_ms);

/** Ends the second host's daemons and removes its folder. */
void tc_hosts_destroy(tc_hosts_t *self);

/**
 * @brief "$status" of service @p name on host @p h: its role ("active", "standby"; "" when
 * it does not answer within @p timeout_ms) and, if @p stream_seq, its local copy's
 * stream group.
 */
void tc_role(tc_hosts_t *self, int h, const char *name, char *role, size_t rolesz,
             uint64_t *stream_seq, int timeout_ms);

/** "$status" as tc_role(), and the local copy's head seq (@p head_seq may be NULL). */
void tc_status(tc_hosts_t *self, int h, const char *name, char *role, size_t rolesz,
               uint64_t *stream_seq, uint64_t *head_seq, int timeout_ms);

/**
 * @brief Starts instance @p name on host @p h (th_start()) and waits until it answers
 * "$status" on its own socket. (th_start() alone returns when any instance answers: its
 * "$status" goes to every router of the service's list, where the other host's instance
 * may answer first.)
 * @return its pid, or -1 when it did not start or did not answer within @p timeout_ms
 */
pid_t tc_start(tc_hosts_t *self, int h, const char *exe, const char *name, int timeout_ms);

/** Waits until the local copy of @p name on host @p h holds stream group @p seq (its
 *  "$status", asked every 50 ms); false when @p timeout_ms passed first. */
bool tc_wait_caught_up(tc_hosts_t *self, int h, const char *name, uint64_t seq,
                       int timeout_ms);

/** Counter @p counter of the example service (tp-example) @p name as its instance on host
 *  @p h says (example.GetCounter, 3 s), or -1 when it does not answer. */
int64_t tc_counter(tc_hosts_t *self, int h, const char *name, const char *counter);

/** A request to the instance of @p name on host @p h alone (its own socket), as operator
 *  (operator-test), with @p request_id (NULL: none): the reply, or NULL (no answer). */
Tp__Reply *tc_call_at(tc_hosts_t *self, int h, const char *name, const char *request_id,
                      const char *command, const ProtobufCMessage *body, int timeout_ms);

/** The host whose instance of @p name is active now, or -1 when none says so. */
int tc_active(tc_hosts_t *self, const char *name);

/** Waits until an instance of @p name is active (at most @p timeout_ms): its host, or -1. */
int tc_wait_active(tc_hosts_t *self, const char *name, int timeout_ms);

#endif
