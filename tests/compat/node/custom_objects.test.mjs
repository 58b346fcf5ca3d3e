// Custom objects (issue 12) through HubSpot's official Node client, only its host changed:
// `client.crm.schemas.coreApi` defines a type; `client.crm.objects.*Api` (generic, objectType
// `2-…` / `p{portal}_{name}` / `p_{name}`) and `client.crm.associations.v4.basicApi` work its
// records; then the schema is archived (refused while records live) and purged. A second portal
// must not see the type. Values: shared/reference/hubspot-behavior-apps.md §40.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startSpoke } from './spoke.mjs';

const PORTAL = 5401;
const OTHER_PORTAL = 5402;
const spoke = await startSpoke({ portal: PORTAL });
after(() => spoke.stop());

const SCOPES = [
  'crm.schemas.custom.read',
  'crm.schemas.custom.write',
  'crm.objects.custom.read',
  'crm.objects.custom.write',
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
];
const client = spoke.client(spoke.token(SCOPES));
const other = spoke.client(
  spoke.cli('token', 'create', '--database', spoke.database, '--portal', String(OTHER_PORTAL), '--scopes', SCOPES.join(',')),
);

const tag = () => randomUUID().replaceAll('-', '').slice(0, 8);
const bodyOf = (e) => (typeof e.body === 'string' ? JSON.parse(e.body) : e.body);
const DEFAULT_PROPERTIES = ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'];

/** An ApiException with one of these statuses and HubSpot's error envelope. */
const apiError = (...codes) => (e) => {
  assert.ok(codes.includes(e.code), `expected HTTP ${codes}, got ${e.code}: ${JSON.stringify(e.body)}`);
  const body = bodyOf(e);
  assert.equal(body.status, 'error');
  assert.ok(body.message && body.correlationId, JSON.stringify(body));
  return true;
};

/** §40.3's example body: pets with a required name and a unique chip number. */
function petEgg(name, associatedObjects = ['0-1']) {
  return {
    name,
    labels: { singular: 'Pet', plural: 'Pets' },
    description: '',
    primaryDisplayProperty: 'pet_name',
    secondaryDisplayProperties: ['species'],
    requiredProperties: ['pet_name'],
    searchableProperties: ['pet_name', 'chip'],
    associatedObjects,
    properties: [
      { name: 'pet_name', label: 'Name', type: 'string', fieldType: 'text' },
      {
        name: 'species', label: 'Species', type: 'enumeration', fieldType: 'select',
        options: [
          { label: 'Dog', value: 'dog', displayOrder: 0, hidden: false },
          { label: 'Cat', value: 'cat', displayOrder: 1, hidden: false },
        ],
      },
      { name: 'age', label: 'Age', type: 'number', fieldType: 'number' },
      { name: 'chip', label: 'Chip', type: 'string', fieldType: 'text', hasUniqueValue: true },
    ],
  };
}

const name = `pets_${tag()}`;
// A failure here ends the file before `after` runs: stop the server first, so it does not
// outlive the test run.
const schema = await client.crm.schemas.coreApi.create(petEgg(name)).catch(async (e) => {
  await spoke.stop();
  throw e;
});
const TYPE = schema.objectTypeId;
const FQN = schema.fullyQualifiedName;

async function newContact() {
  const made = await client.crm.objects.basicApi.create('contacts', {
    properties: { email: `pet-owner-${tag()}@example.com` },
    associations: [],
  });
  return made.id;
}

async function createPets(objectType, list) {
  const res = await client.crm.objects.batchApi.create(objectType, {
    inputs: list.map((properties) => ({ properties, associations: [] })),
  });
  assert.equal(res.status, 'COMPLETE');
  assert.equal(res.results.length, list.length);
  const byChip = new Map(res.results.map((r) => [r.properties.chip, r]));
  return list.map((p) => byChip.get(p.chip));
}

test('schema create answers an ObjectSchema with ids, names, group and the contact association', () => {
  assert.match(schema.id, /^\d+$/);
  assert.equal(TYPE, `2-${schema.id}`);
  assert.equal(FQN, `p${PORTAL}_${name}`);
  assert.equal(schema.name, name);
  assert.deepEqual({ ...schema.labels }, { singular: 'Pet', plural: 'Pets' });
  assert.deepEqual(schema.requiredProperties, ['pet_name']);
  assert.equal(schema.primaryDisplayProperty, 'pet_name');
  assert.equal(schema.archived, false);
  assert.ok(schema.createdAt instanceof Date && !Number.isNaN(schema.createdAt.getTime()));
  const props = new Map(schema.properties.map((p) => [p.name, p]));
  for (const p of ['pet_name', 'species', 'age', 'chip']) {
    assert.ok(props.has(p), `${p} missing from ${[...props.keys()]}`);
    assert.equal(props.get(p).groupName, `${name}_information`);
  }
  assert.deepEqual(props.get('species').options.map((o) => o.value), ['dog', 'cat']);
  assert.equal(props.get('chip').hasUniqueValue, true);
  const links = schema.associations.filter((a) => a.fromObjectTypeId === TYPE && a.toObjectTypeId === '0-1');
  assert.equal(links.length, 1, JSON.stringify(schema.associations));
  assert.match(links[0].id, /^\d+$/);
});

