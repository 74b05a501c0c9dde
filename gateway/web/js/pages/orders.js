// orders.js: "Meine Bestellungen" (current and archive) and one order in detail.
import { h, notice } from '../dom.js';
import { t, fmtDateTime, fmtIsoDate, countryName, errorText } from '../i18n.js';
import { api, catalog, documentUrl } from '../api.js';
import { announce, newest } from '../live.js';
import { orderBadge, productName, learnCatalog, dl, stepList, documentLinks } from '../format.js';

export async function listPage(main, ctx) {
  const archived = ctx.query.get('archived') === 'true';
  ctx.title(t('orders.title'));
  const tab = (isArchive, text) => h('a', {
    href: isArchive ? '#/orders?archived=true' : '#/orders', class: ['tab', isArchive === archived ? 'is-current' : null],
    'aria-current': isArchive === archived ? 'page' : null,
  }, text);
  main.append(h('h1', { tabindex: '-1', text: t('orders.title') }),
    h('nav', { class: 'tabs', 'aria-label': t('orders.tabs') }, tab(false, t('orders.current')), tab(true, t('orders.archive'))));
  // an order's change as it happens: its status in the table in place, or the table again
  ctx.onLive(async (kind, d) => {
    if (kind === 'reset') { ctx.rerender(); return; }
    if (kind !== 'order' || !d.orderId) return;
    try {
      const still = newest(`order:${d.orderId}`);
      const o = await api('GET', `/orders/${encodeURIComponent(d.orderId)}`);
      if (!ctx.alive() || !still()) return;
      const cell = main.querySelector(`tr[data-order="${CSS.escape(d.orderId)}"] td.status-cell`);
      // in place when it is in this tab's table; the table again when it comes into this
      // tab or leaves it; an order of the other tab changes nothing here
      const belongs = Boolean(o.archived) === archived;
      if (cell && belongs) cell.replaceChildren(orderBadge(o.status));
      else if (belongs || cell) ctx.rerender();
      announce(t('live.order', { id: o.orderId, status: t(`status.${o.status || 'offen'}`) }));
    } catch { /* shown at the next visit */ }
  });
  const [r, cat] = await Promise.all([api('GET', `/orders?archived=${archived}`), catalog().catch(() => ({}))]);
  if (!ctx.alive()) return;
  learnCatalog(cat);
  const orders = (r && r.orders) || [];
  main.append(h('h2', { class: 'visually-hidden', text: archived ? t('orders.archive') : t('orders.current') }));
  if (archived) main.append(h('p', { class: 'muted', text: t('orders.archiveIntro') }));
  if (!orders.length) { main.append(h('p', { class: 'empty', text: archived ? t('orders.noneArchived') : t('orders.none') })); return; }
  main.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table orders-table' },
    h('caption', { class: 'visually-hidden', text: archived ? t('orders.archive') : t('orders.current') }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: t('order.number') }), h('th', { scope: 'col', text: t('order.product') }),
      h('th', { scope: 'col', text: t('order.placed') }), h('th', { scope: 'col', text: t('order.status') }))),
    h('tbody', {}, orders.map((o) => h('tr', { 'data-order': o.orderId },
      h('th', { scope: 'row' }, h('a', { href: `#/orders/${encodeURIComponent(o.orderId)}`, text: o.orderId })),
      h('td', { 'data-label': t('order.product') }, productName(o.productId), o.shopName ? h('span', { class: 'muted block', text: o.shopName }) : null),
      h('td', { 'data-label': t('order.placed'), text: fmtDateTime(o.placedAtUs) }),
      h('td', { 'data-label': t('order.status'), class: 'status-cell' }, orderBadge(o.status))))))));
}

export function addressText(a) {
  if (!a) return '';
  return [a.street, [a.postalCode, a.city].filter(Boolean).join(' '), countryName(a.country)].filter(Boolean).join(', ');
}

