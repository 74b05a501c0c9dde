/* order_pdf_docs.c: what the order's documents say, in German and English: the
 * application form (Antrag), the checklist of next steps (Checkliste) and the
 * PostIdent coupon. The layout engine is order_pdf.c. */
#include <stdio.h>
#include <string.h>
#include "order_pdf_internal.h"

#define T(de, en) (doc->english ? (en) : (de))

static const Tp__Order__Applicant s_no_applicant = TP__ORDER__APPLICANT__INIT;
static const Tp__Order__Address s_no_address = TP__ORDER__ADDRESS__INIT;

const char *opdf_title_of(const opdf_doc_t *doc, const char *kind)
{
    if (streq(kind, "application"))
        return T("Antrag", "Application");
    if (streq(kind, "checklist"))
        return T("Checkliste", "Checklist");
    return T("PostIdent-Coupon", "PostIdent coupon");
}

static const Tp__Order__Applicant *s_applicant(const order_pdf_data_t *d)
{
    return d->order->applicant ? d->order->applicant : &s_no_applicant;
}

static void s_address(const Tp__Order__Address *a, char *out, size_t outsz)
{
    if (!a)
        a = &s_no_address;
    snprintf(out, outsz, "%s\n%s %s\n%s", a->street, a->postal_code, a->city, a->country);
}

static void s_full_name(const Tp__Order__Applicant *a, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s %s", a->given_names, a->family_name);
}

/* ------------------------------------------------------------------ application */

static void s_applicant_rows(opdf_doc_t *doc, const Tp__Order__Applicant *a)
{
    char buf[640];
    opdf_heading(doc, T("Antragsteller/in", "Applicant"));
    opdf_row(doc, T("Vornamen", "Given names"), a->given_names);
    opdf_row(doc, T("Familienname", "Family name"), a->family_name);
    opdf_date(doc, a->birth_date, buf, sizeof buf);
    opdf_row(doc, T("Geburtsdatum", "Date of birth"), buf);
    opdf_row(doc, T("Geburtsort", "Place of birth"), a->birth_place);
    opdf_row(doc, T("Staatsangehörigkeit", "Nationality"), a->nationality);
    s_address(a->address, buf, sizeof buf);
    opdf_row(doc, T("Anschrift", "Address"), buf);
    opdf_row(doc, T("E-Mail", "E-mail"), a->email);
    opdf_row(doc, T("Telefon", "Phone"), a->phone);
    const char *type = streq(a->document_type, "passport") ? T("Reisepass", "Passport")
                     : streq(a->document_type, "id-card")  ? T("Personalausweis", "Identity card")
                                                           : a->document_type;
    opdf_row(doc, T("Ausweisdokument", "Identity document"), type);
    opdf_row(doc, T("Ausweisnummer", "Document number"), a->document_number);
    opdf_row(doc, T("Ausstellende Behörde", "Issuing authority"), a->document_authority);
    opdf_date(doc, a->document_expiry, buf, sizeof buf);
    opdf_row(doc, T("Gültig bis", "Valid until"), buf);
}

static void s_organization_rows(opdf_doc_t *doc, const Tp__Order__Organization *o)
{
    char buf[640], label[96];
    opdf_heading(doc, T("Organisation (wird in das Zertifikat aufgenommen)",
                        "Organization (named in the certificate)"));
    opdf_row(doc, T("Name", "Name"), o->name);
    opdf_row(doc, T("Registergericht", "Register court"), o->register_court);
    opdf_row(doc, T("Registernummer", "Register number"), o->register_number);
    s_address(o->address, buf, sizeof buf);
    opdf_row(doc, T("Anschrift", "Address"), buf);
    for (size_t i = 0; i < o->n_representatives; i++) {
        const Tp__Order__Representative *r = o->representatives[i];
        if (!r)
            continue;
        snprintf(label, sizeof label, T("Vertretungsberechtigte Person %zu",
                                        "Authorized representative %zu"), i + 1);
        snprintf(buf, sizeof buf, "%s %s%s%s", r->given_names, r->family_name,
                 *r->role ? ", " : "", r->role);
        opdf_row(doc, label, buf);
    }
}

