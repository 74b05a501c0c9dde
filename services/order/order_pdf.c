/* order_pdf.c: a small page-layout engine on cairo's PDF surface (wrapped text,
 * label/value rows, numbered steps, signature lines, boxes, page breaks) and the
 * entry points; the documents' content is in order_pdf_docs.c. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "order_pdf_internal.h"

#define S_PAGE_W 595.276   /* A4 in points */
#define S_PAGE_H 841.890
#define S_MARGIN 56.0
#define S_TOP 78.0         /* below the running header */
#define S_BOTTOM 780.0     /* above the running footer */
#define S_LABEL_W 150.0    /* label column of rows */

/* ------------------------------------------------------------------ output */

/* cairo hands the PDF over in pieces; they are collected in memory. */
static cairo_status_t s_write(void *closure, const unsigned char *data, unsigned int length)
{
    opdf_doc_t *doc = closure;
    if (doc->len + length > doc->cap) {
        size_t cap = doc->cap ? doc->cap * 2 : 16384;
        while (cap < doc->len + length)
            cap *= 2;
        uint8_t *p = realloc(doc->buf, cap);
        if (!p)
            return CAIRO_STATUS_WRITE_ERROR;
        doc->buf = p;
        doc->cap = cap;
    }
    memcpy(doc->buf + doc->len, data, length);
    doc->len += length;
    return CAIRO_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ text */

/* A copy of @p s that cairo accepts: bytes that are not valid UTF-8 become '?', control
 * characters (but '\n') become spaces. cairo refuses invalid UTF-8 outright and would
 * put the whole document into an error state. */
static char *s_clean(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *) s;
    size_t o = 0;
    while (*p) {
        unsigned c = *p;
        int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                : (c & 0xf8) == 0xf0 ? 4 : 0;
        bool ok = len > 0;
        uint32_t cp = len > 1 ? c & (0x3fu >> (len - 1)) : c;
        for (int i = 1; ok && i < len; i++) {
            ok = (p[i] & 0xc0) == 0x80;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        ok = ok && cp >= min[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        if (!ok) {
            out[o++] = '?';
            p++;
            continue;
        }
        if (len == 1) {
            out[o++] = (c < 0x20 && c != '\n') || c == 0x7f ? ' ' : (char) c;
            p++;
            continue;
        }
        memcpy(out + o, p, (size_t) len);
        o += (size_t) len;
        p += len;
    }
    out[o] = '\0';
    return out;
}

static double s_width(opdf_doc_t *doc, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(doc->cr, s, &e);
    return e.x_advance;
}

static size_t s_char_len(const char *p)
{
    unsigned c = (unsigned char) *p;
    return c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
}

/* Bytes of the longest prefix of @p word (of @p n bytes) no wider than @p width; at
 * least one character, so that a narrow column still makes progress. */
static size_t s_fit(opdf_doc_t *doc, const char *word, size_t n, double width, char *tmp)
{
    size_t best = s_char_len(word), at = 0;
    while (at < n) {
        size_t next = at + s_char_len(word + at);
        if (next > n)
            break;
        memcpy(tmp, word, next);
        tmp[next] = '\0';
        if (s_width(doc, tmp) > width)
            break;
        best = next;
        at = next;
    }
    return best;
}

int opdf_wrap(opdf_doc_t *doc, const char *text, double width, opdf_line_fn *fn, void *arg)
{
    char *clean = s_clean(text ? text : "");
    size_t cap = clean ? strlen(clean) + 2 : 0;
    char *line = clean ? malloc(cap) : NULL, *cand = clean ? malloc(cap) : NULL;
    int lines = 0;
    if (!clean || !line || !cand) {
        doc->failed = true;
        goto done;
    }
    const char *p = clean;
    for (;;) {
        size_t ll = 0;
        bool words = false;
        while (*p && *p != '\n') {
            const char *ws = p;
            while (*ws == ' ')
                ws++;
            const char *we = ws;
            while (*we && *we != ' ' && *we != '\n')
                we++;
            if (we == ws) {
                p = we;
                continue;
            }
            words = true;
            size_t wl = (size_t) (we - ws), cl = 0;
            if (ll) {
                memcpy(cand, line, ll);
                cand[ll] = ' ';
                cl = ll + 1;
            }
            memcpy(cand + cl, ws, wl);
            cl += wl;
            cand[cl] = '\0';
            if (s_width(doc, cand) <= width) {
                memcpy(line, cand, cl + 1);
                ll = cl;
                p = we;
                continue;
            }
            if (ll) {   /* the line is full: the word starts the next one */
                fn(doc, line, arg);
                lines++;
                ll = 0;
                continue;
            }
            /* one word wider than the column: break it between characters */
            size_t take = s_fit(doc, ws, wl, width, cand);
            memcpy(line, ws, take);
            line[take] = '\0';
            fn(doc, line, arg);
            lines++;
            p = ws + take;
        }
        if (ll || !words) {
            line[ll] = '\0';
            if (ll || *p == '\n') {   /* an empty line between paragraphs keeps its space */
                fn(doc, line, arg);
                lines++;
            }
        }
        if (!*p)
            break;
        p++;
    }
done:
    free(clean);
    free(line);
    free(cand);
    return lines;
}

void opdf_font(opdf_doc_t *doc, double size, bool bold)
{
    cairo_select_font_face(doc->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(doc->cr, size);
    doc->size = size;
    doc->bold = bold;
}

static void s_show(opdf_doc_t *doc, double x, double top, const char *text)
{
    char *clean = s_clean(text);
    if (!clean) {
        doc->failed = true;
        return;
    }
    cairo_move_to(doc->cr, x, top + doc->size * 0.95);
    cairo_show_text(doc->cr, clean);
    free(clean);
}

/* ------------------------------------------------------------------ pages */

static void s_page_furniture(opdf_doc_t *doc)
{
    double size = doc->size;
    bool bold = doc->bold;
    cairo_set_source_rgb(doc->cr, 0.35, 0.35, 0.35);
    opdf_font(doc, 8, false);
    s_show(doc, S_MARGIN, 36, doc->provider);
    char right[96];
    snprintf(right, sizeof right, "%s %s", doc->english ? "Order" : "Bestellung",
             doc->order_id);
    s_show(doc, S_PAGE_W - S_MARGIN - s_width(doc, right), 36, right);
    cairo_move_to(doc->cr, S_MARGIN, 50);
    cairo_line_to(doc->cr, S_PAGE_W - S_MARGIN, 50);
    cairo_set_line_width(doc->cr, 0.5);
    cairo_stroke(doc->cr);
    char foot[160];
    snprintf(foot, sizeof foot, "%s · %s %d", doc->title, doc->english ? "page" : "Seite",
             doc->page);
    s_show(doc, S_MARGIN, S_PAGE_H - 44, foot);
    cairo_set_source_rgb(doc->cr, 0, 0, 0);
    opdf_font(doc, size, bold);
}

void opdf_need(opdf_doc_t *doc, double height)
{
    if (doc->y + height <= S_BOTTOM || doc->y <= S_TOP)
        return;
    cairo_show_page(doc->cr);
    doc->page++;
    doc->y = S_TOP;
    s_page_furniture(doc);
}

void opdf_gap(opdf_doc_t *doc, double points)
{
    doc->y += points;
}

static double s_lh(const opdf_doc_t *doc)
{
    return doc->size * 1.4;
}

/* Counts lines (measuring) or draws them at consecutive positions (drawing). */
typedef struct {
    double x, y;
    bool draw;
    int n;
} s_col_arg_t;

static void s_col_line(opdf_doc_t *doc, const char *line, void *arg)
{
    s_col_arg_t *a = arg;
    if (a->draw)
        s_show(doc, a->x, a->y + a->n * s_lh(doc), line);
    a->n++;
}

static int s_column(opdf_doc_t *doc, double x, double width, const char *text, bool draw)
{
    s_col_arg_t a = {x, doc->y, draw, 0};
    opdf_wrap(doc, text, width, s_col_line, &a);
    return a.n;
}

typedef struct {
    double x;
} s_para_arg_t;

static void s_para_line(opdf_doc_t *doc, const char *line, void *arg)
{
    opdf_need(doc, s_lh(doc));
    s_show(doc, ((s_para_arg_t *) arg)->x, doc->y, line);
    doc->y += s_lh(doc);
}

void opdf_text(opdf_doc_t *doc, double indent, double size, bool bold, const char *text)
{
    opdf_font(doc, size, bold);
    double width = S_PAGE_W - 2 * S_MARGIN - indent;
    /* a short paragraph is not split over two pages (measuring costs a second pass) */
    int lines = s_column(doc, 0, width, text, false);
    if (lines <= 6)
        opdf_need(doc, lines * s_lh(doc));
    s_para_arg_t a = {S_MARGIN + indent};
    opdf_wrap(doc, text, width, s_para_line, &a);
}

void opdf_para(opdf_doc_t *doc, const char *text)
{
    opdf_text(doc, 0, 10, false, text);
    opdf_gap(doc, 4);
}

void opdf_title(opdf_doc_t *doc, const char *title, const char *subtitle)
{
    opdf_text(doc, 0, 18, true, title);
    opdf_gap(doc, 2);
    if (subtitle && *subtitle)
        opdf_text(doc, 0, 10, false, subtitle);
    opdf_gap(doc, 8);
}

void opdf_heading(opdf_doc_t *doc, const char *text)
{
    opdf_gap(doc, 8);
    opdf_need(doc, 60);   /* a heading is never the last line of a page */
    opdf_text(doc, 0, 12, true, text);
    cairo_move_to(doc->cr, S_MARGIN, doc->y);
    cairo_line_to(doc->cr, S_PAGE_W - S_MARGIN, doc->y);
    cairo_set_line_width(doc->cr, 0.4);
    cairo_stroke(doc->cr);
    opdf_gap(doc, 5);
}

void opdf_row(opdf_doc_t *doc, const char *label, const char *value)
{
    double vx = S_MARGIN + S_LABEL_W + 6, vw = S_PAGE_W - S_MARGIN - vx;
    opdf_font(doc, 10, false);
    int nl = s_column(doc, S_MARGIN, S_LABEL_W, label, false);
    int nv = s_column(doc, vx, vw, value && *value ? value : "–", false);
    int rows = nl > nv ? nl : nv;
    opdf_need(doc, rows * s_lh(doc));
    cairo_set_source_rgb(doc->cr, 0.3, 0.3, 0.3);
    s_column(doc, S_MARGIN, S_LABEL_W, label, true);
    cairo_set_source_rgb(doc->cr, 0, 0, 0);
    s_column(doc, vx, vw, value && *value ? value : "–", true);
    doc->y += rows * s_lh(doc) + 2;
}

void opdf_item(opdf_doc_t *doc, int number, const char *text)
{
    char mark[16];
    snprintf(mark, sizeof mark, "%d.", number);
    opdf_font(doc, 10, false);
    opdf_need(doc, 2 * s_lh(doc));
    s_show(doc, S_MARGIN + 4, doc->y, number > 0 ? mark : "•");
    opdf_text(doc, 22, 10, false, text);
    opdf_gap(doc, 4);
}

void opdf_signatures(opdf_doc_t *doc, const char *left, const char *right)
{
    opdf_need(doc, 58);
    doc->y += 34;
    double split = S_MARGIN + 170;
    cairo_set_line_width(doc->cr, 0.6);
    cairo_move_to(doc->cr, S_MARGIN, doc->y);
    cairo_line_to(doc->cr, split - 20, doc->y);
    cairo_move_to(doc->cr, split, doc->y);
    cairo_line_to(doc->cr, S_PAGE_W - S_MARGIN, doc->y);
    cairo_stroke(doc->cr);
    opdf_font(doc, 8, false);
    doc->y += 3;
    s_column(doc, S_MARGIN, split - 20 - S_MARGIN, left, true);
    int n = s_column(doc, split, S_PAGE_W - S_MARGIN - split, right, true);
    doc->y += (n > 1 ? n : 1) * s_lh(doc) + 6;
}

void opdf_box_begin(opdf_doc_t *doc, double height)
{
    opdf_need(doc, height + 6);
    cairo_set_line_width(doc->cr, 0.8);
    cairo_rectangle(doc->cr, S_MARGIN - 6, doc->y, S_PAGE_W - 2 * S_MARGIN + 12, height);
    cairo_stroke(doc->cr);
    doc->box_end = doc->y + height;
    doc->y += 8;
}

void opdf_box_end(opdf_doc_t *doc)
{
    if (doc->y < doc->box_end)
        doc->y = doc->box_end;
    doc->y += 8;
}

void opdf_big(opdf_doc_t *doc, double size, const char *text)
{
    opdf_font(doc, size, true);
    opdf_need(doc, size * 1.4);
    char *clean = s_clean(text);
    if (!clean) {
        doc->failed = true;
        return;
    }
    double w = s_width(doc, clean);
    s_show(doc, (S_PAGE_W - w) / 2, doc->y, clean);
    free(clean);
    doc->y += size * 1.4;
}

void opdf_cut_line(opdf_doc_t *doc)
{
    static const double dash[] = {4, 3};
    opdf_need(doc, 20);
    doc->y += 8;
    cairo_set_dash(doc->cr, dash, 2, 0);
    cairo_set_line_width(doc->cr, 0.5);
    cairo_move_to(doc->cr, S_MARGIN - 20, doc->y);
    cairo_line_to(doc->cr, S_PAGE_W - S_MARGIN + 20, doc->y);
    cairo_stroke(doc->cr);
    cairo_set_dash(doc->cr, NULL, 0, 0);
    doc->y += 12;
}

/* ------------------------------------------------------------------ helpers */

void opdf_date(const opdf_doc_t *doc, const char *iso, char *out, size_t outsz)
{
    /* "YYYY-MM-DD" as German readers write it; English keeps ISO, which nobody misreads */
    if (!doc->english && iso && strlen(iso) == 10 && iso[4] == '-' && iso[7] == '-')
        snprintf(out, outsz, "%.2s.%.2s.%.4s", iso + 8, iso + 5, iso);
    else
        snprintf(out, outsz, "%s", iso ? iso : "");
}

void opdf_date_us(const opdf_doc_t *doc, int64_t us, char *out, size_t outsz)
{
    time_t t = (time_t) (us / 1000000);
    struct tm tm;
    char iso[16] = "";
    if (gmtime_r(&t, &tm))
        strftime(iso, sizeof iso, "%Y-%m-%d", &tm);
    opdf_date(doc, iso, out, outsz);
}

const char *opdf_method(const opdf_doc_t *doc, const char *m)
{
    if (streq(m, "postident"))
        return doc->english ? "PostIdent (post office or PostIdent app)"
                            : "PostIdent (Postfiliale oder PostIdent-App)";
    if (streq(m, "notarident"))
        return doc->english ? "NotarIdent (at a notary)" : "NotarIdent (bei einem Notar)";
    if (streq(m, "botschaftsident"))
        return doc->english ? "BotschaftsIdent (at a German embassy)"
                            : "BotschaftsIdent (bei einer deutschen Botschaft)";
    if (streq(m, "officerident"))
        return "OfficerIdent / BehördenIdent";
    if (streq(m, "dtrustident"))
        return doc->english ? "D-Trust Ident (on site in Berlin)"
                            : "D-Trust Ident (vor Ort in Berlin)";
    return m;
}

/* ------------------------------------------------------------------ entry points */

int order_pdf_file_name(const char *kind, const char *order_id, const char *language,
                        char *out, size_t outsz)
{
    bool en = language && streq(language, "en");
    const char *suffix = !kind ? NULL
                       : streq(kind, "application") ? (en ? "application" : "antrag")
                       : streq(kind, "checklist")   ? (en ? "checklist" : "checkliste")
                       : streq(kind, "coupon")      ? "coupon"
                                                    : NULL;
    if (!suffix || !order_id)
        return -1;
    int n = snprintf(out, outsz, "%s-%s.pdf", order_id, suffix);
    return n > 0 && (size_t) n < outsz ? 0 : -1;
}

int order_pdf_render(const char *kind, const order_pdf_data_t *data, uint8_t **pdf,
                     size_t *len)
{
    *pdf = NULL;
    *len = 0;
    void (*body)(opdf_doc_t *, const order_pdf_data_t *) =
        !kind ? NULL
        : streq(kind, "application") ? opdf_application
        : streq(kind, "checklist")   ? opdf_checklist
        : streq(kind, "coupon")      ? opdf_coupon
                                     : NULL;
    if (!body || !data || !data->order ||
        (body == opdf_coupon && !(data->postident_number && *data->postident_number)))
        return -1;
    opdf_doc_t doc = {0};
    doc.english = streq(data->order->language, "en");
    doc.order_id = data->order->order_id;
    doc.provider = doc.english ? OPDF_PROVIDER " · Qualified trust service provider"
                               : OPDF_PROVIDER " · Qualifizierter Vertrauensdiensteanbieter";
    doc.title = opdf_title_of(&doc, kind);
    doc.surface = cairo_pdf_surface_create_for_stream(s_write, &doc, S_PAGE_W, S_PAGE_H);
    doc.cr = cairo_create(doc.surface);
    char meta[160];
    snprintf(meta, sizeof meta, "%s %s", doc.title, doc.order_id);
    cairo_pdf_surface_set_metadata(doc.surface, CAIRO_PDF_METADATA_TITLE, meta);
    cairo_pdf_surface_set_metadata(doc.surface, CAIRO_PDF_METADATA_AUTHOR, OPDF_PROVIDER);
    cairo_pdf_surface_set_metadata(doc.surface, CAIRO_PDF_METADATA_CREATOR, "trustportal");
    doc.page = 1;
    doc.y = S_TOP;
    opdf_font(&doc, 10, false);
    s_page_furniture(&doc);
    body(&doc, data);
    bool ok = cairo_status(doc.cr) == CAIRO_STATUS_SUCCESS;
    cairo_destroy(doc.cr);
    cairo_surface_finish(doc.surface);
    ok = ok && !doc.failed && cairo_surface_status(doc.surface) == CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(doc.surface);
    if (!ok || !doc.len) {
        free(doc.buf);
        return -1;
    }
    *pdf = doc.buf;
    *len = doc.len;
    return 0;
}

void order_pdf_shutdown(void)
{
    cairo_debug_reset_static_data();
    /* fontconfig keeps its configuration for the life of the process, in a way valgrind
     * reports as "definitely lost"; FcFini frees it. fontconfig comes with cairo, so it
     * is looked up at run time rather than made a build dependency of its own. */
    void (*fc_fini)(void) = NULL;
    *(void **) &fc_fini = dlsym(RTLD_DEFAULT, "FcFini");
    if (fc_fini)
        fc_fini();
}
