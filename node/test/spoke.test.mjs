// spoke-testing driven as a user drives it: a server for the file, a portal per test, and
// HubSpot's official Node client (@hubspot/api-client, pinned in package-lock.json) against it.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import hubspot from '@hubspot/api-client';
import { attach, SpokeError, startSpoke } from '../index.mjs';

let spoke;
let portal;

before(async () => {
  spoke = await startSpoke();
});
after(async () => {
  await spoke?.stop();
});
beforeEach(async () => {
  portal = await spoke.newPortal();
});
afterEach(async () => {
  await portal?.close();
});

const client = (p, options = {}) =>
  new hubspot.Client({ accessToken: p.token, basePath: p.baseUrl, numberOfApiCallRetries: 0, ...options });

const createContact = (c, email, extra = {}) =>
  c.crm.contacts.basicApi.create({ properties: { email, ...extra }, associations: [] });

describe('a fresh portal per test', () => {
  test('the first test creates ada', async () => {
    const ada = await createContact(client(portal), 'ada@example.com');
    assert.equal(ada.properties.email, 'ada@example.com');
  });
  test('the second test creates ada again', async () => {
    const c = client(portal);
    assert.deepEqual((await c.crm.contacts.basicApi.getPage()).results, []);
    const ada = await createContact(c, 'ada@example.com');
    assert.equal(ada.properties.email, 'ada@example.com');
  });
});

test('reset empties the portal and keeps its token', async () => {
  const c = client(portal);
  await createContact(c, 'grace@example.com');
  await portal.reset();
  assert.deepEqual((await c.crm.contacts.basicApi.getPage()).results, []);
  await createContact(c, 'grace@example.com');
});

test('snapshot and restore', async () => {
  const c = client(portal);
  const kept = await createContact(c, 'kept@example.com');
  await portal.snapshot('before');
  await c.crm.contacts.basicApi.archive(kept.id);
  await portal.restore('before');
  const page = await c.crm.contacts.basicApi.getPage();
  assert.deepEqual(page.results.map((r) => r.id), [kept.id]);
  assert.deepEqual((await portal.snapshots()).map((s) => s.name), ['before']);
});

test('a fault rule: the client retries through two 503s', async () => {
  const contact = await createContact(client(portal), 'retry@example.com');
  const fault = await portal.fault({ action: 'error', status: 503, count: 2, method: 'GET', path: '/crm/v3/objects/contacts/*' });
  // The Node client retries 5xx answers itself (200 ms, then 400 ms).
  const retrying = client(portal, { numberOfApiCallRetries: 3 });
  const got = await retrying.crm.contacts.basicApi.getById(contact.id);
  assert.equal(got.id, contact.id);
  assert.equal(await fault.hits(), 2);
  assert.equal(await fault.remaining(), 0);
});

test('a 429 fault: the client sees HubSpot\'s rate-limit answer', async () => {
  const contact = await createContact(client(portal), 'limited@example.com');
  await portal.fault({ action: 'error', status: 429, count: 1, path: '/crm/v3/objects/contacts/*' });
  const c = client(portal);
  await assert.rejects(c.crm.contacts.basicApi.getById(contact.id), (e) => {
    assert.equal(e.code, 429);
    assert.equal(e.body.errorType, 'RATE_LIMIT');
    assert.equal(e.body.policyName, 'TEN_SECONDLY_ROLLING');
    return true;
  });
  assert.equal((await c.crm.contacts.basicApi.getById(contact.id)).id, contact.id);
});

test('a frozen clock makes an incremental search deterministic', async () => {
  const c = client(portal);
  const t0 = Date.parse('2024-01-15T09:00:00Z');
  await portal.clock.freeze(new Date(t0));
  const first = await createContact(c, 'first@example.com');
  const state = await portal.clock.advance(5 * 60 * 1000);
  assert.equal(state.nowMs, t0 + 5 * 60 * 1000);
  const second = await createContact(c, 'second@example.com');
  assert.equal(first.updatedAt.getTime(), t0);
  assert.equal(second.updatedAt.getTime(), t0 + 5 * 60 * 1000);

  const since = (ms) =>
    c.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(ms) }] }],
      properties: ['email'],
      limit: 100,
    });
  const page = await since(t0 + 60 * 1000);
  assert.deepEqual(page.results.map((r) => r.id), [second.id]);
  assert.equal((await since(t0)).total, 2);
  assert.equal((await portal.clock.real()).mode, 'real');
});

test('seed from a fixture, then reset to it', async () => {
  const seeded = await portal.seed({
    records: {
      companies: [{ ref: 'acme', properties: { name: 'Acme' } }],
      contacts: [{ ref: 'alice', properties: { email: 'alice@acme.example' } }],
    },
    associations: [{ from: { type: 'contacts', ref: 'alice' }, to: { type: 'companies', ref: 'acme' } }],
  });
  const alice = seeded.refs.contacts.alice;
  const c = client(portal);
  const got = await c.crm.contacts.basicApi.getById(alice, undefined, undefined, ['companies']);
  assert.deepEqual(got.associations.companies.results.map((a) => a.id), [seeded.refs.companies.acme]);
  await createContact(c, 'extra@example.com');
  await portal.reset({ toSeed: true });
  const page = await c.crm.contacts.basicApi.getPage();
  assert.deepEqual(page.results.map((r) => r.id), [alice]);
});

test('admin errors are SpokeErrors in HubSpot\'s envelope', async () => {
  await assert.rejects(portal.restore('never-taken'), (e) => {
    assert.ok(e instanceof SpokeError);
    assert.equal(e.status, 404);
    assert.equal(e.category, 'OBJECT_NOT_FOUND');
    return true;
  });
  // A HubSpot token is no admin token.
  const { Admin } = await import('../index.mjs');
  await assert.rejects(new Admin(spoke.baseUrl, portal.token).portals(), (e) => e.status === 401);
});

test('attach() uses a running server and leaves it running; close() deletes the portal and its faults', async () => {
  const attached = await attach(spoke.baseUrl, spoke.adminToken);
  const p = await attached.newPortal();
  const f = await p.fault({ action: 'error', status: 500, path: '/crm/v3/objects/deals*' });
  await p.close();
  await p.close();
  await attached.stop();
  assert.ok(!(await spoke.admin.portals()).includes(p.portalId));
  assert.ok(!(await spoke.admin.faults()).some((r) => r.id === f.id));
  const res = await fetch(`${spoke.baseUrl}/healthz`);
  assert.equal(res.status, 200);
});

test('stop() ends the server it started', async () => {
  const own = await startSpoke();
  const { pid, baseUrl } = own;
  await own.stop();
  await assert.rejects(fetch(`${baseUrl}/healthz`));
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
});

test('a binary that cannot start is an error with its output', async () => {
  await assert.rejects(startSpoke({ database: 'nosuchscheme://nowhere' }), /spoke serve exited with/);
  await assert.rejects(startSpoke({ bin: '/nonexistent/spoke' }), /set SPOKE_BIN/);
});
