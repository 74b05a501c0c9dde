/* pbj.c: generic JSON <-> protobuf codec over protobuf-c descriptors (proto3 JSON mapping). */
#include "pbj.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Address of the member at byte offset `off` of a message struct.
#define s_member(msg, off) ((void *)((char *)(msg) + (off)))

//  State of one pbj_from_json() call: the flags, where to report, and the JSON
//  path of the member being read (kept as we descend, cut back as we return).
typedef struct {
    unsigned flags;    /* PBJ_IGNORE_UNKNOWN or 0 */
    pbj_error_t *err;  /* where to report the first error; may be NULL */
    size_t len;        /* strlen(path) */
    char path[512];    /* e.g. "representatives[1].name"; longer paths are cut */
} reader_t;

static int s_read_msg(reader_t *r, ProtobufCMessage *msg, const json_t *json, int depth);

//  --------------------------------------------------------------------------
//  Names and descriptors

int pbj_camel(const char *snake, char *out, size_t outsz)
{
    if (!snake || !out || outsz == 0)
        return -1;
    size_t n = 0;
    bool upper = false;
    for (const char *p = snake; *p; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        if (n + 1 >= outsz) {
            out[n] = '\0';
            return -1;
        }
        out[n++] = (upper && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        upper = false;
    }
    out[n] = '\0';
    return 0;
}

//  True when `key` is the lowerCamelCase form of `snake`, without a buffer.
static bool s_camel_eq(const char *snake, const char *key)
{
    bool upper = false;
    for (; *snake; snake++) {
        if (*snake == '_') {
            upper = true;
            continue;
        }
        char c = (upper && *snake >= 'a' && *snake <= 'z') ? (char)(*snake - 'a' + 'A') : *snake;
        upper = false;
        if (*key++ != c)
            return false;
    }
    return *key == '\0';
}

//  The field a JSON member names, by JSON name or by proto name. O(fields) per
//  member, which is fine for messages of tens of fields.
static const ProtobufCFieldDescriptor *s_field_find(const ProtobufCMessageDescriptor *desc,
                                                    const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (s_camel_eq(f->name, key) || strcmp(f->name, key) == 0)
            return f;
    }
    return NULL;
}

static const char *s_type_name(ProtobufCType type)
{
    static const char *const names[] = {
        "int32", "sint32", "sfixed32", "int64", "sint64", "sfixed64", "uint32", "fixed32",
        "uint64", "fixed64", "float", "double", "bool", "enum", "string", "bytes", "message"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

//  Size of one element of a repeated field, as protobuf-c lays it out.
static size_t s_elem_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    default: return sizeof(uint32_t); /* the 32-bit integers and enums */
    }
}

static bool s_desc_ok(const ProtobufCMessageDescriptor *desc)
{
    return desc && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
}

//  --------------------------------------------------------------------------
//  Message -> JSON

//  Whether a singular field holds something to write. Mirrors protobuf-c's
//  packer: oneof by its case, proto2 optional by has_ or pointer, proto3 by non-zero.
static bool s_field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *p = s_member(msg, f->offset);
    bool is_ptr = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)s_member(msg, f->quantifier_offset) == f->id
            && (f->type != PROTOBUF_C_TYPE_MESSAGE || *(const void *const *)p);
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return true;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (is_ptr)
            return *(const void *const *)p && *(const void *const *)p != f->default_value;
        return *(const protobuf_c_boolean *)s_member(msg, f->quantifier_offset);
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)p != 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p != 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p != 0;
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p != 0;
    case PROTOBUF_C_TYPE_STRING: return *(const char *const *)p && **(const char *const *)p;
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len != 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(const void *const *)p != NULL;
    default: return *(const uint32_t *)p != 0;
    }
}

//  The shortest decimal that reads back as the same float, as a double, so
//  0.1f is shown as 0.1 and not 0.100000001490116.
static double s_float_widen(float f)
{
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return (double)f;
}

