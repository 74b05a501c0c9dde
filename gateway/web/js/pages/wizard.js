// wizard.js: the order form in steps: product, applicant (from the ID document),
// organization (always for seal cards), identification method, revocation password,
// summary; then the documents and what to do next. The draft lives here, so nothing
// typed is lost on an error, a language switch or a step back.
import { h, fill, field, radios, checkbox, notice, setFieldError, busy, fieldId, errorList } from '../dom.js';
import { t, lang, fmtIsoDate, countryName, errorText } from '../i18n.js';
import { api, session, catalog, documentUrl } from '../api.js';
import { productName, methodName, learnCatalog, dl, documentLinks } from '../format.js';
import { countryOptions } from '../countries.js';
import { addressText } from './orders.js';

const emptyAddress = () => ({ street: '', postalCode: '', city: '', country: 'DE' });
const emptyRep = () => ({ givenNames: '', familyName: '', role: '' });

function newDraft() {
  return {
    choice: '',                 // "<shopId>|<productId>"
    applicant: {
      givenNames: '', familyName: '', birthDate: '', birthPlace: '', nationality: 'DE',
      address: emptyAddress(), email: (session.me && session.me.email) || '', phone: '',
      documentType: 'id-card', documentNumber: '', documentAuthority: '', documentExpiry: '',
    },
    orgIncluded: false,
    organization: { name: '', registerCourt: '', registerNumber: '', address: emptyAddress(), representatives: [emptyRep()] },
    identMethod: '',
    pw: '', pw2: '',
  };
}

const W = { draft: null, step: 'product', errors: [], result: null, owner: '' };

/** Forgets the draft (at logout: nothing typed stays in memory for the next person). */
export function reset() {
  W.draft = newDraft();
  W.step = 'product';
  W.errors = [];
  W.result = null;
  W.owner = session.me ? session.me.accountId || session.me.email : '';
}

// ------------------------------------------------------------------ catalog helpers

function offerList(cat) {
  const list = [];
  for (const p of cat.products || []) if (p.orderable !== false) list.push({ shopId: '', shopName: '', p });
  for (const o of cat.offers || []) for (const p of o.products || []) list.push({ shopId: o.shopId, shopName: o.name, p });
  return list;
}

function chosen(cat) {
  const [shopId, productId] = (W.draft.choice || '|').split('|');
  return offerList(cat).find((x) => x.shopId === shopId && x.p.productId === productId) || null;
}

function stepsFor(offer) {
  const p = offer && offer.p;
  const org = p && (p.organizationRequired || p.organizationOptional);
  return ['product', 'applicant', org ? 'organization' : null, 'ident', 'password', 'summary'].filter(Boolean);
}

function orgNeeded(offer) {
  const p = offer && offer.p;
  return !!p && (p.organizationRequired || (p.organizationOptional && W.draft.orgIncluded));
}

// ------------------------------------------------------------------ errors

function stepOfField(path) {
  if (path.startsWith('applicant')) return 'applicant';
  if (path.startsWith('organization')) return 'organization';
  if (path === 'identMethod') return 'ident';
  if (path === 'revocationPassword') return 'password';
  if (path === 'productId' || path === 'shopId') return 'product';
  return 'summary';
}

const LABELS = {
  givenNames: 'f.givenNames', familyName: 'f.familyName', birthDate: 'f.birthDate', birthPlace: 'f.birthPlace',
  nationality: 'f.nationality', street: 'f.street', postalCode: 'f.postalCode', city: 'f.city', country: 'f.country',
  email: 'f.email', phone: 'f.phone', documentType: 'f.documentType', documentNumber: 'f.documentNumber',
  documentAuthority: 'f.documentAuthority', documentExpiry: 'f.documentExpiry', name: 'f.orgName',
  registerCourt: 'f.registerCourt', registerNumber: 'f.registerNumber', role: 'f.repRole',
  identMethod: 'wiz.step.ident', revocationPassword: 'wiz.pw.password', productId: 'wiz.step.product',
  shopId: 'order.shop', representatives: 'wiz.org.reps', organization: 'wiz.step.organization', applicant: 'wiz.step.applicant',
  address: 'wiz.applicant.address', language: 'wiz.summary.docLang',
};

