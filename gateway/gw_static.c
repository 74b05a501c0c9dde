/* gw_static.c: static files with cache headers, ETag / If-None-Match, no traversal. */
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "gw_json.h"
#include "gw_static.h"

static const struct {
    const char *ext;
    const char *type;
} s_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/vnd.microsoft.icon"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".pdf", "application/pdf"},
    {".yaml", "text/yaml; charset=utf-8"},
};

static const char *s_type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++)
        if (strcasecmp(dot, s_types[i].ext) == 0)
            return s_types[i].type;
    return "application/octet-stream";
}

/* True when every segment of @p path is an ordinary name: no "..", nothing hidden,
 * no backslash, no control characters. */
static bool s_path_ok(const char *path)
{
    if (path[0] != '/')
        return false;
    for (const char *seg = path + 1; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n > 0 && seg[0] == '.')
            return false;   /* "..", ".", ".git", ".env" */
        for (size_t i = 0; i < n; i++)
            if (seg[i] == '\\' || (unsigned char) seg[i] < 0x20 || seg[i] == 0x7f)
                return false;
        seg += n;
        if (*seg == '/')
            seg++;
    }
    return true;
}

/* True when the If-None-Match list names @p etag (or is "*"). */
static bool s_etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    size_t el = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == el && strncmp(p, etag, el) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

void gw_static_serve(gw_req_t *req)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        const gw_header_t h[] = {{"Allow", "GET, HEAD"}};
        gw_json_respond(req, 405,
                        json_pack("{s:{s:s, s:s, s:s}}", "error", "code", "method_not_allowed",
                                  "field", "", "message", "static files are read-only"),
                        h, 1);
        return;
    }
    const char *url = req->url;
    if (req->raw_encoded_dot || !s_path_ok(url)) {
        gw_json_error(req, 400, "invalid", "path", "not a valid file path");
        return;
    }
    char path[1024];
    size_t ul = strlen(url);
    int n = snprintf(path, sizeof path, "%s%s%s", req->config->web_root, url,
                     url[ul - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t) n >= sizeof path) {
        gw_json_error(req, 404, "not_found", "path", "no such file");
        return;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        gw_json_error(req, 404, "not_found", "path", "no such file");
        return;
    }
    char etag[80];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"", (unsigned long long) st.st_size,
             (unsigned long long) st.st_mtim.tv_sec, (unsigned long) st.st_mtim.tv_nsec);
    const char *type = s_type_of(path);
    bool html = strncmp(type, "text/html", 9) == 0;
    const gw_header_t h[] = {
        {"ETag", etag},
        {"Cache-Control", html ? "no-cache" : "public, max-age=300"},
    };
    if (s_etag_matches(gw_req_header(req, "If-None-Match"), etag)) {
        close(fd);
        gw_respond(req, 304, NULL, NULL, 0, h, 2);
        return;
    }
    gw_respond_fd(req, 200, type, fd, (size_t) st.st_size, h, 2);
}