/* The part the identifying party fills in, by method. */
static void s_ident_box(opdf_doc_t *doc, const order_pdf_data_t *d)
{
    const char *m = d->order->ident_method;
    const char *title = NULL, *text = NULL, *sign = NULL;
    if (streq(m, "notarident")) {
        title = T("Beglaubigung durch den Notar / die Notarin",
                  "Certification by the notary");
        text = T("Die vorstehende Unterschrift wurde vor mir vollzogen. Die Identität der "
                 "unterzeichnenden Person wurde anhand des oben genannten gültigen "
                 "Ausweisdokuments festgestellt.",
                 "The signature above was made in my presence. The identity of the signatory "
                 "was established from the valid identity document named above.");
        sign = T("Unterschrift und Siegel des Notars / der Notarin",
                 "Signature and seal of the notary");
    }
    else if (streq(m, "botschaftsident")) {
        title = T("Bestätigung der deutschen Auslandsvertretung",
                  "Confirmation by the German embassy or consulate");
        text = T("Die vorstehende Unterschrift wurde vor mir vollzogen. Die Identität der "
                 "unterzeichnenden Person wurde anhand des oben genannten gültigen "
                 "Ausweisdokuments festgestellt.",
                 "The signature above was made in my presence. The identity of the signatory "
                 "was established from the valid identity document named above.");
        sign = T("Unterschrift und Dienstsiegel der Auslandsvertretung",
                 "Signature and official seal of the mission");
    }
    else if (streq(m, "officerident")) {
        title = T("Identifizierung durch den Officer der Organisation",
                  "Identification by the organization's officer");
        text = T("Ich habe die antragstellende Person anhand des oben genannten gültigen "
                 "Ausweisdokuments identifiziert und die Identifizierung im Portal erfasst.",
                 "I identified the applicant from the valid identity document named above and "
                 "recorded the identification in the portal.");
        sign = T("Name und Unterschrift des Officers", "Name and signature of the officer");
    }
    else if (streq(m, "dtrustident")) {
        title = T("Identifizierung vor Ort (vom Vertrauensdiensteanbieter auszufüllen)",
                  "Identification on site (filled in by the trust service provider)");
        text = T("Die antragstellende Person wurde vor Ort anhand des oben genannten gültigen "
                 "Ausweisdokuments identifiziert.",
                 "The applicant was identified on site from the valid identity document named "
                 "above.");
        sign = T("Name und Unterschrift der Mitarbeiterin / des Mitarbeiters",
                 "Name and signature of the employee");
    }
    if (!title)   /* PostIdent: the provider's record is the evidence, no box to fill */
        return;
    opdf_gap(doc, 6);
    opdf_box_begin(doc, 125);
    opdf_text(doc, 0, 10, true, title);
    opdf_gap(doc, 3);
    opdf_text(doc, 0, 9, false, text);
    opdf_signatures(doc, T("Ort, Datum", "Place, date"), sign);
    opdf_box_end(doc);
}