function labelOf(path) {
  const last = path.split('.').pop().replace(/\[\d+\]$/, '');
  const rep = /representatives\[(\d+)\]/.exec(path);
  const base = LABELS[last] ? t(LABELS[last]) : last;
  if (rep && last !== 'representatives') return `${t('wiz.org.rep', { n: Number(rep[1]) + 1 })}: ${base}`;
  if (path.startsWith('organization.address')) return `${t('wiz.org.address')}: ${base}`;
  return base;
}

function dropError(path) { W.errors = W.errors.filter((e) => e.field !== path); }

/** Shows W.errors: a summary with links (to this step's fields or to the other steps) and each error at its field. */
function showWizardErrors(form, steps) {
  const box = form.querySelector('.error-summary');
  if (!W.errors.length) { box.hidden = true; fill(box); return; }
  const items = W.errors.map((e) => {
    const step = stepOfField(e.field);
    const text = `${e.field ? labelOf(e.field) + ': ' : ''}${errorText(e)}`;
    if (step === W.step) {
      const el = findIn(form, e.field);
      if (el) setFieldError(el, errorText(e));
      const target = el && (el.matches('fieldset') ? el.querySelector('input') : el);
      return h('li', {}, target ? h('a', { href: `#${target.id}`, class: 'error-link', on: { click: (ev) => { ev.preventDefault(); target.focus(); } } }, text) : text);
    }
    if (!steps.includes(step)) return h('li', { text });
    return h('li', {}, h('a', {
      href: '#', class: 'error-link',
      on: { click: (ev) => { ev.preventDefault(); go(step, e.field); } },
    }, `${t(`wiz.step.${step}`)} – ${text}`));
  });
  fill(box, h('h2', { class: 'error-summary-title', text: t('form.errorSummary') }),
    steps.indexOf(W.step) === steps.length - 1 || W.errors.some((e) => stepOfField(e.field) !== W.step) ? h('p', { text: t('wiz.summary.errorsElsewhere') }) : null,
    h('ul', {}, items));
  box.hidden = false;
}

