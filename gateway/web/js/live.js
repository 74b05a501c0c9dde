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
    try { fn(kind, data); } catch (e) { console.error('portal: live update failed', e); }
  }
}

/** Follow the events while logged in, stop when not. */
export function liveSync() {
  if (session.loggedIn && !source && typeof EventSource === 'function') {
    source = new EventSource('/api/v1/events');
    for (const kind of ['order', 'product', 'reset']) source.addEventListener(kind, (ev) => dispatch(kind, ev));
  } else if (!session.loggedIn && source) {
    source.close();
    source = null;
  }
}

/** Calls fn(kind, data) for each change ("order", "product" or "reset") until the returned
 *  function is called. */
export function onLive(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Says @p text to screen readers, politely (the live region is made on first use). */
export function announce(text) {
  let el = document.getElementById('live-announcer');
  if (!el) {
    el = document.createElement('p');
    el.id = 'live-announcer';
    el.className = 'visually-hidden';
    el.setAttribute('role', 'status');
    el.setAttribute('aria-live', 'polite');
    document.body.append(el);
  }
  el.textContent = text;
}