void opdf_application(opdf_doc_t *doc, const order_pdf_data_t *d)
{
    const Tp__Order__OrderPlaced *o = d->order;
    const Tp__Order__Applicant *a = s_applicant(d);
    char date[32], title[256], sub[256];
    opdf_date_us(doc, d->placed_at_us, date, sizeof date);
    snprintf(title, sizeof title, T("Antrag – %s", "Application – %s"), d->product_name);
    snprintf(sub, sizeof sub, T("Bestellnummer %s · bestellt am %s",
                                "Order number %s · ordered on %s"), o->order_id, date);
    opdf_title(doc, title, sub);
    opdf_para(doc, T("Bitte prüfen Sie alle Angaben mit Ihrem Ausweisdokument, unterschreiben "
                     "Sie den Antrag und gehen Sie wie in der Checkliste beschrieben vor. Ändern "
                     "Sie den Antrag nicht von Hand: Fehler korrigiert unser Kundenservice mit "
                     "Ihnen.",
                     "Please check every entry against your identity document, sign the "
                     "application and proceed as the checklist describes. Do not change the "
                     "form by hand: our customer service corrects errors with you."));
    opdf_heading(doc, T("Bestellung", "Order"));
    opdf_row(doc, T("Bestellnummer", "Order number"), o->order_id);
    opdf_row(doc, T("Bestellt am", "Ordered on"), date);
    opdf_row(doc, T("Produkt", "Product"), d->product_name);
    opdf_row(doc, T("Identifizierung", "Identification"), opdf_method(doc, o->ident_method));
    if (d->shop_name && *d->shop_name)
        opdf_row(doc, "Shop", d->shop_name);
    if (d->postident_number && *d->postident_number)
        opdf_row(doc, T("PostIdent-Vorgangsnummer", "PostIdent process number"),
                 d->postident_number);
    s_applicant_rows(doc, a);
    if (o->organization)
        s_organization_rows(doc, o->organization);

    opdf_heading(doc, T("Erklärung", "Declaration"));
    opdf_para(doc, T("Ich beantrage die Ausstellung des oben genannten Produkts mit einem "
                     "qualifizierten Zertifikat. Ich versichere, dass meine Angaben richtig und "
                     "vollständig sind und mit meinem Ausweisdokument übereinstimmen. Die "
                     "Allgemeinen Geschäftsbedingungen, die Zertifizierungsrichtlinie und die "
                     "Datenschutzhinweise des Vertrauensdiensteanbieters habe ich zur Kenntnis "
                     "genommen und erkenne sie an.",
                     "I apply for the product named above with a qualified certificate. I "
                     "confirm that my data is correct, complete and matches my identity "
                     "document. I have read and accept the trust service provider's terms and "
                     "conditions, certificate policy and privacy notice."));
    if (o->organization)
        opdf_para(doc, T("Die unterzeichnenden vertretungsberechtigten Personen bestätigen, dass "
                         "die Organisation der Aufnahme ihrer Angaben in das Zertifikat zustimmt.",
                         "The authorized representatives signing below confirm that the "
                         "organization agrees to its data being named in the certificate."));
    opdf_para(doc, T("Das bei der Bestellung gewählte Sperrpasswort wird aus Sicherheitsgründen "
                     "nicht gedruckt. Bewahren Sie es sicher auf: Sie brauchen es, um die Karte "
                     "bei Verlust sofort sperren zu lassen.",
                     "The revocation password chosen when ordering is not printed, for your "
                     "security. Keep it safe: you need it to have the card revoked at once if "
                     "it is lost."));
    opdf_heading(doc, T("Unterschrift", "Signature"));
    char who[320];
    s_full_name(a, who, sizeof who);
    char caption[400];
    snprintf(caption, sizeof caption, T("Unterschrift Antragsteller/in (%s)",
                                        "Signature of the applicant (%s)"), who);
    opdf_signatures(doc, T("Ort, Datum", "Place, date"), caption);
    if (o->organization)
        opdf_signatures(doc, T("Ort, Datum", "Place, date"),
                        T("Unterschrift der vertretungsberechtigten Person(en) und Stempel der "
                          "Organisation",
                          "Signature of the authorized representative(s) and stamp of the "
                          "organization"));
    s_ident_box(doc, d);
}

/* ------------------------------------------------------------------ checklist */

