// spoke-testing: start spoke (or attach to a running one) from a Node test and give each test a
// portal of its own, through spoke's admin API (`/_spoke/`). No dependencies: node:child_process
// and the global fetch.
//
//   import { startSpoke } from 'spoke-testing';
//   const spoke = await startSpoke();            // SPOKE_BIN, else `spoke` on PATH
//   const portal = await spoke.newPortal();      // { portalId, token, baseUrl, reset(), … }
//   …
//   await portal.close(); await spoke.stop();
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** An admin call spoke refused (HubSpot's error envelope in `body`), or one it never answered
 * (`status` is null). */
export class SpokeError extends Error {
  constructor(method, url, status, body) {
    const message = body && typeof body === 'object' ? body.message : body;
    super(`${method} ${url} -> ${status}: ${message}`);
    this.name = 'SpokeError';
    this.method = method;
    this.url = url;
    this.status = status;
    this.body = body;
    this.category = body && typeof body === 'object' ? body.category : undefined;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ANSI = /\x1b\[[0-9;]*m/g;
const LISTENING = /listening on (http:\/\/\S+)/;
const ADMIN_TOKEN = /^\s*(spoke-admin-\S+)\s*$/m;
const LOG_LIMIT = 64 * 1024;

/** A clock instant as the clock API takes it: epoch milliseconds or an ISO-8601 string. */
function instant(at) {
  if (at instanceof Date) return at.getTime();
  if (typeof at === 'number' || typeof at === 'string') return at;
  throw new TypeError('a clock instant is a Date, an ISO-8601 string or epoch milliseconds');
}

function fixture(value) {
  // A seed fixture given as an object, or the path of a JSON file holding one.
  return typeof value === 'string' ? JSON.parse(readFileSync(value, 'utf8')) : value;
}

/** A client of one server's admin API. */
export class Admin {
  constructor(baseUrl, adminToken) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.adminToken = adminToken;
  }

  /** One admin call: the parsed JSON answer (null for 204), or a SpokeError. */
  async call(method, path, body, query) {
    let url = this.baseUrl + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
      if ([...params].length) url += `?${params}`;
    }
    const headers = { authorization: `Bearer ${this.adminToken}`, accept: 'application/json' };
    const init = { method, headers };
    if (body !== undefined && body !== null) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new SpokeError(method, url, null, String(e?.cause ?? e));
    }
    const text = await res.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) throw new SpokeError(method, url, res.status, parsed);
    return parsed;
  }

  /** A new portal with an all-scopes token, seeded from `options.seed` if given. */
  async newPortal(options = {}) {
    const body = options.seed !== undefined ? { seed: fixture(options.seed) } : undefined;
    const created = await this.call('POST', '/_spoke/portals', body);
    return new Portal(this, created.portalId, created.token, created.baseUrl);
  }

  async portals() {
    return (await this.call('GET', '/_spoke/portals')).results.map((p) => p.portalId);
  }

  /** A fault rule (the admin API's shape: action, status, count, path, method, probability,
   * latencyMs, body, portalId) and a handle to it. */
  async fault(rule) {
    return new Fault(this, await this.call('POST', '/_spoke/faults', rule));
  }

  async faults() {
    return (await this.call('GET', '/_spoke/faults')).results;
  }

  async clearFaults() {
    await this.call('DELETE', '/_spoke/faults');
  }

  /** Recorded requests, newest first (filters: portalId, method, path, status, since, until,
   * correlationId, limit). */
  async requests(filters = {}) {
    return (await this.call('GET', '/_spoke/requests', undefined, filters)).results;
  }
}

/** A fault rule spoke holds. */
export class Fault {
  constructor(admin, rule) {
    this.admin = admin;
    this.rule = rule;
    this.id = rule.id;
    this.removed = false;
  }

