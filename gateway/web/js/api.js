// api.js: the JSON API under /api/v1 (fetch, CSRF token, idempotency keys, errors) and
// the session of the logged-in account.

/** An error answered by the API (or the network): status, code, field, message, details. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || (status === 0 ? 'network' : 'internal');
    this.field = e.field || '';
    this.details = Array.isArray(e.details) ? e.details : null;
  }
}

const FLAG = 'tp.session';   // "1" while this browser believes it is logged in

export const session = {
  me: null,          // GET /me: email, accountId, language, roles, shopIds, officerShopIds,
                     // statusMails, deletionRequest
  csrf: '',
  shops: [],         // [{shopId, name, productIds, extraIdentMethods}]
  get loggedIn() { return !!this.me; },
  get isOfficer() {
    const me = this.me;
    return !!me && ((me.officerShopIds || []).length > 0 || (me.roles || []).includes('officer'));
  },
};

let onUnauthenticated = () => {};
/** Called when the API says the session is gone (401 unauthenticated on a logged-in call). */
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

function newKey() {
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return 'web-' + Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Calls the API. @p body is sent as JSON. POSTs carry an Idempotency-Key (pass `key` to
 * reuse one for a retry of the same submission). Resolves with the parsed JSON (or null
 * for 204); rejects with ApiError.
 */
export async function api(method, path, body, { key } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  if (method === 'POST') headers['Idempotency-Key'] = key || newKey();
  let resp;
  try {
    resp = await fetch(`/api/v1${path}`, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      // The page's policy is no-referrer, under which a POST's Origin would be "null";
      // the gateway checks Origin, so same-origin calls name their origin.
      referrerPolicy: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) throw refused(resp.status, data);
  return data;
}

/** The error of a refused call; a lost session is forgotten first (the login page follows). */
function refused(status, data) {
  const err = new ApiError(status, data);
  if (status === 401 && err.code === 'unauthenticated' && session.me) {
    forget();
    onUnauthenticated();
  }
  return err;
}

/**
 * GETs a file the API answers as an attachment. Resolves with {blob, name} (the name from
 * Content-Disposition, else @p fallback); rejects with ApiError as api() does.
 */
export async function apiFile(path, fallback) {
  let resp;
  try {
    resp = await fetch(`/api/v1${path}`, { credentials: 'same-origin', cache: 'no-store', referrerPolicy: 'same-origin' });
  } catch {
    throw new ApiError(0, null);
  }
  if (!resp.ok) {
    let data = null;
    try { data = await resp.json(); } catch { data = null; }
    throw refused(resp.status, data);
  }
  const m = /filename="([^"]+)"/.exec(resp.headers.get('Content-Disposition') || '');
  return { blob: await resp.blob(), name: m ? m[1] : fallback };
}

function forget() {
  session.me = null;
  session.csrf = '';
  session.shops = [];
  try { localStorage.removeItem(FLAG); } catch { /* ignore */ }
}

/** Loads the session at start: only when this browser logged in before (no 401 noise otherwise). */
export async function loadSession() {
  let flag = null;
  try { flag = localStorage.getItem(FLAG); } catch { /* ignore */ }
  if (!flag) return;
  try {
    await refreshSession();
  } catch (e) {
    if (e.status === 401) forget();
    else throw e;
  }
}

/** Reloads who am I and my shops. */
export async function refreshSession() {
  const me = await api('GET', '/me');
  session.me = me;
  session.csrf = me.csrfToken || session.csrf;
  try { localStorage.setItem(FLAG, '1'); } catch { /* ignore */ }
  try {
    const r = await api('GET', '/shops');
    session.shops = (r && r.shops) || [];
  } catch {
    session.shops = [];
  }
}

export async function login(email, password) {
  const r = await api('POST', '/session', { email, password });
  session.csrf = r.csrfToken || '';
  session.me = r;
  try { localStorage.setItem(FLAG, '1'); } catch { /* ignore */ }
  await refreshSession();
}

export async function logout() {
  try { await api('DELETE', '/session'); } catch (e) { if (e.status !== 401) throw e; }
  forget();
}

/** The URL of an order's document (a plain GET with the session cookie). */
export function documentUrl(orderId, kind) {
  return `/api/v1/orders/${encodeURIComponent(orderId)}/documents/${encodeURIComponent(kind)}`;
}

/** Catalog (cached per page view by the caller). */
export async function catalog() { return (await api('GET', '/catalog')) || {}; }
