// spoke's web UI: one ES module, no library, no build step. It reads and drives the admin
// API (/_spoke/…) with the browser's HttpOnly cookie; every call that changes state carries
// `X-Spoke-UI: 1`, which the server requires of cookie-authenticated writes (CSRF guard).
// Views are chosen by the location's hash, so every page has an address and Back works.
// The DOM is built with `h()` from text nodes only: nothing a record, a request or a header
// holds is ever parsed as HTML.

const main = document.getElementById('main');

class ApiFailure extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { 'X-Spoke-UI': '1', accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    // The cookie is gone or the admin token was replaced: the page answers the login form.
    location.reload();
    throw new ApiFailure(401, 'signed out');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiFailure(res.status, (data && data.message) || text || res.statusText);
  return data;
}

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const enc = encodeURIComponent;
const link = (href, ...text) => h('a', { href }, ...text);

function failure(err, what) {
  if (err instanceof ApiFailure && err.status === 404 && what) {
    return h('p', { class: 'error' }, `${what} is not available on this server (404).`);
  }
  return h('p', { class: 'error' }, err instanceof ApiFailure ? `${err.status}: ${err.message}` : String(err));
}

/** Runs an action from a button: disables it meanwhile, shows a failure beside it. */
function action(fn) {
  return async (ev) => {
    ev.preventDefault();
    const button = ev.submitter || ev.currentTarget;
    if (button instanceof HTMLButtonElement) button.disabled = true;
    try {
      await fn(ev);
    } catch (err) {
      const target = (button && button.closest('section, form, .panel')) || main;
      target.querySelectorAll(':scope > .error.action').forEach((e) => e.remove());
      const shown = failure(err);
      shown.classList.add('action');
      target.append(shown);
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  };
}

function statusClass(status) {
  return `status s${String(status)[0]}`;
}

// ---------------------------------------------------------------------------- routing

let generation = 0;
let cleanups = [];

/** Fills `main` unless the user moved on to another view meanwhile. */
function render(gen, ...nodes) {
  if (gen !== generation) return false;
  main.replaceChildren(...nodes);
  return true;
}

const routes = [
  [/^\/?$/, () => portalsView],
  [/^\/portals$/, () => portalsView],
  [/^\/portals\/(\d+)$/, () => portalView],
  [/^\/portals\/(\d+)\/objects\/([^/]+)$/, () => recordsView],
  [/^\/portals\/(\d+)\/objects\/([^/]+)\/(\d+)$/, () => recordView],
  [/^\/requests$/, () => requestsView],
  [/^\/requests\/([^/]+)$/, () => requestView],
  [/^\/faults$/, () => faultsView],
];

async function route() {
  generation += 1;
  const gen = generation;
  for (const stop of cleanups) stop();
  cleanups = [];
  const raw = location.hash.replace(/^#/, '');
  const [path, query] = raw.split('?');
  const params = new URLSearchParams(query || '');
  const section = path.split('/')[1] || 'portals';
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === section));
  for (const [pattern, view] of routes) {
    const m = path.match(pattern);
    if (m) {
      main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
      try {
        await view()(gen, m.slice(1).map(decodeURIComponent), params);
      } catch (err) {
        render(gen, failure(err));
      }
      return;
    }
  }
  render(gen, h('p', { class: 'error' }, 'No such page. '), link('#/portals', 'Portals'));
}

window.addEventListener('hashchange', route);
route();

// ---------------------------------------------------------------------------- portals

