// officer.js: the officer area: open identification cases of the officer's shops, and
// recording an identification (OfficerIdent / BehördenIdent).
import { h, fill, notice, radios, field, errorSummary, showErrors, busy } from '../dom.js';
import { t, fmtDateTime, fmtIsoDate, errorText } from '../i18n.js';
import { api, session } from '../api.js';
import { methodName, dl } from '../format.js';

const forms = new Map();   // orderId -> {succeeded, by, evidence, reason}
let saved = null;          // orderId just recorded

function recordForm(c, reload) {
  const st = forms.get(c.orderId);
  const f = h('form', { class: 'form officer-form', novalidate: true, 'aria-label': `${t('officer.record')}: ${c.orderId}` }, errorSummary(),
    radios({ path: 'succeeded', legend: t('officer.result'), value: st.succeeded,
      options: [{ value: 'yes', label: t('officer.ok') }, { value: 'no', label: t('officer.failed') }],
      onChange: (v) => { st.succeeded = v; } }),
    field({ path: 'identifiedBy', label: t('officer.by'), required: true, value: st.by, onInput: (v) => { st.by = v; } }),
    field({ path: 'evidenceRef', label: t('officer.evidence'), required: true, value: st.evidence, onInput: (v) => { st.evidence = v; } }),
    field({ path: 'reason', label: t('officer.reason'), type: 'textarea', value: st.reason, maxlength: 500, onInput: (v) => { st.reason = v; } }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'officer-submit' }, t('officer.submit')),
      h('button', { type: 'button', class: 'btn btn-secondary', on: { click: () => { forms.delete(c.orderId); reload(); } } }, t('form.cancel'))));
  // ids unique per case
  for (const el of f.querySelectorAll('[id]')) el.id = `${el.id}-${c.orderId}`;
  for (const el of f.querySelectorAll('[for]')) el.setAttribute('for', `${el.getAttribute('for')}-${c.orderId}`);
  for (const el of f.querySelectorAll('[aria-describedby]')) el.setAttribute('aria-describedby', el.getAttribute('aria-describedby').split(' ').map((x) => `${x}-${c.orderId}`).join(' '));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const errs = [];
    if (!st.succeeded) errs.push({ field: 'succeeded', code: 'local', message: t('form.required') });
    if (!st.by.trim()) errs.push({ field: 'identifiedBy', code: 'local', message: t('form.required') });
    if (!st.evidence.trim()) errs.push({ field: 'evidenceRef', code: 'local', message: t('form.required') });
    if (st.succeeded === 'no' && !st.reason.trim()) errs.push({ field: 'reason', code: 'local', message: t('form.required') });
    if (errs.length) { showErrors(f, { code: 'local', details: errs }); return; }
    busy(f.querySelector('[data-action=officer-submit]'), async () => {
      try {
        const body = { succeeded: st.succeeded === 'yes', identifiedBy: st.by.trim(), evidenceRef: st.evidence.trim() };
        if (st.succeeded === 'no') body.reason = st.reason.trim();
        await api('POST', `/officer/cases/${encodeURIComponent(c.orderId)}/result`, body);
        forms.delete(c.orderId);
        saved = c.orderId;
        reload();
      } catch (e) { showErrors(f, e); }
    });
  });
  return f;
}

export async function page(main, ctx) {
  ctx.title(t('officer.title'));
  const live = h('div', { 'aria-live': 'polite' });
  const list = h('div', { class: 'case-list' });
  main.append(h('h1', { tabindex: '-1', text: t('officer.title') }), h('p', { class: 'lead', text: t('officer.intro') }), live, list);
  const shopName = (id) => (session.shops.find((s) => s.shopId === id) || {}).name || id;
  const load = async (focusId) => {
    let r;
    try { r = await api('GET', '/officer/cases'); } catch (e) { if (ctx.alive()) fill(list, notice('error', errorText(e))); return; }
    if (!ctx.alive()) return;
    fill(live, saved ? notice('success', t('officer.done', { id: saved })) : '');
    const cases = ((r && r.cases) || []).filter((c) => !c.status || c.status === 'open');
    if (!cases.length) { fill(list, h('p', { class: 'empty', text: t('officer.none') })); return; }
    fill(list, ...cases.map((c) => h('article', { class: 'panel case', id: `case-${c.orderId}`, tabindex: '-1', 'data-order': c.orderId, 'aria-labelledby': `ch-${c.orderId}` },
      h('h2', { id: `ch-${c.orderId}`, text: t('officer.case', { id: c.orderId }) }),
      dl([
        [t('officer.applicant'), c.applicantName], [t('officer.birthDate'), fmtIsoDate(c.applicantBirthDate)],
        [t('officer.method'), methodName(c.method)], [t('officer.shop'), shopName(c.shopId)],
        [t('officer.opened'), fmtDateTime(c.openedAtUs)], [t('officer.attempt'), c.attempt > 1 ? String(c.attempt) : ''],
      ]),
      c.method !== 'officerident' ? h('p', { class: 'muted', text: t('officer.notOfficerIdent', { method: methodName(c.method) }) }) :
        forms.has(c.orderId) ? recordForm(c, () => load(`case-${c.orderId}`)) :
          h('p', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'officer-record',
            'aria-label': `${t('officer.record')}: ${c.applicantName || c.orderId}`,
            on: { click: () => { forms.set(c.orderId, { succeeded: '', by: '', evidence: '', reason: '' }); load(`case-${c.orderId}`); } } }, t('officer.record'))))));
    if (focusId) {
      const el = document.getElementById(focusId);
      const first = el && el.querySelector('input');
      (first || el || live).focus();
    } else if (saved) live.querySelector('.notice')?.setAttribute('tabindex', '-1');
    saved = null;
  };
  await load();
}