static void s_method_steps(opdf_doc_t *doc, const order_pdf_data_t *d, int *n)
{
    const char *m = d->order->ident_method;
    char buf[1024];
    if (streq(m, "postident")) {
        opdf_item(doc, ++*n, T("Unterschreiben Sie den Antrag eigenhändig (Ort, Datum, "
                               "Unterschrift).",
                               "Sign the application by hand (place, date, signature)."));
        const char *num = d->postident_number && *d->postident_number ? d->postident_number
                          : T("(steht auf dem Coupon)", "(printed on the coupon)");
        snprintf(buf, sizeof buf,
                 T("Lassen Sie sich per PostIdent identifizieren – in einer Filiale der Deutschen "
                   "Post mit dem PostIdent-Coupon und Ihrem gültigen Ausweisdokument, oder "
                   "online in der PostIdent-App mit der Online-Ausweisfunktion Ihres deutschen "
                   "Personalausweises. Ihre Vorgangsnummer: %s",
                   "Get identified by PostIdent – at a Deutsche Post branch with the PostIdent "
                   "coupon and your valid identity document, or online in the PostIdent app "
                   "with the eID function of your German identity card. Your process number: %s"),
                 num);
        opdf_item(doc, ++*n, buf);
    }
    else if (streq(m, "notarident") || streq(m, "botschaftsident")) {
        bool notary = streq(m, "notarident");
        opdf_item(doc, ++*n,
                  notary ? T("Vereinbaren Sie einen Termin bei einem Notar oder einer Notarin. "
                             "Unterschreiben Sie den Antrag noch nicht.",
                             "Make an appointment with a notary. Do not sign the application "
                             "yet.")
                         : T("Vereinbaren Sie einen Termin bei einer deutschen Botschaft oder "
                             "einem deutschen Konsulat. Unterschreiben Sie den Antrag noch nicht.",
                             "Make an appointment at a German embassy or consulate. Do not sign "
                             "the application yet."));
        opdf_item(doc, ++*n,
                  notary ? T("Unterschreiben Sie den Antrag vor dem Notar. Er oder sie prüft Ihr "
                             "gültiges Ausweisdokument, identifiziert Sie und beglaubigt Ihre "
                             "Unterschrift im dafür vorgesehenen Feld. Die Kosten der "
                             "Beglaubigung tragen Sie.",
                             "Sign the application in front of the notary, who checks your "
                             "valid identity document, identifies you and certifies your "
                             "signature in the box provided. You bear the notary's fee.")
                         : T("Unterschreiben Sie den Antrag vor der Auslandsvertretung. Sie prüft "
                             "Ihr gültiges Ausweisdokument und bestätigt Ihre Identität im dafür "
                             "vorgesehenen Feld.",
                             "Sign the application in front of the mission's staff, who check "
                             "your valid identity document and confirm your identity in the box "
                             "provided."));
    }
    else if (streq(m, "officerident")) {
        snprintf(buf, sizeof buf,
                 T("Wenden Sie sich an den Officer bzw. die zuständige Stelle Ihrer Organisation "
                   "(%s). Bringen Sie den Antrag und Ihr gültiges Ausweisdokument mit.",
                   "Contact the officer or the responsible office of your organization (%s). "
                   "Bring the application and your valid identity document."),
                 d->shop_name && *d->shop_name ? d->shop_name : "Shop");
        opdf_item(doc, ++*n, buf);
        opdf_item(doc, ++*n, T("Unterschreiben Sie den Antrag vor dem Officer. Der Officer "
                               "identifiziert Sie und erfasst die Identifizierung im Portal.",
                               "Sign the application in front of the officer, who identifies "
                               "you and records the identification in the portal."));
    }
    else {
        opdf_item(doc, ++*n, T("Vereinbaren Sie über unseren Support einen Termin für die "
                               "Identifizierung vor Ort bei D-Trust in Berlin.",
                               "Make an appointment for the identification on site at D-Trust "
                               "in Berlin through our support."));
        opdf_item(doc, ++*n, T("Bringen Sie den unterschriebenen Antrag und Ihr gültiges "
                               "Ausweisdokument zum Termin mit; wir identifizieren Sie und nehmen "
                               "den Antrag direkt entgegen.",
                               "Bring the signed application and your valid identity document "
                               "to the appointment; we identify you and take the application "
                               "there."));
    }
}

static void s_status_item(opdf_doc_t *doc, const char *name, const char *text)
{
    char buf[700];
    snprintf(buf, sizeof buf, "%s: %s", name, text);
    opdf_item(doc, 0, buf);
}

