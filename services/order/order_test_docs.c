/* order_test_docs.c: tests of the order's documents: each PDF is written to a temp
 * folder, checked with `qpdf --check`, and its text extracted with pdftotext
 * (poppler-utils) must contain the order number and the expected wording. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "order_pdf.h"
#include "order_test.h"

static char s_dir[64];
static bool s_have_pdftotext = false;

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(buf, cap);
            if (!p)
                break;
            buf = p;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static bool s_contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m && i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* Writes @p pdf, checks it with qpdf, and its text for each of @p words (NULL-ended).
 * Without pdftotext, only the order number is checked, in the uncompressed metadata. */
static void s_check_pdf(const uint8_t *pdf, size_t len, const char *name,
                        const char *order_id, const char *const *words, int min_pages)
{
    char path[256], cmd[700];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(pdf, 1, len, f) == len);
    if (f)
        fclose(f);
    CHECK(len > 1000 && memcmp(pdf, "%PDF-", 5) == 0);
    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", path);
    int rc = system(cmd);
    CHECK(rc == 0);
    if (rc != 0)
        fprintf(stderr, "  qpdf --check failed on %s\n", path);
    snprintf(cmd, sizeof cmd, "qpdf --show-npages '%s' > '%s.pages' 2>/dev/null", path, path);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s.pages", path);
    char *pages = s_slurp(cmd, NULL);
    CHECK(pages && atoi(pages) >= min_pages);
    free(pages);
    if (!s_have_pdftotext) {
        CHECK(s_contains(pdf, len, order_id));
        return;
    }
    snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' '%s.txt'", path, path);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s.txt", path);
    size_t tlen = 0;
    char *text = s_slurp(cmd, &tlen);
    CHECK(text && s_contains((uint8_t *) text, tlen, order_id));
    for (size_t i = 0; words && words[i]; i++) {
        bool found = text && s_contains((uint8_t *) text, tlen, words[i]);
        CHECK(found);
        if (!found)
            fprintf(stderr, "  %s: \"%s\" not in the text\n", name, words[i]);
    }
    free(text);
}

/* Fetches a document through the query and checks it. */
static void s_fetch(const char *order_id, const char *account, const char *kind,
                    const char *file_name, const char *const *words, int min_pages)
{
    Tp__Order__GetDocument gd = TP__ORDER__GET_DOCUMENT__INIT;
    gd.order_id = (char *) order_id;
    gd.kind = (char *) kind;
    svc_tc_decide(ot, "GetDocument", "customer", account, &gd.base);
    CHECK(!svc_out_failed(ot_out) && svc_out_n_events(ot_out) == 0);
    size_t len;
    const uint8_t *b = svc_out_reply_bytes(ot_out, &len);
    Tp__Order__Document *doc = b ? tp__order__document__unpack(NULL, len, b) : NULL;
    CHECK(doc && streq(doc->content_type, "application/pdf") &&
          streq(doc->file_name, file_name));
    if (doc)
        s_check_pdf(doc->content.data, doc->content.len, doc->file_name, order_id, words,
                    min_pages);
    if (doc)
        tp__order__document__free_unpacked(doc, NULL);
}

static void s_test_refusals(void)
{
    Tp__Order__GetDocument gd = TP__ORDER__GET_DOCUMENT__INIT;
    gd.order_id = "TP-2026-000001";
    gd.kind = "invoice";
    svc_tc_decide(ot, "GetDocument", "customer", "acc-a", &gd.base);
    CHECK(svc_tc_has_error(ot_out, "invalid", "kind") && !svc_out_reply_bytes(ot_out, NULL));
    gd.order_id = "";
    gd.kind = "application";
    svc_tc_decide(ot, "GetDocument", "customer", "acc-a", &gd.base);
    CHECK(svc_tc_has_error(ot_out, "invalid", "orderId"));
    gd.order_id = "TP-2026-000002";   /* OfficerIdent: no coupon */
    gd.kind = "coupon";
    svc_tc_decide(ot, "GetDocument", "customer", "acc-a", &gd.base);
    CHECK(svc_tc_has_error(ot_out, "not_found", "kind"));

    /* a PostIdent order's coupon waits for its number */
    ot_form_t f;
    ot_form(&f, "signature-card", "postident", NULL);
    const char *placed = ot_place(&f, "acc-d");
    char id[64];
    snprintf(id, sizeof id, "%s", placed ? placed : "");
    gd.order_id = id;
    svc_tc_decide(ot, "GetDocument", "customer", "acc-d", &gd.base);
    CHECK(svc_tc_has_error(ot_out, "not_ready", "kind") && !svc_out_reply_bytes(ot_out, NULL));
    Tp__Identification__CaseOpened co = TP__IDENTIFICATION__CASE_OPENED__INIT;
    co.order_id = id;
    co.method = "postident";
    co.postident_number = "PI-5555-6666";
    svc_tc_react(ot, "identification", NULL, &co.base);
    svc_tc_commit(ot);
    static const char *const coupon[] = {"PI-5555-6666", "PostIdent-Vorgangsnummer",
                                         "Jürgen Anton Müller-Lüdenscheidt", NULL};
    char name[96];
    snprintf(name, sizeof name, "%s-coupon.pdf", id);
    s_fetch(id, "acc-d", "coupon", name, coupon, 1);
}

