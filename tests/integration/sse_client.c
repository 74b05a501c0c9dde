/* sse_client.c: a live-update stream for the tests (sse_client.h). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "sse_client.h"

struct _sse_t {
    CURL *curl;
    struct curl_slist *headers;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more;
    char *text;              /* received so far, NUL-terminated */
    size_t len, cap;
    long status;
    bool stop;               /* sse_close: end the transfer */
    bool ended;
};

static size_t s_write(char *data, size_t size, size_t n, void *arg)
{
    sse_t *self = arg;
    size_t len = size * n;
    pthread_mutex_lock(&self->lock);
    if (self->len + len + 1 > self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 4096;
        while (cap < self->len + len + 1)
            cap *= 2;
        char *t = realloc(self->text, cap);
        if (!t) {
            pthread_mutex_unlock(&self->lock);
            return 0;
        }
        self->text = t;
        self->cap = cap;
    }
    memcpy(self->text + self->len, data, len);
    self->len += len;
    self->text[self->len] = '\0';
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &self->status);
    pthread_cond_broadcast(&self->more);
    pthread_mutex_unlock(&self->lock);
    return len;
}

/* Called by libcurl at least once a second: non-zero ends the transfer. */
static int s_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void) a, (void) b, (void) c, (void) d;
    sse_t *self = arg;
    pthread_mutex_lock(&self->lock);
    bool stop = self->stop;
    if (!self->status)
        curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &self->status);
    pthread_mutex_unlock(&self->lock);
    return stop ? 1 : 0;
}

static void *s_run(void *arg)
{
    sse_t *self = arg;
    curl_easy_perform(self->curl);
    pthread_mutex_lock(&self->lock);
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &self->status);
    self->ended = true;
    pthread_cond_broadcast(&self->more);
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

sse_t *sse_open(const char *base, const char *session, const char *last_id)
{
    sse_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->more, NULL);
    self->text = calloc(1, 1);
    self->cap = 1;
    self->curl = curl_easy_init();
    char url[256], line[512];
    snprintf(url, sizeof url, "%s/api/v1/events", base);
    curl_easy_setopt(self->curl, CURLOPT_URL, url);
    self->headers = curl_slist_append(NULL, "Accept: text/event-stream");
    if (session && *session) {
        snprintf(line, sizeof line, "Cookie: tp_session=%s", session);
        self->headers = curl_slist_append(self->headers, line);
    }
    if (last_id) {
        snprintf(line, sizeof line, "Last-Event-ID: %s", last_id);
        self->headers = curl_slist_append(self->headers, line);
    }
    curl_easy_setopt(self->curl, CURLOPT_HTTPHEADER, self->headers);
    curl_easy_setopt(self->curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(self->curl, CURLOPT_WRITEDATA, self);
    curl_easy_setopt(self->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(self->curl, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt(self->curl, CURLOPT_XFERINFODATA, self);
    curl_easy_setopt(self->curl, CURLOPT_NOSIGNAL, 1L);
    pthread_create(&self->thread, NULL, s_run, self);
    return self;
}

void sse_close(sse_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sse_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    curl_easy_cleanup(self->curl);
    curl_slist_free_all(self->headers);
    pthread_cond_destroy(&self->more);
    pthread_mutex_destroy(&self->lock);
    free(self->text);
    free(self);
    *self_p = NULL;
}

long sse_status(sse_t *self)
{
    pthread_mutex_lock(&self->lock);
    long s = self->status;
    pthread_mutex_unlock(&self->lock);
    return s;
}

long sse_wait(sse_t *self, const char *needle, size_t skip, int timeout_ms)
{
    int64_t end = zclock_mono() + timeout_ms;
    long at = -1;
    pthread_mutex_lock(&self->lock);
    while (true) {
        const char *hit = skip <= self->len ? strstr(self->text + skip, needle) : NULL;
        if (hit) {
            at = (long) (hit - self->text + (long) strlen(needle));
            break;
        }
        int64_t left = end - zclock_mono();
        if (left <= 0 || self->ended)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long) (left < 100 ? left : 100) * 1000000;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&self->more, &self->lock, &ts);
    }
    pthread_mutex_unlock(&self->lock);
    return at;
}

char *sse_text(sse_t *self)
{
    pthread_mutex_lock(&self->lock);
    char *t = strdup(self->text);
    pthread_mutex_unlock(&self->lock);
    return t;
}

bool sse_ended(sse_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool e = self->ended;
    pthread_mutex_unlock(&self->lock);
    return e;
}

bool sse_last_id(sse_t *self, char *out, size_t outsz)
{
    char *t = sse_text(self);
    bool found = false;
    /* the last "id: " line of an event that is complete (a blank line after it) */
    for (char *p = t; (p = strstr(p, "id: ")) != NULL; p += 4) {
        if (p != t && p[-1] != '\n')
            continue;
        size_t n = strcspn(p + 4, "\n");
        if (!strstr(p + 4 + n, "\n\n"))
            break;
        snprintf(out, outsz, "%.*s", (int) n, p + 4);
        found = true;
    }
    free(t);
    return found;
}

int sse_count(sse_t *self, const char *needle)
{
    char *t = sse_text(self);
    int n = 0;
    for (const char *p = t; (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(t);
    return n;
}