  get #path() {
    return `/_spoke/faults/${encodeURIComponent(this.id)}`;
  }

  async refresh() {
    this.rule = await this.admin.call('GET', this.#path);
    return this.rule;
  }

  async hits() {
    return (await this.refresh()).hits;
  }

  async remaining() {
    return (await this.refresh()).remaining;
  }

  /** Removes the rule; removing it twice is no error. */
  async remove() {
    if (this.removed) return;
    try {
      await this.admin.call('DELETE', this.#path);
    } catch (e) {
      if (!(e instanceof SpokeError) || e.status !== 404) throw e;
    }
    this.removed = true;
  }
}

/** One portal: id, all-scopes token, base URL, and the admin calls acting on it. */
export class Portal {
  #faults = [];

  constructor(admin, portalId, token, baseUrl) {
    this.admin = admin;
    this.portalId = portalId;
    this.token = token;
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.closed = false;
    const clockPath = () => `/_spoke/portals/${this.portalId}/clock`;
    this.clock = {
      get: () => admin.call('GET', clockPath()),
      /** Stops the portal's time at `at` (Date, ISO-8601 or epoch ms), or at its present. */
      freeze: async (at) => {
        const when = at === undefined ? (await admin.call('GET', clockPath())).nowMs : instant(at);
        return admin.call('PUT', clockPath(), { mode: 'frozen', at: when });
      },
      advance: (ms) => admin.call('POST', `${clockPath()}/advance`, { ms }),
      offset: (ms) => admin.call('PUT', clockPath(), { mode: 'offset', offsetMs: ms }),
      real: () => admin.call('PUT', clockPath(), { mode: 'real' }),
    };
  }

  get #path() {
    return `/_spoke/portals/${this.portalId}`;
  }

  /** Empties the portal, keeping its tokens; `{toSeed: true}` goes back to its seed. */
  async reset(options = {}) {
    await this.admin.call('POST', `${this.#path}/reset`, options.toSeed ? { to: 'seed' } : undefined);
  }

  snapshot(name) {
    return this.admin.call('POST', `${this.#path}/snapshots`, { name });
  }

  async snapshots() {
    return (await this.admin.call('GET', `${this.#path}/snapshots`)).results;
  }

  async restore(name) {
    await this.admin.call('POST', `${this.#path}/snapshots/${encodeURIComponent(name)}/restore`);
  }

  async deleteSnapshot(name) {
    await this.admin.call('DELETE', `${this.#path}/snapshots/${encodeURIComponent(name)}`);
  }

  /** Writes a fixture (an object, or a JSON file's path); answers `{portalId, refs, counts}`. */
  seed(value) {
    return this.admin.call('POST', `${this.#path}/seed`, fixture(value));
  }

  /** A fault rule for this portal's requests, removed by `close()`. */
  async fault(rule) {
    const f = await this.admin.fault({ portalId: this.portalId, ...rule });
    this.#faults.push(f);
    return f;
  }

  requests(filters = {}) {
    return this.admin.requests({ portalId: this.portalId, ...filters });
  }

  /** Removes the portal's fault rules and deletes the portal with its data. */
  async close() {
    const errors = [];
    for (const f of this.#faults.splice(0)) {
      try {
        await f.remove();
      } catch (e) {
        errors.push(e);
      }
    }
    if (!this.closed) {
      try {
        await this.admin.call('DELETE', this.#path);
      } catch (e) {
        if (!(e instanceof SpokeError) || e.status !== 404) errors.push(e);
      }
      this.closed = true;
    }
    if (errors.length) throw errors[0];
  }
}

async function waitHealthy(baseUrl, deadline, exited) {
  let last = 'no answer';
  for (;;) {
    if (exited && exited()) throw new Error(`spoke exited before ${baseUrl}/healthz answered`);
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e?.cause ?? e);
    }
    if (Date.now() > deadline) throw new Error(`${baseUrl}/healthz did not answer 200 in time (${last})`);
    await sleep(50);
  }
}

/**
 * Starts `spoke serve` on a port the system picks, over a fresh SQLite database in a temporary
 * directory (unless `database` names one), and waits for `/healthz`.
 * @param {{bin?: string, database?: string, args?: string[], timeoutMs?: number}} [options]
 */
export async function startSpoke(options = {}) {
  // A path is taken from where the caller stands, not the server's temporary directory.
  const given = options.bin || process.env.SPOKE_BIN || 'spoke';
  const bin = given.includes('/') ? resolve(given) : given;
  const dir = mkdtempSync(join(tmpdir(), 'spoke-testing-'));
  const database = options.database || `sqlite://${join(dir, 'spoke.db')}`;
  const env = { ...process.env, NO_COLOR: '1', SPOKE_DATA_DIR: process.env.SPOKE_DATA_DIR || join(dir, 'data') };
  // The admin token is read from what a new database prints; one from the environment would
  // replace it silently.
  delete env.SPOKE_ADMIN_TOKEN;
  // Port 0: the kernel picks the port, so none can be taken between choosing and binding.
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--database', database, ...(options.args || [])], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const keep = (log, chunk) => (log + chunk).slice(-LOG_LIMIT);
  child.stdout.setEncoding('utf8').on('data', (c) => { out = keep(out, c); });
  child.stderr.setEncoding('utf8').on('data', (c) => { err = keep(err, c.replace(ANSI, '')); });
  let exitCode = null;
  let spawnError = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => { exitCode = code ?? signal; resolve(); });
    child.once('error', (e) => { spawnError = e; exitCode = 'spawn error'; resolve(); });
  });
  // A test process that ends without stop() still takes its server with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const cleanup = () => {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    if (exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };

  const deadline = Date.now() + (options.timeoutMs ?? 30000);
  let baseUrl;
  let adminToken;
  try {
    for (;;) {
      const listening = LISTENING.exec(err);
      if (listening) {
        const token = ADMIN_TOKEN.exec(out);
        if (!token) {
          throw new Error(`spoke serve printed no admin token (the database already has one: use a fresh database, or attach()):\n${out}`);
        }
        baseUrl = listening[1];
        adminToken = token[1];
        break;
      }
      if (exitCode !== null) {
        const why = spawnError ? `${spawnError.message} (set SPOKE_BIN or pass {bin})` : `exited with ${exitCode}`;
        throw new Error(`spoke serve ${why}:\n${out}\n${err}`);
      }
      if (Date.now() > deadline) throw new Error(`spoke serve did not listen in time:\n${err}`);
      await sleep(20);
    }
    await waitHealthy(baseUrl, deadline, () => exitCode !== null);
  } catch (e) {
    await stop();
    throw e;
  }
  return makeSpoke(baseUrl, adminToken, { stop, log: () => `${out}\n${err}`, pid: child.pid });
}

/** A server someone else runs: `stop()` leaves it running. */
export async function attach(url, adminToken) {
  if (!url || !adminToken) throw new Error('attach(url, adminToken) needs both');
  await waitHealthy(url.replace(/\/+$/, ''), Date.now() + 10000);
  return makeSpoke(url, adminToken, { stop: async () => {}, log: () => '', pid: null });
}

function makeSpoke(baseUrl, adminToken, { stop, log, pid }) {
  const admin = new Admin(baseUrl, adminToken);
  return {
    baseUrl: admin.baseUrl,
    adminToken,
    admin,
    pid,
    newPortal: (options) => admin.newPortal(options),
    fault: (rule) => admin.fault(rule),
    requests: (filters) => admin.requests(filters),
    log,
    stop,
  };
}
