// auth.js: log in, register, confirm the e-mail address (the mailed link), re-send the
// confirmation, forgot password, reset password.
import { h, fill, field, radios, notice, errorSummary, showErrors, clearErrors, setFieldError, busy } from '../dom.js';
import { t, lang, errorText } from '../i18n.js';
import { api, login } from '../api.js';

function heading(ctx, key) {
  ctx.title(t(key));
  return h('h1', { tabindex: '-1', text: t(key) });
}

function form(onSubmit, ...children) {
  const f = h('form', { class: 'form', novalidate: true }, errorSummary(), children);
  f.addEventListener('submit', (ev) => { ev.preventDefault(); onSubmit(f, ev.submitter || f.querySelector('button[type=submit]')); });
  return f;
}

/** Client-side check of required fields: errors at the fields, false when any. */
export function requireFields(f, paths) {
  const errs = [];
  for (const p of paths) {
    const el = f.querySelector(`[data-field="${p}"]`);
    if (el && !String(el.value || '').trim()) errs.push({ field: p, code: 'required', message: t('form.required') });
  }
  if (errs.length) { showLocalErrors(f, errs); return false; }
  return true;
}

/** Errors found in the browser, shown like the API's. */
export function showLocalErrors(f, errs) {
  showErrors(f, { code: 'local', details: errs.map((e) => ({ ...e, code: 'local' })) });
}

// ------------------------------------------------------------------ login

export async function loginPage(main, ctx) {
  const next = ctx.query.get('next') || 'dashboard';
  const out = h('div', { class: 'form-result', 'aria-live': 'polite' });
  const f = form(async (f2, btn) => {
    fill(out);
    if (!requireFields(f2, ['email', 'password'])) return;
    await busy(btn, async () => {
      try {
        await login(f2.querySelector('[data-field=email]').value.trim(), f2.querySelector('[data-field=password]').value);
        ctx.go(next.startsWith('login') ? 'dashboard' : next);
      } catch (e) {
        if (e.code === 'invalid_credentials' || e.code === 'throttled' || e.status === 0 || e.status >= 500) {
          showErrors(f2, { code: e.code, message: e.message });
        } else showErrors(f2, e);
      }
    });
  },
  field({ path: 'email', label: t('form.email'), type: 'email', autocomplete: 'username', required: true }),
  field({ path: 'password', label: t('form.password'), type: 'password', autocomplete: 'current-password', required: true }),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('login.submit') })));
  main.append(h('div', { class: 'split' },
    h('section', { class: 'panel' },
      heading(ctx, 'login.title'),
      h('p', { class: 'lead', text: t('login.intro') }),
      f, out,
      h('ul', { class: 'link-list' },
        h('li', {}, h('a', { href: '#/forgot', text: t('login.forgot') })),
        h('li', {}, `${t('login.noAccount')} `, h('a', { href: '#/register', text: t('login.registerLink') })),
        h('li', {}, h('a', { href: '#/confirm', text: t('login.resend') })))),
    h('aside', { class: 'panel panel-quiet welcome', 'aria-labelledby': 'welcome-h' },
      h('h2', { id: 'welcome-h', text: t('login.welcomeTitle') }),
      h('p', { text: t('login.welcome1') }),
      h('p', { text: t('login.welcome2') }),
      h('p', {}, h('a', { class: 'emergency-inline', href: '#/revoke', text: t('footer.revoke') })))));
}

// ------------------------------------------------------------------ register

export async function registerPage(main, ctx) {
  const result = h('div', { 'aria-live': 'polite' });
  let mailLang = lang();
  const f = form(async (f2, btn) => {
    const email = f2.querySelector('[data-field=email]').value.trim();
    const pw = f2.querySelector('[data-field=password]').value;
    const pw2 = f2.querySelector('[data-field=passwordRepeat]').value;
    if (!requireFields(f2, ['email', 'password', 'passwordRepeat'])) return;
    if (pw.length < 12) { showLocalErrors(f2, [{ field: 'password', message: t('form.passwordShort') }]); return; }
    if (pw !== pw2) { showLocalErrors(f2, [{ field: 'passwordRepeat', message: t('form.passwordMismatch') }]); return; }
    await busy(btn, async () => {
      try {
        await api('POST', '/accounts', { email, password: pw, language: mailLang });
        clearErrors(f2);
        f2.hidden = true;
        fill(result, h('div', { class: 'notice notice-success', role: 'status' },
          h('h2', { text: t('register.doneTitle') }), h('p', { text: t('register.done', { email }) }),
          h('p', {}, h('a', { href: '#/login', text: t('confirm.toLogin') }))));
        result.querySelector('h2').setAttribute('tabindex', '-1');
        result.querySelector('h2').focus();
      } catch (e) { showErrors(f2, e); }
    });
  },
  field({ path: 'email', label: t('form.email'), type: 'email', autocomplete: 'email', required: true }),
  field({ path: 'password', label: t('form.password'), type: 'password', autocomplete: 'new-password', required: true, hint: t('form.passwordHint') }),
  field({ path: 'passwordRepeat', label: t('form.passwordRepeat'), type: 'password', autocomplete: 'new-password', required: true }),
  radios({ path: 'language', legend: t('register.language'), value: mailLang, options: [{ value: 'de', label: 'Deutsch' }, { value: 'en', label: 'English' }], onChange: (v) => { mailLang = v; } }),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('register.submit') })));
  main.append(h('section', { class: 'panel narrow' },
    heading(ctx, 'register.title'),
    h('p', { class: 'lead', text: t('register.intro') }),
    f, result,
    h('p', {}, `${t('register.haveAccount')} `, h('a', { href: '#/login', text: t('nav.login') }))));
}

// ------------------------------------------------------------------ confirm

