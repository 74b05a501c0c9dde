// shop.js: "+Shop" (redeem a shop code) and a shop's own page with its product choice.
import { h, field, notice, errorSummary, showErrors, clearErrors, busy } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { api, session, refreshSession, catalog } from '../api.js';
import { productName, methodName, learnCatalog } from '../format.js';
import { requireFields } from './auth.js';

let lastRedeemed = null;

export async function redeemPage(main, ctx) {
  ctx.title(t('shop.title'));
  const out = h('div', { 'aria-live': 'polite' });
  const f = h('form', { class: 'form', novalidate: true }, errorSummary(),
    field({ path: 'code', label: t('shop.code'), required: true, hint: t('shop.codeHint'), width: 'medium', autocapitalize: 'characters' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('shop.submit') })));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!requireFields(f, ['code'])) return;
    await busy(f.querySelector('button[type=submit]'), async () => {
      try {
        const r = await api('POST', '/shops', { code: f.querySelector('[data-field=code]').value.trim() });
        clearErrors(f);
        await refreshSession();
        lastRedeemed = r;
        ctx.rerender();
      } catch (e) { showErrors(f, e); }
    });
  });
  const panel = h('section', { class: 'panel narrow' }, h('h1', { tabindex: '-1', text: t('shop.title') }), h('p', { text: t('shop.intro') }));
  if (lastRedeemed && ctx.same) {
    const r = lastRedeemed;
    out.append(notice('success', h('p', { text: t('shop.done', { name: r.name || r.shopId }) }),
      h('p', {}, h('a', { class: 'btn btn-primary', href: `#/shop/${encodeURIComponent(r.shopId)}`, text: t('shop.open', { name: r.name || r.shopId }) }))));
  } else lastRedeemed = null;
  panel.append(out, f);
  if (session.shops.length) {
    panel.append(h('h2', { text: t('shop.yours') }), h('ul', { class: 'link-list' },
      session.shops.map((s) => h('li', {}, h('a', { href: `#/shop/${encodeURIComponent(s.shopId)}`, text: s.name || s.shopId })))));
  }
  main.append(panel);
  if (lastRedeemed) { const b = out.querySelector('a'); if (b) b.focus(); }
}

export async function shopPage(main, ctx) {
  const id = ctx.params.id;
  const shop = session.shops.find((s) => s.shopId === id);
  if (!shop) {
    ctx.title(t('shop.title'));
    main.append(h('h1', { tabindex: '-1', text: t('shop.title') }), notice('info', t('shop.notFound')), h('p', {}, h('a', { href: '#/shop', text: t('nav.addShopLong') })));
    return;
  }
  ctx.title(shop.name || id);
  main.append(h('h1', { tabindex: '-1', text: shop.name || id }), h('p', { class: 'lead', text: t('shop.pageIntro') }));
  let cat;
  try { cat = await catalog(); } catch (e) { if (ctx.alive()) main.append(notice('error', errorText(e))); return; }
  if (!ctx.alive()) return;
  learnCatalog(cat);
  const offer = (cat.offers || []).find((o) => o.shopId === id);
  const products = (offer && offer.products) || [];
  if (!products.length) { main.append(h('p', { class: 'empty', text: t('wiz.noProducts') })); return; }
  main.append(h('ul', { class: 'shop-products' }, products.map((p) => h('li', { class: 'panel shop-product' },
    h('h2', { text: productName(p.productId, p) }),
    h('p', {}, h('strong', { text: `${t('shop.methods')}: ` }), (p.identMethods || []).map(methodName).join(', ')),
    p.organizationRequired ? h('p', { class: 'muted', text: t('wiz.product.orgRequired') }) : null,
    h('p', {}, h('a', { class: 'btn btn-primary', href: `#/order/new?shop=${encodeURIComponent(id)}&product=${encodeURIComponent(p.productId)}`, text: t('shop.orderThis', { name: productName(p.productId, p) }) }))))));
}