//  Length of the valid UTF-8 sequence at p (as jansson judges it), 0 if invalid.
static size_t s_utf8_seq(const unsigned char *p, size_t avail)
{
    size_t n;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    else if (p[0] >= 0xC2 && p[0] <= 0xDF)
        n = 2, cp = p[0] & 0x1Fu;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        n = 3, cp = p[0] & 0x0Fu;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        n = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

//  A JSON string; protobuf-c does not check UTF-8 when unpacking, so each byte
//  of a bad sequence becomes U+FFFD rather than failing the whole dump.
static json_t *s_string_to_json(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t len = strlen(s), o = 0;
    char *buf = malloc(len * 3 + 1);
    if (!buf)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_seq((const unsigned char *)s + i, len - i);
        if (n) {
            memcpy(buf + o, s + i, n);
            o += n, i += n;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3, i++;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

//  Where a message is written: a jansson tree (pbj_to_json) or JSON text
//  (pbj_to_text), the text being exactly what json_dumps(JSON_COMPACT) makes of
//  the tree. One walk over the message feeds either.
typedef struct {
    bool text;                           /* text into buf, else a tree */
    char *buf;                           /* text: NUL-terminated */
    size_t len, cap;
    json_t *stack[PBJ_MAX_DEPTH + 2];    /* tree: the open objects and arrays */
    int top;                             /* index of the innermost, -1 none */
    json_t *root;                        /* tree: the outermost value */
    const char *key;                     /* tree: member name of the next value */
    struct {                             /* text: the member names of message types seen */
        const ProtobufCMessageDescriptor *desc;
        uint32_t *end;                   /* field i's `"name":` ends at end[i] in text */
        char *text;                      /* and starts where field i-1's ends (or at 0) */
    } names[16];
    int n_names;
} writer_t;

//  Text: room for n more bytes and the NUL.
static bool s_grow(writer_t *w, size_t n)
{
    size_t cap = w->cap ? w->cap : 8192;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *nb = realloc(w->buf, cap);
    if (!nb)
        return false;
    w->buf = nb;
    w->cap = cap;
    return true;
}

//  Text: appends n bytes (the NUL is written once, at the end).
static inline bool s_put(writer_t *w, const char *s, size_t n)
{
    if (w->len + n + 1 > w->cap && !s_grow(w, n))
        return false;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return true;
}

//  Text: the comma before a value or member name that follows another.
static inline bool s_sep(writer_t *w)
{
    char last = w->len ? w->buf[w->len - 1] : '{';
    return last == '{' || last == '[' || last == ':' || s_put(w, ",", 1);
}

//  Text: a byte a JSON string cannot hold as it is: a control character, '"', '\\',
//  or the start of a multi-byte UTF-8 sequence (checked, then copied).
static inline bool s_special(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

//  Text: a JSON string as jansson writes it (compact, UTF-8 kept as is, control
//  characters escaped); each byte of a bad UTF-8 sequence becomes U+FFFD.
static bool s_put_string(writer_t *w, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!s_put(w, "\"", 1))
        return false;
    size_t start = 0; /* first byte not yet written */
    for (size_t i = 0; i < len;) {
        /* eight bytes at a time while none of them is special */
        while (i + 8 <= len) {
            uint64_t x;
            memcpy(&x, u + i, 8);
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
            uint64_t hit = (x & highs)                          /* >= 0x80 */
                         | ((x - ones * 0x20) & ~x & highs)     /* < 0x20 */
                         | ((q - ones) & ~q & highs)            /* '"' */
                         | ((b - ones) & ~b & highs);           /* '\\' */
            if (hit)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (!s_special(u[i])) {
            i++;
            continue;
        }
        unsigned char c = u[i];
        size_t n = c < 0x80 ? 1 : s_utf8_seq(u + i, len - i);
        if (n > 1) {
            i += n;
            continue;
        }
        if (!s_put(w, s + start, i - start))
            return false;
        char esc[8];
        const char *out = esc;
        size_t on = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c < 0x20)
                on = (size_t)snprintf(esc, sizeof esc, "\\u%04X", c);
            else
                out = "\xEF\xBF\xBD", on = 3;
        }
        if (!s_put(w, out, on))
            return false;
        start = ++i;
    }
    return s_put(w, s + start, len - start) && s_put(w, "\"", 1);
}

//  Tree: hangs v under the innermost open container (or makes it the root). Takes v.
static bool s_attach(writer_t *w, json_t *v)
{
    if (!v)
        return false;
    if (w->top < 0) {
        if (w->root) {
            json_decref(v);
            return false;
        }
        w->root = v;
        return true;
    }
    json_t *parent = w->stack[w->top];
    return json_is_array(parent) ? json_array_append_new(parent, v) == 0
                                 : json_object_set_new(parent, w->key ? w->key : "", v) == 0;
}

//  The name of the next member of the innermost object.
static bool s_w_key(writer_t *w, const char *name)
{
    if (!w->text) {
        w->key = name;
        return true;
    }
    return s_sep(w) && s_put_string(w, name, strlen(name)) && s_put(w, ":", 1);
}

//  Text: the member name of a field, lowerCamelCase unless PBJ_ORIGINAL_NAMES, as
//  pbj_camel() makes it, written straight into the buffer (proto field names are
//  identifiers: nothing to escape). False where pbj_camel() fails (too long).
static bool s_w_field_name(writer_t *w, const char *proto_name, bool camel)
{
    size_t n = strlen(proto_name);
    if (n >= 256 || !s_sep(w) || (w->len + n + 4 > w->cap && !s_grow(w, n + 3)))
        return false;
    char *o = w->buf + w->len;
    *o++ = '"';
    const char *us = camel ? memchr(proto_name, '_', n) : NULL;
    size_t plain = us ? (size_t)(us - proto_name) : n; /* copied as it is */
    memcpy(o, proto_name, plain);
    o += plain;
    bool upper = false;
    for (const char *p = proto_name + plain; *p; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        *o++ = (upper && *p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        upper = false;
    }
    *o++ = '"';
    *o++ = ':';
    w->len = (size_t)(o - w->buf);
    return true;
}

static bool s_w_open(writer_t *w, bool array)
{
    if (w->text)
        return s_sep(w) && s_put(w, array ? "[" : "{", 1);
    if (w->top + 1 >= (int)(sizeof w->stack / sizeof w->stack[0]))
        return false;
    json_t *c = array ? json_array() : json_object();
    if (!c || !s_attach(w, json_incref(c))) {
        json_decref(c);
        return false;
    }
    w->stack[++w->top] = c;
    return true;
}

static bool s_w_close(writer_t *w, bool array)
{
    if (w->text)
        return s_put(w, array ? "]" : "}", 1);
    json_decref(w->stack[w->top--]);
    return true;
}

//  A string; bad UTF-8 shown with U+FFFD (protobuf-c does not check it when unpacking).
static bool s_w_string(writer_t *w, const char *s)
{
    if (w->text)
        return s_sep(w) && s_put_string(w, s, strlen(s));
    return s_attach(w, s_string_to_json(s));
}

//  Decimal digits of v (with '-' when negative) ending at end; returns the start.
static char *s_decimal(char *end, uint64_t magnitude, bool negative)
{
    char *p = end;
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (negative)
        *--p = '-';
    return p;
}

static uint64_t s_magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static bool s_w_integer(writer_t *w, json_int_t v)
{
    if (!w->text)
        return s_attach(w, json_integer(v));
    char buf[24];
    char *p = s_decimal(buf + sizeof buf, s_magnitude(v), v < 0);
    return s_sep(w) && s_put(w, p, (size_t)(buf + sizeof buf - p));
}

//  A 64-bit integer: a JSON string of its decimal digits.
static bool s_w_int64(writer_t *w, uint64_t magnitude, bool negative)
{
    char buf[24];
    char *end = buf + sizeof buf - 1;
    *end = '\0';
    char *p = s_decimal(end, magnitude, negative);
    if (!w->text)
        return s_attach(w, json_string(p));
    return s_sep(w) && s_put(w, "\"", 1) && s_put(w, p, (size_t)(end - p)) && s_put(w, "\"", 1);
}

//  Doubles: NaN and the infinities as strings; a finite one as jansson writes it.
static bool s_w_double(writer_t *w, double d)
{
    if (isnan(d))
        return s_w_string(w, "NaN");
    if (isinf(d))
        return s_w_string(w, d > 0 ? "Infinity" : "-Infinity");
    json_t *j = json_real(d);
    if (!w->text)
        return s_attach(w, j);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(j);
    bool ok = t && s_sep(w) && s_put(w, t, strlen(t));
    free(t);
    return ok;
}

static bool s_w_literal(writer_t *w, json_t *v, const char *text)
{
    if (!w->text)
        return s_attach(w, v);
    return s_sep(w) && s_put(w, text, strlen(text));
}

static bool s_w_bytes(writer_t *w, const ProtobufCBinaryData *bd)
{
    if (bd->len == 0)
        return s_w_string(w, "");
    if (!bd->data || bd->len > SIZE_MAX / 4 - 4)
        return false;
    size_t size = sodium_base64_ENCODED_LEN(bd->len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(size);
    if (!b64)
        return false;
    sodium_bin2base64(b64, size, bd->data, bd->len, sodium_base64_VARIANT_ORIGINAL);
    bool ok = s_w_string(w, b64);
    free(b64);
    return ok;
}

static bool s_write_msg(writer_t *w, const ProtobufCMessage *msg, unsigned flags, int depth);

//  One value of field f stored at p (a singular member or an array element).
static bool s_write_value(writer_t *w, const ProtobufCFieldDescriptor *f, const void *p,
                          unsigned flags, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return s_w_integer(w, *(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return s_w_integer(w, *(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v = *(const int64_t *)p;
        return s_w_int64(w, s_magnitude(v), v < 0);
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return s_w_int64(w, *(const uint64_t *)p, false);
    case PROTOBUF_C_TYPE_FLOAT: {
        float v = *(const float *)p;
        return s_w_double(w, isfinite(v) ? s_float_widen(v) : (double)v);
    }
    case PROTOBUF_C_TYPE_DOUBLE: return s_w_double(w, *(const double *)p);
    case PROTOBUF_C_TYPE_BOOL: {
        bool b = *(const protobuf_c_boolean *)p;
        return s_w_literal(w, json_boolean(b), b ? "true" : "false");
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v = *(const int32_t *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev ? s_w_string(w, ev->name) : s_w_integer(w, v); /* unknown: the number */
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return s_w_string(w, s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: return s_w_bytes(w, p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
        return m ? s_write_msg(w, m, flags, depth + 1) : s_w_literal(w, json_null(), "null");
    }
    }
    return false;
}

static bool s_write_field(writer_t *w, const ProtobufCMessage *msg,
                          const ProtobufCFieldDescriptor *f, unsigned flags, int depth)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return s_write_value(w, f, s_member(msg, f->offset), flags, depth);
    size_t n = *(const size_t *)s_member(msg, f->quantifier_offset);
    const char *arr = *(const char *const *)s_member(msg, f->offset);
    size_t size = s_elem_size(f->type);
    if ((n && !arr) || !s_w_open(w, true))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!s_write_value(w, f, arr + i * size, flags, depth))
            return false;
    return s_w_close(w, true);
}

//  Text: the `"name":` of every field of desc, made once per pbj_to_text() call (a
//  list repeats its message types many times); NULL when there is no room, when
//  memory runs out, or when a name is too long for pbj_camel(): the caller then
//  writes each name on its own (and fails where pbj_camel() would).
static int s_names(writer_t *w, const ProtobufCMessageDescriptor *desc, bool camel)
{
    for (int k = 0; k < w->n_names; k++)
        if (w->names[k].desc == desc)
            return k;
    int k = w->n_names;
    size_t total = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        size_t n = strlen(desc->fields[i].name);
        if (n >= 256)
            return -1;
        total += n + 3;
    }
    if (k >= (int)(sizeof w->names / sizeof w->names[0]) || total > UINT32_MAX)
        return -1;
    uint32_t *end = malloc(desc->n_fields * sizeof *end + total + 1);
    if (!end)
        return -1;
    writer_t tmp = {.text = true, .buf = (char *)(end + desc->n_fields), .cap = total + 1};
    for (unsigned i = 0; i < desc->n_fields; i++) {
        /* fits without growing: cap is exactly what the names take, plus one */
        if (!s_w_field_name(&tmp, desc->fields[i].name, camel)) {
            free(end);
            return -1;
        }
        end[i] = (uint32_t)tmp.len;
    }
    w->names[k].desc = desc;
    w->names[k].end = end;
    w->names[k].text = tmp.buf;
    w->n_names++;
    return k;
}

static bool s_write_msg(writer_t *w, const ProtobufCMessage *msg, unsigned flags, int depth)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (depth > PBJ_MAX_DEPTH || !s_desc_ok(desc) || !s_w_open(w, false))
        return false;
    int names = w->text ? s_names(w, desc, !(flags & PBJ_ORIGINAL_NAMES)) : -1;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        bool present = f->label == PROTOBUF_C_LABEL_REPEATED
                         ? *(const size_t *)s_member(msg, f->quantifier_offset) > 0
                         : s_field_present(msg, f);
        if (!present
            && (!(flags & PBJ_EMIT_DEFAULTS) || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)))
            continue;
        bool camel_case = !(flags & PBJ_ORIGINAL_NAMES);
        if (names >= 0) {
            uint32_t start = i ? w->names[names].end[i - 1] : 0;
            if (!s_sep(w) || !s_put(w, w->names[names].text + start,
                                    w->names[names].end[i] - start))
                return false;
        } else if (w->text) {
            if (!s_w_field_name(w, f->name, camel_case))
                return false;
        } else {
            char camel[256];
            const char *name = f->name;
            if (camel_case) {
                if (pbj_camel(f->name, camel, sizeof camel))
                    return false;
                name = camel;
            }
            if (!s_w_key(w, name))
                return false;
        }
        if (!s_write_field(w, msg, f, flags, depth))
            return false;
    }
    return s_w_close(w, false);
}

json_t *pbj_to_json(const ProtobufCMessage *msg, unsigned flags)
{
    writer_t w = {.top = -1};
    bool ok = msg && s_write_msg(&w, msg, flags, 0);
    while (w.top >= 0)
        json_decref(w.stack[w.top--]);
    if (!ok) {
        json_decref(w.root);
        return NULL;
    }
    return w.root;
}

char *pbj_to_text(const ProtobufCMessage *msg, unsigned flags, size_t *len)
{
    writer_t w = {.text = true, .top = -1};
    bool ok = msg && s_write_msg(&w, msg, flags, 0);
    for (int k = 0; k < w.n_names; k++)
        free(w.names[k].end);
    if (!ok) {
        free(w.buf);
        return NULL;
    }
    w.buf[w.len] = '\0'; /* s_put leaves room for it */
    if (len)
        *len = w.len;
    return w.buf;
}

//  The message of type desc in data, or NULL.
static ProtobufCMessage *s_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                  size_t len)
{
    static const uint8_t empty[1];
    if (!s_desc_ok(desc) || (!data && len))
        return NULL;
    return protobuf_c_message_unpack(desc, NULL, len, data ? data : empty);
}

json_t *pbj_bytes_to_json(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                          size_t len, unsigned flags)
{
    ProtobufCMessage *msg = s_unpack(desc, data, len);
    if (!msg)
        return NULL;
    json_t *json = pbj_to_json(msg, flags);
    protobuf_c_message_free_unpacked(msg, NULL);
    return json;
}

//  A bump allocator for a message that is unpacked, written once and dropped: its
//  many small allocations come from a buffer on the stack, then from bigger blocks,
//  and are all released at once.
typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    max_align_t data[];
} arena_block_t;

typedef struct {
    arena_block_t *blocks;     /* malloc'ed, newest first */
    size_t used;               /* of first */
    max_align_t first[2048];   /* 16 KiB on the stack */
} arena_t;

static void *s_arena_alloc(void *arg, size_t size)
{
    arena_t *a = arg;
    size_t need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t);
    size_t n_first = sizeof a->first / sizeof a->first[0];
    if (a->used + need <= n_first) {
        void *p = &a->first[a->used];
        a->used += need;
        return p;
    }
    arena_block_t *b = a->blocks;
    if (!b || b->used + need > b->size) {
        size_t cells = need > 4096 ? need : 4096;
        b = malloc(sizeof *b + cells * sizeof(max_align_t));
        if (!b)
            return NULL;
        b->used = 0;
        b->size = cells;
        b->next = a->blocks;
        a->blocks = b;
    }
    void *p = &b->data[b->used];
    b->used += need;
    return p;
}

static void s_arena_free(void *arg, void *p)
{
    (void)arg, (void)p; /* all at once, in s_arena_release */
}

static void s_arena_release(arena_t *a)
{
    while (a->blocks) {
        arena_block_t *b = a->blocks;
        a->blocks = b->next;
        free(b);
    }
}

char *pbj_bytes_to_text(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                        unsigned flags, size_t *text_len)
{
    static const uint8_t empty[1];
    if (!s_desc_ok(desc) || (!data && len))
        return NULL;
    arena_t arena;
    arena.blocks = NULL;
    arena.used = 0;
    ProtobufCAllocator alloc = {s_arena_alloc, s_arena_free, &arena};
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &alloc, len, data ? data : empty);
    char *text = msg ? pbj_to_text(msg, flags, text_len) : NULL;
    s_arena_release(&arena);
    return text;
}

