/* gw_task.c: per-thread coroutines (ucontext) on pooled, guarded stacks. */
#include <czmq.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "gw_task.h"

/* Stack of one task: reserved, not committed (pages are touched on use), with a
 * guard page below, so an overflow faults instead of corrupting memory. */
#define S_STACK_SIZE (256 * 1024)
/* Spare stacks kept per thread for the next tasks. */
#define S_SPARE_MAX 64

struct gw_task {
    ucontext_t ctx;          /* the task's own context */
    ucontext_t caller;       /* who ran or woke it: back there on wait and at the end */
    bool has_ctx;            /* ctx was set up once (getcontext); reused by later tasks */
    gw_task_fn *fn, *done;
    void *arg;
    bool ended;
    void *stack;             /* mapping: guard page + S_STACK_SIZE */
    gw_task_t *next_spare;   /* in the thread's spare list */
};

static _Thread_local gw_task_t *s_current;   /* the running task */
static _Thread_local gw_task_t *s_spare;     /* ended tasks with their stacks, for reuse */
static _Thread_local int s_n_spare;

static size_t s_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t) p : 4096;
}

static gw_task_t *s_task_new(void)
{
    gw_task_t *t = s_spare;
    if (t) {
        s_spare = t->next_spare;
        s_n_spare--;
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t guard = s_page();
    t->stack = mmap(NULL, guard + S_STACK_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (t->stack == MAP_FAILED || mprotect(t->stack, guard, PROT_NONE) != 0) {
        if (t->stack != MAP_FAILED)
            munmap(t->stack, guard + S_STACK_SIZE);
        free(t);
        return NULL;
    }
    return t;
}

static void s_task_free(gw_task_t *t)
{
    if (s_n_spare < S_SPARE_MAX) {
        t->next_spare = s_spare;
        s_spare = t;
        s_n_spare++;
        return;
    }
    munmap(t->stack, s_page() + S_STACK_SIZE);
    free(t);
}

void gw_task_thread_done(void)
{
    while (s_spare) {
        gw_task_t *t = s_spare;
        s_spare = t->next_spare;
        munmap(t->stack, s_page() + S_STACK_SIZE);
        free(t);
    }
    s_n_spare = 0;
}

/* Entry of every task's context: runs the body, then goes back for good. */
static void s_trampoline(void)
{
    gw_task_t *t = s_current;
    t->fn(t->arg);
    t->ended = true;
    swapcontext(&t->ctx, &t->caller);   /* never returns */
}

/* Switches into @p t until it waits or ends. */
static void s_enter(gw_task_t *t)
{
    gw_task_t *prev = s_current;
    s_current = t;
    swapcontext(&t->caller, &t->ctx);
    s_current = prev;
}

/* The task's context, to start at s_trampoline on its own stack. Never returns twice:
 * the context is only ever entered through makecontext's entry. */
static __attribute__((noinline)) int s_prepare(gw_task_t *t)
{
    /* a pooled task's context was saved by its last switch: makecontext can reuse it
     * (getcontext costs a system call for the signal mask) */
    if (!t->has_ctx && getcontext(&t->ctx) != 0)
        return -1;
    t->has_ctx = true;
    t->ctx.uc_stack.ss_sp = (char *) t->stack + s_page();
    t->ctx.uc_stack.ss_size = S_STACK_SIZE;
    t->ctx.uc_link = NULL;
    makecontext(&t->ctx, s_trampoline, 0);
    return 0;
}

bool gw_task_run(gw_task_fn *fn, void *arg, gw_task_fn *done)
{
    gw_task_t *t = s_current ? NULL : s_task_new();   /* no task inside a task */
    if (!t || s_prepare(t) != 0) {
        if (t)
            s_task_free(t);
        fn(arg);
        return true;
    }
    t->fn = fn;
    t->done = done;
    t->arg = arg;
    t->ended = false;
    s_enter(t);
    if (!t->ended)
        return false;
    s_task_free(t);
    return true;
}

gw_task_t *gw_task_self(void)
{
    return s_current;
}

void gw_task_wait(void)
{
    gw_task_t *t = s_current;
    if (t)
        swapcontext(&t->ctx, &t->caller);
}

void gw_task_wake(gw_task_t *t)
{
    if (!t || t->ended || t == s_current)
        return;
    s_enter(t);
    if (!t->ended)
        return;
    gw_task_fn *done = t->done;
    void *arg = t->arg;
    s_task_free(t);
    if (done)
        done(arg);
}
