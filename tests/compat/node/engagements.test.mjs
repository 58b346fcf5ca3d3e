// Engagements driven by HubSpot's official Node client: notes, calls, tasks, meetings and
// emails through `client.crm.objects.<type>`, with associations v4 (hubspot-behavior-platform.md
// §24). The token is this file's own, with the scopes the per-type specs name.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startSpoke } from './spoke.mjs';

const spoke = await startSpoke({ portal: 5301 });
after(() => spoke.stop());

const TIMESTAMP = '2024-01-15T10:00:00.123Z';
const client = spoke.client(
  spoke.token([
    'crm.objects.contacts.read',
    'crm.objects.contacts.write',
    'crm.objects.companies.read',
    'crm.objects.companies.write',
  ]),
);

// [client attribute and path name, uppercase word, a body property, type id to contact, from contact]
const ENGAGEMENTS = [
  ['notes', 'NOTE', 'hs_note_body', 202, 201],
  ['calls', 'CALL', 'hs_call_title', 194, 193],
  ['tasks', 'TASK', 'hs_task_subject', 204, 203],
  ['meetings', 'MEETING', 'hs_meeting_title', 200, 199],
  ['emails', 'EMAIL', 'hs_email_subject', 198, 197],
];

const bodyOf = (e) => (typeof e.body === 'string' ? JSON.parse(e.body) : e.body);

async function newContact() {
  const made = await client.crm.contacts.basicApi.create({
    properties: { email: `eng-${randomUUID().slice(0, 10)}@example.com` },
    associations: [],
  });
  return made.id;
}

for (const [name, upper, body, toContact, fromContact] of ENGAGEMENTS) {
  test(`${name}: required hs_timestamp, create, read, search, batch, associations`, async () => {
    const api = client.crm.objects[name];
    const contact = await newContact();
    const word = randomUUID().replaceAll('-', '').slice(0, 12);

    await assert.rejects(
      api.basicApi.create({ properties: { [body]: word }, associations: [] }),
      (e) => {
        assert.equal(e.code, 400);
        const err = bodyOf(e);
        assert.equal(err.message, `Error creating ${upper}. Some required properties were not set.`);
        assert.equal(err.category, 'VALIDATION_ERROR');
        assert.deepEqual(err.context, { properties: ['hs_timestamp'] });
        return true;
      },
    );

    const created = await api.basicApi.create({
      properties: { hs_timestamp: TIMESTAMP, [body]: `about ${word}` },
      associations: [
        {
          to: { id: contact },
          types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: toContact }],
        },
      ],
    });
    assert.equal(created.properties.hs_timestamp, TIMESTAMP);
    assert.equal(created.properties[body], `about ${word}`);

    const got = await api.basicApi.getById(created.id);
    assert.deepEqual(Object.keys(got.properties).sort(), ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id']);
    const withBody = await api.basicApi.getById(created.id, [body]);
    assert.equal(withBody.properties[body], `about ${word}`);

    const page = await api.basicApi.getPage(100);
    assert.ok(page.results.some((r) => r.id === created.id));
    const found = await api.searchApi.doSearch({ query: word, properties: [body], filterGroups: [], sorts: [], limit: 10 });
    assert.equal(found.total, 1);
    assert.equal(found.results[0].id, created.id);

    const forward = await client.crm.associations.v4.basicApi.getPage(name, created.id, 'contacts');
    assert.deepEqual(
      forward.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId)]),
      [[contact, [toContact]]],
    );
    const backward = await client.crm.associations.v4.basicApi.getPage('contacts', contact, name);
    assert.deepEqual(
      backward.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId)]),
      [[created.id, [fromContact]]],
    );

    const batch = await api.batchApi.create({
      inputs: [0, 1].map(() => ({ properties: { hs_timestamp: '1705312800123', [body]: 'b' }, associations: [] })),
    });
    const ids = batch.results.map((r) => r.id);
    assert.equal(ids.length, 2);
    assert.ok(batch.results.every((r) => r.properties.hs_timestamp === TIMESTAMP));
    const read = await api.batchApi.read({ inputs: ids.map((id) => ({ id })), properties: [body], propertiesWithHistory: [] });
    assert.deepEqual(read.results.map((r) => r.id).sort(), [...ids].sort());
    await api.batchApi.archive({ inputs: ids.map((id) => ({ id })) });
    await api.basicApi.archive(created.id);
    await assert.rejects(api.basicApi.getById(created.id), (e) => e.code === 404);
  });
}

test('a call is associated to a company by default with HubSpot\'s ids both ways', async () => {
  const call = await client.crm.objects.calls.basicApi.create({
    properties: { hs_timestamp: TIMESTAMP, hs_call_direction: 'OUTBOUND', hs_call_status: 'COMPLETED' },
    associations: [],
  });
  const company = await client.crm.companies.basicApi.create({ properties: { name: 'Calls Inc' }, associations: [] });
  await client.crm.associations.v4.basicApi.createDefault('calls', call.id, 'companies', company.id);
  const there = await client.crm.associations.v4.basicApi.getPage('calls', call.id, 'companies');
  assert.deepEqual(there.results.flatMap((r) => r.associationTypes.map((t) => t.typeId)), [182]);
  const back = await client.crm.associations.v4.basicApi.getPage('companies', company.id, 'calls');
  assert.deepEqual(back.results.flatMap((r) => r.associationTypes.map((t) => t.typeId)), [181]);
});

test('a token without the contacts scopes cannot read notes', async () => {
  const other = spoke.client(spoke.token(['crm.objects.companies.read']));
  await assert.rejects(other.crm.objects.notes.basicApi.getPage(10), (e) => {
    assert.equal(e.code, 403);
    assert.equal(bodyOf(e).category, 'MISSING_SCOPES');
    return true;
  });
});
