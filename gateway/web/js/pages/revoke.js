// revoke.js: emergency revocation without login: order or card number, the revocation
// password chosen at order time, a reason; then a confirmation step.
import { h, field, radios, notice, errorSummary, showErrors, busy } from '../dom.js';
import { dl } from '../format.js';
import { t } from '../i18n.js';
import { api, session } from '../api.js';
import { SUPPORT } from '../config.js';
import { requireFields } from './auth.js';

const REASONS = ['card_lost', 'suspected_misuse', 'other'];
const S = { stage: 'form', number: '', password: '', reason: '', comment: '', done: null };

export async function page(main, ctx) {
  ctx.title(t('revoke.title'));
  if (!ctx.same) { S.stage = S.done ? 'form' : S.stage; if (S.done) { S.done = null; S.number = ''; S.password = ''; S.reason = ''; S.comment = ''; } }
  const panel = h('section', { class: 'panel narrow revoke-page' }, h('h1', { tabindex: '-1', text: t('revoke.title') }), h('p', { class: 'lead', text: t('revoke.intro') }));
  if (session.loggedIn) panel.append(notice('info', t('revoke.loggedIn'), ' ', h('a', { href: '#/products', text: t('nav.products') })));
  main.append(panel);
  if (S.done) {
    panel.append(notice('success', t('revoke.done', { id: S.done.requestId || '' })));
  } else if (S.stage === 'confirm') {
    const f = h('form', { class: 'form', novalidate: true }, errorSummary(),
      h('h2', { id: 'rv-confirm', tabindex: '-1', text: t('revoke.confirmTitle') }),
      notice('warning', t('revoke.confirmText', { number: S.number })),
      dl([[t('revoke.number'), S.number], [t('revoke.reason'), t(`reason.${S.reason}`)], [t('revoke.comment'), S.comment]]),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'revoke-confirm' }, t('revoke.confirm')),
        h('button', { type: 'button', class: 'btn btn-secondary', on: { click: () => { S.stage = 'form'; ctx.rerender(); } } }, t('form.back'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(f.querySelector('[data-action=revoke-confirm]'), async () => {
        try {
          const body = { number: S.number, password: S.password, reason: S.reason };
          if (S.comment.trim()) body.comment = S.comment.trim();
          S.done = (await api('POST', '/revocations', body)) || {};
          S.password = '';
          ctx.rerender();
        } catch (e) {
          if (e.field && ['number', 'password', 'reason', 'comment'].includes(e.field) || e.code === 'invalid_credentials') {
            S.stage = 'form';
            S.error = e;
            ctx.rerender();
          } else showErrors(f, { code: e.code, field: '', message: e.message }, { context: 'revoke' });
        }
      });
    });
    panel.append(f);
    setTimeout(() => { const hd = document.getElementById('rv-confirm'); if (hd && ctx.alive()) hd.focus(); }, 0);
  } else {
    const f = h('form', { class: 'form', novalidate: true }, errorSummary(),
      field({ path: 'number', label: t('revoke.number'), required: true, hint: t('revoke.numberHint'), value: S.number, width: 'medium', onInput: (v) => { S.number = v; } }),
      field({ path: 'password', label: t('revoke.password'), type: 'password', required: true, value: S.password, autocomplete: 'off', width: 'medium', onInput: (v) => { S.password = v; } }),
      radios({ path: 'reason', legend: t('revoke.reason'), value: S.reason, options: REASONS.map((r) => ({ value: r, label: t(`reason.${r}`) })), onChange: (v) => { S.reason = v; } }),
      field({ path: 'comment', label: t('revoke.comment'), type: 'textarea', value: S.comment, maxlength: 500, onInput: (v) => { S.comment = v; } }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'revoke-continue' }, t('revoke.continue'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      S.number = S.number.trim();
      if (!requireFields(f, ['number', 'password'])) return;
      if (!S.reason) { showErrors(f, { code: 'local', details: [{ field: 'reason', code: 'local', message: t('form.required') }] }); return; }
      S.stage = 'confirm';
      ctx.rerender();
    });
    panel.append(f);
    if (S.error) {
      const e = S.error;
      S.error = null;
      showErrors(f, e.code === 'invalid_credentials' ? { code: e.code, field: 'password', message: e.message } : e, { context: 'revoke' });
    }
  }
  panel.append(h('p', { class: 'muted revoke-phone' }, t('revoke.phone'), ' ', h('a', { href: SUPPORT.phoneHref, text: SUPPORT.phone })));
}
