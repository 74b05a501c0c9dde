/* pbj.h: generic JSON <-> protobuf codec over protobuf-c descriptors (proto3 JSON mapping).
 *
 * @mainpage The JSON codec
 *
 * One codec for every message: it walks the ProtobufCMessageDescriptor of a
 * message, so no code is written per message type. The HTTP gateway turns
 * JSON request bodies into commands with pbj_from_json() and replies into JSON
 * with pbj_to_json(); the operator tool dumps event payloads with
 * pbj_bytes_to_json().
 *
 * The mapping follows the proto3 JSON mapping:
 *
 *  - field names are lowerCamelCase ("stream_id" -> "streamId", see pbj_camel());
 *    on input the original snake_case name is accepted too;
 *  - int32, sint32, sfixed32, uint32, fixed32: JSON numbers;
 *  - int64, sint64, sfixed64, uint64, fixed64: JSON strings of decimal digits
 *    (a JavaScript number cannot hold them); on input a number is accepted too;
 *  - float, double: JSON numbers, with "NaN", "Infinity" and "-Infinity" as strings;
 *  - bool: true / false;
 *  - enum: the value's name, e.g. "COLOR_RED"; on input the number is accepted too;
 *  - string: JSON string; bytes: standard base64 with padding (RFC 4648 section 4);
 *  - message: JSON object; repeated: JSON array; oneof: only the member that is set.
 *
 * pbj_to_text() writes the same JSON as text directly (one walk over the message
 * feeds either a jansson tree or a text buffer).
 *
 * Proto2 messages work too: `optional` fields are written when present
 * (has_ flag set, or pointer set and not the default), `required` fields always,
 * and a missing required field is an input error.
 *
 * Nesting is limited to #PBJ_MAX_DEPTH levels in both directions, so a
 * recursive message type cannot exhaust the stack.
 *
 * Threads: no global state; every function may be called from any thread at
 * the same time.
 */
