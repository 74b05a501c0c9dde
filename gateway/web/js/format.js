// format.js: status badges (colour, symbol and text), steps, product and method names.
import { h } from './dom.js';
import { t, fmtDateTime, lang, isSet } from './i18n.js';

const ORDER_TONE = { offen: 'blue', wartend: 'red', in_produktion: 'yellow', versendet: 'yellow', fertig: 'green' };
const PRODUCT_TONE = { nicht_freigeschaltet: 'blue', gueltig: 'green', sperrung_in_bearbeitung: 'red', gesperrt: 'red' };

/** The order status as a badge: colour AND text (and a symbol), never colour alone. */
export function orderBadge(status) {
  const s = status || 'offen';
  return h('span', { class: ['badge', `tone-${ORDER_TONE[s] || 'blue'}`, `status-${s}`], 'data-status': s },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true' }),
    h('span', { class: 'visually-hidden', text: `${t('order.status')}: ` }),
    t(`status.${s}`));
}

export function productBadge(status) {
  const s = status || 'nicht_freigeschaltet';
  return h('span', { class: ['badge', `tone-${PRODUCT_TONE[s] || 'blue'}`, `pstatus-${s}`], 'data-status': s },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true' }),
    h('span', { class: 'visually-hidden', text: `${t('order.status')}: ` }),
    t(`pstatus.${s}`));
}

/** The steps of an order: done (with time), in progress, failed (with why) or pending. */
export function stepList(order) {
  const steps = order.steps || [];
  return h('ol', { class: 'steps' }, steps.map((s) => {
    let state = 'pending';
    let text = t('step.pending');
    if (s.failed) {
      state = 'failed';
      text = isSet(s.failedAtUs) ? t('step.failedAt', { time: fmtDateTime(s.failedAtUs) }) : t('step.failed');
    } else if (s.done) {
      state = 'done';
      text = isSet(s.doneAtUs) ? t('step.doneAt', { time: fmtDateTime(s.doneAtUs) }) : t('step.done');
    } else if (isSet(s.startedAtUs)) {
      state = 'running';
      text = t('step.runningSince', { time: fmtDateTime(s.startedAtUs) });
    }
    let detail = null;
    if (s.detail && s.name === 'shipping') detail = t('step.tracking', { n: s.detail });
    else if (s.detail && s.failed) detail = s.detail;
    return h('li', { class: ['step', `step-${state}`], 'data-step': s.name, 'data-state': state },
      h('span', { class: 'step-icon', 'aria-hidden': 'true' }),
      h('span', { class: 'step-body' },
        h('span', { class: 'step-name', text: t(`step.${s.name}`) }),
        h('span', { class: 'step-state', text }),
        detail ? h('span', { class: 'step-detail', text: detail }) : null));
  }));
}

const catalogNames = new Map();
/** Remembers product names from a catalog. */
export function learnCatalog(cat) {
  for (const p of [...(cat.products || []), ...(cat.notOrderable || []), ...(cat.offers || []).flatMap((o) => o.products || [])])
    if (p.productId) catalogNames.set(p.productId, { de: p.nameDe, en: p.nameEn });
}

const FALLBACK = {
  'signature-card': { de: 'Signaturkarte', en: 'Signature card' },
  'seal-card': { de: 'Siegelkarte', en: 'Seal card' },
};

export function productName(id, p) {
  if (p && (p.nameDe || p.nameEn)) return lang() === 'de' ? (p.nameDe || p.nameEn) : (p.nameEn || p.nameDe);
  const n = catalogNames.get(id) || FALLBACK[id];
  if (!n) return id || '';
  return lang() === 'de' ? (n.de || n.en) : (n.en || n.de);
}

export function methodName(m) { return t(`ident.${m}`); }

/** A description list from [[term, value], ...]; empty values are left out. */
export function dl(rows, cls) {
  return h('dl', { class: ['facts', cls] }, rows.filter((r) => r && r[1] !== undefined && r[1] !== null && r[1] !== '')
    .map(([k, v]) => h('div', { class: 'fact' }, h('dt', { text: k }), h('dd', {}, v))));
}

/** Document links of an order. */
export function documentLinks(order, urlOf) {
  const docs = order.documents || [];
  return h('ul', { class: 'documents' }, docs.map((d) => h('li', {},
    h('a', { href: urlOf(order.orderId, d.kind), download: d.fileName || `${order.orderId}-${d.kind}.pdf`, class: 'doc-link', 'data-kind': d.kind },
      h('span', { class: 'doc-icon', 'aria-hidden': 'true' }),
      t(`doc.${d.kind}`)))));
}
