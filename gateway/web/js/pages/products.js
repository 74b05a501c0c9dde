// products.js: "Meine Produkte": each card with status colour and text, validity,
// active/inactive, its certificates, a refresh, and "Sperren" (reason, then a
// confirmation step).
import { h, fill, notice, radios, field, busy, showErrors, errorSummary } from '../dom.js';
import { t, fmtDateTime, fmtDate, fmtNow, errorText, isSet } from '../i18n.js';
import { api, catalog } from '../api.js';
import { announce } from '../live.js';
import { productBadge, productName, learnCatalog, dl } from '../format.js';

const REASONS = ['card_lost', 'suspected_misuse', 'other'];
const open = new Map();     // productId -> {stage: 'reason'|'confirm', reason, comment}
const doneMsg = new Set();  // productIds whose revocation was just requested

function activity(p) {
  if (p.active) return h('span', { class: 'activity is-active' }, h('span', { class: 'activity-icon', 'aria-hidden': 'true' }), t('products.active'));
  const key = p.inactiveReason ? `products.inactive.${p.inactiveReason}` : 'products.inactive';
  const text = t(key) === key ? t('products.inactive') : t(key);
  return h('span', { class: 'activity is-inactive' }, h('span', { class: 'activity-icon', 'aria-hidden': 'true' }), text);
}

function certTable(p) {
  const certs = p.certificates || [];
  if (!certs.length) return null;
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table certs' },
    h('caption', { text: t('products.certs') }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('products.cert.kind') }), h('th', { scope: 'col', text: t('products.cert.serial') }), h('th', { scope: 'col', text: t('products.cert.valid') }))),
    h('tbody', {}, certs.map((c) => h('tr', {},
      h('td', { 'data-label': t('products.cert.kind'), text: t(`cert.${c.kind}`) === `cert.${c.kind}` ? c.kind : t(`cert.${c.kind}`) }),
      h('td', { 'data-label': t('products.cert.serial') }, h('code', { text: (c.serial || '').toUpperCase() })),
      h('td', { 'data-label': t('products.cert.valid'), text: t('products.validFromTo', { from: fmtDate(c.validFromUs), to: fmtDate(c.validToUs) }) }))))));
}

function revokeArea(p, ctx, rerender) {
  const st = open.get(p.productId);
  const card = p.cardNumber || p.productId;
  if (doneMsg.has(p.productId)) return notice('success', t('products.revokeDone'));
  if (!(p.status === 'gueltig' || p.status === 'nicht_freigeschaltet')) return null;
  if (!st) {
    return h('p', { class: 'actions' }, h('button', {
      type: 'button', class: 'btn btn-danger', 'data-action': 'revoke', 'aria-label': `${t('products.revoke')}: ${card}`,
      on: { click: () => { open.set(p.productId, { stage: 'reason', reason: '', comment: '' }); rerender(`rv-${p.productId}`); } },
    }, t('products.revoke')));
  }
  const box = h('div', { class: 'revoke-box', id: `rv-${p.productId}`, tabindex: '-1', role: 'region', 'aria-label': t('products.revokeTitle', { card }) },
    h('h3', { text: t('products.revokeTitle', { card }) }));
  if (st.stage === 'reason') {
    const f = h('form', { class: 'form', novalidate: true }, errorSummary(),
      radios({ path: `reason-${p.productId}`, legend: t('products.revokeReason'), value: st.reason,
        options: REASONS.map((r) => ({ value: r, label: t(`reason.${r}`) })), onChange: (v) => { st.reason = v; } }),
      field({ path: `comment-${p.productId}`, label: t('products.revokeComment'), type: 'textarea', value: st.comment, maxlength: 500, onInput: (v) => { st.comment = v; } }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'revoke-continue' }, t('products.revokeContinue')),
        h('button', { type: 'button', class: 'btn btn-secondary', on: { click: () => { open.delete(p.productId); rerender(); } } }, t('form.cancel'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!st.reason) { showErrors(f, { code: 'local', details: [{ field: `reason-${p.productId}`, code: 'local', message: t('form.required') }] }); return; }
      st.stage = 'confirm';
      rerender(`rv-${p.productId}`);
    });
    box.append(f);
  } else {
    const f = h('form', { class: 'form', novalidate: true }, errorSummary(),
      notice('warning', t('products.revokeConfirmText', { card })),
      dl([[t('products.revokeReason'), t(`reason.${st.reason}`)], [t('products.revokeComment'), st.comment]]),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'revoke-confirm' }, t('products.revokeConfirm')),
        h('button', { type: 'button', class: 'btn btn-secondary', on: { click: () => { open.delete(p.productId); rerender(); } } }, t('form.cancel'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(f.querySelector('[data-action=revoke-confirm]'), async () => {
        try {
          const body = { reason: st.reason };
          if (st.comment.trim()) body.comment = st.comment.trim();
          await api('POST', `/products/${encodeURIComponent(p.productId)}/revocation`, body);
          open.delete(p.productId);
          doneMsg.add(p.productId);
          rerender(`pc-${p.productId}`);
        } catch (e) {
          showErrors(f, { code: e.code, field: '', message: e.message }, { context: 'revoke' });
        }
      });
    });
    box.append(f);
  }
  return box;
}