void opdf_checklist(opdf_doc_t *doc, const order_pdf_data_t *d)
{
    const Tp__Order__OrderPlaced *o = d->order;
    char buf[1024], file[96];
    snprintf(buf, sizeof buf, T("Bestellnummer %s · %s", "Order number %s · %s"), o->order_id,
             d->product_name);
    opdf_title(doc, T("Checkliste – Ihre nächsten Schritte", "Checklist – your next steps"),
               buf);
    snprintf(buf, sizeof buf,
             T("Vielen Dank für Ihre Bestellung. Identifizierung: %s. Damit wir Ihre Karte "
               "produzieren können, brauchen wir Ihren unterschriebenen Antrag und Ihre "
               "Identifizierung.",
               "Thank you for your order. Identification: %s. Before we can produce your card "
               "we need your signed application and your identification."),
             opdf_method(doc, o->ident_method));
    opdf_para(doc, buf);
    opdf_heading(doc, T("So geht es weiter", "What to do now"));
    int n = 0;
    order_pdf_file_name("application", o->order_id, o->language, file, sizeof file);
    snprintf(buf, sizeof buf,
             T("Laden Sie den Antrag (%s) herunter, prüfen Sie alle Angaben mit Ihrem "
               "Ausweisdokument und drucken Sie ihn aus.",
               "Download the application (%s), check every entry against your identity "
               "document and print it."),
             file);
    opdf_item(doc, ++n, buf);
    s_method_steps(doc, d, &n);
    if (o->organization)
        opdf_item(doc, ++n, T("Lassen Sie den Antrag zusätzlich von den vertretungsberechtigten "
                              "Personen der Organisation unterschreiben und stempeln.",
                              "Have the application signed and stamped by the organization's "
                              "authorized representatives as well."));
    if (!streq(o->ident_method, "dtrustident")) {
        snprintf(buf, sizeof buf, T("Senden Sie den unterschriebenen Antrag im Original an: %s",
                                    "Send the signed original application to: %s"),
                 OPDF_ADDRESS);
        opdf_item(doc, ++n, buf);
    }
    opdf_item(doc, ++n, T("Sobald Antrag und Identifizierung vorliegen und Ihre Daten geprüft "
                          "sind, wird Ihre Karte produziert und per Einschreiben versandt; der "
                          "PIN-Brief kommt getrennt. Den Stand sehen Sie jederzeit im Portal "
                          "unter „Meine Bestellungen“.",
                          "Once the application and the identification are in and your data is "
                          "checked, your card is produced and sent by registered mail; the PIN "
                          "letter comes separately. Follow it any time in the portal under "
                          "\"My orders\"."));

    opdf_heading(doc, T("Was der Status Ihrer Bestellung bedeutet", "What your order's status means"));
    s_status_item(doc, T("Offen (blau)", "Open (blue)"),
                  T("Ihre Bestellung ist eingegangen; wir warten auf Ihren Antrag und Ihre "
                    "Identifizierung.",
                    "Your order is placed; we are waiting for your application and your "
                    "identification."));
    s_status_item(doc, T("Wartend (rot)", "Waiting (red)"),
                  T("Bei der Datenprüfung ist ein Fehler aufgefallen oder es fehlen Angaben. "
                    "Unser Kundenservice meldet sich bei Ihnen; so lange wird nicht produziert.",
                    "The data check found an error or something is missing. Our customer "
                    "service contacts you; nothing is produced meanwhile."));
    s_status_item(doc, T("In Produktion (gelb)", "In production (yellow)"),
                  T("Die Zertifikatsdaten werden erstellt und die Karte wird produziert.",
                    "The certificate data is being created and the card produced."));
    s_status_item(doc, T("Versendet (gelb)", "Shipped (yellow)"),
                  T("Ihre Karte ist per Einschreiben unterwegs.",
                    "Your card is on its way by registered mail."));
    s_status_item(doc, T("Fertig (grün)", "Done (green)"),
                  T("Karte und PIN-Brief wurden zugestellt. Die Bestellung wandert ins Archiv, "
                    "die Karte erscheint unter „Meine Produkte“.",
                    "Card and PIN letter were delivered. The order moves to the archive and the "
                    "card appears under \"My products\"."));

    opdf_heading(doc, T("Gut zu wissen", "Good to know"));
    opdf_para(doc, T("Bewahren Sie Ihr Sperrpasswort sicher auf. Bei Verlust der Karte oder "
                     "Verdacht auf Missbrauch lassen Sie die Karte sofort sperren – auch ohne "
                     "Login.",
                     "Keep your revocation password safe. If the card is lost or you suspect "
                     "misuse, have it revoked at once – also without logging in."));
    opdf_para(doc, T("Kartenlesegeräte erhalten Sie bei REINER SCT im Shop für Kunden der "
                     "D-Trust.",
                     "Card readers are sold by REINER SCT in its shop for D-Trust customers."));
    snprintf(buf, sizeof buf,
             T("Fragen? Unser Support hilft Ihnen Montag bis Freitag von 7:00 bis 18:00 Uhr: "
               "Telefon %s, E-Mail %s. Bitte nennen Sie Ihre Bestellnummer %s.",
               "Questions? Our support helps you Monday to Friday, 7:00 to 18:00 (CET): "
               "phone %s, e-mail %s. Please quote your order number %s."),
             OPDF_PHONE, OPDF_EMAIL, o->order_id);
    opdf_para(doc, buf);
}

