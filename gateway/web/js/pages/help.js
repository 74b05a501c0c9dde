// help.js: the FAQ in both languages, support hours and contact, the card reader shop
// and the order portals of the products not orderable here.
import { h, fill } from '../dom.js';
import { t, lang } from '../i18n.js';
import { catalog } from '../api.js';
import { productName, learnCatalog } from '../format.js';
import { FAQ } from '../faq.js';
import { SUPPORT, READER_SHOP } from '../config.js';

function block(b, links) {
  if (typeof b === 'string') return h('p', { text: b });
  if (b.origin) return h('p', {}, `${b.origin} `, h('a', { href: `${location.origin}/`, text: `${location.origin}/` }));
  if (b.list) return h('ul', { class: 'faq-list' }, b.list.map(([term, text]) => h('li', {}, text ? [h('strong', { text: term }), ': ', text] : term)));
  if (b.link) return links[b.link] ? links[b.link]() : null;
  return null;
}

export async function page(main, ctx) {
  ctx.title(t('help.title'));
  const portals = h('ul', { class: 'link-list', id: 'order-portals' });
  const links = {
    readers: () => h('p', {}, h('a', { href: READER_SHOP, target: '_blank', rel: 'noopener noreferrer', text: t('help.readersLink') })),
    revoke: () => h('p', {}, h('a', { href: '#/revoke', text: t('nav.revoke') })),
    portals: () => h('p', {}, h('a', { href: '#portals-h', on: { click: (ev) => { ev.preventDefault(); document.getElementById('portals-h').focus(); } }, text: t('help.portals') })),
  };
  const l = lang();
  main.append(h('div', { class: 'help-layout' },
    h('div', { class: 'help-main' },
      h('h1', { tabindex: '-1', text: t('help.title') }),
      h('p', { class: 'lead', text: t('help.intro') }),
      h('h2', { text: t('help.faq') }),
      h('p', { text: t('help.faqIntro') }),
      h('div', { class: 'faq' }, FAQ.map((f, i) => h('details', { class: 'faq-item', id: `faq-${i}` },
        h('summary', {}, h('span', { text: f.q[l] })),
        h('div', { class: 'faq-answer' }, f.a[l].map((b) => block(b, links)))))),
      h('section', { 'aria-labelledby': 'portals-h' }, h('h2', { id: 'portals-h', tabindex: '-1', text: t('help.portals') }), portals)),
    h('aside', { class: 'help-side' },
      h('section', { class: 'panel contact', 'aria-labelledby': 'contact-h' },
        h('h2', { id: 'contact-h', text: t('help.contact') }),
        h('p', { text: t('help.contactIntro') }),
        h('p', { class: 'contact-org', text: 'D-Trust Support' }),
        h('ul', { class: 'contact-list' },
          h('li', {}, h('span', { class: 'contact-label', text: `${t('footer.phone')}: ` }), h('a', { href: SUPPORT.phoneHref, text: SUPPORT.phone })),
          h('li', {}, h('span', { class: 'contact-label', text: `${t('footer.mail')}: ` }), h('a', { href: `mailto:${SUPPORT.mail}`, text: SUPPORT.mail })),
          h('li', { text: t('help.hours') }))),
      h('section', { class: 'panel', 'aria-labelledby': 'readers-h' },
        h('h2', { id: 'readers-h', text: t('help.readers') }),
        h('p', { text: t('help.readersText') }),
        links.readers()),
      h('section', { class: 'panel panel-alert', 'aria-labelledby': 'lost-h' },
        h('h2', { id: 'lost-h', text: t('nav.revoke') }),
        h('p', { text: t('footer.revoke') }),
        links.revoke()))));
  try {
    const cat = await catalog();
    if (!ctx.alive()) return;
    learnCatalog(cat);
    fill(portals, ...(cat.notOrderable || []).map((p) => h('li', {},
      p.externalUrl ? h('a', { href: p.externalUrl, target: '_blank', rel: 'noopener noreferrer', text: t('wiz.product.external', { name: productName(p.productId, p) }) }) : productName(p.productId, p))));
  } catch { /* the FAQ stands without the list */ }
}
