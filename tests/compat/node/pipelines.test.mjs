// Pipelines v3 through the official Node client (client.crm.pipelines.*), only its host
// changed; values as hubspot-behavior-platform.md §23 and docs/compatibility.md say.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSpoke } from './spoke.mjs';

const spoke = await startSpoke({ portal: 5201 });
after(() => spoke.stop());

const client = spoke.client(
  spoke.token(['crm.schemas.deals.read', 'crm.schemas.deals.write', 'crm.objects.deals.read', 'crm.objects.deals.write', 'tickets']),
);

test('a new portal has the default deal and ticket pipelines', async () => {
  const deals = await client.crm.pipelines.pipelinesApi.getAll('deals');
  const sales = deals.results.find((p) => p.id === 'default');
  assert.equal(sales.label, 'Sales Pipeline');
  assert.equal(sales.createdAt.toISOString(), '1970-01-01T00:00:00.000Z');
  assert.deepEqual(sales.stages.map((s) => s.id), [
    'appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin',
    'contractsent', 'closedwon', 'closedlost',
  ]);
  assert.deepEqual(sales.stages[6].metadata, { isClosed: 'true', probability: '0.0' });
  const tickets = await client.crm.pipelines.pipelinesApi.getById('tickets', '0');
  assert.deepEqual(tickets.stages.map((s) => s.label), ['New', 'Waiting on contact', 'Waiting on us', 'Closed']);
});

test('pipelines and stages are created, changed, audited and archived', async () => {
  const api = client.crm.pipelines.pipelinesApi;
  const stages = client.crm.pipelines.pipelineStagesApi;
  const made = await api.create('deals', {
    label: 'Node partners',
    displayOrder: 2,
    stages: [
      { label: 'Intro', displayOrder: 0, metadata: { probability: '0.1' } },
      { label: 'Won', displayOrder: 1, metadata: { probability: '1.0', isClosed: 'true' } },
    ],
  });
  assert.equal(made.stages.length, 2);
  const stage = await stages.create('deals', made.id, { label: 'Review', displayOrder: 2, metadata: { probability: '0.5' } });
  const patched = await stages.update('deals', made.id, stage.id, { label: 'Legal', metadata: {} });
  assert.equal(patched.label, 'Legal');
  assert.equal(patched.metadata.probability, '0.5');
  const replaced = await api.replace('deals', made.id, {
    label: 'Node partners 2',
    displayOrder: 2,
    stages: [{ label: 'Only', displayOrder: 0, metadata: { probability: '0.3' } }],
  });
  assert.deepEqual(replaced.stages.map((s) => s.label), ['Only']);
  const audit = await client.crm.pipelines.pipelineAuditsApi.getAudit('deals', made.id);
  assert.equal(audit.results[0].action, 'UPDATE');
  assert.equal(audit.results[0].rawObject.label, 'Node partners 2');
  await api.archive('deals', made.id);
  await assert.rejects(api.getById('deals', made.id), (e) => e.code === 404);
  await assert.rejects(
    api.update('deals', 'default', { archived: true }),
    (e) => e.code === 400,
  );
});

test('a ticket in pipeline 0, stage 1 is created; a stage of another pipeline is refused', async () => {
  const ticket = await client.crm.tickets.basicApi.create({
    properties: { subject: 'Node', hs_pipeline: '0', hs_pipeline_stage: '1' },
    associations: [],
  });
  assert.equal(ticket.properties.hs_pipeline, '0');
  await assert.rejects(
    client.crm.deals.basicApi.create({ properties: { dealname: 'x', pipeline: 'default', dealstage: '1' }, associations: [] }),
    (e) => e.code === 400,
  );
});
