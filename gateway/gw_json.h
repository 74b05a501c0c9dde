/* gw_json.h: JSON bodies and the one error shape of the API.
 *
 * Every error is `{"error": {"code", "field", "message"}}` with the HTTP status that
 * fits the code; when a service names several bad fields, the first is in
 * code/field/message and all of them are in "details" (an array of the same shape).
 * Service error codes map to statuses as follows:
 *
 *   invalid, invalid_token, expired, invalid_json, unknown_shop_code   400
 *   unauthenticated, invalid_credentials                                 401
 *   forbidden, not_confirmed, csrf                                       403
 *   not_found                                                            404
 *   conflict, not_ready                                                  409
 *   throttled                                                            429
 *   internal                                                             500
 *   unknown_command, unavailable, service_unavailable                    503
 *   deadline, service_timeout                                            504
 *   anything else                                                        400
 *
 * Bodies go through the generic codec (codec/pbj.h): no code per message.
 *
 * A leaf of the request path (gateway/README.md): it reads the request and answers
 * through gw_req.h, and knows nothing of routes, handlers or the HTTP server.
 */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include "gw_backend.h"
#include "gw_req.h"
#include "tp.pb-c.h"

/** Content-Type of every JSON response. */
#define GW_JSON_TYPE "application/json; charset=utf-8"

/** @brief The HTTP status of an error code (table above). */
unsigned gw_json_status_of(const char *code);

/**
 * @brief Respond with @p json (the reference is taken, also on failure).
 * @return 0 or -1
 */
int gw_json_respond(gw_req_t *req, unsigned status, json_t *json, const gw_header_t *extra,
                    size_t n_extra);

/** @brief Respond with the error shape; @p field may be NULL (sent as ""). */
int gw_json_error(gw_req_t *req, unsigned status, const char *code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** @brief Respond with a service's refusal (reply->ok false): the status of the first
 *  error's code, every error in "details" when there are several. */
int gw_json_reply_errors(gw_req_t *req, const Tp__Reply *reply);

/** @brief Respond 503 (GW_CALL_DOWN, with Retry-After) or 504 (GW_CALL_SLOW) naming
 *  the service. */
int gw_json_call_failed(gw_req_t *req, gw_svc_t svc, int rc);

/**
 * @brief The request body as a JSON object; an empty body is {}.
 * A body needs Content-Type application/json (else 415), must parse (else 400
 * "invalid_json" with line and column) and must be an object (else 400 "invalid").
 * @return a new reference, or NULL after responding
 */
json_t *gw_json_body(gw_req_t *req);

/**
 * @brief Build a message of type @p desc from @p json with the codec.
 * @param[in] flags pbj flags (PBJ_IGNORE_UNKNOWN for query arguments)
 * @return the message (free with protobuf_c_message_free_unpacked(m, NULL)), or NULL
 *         after responding 400 "invalid" naming the field (its JSON path) and why
 */
ProtobufCMessage *gw_json_to_msg(gw_req_t *req, const ProtobufCMessageDescriptor *desc,
                                 const json_t *json, unsigned flags);

/**
 * @brief Decode a reply body of type @p desc into JSON (proto3 mapping, defaults
 *        written), without the members named in @p drop (NULL-terminated, may be NULL).
 * @return a new reference, or NULL when the body does not decode
 */
json_t *gw_json_from_reply(const ProtobufCMessageDescriptor *desc, const Tp__Reply *reply,
                           const char *const *drop);
/**
 * @brief The same JSON as gw_json_from_reply() with nothing dropped, written straight
 *        to text (pbj_bytes_to_text(), no jansson tree): for replies answered as they are.
 *        The calling thread remembers the text of its recent replies of up to 32 KiB
 *        (body and text), and a reply with exactly the bytes of one of them (same type)
 *        gets that text without being decoded again: the text depends on the type and
 *        the bytes alone. At most about 1 MiB per thread, freed when the thread ends.
 * @param[out] len its length
 * @return the text (free() it), or NULL when the body does not decode
 */
char *gw_json_reply_text(const ProtobufCMessageDescriptor *desc, const Tp__Reply *reply,
                         size_t *len);

/** @brief Self-test: gw_json_reply_text() against the codec, over more replies than it
 *  remembers, some changed by one byte. @return 0, or -1 (what failed is printed) */
int gw_json_test(bool verbose);
#endif