export async function detailPage(main, ctx) {
  const id = ctx.params.id;
  ctx.title(t('orderDetail.title', { id }));
  main.append(h('p', { class: 'backlink' }, h('a', { href: '#/orders', text: t('orderDetail.back') })),
    h('h1', { tabindex: '-1', text: t('orderDetail.title', { id }) }));
  let o;
  try {
    const [ord, cat] = await Promise.all([api('GET', `/orders/${encodeURIComponent(id)}`), catalog().catch(() => ({}))]);
    o = ord;
    learnCatalog(cat);
  } catch (e) {
    if (!ctx.alive()) return;
    main.append(notice('error', e.status === 404 ? t('orderDetail.notFound') : errorText(e)));
    return;
  }
  if (!ctx.alive()) return;
  const status = o.status || 'offen';
  const a = o.applicant || {};
  const org = o.organization;
  main.append(
    h('section', { class: ['panel', 'order-detail', `order-${status}`], 'data-order': o.orderId, 'aria-labelledby': 'od-status' },
      h('div', { class: 'order-card-head' }, h('h2', { id: 'od-status', text: productName(o.productId) }), orderBadge(status)),
      h('p', { class: 'status-text', text: t(`statusText.${status}`) }),
      status === 'wartend' && o.problem ? h('div', { class: 'problem', role: 'note' },
        h('strong', { text: t('order.problem') }), ' ', h('span', { class: 'problem-text', text: o.problem }), ' ', t('order.problemContact')) : null,
      dl([
        [t('order.number'), o.orderId],
        [t('order.placed'), fmtDateTime(o.placedAtUs)],
        [t('order.shop'), o.shopName || ''],
        [t('order.identMethod'), o.identMethod ? t(`ident.${o.identMethod}`) : ''],
        [t('order.postident'), o.postidentNumber || ''],
        [t('order.tracking'), o.trackingNumber || ''],
      ]),
      o.cardProductId ? h('p', {}, h('a', { href: '#/products', text: t('order.toProduct') })) : null),
    h('section', { class: 'panel', 'aria-labelledby': 'od-steps' }, h('h2', { id: 'od-steps', text: t('order.steps') }), stepList(o)),
    (o.documents || []).length ? h('section', { class: 'panel', 'aria-labelledby': 'od-docs' },
      h('h2', { id: 'od-docs', text: t('order.documents') }), documentLinks(o, documentUrl)) : null,
    h('section', { class: 'panel', 'aria-labelledby': 'od-app' }, h('h2', { id: 'od-app', text: t('orderDetail.applicant') }), dl([
      [t('f.givenNames'), a.givenNames], [t('f.familyName'), a.familyName],
      [t('f.birthDate'), fmtIsoDate(a.birthDate)], [t('f.birthPlace'), a.birthPlace],
      [t('f.nationality'), countryName(a.nationality)], [t('wiz.applicant.address'), addressText(a.address)],
      [t('f.email'), a.email], [t('f.phone'), a.phone],
      [t('f.documentType'), a.documentType ? t(a.documentType === 'passport' ? 'f.passport' : 'f.idCard') : ''],
      [t('f.documentNumber'), a.documentNumber], [t('f.documentAuthority'), a.documentAuthority],
      [t('f.documentExpiry'), fmtIsoDate(a.documentExpiry)],
    ])),
    org && org.name ? h('section', { class: 'panel', 'aria-labelledby': 'od-org' }, h('h2', { id: 'od-org', text: t('orderDetail.organization') }), dl([
      [t('f.orgName'), org.name], [t('f.registerCourt'), org.registerCourt], [t('f.registerNumber'), org.registerNumber],
      [t('wiz.org.address'), addressText(org.address)],
      [t('wiz.org.reps'), (org.representatives || []).map((r) => [r.givenNames, r.familyName].filter(Boolean).join(' ') + (r.role ? ` (${r.role})` : '')).join('; ')],
    ])) : null);
}