async function portalsView(gen) {
  const { results } = await api('GET', '/_spoke/portals');
  const created = h('div', { id: 'created' });
  const rows = results.map((p) =>
    h('tr', { 'data-portal': p.portalId },
      h('td', { class: 'mono' }, link(`#/portals/${p.portalId}`, p.portalId)),
      h('td', {},
        h('button', { class: 'plain', onclick: action(() => resetPortal(p.portalId)) }, 'Reset'), ' ',
        h('button', { class: 'danger', onclick: action(() => deletePortal(p.portalId)) }, 'Delete'))));
  render(gen,
    h('h1', {}, 'Portals'),
    h('div', { class: 'row' },
      h('button', {
        id: 'create-portal',
        onclick: action(async () => {
          const p = await api('POST', '/_spoke/portals', {});
          await route();
          document.getElementById('created')?.replaceChildren(h('div', { class: 'notice' },
            'Portal ', link(`#/portals/${p.portalId}`, p.portalId), ' created. Its token (shown once): ',
            h('span', { class: 'token' }, p.token), ` — base URL ${p.baseUrl}`));
        }),
      }, 'Create a portal')),
    created,
    results.length
      ? h('div', { class: 'scroll' }, h('table', { id: 'portals-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Portal'), h('th', {}, ''))),
        h('tbody', {}, rows)))
      : h('p', { class: 'muted' }, 'No portals yet.'));
}

async function resetPortal(id, to) {
  const question = to === 'seed'
    ? `Reset portal ${id} to its seed? What was written since it was seeded goes.`
    : `Reset portal ${id}? Every record, property, association and pipeline it holds goes.`;
  if (!confirm(question)) return;
  await api('POST', `/_spoke/portals/${id}/reset`, to ? { to } : undefined);
  await route();
}

async function deletePortal(id) {
  if (!confirm(`Delete portal ${id} with its tokens and snapshots?`)) return;
  await api('DELETE', `/_spoke/portals/${id}`);
  location.hash = '#/portals';
  await route();
}

async function portalView(gen, [portal]) {
  const { results } = await api('GET', `/_spoke/portals/${portal}/types`);
  const types = h('div', { class: 'scroll' }, h('table', { id: 'types-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Type'), h('th', {}, 'Type id'), h('th', {}, 'Records'))),
    h('tbody', {}, results.map((t) =>
      h('tr', { 'data-type': t.name },
        h('td', {}, link(`#/portals/${portal}/objects/${enc(t.objectTypeId)}`, t.name),
          t.custom ? [' ', h('span', { class: 'badge' }, 'custom')] : null),
        h('td', { class: 'mono' }, t.objectTypeId),
        h('td', { class: 'num' }, t.count))))));
  const clock = h('section', { id: 'clock' }, h('h2', {}, 'Clock'), h('p', { class: 'muted' }, 'Loading…'));
  const snapshots = h('section', { id: 'snapshots' }, h('h2', {}, 'Snapshots'), h('p', { class: 'muted' }, 'Loading…'));
  const rendered = render(gen,
    h('div', { class: 'crumbs' }, link('#/portals', 'Portals'), ' / '),
    h('h1', {}, `Portal ${portal}`),
    h('div', { class: 'row' },
      link(`#/requests?portalId=${portal}`, 'Its requests'),
      h('button', { class: 'plain', id: 'reset-empty', onclick: action(() => resetPortal(portal)) }, 'Reset (empty)'),
      h('button', { class: 'plain', id: 'reset-seed', onclick: action(() => resetPortal(portal, 'seed')) }, 'Reset to seed'),
      h('button', { class: 'danger', onclick: action(() => deletePortal(portal)) }, 'Delete')),
    h('div', { class: 'grid2' }, h('div', {}, h('h2', {}, 'Records by type'), types), h('div', {}, clock, snapshots, seedPanel(portal))));
  if (!rendered) return;
  await Promise.all([clockPanel(clock, portal), snapshotsPanel(snapshots, portal)]);
}

// ---------------------------------------------------------------------------- seed

