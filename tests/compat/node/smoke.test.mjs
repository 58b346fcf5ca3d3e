// The harness itself: the official Node client reaches spoke and reads what it wrote.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSpoke } from './spoke.mjs';

const spoke = await startSpoke();
after(() => spoke.stop());

test('the official Node client creates and reads a contact', async () => {
  const client = spoke.client(spoke.token(['crm.objects.contacts.read', 'crm.objects.contacts.write']));
  const email = `node-${Date.now()}@example.com`;
  const created = await client.crm.contacts.basicApi.create({ properties: { email }, associations: [] });
  assert.equal(created.properties.email, email);
  const read = await client.crm.contacts.basicApi.getById(created.id, ['email']);
  assert.equal(read.id, created.id);
  assert.equal(read.properties.email, email);
});

test('a missing record is the client\'s 404 error', async () => {
  const client = spoke.client(spoke.token(['crm.objects.contacts.read']));
  await assert.rejects(client.crm.contacts.basicApi.getById('999999999'), (e) => e.code === 404);
});
