/* svc_arena.c: bump allocation for what a group unpacks, all let go of at once. */
#include <stdint.h>
#include <stdlib.h>
#include "svc_internal.h"

#define S_BLOCK_SIZE (256u << 10)

void *svci_arena_alloc(void *data, size_t size)
{
    svci_arena_t *a = data;
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    svci_block_t *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t cap = size > S_BLOCK_SIZE ? size : S_BLOCK_SIZE;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        *b = (svci_block_t){a->head, 0, cap};
        a->head = b;
    }
    void *p = (uint8_t *) b->data + b->used;
    b->used += size;
    return p;
}

static void s_arena_free(void *data, void *ptr)
{
    (void) data;
    (void) ptr;   /* all of it goes at svci_arena_reset */
}

void svci_arena_init(svci_arena_t *a)
{
    *a = (svci_arena_t){NULL, {svci_arena_alloc, s_arena_free, a}};
}

/* Lets go of everything handed out; keeps the newest block for the next group. */
void svci_arena_reset(svci_arena_t *a)
{
    if (!a->head)
        return;
    svci_block_t *b = a->head->next;
    while (b) {
        svci_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->head->next = NULL;
    a->head->used = 0;
}

void svci_arena_destroy(svci_arena_t *a)
{
    svci_arena_reset(a);
    free(a->head);
    a->head = NULL;
}
