// helpers.js: what the browser tests do again and again: screenshots at 390 and 1280 px,
// the axe-core check, waiting for the portal, signing up through the UI.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = process.env.TP_E2E_ARTIFACTS || path.join(HERE, 'artifacts');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const PASSWORD = 'ein langes Passwort 2026';

/** Waits until the portal has rendered the page at hash route @p route. */
export async function ready(page) {
  await page.waitForSelector('body.is-ready');
  await page.waitForFunction(() => !document.querySelector('#main[aria-busy="true"]'));
}

/** Screenshots of the current page at 390 and 1280 px into the artifacts folder. */
export async function capture(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const files = [];
  await page.mouse.move(0, 0);   // no hover effects in the pictures
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.waitForTimeout(100);
    const file = path.join(ARTIFACTS, `${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  return files;
}

/** axe-core in the page: no serious or critical findings (WCAG 2.x A/AA rules and best practices). */
export async function a11y(page, name) {
  await page.evaluate(AXE);   // evaluated through the DevTools protocol: the page's CSP stays strict
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of result.filter((x) => !bad.includes(x))) console.log(`# axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
  assert.deepEqual(bad, [], `axe on ${name}: ${JSON.stringify(bad, null, 1)}`);
  return result;
}

/** Both: the accessibility check and the screenshots of a main page. */
export async function mainPage(page, name) {
  await ready(page);
  await a11y(page, name);
  await capture(page, name);
}

/** The text of the page's main area. */
export const mainText = (page) => page.locator('#main').innerText();

/** Clicks a link of the main navigation by its route (the mobile menu is not used at 1280 px). */
export async function nav(page, route) {
  await page.click(`.nav-list a[data-route="${route}"]`);
  await ready(page);
}

/** Clicks "Aktualisieren" until @p check() is true (the back office works while we wait). */
export async function refreshUntil(page, what, check, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(300);
    await page.click('button[data-action="refresh"]');
    await page.waitForFunction(() => !document.querySelector('button[data-action="refresh"].is-busy'));
  }
}

/** Waits, touching nothing, until @p check() is true: the page updates itself (live). */
export async function liveUntil(page, what, check, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (no reload, no click)`);
    await page.waitForTimeout(100);
  }
}

/** What the live region announced last ("" when nothing). */
export async function announced(page) {
  return page.evaluate(() => (document.getElementById('live-announcer') || {}).textContent || '');
}

/** Register, confirm with the mailed link and the password, log in: all through the portal. */
export async function signup(page, sys, email, { language = 'de', except = '' } = {}) {
  await page.goto(`${sys.base}/#/register`);
  await ready(page);
  await page.fill('#f-email', email);
  await page.fill('#f-password', PASSWORD);
  await page.fill('#f-passwordRepeat', PASSWORD);
  await page.check(`input[name="language"][value="${language}"]`);
  await page.click('form button[type=submit]');
  await page.waitForSelector('.notice-success');
  let link = except;
  for (let i = 0; i < 100 && link === except; i++) {   // this registration's mail, not an older one
    if (i) await page.waitForTimeout(150);
    const mail = await sys.mail(email, /#\/confirm\?token=/);
    link = mail.match(/https?:\/\/\S+#\/confirm\?token=[A-Za-z0-9_\-]+/)[0];
  }
  await page.goto(link);
  await ready(page);
  await page.fill('#f-password', PASSWORD);   // the link works with this registration's password
  await page.click('form button[type=submit]');
  await page.waitForSelector('.confirm-status .notice-success');
  await page.click('.confirm-status a[href="#/login"]');
  await login(page, email);
  return link;
}

export async function login(page, email, password = PASSWORD) {
  await ready(page);
  await page.fill('#f-email', email);
  await page.fill('#f-password', password);
  await page.click('form button[type=submit]');
  await page.waitForSelector('button.logout');
  await ready(page);
}

export async function logout(page) {
  await page.click('button.logout');
  await page.waitForSelector('.nav-link[data-route="login"]');
  await ready(page);
}

/** The status of order @p id as shown on the page (data-status of its badge). */
export async function orderStatus(page, id) {
  const badge = page.locator(`[data-order="${id}"] .badge`).first();
  if (!(await badge.count())) return '';
  return badge.getAttribute('data-status');
}

/** The badge's colour: its computed background, as "r,g,b". */
export async function badgeColour(page, selector) {
  return page.locator(selector).first().evaluate((el) => getComputedStyle(el).backgroundColor.replace(/[^\d,]/g, ''));
}

/** Fills the wizard's applicant step. */
export async function fillApplicant(page, a) {
  await page.fill('#f-applicant-givenNames', a.givenNames);
  await page.fill('#f-applicant-familyName', a.familyName);
  await page.fill('#f-applicant-birthDate', a.birthDate);
  await page.fill('#f-applicant-birthPlace', a.birthPlace);
  await page.selectOption('#f-applicant-nationality', 'DE');
  await page.fill('#f-applicant-address-street', a.street);
  await page.fill('#f-applicant-address-postalCode', a.postalCode);
  await page.fill('#f-applicant-address-city', a.city);
  await page.selectOption('#f-applicant-address-country', 'DE');
  await page.fill('#f-applicant-phone', '+49 30 1234567');
  await page.check('input[name="applicant.documentType"][value="id-card"]');
  await page.fill('#f-applicant-documentNumber', a.documentNumber);
  await page.fill('#f-applicant-documentAuthority', a.documentAuthority);
  await page.fill('#f-applicant-documentExpiry', a.documentExpiry);
}

export async function next(page) {
  const step = await page.getAttribute('form.wizard-form', 'data-step');
  await page.click('form.wizard-form button[data-action="next"]');
  await page.waitForFunction((s) => document.querySelector('form.wizard-form')?.dataset.step !== s, step);
  await ready(page);
}

export const inYears = (n) => `${new Date().getUTCFullYear() + n}-06-30`;
