/* evs_js_log.c: a service's stream on JetStream: its configuration, checked or created;
 * groups appended with the expected last sequence and a message id; groups read back. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evs_bus.h"
#include "evs_js_internal.h"

struct _evs_js_log_t {
    evs_js_t *js;                      /* the connection (borrowed) */
    char stream[EVS_JS_MAX_NAME + 4];  /* "TP_ORDER" */
    char subject[EVS_JS_MAX_NAME + 8]; /* "tp.order.log" */
};

/* The configuration we create: nothing may ever drop a group (evs_js.h, "Streams"). */
static void s_config(evs_js_log_t *self, jsStreamConfig *cfg, const char **subjects)
{
    evs_jsi_stream_config(self->js, cfg, self->stream, self->subject, subjects);
    cfg->Description = "trustportal: a service's log of record (eventstore/evs_js.h)";
    cfg->MaxMsgsPerSubject = -1;
    cfg->DenyDelete = true;
}

/* The first setting of @p c that can lose or refuse groups, or NULL when it is ours. */
static const char *s_config_wrong(const jsStreamConfig *c, const void *arg)
{
    const evs_js_log_t *self = arg;
    const char *wrong = evs_jsi_stream_wrong(self->js, c, self->subject);
    if (wrong)
        return wrong;
    if (c->MaxMsgsPerSubject > 0)
        return "a limit of messages per subject is set";
    if (!c->DenyDelete)
        return "deleting groups is allowed";
    return NULL;
}

void evs_jsi_stream_config(evs_js_t *js, jsStreamConfig *cfg, const char *name, const char *subject,
                           const char **subjects)
{
    jsStreamConfig_Init(cfg);
    subjects[0] = subject;
    cfg->Name = name;
    cfg->Subjects = subjects;
    cfg->SubjectsLen = 1;
    cfg->Storage = js_FileStorage;
    cfg->Replicas = js->replicas;
    cfg->Retention = js_LimitsPolicy;
    cfg->MaxMsgs = -1;
    cfg->MaxBytes = -1;
    cfg->MaxAge = 0;
    cfg->Discard = js_DiscardNew; /* a limit, were one set, refuses; it never drops */
    cfg->Duplicates = js->dup_window_ns;
    cfg->DenyPurge = true;
    cfg->AllowRollup = false;
    cfg->AllowDirect = false; /* every read from the leader: never a stale replica */
}

const char *evs_jsi_stream_wrong(evs_js_t *js, const jsStreamConfig *c, const char *subject)
{
    if (c->Storage != js_FileStorage)
        return "storage is not file";
    if (c->SubjectsLen != 1 || strcmp(c->Subjects[0], subject) != 0)
        return "its subjects are not the one configured";
    if (c->Retention != js_LimitsPolicy)
        return "retention is not by limits (interest or work queue would remove messages)";
    if (c->MaxMsgs > 0 || c->MaxBytes > 0 || c->MaxAge != 0)
        return "a limit of messages, bytes or age is set";
    if (!c->DenyPurge || c->AllowRollup)
        return "purges or roll-ups are allowed";
    if (c->Mirror || c->SourcesLen > 0)
        return "it is a mirror or has sources";
    if (c->NoAck || c->Sealed)
        return "it does not acknowledge, or is sealed";
    if (c->Replicas < js->replicas)
        return "fewer replicas than configured";
    return NULL;
}

int evs_jsi_stream_open(evs_js_t *js, jsStreamConfig *cfg, unsigned flags, evs_jsi_check_fn *wrong,
                        const void *arg)
{
    char what[128];
    snprintf(what, sizeof what, "open stream %s", cfg->Name);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js->js, cfg->Name, NULL, &jerr);
    if (s == NATS_NOT_FOUND && (flags & EVS_JS_CREATE)) {
        s = js_AddStream(&si, js->js, cfg, NULL, &jerr);
        if (s != NATS_OK && jerr == JSStreamNameExistErr) { /* another made it first */
            jsStreamInfo_Destroy(si);
            si = NULL;
            s = js_GetStreamInfo(&si, js->js, cfg->Name, NULL, &jerr);
        }
    }
    int rc = evs_jsi_status(s, jerr, what);
    const char *why = rc == 0 ? wrong(si->Config, arg) : NULL;
    if (why)
        rc = evs_jsi_fail(EVS_MISMATCH, "%s: %s", what, why);
    jsStreamInfo_Destroy(si);
    return rc;
}

