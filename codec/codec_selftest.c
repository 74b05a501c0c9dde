/* codec_selftest.c: runs pbj_test(), then round trips of the shared tp.proto messages. */
#include "pbj.h"
#include "tp.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_failed;

#define CHECK(cond) s_check((cond), #cond, __LINE__)

static void s_check(bool ok, const char *what, int line)
{
    if (!ok) {
        s_failed++;
        fprintf(stderr, "codec_selftest: line %d: failed: %s\n", line, what);
    }
}

//  The string member `key` of json, "" when missing or not a string.
static const char *s_str(const json_t *json, const char *key)
{
    const char *s = json_string_value(json_object_get(json, key));
    return s ? s : "";
}

//  JSON -> message -> bytes -> JSON gives back the same JSON.
static bool s_wire_round(const ProtobufCMessageDescriptor *desc, const json_t *json)
{
    pbj_error_t err;
    ProtobufCMessage *msg = pbj_from_json(desc, json, 0, &err);
    if (!msg)
        return false;
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n + 1);
    protobuf_c_message_pack(msg, buf);
    json_t *back = pbj_bytes_to_json(desc, buf, n, 0);
    bool ok = back && json_equal(back, json);
    json_decref(back);
    free(buf);
    protobuf_c_message_free_unpacked(msg, NULL);
    return ok;
}

static void s_test_tp(bool verbose)
{
    if (verbose)
        printf(" * pbj: tp.Envelope and tp.Reply\n");
    Tp__Envelope env = TP__ENVELOPE__INIT;
    env.seq = UINT64_MAX;
    env.stream_id = "order-42";
    env.recorded_at_us = -1;
    env.payload = (ProtobufCBinaryData){3, (uint8_t *)"abc"};
    json_t *json = pbj_to_json(&env.base, 0);
    CHECK(strcmp(s_str(json, "seq"), "18446744073709551615") == 0);
    CHECK(strcmp(s_str(json, "streamId"), "order-42") == 0);
    CHECK(strcmp(s_str(json, "recordedAtUs"), "-1") == 0);
    CHECK(strcmp(s_str(json, "payload"), "YWJj") == 0);
    CHECK(json && json_object_size(json) == 4);
    CHECK(json && s_wire_round(&tp__envelope__descriptor, json));
    json_decref(json);

    json = json_loads("{\"requestId\":\"r1\",\"errors\":[{\"code\":\"invalid\","
                      "\"field\":\"applicant.birthDate\",\"message\":\"must be a string\"},"
                      "{\"code\":\"conflict\"}],\"lastSeq\":\"7\",\"replayed\":true}",
                      0, NULL);
    CHECK(json && s_wire_round(&tp__reply__descriptor, json));
    json_decref(json);

    json = json_loads("{\"ok\":true,\"errors\":[{},{\"code\":1}]}", 0, NULL);
    pbj_error_t err;
    CHECK(pbj_from_json(&tp__reply__descriptor, json, 0, &err) == NULL
          && strcmp(err.field, "errors[1].code") == 0
          && strcmp(err.message, "must be a string") == 0);
    json_decref(json);
}

int main(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[argc - 1], "-v") == 0;
    int rc = pbj_test(verbose);
    s_test_tp(verbose);
    if (rc || s_failed) {
        fprintf(stderr, "codec_selftest: FAILED\n");
        return 1;
    }
    printf("codec_selftest: OK\n");
    return 0;
}
