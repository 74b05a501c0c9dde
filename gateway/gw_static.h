/* gw_static.h: the web portal's files from web_root (gateway/web/).
 *
 * GET and HEAD only (else 405). "/" and any path ending in "/" serve index.html of
 * that folder. A path with a ".." segment, a segment starting with '.', a backslash,
 * or a percent-encoded '.', '/', '\' or NUL (seen in the raw URI) is refused with 400
 * before the file system is asked; symbolic links are not followed at the last
 * component; only regular files are served (else 404).
 *
 * Caching: every file has a strong ETag from its size and modification time, and
 * If-None-Match with it answers 304 without a body. HTML files are "no-cache" (always
 * revalidated, so a new portal version is picked up at once); other files are
 * "public, max-age=300". Content-Type follows the file extension
 * (application/octet-stream when unknown). The body goes out with sendfile.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H
#include "gw_req.h"

/** @brief Serve req->url from the web root. Always responds. */
void gw_static_serve(gw_req_t *req);
#endif