function findIn(form, path) {
  let p = path;
  while (p) {
    const el = form.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
  return null;
}

// ------------------------------------------------------------------ field binding

function bind(obj, key, path, opts) {
  return field({
    path, value: obj[key], ...opts,
    onInput: (v) => { obj[key] = v; dropError(path); },
  });
}

function addressFields(a, prefix) {
  return [
    bind(a, 'street', `${prefix}.street`, { label: t('f.street'), required: true, autocomplete: prefix.startsWith('applicant') ? 'street-address' : 'off' }),
    h('div', { class: 'row' },
      bind(a, 'postalCode', `${prefix}.postalCode`, { label: t('f.postalCode'), required: true, width: 'short', autocomplete: prefix.startsWith('applicant') ? 'postal-code' : 'off', inputmode: 'text' }),
      bind(a, 'city', `${prefix}.city`, { label: t('f.city'), required: true, autocomplete: prefix.startsWith('applicant') ? 'address-level2' : 'off' })),
    bind(a, 'country', `${prefix}.country`, { label: t('f.country'), type: 'select', options: countryOptions(), required: true }),
  ];
}

// ------------------------------------------------------------------ local checks

function requiredMissing(form) {
  const errs = [];
  for (const el of form.querySelectorAll('input[required], select[required], textarea[required]')) {
    if (!String(el.value || '').trim()) errs.push({ field: el.dataset.field, code: 'local', message: t('form.required') });
  }
  return errs;
}

function localErrors(form) {
  const errs = requiredMissing(form);
  if (W.step === 'product' && !W.draft.choice) errs.push({ field: 'productId', code: 'local', message: t('wiz.product.choose') });
  if (W.step === 'ident' && !W.draft.identMethod) errs.push({ field: 'identMethod', code: 'local', message: t('form.required') });
  if (W.step === 'password' && !errs.length) {
    if (W.draft.pw.length < 8 || W.draft.pw.length > 128) errs.push({ field: 'revocationPassword', code: 'local', message: t('wiz.pw.short') });
    else if (W.draft.pw !== W.draft.pw2) errs.push({ field: 'revocationPasswordRepeat', code: 'local', message: t('wiz.pw.mismatch') });
  }
  return errs;
}

function showLocal(form, errs) {
  const box = form.querySelector('.error-summary');
  const items = errs.map((e) => {
    const el = findIn(form, e.field);
    if (el) setFieldError(el, e.message);
    const target = el && (el.matches('fieldset') ? el.querySelector('input') : el);
    const text = `${labelOf(e.field === 'revocationPasswordRepeat' ? 'revocationPassword' : e.field)}: ${e.message}`;
    return h('li', {}, target ? h('a', { href: `#${target.id}`, class: 'error-link', on: { click: (ev) => { ev.preventDefault(); target.focus(); } } }, text) : text);
  });
  fill(box, h('h2', { class: 'error-summary-title', text: t('form.errorSummary') }), h('ul', {}, items));
  box.hidden = false;
  box.focus();
}

// ------------------------------------------------------------------ rendering

let current = null;   // {main, ctx, cat}
let focusAfter = null;

function go(step, focusPath) {
  W.step = step;
  focusAfter = focusPath || 'heading';
  current.ctx.rerender();
}

export async function page(main, ctx) {
  ctx.title(t('wiz.title'));
  const owner = session.me ? session.me.accountId || session.me.email : '';
  if (!W.draft || W.owner !== owner) reset();
  const wantProduct = ctx.query.get('product');
  const wantShop = ctx.query.get('shop') || '';
  if (W.result && !ctx.same) reset();
  if (!ctx.same && wantProduct) { W.draft.choice = `${wantShop}|${wantProduct}`; }
  if (!ctx.same && !wantProduct && W.step === 'product' && !W.draft.choice) W.draft.choice = '';
  const cat = await catalog();
  if (!ctx.alive()) return;
  learnCatalog(cat);
  current = { main, ctx, cat };
  if (W.result) { renderDone(main, ctx); return; }
  const offer = chosen(cat);
  if (!offer && W.step !== 'product') W.step = 'product';
  const steps = stepsFor(offer);
  if (!steps.includes(W.step)) W.step = 'product';
  const idx = steps.indexOf(W.step);

  main.append(h('h1', { tabindex: '-1', text: t('wiz.title') }),
    h('nav', { class: 'wizard-progress', 'aria-label': t('wiz.progressLabel') },
      h('ol', {}, steps.map((s, i) => h('li', {
        class: [i < idx ? 'is-done' : null, i === idx ? 'is-current' : null],
        'aria-current': i === idx ? 'step' : null,
      }, h('span', { class: 'wp-num', 'aria-hidden': 'true', text: String(i + 1) }), h('span', { class: 'wp-name', text: t(`wiz.step.${s}`) }))))));

  const stepTitle = h('h2', { class: 'step-title', id: 'step-title', tabindex: '-1', text: t('wiz.progress', { n: idx + 1, m: steps.length, name: t(`wiz.step.${W.step}`) }) });
  const form = h('form', { class: 'form wizard-form', novalidate: true, 'aria-labelledby': 'step-title', 'data-step': W.step });
  form.append(stepTitle, h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true }));
  const body = h('div', { class: 'step-body' });
  form.append(body);
  ({ product: stepProduct, applicant: stepApplicant, organization: stepOrganization, ident: stepIdent, password: stepPassword, summary: stepSummary })[W.step](body, cat, offer, steps);

  const back = idx > 0 ? h('button', { type: 'button', class: 'btn btn-secondary', 'data-action': 'back', on: { click: () => go(steps[idx - 1]) } }, t('form.back')) : null;
  const isLast = idx === steps.length - 1;
  const next = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': isLast ? 'submit-order' : 'next' }, isLast ? t('wiz.summary.submit') : t('form.next'));
  form.append(h('div', { class: 'actions wizard-actions' }, back, next));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (isLast) { await busy(next, () => submit(form, steps)); return; }
    const errs = localErrors(form);
    if (errs.length) { showLocal(form, errs); return; }
    go(steps[idx + 1]);
  });
  main.append(form);
  showWizardErrors(form, steps);
  if (focusAfter) {
    const target = focusAfter === 'heading' ? stepTitle : (findIn(form, focusAfter) || stepTitle);
    (target.matches && target.matches('fieldset') ? target.querySelector('input') : target).focus();
    focusAfter = null;
  }
}