const confirmed = new Set();   // tokens confirmed in this tab (a link works once)

// The link activates the account only together with the password chosen when registering:
// someone who registered the same address with another password cannot get his into it.
export async function confirmPage(main, ctx) {
  const token = ctx.query.get('token');
  main.append(heading(ctx, 'confirm.title'));
  if (!token) { main.append(resendForm(ctx.query.get('email') || '')); return; }
  const status = h('div', { class: 'confirm-status', 'aria-live': 'polite' });
  const done = () => fill(status, notice('success', h('p', { text: t('confirm.done') }),
    h('p', {}, h('a', { class: 'btn btn-primary', href: '#/login', text: t('confirm.toLogin') }))));
  if (confirmed.has(token)) { main.append(status); done(); return; }
  const intro = h('p', { class: 'lead', text: t('confirm.intro') });
  const f = form(async (f2, btn) => {
    if (!requireFields(f2, ['password'])) return;
    await busy(btn, async () => {
      try {
        await api('POST', '/accounts/confirm', { token, password: f2.querySelector('[data-field=password]').value });
        confirmed.add(token);
        clearErrors(f2);
        f2.hidden = true;
        intro.hidden = true;
        done();
      } catch (e) {
        if (e.code === 'invalid_token' || e.code === 'expired') {
          f2.hidden = true;
          intro.hidden = true;
          fill(status, notice('error', t('confirm.failed')));
          main.append(resendForm(''));
        } else showErrors(f2, e, { context: 'confirm' });
      }
    });
  },
  field({ path: 'password', label: t('form.password'), type: 'password', autocomplete: 'current-password', required: true, hint: t('confirm.passwordHint') }),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('confirm.submit') })));
  main.append(intro, f, status);
}

function resendForm(email) {
  const out = h('div', { 'aria-live': 'polite' });
  const f = form(async (f2, btn) => {
    if (!requireFields(f2, ['email'])) return;
    await busy(btn, async () => {
      try {
        await api('POST', '/accounts/confirmation', { email: f2.querySelector('[data-field=email]').value.trim() });
        clearErrors(f2);
        fill(out, notice('success', t('confirm.resendDone')));
      } catch (e) { showErrors(f2, e); }
    });
  },
  field({ path: 'email', label: t('form.email'), type: 'email', autocomplete: 'email', required: true, value: email }),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('confirm.resendSubmit') })));
  return h('section', { class: 'panel narrow', 'aria-labelledby': 'resend-h' },
    h('h2', { id: 'resend-h', text: t('confirm.resendTitle') }), h('p', { text: t('confirm.resendIntro') }), f, out);
}

// ------------------------------------------------------------------ forgot / reset

export async function forgotPage(main, ctx) {
  const out = h('div', { 'aria-live': 'polite' });
  const f = form(async (f2, btn) => {
    if (!requireFields(f2, ['email'])) return;
    await busy(btn, async () => {
      try {
        await api('POST', '/password/forgot', { email: f2.querySelector('[data-field=email]').value.trim() });
        clearErrors(f2);
        fill(out, notice('success', t('forgot.done')));
      } catch (e) { showErrors(f2, e); }
    });
  },
  field({ path: 'email', label: t('form.email'), type: 'email', autocomplete: 'email', required: true }),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('forgot.submit') })));
  main.append(h('section', { class: 'panel narrow' }, heading(ctx, 'forgot.title'), h('p', { text: t('forgot.intro') }), f, out,
    h('p', {}, h('a', { href: '#/login', text: t('confirm.toLogin') }))));
}

const resets = new Set();   // tokens already used successfully

export async function resetPage(main, ctx) {
  const token = ctx.query.get('token');
  const panel = h('section', { class: 'panel narrow' }, heading(ctx, 'reset.title'));
  main.append(panel);
  if (!token) {
    panel.append(notice('error', t('reset.noToken')), h('p', {}, h('a', { href: '#/forgot', text: t('reset.newLink') })));
    return;
  }
  const out = h('div', { 'aria-live': 'polite' });
  const doneNotice = () => notice('success', h('p', { text: t('reset.done') }), h('p', {}, h('a', { class: 'btn btn-primary', href: '#/login', text: t('confirm.toLogin') })));
  if (resets.has(token)) { panel.append(doneNotice()); return; }
  const f = form(async (f2, btn) => {
    const pw = f2.querySelector('[data-field=newPassword]').value;
    const pw2 = f2.querySelector('[data-field=newPasswordRepeat]').value;
    if (!requireFields(f2, ['newPassword', 'newPasswordRepeat'])) return;
    if (pw.length < 12) { showLocalErrors(f2, [{ field: 'newPassword', message: t('form.passwordShort') }]); return; }
    if (pw !== pw2) { showLocalErrors(f2, [{ field: 'newPasswordRepeat', message: t('form.passwordMismatch') }]); return; }
    await busy(btn, async () => {
      try {
        await api('POST', '/password/reset', { token, newPassword: pw });
        resets.add(token);
        f2.hidden = true;
        fill(out, doneNotice());
      } catch (e) {
        if (e.field === 'token' || e.code === 'invalid_token' || e.code === 'expired') {
          showErrors(f2, { code: e.code, message: e.message });
          fill(out, h('p', {}, h('a', { href: '#/forgot', text: t('reset.newLink') })));
        } else showErrors(f2, e);
      }
    });
  },
  field({ path: 'newPassword', label: t('reset.newPassword'), type: 'password', autocomplete: 'new-password', required: true, hint: t('form.passwordHint') }),
  field({ path: 'newPasswordRepeat', label: t('form.passwordRepeat'), type: 'password', autocomplete: 'new-password', required: true }),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('reset.submit') })));
  panel.append(f, out);
}

export { setFieldError };
