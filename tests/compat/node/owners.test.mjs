// Owners, users, teams and roles through HubSpot's official Node client
// (hubspot-behavior-platform.md §20-§21).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSpoke } from './spoke.mjs';

const spoke = await startSpoke({ portal: 5101 });
after(() => spoke.stop());

const SCOPES = ['crm.objects.owners.read', 'settings.users.read', 'settings.users.write', 'settings.users.teams.read'];

test('a new portal has one owner: its account owner', async () => {
  const client = spoke.client(spoke.token(SCOPES));
  const page = await client.crm.owners.ownersApi.getPage();
  const owner = page.results.find((o) => o.email === 'owner@portal5101.spoke.test');
  assert.ok(owner, JSON.stringify(page.results));
  assert.equal(owner.type, 'PERSON');
  assert.equal(owner.archived, false);
  assert.equal(typeof owner.id, 'string');
  assert.equal(typeof owner.userId, 'number');
  assert.ok(owner.createdAt instanceof Date && !Number.isNaN(owner.createdAt.getTime()));
});

test('a user becomes an owner with teams; removing it archives the owner', async () => {
  const client = spoke.client(spoke.token(SCOPES));
  const { usersApi, teamsApi, rolesApi } = client.settings.users;
  const teams = (await teamsApi.getAll()).results;
  const roles = (await rolesApi.getAll()).results;
  assert.equal(typeof roles[0].requiresBillingWrite, 'boolean');
  const email = `node-${Date.now()}@example.com`;
  const made = await usersApi.create({ email, sendWelcomeEmail: false, roleId: roles[0].id, primaryTeamId: teams[0].id });
  assert.equal(made.email, email);
  assert.deepEqual(made.roleIds, [roles[0].id]);
  const byEmail = await usersApi.getById(email, 'EMAIL');
  assert.equal(byEmail.id, made.id);
  const replaced = await usersApi.replace(made.id, { secondaryTeamIds: [teams[1].id] });
  assert.deepEqual(replaced.secondaryTeamIds, [teams[1].id]);

  const owners = client.crm.owners.ownersApi;
  const [owner] = (await owners.getPage(email)).results;
  assert.equal(owner.userId, Number(made.id));
  assert.deepEqual(owner.teams.map((t) => [t.id, t.primary]), [[teams[0].id, true], [teams[1].id, false]]);
  const same = await owners.getById(Number(made.id), 'userId');
  assert.equal(same.id, owner.id);

  await assert.rejects(usersApi.create({ email, sendWelcomeEmail: false }), (e) => e.code === 409);
  await usersApi.archive(made.id);
  await assert.rejects(usersApi.getById(made.id), (e) => e.code === 404);
  const archived = await owners.getPage(email, undefined, undefined, true);
  assert.deepEqual(archived.results.map((o) => [o.id, o.archived]), [[owner.id, true]]);
  await assert.rejects(owners.getById(Number(owner.id)), (e) => e.code === 404);
});

test('owners and users page by after', async () => {
  const client = spoke.client(spoke.token(SCOPES));
  const { usersApi } = client.settings.users;
  for (let i = 0; i < 3; i++) {
    await usersApi.create({ email: `node-page-${i}-${Date.now()}@example.com`, sendWelcomeEmail: false });
  }
  const first = await usersApi.getPage(2);
  assert.equal(first.results.length, 2);
  const second = await usersApi.getPage(2, first.paging.next.after);
  assert.ok(second.results.every((u) => !first.results.some((f) => f.id === u.id)));
  const owners = client.crm.owners.ownersApi;
  const page = await owners.getPage(undefined, undefined, 2);
  assert.ok(page.paging.next.link.includes('after='));
  const rest = await owners.getPage(undefined, page.paging.next.after, 500);
  const ids = [...page.results, ...rest.results].map((o) => Number(o.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
});

test('owners without their scope are 403', async () => {
  const client = spoke.client(spoke.token(['crm.objects.contacts.read']));
  await assert.rejects(client.crm.owners.ownersApi.getPage(), (e) => e.code === 403);
});
