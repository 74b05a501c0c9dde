// app.js: the portal's shell: header with language switch and navigation, footer, and
// a small hash router (#/login, #/orders/<id>, ...) that renders one page at a time.
import { h, clear, notice } from './dom.js';
import { t, lang, setLang } from './i18n.js';
import { session, loadSession, logout, setUnauthenticatedHandler, ApiError } from './api.js';
import * as auth from './pages/auth.js';
import * as dashboard from './pages/dashboard.js';
import * as orders from './pages/orders.js';
import * as wizard from './pages/wizard.js';
import * as products from './pages/products.js';
import * as shop from './pages/shop.js';
import * as officer from './pages/officer.js';
import * as revoke from './pages/revoke.js';
import * as help from './pages/help.js';
import { SUPPORT, READER_SHOP } from './config.js';
import { liveSync, onLive } from './live.js';


// who: 'anon' (logged-out only), 'user' (logged in), 'officer', 'any'
const ROUTES = [
  { path: 'login', page: auth.loginPage, who: 'anon', nav: 'login' },
  { path: 'register', page: auth.registerPage, who: 'anon', nav: 'register' },
  { path: 'confirm', page: auth.confirmPage, who: 'any' },
  { path: 'forgot', page: auth.forgotPage, who: 'anon' },
  { path: 'reset', page: auth.resetPage, who: 'any' },
  { path: 'dashboard', page: dashboard.page, who: 'user', nav: 'dashboard' },
  { path: 'orders', page: orders.listPage, who: 'user', nav: 'orders' },
  { path: 'orders/:id', page: orders.detailPage, who: 'user', nav: 'orders' },
  { path: 'order/new', page: wizard.page, who: 'user', nav: 'order/new' },
  { path: 'products', page: products.page, who: 'user', nav: 'products' },
  { path: 'shop', page: shop.redeemPage, who: 'user', nav: 'shop' },
  { path: 'shop/:id', page: shop.shopPage, who: 'user', nav: 'shop/:id' },
  { path: 'officer', page: officer.page, who: 'officer', nav: 'officer' },
  { path: 'revoke', page: revoke.page, who: 'any', nav: 'revoke' },
  { path: 'help', page: help.page, who: 'any', nav: 'help' },
];

let renderSeq = 0;
let firstRender = true;
let flashMsg = null;
let menuOpen = false;

/** A message shown once on the next page (e.g. "logged out"). */
export function flash(kind, text) { flashMsg = { kind, text }; }

export function go(route) {
  const target = `#/${route}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const q = raw.indexOf('?');
  const path = (q >= 0 ? raw.slice(0, q) : raw).replace(/\/+$/, '');
  const query = new URLSearchParams(q >= 0 ? location.hash.slice(location.hash.indexOf('?') + 1) : '');
  return { path, query };
}

function match(path) {
  const segs = path.split('/');
  for (const r of ROUTES) {
    const rs = r.path.split('/');
    if (rs.length !== segs.length) continue;
    const params = {};
    let ok = true;
    rs.forEach((s, i) => {
      if (s.startsWith(':')) params[s.slice(1)] = segs[i];
      else if (s !== segs[i]) ok = false;
    });
    if (ok) return { route: r, params };
  }
  return null;
}

// ------------------------------------------------------------------ chrome

function langSwitch() {
  const mk = (l) => h('button', {
    type: 'button', class: 'lang-btn', lang: l, 'aria-pressed': String(lang() === l),
    'aria-label': `${l.toUpperCase()} – ${t(`lang.${l}`)}`, 'data-lang': l,
    on: { click: () => switchLang(l) },
  }, l.toUpperCase());
  return h('div', { class: 'lang-switch', role: 'group', 'aria-labelledby': 'lang-label' },
    h('span', { id: 'lang-label', class: 'lang-label', text: t('lang.label') }), mk('de'), mk('en'));
}

function navItems(current) {
  const items = [];
  const add = (route, text, extra = {}) => items.push({ route, text, ...extra });
  if (session.loggedIn) {
    add('dashboard', t('nav.dashboard'));
    add('order/new', t('nav.newOrder'));
    add('orders', t('nav.orders'));
    add('products', t('nav.products'));
    for (const s of session.shops) add(`shop/${s.shopId}`, s.name || s.shopId, { cls: 'nav-shop', label: `${t('nav.shopPrefix')}: ${s.name || s.shopId}` });
    add('shop', t('nav.addShop'), { label: t('nav.addShopLong'), cls: 'nav-addshop' });
    if (session.isOfficer) add('officer', t('nav.officer'));
    add('help', t('nav.help'));
  } else {
    add('login', t('nav.login'));
    add('register', t('nav.register'));
    add('help', t('nav.help'));
  }
  return items.map((it) => {
    const isCurrent = current === it.route || (it.route === 'orders' && current.startsWith('orders/'));
    return h('li', {}, h('a', {
      href: `#/${it.route}`, class: ['nav-link', it.cls], 'aria-current': isCurrent ? 'page' : null,
      'aria-label': it.label, 'data-route': it.route,
    }, it.text));
  });
}