function stepProduct(body, cat) {
  const offers = offerList(cat);
  if (!offers.length) body.append(notice('info', t('wiz.noProducts')));
  const groups = [];
  const portal = offers.filter((o) => !o.shopId);
  const byShop = new Map();
  for (const o of offers.filter((x) => x.shopId)) {
    if (!byShop.has(o.shopId)) byShop.set(o.shopId, []);
    byShop.get(o.shopId).push(o);
  }
  if (portal.length) groups.push([t('wiz.product.portal'), portal]);
  for (const [, list] of byShop) groups.push([t('wiz.product.shopGroup', { name: list[0].shopName || list[0].shopId }), list]);
  let first = true;
  for (const [legend, list] of groups) {
    const fs = radios({
      path: first ? 'productId' : `productId-${list[0].shopId}`,
      legend,
      value: W.draft.choice,
      options: list.map((o) => ({
        value: `${o.shopId}|${o.p.productId}`,
        label: productName(o.p.productId, o.p),
        hint: [t('wiz.product.methods', { list: (o.p.identMethods || []).map(methodName).join(', ') }),
          o.p.organizationRequired ? t('wiz.product.orgRequired') : null].filter(Boolean).join(' · '),
      })),
      onChange: (v) => {
        if (W.draft.choice !== v) W.draft.identMethod = '';
        W.draft.choice = v; dropError('productId'); dropError('shopId');
      },
    });
    // one radio group across the fieldsets
    for (const r of fs.querySelectorAll('input[type=radio]')) r.name = 'choice';
    fs.classList.add('product-group');
    body.append(fs);
    first = false;
  }
  const elsewhere = cat.notOrderable || [];
  if (elsewhere.length) {
    body.append(h('section', { class: 'elsewhere', 'aria-labelledby': 'elsewhere-h' },
      h('h3', { id: 'elsewhere-h', text: t('wiz.product.elsewhere') }),
      h('p', { class: 'hint', text: t('wiz.product.elsewhereIntro') }),
      h('ul', { class: 'link-list' }, elsewhere.map((p) => h('li', {},
        p.externalUrl ? h('a', { href: p.externalUrl, target: '_blank', rel: 'noopener noreferrer' }, t('wiz.product.external', { name: productName(p.productId, p) })) : productName(p.productId, p))))));
  }
}

