/* openapi_routes.c: gateway/openapi.yaml and the gateway's route table agree: every
 * documented path and method is a route (`tp-gateway --routes`), every route is
 * documented, and each operation documents the errors the gateway gives it (403 for
 * state changes, 400 for bodies, 401 where a session is needed, 503 where a service is
 * called). The YAML is read as text: "paths:" at the left margin, a path at two spaces,
 * a method at four, a response status at eight. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define S_MAX 128

typedef struct {
    char route[160];        /* "METHOD PATH" */
    char statuses[128];     /* " 200 400 ..." documented */
    bool has_body;          /* requestBody */
    bool public_;           /* its own `security:` (anonymous or optional session) */
} s_op_t;

static s_op_t s_ops[S_MAX];
static int s_n_ops;

static void s_upper(char *s)
{
    for (; *s; s++)
        *s = (char) toupper((unsigned char) *s);
}

/* Reads the operations of the paths section. */
static bool s_read_yaml(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", file);
        return false;
    }
    char line[1024], path[256] = "";
    bool in_paths = false;
    s_op_t *op = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && line[0] != ' ' && line[0] != '#') {
            in_paths = strncmp(line, "paths:", 6) == 0;
            op = NULL;
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0) {
            size_t n = strcspn(line + 2, ":");
            snprintf(path, sizeof path, "%.*s", (int) n, line + 2);
            op = NULL;
            continue;
        }
        if (strncmp(line, "    ", 4) == 0 && line[4] != ' ') {
            char method[16];
            size_t n = strcspn(line + 4, ":");
            if (n >= sizeof method)
                continue;
            snprintf(method, sizeof method, "%.*s", (int) n, line + 4);
            static const char *const verbs[] = {"get", "put", "post", "delete", "patch",
                                                "head", "options", NULL};
            bool verb = false;
            for (size_t i = 0; verbs[i]; i++)
                verb = verb || strcmp(method, verbs[i]) == 0;
            if (!verb || s_n_ops >= S_MAX) {
                op = NULL;
                continue;
            }
            s_upper(method);
            op = &s_ops[s_n_ops++];
            memset(op, 0, sizeof *op);
            snprintf(op->route, sizeof op->route, "%s %s", method, path);
            continue;
        }
        if (!op)
            continue;
        if (strncmp(line, "      requestBody:", 18) == 0)
            op->has_body = true;
        if (strncmp(line, "      security:", 15) == 0)
            op->public_ = true;
        if (strncmp(line, "        \"", 9) == 0 && isdigit((unsigned char) line[9])) {
            size_t l = strlen(op->statuses);
            snprintf(op->statuses + l, sizeof op->statuses - l, " %.3s", line + 9);
        }
    }
    fclose(f);
    return s_n_ops > 0;
}

static bool s_documents(const s_op_t *op, const char *status)
{
    char pat[8];
    snprintf(pat, sizeof pat, " %s", status);
    bool ok = strstr(op->statuses, pat) != NULL;
    if (!ok)
        fprintf(stderr, "openapi.yaml: %s does not document %s\n", op->route, status);
    return ok;
}

int main(void)
{
    TH_CHECK(s_read_yaml(th_env("TP_OPENAPI")));
    char *out = NULL;
    int rc = th_run(&out, "'%s' --routes", th_env("TP_GATEWAY"));
    TH_CHECK(rc == 0 && out && *out);
    char *routes[S_MAX];
    int n_routes = 0;
    for (char *save = NULL, *l = out ? strtok_r(out, "\n", &save) : NULL; l && n_routes < S_MAX;
         l = strtok_r(NULL, "\n", &save))
        routes[n_routes++] = l;
    /* documented -> implemented */
    for (int i = 0; i < s_n_ops; i++) {
        bool found = false;
        for (int k = 0; k < n_routes && !found; k++)
            found = strcmp(s_ops[i].route, routes[k]) == 0;
        if (!found)
            fprintf(stderr, "openapi.yaml documents %s, which the gateway does not serve\n",
                    s_ops[i].route);
        TH_CHECK(found);
        for (int k = 0; k < i; k++)
            TH_CHECK(strcmp(s_ops[i].route, s_ops[k].route) != 0);
    }
    /* implemented -> documented */
    for (int k = 0; k < n_routes; k++) {
        bool found = false;
        for (int i = 0; i < s_n_ops && !found; i++)
            found = strcmp(s_ops[i].route, routes[k]) == 0;
        if (!found)
            fprintf(stderr, "the gateway serves %s, which openapi.yaml does not document\n",
                    routes[k]);
        TH_CHECK(found);
    }
    /* the errors each operation can get from the gateway are documented */
    for (int i = 0; i < s_n_ops; i++) {
        const s_op_t *op = &s_ops[i];
        bool write = strncmp(op->route, "GET ", 4) != 0;
        bool health = strstr(op->route, " /healthz") || strstr(op->route, " /readyz");
        if (write)
            TH_CHECK(s_documents(op, "403"));
        if (op->has_body)
            TH_CHECK(s_documents(op, "400"));
        if (!op->public_)
            TH_CHECK(s_documents(op, "401"));
        if (!health)
            TH_CHECK(s_documents(op, "503"));
        TH_CHECK(strstr(op->statuses, " 2") != NULL);
    }
    fprintf(stderr, "openapi_routes: %d documented operations, %d routes\n", s_n_ops, n_routes);
    free(out);
    return th_failed ? 1 : 0;
}
