// portal.test.js: the web portal in headless Chromium against the real gateway and
// daemons: the customer journey from registration to a revoked card (clicking and
// typing only; back office and producers through tpctl), the officer's identification,
// the emergency revocation without login, the English pages, a field error at its field,
// "Meine Daten" (the download and the deletion request, by keyboard),
// axe-core on every main page and screenshots at 390 and 1280 px.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { System } from './harness.js';
import { launch, watch } from './browser.js';
import {
  ready, mainPage, capture, a11y, mainText, nav, refreshUntil, liveUntil, announced, signup, login, logout, orderStatus,
  badgeColour, fillApplicant, next, inYears, ARTIFACTS, PASSWORD,
} from './helpers.js';

const sys = new System();
let browser;
let page;
let w;
const watchers = [];   // every page's watcher, for the report after a failed test
const state = {};   // what one step leaves for the next

const ERIKA = {
  givenNames: 'Erika', familyName: 'Mustermann', birthDate: '1984-08-12', birthPlace: 'Berlin',
  street: 'Heidestraße 17', postalCode: '51147', city: 'Köln', documentNumber: 'L01X00T47',
  documentAuthority: 'Stadt Köln', documentExpiry: inYears(5),
};

const TONES = { blue: '227,238,250', red: '253,231,229', yellow: '255,243,196', green: '225,242,229' };

async function newPage() {
  const context = await browser.newContext();
  const p = await context.newPage();
  const watcher = watch(p);
  watchers.push(watcher);
  return { p, watcher };
}

before(async () => {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  await sys.start();
  browser = await launch();
  ({ p: page, watcher: w } = await newPage());
});

afterEach(() => {
  // a test that failed on an assertion first still shows what the browser saw
  for (const x of watchers) {
    if (x.problems.length && !x.reported) console.error(`browser problems so far:\n  ${x.problems.join('\n  ')}`);
    x.reported = x.problems.length > 0;
  }
});

after(async () => {
  if (browser) await browser.close();
  await sys.stop();
});