/** Seeds the portal from a fixture document pasted as JSON (the seed endpoint's body). */
function seedPanel(portal) {
  const fixture = h('textarea', {
    id: 'seed-fixture', rows: '6', spellcheck: 'false', class: 'mono',
    placeholder: '{"records": {"contacts": [{"ref": "alice", "properties": {"email": "alice@example.com"}}]}}',
  });
  const result = h('div', { id: 'seed-result' });
  return h('section', { id: 'seed' },
    h('h2', {}, 'Seed from a fixture'),
    h('form', { onsubmit: action(async () => {
      let doc;
      try {
        doc = JSON.parse(fixture.value || '{}');
      } catch (err) {
        throw new Error(`The fixture is not JSON: ${err.message}`);
      }
      const seeded = await api('POST', `/_spoke/portals/${portal}/seed`, doc);
      await route();
      document.getElementById('seed-result')?.replaceChildren(h('div', { class: 'notice' },
        'Seeded: ', Object.entries(seeded.counts || {}).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') || 'nothing'));
    }) }, fixture, h('div', { class: 'row' }, h('button', { id: 'seed-apply', type: 'submit' }, 'Seed'))),
    result);
}

// ---------------------------------------------------------------------------- clock

const UNITS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 };

async function clockPanel(panel, portal) {
  const path = `/_spoke/portals/${portal}/clock`;
  const show = (c) => {
    // The portal's now moves on while the page is open, unless its clock is frozen.
    const shownAt = Date.now();
    const portalNow = () => (c.mode === 'frozen' ? c.nowMs : c.nowMs + (Date.now() - shownAt));
    const amount = h('input', { id: 'clock-amount', type: 'number', min: '0', value: '1', style: 'width:6em' });
    const unit = h('select', { id: 'clock-unit' }, Object.keys(UNITS).map((u) => h('option', { value: u }, u)));
    unit.value = 'hours';
    const at = h('input', { id: 'clock-at', type: 'datetime-local', step: '1' });
    panel.replaceChildren(
      h('h2', {}, 'Clock'),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Now'), h('dd', { id: 'clock-now', class: 'mono' }, c.now),
        h('dt', {}, 'Mode'), h('dd', { id: 'clock-mode' }, c.mode),
        h('dt', {}, 'Offset'), h('dd', { id: 'clock-offset', class: 'mono' }, `${c.offsetMs} ms`)),
      h('form', { class: 'inline', onsubmit: action(async () => {
        const when = new Date(at.value ? at.value : portalNow()).toISOString();
        show(await api('PUT', path, { mode: 'frozen', at: when }));
      }) },
      h('label', {}, 'Freeze at (empty: now)', at),
      h('button', { id: 'clock-freeze', type: 'submit' }, 'Freeze')),
      h('form', { class: 'inline', onsubmit: action(async () => {
        const ms = Math.round(Number(amount.value) * UNITS[unit.value]);
        show(await api('POST', `${path}/advance`, { ms }));
      }) },
      h('label', {}, 'Advance by', h('span', { class: 'row' }, amount, unit)),
      h('button', { id: 'clock-advance', type: 'submit' }, 'Advance')),
      h('div', { class: 'row' },
        h('button', { id: 'clock-real', class: 'plain', onclick: action(async () => show(await api('PUT', path, { mode: 'real' }))) },
          'Back to real time')));
  };
  try {
    show(await api('GET', path));
  } catch (err) {
    panel.replaceChildren(h('h2', {}, 'Clock'), failure(err, 'The clock'));
  }
}

// ---------------------------------------------------------------------------- snapshots

async function snapshotsPanel(panel, portal) {
  const base = `/_spoke/portals/${portal}/snapshots`;
  const reload = () => snapshotsPanel(panel, portal);
  let list;
  try {
    list = (await api('GET', base)).results;
  } catch (err) {
    panel.replaceChildren(h('h2', {}, 'Snapshots'), failure(err, 'Snapshots'));
    return;
  }
  const name = h('input', { id: 'snapshot-name', placeholder: 'name', required: true });
  panel.replaceChildren(
    h('h2', {}, 'Snapshots'),
    h('form', { class: 'inline', onsubmit: action(async () => {
      await api('POST', base, { name: name.value });
      await reload();
    }) }, name, h('button', { id: 'snapshot-take', type: 'submit' }, 'Take snapshot')),
    list.length
      ? h('table', { id: 'snapshots-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Taken'), h('th', {}, 'Records'), h('th', {}, ''))),
        h('tbody', {}, list.map((s) => h('tr', {},
          h('td', { class: 'mono' }, s.name), h('td', { class: 'mono' }, s.createdAt), h('td', { class: 'num' }, s.records),
          h('td', {},
            h('button', { class: 'plain', onclick: action(async () => {
              if (!confirm(`Restore portal ${portal} to snapshot ${s.name}?`)) return;
              await api('POST', `${base}/${enc(s.name)}/restore`);
              await route();
            }) }, 'Restore'), ' ',
            h('button', { class: 'danger', onclick: action(async () => {
              await api('DELETE', `${base}/${enc(s.name)}`);
              await reload();
            }) }, 'Delete'))))))
      : h('p', { class: 'muted' }, 'No snapshots.'));
}

