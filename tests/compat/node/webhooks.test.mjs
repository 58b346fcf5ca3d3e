// App webhooks through HubSpot's official Node client: an app from `spoke app create`, its
// settings and subscriptions made with the client's webhooks API and the developer API key,
// installed in a portal through the admin API, writes through the client's CRM APIs, and the
// deliveries received on a local HTTP server and checked with the client's `Signature`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hubspot from '@hubspot/api-client';
import { startSpoke } from './spoke.mjs';

const ADMIN = 'spoke-admin-node-webhooks-0123456789';
// The server and `spoke app create` share the key file that seals the app's client secret.
const dataDir = mkdtempSync(join(tmpdir(), 'spoke-node-wh-'));
const spoke = await startSpoke({
  env: { SPOKE_ADMIN_TOKEN: ADMIN, SPOKE_DATA_DIR: dataDir },
  args: ['--webhook-poll-ms', '100'],
});
after(async () => {
  await spoke.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A local target URL recording each POST. */
async function receiver() {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}/hubspot/webhooks?from=spoke`;
  const events = () => requests.flatMap((r) => JSON.parse(r.body));
  const waitFor = async (what, done) => {
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (done(events())) return events();
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`waited 15 s for ${what}; got ${JSON.stringify(events())}`);
  };
  return { url, requests, events, waitFor };
}

async function admin(method, path, body) {
  const res = await fetch(spoke.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

test('events arrive signed as HubSpot signs them, verified by the client\'s Signature', async () => {
  const app = JSON.parse(spoke.cli('app', 'create', '--database', spoke.database, '--name', 'Webhooks (Node)',
    '--redirect-uri', 'http://localhost:3000/callback', '--scopes', 'crm.objects.contacts.read'));
  const rx = await receiver();
  const dev = new hubspot.Client({ developerApiKey: app.developerApiKey, basePath: spoke.baseUrl, numberOfApiCallRetries: 0 });
  const settings = await dev.webhooks.settingsApi.configure(app.appId, { targetUrl: rx.url, throttling: { maxConcurrentRequests: 10 } });
  assert.equal(settings.targetUrl, rx.url);
  const sub = await dev.webhooks.subscriptionsApi.create(app.appId, { eventType: 'contact.creation', active: true });
  assert.equal(typeof sub.id, 'string');
  const change = await dev.webhooks.subscriptionsApi.create(app.appId, { eventType: 'contact.propertyChange', propertyName: 'lastname' });
  assert.equal(change.active, false);
  await dev.webhooks.subscriptionsApi.update(Number(change.id), app.appId, { active: true });
  const all = await dev.webhooks.subscriptionsApi.getAll(app.appId);
  assert.equal(all.results.length, 2);

  const portal = await admin('POST', '/_spoke/portals', {});
  assert.equal(portal.status, 201);
  const installed = await admin('POST', `/_spoke/portals/${portal.body.portalId}/apps/${app.appId}/install`);
  assert.equal(installed.status, 204);
  const crm = spoke.client(portal.body.token);
  const contact = await crm.crm.contacts.basicApi.create({ properties: { email: 'node-hooks@example.com', lastname: 'Lovelace' }, associations: [] });
  await crm.crm.contacts.basicApi.update(contact.id, { properties: { lastname: 'Hopper' } });

  const events = await rx.waitFor('creation and propertyChange', (ev) => ev.length >= 2);
  const created = events.find((e) => e.subscriptionType === 'contact.creation');
  assert.equal(created.objectId, Number(contact.id));
  assert.equal(created.portalId, portal.body.portalId);
  assert.equal(created.appId, app.appId);
  assert.equal(created.attemptNumber, 0);
  assert.deepEqual(Object.keys(created).slice(0, 7),
    ['eventId', 'subscriptionId', 'portalId', 'appId', 'occurredAt', 'subscriptionType', 'attemptNumber']);
  const changed = events.find((e) => e.subscriptionType === 'contact.propertyChange');
  assert.equal(changed.propertyName, 'lastname');
  assert.equal(changed.propertyValue, 'Hopper');

  for (const r of rx.requests) {
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-hubspot-signature-version'], 'v1');
    assert.ok(hubspot.Signature.isValid({
      signature: r.headers['x-hubspot-signature'], clientSecret: app.clientSecret, requestBody: r.body,
      signatureVersion: 'v1',
    }));
    assert.ok(hubspot.Signature.isValid({
      signature: r.headers['x-hubspot-signature-v3'], clientSecret: app.clientSecret, requestBody: r.body,
      signatureVersion: 'v3', url: rx.url, method: 'POST', timestamp: Number(r.headers['x-hubspot-request-timestamp']),
    }));
    assert.ok(!hubspot.Signature.isValid({
      signature: r.headers['x-hubspot-signature'], clientSecret: 'not the secret', requestBody: r.body,
      signatureVersion: 'v1',
    }));
  }
});
