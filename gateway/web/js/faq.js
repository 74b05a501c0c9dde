// faq.js: the provider's FAQ. German in the provider's own words (its portal FAQ), the
// English a faithful translation. An answer is a list of blocks: a string is a
// paragraph, {list: [[term, text], ...]} a list, {link: NAME} a link the page fills in.
export const FAQ = [
  {
    q: { de: 'Wie erreiche ich das Portal?', en: 'How do I reach the portal?' },
    a: {
      de: [{ origin: 'Sie erreichen das Portal unter der folgenden URL:' }],
      en: [{ origin: 'You reach the portal at the following URL:' }],
    },
  },
  {
    q: { de: 'Was benötige ich, um das Portal zum ersten Mal zu nutzen?', en: 'What do I need to use the portal for the first time?' },
    a: {
      de: ['Wenn Sie das Portal zum ersten Mal nutzen möchten, ist eine individuelle Registrierung erforderlich. Dafür benötigen Sie eine E-Mail-Adresse und ein selbst gewähltes Passwort.',
        'Nach der Registrierung schicken wir Ihnen an diese E-Mail-Adresse einen Bestätigungslink. Bitte klicken Sie auf diesen Link, um Ihren Account im Portal zu aktivieren. Anschließend können Sie sich im Portal anmelden.'],
      en: ['If you would like to use the portal for the first time, you need to register individually. All you need is an e-mail address and a password of your choice.',
        'After you register, we send a confirmation link to this e-mail address. Please click the link to activate your account in the portal. Then you can log in to the portal.'],
    },
  },
  {
    q: { de: 'Welche Produkte kann ich im Portal bestellen?', en: 'Which products can I order in the portal?' },
    a: {
      de: ['Aktuell können Sie im Portal die folgenden Produkte bestellen:', { list: [['Signaturkarten', ''], ['Siegelkarten', '']] }, 'Wir ergänzen nach und nach weitere Produkte im Portal.'],
      en: ['At present you can order the following products in the portal:', { list: [['Signature cards', ''], ['Seal cards', '']] }, 'We are adding further products to the portal step by step.'],
    },
  },
  {
    q: { de: 'Warum kann ich nicht alle Produkte im Portal bestellen?', en: 'Why can I not order all products in the portal?' },
    a: {
      de: ['Aktuell können Sie nur eine Auswahl unserer Produkte im Portal bestellen. Wir ergänzen dort nach und nach weitere Produkte.',
        'Bitte beachten Sie, dass insbesondere die Bestellung von Signaturkarten mit Berufsattribut, Qualified Seal IDs oder die Advanced Personal IDs und Advanced Enterprise IDs noch nicht im Portal verfügbar sind.',
        'Sie finden die Links zu den Produkten, die nicht im Portal bestellt werden können, in der Übersicht mit den Links zu unseren Bestellportalen.', { link: 'portals' }],
      en: ['At present you can order only a selection of our products in the portal. We are adding further products there step by step.',
        'Please note that in particular signature cards with a professional attribute, Qualified Seal IDs, Advanced Personal IDs and Advanced Enterprise IDs cannot be ordered in the portal yet.',
        'You find the links to the products that cannot be ordered in the portal in the overview with the links to our order portals.', { link: 'portals' }],
    },
  },
  {
    q: { de: 'Welche Daten benötige ich für eine Bestellung?', en: 'What data do I need for an order?' },
    a: {
      de: ['Sie benötigen für jede Bestellung die Daten Ihres persönlichen gültigen Ausweisdokuments. Bitte halten Sie Ihr Ausweisdokument vor der Antragsstellung bereit.',
        'Wenn eine Organisation im Zertifikat hinterlegt werden soll, werden im Antragsprozess auch Daten der Organisation (z. B. Handelsregisternummer oder die Angaben zu vertretungsberechtigten Personen) abgefragt.'],
      en: ['For every order you need the data of your personal, valid identity document. Please have your identity document at hand before you apply.',
        'If an organization is to be included in the certificate, the application also asks for the organization\u2019s data (e.g. the commercial register number or the details of the persons authorized to represent it).'],
    },
  },
  {
    q: { de: 'Wie kann ich mich identifizieren?', en: 'How can I be identified?' },
    a: {
      de: ['Für die meisten Produkte ist eine persönliche Identifizierung notwendig. Die möglichen Identifikationswege können aber unterschiedlich sein. Nicht für jedes Produkt sind alle Identifikationswege zertifiziert. Welche Auswahl für Ihr gewünschtes Produkt möglich ist, erfahren Sie im jeweiligen Antragsformular.',
        'Grundsätzlich bestehen die folgenden Möglichkeiten, um sich bei der Antragstellung unserer qualifizierten Produkte zu identifizieren.',
        { list: [
          ['PostIdent-Verfahren (eID oder Filiale)', 'Sie füllen Ihre Antragsunterlagen aus und lassen sich bei einer Postfiliale über das PostIdent-Verfahren identifizieren. Alternativ geben Sie die PostIdent-Vorgangsnummer vom Coupon, den Sie im Bestellprozess erhalten, in der PostIdent-App ein. Damit steht Ihnen die schnelle und komfortable Identifizierung mit der Online-Ausweisfunktion Ihres deutschen Personalausweises zur Verfügung.'],
          ['NotarIdent-Verfahren', 'Sie füllen Ihre Antragsunterlagen aus und lassen sich bei einem Notar identifizieren.'],
          ['BotschaftsIdent-Verfahren', 'Sie füllen Ihre Antragsunterlagen aus und lassen sich bei einer deutschen Botschaft im Ausland identifizieren.'],
          ['OfficerIdent- oder BehördenIdent-Verfahren', 'Für Organisationen, die einen größeren Bedarf an Signatur- oder Siegelkarten haben, bieten wir über verschiedene Verfahren die Möglichkeit, eigene Mitarbeitende oder Kunden selbst vor Ort zu identifizieren. Dieses Verfahren steht nur in ausgewählten Bereichen des Portals zur Verfügung.'],
          ['D-Trust Ident-Verfahren', 'Wir bieten Kunden teilweise die Möglichkeit, sich vor Ort bei der D-Trust in Berlin zu identifizieren. Dieses Verfahren steht nur in ausgewählten Bereichen des Portals zur Verfügung.'],
        ] }],
      en: ['Most products need a personal identification. The possible ways of identification can differ, though. Not every way of identification is certified for every product. The application form of each product tells you which choice you have for it.',
        'In principle, you have the following ways of being identified when you apply for our qualified products.',
        { list: [
          ['PostIdent (eID or post office branch)', 'You fill in your application documents and have yourself identified at a post office branch with the PostIdent procedure. Alternatively, you enter the PostIdent process number from the coupon you receive when ordering in the PostIdent app. This gives you fast and convenient identification with the online ID function of your German identity card.'],
          ['NotarIdent', 'You fill in your application documents and have yourself identified by a notary.'],
          ['BotschaftsIdent', 'You fill in your application documents and have yourself identified at a German embassy abroad.'],
          ['OfficerIdent or BehördenIdent', 'For organizations that need a larger number of signature or seal cards, we offer various procedures with which they identify their own staff or customers on site themselves. This method is only available in selected areas of the portal.'],
          ['D-Trust Ident', 'We offer some customers the possibility of being identified on site at D-Trust in Berlin. This method is only available in selected areas of the portal.'],
        ] }],
    },
  },
  {
    q: { de: 'Was ist ein Shop-Code?', en: 'What is a shop code?' },
    a: {
      de: ['Über einen Shop-Code stellen Organisationen bei Bedarf einen eigenen Bereich im Portal bereit. Dieser Bereich kann z. B. eine eingeschränkte Produktauswahl oder besondere Identifizierungsverfahren beinhalten.',
        'Der Shop-Code funktioniert wie ein Zugangsschlüssel für den Bereich Ihrer Organisation. Bitte geben Sie den Shop-Code einmalig nach Ihrem Login im Portal ein. Hierfür wählen Sie in der Navigationsleiste „+Shop“ aus. Der individuelle Shop Ihrer Organisation wird nach dem ersten Aufrufen automatisch für Sie in der Navigation hinterlegt und bleibt dort auch bestehen. Für die Nutzung des Antragsportals und eines Shop-Codes müssen Sie immer registriert und angemeldet sein.'],
      en: ['With a shop code, organizations can provide an area of their own in the portal. This area can, for example, offer a restricted choice of products or special identification methods.',
        'The shop code works like a key to your organization\u2019s area. Please enter the shop code once after logging in to the portal. To do so, choose “+Shop” in the navigation bar. After you have opened it for the first time, your organization\u2019s shop is added to your navigation automatically and stays there. To use the application portal and a shop code, you must always be registered and logged in.'],
    },
  },
  {
    q: { de: 'Sehe ich, welche Schritte meiner Bestellung noch offen sind?', en: 'Can I see which steps of my order are still open?' },
    a: {
      de: ['Ja. Im Portal haben Sie eine Übersicht der jeweiligen Bestellschritte innerhalb Ihres persönlichen Accounts. Alle Schritte werden Ihnen nach dem Einloggen im Dashboard direkt bei der jeweiligen Bestellung angezeigt.',
        'Am Ende des Bestellprozesses steht Ihnen auch eine Checkliste zum Downloaden zur Verfügung. Diese dient als Hilfestellung für die weitere Antragsbearbeitung und Ihre persönliche Identifizierung.'],
      en: ['Yes. In the portal you have an overview of the steps of each order in your personal account. After you log in, the dashboard shows all steps right with each order.',
        'At the end of the ordering process, a checklist is also ready for you to download. It helps you with the further processing of your application and with your personal identification.'],
    },
  },
  {
    q: { de: 'Wo sehe ich den Status meiner Bestellung?', en: 'Where do I see the status of my order?' },
    a: {
      de: ['Den aktuellen Status Ihrer Bestellung sehen Sie jederzeit nach Login im Dashboard des Portals oder auf Ihrer persönlichen Bestellübersicht unter „Meine Bestellungen“. Hier werden Ihnen die einzelnen Zwischenschritte von der Prüfung Ihres Antrags, über die Produktion der Karte bis hin zum Versand angezeigt.',
        'Die Status-Angaben Ihrer Bestellung bedeuten folgendes:',
        { list: [
          ['Offen (blau)', 'Ihre Bestellung wurde im Portal ausgelöst und Ihnen stehen unterschiedliche Dokumente zum Download zur Verfügung. D-Trust wartet auf den Posteingang Ihres Antrags und Ihrer Identifikationsdaten.'],
          ['Wartend (rot)', 'Bei der Datenprüfung ist ein Fehler aufgefallen oder Ihre Daten sind noch unvollständig. Unser Kundenservice tritt mit Ihnen in Kontakt. In diesem Status kann Ihre Karte nicht produziert werden.'],
          ['In Produktion (gelb)', 'Die Zertifikatsdaten werden bei D-Trust erstellt und die Karte wird demnächst produziert.'],
          ['Versendet (gelb)', 'Ihre Karte wurde per Einschreiben an Sie versandt. Sie erhalten Ihre Karte in den kommenden Tagen.'],
          ['Fertig (grün)', 'Die Bestellung ist zu Ende bearbeitet und alle Daten (Karte & PIN-Brief) wurden an Sie ausgeliefert. Sie finden alle Informationen ab sofort im Portalbereich unter „Meine Produkte“. Fertige Bestellungen werden von der Bestellübersicht ins Archiv verschoben.'],
        ] }],
      en: ['After logging in, you can see the current status of your order at any time on the dashboard of the portal or in your personal order overview under “My orders”. It shows the individual intermediate steps, from the check of your application and the production of the card through to shipping.',
        'The statuses of your order mean the following:',
        { list: [
          ['Open (blue)', 'Your order has been placed in the portal and various documents are ready for you to download. D-Trust is waiting for your application and your identification data to arrive.'],
          ['Waiting (red)', 'The data check found an error or your data is still incomplete. Our customer service will contact you. Your card cannot be produced while the order has this status.'],
          ['In production (yellow)', 'D-Trust is creating the certificate data and the card will be produced shortly.'],
          ['Shipped (yellow)', 'Your card has been sent to you by registered mail. You will receive it in the coming days.'],
          ['Completed (green)', 'The order has been completed and everything (card & PIN letter) has been delivered to you. From now on you find all information in the portal under “My products”. Completed orders are moved from the order overview to the archive.'],
        ] }],
    },
  },
  {
    q: { de: 'Wo sehe ich den Status meines Produkts?', en: 'Where do I see the status of my product?' },
    a: {
      de: ['Den aktuellen Status Ihres Produktes sehen Sie jederzeit nach Login im Dashboard des Portals oder auf Ihrer persönlichen Produktübersicht unter „Meine Produkte“. Hier werden Ihnen die Gültigkeiten der Karten angezeigt.',
        'Produkte können aktiv oder inaktiv sein:',
        { list: [['Aktiv', 'Das Produkt ist verfügbar und gültig.'], ['Inaktiv', 'Das Zertifikat des Produkts ist entweder abgelaufen oder wurde gesperrt.']] },
        'Produkte können folgende Status-Angaben haben:',
        { list: [
          ['Gültig (grün)', 'Das Produkt ist komplett einsatzbereit.'],
          ['Nicht freigeschaltet (blau)', 'Das Produkt wartet noch auf die Freischaltung der Zertifikate. Bei Bestellungen über das Portal werden die Zertifikate ca. 24 Stunden nach Versand automatisch freigeschaltet.'],
          ['Sperrung in Bearbeitung (rot)', 'Die Sperrung wurde aktiv über das Portal beauftragt. Das System braucht ein paar Minuten zur Verarbeitung des Auftrags. Die Ansicht kann bei Bedarf manuell aktualisiert werden.'],
          ['Gesperrt (rot)', 'Das Produkt wurde vom Nutzenden oder von einer sperrberechtigten dritten Person gesperrt.'],
        ] }],
      en: ['After logging in, you can see the current status of your product at any time on the dashboard of the portal or in your personal product overview under “My products”. It shows how long your cards are valid.',
        'Products can be active or inactive:',
        { list: [['Active', 'The product is available and valid.'], ['Inactive', 'The product\u2019s certificate has either expired or been revoked.']] },
        'Products can have the following statuses:',
        { list: [
          ['Valid (green)', 'The product is fully ready for use.'],
          ['Not activated (blue)', 'The product is still waiting for its certificates to be activated. For orders placed in the portal, the certificates are activated automatically about 24 hours after shipping.'],
          ['Revocation in progress (red)', 'The revocation has been requested in the portal. The system needs a few minutes to process the request. The view can be refreshed manually if needed.'],
          ['Revoked (red)', 'The product has been revoked by its user or by an authorized third party.'],
        ] }],
    },
  },
  {
    q: { de: 'Darf ich meinen Account mit anderen Personen teilen?', en: 'May I share my account with other people?' },
    a: {
      de: ['Nein, denn das Portal bietet Ihnen individuelle Möglichkeiten, z. B. Ihre persönlichen Zertifikatsprodukte zu sperren oder zu reklamieren. Bei einer gemeinsamen Verwendung eines Accounts hätten dritte Personen Zugriff auf Ihre Daten. Es ist deshalb zwingend erforderlich, dass jede antragstellende Person einen eigenen Account im Portal nutzt.'],
      en: ['No, because the portal gives you individual options, such as revoking or making a complaint about your personal certificate products. If an account were shared, third parties would have access to your data. It is therefore mandatory that every applicant uses an account of their own in the portal.'],
    },
  },
  {
    q: { de: 'Wo bekomme ich ein Kartenlesegerät?', en: 'Where do I get a card reader?' },
    a: {
      de: ['Zusatzprodukte für Ihre Signatur- oder Siegelkarte wie z. B. Kartenlesegeräte können Sie bei REINER SCT im Shop für Kunden der D-Trust erwerben.', { link: 'readers' }],
      en: ['Additional products for your signature or seal card, such as card readers, can be bought from REINER SCT in the shop for D-Trust customers.', { link: 'readers' }],
    },
  },
  {
    q: { de: 'Was tue ich, wenn meine Karte verloren geht?', en: 'What do I do if my card is lost?' },
    a: {
      de: ['Bitte melden Sie den Verlust einer Karte unverzüglich bei D-Trust. Das Gleiche gilt, wenn der Verdacht auf missbräuchliche Nutzung einer Karte besteht. In diesen Fällen sollten Sie die Karte sofort sperren lassen.', { link: 'revoke' }],
      en: ['Please report the loss of a card to D-Trust without delay. The same applies if misuse of a card is suspected. In these cases you should have the card revoked at once.', { link: 'revoke' }],
    },
  },
  {
    q: { de: 'Wie lösche ich meinen Account?', en: 'How do I delete my account?' },
    a: {
      de: ['Bitte kontaktieren Sie unser Call- und Supportcenter, wenn Sie Ihren Account für das Portal löschen möchten. Die Kollegen und Kolleginnen helfen Ihnen gerne weiter. Sie erreichen uns Montag bis Freitag von 7:00 bis 18:00 Uhr unter der Telefonnummer +49 (0)30 2598-0 oder per E-Mail an support@d-trust.net.'],
      en: ['Please contact our call and support centre if you would like to delete your account for the portal. Our colleagues are glad to help. You can reach us Monday to Friday from 7:00 to 18:00 at the phone number +49 (0)30 2598-0 or by e-mail at support@d-trust.net.'],
    },
  },
];