/* ------------------------------------------------------------------ coupon */

void opdf_coupon(opdf_doc_t *doc, const order_pdf_data_t *d)
{
    const Tp__Order__OrderPlaced *o = d->order;
    const Tp__Order__Applicant *a = s_applicant(d);
    char buf[512];
    opdf_title(doc, T("PostIdent-Coupon", "PostIdent coupon"),
               T("Identifizierung in der Postfiliale oder in der PostIdent-App",
                 "Identification at a post office or in the PostIdent app"));
    opdf_box_begin(doc, 175);
    opdf_text(doc, 0, 10, false, T("PostIdent-Vorgangsnummer", "PostIdent process number"));
    opdf_gap(doc, 10);
    opdf_big(doc, 34, d->postident_number);
    opdf_gap(doc, 10);
    opdf_row(doc, T("Bestellnummer", "Order number"), o->order_id);
    s_full_name(a, buf, sizeof buf);
    opdf_row(doc, T("Name", "Name"), buf);
    opdf_row(doc, T("Produkt", "Product"), d->product_name);
    opdf_row(doc, T("Empfänger", "Recipient"), OPDF_PROVIDER);
    opdf_box_end(doc);
    opdf_cut_line(doc);
    opdf_heading(doc, T("In der Filiale", "At a post office"));
    opdf_para(doc, T("Legen Sie diesen Coupon zusammen mit Ihrem gültigen Personalausweis oder "
                     "Reisepass in einer Filiale der Deutschen Post vor. Die Mitarbeiterin oder "
                     "der Mitarbeiter identifiziert Sie; das Ergebnis erreicht uns elektronisch.",
                     "Show this coupon together with your valid identity card or passport at a "
                     "Deutsche Post branch. The staff identify you; the result reaches us "
                     "electronically."));
    opdf_heading(doc, T("Online mit der PostIdent-App", "Online with the PostIdent app"));
    snprintf(buf, sizeof buf,
             T("Öffnen Sie die PostIdent-App, geben Sie die Vorgangsnummer %s ein und "
               "identifizieren Sie sich mit der Online-Ausweisfunktion (eID) Ihres deutschen "
               "Personalausweises.",
               "Open the PostIdent app, enter the process number %s and identify yourself with "
               "the online ID function (eID) of your German identity card."),
             d->postident_number);
    opdf_para(doc, buf);
    opdf_para(doc, T("Danach sehen Sie im Portal bei Ihrer Bestellung den Schritt "
                     "„Identifizierung“ als erledigt. Der unterschriebene Antrag muss uns "
                     "zusätzlich vorliegen.",
                     "Afterwards the step \"Identification\" of your order shows as done in the "
                     "portal. We still need your signed application as well."));
}
