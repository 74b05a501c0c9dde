/* pcjournal.h: the power-cut journal: what faultinj.c records of a service's writes and
 * flushes to its data file (TP_FAULT_RECORD), and the files rebuilt from it as they could
 * be after a power cut at a given moment.
 *
 * A journal is a sequence of records, each a pc_rec_t and, for a write, the bytes written.
 * One process writes one journal, in the order its calls returned (they are serialised
 * while recorded), with CLOCK_MONOTONIC times, the clock clients take their answers' times
 * from (zclock_usecs), so a journal and a client's answers order against each other.
 *
 * The model of what survives a power cut at time T (SQLite's crash tests, ALICE,
 * CrashMonkey): every write before the last flush (fdatasync or fsync on any descriptor
 * of the file) that returned before T; every write through an O_DSYNC descriptor that
 * returned before T (LMDB writes its meta page so); and of the other writes begun before
 * T, any subset, each one whole, lost, or torn (a prefix in whole 512-byte sectors). A
 * flush that was not done (the planted bug "nosync") is recorded and is no barrier.
 */
#ifndef PCJOURNAL_H
#define PCJOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/** What a record is. */
enum {
    PC_WRITE = 1,   /**< bytes written at off (pwrite, writev, write) */
    PC_DWRITE = 2,  /**< the same through an O_DSYNC descriptor: durable when it returned */
    PC_SYNC = 3,    /**< fdatasync or fsync returned 0: a barrier */
    PC_NOSYNC = 4,  /**< a flush said 0 but was not done (planted bug): no barrier */
    PC_TRUNCATE = 5 /**< ftruncate to off bytes */
};

/** One record's header; a write's len bytes follow it. */
typedef struct {
    uint32_t kind;    /**< PC_WRITE ... */
    uint32_t pad;     /**< 0 */
    int64_t start_ns; /**< CLOCK_MONOTONIC before the call */
    int64_t end_ns;   /**< and when it returned */
    uint64_t off;     /**< where it wrote; the new size of a truncate */
    uint64_t len;     /**< bytes written (as the call returned) */
} pc_rec_t;

/** A journal read back with the file it started from. */
typedef struct _pc_journal_t pc_journal_t;

/**
 * @brief Read the journal @p path, and the file as it was before its first record from
 * @p base (a copy taken before the recording began).
 * @return the journal, or NULL (the reason on stderr) when either cannot be read or the
 *         journal is cut short
 */
pc_journal_t *pc_journal_new(const char *path, const char *base);

/** @brief Free it; sets *self_p to NULL; safe on NULL and twice. */
void pc_journal_destroy(pc_journal_t **self_p);

/** @brief Records in it. */
size_t pc_journal_size(const pc_journal_t *self);

/** @brief Record @p i's header (i < pc_journal_size()). */
const pc_rec_t *pc_journal_rec(const pc_journal_t *self, size_t i);

/** What a rebuild kept of the writes not yet behind a barrier. */
typedef struct {
    int durable; /**< writes behind a barrier, or O_DSYNC and returned */
    int kept;    /**< of the others: written whole */
    int lost;    /**< not written at all */
    int torn;    /**< a prefix of whole sectors */
} pc_pick_t;

/**
 * @brief Write to @p out the file as it could be after a power cut at @p cut_ns: the
 * base, every write durable by then, and a subset of the others begun before it, chosen
 * with the generator state @p rng (xorshift64, not 0). With @p cut_ns INT64_MAX and
 * @p rng NULL every write is applied (the file the process left, to check the journal).
 * @param[out] pick what was kept (may be NULL)
 * @return 0, or -1 (the reason on stderr) when @p out cannot be written
 */
int pc_journal_rebuild(const pc_journal_t *self, int64_t cut_ns, uint64_t *rng, const char *out,
                       pc_pick_t *pick);

/** @brief The next number of a xorshift64 generator (state not 0). */
uint64_t pc_rand(uint64_t *rng);
#endif
