// i18n.js: the language (DE/EN, remembered in localStorage), texts, dates and the
// localized error messages.
import { TEXTS, MESSAGES_DE } from './texts.js';

const KEY = 'tp.lang';
let current = 'de';
try {
  const stored = localStorage.getItem(KEY);
  if (stored === 'de' || stored === 'en') current = stored;
} catch { /* storage blocked: German */ }

export function lang() { return current; }

export function setLang(l) {
  if (l !== 'de' && l !== 'en') return;
  current = l;
  try { localStorage.setItem(KEY, l); } catch { /* not remembered */ }
  document.documentElement.lang = l;
}

/** The text @p key in the current language, with {name} placeholders filled from @p params. */
export function t(key, params) {
  let s = TEXTS[current][key];
  if (s === undefined) s = TEXTS.de[key];
  if (s === undefined) return key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
  return s;
}

export function has(key) { return TEXTS[current][key] !== undefined; }

const locale = () => (current === 'de' ? 'de-DE' : 'en-GB');

/** A time from the API (microseconds since the epoch, as a string or number) -> Date or null. */
export function usToDate(us) {
  if (us === undefined || us === null || us === '' || us === '0' || us === 0) return null;
  const ms = Number(BigInt(us) / 1000n);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : null;
}

/** True when an API time (microseconds, "0" when unset) is set. */
export function isSet(us) { return usToDate(us) !== null; }

export function fmtDateTime(us) {
  const d = usToDate(us);
  return d ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d) : '';
}

export function fmtDate(us) {
  const d = usToDate(us);
  return d ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(d) : '';
}

/** "1984-08-12" -> the local date text. */
export function fmtIsoDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return s || '';
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

export function fmtNow() {
  return new Intl.DateTimeFormat(locale(), { timeStyle: 'medium' }).format(new Date());
}

let regionNames = {};
/** The country's name for an ISO 3166-1 alpha-2 code. */
export function countryName(code) {
  if (!code) return '';
  if (!regionNames[current]) {
    try { regionNames[current] = new Intl.DisplayNames([locale()], { type: 'region' }); } catch { regionNames[current] = null; }
  }
  try { return regionNames[current] ? regionNames[current].of(code) : code; } catch { return code; }
}

/** The localized text of one API error {code, field, message}; @p context picks variants ("revoke"). */
export function errorText(e, context) {
  const code = e.code || '';
  if (code === 'local') return e.message;   // found in the browser, already in the language
  if (context && has(`err.${code}.${context}`)) return t(`err.${code}.${context}`);
  if (code && code !== 'invalid' && code !== 'internal' && has(`err.${code}`)) return t(`err.${code}`);
  const msg = (e.message || '').trim();
  if (code === 'invalid' || code === 'invalid_json' || !code) {
    if (current === 'de') {
      for (const [re, text] of MESSAGES_DE) {
        const m = msg.match(re);
        if (m) return m[0].replace(re, text);
      }
      return t('err.invalid');
    }
    if (msg) return msg.charAt(0).toUpperCase() + msg.slice(1) + (msg.endsWith('.') ? '' : '.');
    return t('err.invalid');
  }
  return t('err.generic');
}