function renderHeader(path) {
  const header = document.getElementById('site-header');
  clear(header);
  const menuBtn = h('button', {
    type: 'button', class: 'menu-toggle', 'aria-expanded': String(menuOpen), 'aria-controls': 'nav-list',
    on: { click: () => { menuOpen = !menuOpen; renderHeader(path); document.querySelector('.menu-toggle').focus(); } },
  }, h('span', { class: 'menu-icon', 'aria-hidden': 'true' }), t('nav.menu'));
  const user = session.loggedIn ? h('div', { class: 'user-box' },
    h('span', { class: 'user-email' }, h('span', { class: 'visually-hidden', text: `${t('nav.loggedInAs')} ` }), session.me.email || ''),
    h('button', { type: 'button', class: 'btn btn-link logout', on: { click: doLogout } }, t('nav.logout'))) : null;
  header.append(
    h('div', { class: 'topbar' }, h('div', { class: 'container topbar-inner' },
      h('a', { class: 'brand', href: session.loggedIn ? '#/dashboard' : '#/login' },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
        h('span', { class: 'brand-text' }, h('span', { class: 'brand-name', text: t('app.name') }), h('span', { class: 'brand-tagline', text: t('app.tagline') }))),
      h('div', { class: 'topbar-tools' },
        langSwitch(),
        h('a', { class: 'emergency-link', href: '#/revoke', 'data-route': 'revoke', 'aria-current': path === 'revoke' ? 'page' : null }, h('span', { class: 'emergency-icon', 'aria-hidden': 'true' }), t('nav.revoke')),
        user))),
    h('nav', { class: 'mainnav', 'aria-label': t('nav.label') }, h('div', { class: 'container mainnav-inner' },
      menuBtn,
      h('ul', { id: 'nav-list', class: ['nav-list', menuOpen ? 'is-open' : null] }, navItems(path)))));
}

function renderFooter() {
  const footer = document.getElementById('site-footer');
  clear(footer);
  footer.append(h('div', { class: 'container footer-inner' },
    h('div', { class: 'footer-col' },
      h('p', { class: 'footer-title', text: t('footer.support') }),
      h('p', {}, `${t('footer.phone')}: `, h('a', { href: SUPPORT.phoneHref, text: SUPPORT.phone })),
      h('p', {}, `${t('footer.mail')}: `, h('a', { href: `mailto:${SUPPORT.mail}`, text: SUPPORT.mail }))),
    h('ul', { class: 'footer-col footer-links' },
      h('li', {}, h('a', { href: '#/revoke', class: 'footer-revoke', text: t('footer.revoke') })),
      h('li', {}, h('a', { href: '#/help', text: t('footer.help') })),
      h('li', {}, h('a', { href: READER_SHOP, rel: 'noopener noreferrer', target: '_blank', text: t('footer.readers') }))),
    h('p', { class: 'footer-about', text: t('footer.about') })));
}

async function doLogout() {
  try { await logout(); } catch { /* the session ends here anyway */ }
  wizard.reset();
  flash('success', t('login.loggedOut'));
  go('login');
}

function switchLang(l) {
  const saved = saveInputs();
  setLang(l);
  render({ keepFocus: true }).then(() => {
    restoreInputs(saved);
    const b = document.querySelector(`.lang-btn[data-lang="${l}"]`);
    if (b) b.focus();
  });
}

/** Typed values survive a re-render (language switch): by element id. */
function saveInputs() {
  const out = [];
  for (const el of document.querySelectorAll('#main input, #main select, #main textarea')) {
    if (!el.id) continue;
    out.push([el.id, el.type === 'checkbox' || el.type === 'radio' ? el.checked : el.value]);
  }
  return out;
}

