/* svc_text.h: checks of the text fields commands carry. protobuf-c does not check
 * UTF-8, and these strings end up in JSON, logs, mails, PDFs and the evidence an
 * auditor reads. */
#ifndef SVC_TEXT_H
#define SVC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/**
 * @brief Length of @p s in code points, or -1 when it is not text: not valid UTF-8
 * (overlong forms, surrogates, beyond U+10FFFF), or with a C0/C1 control character,
 * DEL, or U+2028/U+2029 (line and paragraph separators break JavaScript and logs).
 * @param lines also allow line feed, carriage return and tab (multi-line text)
 */
long svc_text_len(const char *s, bool lines);

/**
 * @brief True for an id taken from a command or an upstream event: 1 to @p max bytes
 * of printable ASCII without spaces (so it can be logged, typed, and joined with a
 * '\n' into a key).
 */
bool svc_valid_id(const char *s, size_t max);

/** @brief Self-test; 0 when it passes. */
int svc_text_test(bool verbose);

#endif
