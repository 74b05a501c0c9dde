/* order_pdf_internal.h: the layout engine of the order's documents (order_pdf.c),
 * shared with the documents' content (order_pdf_docs.c). */
#ifndef ORDER_PDF_INTERNAL_H
#define ORDER_PDF_INTERNAL_H
#include <cairo-pdf.h>
#include <cairo.h>
#include <stdbool.h>
#include <string.h>
#include "order_pdf.h"

#ifndef streq
#define streq(a, b) (strcmp((a), (b)) == 0)
#endif

/* The provider as the seed's FAQ names it; its postal address and support contact.
 * Deployments of another provider change these lines. */
#define OPDF_PROVIDER "D-Trust GmbH"
#define OPDF_ADDRESS "D-Trust GmbH, Antragsbearbeitung, Kommandantenstraße 15, 10969 Berlin"
#define OPDF_PHONE "+49 (0)30 2598-0"
#define OPDF_EMAIL "support@d-trust.net"

/** One document being laid out. Positions are in points from the top left. */
typedef struct {
    cairo_surface_t *surface;
    cairo_t *cr;
    uint8_t *buf;            /* the PDF so far */
    size_t len, cap;
    bool failed;             /* out of memory while laying out */
    bool english;            /* the order's language is "en" */
    const char *order_id;    /* on every page */
    const char *provider;    /* the running header's left side */
    const char *title;       /* the running footer */
    int page;
    double y;                /* top of the next line */
    double size;             /* current font size */
    bool bold;
    double box_end;          /* bottom of the open box */
} opdf_doc_t;

/** Called per line by opdf_wrap. */
typedef void (opdf_line_fn)(opdf_doc_t *doc, const char *line, void *arg);

/** Breaks @p text into lines no wider than @p width in the current font (at spaces, or
 *  between characters inside a word too long for a line; '\n' breaks). @return lines */
int opdf_wrap(opdf_doc_t *doc, const char *text, double width, opdf_line_fn *fn, void *arg);
void opdf_font(opdf_doc_t *doc, double size, bool bold);
/** Starts a new page unless @p height points still fit on this one. */
void opdf_need(opdf_doc_t *doc, double height);
void opdf_gap(opdf_doc_t *doc, double points);
/** Wrapped text at @p indent from the left margin, flowing over pages. */
void opdf_text(opdf_doc_t *doc, double indent, double size, bool bold, const char *text);
void opdf_para(opdf_doc_t *doc, const char *text);
void opdf_title(opdf_doc_t *doc, const char *title, const char *subtitle);
void opdf_heading(opdf_doc_t *doc, const char *text);
/** A label and its value side by side, both wrapped; "–" for an empty value. */
void opdf_row(opdf_doc_t *doc, const char *label, const char *value);
/** A numbered step (@p number > 0) or a bullet (0) with a hanging indent. */
void opdf_item(opdf_doc_t *doc, int number, const char *text);
/** Two signature lines side by side, with their captions below. */
void opdf_signatures(opdf_doc_t *doc, const char *left, const char *right);
/** A framed box of @p height points; content follows until opdf_box_end. */
void opdf_box_begin(opdf_doc_t *doc, double height);
void opdf_box_end(opdf_doc_t *doc);
/** One line in large bold type, centred. */
void opdf_big(opdf_doc_t *doc, double size, const char *text);
void opdf_cut_line(opdf_doc_t *doc);
/** "YYYY-MM-DD" in the document's language (DD.MM.YYYY in German). */
void opdf_date(const opdf_doc_t *doc, const char *iso, char *out, size_t outsz);
void opdf_date_us(const opdf_doc_t *doc, int64_t us, char *out, size_t outsz);
/** The label of an identification method. */
const char *opdf_method(const opdf_doc_t *doc, const char *method);

/** The documents (order_pdf_docs.c). */
const char *opdf_title_of(const opdf_doc_t *doc, const char *kind);
void opdf_application(opdf_doc_t *doc, const order_pdf_data_t *data);
void opdf_checklist(opdf_doc_t *doc, const order_pdf_data_t *data);
void opdf_coupon(opdf_doc_t *doc, const order_pdf_data_t *data);
#endif
