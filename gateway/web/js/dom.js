// dom.js: building the page without innerHTML: h() for elements, form fields with their
// labels, hints and error slots, and the display of the API's field errors.
import { t, lang, errorText } from './i18n.js';

/**
 * h(tag, attrs, ...children): an element. attrs: `class`, `text`, `on` ({event: fn}),
 * booleans (true sets, false omits), anything else as an attribute. Children: nodes,
 * strings, numbers, arrays; null/undefined/false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of @p el (like replaceChildren, but skipping null/false). */
export function fill(el, ...children) {
  clear(el);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export function nextId(prefix) { uid += 1; return `${prefix}-${uid}`; }

/** A stable element id from an API field path ("applicant.address.city" -> "f-applicant-address-city"). */
export function fieldId(path) { return 'f-' + path.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, ''); }

/**
 * A labelled form field. opts: path (the API's field path, also the id), label, type
 * ('text', 'email', 'password', 'date', 'select', 'textarea', 'tel'), value, required,
 * hint, autocomplete, options ([{value, label}]), inputmode, maxlength, onInput(value),
 * width ('short' | 'medium').
 */
export function field(opts) {
  const id = opts.id || fieldId(opts.path);
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  let input;
  if (opts.type === 'select') {
    input = h('select', { id, name: opts.path, autocomplete: opts.autocomplete });
    if (opts.placeholderOption !== false)
      input.append(h('option', { value: '', text: opts.placeholderOption || t('select.choose') }));
    for (const o of opts.options || []) input.append(h('option', { value: o.value, text: o.label }));
    input.value = opts.value || '';
  } else if (opts.type === 'textarea') {
    input = h('textarea', { id, name: opts.path, rows: opts.rows || 3, maxlength: opts.maxlength });
    input.value = opts.value || '';
  } else {
    input = h('input', {
      id, name: opts.path, type: opts.type || 'text', autocomplete: opts.autocomplete || 'off',
      inputmode: opts.inputmode, maxlength: opts.maxlength, spellcheck: opts.type === 'text' ? 'false' : null,
      autocapitalize: opts.autocapitalize,
    });
    input.value = opts.value || '';
  }
  if (opts.required) { input.required = true; input.setAttribute('aria-required', 'true'); }
  input.dataset.field = opts.path;
  const describedBy = [opts.hint ? hintId : null, errId].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', describedBy);
  if (opts.onInput) input.addEventListener(opts.type === 'select' ? 'change' : 'input', () => opts.onInput(input.value));
  input.addEventListener(opts.type === 'select' ? 'change' : 'input', () => setFieldError(input, null));
  if (opts.width) input.classList.add(`w-${opts.width}`);
  return h('div', { class: ['field', opts.class] },
    h('label', { for: id },
      opts.label,
      opts.required ? null : h('span', { class: 'optional', text: ` (${t('form.optional')})` })),
    opts.hint ? h('p', { class: 'hint', id: hintId, text: opts.hint }) : null,
    h('p', { class: 'field-error', id: errId, hidden: true }),
    input);
}

/** A group of radio buttons (a fieldset with a legend). options: [{value, label, hint, extra}] */
export function radios({ path, legend, options, value, onChange, hint, required = true, legendClass }) {
  const base = fieldId(path);
  const errId = `${base}-error`;
  const hintId = `${base}-hint`;
  const fs = h('fieldset', { class: 'field radios', 'data-field': path, 'aria-describedby': [hint ? hintId : null, errId].filter(Boolean).join(' ') },
    h('legend', { class: legendClass }, legend, required ? null : h('span', { class: 'optional', text: ` (${t('form.optional')})` })),
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    h('p', { class: 'field-error', id: errId, hidden: true }));
  options.forEach((o, i) => {
    const id = `${base}-${i}`;
    const input = h('input', { type: 'radio', id, name: path, value: o.value, checked: o.value === value });
    if (i === 0) input.dataset.field = path;
    input.addEventListener('change', () => { setFieldError(fs, null); if (onChange) onChange(o.value); });
    const oh = o.hint ? h('p', { class: 'hint radio-hint', id: `${id}-hint`, text: o.hint }) : null;
    if (oh) input.setAttribute('aria-describedby', `${id}-hint`);
    fs.append(h('div', { class: 'radio' }, input, h('label', { for: id }, o.label), oh, o.extra || null));
  });
  return fs;
}

