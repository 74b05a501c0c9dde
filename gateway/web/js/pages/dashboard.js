// dashboard.js: after login: each active order with its status (colour and text) and
// steps, a Wartend order with what is wrong; the products in short; the status-mail
// setting; "Meine Daten" (mydata.js).
import { h, fill, notice, busy } from '../dom.js';
import { t, fmtDateTime, fmtNow, errorText } from '../i18n.js';
import { api, session, catalog, documentUrl } from '../api.js';
import { announce, newest } from '../live.js';
import { orderBadge, productBadge, stepList, productName, learnCatalog, dl, documentLinks } from '../format.js';
import { myData } from './mydata.js';

/** One order as a card: number, product, status with its explanation, problem, steps, documents. */
const RECENT_DAYS = 14;

export function orderCard(o, { headingLevel = 'h3', details = true } = {}) {
  const status = o.status || 'offen';
  const H = headingLevel;
  return h('article', { class: ['order-card', `order-${status}`], 'data-order': o.orderId, 'aria-labelledby': `oc-${o.orderId}` },
    h('header', { class: 'order-card-head' },
      h(H, { id: `oc-${o.orderId}`, class: 'order-card-title' },
        productName(o.productId), h('span', { class: 'order-number' }, ` · ${o.orderId}`)),
      orderBadge(status)),
    h('p', { class: 'status-text', text: t(`statusText.${status}`) }),
    status === 'wartend' && o.problem ? h('div', { class: 'problem', role: 'note' },
      h('strong', { text: t('order.problem') }), ' ', h('span', { class: 'problem-text', text: o.problem }), ' ', t('order.problemContact')) : null,
    dl([
      [t('order.placed'), fmtDateTime(o.placedAtUs)],
      [t('order.shop'), o.shopName || ''],
      [t('order.identMethod'), o.identMethod ? t(`ident.${o.identMethod}`) : ''],
      [t('order.postident'), o.postidentNumber || ''],
      [t('order.tracking'), o.trackingNumber || ''],
    ], 'facts-inline'),
    h('h' + (Number(H.slice(1)) + 1), { class: 'subhead', text: t('order.steps') }),
    stepList(o),
    (o.documents || []).length && status === 'offen' ? h('div', { class: 'order-docs' },
      h('h' + (Number(H.slice(1)) + 1), { class: 'subhead', text: t('order.documents') }),
      documentLinks(o, documentUrl)) : null,
    details ? h('p', { class: 'order-more' }, h('a', { href: `#/orders/${encodeURIComponent(o.orderId)}`, 'aria-label': `${t('order.details')}: ${o.orderId}` }, t('order.details'))) : null);
}

export function productSummary(p) {
  return h('li', { class: 'product-line', 'data-product': p.productId },
    h('span', { class: 'product-line-name' }, productName(p.productType), p.cardNumber ? ` · ${p.cardNumber}` : ''),
    productBadge(p.status));
}