// ---------------------------------------------------------------------------- records

/** The columns of a records table: the type's defaults that any record has, then the
 *  others by how many records have them, at most 10 in all. */
function columns(page) {
  const seen = new Map();
  for (const r of page.results) for (const k of Object.keys(r.properties)) seen.set(k, (seen.get(k) || 0) + 1);
  const skip = new Set(['hs_object_id']);
  const first = page.defaultProperties.filter((p) => seen.has(p) && !skip.has(p));
  const rest = [...seen.keys()].filter((k) => !first.includes(k) && !skip.has(k))
    .sort((a, b) => seen.get(b) - seen.get(a) || a.localeCompare(b));
  return [...first, ...rest].slice(0, 10);
}

async function recordsView(gen, [portal, type], params) {
  const after = params.get('after');
  const q = new URLSearchParams({ limit: '50' });
  if (after) q.set('after', after);
  const page = await api('GET', `/_spoke/portals/${portal}/objects/${enc(type)}?${q}`);
  const cols = columns(page);
  const recordHref = (id) => `#/portals/${portal}/objects/${enc(type)}/${id}`;
  render(gen,
    h('div', { class: 'crumbs' }, link('#/portals', 'Portals'), ' / ', link(`#/portals/${portal}`, `Portal ${portal}`), ' / '),
    h('h1', {}, page.name, ' ', h('span', { class: 'muted' }, `(${page.total})`)),
    page.results.length
      ? h('div', { class: 'scroll' }, h('table', { id: 'records-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'id'), cols.map((c) => h('th', {}, c)))),
        h('tbody', {}, page.results.map((r) => h('tr', {
          class: 'clickable', 'data-id': r.id, onclick: () => { location.hash = recordHref(r.id); },
        },
        h('td', { class: 'mono' }, link(recordHref(r.id), r.id)),
        cols.map((c) => h('td', {}, r.properties[c] ?? '')))))))
      : h('p', { class: 'muted' }, after ? 'No more records.' : 'No records of this type.'),
    h('div', { class: 'row' },
      after ? link(`#/portals/${portal}/objects/${enc(type)}`, 'First page') : null,
      page.paging ? link(`#/portals/${portal}/objects/${enc(type)}?after=${enc(page.paging.next.after)}`, 'Next page') : null));
}

async function recordView(gen, [portal, type, id]) {
  const r = await api('GET', `/_spoke/portals/${portal}/objects/${enc(type)}/${id}`);
  const history = r.propertiesWithHistory || {};
  const rows = Object.keys(r.properties).sort().map((name) => {
    const entries = history[name] || [];
    return h('tr', { 'data-property': name },
      h('td', { class: 'mono' }, name),
      h('td', {}, r.properties[name]),
      h('td', {}, entries.length > 0
        ? h('details', {},
          h('summary', {}, `${entries.length} value${entries.length === 1 ? '' : 's'}`),
          h('table', { class: 'history' }, h('tbody', {}, entries.map((e) => h('tr', {},
            h('td', {}, e.value), h('td', { class: 'mono' }, e.timestamp),
            h('td', {}, e.sourceType, e.sourceId ? ` (${e.sourceId})` : ''))))))
        : h('span', { class: 'muted' }, '—')));
  });
  const associations = r.associations.length
    ? r.associations.map((group) => h('div', { class: 'panel', 'data-to': group.toName },
      h('strong', {}, group.toName), ` (${group.results.length}${group.more ? '+' : ''})`,
      h('ul', {}, group.results.map((t) => h('li', {},
        link(`#/portals/${portal}/objects/${enc(group.toObjectTypeId)}/${t.id}`, `${group.toName} ${t.id}`), ' ',
        t.types.map((ty) => h('span', { class: 'badge', title: ty.category }, `type ${ty.typeId}`)))))))
    : h('p', { class: 'muted' }, 'No associations.');
  render(gen,
    h('div', { class: 'crumbs' }, link('#/portals', 'Portals'), ' / ', link(`#/portals/${portal}`, `Portal ${portal}`), ' / ',
      link(`#/portals/${portal}/objects/${enc(type)}`, r.name), ' / '),
    h('h1', {}, `${r.name} ${r.id}`, r.archived ? [' ', h('span', { class: 'badge' }, 'archived')] : null),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Created'), h('dd', { class: 'mono' }, r.createdAt),
      h('dt', {}, 'Updated'), h('dd', { class: 'mono' }, r.updatedAt)),
    h('h2', {}, 'Properties'),
    h('div', { class: 'scroll' }, h('table', { id: 'record-properties' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Property'), h('th', {}, 'Value'), h('th', {}, 'History'))),
      h('tbody', {}, rows))),
    h('h2', {}, 'Associations'),
    h('div', { id: 'record-associations' }, associations));
}

// ---------------------------------------------------------------------------- requests

const FILTERS = ['portalId', 'method', 'path', 'status', 'correlationId'];

function requestRow(s) {
  return h('tr', { class: 'clickable', 'data-id': s.id, onclick: () => { location.hash = `#/requests/${enc(s.id)}`; } },
    h('td', { class: 'mono' }, s.at),
    h('td', { class: 'mono' }, s.method),
    h('td', { class: 'mono' }, link(`#/requests/${enc(s.id)}`, s.path), s.query ? h('span', { class: 'muted' }, `?${s.query}`) : null),
    h('td', { class: statusClass(s.status) }, s.status),
    h('td', { class: 'num' }, Math.round(s.durationMs * 10) / 10),
    h('td', { class: 'mono' }, s.portalId ?? ''),
    h('td', { class: 'mono' }, s.correlationId));
}

async function requestsView(gen, _, params) {
  const filters = new URLSearchParams();
  for (const f of FILTERS) if (params.get(f)) filters.set(f, params.get(f));
  const inputs = Object.fromEntries(FILTERS.map((f) => [f, h('input', { name: f, id: `filter-${f}`, value: params.get(f) || '', size: f === 'correlationId' ? 36 : 12 })]));
  const tbody = h('tbody', {});
  const more = h('div', { class: 'row' });
  const recording = h('span', { id: 'recording' });
  const live = h('input', { type: 'checkbox', id: 'live' });
  const table = h('div', { class: 'scroll' }, h('table', { id: 'requests-table' },
    h('thead', {}, h('tr', {}, ['At', 'Method', 'Path', 'Status', 'ms', 'Portal', 'Correlation id'].map((t) => h('th', {}, t)))),
    tbody));

  const load = async (after) => {
    const q = new URLSearchParams(filters);
    q.set('limit', '100');
    if (after) q.set('after', after);
    const page = await api('GET', `/_spoke/requests?${q}`);
    tbody.append(...page.results.map(requestRow));
    more.replaceChildren(page.paging
      ? h('button', { class: 'plain', onclick: action(() => load(page.paging.next.after)) }, 'Older')
      : h('span', { class: 'muted' }, tbody.children.length ? 'End of the log.' : 'No requests recorded.'));
  };

  let stream = null;
  const stopStream = () => {
    if (stream) stream.close();
    stream = null;
    live.removeAttribute('data-open');
  };
  cleanups.push(stopStream);
  live.addEventListener('change', () => {
    stopStream();
    if (!live.checked) return;
    stream = new EventSource(`/_spoke/requests/stream?${filters}`);
    // Marked once connected, so a person (and a test) can tell the feed is live.
    stream.onopen = () => live.setAttribute('data-open', '');
    stream.onerror = () => live.removeAttribute('data-open');
    stream.onmessage = (ev) => {
      try {
        tbody.prepend(requestRow(JSON.parse(ev.data)));
      } catch {
        // A line that is not a summary (a comment, a keep-alive) adds no row.
      }
    };
  });

  const showRecording = async (state) => {
    const s = state || await api('GET', '/_spoke/inspector');
    recording.replaceChildren(`Recording ${s.recording ? 'on' : 'off'} (${s.stored} of at most ${s.capacity} kept) `,
      h('button', { class: 'plain', id: 'recording-toggle', onclick: action(async () => showRecording(await api('PUT', '/_spoke/inspector', { recording: !s.recording }))) },
        s.recording ? 'Stop recording' : 'Start recording'));
  };

  const rendered = render(gen,
    h('h1', {}, 'Requests'),
    h('form', { class: 'inline', id: 'request-filters', onsubmit: (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const f of FILTERS) if (inputs[f].value.trim()) q.set(f, inputs[f].value.trim());
      location.hash = `#/requests${q.toString() ? `?${q}` : ''}`;
    } },
    FILTERS.map((f) => h('label', {}, f === 'path' ? 'path (prefix)' : f === 'status' ? 'status (429, 4xx…)' : f, inputs[f])),
    h('button', { type: 'submit' }, 'Filter'),
    h('label', {}, 'live', live)),
    h('div', { class: 'row' }, recording,
      h('button', { class: 'danger', onclick: action(async () => {
        if (!confirm('Clear the request log?')) return;
        await api('DELETE', '/_spoke/requests');
        await route();
      }) }, 'Clear log')),
    table, more);
  if (!rendered) return;
  try {
    await Promise.all([load(), showRecording()]);
  } catch (err) {
    render(gen, h('h1', {}, 'Requests'), failure(err, 'The request inspector'));
  }
}

