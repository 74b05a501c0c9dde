// live.js: live updates. While someone is logged in, one EventSource follows
// /api/v1/events (the browser reconnects by itself and sends Last-Event-ID, so nothing is
// lost); the page on screen listens through onLive() and updates in place. The changes
// are announced politely in one live region that outlives page changes.
import { session } from './api.js';

let source = null;
const listeners = new Set();

function dispatch(kind, ev) {
  let data = {};
  try { data = JSON.parse(ev.data || '{}'); } catch { /* a message we do not know: ignored */ }
  for (const fn of [...listeners]) {
    Promise.resolve().then(() => fn(kind, data)).catch((e) => console.error('portal: live update failed', e));
  }
}

let retryMs = 2000;
let retryTimer = null;

/** Follow the events while logged in, stop when not. */
export function liveSync() {
  announcer();
  if (session.loggedIn && !source && !retryTimer && typeof EventSource === 'function') {
    const es = new EventSource('/api/v1/events');
    source = es;
    for (const kind of ['order', 'product', 'reset']) es.addEventListener(kind, (ev) => dispatch(kind, ev));
    es.addEventListener('open', () => { retryMs = 2000; });
    // the browser retries by itself after a dropped connection; after an error answer
    // (429, 503, a proxy's 502) it gives up: then we try again, waiting longer each time
    es.addEventListener('error', () => {
      if (es.readyState !== EventSource.CLOSED || source !== es) return;
      source = null;
      retryTimer = setTimeout(() => { retryTimer = null; liveSync(); }, retryMs);
      retryMs = Math.min(retryMs * 2, 60000);
    });
  } else if (!session.loggedIn) {
    if (source) source.close();
    source = null;
    clearTimeout(retryTimer);
    retryTimer = null;
  }
}

/** Calls fn(kind, data) for each change ("order", "product" or "reset") until the returned
 *  function is called. */
export function onLive(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/* The live region, made empty before anything is said in it (a region made and filled
 * at once is often not read out). */
function announcer() {
  let el = document.getElementById('live-announcer');
  if (!el) {
    el = document.createElement('p');
    el.id = 'live-announcer';
    el.className = 'visually-hidden';
    el.setAttribute('role', 'status');
    el.setAttribute('aria-live', 'polite');
    document.body.append(el);
  }
  return el;
}

/** Says @p text to screen readers, politely. */
export function announce(text) {
  announcer().textContent = text;
}

const generation = new Map();

/** For answers that may come out of order: call before asking about @p key; the function
 *  returned says whether no later question about it was asked since. */
export function newest(key) {
  const n = (generation.get(key) || 0) + 1;
  generation.set(key, n);
  return () => generation.get(key) === n;
}
