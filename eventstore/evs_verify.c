/* evs_verify.c: the envelope's wire format, parsed without copying, and the hash chain's check. */
#include "evs_internal.h"
#include "evs_sha256.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

//  --------------------------------------------------------------------------
//  Envelope wire format (the replay fast path: no allocation)

static inline int s_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Wire type each known field must have; 0xFF = field number 0, invalid. */
static const uint8_t s_wire_types[12] = {0xFF, 0, 2, 0, 2, 2, 0, 2, 2, 2, 2, 2};

int evsi_parse(const uint8_t *data, size_t len, evs_view_t *view, evsi_chain_t *chain)
{
    const uint8_t *p = data, *end = data + len;
    *view = (evs_view_t){.stream_id = "", .event_type = "", .event_id = "",
                         .payload = (const uint8_t *)""};
    if (chain)
        *chain = (evsi_chain_t){.hash_off = SIZE_MAX};
    while (p < end) {
        const uint8_t *field = p;
        uint64_t tag, val;
        if (s_varint(&p, end, &tag) || tag > UINT32_MAX)
            return EVS_CORRUPT;
        uint64_t num = tag >> 3;
        unsigned wt = tag & 7;
        if (num < 12 && s_wire_types[num] != wt)
            return EVS_CORRUPT;
        switch (wt) {
        case 0:
            if (s_varint(&p, end, &val))
                return EVS_CORRUPT;
            if (num == 1)
                view->seq = val;
            else if (num == 3)
                view->stream_version = val;
            else if (num == 6)
                view->recorded_at_us = (int64_t)val;
            break;
        case 2:
            if (s_varint(&p, end, &val) || val > (uint64_t)(end - p))
                return EVS_CORRUPT;
            if (num == 2) {
                view->stream_id = (const char *)p;
                view->stream_id_len = val;
            }
            else if (num == 4) {
                view->event_type = (const char *)p;
                view->event_type_len = val;
            }
            else if (num == 5) {
                view->event_id = (const char *)p;
                view->event_id_len = val;
            }
            else if (num == 9) {
                view->payload = p;
                view->payload_len = val;
            }
            else if (chain && num == 10) {
                chain->prev_hash = p;
                chain->prev_hash_len = val;
            }
            else if (chain && num == 11) {
                chain->hash = p;
                chain->hash_len = val;
                chain->hash_off = (size_t)(field - data);
            }
            p += val;
            break;
        case 1:
            if (end - p < 8)
                return EVS_CORRUPT;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return EVS_CORRUPT;
            p += 4;
            break;
        default:    /* groups (3, 4) are not proto3; 6, 7 do not exist */
            return EVS_CORRUPT;
        }
    }
    return 0;
}

int evs_view(const uint8_t *data, size_t len, evs_view_t *view)
{
    assert(view);
    assert(data || len == 0);
    return evsi_parse(data, len, view, NULL);
}

int evs_chain(const uint8_t *data, size_t len, uint8_t *prev_hash, uint8_t *hash)
{
    evs_view_t view;
    evsi_chain_t chain;
    if (evsi_parse(data, len, &view, &chain) != 0 || chain.prev_hash_len != EVS_HASH_SIZE ||
        chain.hash_len != EVS_HASH_SIZE)
        return EVS_CORRUPT;
    memcpy(prev_hash, chain.prev_hash, EVS_HASH_SIZE);
    memcpy(hash, chain.hash, EVS_HASH_SIZE);
    return 0;
}

//  --------------------------------------------------------------------------
//  Verification

int evsi_record_check(const uint8_t *data, size_t len, uint64_t seq, const uint8_t *prev,
                      evs_view_t *view, uint8_t *hash, char *why, size_t why_size)
{
    evsi_chain_t chain;
    const char *bad = NULL;
    if (evsi_parse(data, len, view, &chain))
        bad = "record does not decode";
    else if (view->seq != seq) {
        snprintf(why, why_size, "record of seq %llu in the place of seq %llu (moved or reordered)",
                 (unsigned long long)view->seq, (unsigned long long)seq);
        return EVS_CORRUPT;
    }
    else if (chain.prev_hash_len != EVS_HASH_SIZE
             || memcmp(chain.prev_hash, prev, EVS_HASH_SIZE))
        bad = "prev_hash does not match the record before";
    else if (chain.hash_len != EVS_HASH_SIZE || chain.hash_off + 2 + EVS_HASH_SIZE != len)
        bad = "hash missing or not the last field";
    else {
        evs_sha256(hash, data, chain.hash_off);
        if (memcmp(hash, chain.hash, EVS_HASH_SIZE))
            bad = "hash mismatch (record changed)";
    }
    if (!bad)
        return 0;
    snprintf(why, why_size, "%s", bad);
    return EVS_CORRUPT;
}

int evs_verify(evs_t *self, evs_verify_t *report)
{
    assert(self);
    assert(report);
    memset(report, 0, sizeof *report);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    uint8_t prev[EVS_HASH_SIZE] = {0}, head_hash[EVS_HASH_SIZE];
    uint64_t expect = 1, head;
    int rc = evsi_ro_begin(self, &txn);
    if (rc)
        return evsi_rc(rc);
    if ((rc = mdb_cursor_open(txn, self->events, &cur)))
        goto done;
    MDB_val key, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT), expect++) {
        uint64_t seq = 0;
        if (key.mv_size == sizeof seq)
            memcpy(&seq, key.mv_data, sizeof seq);
        if (seq != expect) {
            report->bad_seq = expect;
            snprintf(report->reason, sizeof report->reason,
                     "missing record (gap) before seq %llu", (unsigned long long)seq);
            rc = EVS_CORRUPT;
            goto done;
        }
        uint8_t hash[EVS_HASH_SIZE];
        evs_view_t view;
        if ((rc = evsi_record_check(val.mv_data, val.mv_size, seq, prev, &view, hash,
                                    report->reason, sizeof report->reason))) {
            report->bad_seq = expect;
            goto done;
        }
        memcpy(prev, hash, EVS_HASH_SIZE);
        report->checked++;
    }
    if (rc != MDB_NOTFOUND)
        goto done;
    uint64_t last = expect - 1;
    if ((rc = evsi_get_head(self, txn, &head, head_hash)))
        goto done;
    rc = EVS_CORRUPT;
    if (head > last) {
        report->bad_seq = last + 1;
        snprintf(report->reason, sizeof report->reason,
                 "log truncated: meta head is %llu", (unsigned long long)head);
    }
    else if (head < last) {
        report->bad_seq = head + 1;
        snprintf(report->reason, sizeof report->reason,
                 "records beyond meta head %llu", (unsigned long long)head);
    }
    else if (memcmp(head_hash, prev, EVS_HASH_SIZE)) {
        report->bad_seq = last ? last : 1;
        snprintf(report->reason, sizeof report->reason, "meta head hash does not match");
    }
    else
        rc = 0;
done:
    if (cur)
        mdb_cursor_close(cur);
    evsi_ro_end(self, txn);
    return evsi_rc(rc);
}