function stepApplicant(body) {
  const a = W.draft.applicant;
  body.append(h('p', { class: 'lead', text: t('wiz.applicant.intro') }),
    h('fieldset', { class: 'group' }, h('legend', { text: t('wiz.applicant.person') }),
      h('div', { class: 'row' },
        bind(a, 'givenNames', 'applicant.givenNames', { label: t('f.givenNames'), required: true, autocomplete: 'given-name' }),
        bind(a, 'familyName', 'applicant.familyName', { label: t('f.familyName'), required: true, autocomplete: 'family-name' })),
      h('div', { class: 'row' },
        bind(a, 'birthDate', 'applicant.birthDate', { label: t('f.birthDate'), type: 'date', required: true, width: 'medium', autocomplete: 'bday' }),
        bind(a, 'birthPlace', 'applicant.birthPlace', { label: t('f.birthPlace'), required: true })),
      bind(a, 'nationality', 'applicant.nationality', { label: t('f.nationality'), type: 'select', options: countryOptions(), required: true })),
    h('fieldset', { class: 'group' }, h('legend', { text: t('wiz.applicant.address') }), addressFields(a.address, 'applicant.address')),
    h('fieldset', { class: 'group' }, h('legend', { text: t('wiz.applicant.contact') }),
      bind(a, 'email', 'applicant.email', { label: t('f.email'), type: 'email', required: true, autocomplete: 'email' }),
      bind(a, 'phone', 'applicant.phone', { label: t('f.phone'), type: 'tel', hint: t('f.phoneHint'), autocomplete: 'tel', width: 'medium' })),
    h('fieldset', { class: 'group' }, h('legend', { text: t('wiz.applicant.document') }),
      radios({ path: 'applicant.documentType', legend: t('f.documentType'), value: a.documentType, legendClass: 'legend-small',
        options: [{ value: 'id-card', label: t('f.idCard') }, { value: 'passport', label: t('f.passport') }],
        onChange: (v) => { a.documentType = v; dropError('applicant.documentType'); } }),
      bind(a, 'documentNumber', 'applicant.documentNumber', { label: t('f.documentNumber'), required: true, hint: t('f.documentNumberHint'), width: 'medium', autocapitalize: 'characters' }),
      bind(a, 'documentAuthority', 'applicant.documentAuthority', { label: t('f.documentAuthority'), required: true }),
      bind(a, 'documentExpiry', 'applicant.documentExpiry', { label: t('f.documentExpiry'), type: 'date', required: true, width: 'medium' })));
}

function stepOrganization(body, cat, offer) {
  const o = W.draft.organization;
  const p = offer.p;
  if (!p.organizationRequired) {
    body.append(checkbox({ path: 'orgIncluded', label: t('wiz.org.include'), hint: t('wiz.org.includeHint'), checked: W.draft.orgIncluded,
      onChange: (v) => { W.draft.orgIncluded = v; current.ctx.rerender(); } }));
    if (!W.draft.orgIncluded) { body.append(h('p', { class: 'muted', text: t('wiz.org.skipped') })); return; }
  }
  body.append(h('p', { class: 'lead', text: t('wiz.org.intro') }),
    h('fieldset', { class: 'group' }, h('legend', { text: t('wiz.step.organization') }),
      bind(o, 'name', 'organization.name', { label: t('f.orgName'), required: true, autocomplete: 'organization' }),
      h('div', { class: 'row' },
        bind(o, 'registerCourt', 'organization.registerCourt', { label: t('f.registerCourt'), required: true, hint: t('f.registerCourtHint') }),
        bind(o, 'registerNumber', 'organization.registerNumber', { label: t('f.registerNumber'), required: true, hint: t('f.registerNumberHint'), width: 'medium' }))),
    h('fieldset', { class: 'group' }, h('legend', { text: t('wiz.org.address') }), addressFields(o.address, 'organization.address')));
  const reps = h('fieldset', { class: 'group reps', 'data-field': 'organization.representatives' },
    h('legend', { text: t('wiz.org.reps') }),
    h('p', { class: 'field-error', id: `${fieldId('organization.representatives')}-error`, hidden: true }));
  o.representatives.forEach((r, i) => {
    const n = i + 1;
    reps.append(h('div', { class: 'rep', role: 'group', 'aria-labelledby': `rep-h-${i}` },
      h('h3', { class: 'rep-title', id: `rep-h-${i}`, text: t('wiz.org.rep', { n }) }),
      h('div', { class: 'row' },
        bind(r, 'givenNames', `organization.representatives[${i}].givenNames`, { label: t('f.repGiven'), required: true }),
        bind(r, 'familyName', `organization.representatives[${i}].familyName`, { label: t('f.repFamily'), required: true })),
      bind(r, 'role', `organization.representatives[${i}].role`, { label: t('f.repRole'), hint: t('f.repRoleHint') }),
      o.representatives.length > 1 ? h('button', { type: 'button', class: 'btn btn-link', on: { click: () => {
        o.representatives.splice(i, 1); current.ctx.rerender();
      } } }, t('wiz.org.removeRep', { n })) : null));
  });
  reps.classList.add('field');
  reps.append(h('button', { type: 'button', class: 'btn btn-secondary', 'data-action': 'add-rep', on: { click: () => {
    o.representatives.push(emptyRep());
    focusAfter = `organization.representatives[${o.representatives.length - 1}].givenNames`;
    current.ctx.rerender();
  } } }, t('wiz.org.addRep')));
  body.append(reps);
}

