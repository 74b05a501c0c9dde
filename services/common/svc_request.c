/* svc_request.c: requests off the ROUTER, replies, commands, $read/$status/$summary, $batch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "evs_bus.h"
#include "svc_internal.h"

/* ------------------------------------------------------------------ requests */

/* Takes one message off the ROUTER into slot @p p. Returns 1 when one was taken, 0 when
 * none was waiting. A request whose key is unknown is dropped unanswered (and 1
 * returned with p->id_len 0, so that the caller goes on taking). */
int svci_take(svci_svc_t *self, zsock_t *sock, svci_pending_t *p)
{
    void *h = zsock_resolve(sock);
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, h, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&id);
        return 0;
    }
    zmq_msg_init(&body);
    bool ok = zmq_msg_more(&id) && zmq_msg_recv(&body, h, 0) >= 0;
    bool more = ok && zmq_msg_more(&body);
    while (more) {
        /* a well-formed request has exactly two frames: drop the rest, refuse it */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        more = zmq_msg_recv(&extra, h, 0) >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        ok = false;
    }
    memset(p, 0, sizeof *p);
    size_t idn = zmq_msg_size(&id) < SVCI_ID_MAX ? zmq_msg_size(&id) : 0;
    p->size = zmq_msg_size(&body);
    memcpy(p->id, zmq_msg_data(&id), idn);
    p->id_len = idn;
    if (ok) {
        p->req = tp__request__unpack(&self->pending_arena->pb, zmq_msg_size(&body),
                                     zmq_msg_data(&body));
        p->in_arena = true;
    }
    /* the key first: a sender we do not know gets nothing, not even an error */
    if (!svci_authenticate(self, p, zmq_msg_gets(&body, "User-Id")))
        p->id_len = 0;
    else if (p->req && !svci_allowed(self, p, p->req->command))
        svci_forbid(self, p, p->req->command);
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return 1;
}

/* ------------------------------------------------------------------ replies */

static void s_set_reply(svci_pending_t *p, const Tp__Reply *reply)
{
    free(p->reply);
    p->reply_len = tp__reply__get_packed_size(reply);
    p->reply = malloc(p->reply_len ? p->reply_len : 1);
    if (p->reply)
        tp__reply__pack(reply, p->reply);
    else
        p->reply_len = 0;
}

static const char *s_request_id(const svci_pending_t *p)
{
    return p->req && p->req->header && p->req->header->request_id ? p->req->header->request_id
                                                                    : "";
}

/* An ok reply whose body is @p msg; false when out of memory (no reply set). */
static bool s_reply_msg(svci_pending_t *p, const ProtobufCMessage *msg, uint64_t last_seq)
{
    size_t blen = protobuf_c_message_get_packed_size(msg);
    uint8_t *body = malloc(blen ? blen : 1);
    if (!body)
        return false;
    protobuf_c_message_pack(msg, body);
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = true;
    reply.body.data = body;
    reply.body.len = blen;
    reply.last_seq = last_seq;
    s_set_reply(p, &reply);
    free(body);
    return p->reply != NULL;
}

/* A refusal with the errors in @p out, or a single error. */
static void s_reply_errors_at(svci_pending_t *p, const svc_out_t *out, const char *code,
                              const char *field, const char *message, uint64_t last_seq)
{
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = false;
    reply.last_seq = last_seq;
    Tp__Error one = TP__ERROR__INIT;
    Tp__Error *one_p = &one;
    Tp__Error **list = NULL;
    if (out && out->n_errors > 0) {
        list = calloc(out->n_errors, sizeof *list);
        Tp__Error *errs = calloc(out->n_errors, sizeof *errs);
        if (list && errs) {
            for (size_t i = 0; i < out->n_errors; i++) {
                tp__error__init(&errs[i]);
                errs[i].code = out->errors[i].code;
                errs[i].field = out->errors[i].field;
                errs[i].message = out->errors[i].message;
                list[i] = &errs[i];
            }
            reply.errors = list;
            reply.n_errors = out->n_errors;
        }
        else
            free(errs);
    }
    if (!reply.n_errors) {
        one.code = (char *) (code ? code : "internal");
        one.field = (char *) (field ? field : "");
        one.message = (char *) (message ? message : "refused");
        reply.errors = &one_p;
        reply.n_errors = 1;
    }
    s_set_reply(p, &reply);
    if (list) {
        free(list[0]);
        free(list);
    }
}