/** A checkbox with its label. */
export function checkbox({ path, label, checked, onChange, hint }) {
  const id = fieldId(path);
  const input = h('input', { type: 'checkbox', id, name: path, checked: !!checked });
  input.dataset.field = path;
  if (hint) input.setAttribute('aria-describedby', `${id}-hint`);
  input.addEventListener('change', () => onChange && onChange(input.checked));
  return h('div', { class: 'field checkbox' }, input, h('label', { for: id, text: label }),
    hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null,
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }));
}

/** Sets or clears the error text of the field whose element is @p el (input or fieldset). */
export function setFieldError(el, message) {
  const wrap = el.closest('.field');
  if (!wrap) return;
  const slot = wrap.querySelector(':scope > .field-error');
  const target = wrap.matches('fieldset') ? wrap : el;
  if (message) {
    slot.textContent = '';
    slot.append(h('span', { class: 'visually-hidden', text: t('form.errorPrefix') + ' ' }), message);
    slot.hidden = false;
    wrap.classList.add('has-error');
    target.setAttribute('aria-invalid', 'true');
  } else if (slot) {
    slot.textContent = '';
    slot.hidden = true;
    wrap.classList.remove('has-error');
    target.removeAttribute('aria-invalid');
  }
}

/** The API error as a list of {field, code, message}. */
export function errorList(err) {
  if (!err) return [];
  const list = Array.isArray(err.details) && err.details.length ? err.details : [err];
  return list.map((e) => ({ field: e.field || '', code: e.code || err.code || '', message: e.message || '' }));
}

/**
 * Shows the API error @p err in @p form: each error next to its field (matched by the
 * field path, or by its closest parent path), the rest and a summary in the form's
 * summary box. @p labels maps a field path to its label (for the summary). Returns the
 * errors that had no field in this form.
 */
export function showErrors(form, err, { summary = true, labelOf, context } = {}) {
  clearErrors(form);
  const list = errorList(err);
  const unplaced = [];
  const items = [];
  let first = null;
  for (const e of list) {
    const text = errorText(e, context);
    const el = e.field ? findField(form, e.field) : null;
    if (el) {
      setFieldError(el, text);
      const focusEl = el.matches('fieldset') ? el.querySelector('input') : el;
      first = first || focusEl;
      const label = (labelOf && labelOf(e.field)) || labelFor(el);
      items.push(h('li', {}, h('a', { href: `#${focusEl.id}`, class: 'error-link', on: { click: (ev) => { ev.preventDefault(); focusEl.focus(); } } },
        label ? `${label}: ${text}` : text)));
    } else {
      unplaced.push(e);
      items.push(h('li', { text: e.field && labelOf && labelOf(e.field) ? `${labelOf(e.field)}: ${text}` : text }));
    }
  }
  const box = form.querySelector('.error-summary');
  if (box && summary) {
    clear(box);
    box.append(h('h2', { class: 'error-summary-title', text: t('form.errorSummary') }), h('ul', {}, items));
    box.hidden = false;
    box.focus();
  } else if (first) first.focus();
  return unplaced;
}

function findField(form, path) {
  let p = path;
  while (p) {
    const el = form.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
  return null;
}

function labelFor(el) {
  if (el.matches('fieldset')) return el.querySelector('legend')?.firstChild?.textContent || '';
  const l = el.id ? el.ownerDocument.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
  return l ? l.firstChild.textContent : '';
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('.has-error')) {
    const inp = el.matches('fieldset') ? el : el.querySelector('[data-field]');
    if (inp) setFieldError(inp, null);
  }
  const box = form.querySelector('.error-summary');
  if (box) { clear(box); box.hidden = true; }
}

/** The box where a form's error summary appears (focusable, announced). */
export function errorSummary() {
  return h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
}

/** A notice box: kind 'info' | 'success' | 'warning' | 'error'. */
export function notice(kind, ...children) {
  return h('div', { class: ['notice', `notice-${kind}`], role: kind === 'error' ? 'alert' : 'status' }, children);
}

/** A button that shows it is busy while @p fn runs (and cannot be pressed twice). */
export async function busy(button, fn) {
  if (button.getAttribute('aria-disabled') === 'true') return undefined;
  button.setAttribute('aria-disabled', 'true');
  button.classList.add('is-busy');
  try { return await fn(); } finally {
    button.removeAttribute('aria-disabled');
    button.classList.remove('is-busy');
  }
}

/** A link that looks like a link and goes to a route. */
export function link(route, text, cls) { return h('a', { href: `#/${route}`, class: cls, text }); }

export function currentLang() { return lang(); }
