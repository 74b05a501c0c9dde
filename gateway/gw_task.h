/* gw_task.h: requests that wait for services without holding their worker thread.
 *
 * A worker thread runs each API request as a task: a coroutine with its own stack on
 * that thread (ucontext). When the request calls a service, the task sends the request
 * and yields (gw_task_wait) back to the thread's event loop, which goes on with other
 * connections; when the reply (or the time-out) comes, the loop resumes the task
 * (gw_task_wake) where it stopped. So one thread keeps many service calls in flight,
 * and handlers stay plain sequential code.
 *
 * Everything is per thread: a task only ever runs on the thread that started it, and
 * there is no lock. Outside a task (gw_task_self() is NULL) service calls block as
 * before.
 */
#ifndef GW_TASK_H
#define GW_TASK_H
#include <stdbool.h>

typedef struct gw_task gw_task_t;

/** The body of a task. */
typedef void (gw_task_fn)(void *arg);

/**
 * @brief Run @p fn(@p arg) as a task of the calling thread, until it ends or waits.
 * @param[in] done called with @p arg when a task that waited ends later (from
 *            gw_task_wake(), on this thread); not called when it ends at once
 * @return true when it ended at once (also when no task could be made: then @p fn ran
 *         as a plain call); false when it is waiting and will end later
 */
bool gw_task_run(gw_task_fn *fn, void *arg, gw_task_fn *done);

/** @brief The running task, or NULL outside any task. */
gw_task_t *gw_task_self(void);

/** @brief From inside a task: yield to the thread's loop until gw_task_wake(). */
void gw_task_wait(void);

/** @brief From the thread's loop: run a waiting task until it waits again or ends (then
 *  its done callback is called and the task freed). */
void gw_task_wake(gw_task_t *task);

/** @brief Free the calling thread's spare stacks (at thread end). */
void gw_task_thread_done(void);
#endif