/* Long names, long words and many representatives: wraps, and flows onto page 2. */
static void s_test_long(void)
{
    ot_form_t f;
    ot_form(&f, "seal-card", "notarident", NULL);
    char word[101], name[101];
    memset(word, 'W', 100);
    word[100] = '\0';
    snprintf(name, sizeof name, "%s", "Maximilian Alexander Friedrich Wilhelm Ägidius "
                                      "Bartholomäus Christoph Dietrich Eberhard Ferdinand");
    f.app.given_names = name;
    f.app.birth_place = word;
    Tp__Order__Representative reps[20], *rp[20];
    for (int i = 0; i < 20; i++) {
        tp__order__representative__init(&reps[i]);
        reps[i].given_names = "Vertreterin";
        reps[i].family_name = i == 19 ? "Letzte-Zeile" : "Prokuristin";
        reps[i].role = "Prokura gemeinsam mit einem weiteren Vertretungsberechtigten";
        rp[i] = &reps[i];
    }
    f.org.n_representatives = 20;
    f.org.representatives = rp;
    const char *placed = ot_place(&f, "acc-e");
    char id[64], file[96];
    snprintf(id, sizeof id, "%s", placed ? placed : "");
    snprintf(file, sizeof file, "%s-antrag.pdf", id);
    static const char *const words[] = {"Letzte-Zeile", "Bartholomäus", "WWWWWWWWWWWW",
                                        "Beglaubigung durch den Notar", NULL};
    s_fetch(id, "acc-e", "application", file, words, 2);
}

/* The renderer on its own: bad bytes print as "?", missing parts do not crash. */
static void s_test_render(void)
{
    Tp__Order__OrderPlaced o = TP__ORDER__ORDER_PLACED__INIT;
    o.order_id = "TP-2026-777777";
    o.ident_method = "postident";
    o.language = "de";
    Tp__Order__Applicant a = TP__ORDER__APPLICANT__INIT;
    a.given_names = "Bad \xff\xfe bytes \xc3";
    a.family_name = "Zeile\nmit\tSteuerzeichen";
    o.applicant = &a;
    order_pdf_data_t d = {&o, "Signaturkarte", NULL, NULL, 0};
    uint8_t *pdf = NULL;
    size_t len = 0;
    CHECK(order_pdf_render("application", &d, &pdf, &len) == 0 && pdf);
    static const char *const words[] = {"Bad ?? bytes ?", NULL};
    if (pdf)
        s_check_pdf(pdf, len, "render-bad-bytes.pdf", o.order_id, words, 1);
    free(pdf);
    o.applicant = NULL;
    CHECK(order_pdf_render("checklist", &d, &pdf, &len) == 0);
    free(pdf);
    CHECK(order_pdf_render("coupon", &d, &pdf, &len) == -1 && !pdf);   /* no number */
    CHECK(order_pdf_render("invoice", &d, &pdf, &len) == -1 && !pdf);
    CHECK(order_pdf_render(NULL, &d, &pdf, &len) == -1);
    char n[16];
    CHECK(order_pdf_file_name("application", "TP-2026-000001", "de", n, sizeof n) == -1);
}

void ot_test_documents(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/tp-order-test-XXXXXX");
    CHECK(mkdtemp(s_dir) != NULL);
    s_have_pdftotext = system("command -v pdftotext >/dev/null 2>&1") == 0;
    if (!s_have_pdftotext)
        fprintf(stderr, "order_test: pdftotext not installed (poppler-utils): "
                        "checking the order number in the PDF metadata only\n");

    /* acc-a's PostIdent signature card, German */
    static const char *const antrag[] = {"Antrag – Signaturkarte", "Staatsangehörigkeit",
                                         "Müller-Lüdenscheidt", "Bürgeramt Berlin-Mitte",
                                         "17.05.1980", "PI-3333-4444",
                                         "Unterschrift Antragsteller/in", NULL};
    s_fetch("TP-2026-000001", "acc-a", "application", "TP-2026-000001-antrag.pdf", antrag, 1);
    static const char *const check_de[] = {"Checkliste", "PostIdent-App", "PI-3333-4444",
                                           "Wartend (rot)", "Meine Bestellungen", NULL};
    s_fetch("TP-2026-000001", "acc-a", "checklist", "TP-2026-000001-checkliste.pdf",
            check_de, 1);
    static const char *const coupon[] = {"PI-3333-4444", "PostIdent", NULL};
    s_fetch("TP-2026-000001", "acc-a", "coupon", "TP-2026-000001-coupon.pdf", coupon, 1);
    /* acc-a's seal card in the demo shop by OfficerIdent, English */
    static const char *const app_en[] = {"Application – Seal card", "Nationality",
                                         "Amtsgericht Charlottenburg", "HRB 12345",
                                         "Erika Mustermann", "Musterfirma GmbH",
                                         "Identification by the organization's officer", NULL};
    s_fetch("TP-2026-000002", "acc-a", "application", "TP-2026-000002-application.pdf",
            app_en, 1);
    static const char *const check_en[] = {"Checklist", "officer", "Musterfirma GmbH",
                                           "authorized representatives", NULL};
    s_fetch("TP-2026-000002", "acc-a", "checklist", "TP-2026-000002-checklist.pdf", check_en,
            1);
    /* operators may read any order's documents */
    Tp__Order__GetDocument gd = TP__ORDER__GET_DOCUMENT__INIT;
    gd.order_id = "TP-2026-000003";
    gd.kind = "checklist";
    svc_tc_decide(ot, "GetDocument", "operator", "op", &gd.base);
    CHECK(!svc_out_failed(ot_out) && svc_out_reply_bytes(ot_out, NULL));

    s_test_refusals();
    s_test_long();
    s_test_render();

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (!svc_tc_verbose())
        CHECK(system(cmd) == 0);
    else
        printf("documents kept in %s\n", s_dir);
}