function body(text, truncated) {
  if (!text) return h('p', { class: 'muted' }, '(empty)');
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON (a form, or cut short): shown as it came.
  }
  return [h('pre', {}, shown), truncated ? h('p', { class: 'muted' }, '(truncated)') : null];
}

function headers(map) {
  return h('table', {}, h('tbody', {}, Object.entries(map || {}).map(([k, v]) =>
    h('tr', {}, h('td', { class: 'mono' }, k), h('td', { class: 'mono' }, Array.isArray(v) ? v.join(', ') : v)))));
}

async function requestView(gen, [id]) {
  let r;
  try {
    r = await api('GET', `/_spoke/requests/${enc(id)}`);
  } catch (err) {
    render(gen, h('div', { class: 'crumbs' }, link('#/requests', 'Requests'), ' / '), failure(err, 'This request'));
    return;
  }
  render(gen,
    h('div', { class: 'crumbs' }, link('#/requests', 'Requests'), ' / '),
    h('h1', {}, `${r.method} ${r.path}`, ' ', h('span', { class: statusClass(r.status), id: 'request-status' }, r.status)),
    h('dl', { class: 'kv', id: 'request-summary' },
      h('dt', {}, 'At'), h('dd', { class: 'mono' }, r.at),
      h('dt', {}, 'Query'), h('dd', { class: 'mono' }, r.query || '—'),
      h('dt', {}, 'Duration'), h('dd', {}, `${r.durationMs} ms`),
      h('dt', {}, 'Portal'), h('dd', {}, r.portalId === null ? '—' : link(`#/portals/${r.portalId}`, r.portalId)),
      h('dt', {}, 'Token id'), h('dd', {}, r.tokenId ?? '—'),
      h('dt', {}, 'Correlation id'), h('dd', { class: 'mono' }, link(`#/requests?correlationId=${enc(r.correlationId)}`, r.correlationId)),
      h('dt', {}, 'Bytes'), h('dd', {}, `${r.requestBytes} in, ${r.responseBytes} out`)),
    h('div', { class: 'grid2' },
      h('section', {}, h('h2', {}, 'Request'), headers(r.requestHeaders), h('div', { id: 'request-body' }, body(r.requestBody, r.requestBodyTruncated))),
      h('section', {}, h('h2', {}, 'Response'), headers(r.responseHeaders), h('div', { id: 'response-body' }, body(r.responseBody, r.responseBodyTruncated)))));
}