int evs_js_log_open(evs_js_t *js, const char *service, unsigned flags, evs_js_log_t **out)
{
    *out = NULL;
    if (!evs_jsi_service_ok(service))
        return evs_jsi_fail(EVS_INVALID, "open stream: bad service name \"%s\"",
                            service ? service : "");
    evs_js_log_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->js = js;
    evs_jsi_stream_name(self->stream, sizeof self->stream, "TP_", service);
    snprintf(self->subject, sizeof self->subject, "tp.%s.log", service);
    jsStreamConfig cfg;
    const char *subjects[1];
    s_config(self, &cfg, subjects);
    int rc = evs_jsi_stream_open(js, &cfg, flags, s_config_wrong, self);
    if (rc != 0) {
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

void evs_js_log_destroy(evs_js_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

const char *evs_js_log_stream(const evs_js_log_t *self)
{
    return self->stream;
}
const char *evs_js_log_subject(const evs_js_log_t *self)
{
    return self->subject;
}

void evs_jsi_stream_name(char *out, size_t outsz, const char *prefix, const char *service)
{
    snprintf(out, outsz, "%s%s", prefix, service);
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char) (*p - 'a' + 'A');
}

int evs_jsi_stream_info(evs_js_t *js, const char *stream, evs_js_info_t *info)
{
    memset(info, 0, sizeof *info);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js->js, stream, NULL, &jerr);
    char what[128];
    snprintf(what, sizeof what, "stream info %s", stream);
    int rc = evs_jsi_status(s, jerr, what);
    if (rc != 0)
        return rc;
    info->first_seq = si->State.FirstSeq;
    info->last_seq = si->State.LastSeq;
    info->groups = si->State.Msgs;
    info->bytes = si->State.Bytes;
    info->replicas = (int) si->Config->Replicas;
    if (si->Cluster && si->Cluster->Leader) {
        snprintf(info->leader, sizeof info->leader, "%s", si->Cluster->Leader);
        info->current = 1;
        for (int i = 0; i < si->Cluster->ReplicasLen; i++)
            if (si->Cluster->Replicas[i]->Current && !si->Cluster->Replicas[i]->Offline)
                info->current++;
    }
    else if (!si->Cluster) {
        info->current = 1; /* a server without clustering: itself */
    }
    jsStreamInfo_Destroy(si);
    return 0;
}

int evs_js_log_info(evs_js_log_t *self, evs_js_info_t *info)
{
    return evs_jsi_stream_info(self->js, self->stream, info);
}

/* ------------------------------------------------------------------- reading */

/* Calls @p fn with message @p m as the group at @p seq. */
static int s_deliver(natsMsg *m, uint64_t seq, int64_t time_ns, evs_js_group_fn *fn, void *arg)
{
    char writer[EVS_JS_MAX_NAME + 1] = "";
    evs_js_group_t g = {.seq = seq, .writer = writer, .time_ns = time_ns};
    const char *id = NULL;
    const char *colon;
    if (natsMsgHeader_Get(m, EVS_JSI_MSG_ID, &id) == NATS_OK && id &&
        (colon = strrchr(id, ':')) != NULL && (size_t) (colon - id) <= EVS_JS_MAX_NAME) {
        memcpy(writer, id, (size_t) (colon - id));
        writer[colon - id] = '\0';
        g.first_seq = strtoull(colon + 1, NULL, 10);
    }
    g.body = (const uint8_t *) natsMsg_GetData(m);
    g.len = (size_t) natsMsg_GetDataLength(m);
    return fn(&g, arg);
}

/* The group at @p seq (EVS_JS_LAST: the last) from the stream's leader, into *m. */
static int s_get(evs_js_log_t *self, uint64_t seq, natsMsg **m)
{
    jsErrCode jerr = 0;
    natsStatus s = seq == EVS_JS_LAST
                       ? js_GetLastMsg(m, self->js->js, self->stream, self->subject, NULL, &jerr)
                       : js_GetMsg(m, self->js->js, self->stream, seq, NULL, &jerr);
    char what[128];
    snprintf(what, sizeof what, "get group %" PRIu64 " of %s", seq, self->stream);
    return evs_jsi_status(s, jerr, what);
}

int evs_js_get(evs_js_log_t *self, uint64_t seq, evs_js_group_fn *fn, void *arg)
{
    natsMsg *m = NULL;
    int rc = s_get(self, seq, &m);
    if (rc == 0)
        rc = s_deliver(m, natsMsg_GetSequence(m), natsMsg_GetTime(m), fn, arg);
    natsMsg_Destroy(m);
    return rc;
}

int evs_js_read(evs_js_log_t *self, uint64_t from_seq, uint64_t to_seq, evs_js_group_fn *fn,
                void *arg)
{
    if (from_seq == 0)
        from_seq = 1;
    evs_js_info_t info;
    int rc = evs_js_log_info(self, &info);
    if (rc != 0)
        return rc;
    if (to_seq > info.last_seq)
        to_seq = info.last_seq;
    for (uint64_t seq = from_seq; rc == 0 && seq <= to_seq; seq++) {
        natsMsg *m = NULL;
        rc = s_get(self, seq, &m);
        if (rc == 0)
            rc = s_deliver(m, seq, natsMsg_GetTime(m), fn, arg);
        else if (rc == EVS_NOTFOUND) /* below the last: removed, which our streams deny */
            rc = evs_jsi_fail(EVS_CORRUPT,
                              "read %s: group %" PRIu64 " missing (the last is %" PRIu64 ")",
                              self->stream, seq, to_seq);
        natsMsg_Destroy(m);
    }
    return rc;
}

int evs_js_group_each(const evs_js_group_t *group, evs_record_fn *fn, void *arg)
{
    const uint8_t *p = group->body;
    size_t left = group->len;
    evs_record_t rec = {.seq = group->first_seq};
    while (left > 0) {
        if (!evs_bus_events_next(&p, &left, &rec.data, &rec.len))
            return evs_jsi_fail(EVS_CORRUPT, "group %" PRIu64 ": framing broken at byte %zu",
                                group->seq, group->len - left);
        int rc = fn(&rec, arg);
        if (rc != 0)
            return rc;
        rec.seq++;
    }
    return 0;
}

/* ------------------------------------------------------------------ appending */

/* Whether the group at @p seq carries message id @p id. */
static bool s_has_id(evs_js_log_t *self, uint64_t seq, const char *id)
{
    natsMsg *m = NULL;
    const char *got = NULL;
    bool same = js_GetMsg(&m, self->js->js, self->stream, seq, NULL, NULL) == NATS_OK &&
                natsMsgHeader_Get(m, EVS_JSI_MSG_ID, &got) == NATS_OK && got &&
                strcmp(got, id) == 0;
    natsMsg_Destroy(m);
    return same;
}

int evs_js_append(evs_js_log_t *self, const char *writer, uint64_t first_seq, uint64_t expect_last,
                  const evs_record_t *recs, size_t n, evs_js_ack_t *ack)
{
    if (ack)
        memset(ack, 0, sizeof *ack);
    size_t size = evs_bus_events_size(recs, n);
    if (size == SIZE_MAX)
        return evs_jsi_fail(EVS_INVALID, "append to %s: a record over 4 GiB", self->stream);
    uint8_t *body = malloc(size ? size : 1);
    if (!body)
        return -ENOMEM;
    evs_bus_events_put(body, recs, n);
    int rc = evs_js_append_raw(self, writer, first_seq, expect_last, body, size, ack);
    free(body);
    return rc;
}

int evs_js_append_raw(evs_js_log_t *self, const char *writer, uint64_t id_seq, uint64_t expect_last,
                      const uint8_t *body, size_t len, evs_js_ack_t *ack)
{
    evs_js_ack_t unused;
    if (!ack)
        ack = &unused;
    memset(ack, 0, sizeof *ack);
    if (!evs_jsi_id_ok(writer))
        return evs_jsi_fail(EVS_INVALID, "append to %s: bad writer id \"%s\"", self->stream,
                            writer ? writer : "");
    if (!body && len)
        return evs_jsi_fail(EVS_INVALID, "append to %s: no body", self->stream);
    int64_t max = natsConnection_GetMaxPayload(self->js->nc);
    if (len > INT_MAX || (max > 0 && (int64_t) len > max))
        return evs_jsi_fail(EVS_JS_TOO_BIG, "append to %s: %zu bytes, the servers take %" PRId64,
                            self->stream, len, max);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, self->subject, NULL, (const char *) body, (int) len);
    char id[EVS_JS_MAX_NAME + 24];
    snprintf(id, sizeof id, "%s:%" PRIu64, writer, id_seq);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    po.ExpectLastSeq = expect_last;
    /* libnats leaves the header out for 0; nats-server 2.9.10 checks it when present, 0
     * included (stream.go, getExpectedLastSeq), which is how "the stream is empty" is said */
    if (s == NATS_OK && expect_last == 0)
        s = natsMsgHeader_Set(m, EVS_JSI_EXPECT_LAST, "0");
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK)
        s = js_PublishMsg(&pa, self->js->js, m, &po, &jerr);
    natsMsg_Destroy(m);
    if (s == NATS_OK) {
        ack->seq = pa->Sequence;
        ack->duplicate = pa->Duplicate;
        jsPubAck_Destroy(pa);
        return 0;
    }
    uint64_t last = jerr == JSStreamWrongLastSequenceErr ? evs_jsi_wrong_last() : 0;
    char what[EVS_JS_MAX_NAME + 120];
    snprintf(what, sizeof what, "append %s after %" PRIu64 " to %s", id, expect_last, self->stream);
    int rc = evs_jsi_status(s, jerr, what);
    if (rc != EVS_CONFLICT)
        return rc;
    /* a retry after the duplicate window: was this group stored by the first try? */
    if (last > expect_last && s_has_id(self, expect_last + 1, id)) {
        ack->seq = expect_last + 1;
        ack->duplicate = true;
        return 0;
    }
    ack->seq = last;
    return rc;
}
