// mydata.js: "Meine Daten" on the dashboard: download my data as one JSON file (GDPR
// Art. 15 and 20), and ask for the deletion of my account (what it means, an optional
// reason, a confirmation; then the open request and what happens next). The section is
// made once per page: the dashboard's live updates redraw the rest, never a form here.
import { h, fill, notice, field, busy, showErrors, errorSummary } from '../dom.js';
import { t, fmtDateTime, errorText } from '../i18n.js';
import { api, apiFile, session } from '../api.js';
import { announce } from '../live.js';
import { dl } from '../format.js';

/** Hands @p blob to the browser as the file @p name. */
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function downloadPart() {
  const msg = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const error = h('div', { class: 'export-error' });
  const button = h('button', { type: 'button', class: 'btn btn-secondary', 'data-action': 'export' }, t('mydata.download'));
  button.addEventListener('click', () => busy(button, async () => {
    msg.textContent = '';
    fill(error);
    try {
      const { blob, name } = await apiFile('/me/export', 'trustportal-data.json');
      save(blob, name);
      msg.textContent = t('mydata.downloaded', { file: name });
    } catch (e) {
      fill(error, notice('error', errorText(e)));
    }
  }));
  return [h('p', { class: 'muted', text: t('mydata.intro') }), h('p', {}, button), msg, error];
}

/** The open request and what happens next. */
function openRequest(dr) {
  return h('div', { class: 'deletion-status', id: 'deletion-status', tabindex: '-1' },
    notice('info',
      h('p', {}, h('strong', { text: t('mydata.deletionOpen', { time: fmtDateTime(dr.requestedAtUs) }) })),
      h('p', { text: t('mydata.deletionNext') }),
      dr.reason ? dl([[t('mydata.deletionYourReason'), dr.reason]]) : null));
}

/** The confirmation step: what a deletion means, the reason, submit or cancel. */
function confirmBox(state, draw) {
  const f = h('form', { class: 'form', novalidate: true }, errorSummary(),
    field({ path: 'reason', label: t('mydata.deletionReason'), type: 'textarea', value: state.reason, maxlength: 500,
      hint: t('mydata.deletionReasonHint'), onInput: (v) => { state.reason = v; } }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'deletion-confirm' }, t('mydata.deletionConfirm')),
      h('button', { type: 'button', class: 'btn btn-secondary', 'data-action': 'deletion-cancel',
        on: { click: () => { state.open = false; draw('deletion-start'); } } }, t('form.cancel'))));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(f.querySelector('[data-action=deletion-confirm]'), async () => {
      try {
        const reason = state.reason.trim();
        const r = await api('POST', '/me/deletion-request', reason ? { reason } : {});
        if (session.me) session.me.deletionRequest = r;
        state.open = false;
        draw('deletion-status');
        announce(t('mydata.deletionSent'));
      } catch (e) {
        showErrors(f, e);
      }
    });
  });
  return h('div', { class: 'deletion-box', id: 'deletion-box', tabindex: '-1', role: 'region', 'aria-labelledby': 'deletion-title' },
    h('h4', { id: 'deletion-title', text: t('mydata.deletionTitle') }),
    notice('warning', h('p', { text: t('mydata.deletionWhat') }),
      h('ul', {}, ['1', '2', '3', '4'].map((n) => h('li', { text: t(`mydata.deletionPoint${n}`) })))),
    f);
}

/** The section "Meine Daten" (for the dashboard). */
export function myData() {
  const state = { open: false, reason: '' };
  const deletion = h('div', { class: 'deletion-area' });
  const draw = (focusId) => {
    const dr = session.me && session.me.deletionRequest;
    if (dr) fill(deletion, openRequest(dr));
    else if (state.open) fill(deletion, confirmBox(state, draw));
    else {
      fill(deletion, h('p', { class: 'muted', text: t('mydata.deletionIntro') }),
        h('p', {}, h('button', {
          type: 'button', class: 'btn btn-danger', id: 'deletion-start', 'data-action': 'deletion',
          on: { click: () => { state.open = true; draw('deletion-box'); } },
        }, t('mydata.deletionStart'))));
    }
    if (focusId) { const el = document.getElementById(focusId); if (el) el.focus(); }
  };
  draw();
  return h('section', { class: 'dash-section my-data', 'aria-labelledby': 'dash-mydata' },
    h('h2', { id: 'dash-mydata', text: t('mydata.title') }),
    downloadPart(),
    h('h3', { id: 'dash-deletion', text: t('mydata.deletion') }),
    deletion);
}