describe('customer journey (German)', () => {
  it('start page: log in, emergency revocation link, help; accessible', async () => {
    await page.goto(`${sys.base}/`);
    await ready(page);
    assert.match(page.url(), /#\/login$/);
    assert.equal(await page.textContent('h1'), 'Anmelden');
    assert.equal(await page.textContent('#lang-label'), 'Sprache');
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.ok(await page.isVisible('header a.emergency-link[href="#/revoke"]'));
    assert.ok(await page.isVisible('footer a[href="#/revoke"]'));
    await mainPage(page, 'login');
    w.assertClean('login');
  });

  it('register, open the confirmation link from the mail, log in', async () => {
    await nav(page, 'register');
    await mainPage(page, 'register');
    state.email = 'erika.mustermann@example.org';
    // someone else registered the address first, with his password: that link (also in
    // Erika's mailbox) does not take hers, and the page says so at the field
    await page.fill('#f-email', state.email);
    await page.fill('#f-password', 'the other person\'s password');
    await page.fill('#f-passwordRepeat', 'the other person\'s password');
    await page.click('form button[type=submit]');
    await page.waitForSelector('.notice-success');
    const first = (await sys.mail(state.email, /#\/confirm\?token=/))
      .match(/https?:\/\/\S+#\/confirm\?token=[A-Za-z0-9_\-]+/)[0];
    w.expect(401, '/api/v1/accounts/confirm');
    await page.goto(first);
    await ready(page);
    await page.fill('#f-password', PASSWORD);
    await page.click('form button[type=submit]');
    await page.waitForSelector('.field.has-error [data-field="password"]');
    assert.match(await page.textContent('.field.has-error .field-error'), /nicht das Passwort der Registrierung/);
    await a11y(page, 'confirm-wrong-password');
    const link = await signup(page, sys, state.email, { except: first });
    assert.notEqual(link, first);
    assert.match(link, new RegExp(`^${sys.base}/#/confirm\\?token=`));
    assert.equal(await page.textContent('h1'), 'Dashboard');
    assert.match(await page.textContent('.user-email'), /erika\.mustermann@example\.org/);
    // the confirmation page said so (checked in signup); show it once more for the screenshot
    const tab = await newPage();
    tab.watcher.expect(400, '/api/v1/accounts/confirm');
    await tab.p.goto(link);   // a used link: the page says it is no longer valid
    await ready(tab.p);
    await tab.p.fill('#f-password', PASSWORD);
    await tab.p.click('form button[type=submit]');
    await tab.p.waitForSelector('.confirm-status .notice-error');
    assert.match(await tab.p.textContent('.confirm-status'), /ungültig oder abgelaufen/);
    await a11y(tab.p, 'confirm');
    await capture(tab.p, 'confirm-used');
    tab.watcher.assertClean('confirm');
    await tab.p.close();
    await mainPage(page, 'dashboard-empty');
    w.assertClean('register');
  });

  it('+Shop: redeem DEMO-SHOP-2026; the shop stays in the navigation', async () => {
    await nav(page, 'shop');
    await mainPage(page, 'shop');
    await page.fill('#f-code', 'DEMO-SHOP-2026');
    await page.click('form button[type=submit]');
    await page.waitForSelector('.notice-success');
    assert.match(await mainText(page), /Musterfirma GmbH/);
    assert.ok(await page.isVisible('.nav-list a[data-route="shop/shop-demo"]'));
    await page.reload();
    await ready(page);
    assert.ok(await page.isVisible('.nav-list a[data-route="shop/shop-demo"]'), 'still there after a reload');
    await nav(page, 'shop/shop-demo');
    assert.equal(await page.textContent('h1'), 'Musterfirma GmbH');
    assert.match(await mainText(page), /Siegelkarte/);
    await mainPage(page, 'shop-page');
    w.assertClean('shop');
  });

  it('order a seal card with PostIdent: a field error at its field, nothing lost; documents', async () => {
    await page.click('a[href="#/order/new?shop=shop-demo&product=seal-card"]');
    await ready(page);
    assert.equal(await page.getAttribute('form.wizard-form', 'data-step'), 'product');
    assert.ok(await page.isChecked('input[name="choice"][value="shop-demo|seal-card"]'));
    // products orderable elsewhere are shown with their links
    assert.ok(await page.locator('.elsewhere a[href^="http"]').count() >= 4);
    await mainPage(page, 'order-product');
    await next(page);
    await fillApplicant(page, { ...ERIKA, documentExpiry: '2020-01-31' });   // expired: the API refuses it
    await mainPage(page, 'order-applicant');
    await next(page);
    assert.equal(await page.getAttribute('form.wizard-form', 'data-step'), 'organization');
    await page.fill('#f-organization-name', 'Musterfirma GmbH');
    await page.fill('#f-organization-registerCourt', 'Amtsgericht Charlottenburg');
    await page.fill('#f-organization-registerNumber', 'HRB 12345');
    await page.fill('#f-organization-address-street', 'Friedrichstraße 100');
    await page.fill('#f-organization-address-postalCode', '10117');
    await page.fill('#f-organization-address-city', 'Berlin');
    await page.fill('#f-organization-representatives-0-givenNames', 'Max');
    await page.fill('#f-organization-representatives-0-familyName', 'Mustermann');
    await page.fill('#f-organization-representatives-0-role', 'Geschäftsführer');
    await mainPage(page, 'order-organization');
    await next(page);
    // only the methods allowed for the seal card in this shop, each explained
    const methods = await page.locator('input[name="identMethod"]').evaluateAll((els) => els.map((e) => e.value));
    assert.ok(methods.includes('postident') && methods.includes('officerident'), methods.join());
    assert.equal(await page.locator('.radio-hint').count(), methods.length);
    await page.check('input[name="identMethod"][value="postident"]');
    await mainPage(page, 'order-ident');
    await next(page);
    await page.fill('#f-revocationPassword', 'Sperr-Kennwort-42');
    await page.fill('#f-revocationPasswordRepeat', 'Sperr-Kennwort-42');
    await next(page);
    assert.equal(await page.getAttribute('form.wizard-form', 'data-step'), 'summary');
    assert.match(await mainText(page), /Heidestraße 17/);
    await mainPage(page, 'order-summary');

    // submit: the API names applicant.documentExpiry; the form shows it there
    w.expect(400, '/api/v1/orders');
    await page.click('button[data-action="submit-order"]');
    await page.waitForSelector('form.wizard-form[data-step="applicant"]');
    const err = page.locator('#f-applicant-documentExpiry-error');
    await err.waitFor({ state: 'visible' });
    assert.match(await err.innerText(), /abgelaufen/);
    assert.equal(await page.getAttribute('#f-applicant-documentExpiry', 'aria-invalid'), 'true');
    assert.match(await page.getAttribute('#f-applicant-documentExpiry', 'aria-describedby'), /f-applicant-documentExpiry-error/);
    assert.ok(await page.isVisible('.error-summary'));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-applicant-documentExpiry');
    // nothing typed is lost
    assert.equal(await page.inputValue('#f-applicant-givenNames'), 'Erika');
    assert.equal(await page.inputValue('#f-applicant-documentNumber'), 'L01X00T47');
    await a11y(page, 'order-field-error');
    await capture(page, 'order-field-error');
    await page.fill('#f-applicant-documentExpiry', ERIKA.documentExpiry);
    await next(page);   // organization: still filled in
    assert.equal(await page.inputValue('#f-organization-registerNumber'), 'HRB 12345');
    await next(page);   // ident: still chosen
    assert.ok(await page.isChecked('input[name="identMethod"][value="postident"]'));
    await next(page);   // password: typed again on purpose? no: kept
    assert.equal(await page.inputValue('#f-revocationPassword'), 'Sperr-Kennwort-42');
    await next(page);
    await page.click('button[data-action="submit-order"]');
    await page.waitForSelector('.done h1');
    const intro = await page.textContent('.done .lead');
    state.orderId = intro.match(/TP-\d{4}-\d+/)[0];
    // the documents: application, checklist and (once numbered) the PostIdent coupon
    await page.waitForSelector('.done a.doc-link[data-kind="coupon"]', { timeout: 15000 });
    assert.ok(await page.isVisible('.done a.doc-link[data-kind="application"]'));
    assert.match(await mainText(page), /So geht es weiter/);
    await mainPage(page, 'order-done');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.done a.doc-link[data-kind="checklist"]')]);
    const file = await download.path();
    const pdf = fs.readFileSync(file);
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(pdf.length > 1000);
    assert.match(download.suggestedFilename(), /\.pdf$/);
    w.assertClean('order');
  });

  it('the dashboard moves through every colour with the steps by itself; another account sees none of it', async () => {
    const id = state.orderId;
    await page.click('a[href="#/dashboard"].btn');
    await ready(page);
    const card = `[data-order="${id}"]`;
    assert.equal(await orderStatus(page, id), 'offen');
    assert.equal((await page.textContent(`${card} .badge`)).includes('Offen'), true);
    await liveUntil(page, 'the colour TONES.blue', async () => (await badgeColour(page, `${card} .badge`)) === TONES.blue, 5000);
    assert.equal(await page.getAttribute(`${card} [data-step="application"]`, 'data-state'), 'pending');
    await mainPage(page, 'dashboard-offen');
    // another customer is logged in meanwhile, on the dashboard
    const { p: other, watcher: wo } = await newPage();
    await signup(other, sys, 'otto.andere@example.org');
    await other.waitForSelector('.dash-body');

    sys.tpctl('order', 'problem', id, 'Die Ausweisnummer ist unleserlich.');
    await liveUntil(page, 'Wartend', async () => (await orderStatus(page, id)) === 'wartend');
    assert.match(await page.textContent(`${card} .badge`), /Wartend/);
    assert.equal(await announced(page), `Bestellung ${id}: Wartend.`);
    await liveUntil(page, 'the colour TONES.red', async () => (await badgeColour(page, `${card} .badge`)) === TONES.red, 5000);
    assert.match(await page.textContent(`${card} .problem`), /Die Ausweisnummer ist unleserlich\./);
    assert.equal(await page.getAttribute(`${card} [data-step="datacheck"]`, 'data-state'), 'failed');
    await mainPage(page, 'dashboard-wartend');

    sys.tpctl('order', 'resolve', id, '--note', 'Kopie nachgereicht');
    sys.tpctl('order', 'application-received', id);
    const order = sys.tpctl('order', 'show', id);
    const number = (order.reply || order).postidentNumber;
    assert.match(number, /^\d{12}$/);
    sys.tpctl('ident', 'postident', number, '--ok', '--evidence', 'PI-2026-4711', '--by', 'Filiale Berlin-Mitte');
    await liveUntil(page, 'In Produktion', async () => (await orderStatus(page, id)) === 'in_produktion');
    assert.match(await page.textContent(`${card} .badge`), /In Produktion/);
    await liveUntil(page, 'the colour TONES.yellow', async () => (await badgeColour(page, `${card} .badge`)) === TONES.yellow, 5000);
    for (const s of ['application', 'identification', 'datacheck'])
      assert.equal(await page.getAttribute(`${card} [data-step="${s}"]`, 'data-state'), 'done', s);
    assert.match(await page.textContent(`${card} [data-step="application"]`), /Erledigt am/);
    await mainPage(page, 'dashboard-in-produktion');

    const from = new Date().toISOString().slice(0, 10);
    sys.tpctl('produce', 'certificates', id, '--serial', '4A1F00C0FFEE01', '--kind', 'seal', '--from', from, '--to', inYears(3),
      '--subject', 'CN=Musterfirma GmbH', '--fact', `cert-${id}`);
    sys.tpctl('produce', 'card', id, '80270000004711', '--fact', `card-${id}`);
    sys.tpctl('produce', 'shipped', id, 'RR123456789DE', '--fact', `ship-${id}`);
    await liveUntil(page, 'Versendet', async () => (await orderStatus(page, id)) === 'versendet');
    assert.match(await page.textContent(`${card} .badge`), /Versendet/);
    await liveUntil(page, 'the colour TONES.yellow', async () => (await badgeColour(page, `${card} .badge`)) === TONES.yellow, 5000);
    assert.match(await page.textContent(`${card} [data-step="shipping"]`), /RR123456789DE/);
    await mainPage(page, 'dashboard-versendet');

    sys.tpctl('produce', 'pin-shipped', id, 'RR987654321DE', '--fact', `pin-${id}`);
    sys.tpctl('produce', 'delivered', id, '--fact', `del-${id}`);
    sys.tpctl('produce', 'pin-delivered', id, '--fact', `pindel-${id}`);
    await liveUntil(page, 'Fertig', async () => (await orderStatus(page, id)) === 'fertig');
    assert.match(await page.textContent(`${card} .badge`), /Fertig/);
    await liveUntil(page, 'the colour TONES.green', async () => (await badgeColour(page, `${card} .badge`)) === TONES.green, 5000);
    assert.match(await page.textContent('#dash-recent'), /Kürzlich abgeschlossen/);
    await mainPage(page, 'dashboard-fertig');
    w.assertClean('dashboard');
    // nothing of it reached the other account's page
    assert.equal(await other.locator(`[data-order="${id}"]`).count(), 0);
    assert.equal(await announced(other), '');
    assert.doesNotMatch(await mainText(other), new RegExp(id));
    wo.assertClean('other account');
    await other.context().close();
  });

  it('the status mails can be turned off and on again on the dashboard', async () => {
    await nav(page, 'dashboard');
    assert.equal(await page.isChecked('#f-statusMails'), true);
    await page.click('#f-statusMails');
    await page.waitForFunction(() => /ausgeschaltet/.test(document.querySelector('#dash-mails ~ [role=status]')?.textContent || ''));
    await nav(page, 'orders');
    await nav(page, 'dashboard');
    await page.waitForSelector('#f-statusMails');
    assert.equal(await page.isChecked('#f-statusMails'), false);
    await page.click('#f-statusMails');
    await page.waitForFunction(() => /eingeschaltet/.test(document.querySelector('#dash-mails ~ [role=status]')?.textContent || ''));
    assert.equal(await page.isChecked('#f-statusMails'), true);
    w.assertClean('status mails');
  });

  it('"Meine Bestellungen": the archive and one order in detail', async () => {
    const id = state.orderId;
    await nav(page, 'orders');
    assert.match(await mainText(page), /Keine Bestellungen/);
    await page.click('a.tab[href="#/orders?archived=true"]');
    await ready(page);
    assert.equal(await orderStatus(page, id), 'fertig');
    await mainPage(page, 'orders-archive');
    await page.click(`a[href="#/orders/${id}"]`);
    await ready(page);
    assert.equal(await page.textContent('h1'), `Bestellung ${id}`);
    assert.match(await mainText(page), /Musterfirma GmbH/);
    assert.match(await mainText(page), /HRB 12345/);
    assert.match(await mainText(page), /RR123456789DE/);
    await mainPage(page, 'order-detail');
    w.assertClean('orders');
  });

  it('"Meine Produkte": the card becomes Gültig; revoke it (reason, confirmation) and see Gesperrt', async () => {
    await nav(page, 'products');
    const pid = `prd-${state.orderId}`;
    state.productId = pid;
    const card = `[data-product="${pid}"]`;
    await page.waitForSelector(card);
    const status = () => page.getAttribute(`${card} .badge`, 'data-status');
    await refreshUntil(page, 'Gültig', async () => (await status()) === 'gueltig');
    assert.match(await page.textContent(`${card} .badge`), /Gültig/);
    assert.equal(await badgeColour(page, `${card} .badge`), TONES.green);
    assert.match(await page.textContent(`${card} .activity`), /Aktiv/);
    assert.match(await page.textContent(card), /80270000004711/);
    assert.match(await page.textContent(card), /4A1F00C0FFEE01/);
    await mainPage(page, 'products-gueltig');

    await page.click(`${card} button[data-action="revoke"]`);
    await page.check(`${card} input[value="card_lost"]`);
    await page.fill(`${card} textarea`, 'Im Zug liegen gelassen');
    await page.click(`${card} button[data-action="revoke-continue"]`);
    await page.waitForSelector(`${card} button[data-action="revoke-confirm"]`);
    assert.match(await page.textContent(`${card} .revoke-box`), /endgültig/);
    await a11y(page, 'products-revoke-confirm');
    await capture(page, 'products-revoke-confirm');
    await page.click(`${card} button[data-action="revoke-confirm"]`);
    await page.waitForSelector(`${card} .notice-success`);
    await refreshUntil(page, 'Gesperrt', async () => (await status()) === 'gesperrt');
    assert.match(await page.textContent(`${card} .badge`), /Gesperrt/);
    assert.equal(await badgeColour(page, `${card} .badge`), TONES.red);
    assert.match(await page.textContent(`${card} .activity`), /Inaktiv/);
    assert.equal(await page.locator(`${card} button[data-action="revoke"]`).count(), 0);
    await mainPage(page, 'products-gesperrt');
    w.assertClean('products');
  });

  it('log out', async () => {
    await logout(page);
    assert.equal(await page.textContent('h1'), 'Anmelden');
    assert.match(await mainText(page), /abgemeldet/);
    w.assertClean('logout');
  });
});

describe('officer', () => {
  it('an officer of the shop identifies an applicant there', async () => {
    // the applicant orders a signature card in the demo shop with OfficerIdent
    const { p: a, watcher: wa } = await newPage();
    await signup(a, sys, 'ben.beispiel@example.org');
    await nav(a, 'shop');
    await a.fill('#f-code', 'demo-shop-2026');   // codes are case-insensitive
    await a.click('form button[type=submit]');
    await a.waitForSelector('.notice-success');
    await nav(a, 'order/new');
    await a.check('input[name="choice"][value="shop-demo|signature-card"]');
    await next(a);
    await fillApplicant(a, { ...ERIKA, givenNames: 'Ben', familyName: 'Beispiel', birthDate: '1990-02-03', documentNumber: 'T22000129' });
    await next(a);
    if ((await a.getAttribute('form.wizard-form', 'data-step')) === 'organization') await next(a);
    await a.check('input[name="identMethod"][value="officerident"]');
    await next(a);
    await a.fill('#f-revocationPassword', 'Notfall-Kennwort-7');
    await a.fill('#f-revocationPasswordRepeat', 'Notfall-Kennwort-7');
    await next(a);
    await a.click('button[data-action="submit-order"]');
    await a.waitForSelector('.done h1');
    state.benOrder = (await a.textContent('.done .lead')).match(/TP-\d{4}-\d+/)[0];
    assert.match(await a.textContent('.next-steps'), /Officer/);

    // the officer: an account appointed by an operator
    const { p: o, watcher: wo } = await newPage();
    await signup(o, sys, 'olga.officer@example.org');
    const found = sys.tpctl('account', 'find', 'olga.officer@example.org');
    const accountId = (found.reply || found).accountId;
    assert.ok(accountId);
    sys.call('account', 'AppointOfficer', { accountId, shopId: 'shop-demo' });
    // the identification service learns officers from the account service's events:
    // wait until it lets this one list the shop's cases, so the page never sees a 403
    await sys.until('the identification service knows the officer', async () => {
      try {
        sys.tpctl('call', 'identification', 'ListCases', JSON.stringify({ shopId: 'shop-demo' }),
          '--role', 'officer', '--as', accountId, '--key', 'gateway');
        return true;
      } catch { return false; }
    });
    await sys.until('the officer appointment', async () => {
      await o.reload();
      await ready(o);
      return o.isVisible('.nav-list a[data-route="officer"]');
    });
    await nav(o, 'officer');
    const caseSel = `article.case[data-order="${state.benOrder}"]`;
    await sys.until('the case', async () => {
      if (await o.locator(caseSel).count()) return true;
      await o.reload();
      await ready(o);
      return false;
    });
    assert.match(await o.textContent(caseSel), /Ben Beispiel/);
    await mainPage(o, 'officer');
    await o.click(`${caseSel} button[data-action="officer-record"]`);
    await o.check(`${caseSel} input[name="succeeded"][value="yes"]`);
    await o.fill(`${caseSel} input[data-field="identifiedBy"]`, 'Olga Officer');
    await o.fill(`${caseSel} input[data-field="evidenceRef"]`, 'PA-Prüfung 2026-117');
    await a11y(o, 'officer-form');
    await capture(o, 'officer-form');
    await o.click(`${caseSel} button[data-action="officer-submit"]`);
    await o.waitForSelector('.case-list + *, .notice-success');
    await o.waitForFunction((sel) => !document.querySelector(sel), caseSel);
    assert.match(await mainText(o), new RegExp(`Ergebnis für ${state.benOrder} ist gespeichert`));

    // the applicant sees the identification done
    await nav(a, 'dashboard');
    await refreshUntil(a, 'identified', async () =>
      (await a.getAttribute(`[data-order="${state.benOrder}"] [data-step="identification"]`, 'data-state')) === 'done');
    wa.assertClean('applicant');
    wo.assertClean('officer');
    await logout(o);
    await o.close();
    state.ben = a;
    state.benWatch = wa;
  });
});

describe('emergency revocation without login', () => {
  it('revokes a card with the order number and the revocation password', async () => {
    const id = state.benOrder;
    sys.tpctl('order', 'application-received', id);
    await sys.until('production', async () => (sys.tpctl('order', 'show', id).reply || {}).status === 'in_produktion');
    sys.tpctl('produce', 'certificates', id, '--serial', '5B2E00C0FFEE02', '--kind', 'signature', '--from', new Date().toISOString().slice(0, 10),
      '--to', inYears(3), '--subject', 'CN=Ben Beispiel', '--fact', `cert-${id}`);
    sys.tpctl('produce', 'card', id, '80270000000815', '--fact', `card-${id}`);
    sys.tpctl('produce', 'shipped', id, 'RR555555555DE', '--fact', `ship-${id}`);
    await sys.until('the product', async () => {
      try { return sys.call('production', 'GetProduct', { productId: `prd-${id}` }).ok; } catch { return false; }
    });
    await sys.until('the revocation service knows the card', async () => true);

    const { p, watcher } = await newPage();
    await p.goto(`${sys.base}/`);
    await ready(p);
    await p.click('header a.emergency-link');
    await ready(p);
    assert.equal(await p.textContent('h1'), 'Karte sperren (Notfall)');
    await mainPage(p, 'revoke');
    // a wrong password: the answer says so at the password field
    await p.fill('#f-number', id);
    await p.fill('#f-password', 'falsches-Kennwort');
    await p.check('input[name="reason"][value="suspected_misuse"]');
    await p.click('button[data-action="revoke-continue"]');
    await p.waitForSelector('button[data-action="revoke-confirm"]');
    watcher.expect(401, '/api/v1/revocations');
    await p.click('button[data-action="revoke-confirm"]');
    await p.waitForSelector('#f-password-error:not([hidden])');
    assert.match(await p.textContent('#f-password-error'), /Sperrkennwort ist falsch/);
    assert.equal(await p.inputValue('#f-number'), id);
    await p.fill('#f-password', 'Notfall-Kennwort-7');
    await p.click('button[data-action="revoke-continue"]');
    await capture(p, 'revoke-confirm');
    await p.click('button[data-action="revoke-confirm"]');
    await p.waitForSelector('.revoke-page .notice-success');
    assert.match(await p.textContent('.revoke-page .notice-success'), /Sperrauftrag ist eingegangen/);
    await mainPage(p, 'revoke-done');
    watcher.assertClean('revoke');
    await p.close();

    // the owner sees it revoked
    const a = state.ben;
    await nav(a, 'products');
    const card = `[data-product="prd-${id}"]`;
    await a.waitForSelector(card);
    await refreshUntil(a, 'Gesperrt', async () => (await a.getAttribute(`${card} .badge`, 'data-status')) === 'gesperrt');
    state.benWatch.assertClean('owner');
  });
});

describe('English', () => {
  // German words that must not be left on an English page (names, addresses and the
  // operator's own notes aside)
  const GERMAN = /\b(Bestellung|Bestellungen|Abmelden|Anmelden|Meine|Hilfe|Sperren|sperren|Zurück|Weiter|Bitte|Ihre|Ihr|und|oder|der|die|das|mit|für|Karte|Gültig|Gesperrt|Offen|Fertig|Wartend|Versendet|Antrag|Sprache)\b/;

  async function english(p, name, { expectH1 } = {}) {
    await ready(p);
    const text = await p.locator('body').innerText();
    const cleaned = text.replace(/Musterfirma GmbH|Heidestraße 17|Köln|Friedrichstraße 100|Amtsgericht Charlottenburg|Geschäftsführer|Die Ausweisnummer ist unleserlich\.|Stadt Köln|Kopie nachgereicht|Im Zug liegen gelassen|Filiale Berlin-Mitte|BehördenIdent|NotarIdent|BotschaftsIdent|PostIdent|Deutsch/g, '');
    const m = cleaned.match(GERMAN);
    assert.equal(m, null, `German on the English page ${name}: "${m && cleaned.slice(Math.max(0, m.index - 60), m.index + 60)}"`);
    assert.equal(await p.getAttribute('html', 'lang'), 'en');
    if (expectH1) assert.equal(await p.textContent('h1'), expectH1);
  }

  it('switching to English shows English on every page of the journey', async () => {
    const { p, watcher } = await newPage();
    await p.goto(`${sys.base}/#/login`);
    await ready(p);
    await p.click('button.lang-btn[data-lang="en"]');
    await english(p, 'login', { expectH1: 'Log in' });
    assert.equal(await p.textContent('#lang-label'), 'Language');
    assert.equal(await p.getAttribute('button.lang-btn[data-lang="en"]', 'aria-pressed'), 'true');
    await capture(p, 'en-login');
    await nav(p, 'register');
    await english(p, 'register', { expectH1: 'Register' });
    await nav(p, 'help');
    await english(p, 'help', { expectH1: 'Help and frequently asked questions' });
    await p.click('details#faq-8 summary');
    assert.match(await p.textContent('details#faq-8'), /Waiting \(red\)/);
    await a11y(p, 'en-help');
    await capture(p, 'en-help');
    await p.click('header a.emergency-link');
    await english(p, 'revoke', { expectH1: 'Revoke a card (emergency)' });
    watcher.expect(400, '/api/v1/accounts/confirm');
    await p.goto(`${sys.base}/#/confirm?token=unknown-token`);
    await ready(p);
    await p.fill('#f-password', 'any password at all');
    await p.click('form button[type=submit]');
    await p.waitForSelector('.confirm-status .notice-error');
    await english(p, 'confirm', { expectH1: 'Confirm your e-mail address' });
    await p.goto(`${sys.base}/#/forgot`);
    await english(p, 'forgot', { expectH1: 'Forgot your password' });
    await p.goto(`${sys.base}/#/login`);
    // remembered: a reload stays English
    await p.reload();
    await ready(p);
    assert.equal(await p.textContent('h1'), 'Log in');

    await login(p, 'erika.mustermann@example.org');
    await english(p, 'dashboard', { expectH1: 'Dashboard' });
    assert.match(await p.textContent('#dash-recent'), /Recently completed/);
    assert.match(await p.textContent(`[data-order="${state.orderId}"] .badge`), /Completed/);
    await capture(p, 'en-dashboard');
    await nav(p, 'orders');
    await english(p, 'orders', { expectH1: 'My orders' });
    await p.click('a.tab[href="#/orders?archived=true"]');
    await english(p, 'archive');
    await p.click(`a[href="#/orders/${state.orderId}"]`);
    await english(p, 'order detail', { expectH1: `Order ${state.orderId}` });
    await nav(p, 'products');
    await english(p, 'products', { expectH1: 'My products' });
    assert.match(await p.textContent(`[data-product="${state.productId}"] .badge`), /Revoked/);
    await capture(p, 'en-products');
    await nav(p, 'shop');
    await english(p, 'shop', { expectH1: 'Add a shop (+Shop)' });
    await nav(p, 'shop/shop-demo');
    await english(p, 'shop page');
    await nav(p, 'order/new');
    await english(p, 'order: product', { expectH1: 'New order' });
    await p.check('input[name="choice"][value="shop-demo|seal-card"]');
    await next(p);
    await english(p, 'order: applicant');
    await fillApplicant(p, ERIKA);
    await next(p);
    await english(p, 'order: organization');
    // switching back keeps what was typed
    await p.fill('#f-organization-name', 'Beispiel AG');
    await p.click('button.lang-btn[data-lang="de"]');
    await p.waitForFunction(() => document.documentElement.lang === 'de');
    assert.equal(await p.inputValue('#f-organization-name'), 'Beispiel AG');
    assert.match(await p.textContent('.step-title'), /Schritt 3 von 6/);
    await p.click('button.lang-btn[data-lang="en"]');
    await p.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(await p.inputValue('#f-organization-name'), 'Beispiel AG');
    await p.click('button[data-action="back"]');
    await p.click('button[data-action="back"]');
    await english(p, 'order: product again');
    await logout(p);
    await english(p, 'logged out', { expectH1: 'Log in' });
    watcher.assertClean('english');
    await p.close();
  });
});

describe('password reset and the phone layout', () => {
  it('forgot password: the mailed link sets a new password, which then logs in', async () => {
    const { p, watcher } = await newPage();
    await p.goto(`${sys.base}/#/login`);
    await ready(p);
    await p.click('a[href="#/forgot"]');
    await ready(p);
    await mainPage(p, 'forgot');
    await p.fill('#f-email', 'olga.officer@example.org');
    await p.click('form button[type=submit]');
    await p.waitForSelector('.notice-success');
    const mail = await sys.mail('olga.officer@example.org', /#\/reset\?token=/);
    const link = mail.match(/https?:\/\/\S+#\/reset\?token=[A-Za-z0-9_\-]+/)[0];
    await p.goto(link);
    await ready(p);
    await p.fill('#f-newPassword', 'kurz');
    await p.fill('#f-newPasswordRepeat', 'kurz');
    await p.click('form button[type=submit]');
    assert.match(await p.textContent('#f-newPassword-error'), /mindestens 12 Zeichen/);
    await p.fill('#f-newPassword', 'ein ganz neues Passwort 2026');
    await p.fill('#f-newPasswordRepeat', 'ein ganz neues Passwort 2026');
    await mainPage(p, 'reset');
    await p.click('form button[type=submit]');
    await p.waitForSelector('.notice-success a[href="#/login"]');
    await p.click('.notice-success a[href="#/login"]');
    await login(p, 'olga.officer@example.org', 'ein ganz neues Passwort 2026');
    assert.equal(await p.textContent('h1'), 'Dashboard');
    watcher.assertClean('reset');
    await p.close();
  });

  it('at 390 px the menu button opens the navigation', async () => {
    const { p, watcher } = await newPage();
    await p.setViewportSize({ width: 390, height: 844 });
    await p.goto(`${sys.base}/#/login`);
    await ready(p);
    await login(p, 'erika.mustermann@example.org');
    assert.equal(await p.isVisible('.nav-list a[data-route="products"]'), false);
    assert.equal(await p.getAttribute('.menu-toggle', 'aria-expanded'), 'false');
    await p.click('.menu-toggle');
    assert.equal(await p.getAttribute('.menu-toggle', 'aria-expanded'), 'true');
    await p.click('.nav-list a[data-route="products"]');
    await ready(p);
    assert.equal(await p.textContent('h1'), 'Meine Produkte');
    assert.equal(await p.isVisible('.nav-list a[data-route="products"]'), false, 'the menu closes after a choice');
    // nothing wider than the screen
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow} px`);
    await a11y(p, 'products-390');
    watcher.assertClean('phone');
    await p.close();
  });
});

describe('keyboard only', () => {
  it('logs in and reaches "My products" with the keyboard alone, focus always visible', async () => {
    const { p, watcher } = await newPage();
    await p.goto(`${sys.base}/#/login`);
    await ready(p);
    await p.click('button.lang-btn[data-lang="de"]');
    await p.goto('about:blank');
    await p.goto(`${sys.base}/#/login`);
    await ready(p);
    await p.keyboard.press('Tab');   // the skip link comes first
    assert.equal(await p.evaluate(() => document.activeElement.id), 'skip');
    await p.keyboard.press('Enter');
    let guard = 0;
    while ((await p.evaluate(() => document.activeElement.id)) !== 'f-email' && guard++ < 20) await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement.id), 'f-email');
    const ring = await p.evaluate(() => { const s = getComputedStyle(document.activeElement); return `${s.outlineStyle} ${s.outlineWidth}`; });
    assert.match(ring, /solid 3px/);
    await p.keyboard.type('erika.mustermann@example.org');
    await p.keyboard.press('Tab');
    await p.keyboard.type('ein langes Passwort 2026');
    await p.keyboard.press('Enter');
    await p.waitForSelector('.user-email');
    await ready(p);
    guard = 0;
    while ((await p.evaluate(() => document.activeElement.getAttribute('data-route'))) !== 'products' && guard++ < 40) await p.keyboard.press('Tab');
    await p.keyboard.press('Enter');
    await ready(p);
    assert.equal(await p.textContent('h1'), 'Meine Produkte');
    assert.equal(await p.evaluate(() => document.activeElement.tagName), 'H1');
    watcher.assertClean('keyboard');
    await p.close();
  });
});

describe('my data and the deletion request', () => {
  it('downloads my data as JSON, and asks for the deletion of the account with the keyboard', async () => {
    const { p, watcher } = await newPage();
    const email = 'dora.daten@example.org';
    await signup(p, sys, email);
    assert.equal(await p.textContent('#dash-mydata'), 'Meine Daten');

    // the download: one JSON file with the account in it
    const [download] = await Promise.all([
      p.waitForEvent('download'),
      p.click('button[data-action="export"]'),
    ]);
    assert.match(download.suggestedFilename(), /^trustportal-data-\d{4}-\d{2}-\d{2}\.json$/);
    const data = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    assert.equal(data.format, 'trustportal-export/1');
    assert.equal(data.account.email, email);
    assert.equal(data.account.deletionRequest, null);
    assert.deepEqual(data.orders, []);
    await p.waitForFunction(() => /heruntergeladen/.test(document.querySelector('#dash-mydata ~ [role=status]')?.textContent || ''));

    // the keyboard alone: to the button, open the confirmation, cancel, open it again
    const tabTo = async (test) => {
      for (let i = 0; i < 80 && !(await p.evaluate(test)); i++) await p.keyboard.press('Tab');
      assert.ok(await p.evaluate(test), 'reached with Tab');
    };
    await tabTo(() => document.activeElement?.dataset.action === 'deletion');
    assert.equal(await p.textContent('button[data-action="deletion"]'), 'Löschung meines Kontos beantragen');
    await p.keyboard.press('Enter');
    assert.equal(await p.evaluate(() => document.activeElement.id), 'deletion-box');
    assert.match(await p.textContent('#deletion-box'), /sperrt keine Karte/);
    await tabTo(() => document.activeElement?.dataset.action === 'deletion-cancel');
    await p.keyboard.press('Enter');
    assert.equal(await p.evaluate(() => document.activeElement.id), 'deletion-start');
    await p.keyboard.press('Enter');
    assert.equal(await p.evaluate(() => document.activeElement.id), 'deletion-box');
    await a11y(p, 'dashboard-deletion-confirm');
    await capture(p, 'dashboard-deletion-confirm');
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement.id), 'f-reason');
    assert.equal(await p.getAttribute('label[for="f-reason"]', 'for'), 'f-reason');
    await p.keyboard.type('Ich brauche das Konto nicht mehr.');
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement.dataset.action), 'deletion-confirm');
    await p.keyboard.press('Enter');
    await p.waitForSelector('#deletion-status');
    assert.equal(await p.evaluate(() => document.activeElement.id), 'deletion-status');
    assert.match(await p.textContent('#deletion-status'), /Ihr Antrag auf Löschung Ihres Kontos vom .+ ist eingegangen/);
    assert.match(await p.textContent('#deletion-status'), /Kundenservice führt die Löschung durch/);
    assert.match(await p.textContent('#deletion-status'), /Ich brauche das Konto nicht mehr\./);
    assert.match(await announced(p), /ist eingegangen/);
    await mainPage(p, 'dashboard-deletion-open');

    // still open after a reload, and in the next download
    await p.reload();
    await ready(p);
    await p.waitForSelector('#deletion-status');
    assert.equal(await p.locator('button[data-action="deletion"]').count(), 0);
    const [again] = await Promise.all([p.waitForEvent('download'), p.click('button[data-action="export"]')]);
    const data2 = JSON.parse(fs.readFileSync(await again.path(), 'utf8'));
    assert.equal(data2.account.deletionRequest.reason, 'Ich brauche das Konto nicht mehr.');

    // the mail, the back office's list, and the operator deletes the account
    const mail = await sys.mail(email, /Unser Kundenservice führt die Löschung durch/);
    assert.match(mail, /Ich brauche das Konto nicht mehr\./);
    const listed = sys.tpctl('account', 'deletion-requests', '--json');
    const mine = (listed.reply.requests || []).filter((r) => r.email === email);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].accountId, data.account.accountId);
    sys.tpctl('account', 'delete', data.account.accountId, '--reason', 'wie im Portal beantragt');
    const after = sys.tpctl('account', 'deletion-requests', '--json');
    assert.equal((after.reply.requests || []).filter((r) => r.email === email).length, 0);
    watcher.assertClean('my data');
    await p.close();
  });
});
