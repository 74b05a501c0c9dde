/* group_load.h: the group-commit load of the benchmarks (backbone_bench, cluster_bench,
 * example_load): many clients at once, each a thread with its own DEALER (harness.h's
 * th_load_t) keeping requests in flight, example.Increment commands as operator. */
#ifndef TP_GROUP_LOAD_H
#define TP_GROUP_LOAD_H

/**
 * @brief Sends @p events example.Increment commands (an equal share per client, request
 * ids and counters "<prefix><client>-<i>", 16 counters a client) to the example service
 * @p service at @p endpoint, from @p clients clients keeping @p inflight requests in flight
 * each, and waits until every one is answered; the keys from @p keys_dir (th_keys():
 * operator-test's, and the service's public key). A client that heard nothing for
 * @p timeout_ms sends what is unanswered again (the same request ids), and gives up after
 * 60 times that.
 * Ends the process (said on stderr) when a key is missing or a request is not answered,
 * or refused: a benchmark's figure must count only what was done.
 * @param[in] prefix unique among the runs against one log (a request id seen before would
 *            be answered from what was kept, not done again)
 * @return the rate: answered requests per second, from the first send to the last answer
 */
double gl_run(const char *endpoint, const char *keys_dir, const char *service, const char *prefix,
              int clients, int inflight, int events, int timeout_ms);

#endif
