// harness.js: the real system for the browser tests: the five daemons and the gateway
// on a temporary folder and free ports (as tests/harness.c does for the C tests), mail
// into an outbox folder, back-office and producer steps through tpctl.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');

const SERVICES = ['account', 'order', 'identification', 'production', 'revocation'];

/** The built programs: from the environment (meson test sets them) or a build folder. */
export function binaries() {
  const build = process.env.TP_BUILD_DIR || findBuild();
  const pick = (env, rel) => process.env[env] || (build ? path.join(build, rel) : '');
  const b = {
    account: pick('TP_ACCOUNT', 'services/account/tp-account'),
    order: pick('TP_ORDER', 'services/order/tp-order'),
    identification: pick('TP_IDENTIFICATION', 'services/identification/tp-identification'),
    production: pick('TP_PRODUCTION', 'services/production/tp-production'),
    revocation: pick('TP_REVOCATION', 'services/revocation/tp-revocation'),
    gateway: pick('TP_GATEWAY', 'gateway/tp-gateway'),
    tpctl: pick('TPCTL', 'tpctl/tpctl'),
    webRoot: process.env.TP_WEB_ROOT || path.join(REPO, 'gateway', 'web'),
  };
  for (const [k, v] of Object.entries(b)) {
    if (!v || !fs.existsSync(v)) throw new Error(`harness: ${k} not found (${v || 'no build folder'}); build first or set its variable`);
  }
  return b;
}

function findBuild() {
  for (const name of ['build', 'build-e2e']) {
    const d = path.join(REPO, name);
    if (fs.existsSync(path.join(d, 'gateway', 'tp-gateway'))) return d;
  }
  return '';
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A ZPL config file from a nested object (values quoted). */
function zpl(obj, indent = 0) {
  let out = '';
  const pad = ' '.repeat(indent * 4);
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object') out += `${pad}${k}\n${zpl(v, indent + 1)}`;
    else out += `${pad}${k} = "${String(v).replace(/"/g, '\\"')}"\n`;
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class System {
  constructor() {
    this.procs = new Map();
    this.dir = '';
  }

  /** Starts every daemon and the gateway; resolves when /readyz says ready. */
  async start({ settings = {} } = {}) {
    this.bin = binaries();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-'));
    for (const d of ['logs', 'run', 'data', 'outbox']) fs.mkdirSync(path.join(this.dir, d));
    this.outbox = path.join(this.dir, 'outbox');
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.config = path.join(this.dir, 'tp.cfg');
    const cfg = {
      data: path.join(this.dir, 'data'),
      run: path.join(this.dir, 'run'),
      keys: path.join(this.dir, 'keys'),
      outbox: this.outbox,
      tick_ms: 200,
      workers: 2,
      account: { outbox: this.outbox, base_url: this.base, mail_from: 'portal@trustportal.test' },
      production: { activation_delay_s: 1 },
      revocation: { processing_delay_s: 2 },
      gateway: {
        listen: '127.0.0.1', port: this.port, public_origin: this.base, cookie_secure: 0,
        web_root: this.bin.webRoot, threads: 4,
      },
      ...settings,
    };
    fs.writeFileSync(this.config, zpl(cfg));
    // every socket is CURVE: the components' keys, one operator, a production line and
    // the PostIdent feed (tpctl finds the only key of each kind)
    for (const k of [['init'], ['add-operator', 'e2e'], ['add-producer', 'e2e'], ['add-ident', 'e2e']])
      this.tpctl('keys', ...k);
    for (const s of SERVICES) this.spawn(s, this.bin[s], ['-c', this.config, '-n', s]);
    this.spawn('gateway', this.bin.gateway, ['-c', this.config]);
    const deadline = Date.now() + 30000;
    let last = '';
    while (Date.now() < deadline) {
      for (const [name, p] of this.procs) {
        if (p.exitCode !== null) throw new Error(`harness: ${name} exited (${p.exitCode}); see ${this.log(name)}`);
      }
      try {
        const r = await fetch(`${this.base}/readyz`);
        last = await r.text();
        if (r.status === 200) return this;
      } catch (e) { last = String(e); }
      await sleep(150);
    }
    throw new Error(`harness: the system did not get ready: ${last}`);
  }

  log(name) { return path.join(this.dir, 'logs', `${name}.log`); }

  spawn(name, exe, args) {
    const fd = fs.openSync(this.log(name), 'a');
    const p = spawn(exe, args, { stdio: ['ignore', fd, fd], cwd: this.dir });
    fs.closeSync(fd);
    this.procs.set(name, p);
    return p;
  }

  /** Stops everything: SIGTERM, then SIGKILL after 5 s. Keeps the folder when TP_KEEP is set. */
  async stop() {
    const waits = [];
    for (const [, p] of this.procs) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      waits.push(new Promise((resolve) => {
        const timer = setTimeout(() => { try { p.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
        p.once('exit', () => { clearTimeout(timer); resolve(); });
        try { p.kill('SIGTERM'); } catch { resolve(); }
      }));
    }
    await Promise.all(waits);
    this.procs.clear();
    if (this.dir && !process.env.TP_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
    else if (this.dir) console.error(`harness: kept ${this.dir}`);
  }

  /** tpctl with this system's config; the reply parsed as JSON (throws on a non-zero exit). */
  tpctl(...args) {
    const r = spawnSync(this.bin.tpctl, ['-c', this.config, ...args], { encoding: 'utf8', timeout: 20000 });
    if (r.status !== 0) throw new Error(`tpctl ${args.join(' ')}: exit ${r.status}: ${r.stdout}${r.stderr}`);
    const out = r.stdout.trim();
    try { return out ? JSON.parse(out) : null; } catch { return out; }
  }

  /** `tpctl call SERVICE COMMAND JSON [--role ROLE]`: an operator's key, or for a
   *  customer's, officer's or visitor's role the gateway's (what a key may do decides). */
  call(service, command, body, role) {
    const args = ['call', service, command, JSON.stringify(body || {})];
    if (role) args.push('--role', role);
    if (role && !['operator', 'producer', 'ident'].includes(role)) args.push('--key', 'gateway');
    return this.tpctl(...args);
  }

  /** Waits for a mail to @p to whose body matches @p re; resolves with the decoded body
   *  of the newest such mail. */
  async mail(to, re, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const files = fs.readdirSync(this.outbox).filter((f) => f.endsWith('.eml'))
        .map((f) => ({ f, t: fs.statSync(path.join(this.outbox, f)).mtimeMs }))
        .sort((a, b) => b.t - a.t).map((e) => e.f);
      for (const f of files) {
        const raw = fs.readFileSync(path.join(this.outbox, f), 'utf8');
        const head = raw.split(/\r?\n\r?\n/)[0];
        if (!new RegExp(`^To: ${to.replace(/[.+]/g, '\\$&')}\\s*$`, 'mi').test(head)) continue;
        const bodyB64 = raw.slice(raw.search(/\r?\n\r?\n/)).replace(/\s+/g, '');
        const body = Buffer.from(bodyB64, 'base64').toString('utf8');
        if (re.test(body)) return body;
      }
      await sleep(150);
    }
    throw new Error(`harness: no mail to ${to} matching ${re}`);
  }

  /** Waits until @p fn() returns a truthy value (polling). */
  async until(what, fn, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try { last = await fn(); if (last) return last; } catch (e) { last = e; }
      await sleep(200);
    }
    throw new Error(`harness: timed out waiting for ${what} (${last instanceof Error ? last.message : JSON.stringify(last)})`);
  }
}