test('schema getAll, getById (both names), update, association definitions', async () => {
  const core = client.crm.schemas.coreApi;
  const all = await core.getAll();
  assert.deepEqual(all.results.filter((s) => s.id === schema.id).map((s) => s.fullyQualifiedName), [FQN]);
  for (const key of [TYPE, FQN]) {
    const got = await core.getById(key);
    assert.equal(got.objectTypeId, TYPE);
    assert.equal(got.name, name);
  }
  const updated = await core.update(FQN, { requiredProperties: ['pet_name', 'species'], description: 'Pets we care for' });
  assert.equal(updated.id, schema.id);
  assert.equal(updated.objectTypeId, TYPE);
  assert.deepEqual(updated.requiredProperties, ['pet_name', 'species']);
  assert.equal(updated.description, 'Pets we care for');
  assert.equal(updated.fullyQualifiedName, FQN);
  // Back to one required property for the record tests.
  await core.update(TYPE, { requiredProperties: ['pet_name'] });
  assert.deepEqual((await core.getById(TYPE)).requiredProperties, ['pet_name']);

  // §40.6: the request may name the target; the answer gives its id.
  const made = await core.createAssociation(TYPE, { fromObjectTypeId: TYPE, toObjectTypeId: 'company', name: `pet_to_company_${tag()}` });
  assert.match(made.id, /^\d+$/);
  assert.equal(made.fromObjectTypeId, TYPE);
  assert.equal(made.toObjectTypeId, '0-2');
  assert.ok((await core.getById(TYPE)).associations.some((a) => a.id === made.id));
  await core.archiveAssociation(TYPE, made.id);
  assert.ok(!(await core.getById(TYPE)).associations.some((a) => a.id === made.id));
});

test('records: create, read by every type name, required property, list, search, update, upsert', async () => {
  const basic = client.crm.objects.basicApi;
  const t = tag();
  const rex = await basic.create(TYPE, { properties: { pet_name: `Rex ${t}`, species: 'dog', age: '3', chip: `C-R-${t}` }, associations: [] });
  assert.match(rex.id, /^\d+$/);
  assert.equal(rex.properties.hs_object_id, rex.id);
  for (const key of [TYPE, FQN, `p_${name}`]) {
    const got = await basic.getById(key, rex.id, ['pet_name', 'species', 'age']);
    assert.deepEqual([got.properties.pet_name, got.properties.species, got.properties.age], [`Rex ${t}`, 'dog', '3'], key);
  }
  const plain = await basic.getById(TYPE, rex.id);
  assert.deepEqual(Object.keys(plain.properties).sort(), DEFAULT_PROPERTIES);
  await assert.rejects(basic.create(TYPE, { properties: { species: 'cat' }, associations: [] }), apiError(400));

  const [tom, kit] = await createPets(FQN, [
    { pet_name: `Tom ${t}`, species: 'cat', age: '7', chip: `C-T-${t}` },
    { pet_name: `Kit ${t}`, species: 'cat', age: '1', chip: `C-K-${t}` },
  ]);
  const read = await client.crm.objects.batchApi.read(TYPE, { inputs: [{ id: tom.id }, { id: kit.id }], properties: ['pet_name'], propertiesWithHistory: [] });
  assert.deepEqual(new Set(read.results.map((r) => r.properties.pet_name)), new Set([`Tom ${t}`, `Kit ${t}`]));

  const seen = new Set();
  let after;
  for (let i = 0; i < 50; i++) {
    const page = await basic.getPage(`p_${name}`, 2, after, ['pet_name']);
    assert.ok(page.results.length <= 2);
    page.results.forEach((r) => seen.add(r.id));
    after = page.paging?.next?.after;
    if (!after) break;
  }
  for (const id of [rex.id, tom.id, kit.id]) assert.ok(seen.has(id), `${id} not listed`);

  const cats = await client.crm.objects.searchApi.doSearch(TYPE, {
    filterGroups: [{ filters: [
      { propertyName: 'species', operator: 'EQ', value: 'cat' },
      { propertyName: 'chip', operator: 'IN', values: [`C-R-${t}`, `C-T-${t}`, `C-K-${t}`] },
    ] }],
    sorts: ['age'],
    properties: ['pet_name', 'age'],
    limit: 10,
    after: '0',
  });
  assert.equal(cats.total, 2);
  assert.deepEqual(cats.results.map((r) => r.id), [kit.id, tom.id]);
  const q = await client.crm.objects.searchApi.doSearch(FQN, { query: `Tom ${t}`, properties: ['pet_name'], filterGroups: [], sorts: [], limit: 10, after: '0' });
  assert.deepEqual(q.results.map((r) => r.id), [tom.id]);

  const older = await basic.update(TYPE, tom.id, { properties: { age: '8' } });
  assert.equal(older.properties.age, '8');
  const byChip = await basic.update(TYPE, `C-K-${t}`, { properties: { age: '2' } }, 'chip');
  assert.equal(byChip.id, kit.id);
  assert.equal(byChip.properties.age, '2');

  const up = await client.crm.objects.batchApi.upsert(TYPE, { inputs: [
    { id: `C-R-${t}`, idProperty: 'chip', properties: { age: '4' } },
    { id: `C-N-${t}`, idProperty: 'chip', properties: { pet_name: `New ${t}` } },
  ] });
  assert.deepEqual(up.results.map((r) => [r._new, r.id === rex.id]).sort(), [[false, true], [true, false]]);
  assert.equal((await basic.getById(TYPE, rex.id, ['age'])).properties.age, '4');
});