function stepIdent(body, cat, offer) {
  const methods = offer.p.identMethods || [];
  if (W.draft.identMethod && !methods.includes(W.draft.identMethod)) W.draft.identMethod = '';
  body.append(h('p', { class: 'lead', text: t('wiz.ident.intro') }),
    radios({ path: 'identMethod', legend: t('wiz.ident.legend'), value: W.draft.identMethod,
      options: methods.map((m) => ({ value: m, label: methodName(m), hint: t(`identText.${m}`) })),
      onChange: (v) => { W.draft.identMethod = v; dropError('identMethod'); } }));
}

function stepPassword(body) {
  body.append(h('p', { class: 'lead', text: t('wiz.pw.intro') }),
    field({ path: 'revocationPassword', label: t('wiz.pw.password'), type: 'password', required: true, hint: t('wiz.pw.hint'), value: W.draft.pw, autocomplete: 'new-password', width: 'medium',
      onInput: (v) => { W.draft.pw = v; dropError('revocationPassword'); } }),
    field({ path: 'revocationPasswordRepeat', label: t('wiz.pw.repeat'), type: 'password', required: true, value: W.draft.pw2, autocomplete: 'new-password', width: 'medium',
      onInput: (v) => { W.draft.pw2 = v; } }));
}

function section(title, step, rows) {
  return h('section', { class: 'summary-section', 'aria-labelledby': `sum-${step}` },
    h('div', { class: 'summary-head' }, h('h3', { id: `sum-${step}`, text: title }),
      h('button', { type: 'button', class: 'btn btn-link', 'aria-label': `${t('form.change')}: ${title}`, on: { click: () => go(step) } }, t('form.change'))),
    dl(rows));
}

function stepSummary(body, cat, offer) {
  const d = W.draft;
  const a = d.applicant;
  const o = d.organization;
  body.append(h('p', { class: 'lead', text: t('wiz.summary.intro') }),
    section(t('wiz.step.product'), 'product', [[t('order.product'), productName(offer.p.productId, offer.p)], [t('order.shop'), offer.shopName]]),
    section(t('wiz.step.applicant'), 'applicant', [
      [t('f.givenNames'), a.givenNames], [t('f.familyName'), a.familyName], [t('f.birthDate'), fmtIsoDate(a.birthDate)],
      [t('f.birthPlace'), a.birthPlace], [t('f.nationality'), countryName(a.nationality)], [t('wiz.applicant.address'), addressText(a.address)],
      [t('f.email'), a.email], [t('f.phone'), a.phone], [t('f.documentType'), t(a.documentType === 'passport' ? 'f.passport' : 'f.idCard')],
      [t('f.documentNumber'), a.documentNumber], [t('f.documentAuthority'), a.documentAuthority], [t('f.documentExpiry'), fmtIsoDate(a.documentExpiry)],
    ]),
    orgNeeded(offer) ? section(t('wiz.step.organization'), 'organization', [
      [t('f.orgName'), o.name], [t('f.registerCourt'), o.registerCourt], [t('f.registerNumber'), o.registerNumber],
      [t('wiz.org.address'), addressText(o.address)],
      [t('wiz.org.reps'), o.representatives.map((r) => [r.givenNames, r.familyName].filter(Boolean).join(' ') + (r.role ? ` (${r.role})` : '')).join('; ')],
    ]) : null,
    section(t('wiz.step.ident'), 'ident', [[t('order.identMethod'), d.identMethod ? methodName(d.identMethod) : '']]),
    section(t('wiz.step.password'), 'password', [[t('wiz.pw.password'), t('wiz.pw.set')]]),
    dl([[t('wiz.summary.docLang'), lang() === 'de' ? 'Deutsch' : 'English']]));
}