//  --------------------------------------------------------------------------
//  JSON -> message

static void s_path_add(reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_path_add(reader_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->path + r->len, sizeof r->path - r->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len = r->len + (size_t)n < sizeof r->path ? r->len + (size_t)n : sizeof r->path - 1;
}

//  Appends ".name" (JSON name of f) to the path; returns the length to cut back to.
static size_t s_path_field(reader_t *r, const char *proto_name)
{
    size_t old = r->len;
    char camel[256];
    pbj_camel(proto_name, camel, sizeof camel); /* a cut name is fine in a path */
    s_path_add(r, r->len ? ".%s" : "%s", camel);
    return old;
}

static void s_path_cut(reader_t *r, size_t len)
{
    r->len = len;
    r->path[len] = '\0';
}

//  Records the first error at the current path; always returns -1.
static int s_fail(reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(reader_t *r, const char *fmt, ...)
{
    if (!r->err)
        return -1;
    size_t room = sizeof r->err->field;
    if (r->len < room)
        memcpy(r->err->field, r->path, r->len + 1);
    else /* keep the end, which names the member */
        snprintf(r->err->field, room, "...%s", r->path + r->len - (room - 4));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->message, sizeof r->err->message, fmt, ap);
    va_end(ap);
    return -1;
}

//  A new message laid out as protobuf_c_message_unpack() makes it (malloc, init).
static ProtobufCMessage *s_msg_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (!msg)
        return NULL;
    if (desc->message_init)
        desc->message_init(msg);
    else {
        memset(msg, 0, desc->sizeof_message);
        msg->descriptor = desc;
    }
    return msg;
}