void svci_reply_errors(svci_pending_t *p, const svc_out_t *out, const char *code,
                       const char *field, const char *message)
{
    s_reply_errors_at(p, out, code, field, message, 0);
}

void svci_not_active(svci_svc_t *self, svci_pending_t *p)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s is a standby: commands go to the active instance",
             svci_cluster_instance(self));
    svci_reply_errors(p, NULL, SVC_NOT_ACTIVE, "", msg);
}

void svci_send_reply(svci_svc_t *self, svci_pending_t *p)
{
    if (!p->reply)
        return;
    if (p->id_len < 1)
        return;
    void *h = zsock_resolve(self->router);
    /* a client that went away just loses its answer; never block the loop on it */
    if (zmq_send(h, p->id, p->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(h, p->reply, p->reply_len, ZMQ_DONTWAIT);
}

void svci_pending_clear(svci_pending_t *p)
{
    if (p->req && !p->in_arena)
        tp__request__free_unpacked(p->req, NULL);
    free(p->reply);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------ commands */

/* SVC_SECRET_SIZE fresh random bytes; one getrandom per 32 commands. */
static const uint8_t *s_random(svci_svc_t *self)
{
    if (self->random_used + SVC_SECRET_SIZE > sizeof self->random) {
        randombytes_buf(self->random, sizeof self->random);
        self->random_used = 0;
    }
    const uint8_t *r = self->random + self->random_used;
    self->random_used += SVC_SECRET_SIZE;
    return r;
}

const svc_command_t *svci_find_command(svci_svc_t *self, const char *wire)
{
    /* wire names are "<service>.<Command>"; the instance name is accepted too */
    const char *dot = strchr(wire, '.');
    if (!dot)
        return NULL;
    size_t plen = (size_t) (dot - wire);
    bool ours = (strlen(self->def->name) == plen && memcmp(wire, self->def->name, plen) == 0) ||
                (strlen(self->name) == plen && memcmp(wire, self->name, plen) == 0);
    if (!ours)
        return NULL;
    for (size_t i = 0; i < self->def->n_commands; i++)
        if (streq(self->def->commands[i].name, dot + 1))
            return &self->def->commands[i];
    return NULL;
}

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    ProtobufCBinaryData *items;
    size_t n, max_items;
} s_readbuf_t;

static int s_read_collect(const evs_record_t *rec, void *arg)
{
    s_readbuf_t *rb = arg;
    if (rb->n >= rb->max_items)
        return 1;
    if (rb->len + rec->len > rb->cap) {
        size_t ncap = (rb->cap + rec->len) * 2;
        uint8_t *nb = realloc(rb->buf, ncap);
        if (!nb)
            return -1;
        rb->buf = nb;
        rb->cap = ncap;
    }
    memcpy(rb->buf + rb->len, rec->data, rec->len);
    /* offsets now; turned into pointers once the buffer stops moving */
    rb->items[rb->n].data = (uint8_t *) (uintptr_t) rb->len;
    rb->items[rb->n].len = rec->len;
    rb->len += rec->len;
    rb->n++;
    return 0;
}

bool svci_reply_msg(svci_pending_t *p, const ProtobufCMessage *msg)
{
    return s_reply_msg(p, msg, 0);
}

/* "$read": events from a seq, as stored. */
static void s_answer_read(svci_svc_t *self, svci_pending_t *p)
{
    Tp__ReadEventsRequest *rr =
        tp__read_events_request__unpack(NULL, p->req->body.len, p->req->body.data);
    if (!rr) {
        svci_reply_errors(p, NULL, "invalid", "body", "not a ReadEventsRequest");
        return;
    }
    uint32_t max = rr->max_count ? rr->max_count : EVS_BUS_READ_MAX;
    if (max > EVS_BUS_READ_MAX)
        max = EVS_BUS_READ_MAX;
    s_readbuf_t rb = {NULL, 0, 0, calloc(max, sizeof(ProtobufCBinaryData)), 0, max};
    Tp__ReadEventsReply out = TP__READ_EVENTS_REPLY__INIT;
    /* a follower takes a head behind its checkpoint for a rolled-back log: never guessed */
    int rc = evs_head(self->store, &out.head_seq, NULL) == 0 ? 0 : -1;
    if (rc == 0)
        rc = rb.items ? evs_read(self->store, rr->from_seq ? rr->from_seq : 1, UINT64_MAX, max,
                                 s_read_collect, &rb)
                      : -1;
    tp__read_events_request__free_unpacked(rr, NULL);
    if (rc < 0) {
        svci_reply_errors(p, NULL, "unavailable", "", "read failed");
        goto done;
    }
    for (size_t i = 0; i < rb.n; i++)
        rb.items[i].data = rb.buf + (uintptr_t) rb.items[i].data;
    out.events = rb.items;
    out.n_events = rb.n;
    if (!s_reply_msg(p, &out.base, 0))
        svci_reply_errors(p, NULL, "internal", "", "out of memory");
done:
    free(rb.items);
    free(rb.buf);
}

/* "$status": the head, for readiness checks. */
static void s_answer_status(svci_svc_t *self, svci_pending_t *p)
{
    uint8_t hash[EVS_HASH_SIZE];
    Tp__Heartbeat hb = TP__HEARTBEAT__INIT;
    hb.service = self->name;
    evs_head(self->store, &hb.head_seq, hash);
    hb.head_hash.data = hash;
    hb.head_hash.len = sizeof hash;
    hb.sent_at_us = self->clock(self->clock_arg);
    svci_cluster_status(self, &hb);
    Tp__UpstreamStatus *ups = calloc(self->n_subs + 1, sizeof *ups);
    Tp__UpstreamStatus **upp = calloc(self->n_subs + 1, sizeof *upp);
    for (size_t i = 0; ups && upp && i < self->n_subs; i++) {
        evs_sub_t *sub = self->subs[i];
        const char *why = evs_sub_contradiction(sub);
        tp__upstream_status__init(&ups[i]);
        ups[i].name = (char *) evs_sub_upstream(sub);
        ups[i].checkpoint = evs_sub_checkpoint(sub);
        ups[i].known_head = evs_sub_known_head(sub);
        ups[i].contradiction = (char *) (why ? why : "");
        upp[hb.n_upstreams++] = &ups[i];
    }
    hb.upstreams = upp;
    if (!ups || !upp || !s_reply_msg(p, &hb.base, 0))
        svci_reply_errors(p, NULL, "internal", "", "out of memory");
    free(ups);
    free(upp);
}

/* "$summary": the core's one-line JSON summary of the live state. */
static void s_answer_summary(svci_svc_t *self, svci_pending_t *p)
{
    char *json = self->def->summary ? self->def->summary(self->state) : strdup("{}");
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = json != NULL;
    reply.body.data = (uint8_t *) json;
    reply.body.len = json ? strlen(json) : 0;
    s_set_reply(p, &reply);
    free(json);
}

static void s_answer_query(svci_svc_t *self, svci_pending_t *p, const svc_command_t *cmd)
{
    ProtobufCMessage *body = protobuf_c_message_unpack(cmd->body, NULL, p->req->body.len,
                                                       p->req->body.data);
    if (!body) {
        svci_reply_errors(p, NULL, "invalid", "body", "does not decode");
        return;
    }
    svc_out_reset(self->out);
    svc_ctx_t ctx = {p->req->header, self->clock(self->clock_arg), self->secret, s_random(self)};
    cmd->decide(self->state, &ctx, body, self->out);
    protobuf_c_message_free_unpacked(body, NULL);
    if (svc_out_failed(self->out)) {
        svci_reply_errors(p, self->out, "invalid", NULL, NULL);
        return;
    }
    Tp__Reply reply = TP__REPLY__INIT;
    reply.request_id = (char *) s_request_id(p);
    reply.ok = true;
    reply.body.data = self->out->reply;
    reply.body.len = self->out->reply_len;
    s_set_reply(p, &reply);
}

void svci_answer_deferred(svci_svc_t *self, svci_pending_t *p)
{
    const char *c = p->req->command;
    if (streq(c, EVS_BUS_READ))
        s_answer_read(self, p);
    else if (streq(c, "$status"))
        s_answer_status(self, p);
    else if (streq(c, "$summary"))
        s_answer_summary(self, p);
    else if (streq(c, "$keys"))
        svci_answer_keys(self, p);
    else
        s_answer_query(self, p, svci_find_command(self, c));
}

static int s_decide_batch(svci_svc_t *self, evs_batch_t *batch, svci_pending_t *p, int64_t now);

/* Decides one command into the open batch. */
int svci_decide_one(svci_svc_t *self, evs_batch_t *batch, svci_pending_t *p, int64_t now)
{
    if (p->reply)
        return 0;   /* a worker already refused it */
    if (!p->req) {
        svci_reply_errors(p, NULL, "invalid", "", "request does not decode as tp.Request");
        return 0;
    }
    Tp__RequestHeader *h = p->req->header;
    if (!h) {
        svci_reply_errors(p, NULL, "invalid", "header", "request header missing");
        return 0;
    }
    if (h->deadline_us && now > h->deadline_us) {
        svci_reply_errors(p, NULL, "deadline", "", "deadline passed before the request was read");
        return 0;
    }
    const char *c = p->req->command;
    /* a standby answers "$status" alone (its role and how far it holds the stream); every
     * other request goes to the active instance, so that a read sees every write that was
     * acknowledged before it (a standby is up to S_FOLLOW_MS behind), and a follower never
     * takes a standby's head for a log rolled back */
    if (!svci_active(self) && !streq(c, "$status")) {
        svci_not_active(self, p);
        return 0;
    }
    if (streq(c, SVC_BATCH))
        return s_decide_batch(self, batch, p, now);
    if (streq(c, EVS_BUS_READ) || streq(c, "$status") || streq(c, "$summary") ||
        streq(c, "$keys")) {
        p->deferred = true;
        p->reads_state = streq(c, "$summary");
        return 0;
    }
    const svc_command_t *cmd = svci_find_command(self, c);
    if (!cmd) {
        svci_reply_errors(p, NULL, "unknown_command", "command", "no such command here");
        return 0;
    }
    if (cmd->query) {
        p->deferred = true;
        p->reads_state = true;
        return 0;
    }
    if (!*h->request_id || strlen(h->request_id) > EVS_MAX_ID) {
        svci_reply_errors(p, NULL, "invalid", "header.requestId", "must be 1..200 characters");
        return 0;
    }
    const uint8_t *kept = NULL;
    size_t kept_len = 0;
    int rc = evs_batch_request_get(batch, h->request_id, &kept, &kept_len);
    if (rc == 0) {
        /* answered before: the same reply, marked replayed (field 6 = true appended) */
        uint8_t *opened = NULL;
        size_t opened_len = 0;
        rc = svci_open_reply(self, cmd, h->request_id, kept, kept_len, &opened, &opened_len);
        if (rc != 0) {
            svci_reply_errors(p, NULL, "internal", "", "the kept reply does not open");
            return 0;
        }
        if (opened) {
            kept = opened;
            kept_len = opened_len;
        }
        free(p->reply);
        p->reply = malloc(kept_len + 2);
        if (p->reply) {
            memcpy(p->reply, kept, kept_len);
            p->reply[kept_len] = 0x30;
            p->reply[kept_len + 1] = 0x01;
            p->reply_len = kept_len + 2;
        }
        free(opened);
        return 0;
    }
    if (rc != EVS_NOTFOUND)
        return rc;
    if (cmd->prepare && !p->prepared) {
        if (svci_admit(self, p, now))
            svci_hand_off(self, p, cmd, now);
        return 0;
    }
    ProtobufCMessage *body = protobuf_c_message_unpack(cmd->body, &self->scratch.pb,
                                                       p->req->body.len, p->req->body.data);
    if (!body) {
        svci_arena_reset(&self->scratch);
        svci_reply_errors(p, NULL, "invalid", "body", "does not decode");
        return 0;
    }
    svc_out_t *out = self->out;
    svc_out_reset(out);
    svc_ctx_t ctx = {h, now, self->secret, s_random(self)};
    cmd->decide(self->state, &ctx, body, out);
    svci_arena_reset(&self->scratch);   /* the body: decide keeps nothing of it */
    svci_flush_logs(self, out);
    bool refused = svc_out_failed(out);
    if (refused && !(out->keep_events && out->n_events > 0)) {
        svci_reply_errors(p, out, "invalid", NULL, NULL);
        return 0;
    }
    if (refused)   /* a recorded refusal: the errors, and the seq its events got */
        s_reply_errors_at(p, out, "invalid", NULL, NULL, evs_batch_head(batch) + out->n_events);
    else {
        Tp__Reply reply = TP__REPLY__INIT;
        reply.request_id = h->request_id;
        reply.ok = true;
        reply.body.data = out->reply;
        reply.body.len = out->reply_len;
        reply.last_seq = out->n_events ? evs_batch_head(batch) + out->n_events : 0;
        s_set_reply(p, &reply);
    }
    if (!p->reply)
        return EVS_INVALID;
    const char *corr = *h->correlation_id ? h->correlation_id : h->request_id;
    uint64_t first = 0, last = 0;
    /* a reply with a secret in it is not kept in the log's idempotency records */
    bool keep = !cmd->secret_reply;
    /* a kept reply's personal fields are sealed like an event's */
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (keep && svci_seal_reply(self, cmd, h->request_id, p->reply, p->reply_len, &sealed,
                                &sealed_len) != 0) {
        svci_reply_errors(p, NULL, "internal", "", "the reply cannot be kept sealed");
        return 0;
    }
    char actor[EVS_MAX_ID + 16];
    rc = svci_append_out(self, batch, out, corr, h->request_id, svci_actor(h, actor, sizeof actor),
                         keep ? h->request_id : NULL,
                         keep ? (sealed ? sealed : p->reply) : NULL,
                         keep ? (sealed ? sealed_len : p->reply_len) : 0, &first, &last);
    free(sealed);
    if (rc == EVS_CONFLICT) {
        svci_reply_errors(p, NULL, "conflict", "expectedVersion",
                          "the stream was changed meanwhile; read it again and retry");
        return 0;
    }
    if (rc == EVS_INVALID) {
        svci_reply_errors(p, NULL, "internal", "", "the service produced an invalid event");
        return 0;
    }
    if (rc != 0)
        return rc;
    svci_apply_appended(self, batch, first, last);
    self->events_written += out->n_events;
    return 0;
}

/* "$batch": each item decided by svci_decide_one as a request of its own, under the outer
 * header with the item's request id; the items' replies go back together. Items that
 * would be answered later (queries, "$" commands) or by a worker are refused one by one:
 * the reply of a batch is complete when its group is durable. */
static int s_decide_batch(svci_svc_t *self, evs_batch_t *batch, svci_pending_t *p, int64_t now)
{
    /* in the group's arena, like the request that carries it */
    Tp__Batch *b = tp__batch__unpack(&self->pending_arena->pb, p->req->body.len,
                                     p->req->body.data);
    if (!b || b->n_items == 0 || b->n_items > SVC_BATCH_MAX) {
        svci_reply_errors(p, NULL, "invalid", "body",
                          b ? "a batch holds 1 to 1024 items" : "not a tp.Batch");
        return 0;
    }
    ProtobufCBinaryData *replies = calloc(b->n_items, sizeof *replies);
    if (!replies) {
        svci_reply_errors(p, NULL, "internal", "", "out of memory");
        return 0;
    }
    uint64_t written = self->events_written;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n_items; i++) {
        const Tp__BatchItem *it = b->items[i];
        Tp__RequestHeader h = *p->req->header;
        h.request_id = it->request_id;
        Tp__Request r = TP__REQUEST__INIT;
        r.header = &h;
        r.command = it->command;
        r.body = it->body;
        svci_pending_t q = {0};
        q.req = &r;
        q.who = p->who;
        const svc_command_t *cmd = svci_find_command(self, it->command);
        if (!svci_allowed(self, p, it->command))
            svci_forbid(self, &q, it->command);
        else if (it->command[0] == '$' || (cmd && (cmd->query || cmd->prepare)))
            svci_reply_errors(&q, NULL, "invalid", "command",
                              "not in a batch: queries, $ commands and commands done by the "
                              "worker pool go alone");
        else
            rc = svci_decide_one(self, batch, &q, now);
        replies[i].data = q.reply;
        replies[i].len = q.reply_len;
        if (rc == 0 && !q.reply)
            rc = ENOMEM;
    }
    if (rc == 0) {
        Tp__BatchReply br = TP__BATCH_REPLY__INIT;
        br.replies = replies;
        br.n_replies = b->n_items;
        if (!s_reply_msg(p, &br.base, self->events_written > written ? evs_batch_head(batch) : 0))
            rc = ENOMEM;
    }
    for (size_t i = 0; i < b->n_items; i++)
        free(replies[i].data);
    free(replies);
    /* out of memory: the items decided are in the group, so it cannot just be dropped */
    return rc == ENOMEM ? EVS_INVALID : rc;
}

