// Starts a real spoke binary on a fresh database for a Node test file and builds HubSpot's
// official Node client against it, changing only `basePath` (the client's documented option
// for its host). Each test file calls `startSpoke()` once and `stop()` when done.
//
// Environment:
//   SPOKE_BIN               spoke binary (default: <repo>/target/debug/spoke)
//   SPOKE_COMPAT_DATABASE   database URL (default: a fresh SQLite file); on PostgreSQL the
//                           caller sets SPOKE_PG_SCHEMA to a fresh schema, as for Python
//   SPOKE_STARTUP_TIMEOUT   seconds to wait for GET /healthz (default 20)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import hubspot from '@hubspot/api-client';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{portal?: number, env?: Record<string, string>, args?: string[]}} [options] `env`:
 *   extra environment for the server and the CLI; `args`: extra `spoke serve` arguments
 * @returns {Promise<{baseUrl: string, portal: number, database: string, log: string,
 *   cli: (...args: string[]) => string, token: (scopes: string[]) => string,
 *   client: (token: string) => hubspot.Client, stop: () => Promise<void>}>}
 */
export async function startSpoke(options = {}) {
  const bin = process.env.SPOKE_BIN || join(REPO, 'target', 'debug', 'spoke');
  const dir = mkdtempSync(join(tmpdir(), 'spoke-node-'));
  const database = process.env.SPOKE_COMPAT_DATABASE || `sqlite://${join(dir, 'spoke.db')}`;
  const portal = options.portal ?? 424242;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const log = join(dir, 'server.log');

  const env = { ...process.env, ...(options.env || {}) };
  const cli = (...args) => execFileSync(bin, args, { encoding: 'utf8', env }).trim();
  const token = (scopes) =>
    cli('token', 'create', '--database', database, '--portal', String(portal), '--scopes', scopes.join(','));

  const out = openSync(log, 'w');
  const serveArgs = ['serve', '--listen', `127.0.0.1:${port}`, '--database', database, ...(options.args || [])];
  const child = spawn(bin, serveArgs, {
    stdio: ['ignore', out, out],
    cwd: dir,
    env,
  });
  let exited = null;
  child.on('exit', (code) => { exited = code; });

  const deadline = Date.now() + 1000 * Number(process.env.SPOKE_STARTUP_TIMEOUT || 20);
  for (;;) {
    if (exited !== null) {
      throw new Error(`spoke serve exited with ${exited}:\n${readFileSync(log, 'utf8')}`);
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`spoke did not answer /healthz in time:\n${readFileSync(log, 'utf8')}`);
    }
    await sleep(100);
  }

  return {
    baseUrl,
    dir,
    portal,
    database,
    log,
    cli,
    token,
    // The official client as a HubSpot user builds it; only its host is changed. No retries,
    // so a wrong status shows up as the failure it is.
    client: (accessToken) => new hubspot.Client({ accessToken, basePath: baseUrl, numberOfApiCallRetries: 0 }),
    stop: async () => {
      if (exited !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, sleep(10000)]);
      if (exited === null) child.kill('SIGKILL');
    },
  };
}