function productCard(p, ctx, rerender) {
  const card = p.cardNumber || '';
  const status = p.status || 'nicht_freigeschaltet';
  return h('article', { class: ['product-card', `pstatus-card-${status}`], id: `pc-${p.productId}`, tabindex: '-1', 'data-product': p.productId, 'aria-labelledby': `pt-${p.productId}` },
    h('header', { class: 'order-card-head' },
      h('h2', { id: `pt-${p.productId}`, class: 'order-card-title' }, productName(p.productType), card ? h('span', { class: 'order-number', text: ` · ${card}` }) : null),
      productBadge(status)),
    h('p', { class: 'status-text', text: t(`pstatusText.${status}`) }),
    dl([
      [t('products.card'), card],
      [t('products.validity'), isSet(p.validFromUs) || isSet(p.validToUs) ? t('products.validFromTo', { from: fmtDate(p.validFromUs), to: fmtDate(p.validToUs) }) : ''],
      [t('products.activity'), activity(p)],
      [t('order.status'), status === 'nicht_freigeschaltet' && isSet(p.activatesAtUs) ? t('products.activatesAt', { time: fmtDateTime(p.activatesAtUs) }) : ''],
      [t('pstatus.gesperrt'), isSet(p.revokedAtUs) ? t('products.revokedAt', { time: fmtDateTime(p.revokedAtUs) }) : ''],
      [t('products.order'), p.orderId ? h('a', { href: `#/orders/${encodeURIComponent(p.orderId)}`, text: p.orderId }) : ''],
    ]),
    certTable(p),
    revokeArea(p, ctx, rerender));
}

export async function page(main, ctx) {
  ctx.title(t('products.title'));
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const list = h('div', { class: 'product-list' });
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-secondary refresh', 'data-action': 'refresh' },
    h('span', { class: 'refresh-icon', 'aria-hidden': 'true' }), t('products.refresh'));
  main.append(h('div', { class: 'page-head' },
    h('div', {}, h('h1', { tabindex: '-1', text: t('products.title') }), h('p', { class: 'muted', text: t('products.intro') })),
    h('div', { class: 'page-actions' }, refreshBtn)), live, list);
  let products = [];
  const draw = (focusId) => {
    fill(list, ...(products.length ? products.map((p) => productCard(p, ctx, draw)) : [h('p', { class: 'empty', text: t('products.none') })]));
    if (focusId) { const el = document.getElementById(focusId); if (el) el.focus(); }
  };
  const load = async () => {
    const [r, cat] = await Promise.all([api('GET', '/products'), catalog().catch(() => ({}))]);
    if (!ctx.alive()) return;
    learnCatalog(cat);
    products = (r && r.products) || [];
    for (const p of products) if (p.status === 'gesperrt') doneMsg.delete(p.productId);
    draw();
  };
  refreshBtn.addEventListener('click', () => busy(refreshBtn, async () => {
    try { await load(); live.textContent = t('dash.refreshed', { time: fmtNow() }); } catch (e) { list.prepend(notice('error', errorText(e))); }
  }));
  // a product's change as it happens: the list again, focus kept where it was
  ctx.onLive(async (kind, d) => {
    if (kind !== 'reset' && !(kind === 'product' && d.productId)) return;
    // a revocation being filled in is not wiped: the refresh button shows it afterwards
    if (list.querySelector('form')) return;
    try {
      const focused = document.activeElement && document.activeElement.id;
      await load();
      if (!ctx.alive()) return;
      if (focused) { const el = document.getElementById(focused); if (el) el.focus(); }
      const p = products.find((x) => x.productId === d.productId);
      if (p) announce(t('live.product', { name: productName(p.productType), status: t(`pstatus.${p.status || 'nicht_freigeschaltet'}`) }));
    } catch { /* the refresh button stays */ }
  });
  await load();
}