#ifndef PBJ_H
#define PBJ_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup flags Flags for pbj_to_json() and pbj_from_json()
 * @{ */
/** pbj_to_json(): also write fields that hold their default value (0, "", false,
 *  empty repeated as [], unset submessage as null). Unset oneof members are still
 *  left out, since the oneof says which member is set. */
#define PBJ_EMIT_DEFAULTS 0x1u
/** pbj_from_json(): skip JSON members that name no field instead of failing. */
#define PBJ_IGNORE_UNKNOWN 0x2u
/** pbj_to_json(): write the field names as given in the .proto file (snake_case)
 *  instead of lowerCamelCase. */
#define PBJ_ORIGINAL_NAMES 0x4u
/** @} */

/** Deepest nesting of messages handled; the top-level message is level 0. */
#define PBJ_MAX_DEPTH 32

/** Why pbj_from_json() refused its input. Both strings are NUL-terminated and
 *  truncated to fit; a path too long for @c field keeps its end, prefixed "...". */
typedef struct {
    /** JSON path of the offending member, lowerCamelCase, with dots and [i]
     *  indices, e.g. "applicant.birthDate" or "representatives[1].name";
     *  "" for the body itself. */
    char field[128];
    /** What is wrong, plain English, e.g. "must be a string",
     *  "out of range for int32", "unknown field", "not valid base64". */
    char message[160];
} pbj_error_t;

/**
 * @brief Convert a message to JSON (proto3 JSON mapping).
 *
 * Fields are written in tag order. Invalid UTF-8 in a string field (protobuf-c
 * does not check it when unpacking) is written with U+FFFD in place of each bad
 * byte, so any decoded message can be shown. Floats become the shortest
 * double that reads back as the same float (0.1f -> 0.1).
 *
 * @param[in] msg the message; not changed, not retained
 * @param[in] flags 0 or a combination of #PBJ_EMIT_DEFAULTS, #PBJ_ORIGINAL_NAMES
 * @return a new JSON object (a new reference: json_decref() it), or NULL when
 *         @p msg is NULL or not a message, nests deeper than #PBJ_MAX_DEPTH,
 *         or memory runs out
 */
json_t *pbj_to_json(const ProtobufCMessage *msg, unsigned flags);

/**
 * @brief Build a message of type @p desc from a JSON object.
 *
 * Accepts lowerCamelCase and original snake_case member names; null for any
 * member means "leave at default". Integer fields take JSON integers, integral
 * reals (1e3) and strings of decimal digits, and are range-checked; 64-bit
 * fields are normally strings. bool takes only true/false. Enums take the
 * value name or a known number. bytes take base64, standard or URL-safe, with
 * or without padding. A member set twice (under both names) or two members of
 * one oneof are errors.
 *
 * The message is allocated exactly as protobuf_c_message_unpack() with the
 * default allocator would, so it is freed the same way.
 *
 * @param[in] desc the message type
 * @param[in] json the input, must be a JSON object; not changed, not retained
 * @param[in] flags 0 or #PBJ_IGNORE_UNKNOWN
 * @param[out] err on failure, the path of the first bad member and why; may be NULL
 * @return a new message; the caller frees it with
 *         protobuf_c_message_free_unpacked(msg, NULL). NULL on failure, with
 *         @p err filled: "body must be a JSON object" (field ""), "unknown field",
 *         "must be a string", "must be an integer", "out of range for int32",
 *         "not valid base64", "not a known value: X", "must be an object",
 *         "must be an array", "is set more than once", "is required",
 *         "nested too deeply", "out of memory", ...
 */
ProtobufCMessage *pbj_from_json(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                unsigned flags, pbj_error_t *err);

/**
 * @brief Decode a serialized message and convert it to JSON.
 *
 * For the operator tool: shows an event payload given its type.
 *
 * @param[in] desc the message type of @p data
 * @param[in] data the serialized message; not retained (may be NULL when @p len is 0)
 * @param[in] len its size in bytes
 * @param[in] flags as for pbj_to_json()
 * @return a new JSON object (json_decref() it), or NULL when @p data does not
 *         decode as @p desc or pbj_to_json() fails
 */
json_t *pbj_bytes_to_json(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                          size_t len, unsigned flags);

/**
 * @brief Convert a message straight to JSON text, without building a jansson tree.
 *
 * The text is exactly what json_dumps(pbj_to_json(msg, flags), JSON_COMPACT)
 * would give (same members in the same order, same escapes and numbers), at a
 * fraction of the cost: for the HTTP gateway's replies.
 *
 * @param[in] msg the message; not changed, not retained
 * @param[in] flags as for pbj_to_json()
 * @param[out] len the text's length without its NUL (may be NULL)
 * @return the NUL-terminated text (free() it), or NULL where pbj_to_json() fails
 */
char *pbj_to_text(const ProtobufCMessage *msg, unsigned flags, size_t *len);

/**
 * @brief pbj_bytes_to_json() as text: decode, then pbj_to_text().
 * @return the text (free() it), or NULL when @p data does not decode as @p desc or
 *         pbj_to_text() fails
 */
char *pbj_bytes_to_text(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                        unsigned flags, size_t *text_len);

/**
 * @brief Convert a proto field name to its JSON name (lowerCamelCase).
 *
 * Same rule as protoc's json_name: each '_' is dropped and the character after
 * it is upper-cased ("birth_date" -> "birthDate", "field_1" -> "field1").
 *
 * @param[in] snake the field name as written in the .proto file
 * @param[out] out receives the JSON name, NUL-terminated (truncated on failure)
 * @param[in] outsz size of @p out in bytes
 * @return 0, or -1 when an argument is NULL or the name does not fit in @p outsz
 */
int pbj_camel(const char *snake, char *out, size_t outsz);

/**
 * @brief Self-test of the codec: round trips of every field kind, defaults,
 *        every error with its path and message, limits, base64, pack/unpack.
 * @param[in] verbose print each check's name as it runs (stdout)
 * @return 0 when every check passed, -1 otherwise (the failures are printed to stderr)
 */
int pbj_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