test('records associate with contacts (v4 default and labelled) and are archived', async () => {
  const forward = schema.associations.find((a) => a.toObjectTypeId === '0-1').id;
  const [pet] = await createPets(TYPE, [{ pet_name: 'Assoc', chip: `C-A-${tag()}` }]);
  const c1 = await newContact();
  const c2 = await newContact();
  const v4 = client.crm.associations.v4.basicApi;

  const made = await v4.createDefault(TYPE, pet.id, 'contacts', c1);
  assert.equal(made.status, 'COMPLETE');
  const fwd = made.results.find((r) => r._from.id === pet.id && r.to.id === c1);
  assert.ok(fwd, JSON.stringify(made.results));
  assert.ok(made.results.some((r) => r._from.id === c1 && r.to.id === pet.id), 'the inverse is listed too');
  assert.equal(fwd.associationSpec.associationTypeId, Number(forward));
  const category = fwd.associationSpec.associationCategory;

  const labelled = await v4.create(FQN, pet.id, 'contacts', c2, [{ associationCategory: category, associationTypeId: Number(forward) }]);
  assert.equal(labelled.fromObjectTypeId, TYPE);
  assert.equal(labelled.toObjectTypeId, '0-1');
  const page = await v4.getPage(TYPE, pet.id, 'contacts');
  assert.deepEqual(page.results.map((r) => String(r.toObjectId)).sort(), [c1, c2].sort());
  const back = await v4.getPage('contacts', c1, FQN);
  assert.deepEqual(back.results.map((r) => String(r.toObjectId)), [pet.id]);

  await v4.archive(TYPE, pet.id, 'contacts', c2);
  assert.deepEqual((await v4.getPage(TYPE, pet.id, 'contacts')).results.map((r) => String(r.toObjectId)), [c1]);

  await client.crm.objects.basicApi.archive(TYPE, pet.id);
  await assert.rejects(client.crm.objects.basicApi.getById(TYPE, pet.id), apiError(404));
});

test('another portal sees neither the schema nor its records', async () => {
  const all = await other.crm.schemas.coreApi.getAll();
  assert.ok(!all.results.some((s) => s.id === schema.id || s.name === name));
  await assert.rejects(other.crm.schemas.coreApi.getById(FQN), apiError(400, 404));
  for (const key of [TYPE, FQN, `p_${name}`]) {
    await assert.rejects(other.crm.objects.basicApi.getPage(key), apiError(400));
  }
});

test('a schema with records cannot be archived; then archive, purge, and the name is free', async () => {
  const core = client.crm.schemas.coreApi;
  const doomedName = `doomed_${tag()}`;
  const doomed = await core.create(petEgg(doomedName, ['CONTACT']));
  assert.equal(doomed.associations.filter((a) => a.toObjectTypeId === '0-1').length, 1, 'associatedObjects by upper-case name (§40.3)');
  const [rec] = await createPets(doomed.objectTypeId, [{ pet_name: 'Last', chip: `C-L-${tag()}` }]);
  await assert.rejects(core.archive(doomed.objectTypeId), apiError(400, 409));
  await client.crm.objects.basicApi.archive(doomed.objectTypeId, rec.id);
  await core.archive(doomed.fullyQualifiedName);
  assert.ok(!(await core.getAll()).results.some((s) => s.id === doomed.id));
  assert.ok((await core.getAll(true)).results.some((s) => s.id === doomed.id && s.archived === true));
  await assert.rejects(client.crm.objects.basicApi.getPage(doomed.objectTypeId), apiError(400));
  await core.archive(doomed.objectTypeId, true);
  assert.ok(!(await core.getAll(true)).results.some((s) => s.id === doomed.id));
  const again = await core.create(petEgg(doomedName));
  assert.notEqual(again.id, doomed.id, 'type numbers are never reused (§40.5)');
  assert.equal(again.fullyQualifiedName, doomed.fullyQualifiedName);
});