export async function page(main, ctx) {
  ctx.title(t('dash.title'));
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const body = h('div', { class: 'dash-body' });
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-secondary refresh', 'data-action': 'refresh' },
    h('span', { class: 'refresh-icon', 'aria-hidden': 'true' }), t('dash.refresh'));
  main.append(
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { tabindex: '-1', text: t('dash.title') }), h('p', { class: 'muted', text: t('dash.hello', { email: session.me.email || '' }) })),
      h('div', { class: 'page-actions' }, refreshBtn, h('a', { class: 'btn btn-primary', href: '#/order/new', text: t('dash.startOrder') }))),
    live, body, myData());
  const load = async () => {
    const [ord, arch, prod, cat] = await Promise.all([
      api('GET', '/orders?archived=false'),
      api('GET', '/orders?archived=true').catch(() => ({})),
      api('GET', '/products').catch((e) => ({ error: e })),
      catalog().catch(() => ({})),
    ]);
    if (!ctx.alive()) return;
    learnCatalog(cat);
    const orders = (ord && ord.orders) || [];
    // completed orders stay on the dashboard for a while (then only in the archive)
    const since = BigInt(Date.now() - RECENT_DAYS * 86400000) * 1000n;
    const recent = ((arch && arch.orders) || []).filter((o) => {
      const d = (o.steps || []).find((s) => s.name === 'delivery');
      return d && d.done && d.doneAtUs && BigInt(d.doneAtUs) >= since;
    });
    fill(body, 
      h('section', { class: 'dash-section', 'aria-labelledby': 'dash-orders' },
        h('h2', { id: 'dash-orders', text: t('dash.activeOrders') }),
        orders.length ? h('div', { class: 'order-list' }, orders.map((o) => orderCard(o))) : h('p', { class: 'empty', text: t('dash.noOrders') }),
        h('p', {}, h('a', { href: '#/orders', text: t('dash.allOrders') }))),
      recent.length ? h('section', { class: 'dash-section', 'aria-labelledby': 'dash-recent' },
        h('h2', { id: 'dash-recent', text: t('dash.recent') }),
        h('p', { class: 'muted', text: t('dash.recentIntro', { days: RECENT_DAYS }) }),
        h('div', { class: 'order-list' }, recent.map((o) => orderCard(o)))) : null,
      h('section', { class: 'dash-section', 'aria-labelledby': 'dash-products' },
        h('h2', { id: 'dash-products', text: t('dash.products') }),
        prod && prod.error ? notice('warning', errorText(prod.error)) :
          ((prod && prod.products) || []).length ? h('ul', { class: 'product-lines' }, prod.products.map(productSummary)) :
            h('p', { class: 'empty', text: t('dash.noProducts') }),
        h('p', {}, h('a', { href: '#/products', text: t('dash.allProducts') }))),
      mailSetting());
  };
  // the status mails: on or off (revocation mails always go)
  const mailSetting = () => {
    const box = h('input', { type: 'checkbox', id: 'f-statusMails', checked: (session.me || {}).statusMails !== 'off' });
    const msg = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
    box.addEventListener('change', async () => {
      box.disabled = true;
      try {
        const r = await api('POST', '/me/notifications', { statusMails: box.checked ? 'on' : 'off' });
        if (session.me) session.me.statusMails = r.statusMails;
        box.checked = r.statusMails !== 'off';
        msg.textContent = t(box.checked ? 'dash.mailsOn' : 'dash.mailsOff');
      } catch (e) {
        box.checked = !box.checked;
        msg.textContent = errorText(e);
      } finally { box.disabled = false; }
    });
    return h('section', { class: 'dash-section', 'aria-labelledby': 'dash-mails' },
      h('h2', { id: 'dash-mails', text: t('dash.mails') }),
      h('p', { class: 'checkbox-line' }, box, ' ', h('label', { for: 'f-statusMails', text: t('dash.statusMails') })),
      h('p', { class: 'muted', text: t('dash.mailsNote') }), msg);
  };
  refreshBtn.addEventListener('click', () => busy(refreshBtn, async () => {
    try {
      await load();
      live.textContent = t('dash.refreshed', { time: fmtNow() });
    } catch (e) { body.prepend(notice('error', errorText(e))); }
  }));
  // changes as they happen: the card or line in place, or the whole view when it is new
  ctx.onLive(async (kind, d) => {
    try {
      if (kind === 'order' && d.orderId) {
        const still = newest(`order:${d.orderId}`);
        const o = await api('GET', `/orders/${encodeURIComponent(d.orderId)}`);
        if (!ctx.alive() || !still()) return;
        const card = body.querySelector(`article[data-order="${CSS.escape(d.orderId)}"]`);
        if (card && !o.archived) card.replaceWith(orderCard(o));
        else await load();
        announce(t('live.order', { id: o.orderId, status: t(`status.${o.status || 'offen'}`) }));
      } else if (kind === 'product' && d.productId) {
        const still = newest(`product:${d.productId}`);
        const p = await api('GET', `/products/${encodeURIComponent(d.productId)}`);
        if (!ctx.alive() || !still()) return;
        const line = body.querySelector(`li[data-product="${CSS.escape(d.productId)}"]`);
        if (line) line.replaceWith(productSummary(p));
        else await load();
        announce(t('live.product', { name: productName(p.productType), status: t(`pstatus.${p.status || 'nicht_freigeschaltet'}`) }));
      } else if (kind === 'reset') await load();
    } catch { /* the refresh button stays */ }
  });
  await load();
}
