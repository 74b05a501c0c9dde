/* forge.h: what someone with the disk in hand could do to a stopped service's log, for
 * the tests that must catch it: change a record in place (the hash chain names it), and
 * rewrite or cut the tail with every hash recomputed, so that the chain alone still
 * verifies (only the witnesses can tell). Straight into LMDB, on a copy of a folder. */
#ifndef FORGE_H
#define FORGE_H

#include <stdint.h>

/** Flips one byte inside the payload of record @p seq. @return 0 or an LMDB code */
int forge_flip(const char *dir, uint64_t seq);

/** Rewrites records @p from_seq up to the head (each one's time moved by a second) with
 *  recomputed prev_hash and hash, and the head's hash in meta. @return 0 or a code */
int forge_rewrite_tail(const char *dir, uint64_t from_seq);

/** Deletes the records after @p to_seq and makes the head @p to_seq (its seq and hash in
 *  meta), as a truncation with its head fixed up. @return 0 or a code */
int forge_truncate(const char *dir, uint64_t to_seq);

#endif
