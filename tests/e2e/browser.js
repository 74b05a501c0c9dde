// browser.js: headless Debian chromium through playwright-core (never a downloaded
// browser), a fresh profile per run, and the page watchers every test uses: any console
// error, page error or failed request fails the test, as does any HTTP error answer the
// test did not announce with expect().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.TP_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--lang=de-DE'];

/**
 * Launches chromium (playwright gives it a fresh temporary user-data-dir, removed at
 * close; downloads go to a temporary folder of ours); newContext()
 * gives each person of a test a browser of their own (cookies, localStorage).
 */
export async function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install chromium)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ARGS,
    downloadsPath: path.join(tmp, 'downloads'),
  });
  return {
    browser,
    newContext: () => browser.newContext({
      viewport: { width: 1280, height: 900 }, locale: 'de-DE', timezoneId: 'Europe/Berlin', acceptDownloads: true,
    }),
    async close() {
      await browser.close().catch(() => {});
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Watches @p page: problems() lists every console error, page error, failed request and
 * unexpected HTTP error answer. expect(status, urlPart) announces one error answer the
 * test provokes on purpose (e.g. a 400 for a field error); it is consumed once seen.
 */
export function watch(page) {
  const problems = [];
  const expected = [];
  const seenErrors = [];   // URLs of HTTP error answers that were expected (their console lines are fine)
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = (msg.location() && msg.location().url) || '';
    if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text()) && seenErrors.some((u) => u === url || url === '')) return;
    problems.push(`console error: ${msg.text()} ${url}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const f = req.failure();
    // a download the browser hands to the download manager is reported as aborted
    if (f && /ERR_ABORTED/.test(f.errorText) && /\/documents\//.test(req.url())) return;
    // the live-update stream never ends by itself: closing it (log out, a closed tab) aborts it
    if (f && /ERR_ABORTED/.test(f.errorText) && /\/api\/v1\/events$/.test(req.url())) return;
    // the icon, fetched lazily by the browser, is dropped when a reload comes first
    if (f && /ERR_ABORTED/.test(f.errorText) && /\/img\/favicon\.svg$/.test(req.url())) return;
    problems.push(`request failed: ${req.method()} ${req.url()} ${f ? f.errorText : ''}`);
  });
  page.on('response', (resp) => {
    const status = resp.status();
    if (status < 400) return;
    const i = expected.findIndex((e) => e.status === status && resp.url().includes(e.url));
    if (i >= 0) { expected.splice(i, 1); seenErrors.push(resp.url()); return; }
    problems.push(`HTTP ${status}: ${resp.request().method()} ${resp.url()}`);
  });
  return {
    problems,
    expect(status, url) { expected.push({ status, url }); },
    assertClean(where = '') {
      if (problems.length) throw new Error(`browser problems${where ? ` (${where})` : ''}:\n  ${problems.join('\n  ')}`);
    },
  };
}