// ---------------------------------------------------------------------------- faults

async function faultsView(gen) {
  let rules;
  try {
    rules = (await api('GET', '/_spoke/faults')).results;
  } catch (err) {
    render(gen, h('h1', {}, 'Fault rules'), failure(err, 'Fault injection'));
    return;
  }
  const field = (name, attrs) => h('input', { name, id: `fault-${name}`, ...attrs });
  const f = {
    portalId: field('portalId', { size: 8, placeholder: 'any' }),
    method: h('select', { name: 'method', id: 'fault-method' }, ['', 'GET', 'POST', 'PATCH', 'PUT', 'DELETE'].map((m) => h('option', { value: m }, m || 'any'))),
    path: field('path', { size: 32, placeholder: '/crm/v3/objects/contacts*' }),
    action: h('select', { name: 'action', id: 'fault-action' }, ['error', 'latency', 'disconnect'].map((a) => h('option', { value: a }, a))),
    status: field('status', { type: 'number', value: '429', style: 'width:5em' }),
    latencyMs: field('latencyMs', { type: 'number', value: '1000', style: 'width:6em' }),
    probability: field('probability', { type: 'number', value: '1', min: '0', max: '1', step: 'any', style: 'width:5em' }),
    count: field('count', { type: 'number', min: '1', placeholder: 'unlimited', style: 'width:7em' }),
  };
  const add = action(async () => {
    const rule = {
      portalId: f.portalId.value.trim() ? Number(f.portalId.value) : null,
      method: f.method.value || null,
      path: f.path.value.trim() || null,
      probability: Number(f.probability.value || 1),
      count: f.count.value ? Number(f.count.value) : null,
      action: f.action.value,
    };
    if (rule.action === 'error') rule.status = Number(f.status.value);
    if (rule.action === 'latency') rule.latencyMs = Number(f.latencyMs.value);
    await api('POST', '/_spoke/faults', rule);
    await route();
  });
  render(gen,
    h('h1', {}, 'Fault rules'),
    h('p', { class: 'muted' }, 'Rules apply to HubSpot API requests (not /_spoke/). A path is a glob: * matches any run of characters.'),
    h('form', { class: 'inline panel', id: 'fault-form', onsubmit: add },
      Object.entries(f).map(([k, input]) => h('label', {}, k, input)),
      h('button', { type: 'submit', id: 'fault-add' }, 'Add rule')),
    rules.length
      ? h('div', { class: 'scroll' }, h('table', { id: 'faults-table' },
        h('thead', {}, h('tr', {}, ['Id', 'Portal', 'Method', 'Path', 'Action', 'Probability', 'Remaining', 'Hits', 'Created', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, rules.map((r) => h('tr', { 'data-id': r.id },
          h('td', { class: 'mono' }, r.id),
          h('td', {}, r.portalId ?? 'any'),
          h('td', {}, r.method ?? 'any'),
          h('td', { class: 'mono' }, r.path ?? '*'),
          h('td', {}, r.action, r.action === 'error' ? ` ${r.status}` : r.action === 'latency' ? ` ${r.latencyMs} ms` : ''),
          h('td', { class: 'num' }, r.probability),
          h('td', { class: 'num' }, r.remaining ?? '∞'),
          h('td', { class: 'num' }, r.hits),
          h('td', { class: 'mono' }, r.createdAt),
          h('td', {}, h('button', { class: 'danger', onclick: action(async () => {
            await api('DELETE', `/_spoke/faults/${enc(r.id)}`);
            await route();
          }) }, 'Delete')))))))
      : h('p', { class: 'muted', id: 'faults-empty' }, 'No fault rules.'),
    rules.length
      ? h('div', { class: 'row' }, h('button', { class: 'danger', onclick: action(async () => {
        if (!confirm('Delete every fault rule?')) return;
        await api('DELETE', '/_spoke/faults');
        await route();
      }) }, 'Delete all'))
      : null);
}