function restoreInputs(saved) {
  for (const [id, v] of saved) {
    const el = document.getElementById(id);
    if (!el) continue;
    if (el.type === 'checkbox' || el.type === 'radio') el.checked = v;
    else if (el.value !== v) el.value = v;
  }
}

// ------------------------------------------------------------------ router

async function render({ keepFocus = false } = {}) {
  const seq = ++renderSeq;
  const { path, query } = parseHash();
  if (!path) { location.replace(session.loggedIn ? '#/dashboard' : '#/login'); return; }
  const m = match(path);
  const main = document.getElementById('main');
  if (m) {
    const who = m.route.who;
    if ((who === 'user' || who === 'officer') && !session.loggedIn) {
      location.replace(`#/login?next=${encodeURIComponent(path + (query.toString() ? `?${query}` : ''))}`);
      return;
    }
    if (who === 'anon' && session.loggedIn) { location.replace('#/dashboard'); return; }
  }
  if (!keepFocus) menuOpen = false;
  document.documentElement.lang = lang();
  document.getElementById('skip').textContent = t('app.skip');
  renderHeader(m ? (m.route.path.includes(':') ? path : m.route.path) : path);
  renderFooter();
  clear(main);
  main.setAttribute('aria-busy', 'true');
  if (flashMsg) { main.append(notice(flashMsg.kind, flashMsg.text)); flashMsg = null; }
  liveSync();
  const ctx = {
    params: m ? m.params : {},
    query,
    alive: () => seq === renderSeq,
    // fn(kind, data) for each live change while this page is on screen
    // (a change that redraws the element holding the focus hands the focus on: to the
    // element of the same id, else the page's heading, never to nowhere)
    onLive: (fn) => {
      const off = onLive(async (kind, data) => {
        if (seq !== renderSeq) { off(); return; }
        const before = document.activeElement;
        await fn(kind, data);
        if (seq !== renderSeq || !before || before === document.body || before.isConnected) return;
        const same = before.id && document.getElementById(before.id);
        const next = same || document.getElementById('main').querySelector('h1');
        if (next) next.focus({ preventScroll: true });
      });
    },
    title: (s) => { document.title = `${s} – ${t('app.name')}`; },
    go,
    rerender: () => render({ keepFocus: true }),
    same: keepFocus,   // a re-render of the same page (language switch, wizard step)
  };
  try {
    if (!m) notFound(main, ctx);
    else if (m.route.who === 'officer' && !session.isOfficer) {
      ctx.title(t('officer.title'));
      main.append(h('h1', { tabindex: '-1', text: t('officer.title') }), notice('info', t('officer.notOfficer')));
    } else await m.route.page(main, ctx);
  } catch (e) {
    if (!(e instanceof ApiError)) console.error('portal: page failed', e);   // a bug, not an answer
    if (seq !== renderSeq) return;
    main.append(notice('error', errorOf(e)));
  }
  if (seq !== renderSeq) return;
  main.removeAttribute('aria-busy');
  if (!firstRender && !keepFocus) {
    const h1 = main.querySelector('h1');
    (h1 || main).focus({ preventScroll: false });
    window.scrollTo(0, 0);
  }
  firstRender = false;
}

function errorOf(e) {
  if (e && e.code && e.code !== 'internal') {
    const k = `err.${e.code}`;
    const s = t(k);
    if (s !== k) return s;
  }
  return t('err.generic');
}

function notFound(main, ctx) {
  ctx.title(t('app.notFoundTitle'));
  main.append(h('h1', { tabindex: '-1', text: t('app.notFoundTitle') }), h('p', { text: t('app.notFound') }),
    h('p', {}, h('a', { href: '#/', text: t('app.toStart') })));
}

async function start() {
  document.documentElement.lang = lang();
  document.getElementById('skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    const main = document.getElementById('main');
    (main.querySelector('h1') || main).focus();
  });
  setUnauthenticatedHandler(() => {
    flash('info', t('login.expired'));
    const { path } = parseHash();
    location.replace(`#/login?next=${encodeURIComponent(path)}`);
  });
  try { await loadSession(); } catch { /* shown by the pages */ }
  window.addEventListener('hashchange', () => render());
  await render();
  document.body.classList.add('is-ready');
}

start();