function orderBody(offer) {
  const d = W.draft;
  const body = {
    productId: offer.p.productId,
    applicant: { ...d.applicant, address: { ...d.applicant.address } },
    identMethod: d.identMethod,
    revocationPassword: d.pw,
    language: lang(),
  };
  if (offer.shopId) body.shopId = offer.shopId;
  if (!body.applicant.phone) delete body.applicant.phone;
  if (orgNeeded(offer)) {
    const o = d.organization;
    body.organization = {
      name: o.name, registerCourt: o.registerCourt, registerNumber: o.registerNumber, address: { ...o.address },
      representatives: o.representatives.map((r) => (r.role ? { ...r } : { givenNames: r.givenNames, familyName: r.familyName })),
    };
  }
  return body;
}

async function submit(form, steps) {
  const offer = chosen(current.cat);
  try {
    const order = await api('POST', '/orders', orderBody(offer));
    W.result = order;
    W.errors = [];
    W.draft.pw = ''; W.draft.pw2 = '';
    focusAfter = null;
    current.ctx.rerender();
  } catch (e) {
    W.errors = errorList(e);
    const withField = W.errors.find((x) => x.field && steps.includes(stepOfField(x.field)));
    if (withField && stepOfField(withField.field) !== W.step) go(stepOfField(withField.field), withField.field);
    else { showWizardErrors(form, steps); form.querySelector('.error-summary').focus(); }
  }
}

// ------------------------------------------------------------------ done

function renderDone(main, ctx) {
  const o = W.result;
  const m = o.identMethod || W.draft.identMethod;
  const docs = h('div', { class: 'done-docs', 'aria-live': 'polite' });
  const showDocs = (ord) => {
    fill(docs, documentLinks(ord, documentUrl),
      ord.postidentNumber ? h('p', {}, h('strong', { text: `${t('order.postident')}: ` }), ord.postidentNumber) : null,
      m === 'postident' && !(ord.documents || []).some((d) => d.kind === 'coupon') ? h('p', { class: 'muted', text: t('order.couponPending') }) : null);
  };
  showDocs(o);
  main.append(h('div', { class: 'panel panel-success done' },
    h('h1', { tabindex: '-1', text: t('wiz.done.title') }),
    h('p', { class: 'lead', text: t('wiz.done.intro', { id: o.orderId }) }),
    h('h2', { text: t('order.documents') }), docs,
    h('h2', { text: t('wiz.done.next') }),
    h('ol', { class: 'next-steps' },
      h('li', { text: t('wiz.done.step1') }),
      h('li', { text: t(`wiz.done.identStep.${m}`) }),
      h('li', { text: t('wiz.done.step3') }),
      h('li', { text: t('wiz.done.step4') })),
    h('p', { class: 'actions' },
      h('a', { class: 'btn btn-primary', href: '#/dashboard', text: t('wiz.done.toDashboard') }),
      h('a', { class: 'btn btn-secondary', href: `#/orders/${encodeURIComponent(o.orderId)}`, text: t('wiz.done.toOrder') }))));
  if (m === 'postident' && !(o.documents || []).some((d) => d.kind === 'coupon')) {
    let tries = 0;
    const poll = async () => {
      if (!ctx.alive() || tries++ > 20) return;
      try {
        const ord = await api('GET', `/orders/${encodeURIComponent(o.orderId)}`);
        if (!ctx.alive()) return;
        W.result = ord;
        showDocs(ord);
        if ((ord.documents || []).some((d) => d.kind === 'coupon')) return;
      } catch { /* try again */ }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 700);
  }
}
