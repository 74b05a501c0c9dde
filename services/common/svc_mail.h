/* svc_mail.h: sending one mail: SMTP through libcurl, or a file in an outbox folder
 * when no SMTP server is configured (so a local run shows every mail). */
#ifndef SVC_MAIL_H
#define SVC_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include "svc.h"

/** Where mail goes. With smtp_url NULL or "" each mail is written to the outbox. */
typedef struct {
    const char *smtp_url;     /**< "smtp://host:587", "smtps://host:465"; NULL = outbox */
    const char *user;         /**< SMTP login, or NULL */
    const char *password;     /**< SMTP password, or NULL */
    const char *from;         /**< the From address, e.g. "portal@example.org" */
    const char *tls;          /**< "require" (default for smtp://: STARTTLS or fail),
                                   "try", or "none" (only for a local test server) */
    const char *outbox;       /**< folder for .eml files when there is no SMTP URL */
    long timeout_s;           /**< whole-transfer time-out; 0 = 30 */
} svc_mail_cfg_t;

/**
 * @brief Format @p mail as an RFC 5322 message (UTF-8 subject as an encoded word,
 * body base64, Message-ID from the mail id) into a malloc'd string.
 * @param[in] date_s seconds since the epoch for the Date header
 * @return the message (caller frees), or NULL when out of memory
 */
char *svc_mail_format(const svc_mail_cfg_t *cfg, const svc_mail_t *mail, long date_s);

/**
 * @brief Send one mail: SMTP when configured, else write `<outbox>/<mail id>.eml`
 * (atomically; sending the same mail again replaces the file, so at-least-once
 * delivery never leaves two copies there).
 * @param[out] err what went wrong, e.g. "smtp://mx:25: Couldn't connect to server"
 * @return 0, or -1 with @p err filled in
 */
int svc_mail_send(const svc_mail_cfg_t *cfg, const svc_mail_t *mail, char *err, size_t errsz);

/** Self-test (outbox and formatting). */
int svc_mail_test(bool verbose);

#endif
