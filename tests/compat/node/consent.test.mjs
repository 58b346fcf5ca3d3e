// The OAuth consent page in a real browser: headless Chromium (the OS package, driven by
// playwright-core) opens spoke's /oauth/authorize for an app registered with
// `spoke app create`, chooses the portal, clicks "Connect app", follows the redirect to a
// local receiver that plays the app's callback, and the code it received is exchanged at
// POST /oauth/v1/token; the access token then drives HubSpot's official Node client. A second
// visit is cancelled: the app's callback must not be called.
//
// Chromium: SPOKE_CHROMIUM (default /usr/bin/chromium; run.sh installs the OS package when
// it is missing and it can).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startSpoke } from './spoke.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHROMIUM = process.env.SPOKE_CHROMIUM || '/usr/bin/chromium';
const SCOPES = ['crm.objects.contacts.read', 'crm.objects.contacts.write'];

/** The app's side of the redirect: records each callback's query. */
async function receiver() {
  const calls = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    // The browser asks for /favicon.ico too.
    if (url.pathname === '/callback') calls.push(Object.fromEntries(url.searchParams));
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>connected</title><p id="done">The app got its code.</p>');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/callback`, calls, close: () => new Promise((r) => server.close(r)) };
}

test('a person approves the app on the consent page in a browser; the code becomes working tokens', async (t) => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install the OS package (apt-get install chromium)`);
  const spoke = await startSpoke({ portal: 515151 });
  const app = await receiver();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  t.after(async () => {
    await browser.close();
    await app.close();
    await spoke.stop();
  });

  spoke.token(['crm.objects.contacts.read']); // the portal exists, so the page offers it
  const bin = process.env.SPOKE_BIN || join(REPO, 'target', 'debug', 'spoke');
  const created = JSON.parse(execFileSync(bin, [
    'app', 'create', '--database', spoke.database, '--name', 'Browser <App>', '--redirect-uri', app.url,
    '--scopes', SCOPES.join(','), '--optional-scopes', 'tickets',
  ], { encoding: 'utf8', env: { ...process.env, SPOKE_DATA_DIR: mkdtempSync(join(tmpdir(), 'spoke-data-')) } }));

  const authorize = `${spoke.baseUrl}/oauth/authorize?` + new URLSearchParams({
    client_id: created.clientId, redirect_uri: app.url, scope: SCOPES.join(' '), optional_scope: 'tickets',
    state: 'state & more',
  }).toString().replaceAll('+', '%20');
  const page = await browser.newPage();
  const shown = await page.goto(authorize);
  assert.equal(shown.status(), 200);
  assert.equal(await page.textContent('#app'), 'Browser <App>');
  const scopes = await page.$$eval('#scopes li code', (els) => els.map((e) => e.textContent));
  assert.deepEqual(scopes, [...SCOPES, 'tickets', 'oauth']);
  const portals = await page.$$eval('#portal option', (els) => els.map((e) => e.value));
  assert.ok(portals.includes('515151'), `the page offers the portal: ${portals}`);
  await page.selectOption('#portal', '515151');

  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(app.url)),
    page.click('#approve'),
  ]);
  assert.equal(await page.textContent('#done'), 'The app got its code.');
  assert.equal(app.calls.length, 1);
  const { code, state } = app.calls[0];
  assert.equal(state, 'state & more');
  assert.match(code, /^na1-[0-9a-f-]{36}$/);

  const exchange = await fetch(`${spoke.baseUrl}/oauth/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: created.clientId, client_secret: created.clientSecret,
      redirect_uri: app.url, code,
    }),
  });
  const tokens = await exchange.json();
  assert.equal(exchange.status, 200, JSON.stringify(tokens));
  assert.equal(tokens.hub_id, 515151);
  assert.equal(tokens.expires_in, 1800);

  // The access token is an ordinary bearer token for HubSpot's client.
  const client = spoke.client(tokens.access_token);
  const contact = await client.crm.contacts.basicApi.create({ properties: { email: 'browser@example.com' } });
  const read = await client.crm.contacts.basicApi.getById(contact.id, ['email']);
  assert.equal(read.properties.email, 'browser@example.com');

  // Cancelling: a page of its own, and nothing reaches the app.
  const again = await browser.newPage();
  await again.goto(authorize);
  await again.click('#deny');
  await again.waitForSelector('#denied');
  assert.equal(app.calls.length, 1, 'no callback after cancelling');
});