//  Digits with an optional leading '-', nothing else (no blanks, no '+', no hex).
static bool s_is_decimal(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

//  An integer of a field of type `type` from a JSON integer, an integral real
//  or a string of digits. Signed types land in *sv within [lo, hi]; unsigned
//  types in *uv within [0, hi].
static int s_read_integer(reader_t *r, const json_t *val, ProtobufCType type, int64_t lo,
                          uint64_t hi, int64_t *sv, uint64_t *uv)
{
    bool is_signed = sv != NULL;
    bool neg = false;
    uint64_t mag = 0; /* |value|, with neg its sign */
    if (json_is_integer(val)) {
        json_int_t x = json_integer_value(val);
        neg = x < 0;
        mag = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    } else if (json_is_real(val)) {
        double d = json_real_value(val);
        if (d != trunc(d))
            return s_fail(r, "must be an integer");
        if (fabs(d) >= 18446744073709551616.0)
            return s_fail(r, "out of range for %s", s_type_name(type));
        neg = d < 0;
        mag = (uint64_t)fabs(d);
    } else if (json_is_string(val) && s_is_decimal(json_string_value(val))) {
        const char *s = json_string_value(val);
        neg = *s == '-';
        errno = 0;
        mag = strtoull(neg ? s + 1 : s, NULL, 10);
        if (errno == ERANGE)
            return s_fail(r, "out of range for %s", s_type_name(type));
    } else
        return s_fail(r, "must be an integer");
    if (neg && mag == 0)
        neg = false; /* "-0" */
    if (is_signed) {
        uint64_t lim = neg ? (uint64_t)0 - (uint64_t)lo : hi;
        if (mag > lim)
            return s_fail(r, "out of range for %s", s_type_name(type));
        *sv = neg ? (int64_t)((uint64_t)0 - mag) : (int64_t)mag;
    } else {
        if (neg || mag > hi)
            return s_fail(r, "out of range for %s", s_type_name(type));
        *uv = mag;
    }
    return 0;
}

static int s_read_double(reader_t *r, const json_t *val, ProtobufCType type, double *out)
{
    double d;
    if (json_is_integer(val))
        d = (double)json_integer_value(val);
    else if (json_is_real(val))
        d = json_real_value(val);
    else if (json_is_string(val)) {
        const char *s = json_string_value(val);
        char *end;
        if (strcmp(s, "NaN") == 0)
            d = NAN;
        else if (strcmp(s, "Infinity") == 0)
            d = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            d = -INFINITY;
        else {
            /* strtod also takes "inf", "nan" and hex; JSON numbers only here.
             * It reads the locale's decimal point, so '.' is swapped for it
             * (as jansson does); 100 characters is plenty for a number. */
            char buf[100];
            size_t n = strlen(s);
            if (n == 0 || n >= sizeof buf || strspn(s, "0123456789+-.eE") != n)
                return s_fail(r, "must be a number");
            memcpy(buf, s, n + 1);
            char *dot = strchr(buf, '.');
            if (dot)
                *dot = *localeconv()->decimal_point;
            errno = 0;
            d = strtod(buf, &end);
            if (*end || end == buf)
                return s_fail(r, "must be a number");
            if (errno == ERANGE && isinf(d))
                return s_fail(r, "out of range for %s", s_type_name(type));
        }
    } else
        return s_fail(r, "must be a number");
    /* beyond FLT_MAX plus half its ulp a double no longer rounds to a finite float */
    if (type == PROTOBUF_C_TYPE_FLOAT && isfinite(d) && fabs(d) >= (double)FLT_MAX + 0x1p103)
        return s_fail(r, "out of range for float");
    *out = d;
    return 0;
}

//  base64, standard or URL-safe, padded or not; "" is empty bytes.
static int s_read_bytes(reader_t *r, const json_t *val, ProtobufCBinaryData *out)
{
    if (!json_is_string(val))
        return s_fail(r, "must be a base64 string");
    const char *s = json_string_value(val);
    size_t n = json_string_length(val), len = 0;
    if (n == 0)
        return 0;
    bool url = strpbrk(s, "-_") != NULL, pad = s[n - 1] == '=';
    int variant = url ? (pad ? sodium_base64_VARIANT_URLSAFE
                             : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
                      : (pad ? sodium_base64_VARIANT_ORIGINAL
                             : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    uint8_t *buf = malloc(n / 4 * 3 + 3);
    if (!buf)
        return s_fail(r, "out of memory");
    if (sodium_base642bin(buf, n / 4 * 3 + 3, s, n, NULL, &len, NULL, variant) != 0) {
        free(buf);
        return s_fail(r, "not valid base64");
    }
    if (len == 0) {
        free(buf);
        buf = NULL;
    }
    out->data = buf;
    out->len = len;
    return 0;
}

//  One value of field f from val into the slot at p (a member or an array
//  element). On failure the slot holds nothing the free would trip over.
static int s_read_value(reader_t *r, const ProtobufCFieldDescriptor *f, void *p,
                        const json_t *val, int depth)
{
    int64_t sv = 0;
    uint64_t uv = 0;
    double d = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (s_read_integer(r, val, f->type, INT32_MIN, INT32_MAX, &sv, NULL))
            return -1;
        *(int32_t *)p = (int32_t)sv;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (s_read_integer(r, val, f->type, 0, UINT32_MAX, NULL, &uv))
            return -1;
        *(uint32_t *)p = (uint32_t)uv;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (s_read_integer(r, val, f->type, INT64_MIN, INT64_MAX, &sv, NULL))
            return -1;
        *(int64_t *)p = sv;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (s_read_integer(r, val, f->type, 0, UINT64_MAX, NULL, &uv))
            return -1;
        *(uint64_t *)p = uv;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (s_read_double(r, val, f->type, &d))
            return -1;
        *(float *)p = (float)d;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (s_read_double(r, val, f->type, &d))
            return -1;
        *(double *)p = d;
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(val))
            return s_fail(r, "must be true or false");
        *(protobuf_c_boolean *)p = json_is_true(val);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev = NULL;
        if (json_is_string(val)) {
            ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor,
                                                              json_string_value(val));
            if (!ev)
                return s_fail(r, "not a known value: %.60s", json_string_value(val));
        } else if (json_is_integer(val)) {
            json_int_t x = json_integer_value(val);
            if (x >= INT32_MIN && x <= INT32_MAX)
                ev = protobuf_c_enum_descriptor_get_value(f->descriptor, (int)x);
            if (!ev)
                return s_fail(r, "not a known value: %" JSON_INTEGER_FORMAT, x);
        } else
            return s_fail(r, "must be a value name or number");
        *(int32_t *)p = ev->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(val))
            return s_fail(r, "must be a string");
        size_t n = json_string_length(val);
        const char *s = json_string_value(val);
        if (memchr(s, '\0', n))
            return s_fail(r, "must not contain NUL characters");
        char *copy = malloc(n + 1);
        if (!copy)
            return s_fail(r, "out of memory");
        memcpy(copy, s, n + 1);
        *(char **)p = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: return s_read_bytes(r, val, p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (!json_is_object(val))
            return s_fail(r, "must be an object");
        if (depth >= PBJ_MAX_DEPTH)
            return s_fail(r, "nested too deeply (more than %d levels)", PBJ_MAX_DEPTH);
        ProtobufCMessage *sub = s_msg_new(f->descriptor);
        if (!sub)
            return s_fail(r, "out of memory");
        *(ProtobufCMessage **)p = sub; /* owned by the parent from here on */
        return s_read_msg(r, sub, val, depth + 1);
    }
    }
    return s_fail(r, "has an unsupported type");
}

static int s_read_repeated(reader_t *r, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                           const json_t *val, int depth)
{
    if (!json_is_array(val))
        return s_fail(r, "must be an array");
    size_t n = json_array_size(val), size = s_elem_size(f->type);
    if (n == 0)
        return 0;
    /* zeroed, so a failure half-way leaves NULL strings/messages for the free */
    char *arr = calloc(n, size);
    if (!arr)
        return s_fail(r, "out of memory");
    *(void **)s_member(msg, f->offset) = arr;
    *(size_t *)s_member(msg, f->quantifier_offset) = n;
    for (size_t i = 0; i < n; i++) {
        size_t old = r->len;
        s_path_add(r, "[%zu]", i);
        if (s_read_value(r, f, arr + i * size, json_array_get(val, i), depth))
            return -1;
        s_path_cut(r, old);
    }
    return 0;
}

