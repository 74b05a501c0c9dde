/* order_pdf.h: the order's documents as PDF (cairo): the application form (Antrag),
 * the checklist of next steps (Checkliste) and the PostIdent coupon. */
#ifndef ORDER_PDF_H
#define ORDER_PDF_H
#include <stddef.h>
#include <stdint.h>
#include "order.pb-c.h"

/** What a document shows. Everything is borrowed for the call. */
typedef struct {
    const Tp__Order__OrderPlaced *order; /**< the order's data; its language picks de/en */
    const char *product_name;            /**< in the order's language */
    const char *shop_name;               /**< NULL or "" when ordered without a shop */
    const char *postident_number;        /**< NULL or "" until assigned (coupon needs it) */
    int64_t placed_at_us;                /**< printed as the order date (UTC) */
} order_pdf_data_t;

/**
 * @brief Render one document.
 * Text is set with cairo's toy API in "sans-serif" (DejaVu Sans where fontconfig finds
 * it), wraps at the margins and flows onto further pages; bytes that are not valid
 * UTF-8 are printed as "?" (cairo would refuse the whole string). The order number is
 * on every page and in the PDF's title.
 * Renders on the calling thread in about 1-3 ms; thread-safe (no shared state).
 * @param[in] kind "application", "checklist" or "coupon"
 * @param[out] pdf the document, malloc'd: the caller frees it
 * @param[out] len its length in bytes
 * @return 0, or -1 for an unknown kind, a coupon without a PostIdent number, or a
 *         cairo failure (out of memory)
 */
int order_pdf_render(const char *kind, const order_pdf_data_t *data, uint8_t **pdf,
                     size_t *len);

/**
 * @brief The document's file name, e.g. "TP-2026-000042-antrag.pdf" (German) or
 * "TP-2026-000042-application.pdf" (English).
 * @return 0, or -1 for an unknown kind or a name that does not fit @p outsz
 */
int order_pdf_file_name(const char *kind, const char *order_id, const char *language,
                        char *out, size_t outsz);

/**
 * @brief Frees cairo's static caches and fontconfig's configuration, so that a leak
 * checker sees a clean exit. Call once at the very end; no render may run at the same
 * time or after it.
 */
void order_pdf_shutdown(void);
#endif