static int s_read_field(reader_t *r, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                        const json_t *val, int depth)
{
    void *p = s_member(msg, f->offset);
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return s_read_repeated(r, msg, f, val, depth);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *set = s_member(msg, f->quantifier_offset);
        if (*set) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(msg->descriptor, *set);
            char camel[128];
            pbj_camel(other ? other->name : "?", camel, sizeof camel);
            return s_fail(r, "cannot be set together with %s", camel);
        }
        /* case first, on a cleared slot: a half-read submessage is then freed */
        memset(p, 0, s_elem_size(f->type));
        *set = f->id;
        return s_read_value(r, f, p, val, depth);
    }
    if (s_read_value(r, f, p, val, depth))
        return -1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING
        && f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)s_member(msg, f->quantifier_offset) = 1;
    return 0;
}

static int s_read_msg(reader_t *r, ProtobufCMessage *msg, const json_t *json, int depth)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    /* per field: 0 not given, 1 given as null, 2 given a value */
    unsigned char *seen = calloc(desc->n_fields + 1, 1);
    if (!seen)
        return s_fail(r, "out of memory");
    int rc = 0;
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)json, key, val) {
        const ProtobufCFieldDescriptor *f = s_field_find(desc, key);
        if (!f && (r->flags & PBJ_IGNORE_UNKNOWN))
            continue;
        size_t old = r->len;
        if (!f) {
            s_path_add(r, r->len ? ".%s" : "%s", key);
            rc = s_fail(r, "unknown field");
            break;
        }
        s_path_field(r, f->name);
        unsigned idx = (unsigned)(f - desc->fields);
        if (seen[idx])
            rc = s_fail(r, "is set more than once");
        else if (json_is_null(val))
            seen[idx] = 1; /* null: leave the default */
        else {
            seen[idx] = 2;
            rc = s_read_field(r, msg, f, val, depth);
        }
        if (rc)
            break;
        s_path_cut(r, old);
    }
    for (unsigned i = 0; rc == 0 && i < desc->n_fields; i++) {
        if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && seen[i] != 2) {
            s_path_field(r, desc->fields[i].name);
            rc = s_fail(r, "is required");
        }
    }
    free(seen);
    return rc;
}

ProtobufCMessage *pbj_from_json(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                unsigned flags, pbj_error_t *err)
{
    reader_t r = {.flags = flags, .err = err};
    if (err)
        err->field[0] = err->message[0] = '\0';
    if (!s_desc_ok(desc)) {
        s_fail(&r, "no message type given");
        return NULL;
    }
    if (!json_is_object(json)) {
        s_fail(&r, "body must be a JSON object");
        return NULL;
    }
    ProtobufCMessage *msg = s_msg_new(desc);
    if (!msg) {
        s_fail(&r, "out of memory");
        return NULL;
    }
    if (s_read_msg(&r, msg, json, 0)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return NULL;
    }
    return msg;
}

//  --------------------------------------------------------------------------
//  Self-test, over codec/pbj_test.proto (proto3) and codec/pbj_test2.proto (proto2).

#include "pbj_test.pb-c.h"
#include "pbj_test2.pb-c.h"

typedef struct {
    bool verbose; /* print each step */
    int checks;   /* checks run */
    int failed;   /* checks failed */
} tester_t;

#define CHECK(t, cond) s_check((t), (cond), #cond, __LINE__)

static bool s_check(tester_t *t, bool ok, const char *what, int line)
{
    t->checks++;
    if (!ok) {
        t->failed++;
        fprintf(stderr, "pbj_test: line %d: failed: %s\n", line, what);
    }
    return ok;
}

static void s_step(tester_t *t, const char *name)
{
    if (t->verbose)
        printf(" * pbj: %s\n", name);
}

//  JSON from text written with ' for ", to keep the tables below readable.
static json_t *s_json(const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *json = json_loads(copy, JSON_ALLOW_NUL, NULL);
    free(copy);
    return json;
}

//  True when got equals the JSON of want_text; prints both when not. Frees got.
static bool s_same(json_t *got, const char *want_text)
{
    json_t *want = s_json(want_text);
    bool ok = got && want && json_equal(got, want);
    if (!ok) {
        char *g = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
        fprintf(stderr, "pbj_test: got  %s\npbj_test: want %s\n", g ? g : "NULL", want_text);
        free(g);
    }
    json_decref(want);
    json_decref(got);
    return ok;
}

static ProtobufCMessage *s_from(const ProtobufCMessageDescriptor *desc, const char *text,
                                unsigned flags)
{
    json_t *json = s_json(text);
    pbj_error_t err;
    ProtobufCMessage *msg = pbj_from_json(desc, json, flags, &err);
    if (!msg)
        fprintf(stderr, "pbj_test: %s: %s: %s\n", text, err.field, err.message);
    json_decref(json);
    return msg;
}

//  Packs msg, then decodes the bytes back to JSON.
static json_t *s_via_wire(const ProtobufCMessage *msg, unsigned flags)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n + 1);
    if (!buf)
        return NULL;
    protobuf_c_message_pack(msg, buf);
    json_t *json = pbj_bytes_to_json(msg->descriptor, buf, n, flags);
    free(buf);
    return json;
}

//  pbj_to_text() gives exactly json_dumps() of pbj_to_json(); prints both when not.
static bool s_text_same(const ProtobufCMessage *msg, unsigned flags)
{
    json_t *json = pbj_to_json(msg, flags);
    char *want = json ? json_dumps(json, JSON_COMPACT) : NULL;
    size_t len = 0, wire_len = 0;
    char *got = pbj_to_text(msg, flags, &len);
    /* and through the wire (unpacked into an arena) */
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n + 1);
    char *wire = NULL;
    if (buf) {
        protobuf_c_message_pack(msg, buf);
        wire = pbj_bytes_to_text(msg->descriptor, buf, n, flags, &wire_len);
        free(buf);
    }
    bool ok = want && got && strcmp(want, got) == 0 && len == strlen(got) && wire
           && strcmp(wire, want) == 0 && wire_len == len;
    free(wire);
    if (!ok)
        fprintf(stderr, "pbj_test: text %s\npbj_test: dump %s\n", got ? got : "NULL",
                want ? want : "NULL");
    free(want);
    free(got);
    json_decref(json);
    return ok;
}

//  in -> message -> out must equal want, directly and through the wire.
static bool s_round(tester_t *t, const ProtobufCMessageDescriptor *desc, const char *in,
                    unsigned flags, const char *want, int line)
{
    ProtobufCMessage *msg = s_from(desc, in, flags & PBJ_IGNORE_UNKNOWN);
    bool ok = msg && s_same(pbj_to_json(msg, flags), want)
           && s_same(s_via_wire(msg, flags), want) && s_text_same(msg, flags);
    s_check(t, ok, in, line);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    return ok;
}

static void s_error(tester_t *t, const ProtobufCMessageDescriptor *desc, const char *in,
                    const char *field, const char *message)
{
    json_t *json = s_json(in);
    pbj_error_t err;
    memset(&err, 'x', sizeof err); /* must be overwritten */
    ProtobufCMessage *msg = pbj_from_json(desc, json, 0, &err);
    bool ok = !msg && strcmp(err.field, field) == 0 && strcmp(err.message, message) == 0;
    if (!s_check(t, ok, in, __LINE__))
        fprintf(stderr, "pbj_test:   got \"%.128s\" \"%.160s\", want \"%s\" \"%s\"\n",
                msg ? "(accepted)" : err.field, msg ? "" : err.message, field, message);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    json_decref(json);
}

static const char *const s_full =
    "{'fInt32':-5,'fSint32':-2147483648,'fSfixed32':2147483647,'fUint32':4294967295,"
    "'fFixed32':7,'fInt64':'-9223372036854775808','fSint64':'9223372036854775807',"
    "'fSfixed64':'-1','fUint64':'18446744073709551615','fFixed64':'1','fFloat':0.5,"
    "'fDouble':-2.25,'fBool':true,'fString':'gr\\u00fc\\u00dfe \\u0022q\\u0022\\ttab',"
    "'fBytes':'AAEC/w==','color':'COLOR_RED',"
    "'applicant':{'name':'Ada','birthDate':{'year':1815,'month':12,'day':10},"
    "'nickNames':['a','b']},"
    "'representatives':[{'name':'x'},{'name':'y','birthDate':{'day':1}}],"
    "'rInt64':['1','-2'],'rString':['','z'],'rBytes':['','AA=='],"
    "'rColor':['COLOR_GREEN','COLOR_BELOW'],'rDouble':[1.5,'NaN','Infinity','-Infinity'],"
    "'rBool':[true,false],'rUint32':[0,4294967295],'cText':'chosen',"
    "'child':{'fInt32':1,'child':{'cNumber':'2'}}}";

static void s_test_full(tester_t *t)
{
    s_step(t, "every field kind, both ways and through the wire");
    ProtobufCMessage *msg = s_from(&pbjtest__all__descriptor, s_full, 0);
    if (!CHECK(t, msg != NULL))
        return;
    const Pbjtest__All *a = (const Pbjtest__All *)msg;
    CHECK(t, a->f_int32 == -5 && a->f_sint32 == INT32_MIN && a->f_sfixed32 == INT32_MAX);
    CHECK(t, a->f_uint32 == UINT32_MAX && a->f_fixed32 == 7);
    CHECK(t, a->f_int64 == INT64_MIN && a->f_sint64 == INT64_MAX && a->f_sfixed64 == -1);
    CHECK(t, a->f_uint64 == UINT64_MAX && a->f_fixed64 == 1);
    CHECK(t, a->f_float == 0.5f && a->f_double == -2.25 && a->f_bool);
    CHECK(t, strcmp(a->f_string, "gr\xC3\xBC\xC3\x9F" "e \"q\"\ttab") == 0);
    CHECK(t, a->f_bytes.len == 4 && memcmp(a->f_bytes.data, "\x00\x01\x02\xFF", 4) == 0);
    CHECK(t, a->color == PBJTEST__COLOR__COLOR_RED);
    CHECK(t, a->applicant && a->applicant->birth_date && a->applicant->birth_date->year == 1815);
    CHECK(t, a->applicant && a->applicant->n_nick_names == 2
                 && strcmp(a->applicant->nick_names[1], "b") == 0);
    CHECK(t, a->n_representatives == 2 && strcmp(a->representatives[1]->name, "y") == 0);
    CHECK(t, a->n_r_int64 == 2 && a->r_int64[1] == -2);
    CHECK(t, a->n_r_bytes == 2 && a->r_bytes[0].len == 0 && a->r_bytes[1].len == 1);
    CHECK(t, a->n_r_color == 2 && a->r_color[1] == PBJTEST__COLOR__COLOR_BELOW);
    CHECK(t, a->n_r_double == 4 && isnan(a->r_double[1]) && a->r_double[3] == -INFINITY);
    CHECK(t, a->choice_case == PBJTEST__ALL__CHOICE_C_TEXT && strcmp(a->c_text, "chosen") == 0);
    CHECK(t, a->child && a->child->child && a->child->child->c_number == 2);
    CHECK(t, s_same(pbj_to_json(msg, 0), s_full));
    CHECK(t, s_same(s_via_wire(msg, 0), s_full));
    CHECK(t, s_text_same(msg, 0) && s_text_same(msg, PBJ_EMIT_DEFAULTS)
                 && s_text_same(msg, PBJ_ORIGINAL_NAMES));
    /* the text's escapes: control characters, quotes, DEL, bad UTF-8 (U+FFFD each) */
    Pbjtest__All *e = (Pbjtest__All *)msg;
    char *keep = e->f_string;
    e->f_string = "a\x01\x1f\b\f\n\r\t\"\\/\x7f \xC3\xBC \xFF\xC3( \xED\xA0\x80 \xF0\x9F\x98\x80 end";
    size_t tl = 0;
    char *text = pbj_to_text(msg, 0, &tl);
    CHECK(t, s_text_same(msg, 0));
    CHECK(t, text && strstr(text, "\"a\\u0001\\u001F\\b\\f\\n\\r\\t\\\"\\\\/\x7f \xC3\xBC "
                               "\xEF\xBF\xBD\xEF\xBF\xBD( \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
                               "\xF0\x9F\x98\x80 end\""));
    free(text);
    e->f_string = keep;
    CHECK(t, pbj_to_text(NULL, 0, NULL) == NULL);
    /* a message that unpacks into more than the arena's first buffer */
    size_t keep_n = e->n_r_string;
    char **keep_r = e->r_string;
    char *many[3000];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
        many[i] = i % 2 ? "a string of some length, here and there" : "";
    e->r_string = many;
    e->n_r_string = sizeof many / sizeof many[0];
    CHECK(t, s_text_same(msg, 0));
    e->r_string = keep_r;
    e->n_r_string = keep_n;

    json_t *snake = pbj_to_json(msg, PBJ_ORIGINAL_NAMES);
    json_t *app = json_object_get(snake, "applicant");
    CHECK(t, json_integer_value(json_object_get(snake, "f_sfixed32")) == INT32_MAX);
    CHECK(t, json_object_get(app, "birth_date") && !json_object_get(app, "birthDate"));
    CHECK(t, json_object_get(snake, "fInt32") == NULL);
    /* snake_case names are read back to the same message */
    pbj_error_t err;
    ProtobufCMessage *again = pbj_from_json(&pbjtest__all__descriptor, snake, 0, &err);
    CHECK(t, again && s_same(pbj_to_json(again, 0), s_full));
    if (again)
        protobuf_c_message_free_unpacked(again, NULL);
    json_decref(snake);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void s_test_conversions(tester_t *t)
{
    s_step(t, "accepted input forms and defaults");
    static const struct {
        const char *in, *out;
        unsigned flags;
    } cases[] = {
        {"{}", "{}", 0},
        {"{'fInt32':0,'fInt64':'0','fUint64':0,'fFloat':0,'fDouble':0.0,'fBool':false,"
         "'fString':'','fBytes':'','color':'COLOR_UNSPECIFIED','applicant':null,"
         "'rInt64':[],'representatives':null,'cText':null}",
         "{}", 0},
        {"{}",
         "{'fInt32':0,'fSint32':0,'fSfixed32':0,'fUint32':0,'fFixed32':0,'fInt64':'0',"
         "'fSint64':'0','fSfixed64':'0','fUint64':'0','fFixed64':'0','fFloat':0.0,"
         "'fDouble':0.0,'fBool':false,'fString':'','fBytes':'','color':'COLOR_UNSPECIFIED',"
         "'applicant':null,'representatives':[],'rInt64':[],'rString':[],'rBytes':[],"
         "'rColor':[],'rDouble':[],'rBool':[],'rUint32':[],'child':null}",
         PBJ_EMIT_DEFAULTS},
        {"{'f_int32':3,'applicant':{'birth_date':{'day':1},'nick_names':['n']}}",
         "{'fInt32':3,'applicant':{'birthDate':{'day':1},'nickNames':['n']}}", 0},
        {"{'fInt32':'42','fUint32':'4294967295','fInt64':123,"
         "'fSint64':-9223372036854775808,'fFixed64':1e3,'fSfixed32':'-0'}",
         "{'fInt32':42,'fUint32':4294967295,'fInt64':'123','fSint64':'-9223372036854775808',"
         "'fFixed64':'1000'}", 0},
        {"{'fInt32':1e2,'fSint32':-0.0,'fUint64':'0007','fInt64':'-0'}",
         "{'fInt32':100,'fUint64':'7'}", 0},
        {"{'color':2,'rColor':[-1,'COLOR_RED',0]}",
         "{'color':'COLOR_GREEN','rColor':['COLOR_BELOW','COLOR_RED','COLOR_UNSPECIFIED']}", 0},
        {"{'fBytes':'AAEC_w','rBytes':['AAEC/w','AAEC_w==','QQ','QUI=','','-_-_']}",
         "{'fBytes':'AAEC/w==','rBytes':['AAEC/w==','AAEC/w==','QQ==','QUI=','','+/+/']}", 0},
        {"{'fFloat':0.1,'fDouble':'1.5e3','rDouble':['-2',0.1]}",
         "{'fFloat':0.1,'fDouble':1500.0,'rDouble':[-2.0,0.1]}", 0},
        {"{'fFloat':'NaN','fDouble':'-Infinity','rDouble':['Infinity']}",
         "{'fFloat':'NaN','fDouble':'-Infinity','rDouble':['Infinity']}", 0},
        {"{'fFloat':3,'fDouble':-7,'fBool':false}", "{'fFloat':3.0,'fDouble':-7.0}", 0},
        {"{'fFloat':3.4028234663852886e38,'rDouble':[1.7976931348623157e308]}",
         "{'fFloat':3.4028235e38,'rDouble':[1.7976931348623157e308]}", 0},
        {"{'fFloat':-3.4028235e38}", "{'fFloat':-3.4028235e38}", 0},
        {"{'fFloat':1e-46}", "{}", 0},
        {"{'cText':null,'cNumber':'5'}", "{'cNumber':'5'}", 0},
        {"{'cNumber':0}", "{'cNumber':'0'}", 0},
        {"{'cPerson':{}}", "{'cPerson':{}}", 0},
        {"{'cText':''}", "{'cText':''}", 0},
        {"{'cBlob':''}", "{'cBlob':''}", 0},
        {"{'cBlob':'AQ'}", "{'cBlob':'AQ=='}", 0},
        {"{'rString':['','x'],'rBool':[false],'rUint32':[0],'rInt64':['0']}",
         "{'rString':['','x'],'rBool':[false],'rUint32':[0],'rInt64':['0']}", 0},
        {"{'nope':1,'fInt32':2,'applicant':{'x':[1]}}", "{'fInt32':2,'applicant':{}}",
         PBJ_IGNORE_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_round(t, &pbjtest__all__descriptor, cases[i].in, cases[i].flags, cases[i].out,
                __LINE__);
    s_round(t, &pbjtest__person__descriptor, "{}", PBJ_EMIT_DEFAULTS,
            "{'name':'','birthDate':null,'nickNames':[]}", __LINE__);
}

static void s_test_errors(tester_t *t)
{
    s_step(t, "every input error, with its path and message");
    static const struct {
        const char *in, *field, *message;
    } cases[] = {
        {"[]", "", "body must be a JSON object"},
        {"{'fInt32':'x'}", "fInt32", "must be an integer"},
        {"{'fInt32':2147483648}", "fInt32", "out of range for int32"},
        {"{'fInt32':-2147483649}", "fInt32", "out of range for int32"},
        {"{'fSint32':'-2147483649'}", "fSint32", "out of range for sint32"},
        {"{'fSfixed32':1.5}", "fSfixed32", "must be an integer"},
        {"{'fUint32':-1}", "fUint32", "out of range for uint32"},
        {"{'fFixed32':4294967296}", "fFixed32", "out of range for fixed32"},
        {"{'fInt64':'9223372036854775808'}", "fInt64", "out of range for int64"},
        {"{'fSint64':'-9223372036854775809'}", "fSint64", "out of range for sint64"},
        {"{'fUint64':'18446744073709551616'}", "fUint64", "out of range for uint64"},
        {"{'fUint64':'99999999999999999999999'}", "fUint64", "out of range for uint64"},
        {"{'fFixed64':'-1'}", "fFixed64", "out of range for fixed64"},
        {"{'fInt64':1e19}", "fInt64", "out of range for int64"},
        {"{'fInt64':1e300}", "fInt64", "out of range for int64"},
        {"{'fInt64':'12a'}", "fInt64", "must be an integer"},
        {"{'fInt64':' 1'}", "fInt64", "must be an integer"},
        {"{'fInt64':'+1'}", "fInt64", "must be an integer"},
        {"{'fInt64':''}", "fInt64", "must be an integer"},
        {"{'fInt64':'-'}", "fInt64", "must be an integer"},
        {"{'fInt64':true}", "fInt64", "must be an integer"},
        {"{'fInt64':{}}", "fInt64", "must be an integer"},
        {"{'fBool':1}", "fBool", "must be true or false"},
        {"{'fBool':'true'}", "fBool", "must be true or false"},
        {"{'fString':5}", "fString", "must be a string"},
        {"{'fString':'a\\u0000b'}", "fString", "must not contain NUL characters"},
        {"{'fBytes':'!!!!'}", "fBytes", "not valid base64"},
        {"{'fBytes':'QQ='}", "fBytes", "not valid base64"},
        {"{'fBytes':'Q'}", "fBytes", "not valid base64"},
        {"{'fBytes':'A+B_'}", "fBytes", "not valid base64"},
        {"{'fBytes':'QQ== '}", "fBytes", "not valid base64"},
        {"{'fBytes':7}", "fBytes", "must be a base64 string"},
        {"{'fFloat':1e39}", "fFloat", "out of range for float"},
        {"{'fFloat':'-1e39'}", "fFloat", "out of range for float"},
        {"{'fFloat':3.4028236e38}", "fFloat", "out of range for float"},
        {"{'fDouble':'abc'}", "fDouble", "must be a number"},
        {"{'fDouble':'inf'}", "fDouble", "must be a number"},
        {"{'fDouble':'0x10'}", "fDouble", "must be a number"},
        {"{'fDouble':'1e999'}", "fDouble", "out of range for double"},
        {"{'fDouble':[]}", "fDouble", "must be a number"},
        {"{'color':'PURPLE'}", "color", "not a known value: PURPLE"},
        {"{'color':'red'}", "color", "not a known value: red"},
        {"{'color':7}", "color", "not a known value: 7"},
        {"{'color':1.0}", "color", "must be a value name or number"},
        {"{'applicant':'Ada'}", "applicant", "must be an object"},
        {"{'applicant':[]}", "applicant", "must be an object"},
        {"{'applicant':{'birthDate':{'year':'nope'}}}", "applicant.birthDate.year",
         "must be an integer"},
        {"{'applicant':{'birth_date':{'month':1.5}}}", "applicant.birthDate.month",
         "must be an integer"},
        {"{'representatives':[{'name':'a'},{'name':5}]}", "representatives[1].name",
         "must be a string"},
        {"{'representatives':[{},{'birthDate':{'day':2147483648}}]}",
         "representatives[1].birthDate.day", "out of range for int32"},
        {"{'representatives':{}}", "representatives", "must be an array"},
        {"{'representatives':[{},null]}", "representatives[1]", "must be an object"},
        {"{'rInt64':['1',2,'x']}", "rInt64[2]", "must be an integer"},
        {"{'rString':['a',null]}", "rString[1]", "must be a string"},
        {"{'rBytes':['AA==','*']}", "rBytes[1]", "not valid base64"},
        {"{'rColor':['COLOR_RED','BLUE']}", "rColor[1]", "not a known value: BLUE"},
        {"{'applicant':{'nickNames':['a',1]}}", "applicant.nickNames[1]", "must be a string"},
        {"{'nope':1}", "nope", "unknown field"},
        {"{'FInt32':1}", "FInt32", "unknown field"},
        {"{'applicant':{'age':3}}", "applicant.age", "unknown field"},
        {"{'representatives':[{'x':1}]}", "representatives[0].x", "unknown field"},
        {"{'fInt32':1,'f_int32':2}", "fInt32", "is set more than once"},
        {"{'fInt32':null,'f_int32':2}", "fInt32", "is set more than once"},
        {"{'cText':'a','cNumber':'1'}", "cNumber", "cannot be set together with cText"},
        {"{'cText':'a','c_person':{}}", "cPerson", "cannot be set together with cText"},
        {"{'cPerson':{'name':1}}", "cPerson.name", "must be a string"},
        {"{'cBlob':'%%'}", "cBlob", "not valid base64"},
        {"{'child':{'child':{'representatives':[{'nickNames':{}}]}}}",
         "child.child.representatives[0].nickNames", "must be an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_error(t, &pbjtest__all__descriptor, cases[i].in, cases[i].field, cases[i].message);

    pbj_error_t err;
    CHECK(t, pbj_from_json(&pbjtest__all__descriptor, NULL, 0, &err) == NULL
                 && strcmp(err.field, "") == 0
                 && strcmp(err.message, "body must be a JSON object") == 0);
    json_t *str = json_string("x");
    CHECK(t, pbj_from_json(&pbjtest__all__descriptor, str, 0, &err) == NULL
                 && strcmp(err.message, "body must be a JSON object") == 0);
    CHECK(t, pbj_from_json(NULL, str, 0, &err) == NULL
                 && strcmp(err.message, "no message type given") == 0);
    json_decref(str);
    json_t *bad = s_json("{'fInt32':'x'}");
    CHECK(t, pbj_from_json(&pbjtest__all__descriptor, bad, 0, NULL) == NULL); /* err optional */
    json_decref(bad);
}

static void s_test_proto2(tester_t *t)
{
    s_step(t, "proto2: required, optional with has_ and defaults, oneof");
    const ProtobufCMessageDescriptor *d = &pbjtest2__legacy__descriptor;
    s_round(t, d, "{'id':'x'}", 0, "{'id':'x'}", __LINE__);
    s_round(t, d, "{'id':''}", 0, "{'id':''}", __LINE__);
    s_round(t, d, "{'id':'x'}", PBJ_EMIT_DEFAULTS,
            "{'id':'x','count':7,'label':'none','blob':'','next':null,'nums':[],'flag':false}",
            __LINE__);
    const char *all = "{'id':'x','count':0,'label':'none','blob':'','flag':false,"
                      "'nums':['-5','5'],'next':{'id':'y','pickB':'b'},'pickA':0}";
    s_round(t, d, all, 0, all, __LINE__);
    ProtobufCMessage *msg = s_from(d, all, 0);
    const Pbjtest2__Legacy *l = (const Pbjtest2__Legacy *)msg;
    CHECK(t, l && l->has_count && l->count == 0 && l->has_blob && l->has_flag && !l->flag);
    CHECK(t, l && l->label != pbjtest2__legacy__label__default_value);
    CHECK(t, l && l->pick_case == PBJTEST2__LEGACY__PICK_PICK_A && l->next
                 && strcmp(l->next->pick_b, "b") == 0);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    s_error(t, d, "{}", "id", "is required");
    s_error(t, d, "{'id':null}", "id", "is required");
    s_error(t, d, "{'id':'x','next':{}}", "next.id", "is required");
    s_error(t, d, "{'id':'x','pickA':1,'pickB':'b'}", "pickB", "cannot be set together with pickA");
    s_error(t, d, "{'id':'x','nums':['9223372036854775808']}", "nums[0]", "out of range for sint64");
}

static void s_test_limits(tester_t *t)
{
    s_step(t, "nesting limit, bad UTF-8 and unknown enum values out, bad bytes in");
    /* from JSON: PBJ_MAX_DEPTH nested levels pass, one more fails */
    for (int levels = PBJ_MAX_DEPTH; levels <= PBJ_MAX_DEPTH + 1; levels++) {
        json_t *json = json_object();
        for (int i = 0; i < levels; i++) {
            json_t *outer = json_object();
            json_object_set_new(outer, "child", json);
            json = outer;
        }
        pbj_error_t err;
        ProtobufCMessage *msg = pbj_from_json(&pbjtest__all__descriptor, json, 0, &err);
        if (levels == PBJ_MAX_DEPTH) {
            json_t *back = msg ? pbj_to_json(msg, 0) : NULL;
            CHECK(t, back && json_equal(back, json));
            json_decref(back);
        } else {
            size_t n = strlen(err.field);
            CHECK(t, !msg && strcmp(err.message, "nested too deeply (more than 32 levels)") == 0);
            CHECK(t, n == sizeof err.field - 1 && strncmp(err.field, "...", 3) == 0
                         && strcmp(err.field + n - 12, ".child.child") == 0);
        }
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
        json_decref(json);
    }
    /* to JSON: the same limit */
    Pbjtest__All nodes[PBJ_MAX_DEPTH + 2];
    for (int i = 0; i < PBJ_MAX_DEPTH + 2; i++) {
        pbjtest__all__init(&nodes[i]);
        nodes[i].child = i + 1 < PBJ_MAX_DEPTH + 2 ? &nodes[i + 1] : NULL;
    }
    CHECK(t, pbj_to_json(&nodes[0].base, 0) == NULL); /* 33 levels below the top */
    json_t *ok = pbj_to_json(&nodes[1].base, 0);      /* 32 */
    CHECK(t, ok != NULL);
    json_decref(ok);

    Pbjtest__Person p = PBJTEST__PERSON__INIT;
    p.name = "a\xFF" "b\xC3\x28-\xE2\x82";
    CHECK(t, s_same(pbj_to_json(&p.base, 0),
                    "{'name':'a\\ufffdb\\ufffd(-\\ufffd\\ufffd'}"));
    Pbjtest__All a = PBJTEST__ALL__INIT;
    a.color = 99;
    a.f_float = 0.1f;
    CHECK(t, s_same(pbj_to_json(&a.base, 0), "{'color':99,'fFloat':0.1}"));
    CHECK(t, pbj_to_json(NULL, 0) == NULL);

    CHECK(t, pbj_bytes_to_json(&pbjtest__all__descriptor, (const uint8_t *)"\xFF\xFF\xFF", 3, 0)
                 == NULL);
    CHECK(t, s_same(pbj_bytes_to_json(&pbjtest__all__descriptor, NULL, 0, 0), "{}"));
    CHECK(t, pbj_bytes_to_json(&pbjtest__all__descriptor, NULL, 5, 0) == NULL);
    CHECK(t, pbj_bytes_to_json(NULL, (const uint8_t *)"", 0, 0) == NULL);
}

static void s_test_camel(tester_t *t)
{
    s_step(t, "pbj_camel");
    char out[16];
    CHECK(t, pbj_camel("birth_date", out, sizeof out) == 0 && strcmp(out, "birthDate") == 0);
    CHECK(t, pbj_camel("f_int32", out, sizeof out) == 0 && strcmp(out, "fInt32") == 0);
    CHECK(t, pbj_camel("field_1", out, sizeof out) == 0 && strcmp(out, "field1") == 0);
    CHECK(t, pbj_camel("a__b_", out, sizeof out) == 0 && strcmp(out, "aB") == 0);
    CHECK(t, pbj_camel("_x", out, sizeof out) == 0 && strcmp(out, "X") == 0);
    CHECK(t, pbj_camel("seq", out, sizeof out) == 0 && strcmp(out, "seq") == 0);
    CHECK(t, pbj_camel("abcdefghijklmno", out, sizeof out) == 0);
    CHECK(t, pbj_camel("abcdefghijklmnop", out, sizeof out) == -1 && strlen(out) == 15);
    CHECK(t, pbj_camel(NULL, out, sizeof out) == -1 && pbj_camel("a", NULL, 4) == -1);
    CHECK(t, pbj_camel("a", out, 0) == -1);
}

int pbj_test(bool verbose)
{
    tester_t t = {.verbose = verbose};
    if (verbose)
        printf(" * pbj: start\n");
    s_test_camel(&t);
    s_test_full(&t);
    s_test_conversions(&t);
    s_test_errors(&t);
    s_test_proto2(&t);
    s_test_limits(&t);
    if (verbose || t.failed)
        printf(" * pbj: %d checks, %d failed\n", t.checks, t.failed);
    return t.failed ? -1 : 0;
}
