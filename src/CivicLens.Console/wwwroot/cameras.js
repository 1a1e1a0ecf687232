// Cameras: the list with health, one camera with its redacted live view, and the zone and line editor.
// The API decides who sees what: the live view answers only roles that may see snapshots, edits only admins.
import { registerPage, api, el, clear, draft, formatTime, toast, live, ApiError, SEES_EVENTS, isCluster } from './app.js';

const SVG = 'http://www.w3.org/2000/svg';

registerPage({
  id: 'cameras',
  title: 'Cameras',
  nav: true,
  roles: ['viewer', 'operator', 'investigator', 'admin'],
  render(root, params, ctx) {
    if (params.length === 0) return renderList(root, ctx);
    if (params[1] === 'edit') return renderEditor(root, params[0], ctx);
    return renderDetail(root, params[0], ctx);
  },
});

// ---- states ----------------------------------------------------------------------------------------------------

/** Every camera state, in the server's order (CivicLens.Domain.Cameras.CameraStates). */
const STATES = ['streaming', 'starting', 'reconnecting', 'offline', 'tamper', 'failed', 'disabled', 'no-source', 'retired', 'moving'];
/** States in which nothing runs, so "no load" means "not running" rather than "runs on another server". */
const STOPPED = ['disabled', 'no-source', 'retired'];

/** A state as a badge: its word always written, the colour only repeats it. */
function badge(state, id) {
  const known = STATES.includes(state) ? state : 'unknown';
  return el('span', { class: `health state-${known}`, id, dataset: { state: state || 'unknown' } }, state || 'unknown');
}

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

function relativeText(iso) {
  const s = (Date.parse(iso) - Date.now()) / 1000;
  const a = Math.abs(s);
  if (a < 45) return 'just now';
  if (a < 3600) return relativeFormat.format(Math.round(s / 60), 'minute');
  if (a < 86400) return relativeFormat.format(Math.round(s / 3600), 'hour');
  return relativeFormat.format(Math.round(s / 86400), 'day');
}

/** A time as "5 minutes ago", the exact time in its title and datetime. */
function when(iso, id) {
  if (!iso) return el('span', { id }, '—');
  return el('time', { datetime: iso, title: formatTime(iso), id }, relativeText(iso));
}

// ---- list ------------------------------------------------------------------------------------------------------

const COLUMNS = [
  { key: 'name', label: 'Camera', value: (c) => c.name, cell: (c) => el('td', {}, el('a', { href: `#/cameras/${encodeURIComponent(c.id)}` }, c.name)) },
  { key: 'area', label: 'Area', value: (c) => c.area, cell: (c) => el('td', {}, c.area) },
  { key: 'health', label: 'State', value: (c) => STATES.indexOf(c.health), cell: (c) => el('td', {}, badge(c.health)) },
  // Only in a cluster (docs/cluster.md): the worker node that runs the camera; none while it moves or is stopped.
  { key: 'node', label: 'Node', cluster: true, value: (c) => c.node || '', cell: (c) => el('td', { class: 'node' }, c.node || '—') },
  { key: 'since', label: 'Since', value: (c) => c.healthSince || '', cell: (c) => el('td', {}, when(c.healthSince)) },
  { key: 'reason', label: 'Reason', value: (c) => c.healthReason || '', cell: (c) => el('td', { class: 'reason' }, c.healthReason || '') },
  { key: 'fps', label: 'Frames/s', value: (c) => c.load?.framesPerSecond ?? -1, cell: (c) => el('td', { class: 'num' }, c.load ? c.load.framesPerSecond.toFixed(1) : '—') },
  { key: 'dropped', label: 'Dropped', value: (c) => c.load?.framesDropped ?? -1, cell: (c) => el('td', { class: 'num' }, c.load ? String(c.load.framesDropped) : '—') },
  { key: 'detector', label: 'Detector load', value: (c) => c.load?.detectorLoad ?? -1, cell: (c) => el('td', { class: 'num' }, c.load ? percent(c.load.detectorLoad) : '—') },
];

const FILTER_KEY = 'civiclens.cameras.health';
/** The node filter of the list (set from the Nodes page too); '-' stands for "on no node". */
export const NODE_FILTER_KEY = 'civiclens.cameras.node';
const NO_NODE = '-';

async function renderList(root, ctx) {
  clear(root);
  const saved = sessionStorage.getItem(FILTER_KEY) || '';
  const state = { sort: 'name', dir: 1, health: STATES.includes(saved) ? saved : '', node: sessionStorage.getItem(NODE_FILTER_KEY) || '' };
  const filter = el('select', { id: 'camera-health-filter' },
    el('option', { value: '' }, 'any state'), STATES.map((s) => el('option', { value: s }, s)));
  filter.value = state.health;
  // In a cluster: which node runs them (the names come from the cameras listed).
  const nodeFilter = el('select', { id: 'camera-node-filter' });
  const nodeLabel = el('span', { id: 'camera-node-choice', hidden: true }, ' ', el('label', { for: 'camera-node-filter' }, 'on '), nodeFilter);
  const counts = el('p', { class: 'state-counts', id: 'camera-counts', 'aria-label': 'Cameras by state' });
  const table = el('table', { id: 'cameras', class: 'cameras' });
  const count = el('p', { class: 'small', role: 'status', id: 'camera-count' });
  root.append(el('h1', {}, 'Cameras'), counts,
    el('p', {}, el('label', { for: 'camera-health-filter' }, 'Show cameras that are '), filter, nodeLabel), count, table);
  const timers = [];

  let items = [];
  let complete = true;
  // The district runs as a cluster: a camera has a node, or the server has the nodes endpoint (asked once a session).
  let cluster = false;
  const onNode = (c) => !cluster || !state.node || (state.node === NO_NODE ? !c.node : c.node === state.node);
  const shown = (c) => (state.health ? c.health === state.health : !c.retired);
  const drawNodeFilter = () => {
    nodeLabel.hidden = !cluster;
    if (!cluster) return;
    const names = [...new Set(items.map((c) => c.node).filter(Boolean))];
    if (state.node && state.node !== NO_NODE && !names.includes(state.node)) names.push(state.node);
    names.sort();
    const options = [['', 'any node'], ...names.map((n) => [n, `node ${n}`]), [NO_NODE, 'no node (moving or stopped)']];
    const key = options.map((o) => o[0]).join('\n');
    if (nodeFilter.dataset.options !== key) {
      clear(nodeFilter).append(...options.map(([value, label]) => el('option', { value }, label)));
      nodeFilter.dataset.options = key;
    }
    nodeFilter.value = state.node;
  };
  nodeFilter.addEventListener('change', () => {
    state.node = nodeFilter.value;
    if (state.node) sessionStorage.setItem(NODE_FILTER_KEY, state.node);
    else sessionStorage.removeItem(NODE_FILTER_KEY);
    draw();
  });
  const draw = () => {
    cluster = cluster || items.some((c) => c.node);
    const columns = COLUMNS.filter((c) => !c.cluster || cluster);
    const col = columns.find((c) => c.key === state.sort) || columns[0];
    drawNodeFilter();
    const rows = items.filter((c) => shown(c) && onNode(c))
      .sort((a, b) => { const x = col.value(a); const y = col.value(b); return (x < y ? -1 : x > y ? 1 : 0) * state.dir; });
    clear(table).append(
      el('thead', {}, el('tr', {}, columns.map((c) => {
        const button = el('button', { type: 'button', class: 'link', dataset: { sort: c.key } }, c.label);
        button.addEventListener('click', () => {
          state.dir = state.sort === c.key ? -state.dir : 1;
          state.sort = c.key;
          draw();
        });
        return el('th', { scope: 'col', 'aria-sort': state.sort === c.key ? (state.dir > 0 ? 'ascending' : 'descending') : 'none' }, button);
      }))),
      el('tbody', {}, rows.map((c) => el('tr', { dataset: { id: c.id, health: c.health, node: c.node } }, columns.map((k) => k.cell(c))))));
    const noun = rows.length === 1 && complete ? 'camera' : 'cameras';
    const where = cluster && state.node ? (state.node === NO_NODE ? ' on no node' : ` on node ${state.node}`) : '';
    count.textContent = `${rows.length}${complete ? '' : '+'} ${state.health ? `${state.health} ${noun}` : `${noun} in service`}${where}`;
    document.body.dataset.ready = 'cameras';
  };
  let drawTimer = null;
  const drawSoon = () => {
    clearTimeout(drawTimer);
    drawTimer = setTimeout(draw, 200);
  };

  const choose = (health) => {
    state.health = health;
    filter.value = health;
    sessionStorage.setItem(FILTER_KEY, health);
    drawCounts();
    load().catch(report);
  };
  filter.addEventListener('change', () => choose(filter.value));

  // "12 streaming · 3 offline · 1 failed": each figure filters the list to its state.
  let lastCounts = null;
  const drawCounts = () => {
    if (!lastCounts) return;
    const parts = [];
    for (const s of STATES) {
      const n = lastCounts.states?.[s] ?? 0;
      if (!n) continue;
      parts.push(el('button', { type: 'button', class: 'link', dataset: { state: s }, 'aria-pressed': String(state.health === s), onclick: () => choose(state.health === s ? '' : s) },
        el('span', { class: `dot state-${s}`, 'aria-hidden': 'true' }), `${n} ${s}`));
    }
    clear(counts).append(`${lastCounts.total} camera${lastCounts.total === 1 ? '' : 's'}: `);
    parts.forEach((p, i) => counts.append(i ? ' · ' : '', p));
    if (state.health) counts.append(' · ', el('button', { type: 'button', class: 'link', id: 'camera-counts-all', onclick: () => choose('') }, 'show all in service'));
  };
  const loadCounts = async () => {
    lastCounts = await api('/api/camera-health/counts');
    drawCounts();
  };
  let countsTimer = null;
  const countsSoon = () => {
    if (countsTimer) return;
    countsTimer = setTimeout(() => {
      countsTimer = null;
      loadCounts().catch(report);
    }, 2000);
  };

  // Keyset pages of 500 until the end (the list is for a district's operators, not all 290,000 at once: filter by
  // state or area). A state filter is asked of the server, so "3 offline" lists those 3 among any number.
  let loadToken = 0;
  const load = async () => {
    const token = ++loadToken;
    const q = state.health ? `&health=${encodeURIComponent(state.health)}${state.health === 'retired' ? '&retired=true' : ''}` : '';
    let all = [];
    let after = null;
    do {
      const page = await api(`/api/cameras?limit=500${q}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      if (token !== loadToken) return;
      all = all.concat(page.items);
      after = page.next;
    } while (after && all.length < 5000);
    items = all;
    complete = !after;
    loaded = true;
    draw();
  };

  // A camera's state changes come over the live connection (within seconds of the change on the server).
  const onCamera = (m) => {
    const c = m.detail;
    if (!c || !c.id) return;
    const i = items.findIndex((x) => x.id === c.id);
    // The message carries no load (it runs where the camera runs): the last figures stay until the next load. It is
    // the whole camera, so a field it leaves out (null on the server) is gone now: no node while it moves.
    if (i >= 0) items[i] = { ...items[i], ...c, node: c.node, healthReason: c.healthReason, load: c.load ?? items[i].load };
    else if (complete && shown(c)) items.push(c);
    drawSoon();
    countsSoon();
  };
  live.addEventListener('camera', onCamera);
  // "Since" is relative: it is written again every half minute.
  timers.push(setInterval(draw, 30000));

  if (ctx.me?.role === 'admin') root.append(importForm(() => Promise.all([load(), loadCounts()]).catch(report)));

  let left = false;
  let loaded = false;
  isCluster().then((yes) => {
    if (!yes || cluster) return;
    cluster = true;
    if (loaded && !left) draw();
  });
  await Promise.all([load(), loadCounts()]);
  return () => {
    left = true;
    live.removeEventListener('camera', onCamera);
    clearTimeout(drawTimer);
    clearTimeout(countsTimer);
    timers.forEach((t) => clearInterval(t));
    loadToken++;
  };
}

function report(e) {
  // A script error is a defect: on the browser console too (the browser tests fail on it), not only a toast.
  if (!(e instanceof ApiError)) console.error(e);
  if (!(e instanceof ApiError && e.status === 401)) toast(e.message);
}

function percent(v) {
  return `${Math.round(v * 100)} %`;
}

/** The content type the import endpoint reads a file as, from its name (browsers rarely know GeoJSON's). */
function importType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith('.csv')) return 'text/csv';
  if (name.endsWith('.geojson') || name.endsWith('.json')) return 'application/geo+json';
  return file.type || 'text/csv';
}

/** Posts a file as it is (not as JSON); problems come back as ApiError like api()'s. */
async function upload(path, file) {
  let res;
  try {
    res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json', 'Content-Type': importType(file) }, body: file });
  } catch {
    throw new ApiError(0, { title: 'The server cannot be reached', detail: 'Check the connection, then try again.' });
  }
  if (res.status === 401) throw new ApiError(401, { title: 'Your session has ended', detail: 'Log in again, then import the file again.' });
  const data = (res.headers.get('Content-Type') || '').includes('json') ? await res.json() : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/**
 * Bulk import for admins: the file is checked first (a dry run: the counts it would make, or every problem by row
 * and field, nothing written), and only a file that passed is imported.
 */
function importForm(imported) {
  const file = el('input', { type: 'file', id: 'camera-import-file', name: 'file', accept: '.csv,.geojson,.json,text/csv,application/geo+json' });
  const check = el('button', { type: 'submit', id: 'camera-import-check' }, 'Check file');
  const run = el('button', { type: 'button', id: 'camera-import-submit', disabled: true }, 'Import');
  const result = el('div', { id: 'camera-import-result', role: 'status' });
  const alert = el('div', { id: 'camera-import-alert', class: 'message', role: 'alert' });
  const form = el('form', { id: 'camera-import-form', class: 'import-form' },
    el('label', { for: 'camera-import-file' }, 'CSV or GeoJSON file'), file, el('p', { class: 'toolbar' }, check, ' ', run));
  let checked = null;
  const reset = () => {
    checked = null;
    run.disabled = true;
    clear(result);
    clear(alert);
  };
  const counts = (r, verb) => `${verb}: ${r.created} new, ${r.updated} changed, ${r.unchanged} unchanged.`;
  const refused = (e) => {
    if (e instanceof ApiError && e.problem?.problems?.length) {
      alert.append(el('p', {}, `The file was refused, nothing was imported: ${e.problem.problems.length} problem${e.problem.problems.length === 1 ? '' : 's'}.`));
      result.append(el('table', { id: 'camera-import-problems', class: 'problems' },
        el('caption', { class: 'sr' }, 'Problems in the file'),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Row'), el('th', { scope: 'col' }, 'Field'), el('th', { scope: 'col' }, 'Problem'))),
        el('tbody', {}, e.problem.problems.map((p) => el('tr', { dataset: { row: p.row ?? '', field: p.field } },
          el('td', { class: 'num' }, p.row ?? '—'), el('td', {}, p.field || '—'), el('td', {}, p.message))))));
    } else {
      alert.append(el('p', {}, e.message));
    }
  };
  file.addEventListener('change', reset);
  form.addEventListener('submit', async (s) => {
    s.preventDefault();
    reset();
    const f = file.files[0];
    if (!f) {
      alert.append(el('p', {}, 'Choose a CSV or GeoJSON file first.'));
      return;
    }
    check.disabled = true;
    try {
      const r = await upload('/api/cameras/import?dryRun=true', f);
      checked = f;
      result.append(el('p', { id: 'camera-import-counts' }, counts(r, 'The file is good; importing it makes')));
      run.disabled = false;
    } catch (e) {
      refused(e);
    } finally {
      check.disabled = false;
    }
  });
  run.addEventListener('click', async () => {
    if (!checked || checked !== file.files[0]) return;
    const f = checked;
    reset();
    check.disabled = true;
    try {
      const r = await upload('/api/cameras/import?dryRun=false', f);
      result.append(el('p', { id: 'camera-import-counts' }, counts(r, 'Imported')));
      toast(counts(r, 'Imported'));
      file.value = '';
      await imported();
    } catch (e) {
      refused(e);
    } finally {
      check.disabled = false;
    }
  });
  return el('section', { class: 'camera-import', id: 'camera-import', 'aria-labelledby': 'camera-import-title' },
    el('h2', { id: 'camera-import-title' }, 'Import cameras'),
    el('p', { class: 'small' }, 'The file is checked first; nothing is written until it has no problems and you import it.'),
    form, alert, result);
}

// ---- detail with the live view ---------------------------------------------------------------------------------

async function renderDetail(root, id, ctx) {
  clear(root);
  const path = `/api/cameras/${encodeURIComponent(id)}`;
  let camera = await api(path);
  const isAdmin = ctx.me?.role === 'admin';
  const figures = el('dl', { class: 'figures', id: 'camera-figures' });
  const history = el('table', { id: 'camera-history', class: 'cameras' });
  const actions = el('div', { class: 'actions', id: 'camera-actions' });
  const alert = el('div', { class: 'message', role: 'alert', id: 'camera-alert' });
  const done = el('p', { class: 'small', role: 'status', id: 'camera-action-status' });
  // What the admin is being asked: null, 'disable' (confirm) or 'retire' (a reason).
  let asking = null;
  let retireReason = '';
  let busy = false;
  let actionsDrawn = null;
  let historyOf = null;

  const loadHistory = async () => {
    const h = await api(`/api/camera-health/${encodeURIComponent(id)}?limit=50`);
    clear(history).append(
      el('caption', { class: 'sr' }, 'State changes, newest first'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'When'), el('th', { scope: 'col' }, 'State'), el('th', { scope: 'col' }, 'Reason'))),
      el('tbody', {}, h.history.map((x) => el('tr', { dataset: { state: x.state } },
        el('td', {}, formatTime(x.at), ' ', el('span', { class: 'small' }, `(${relativeText(x.at)})`)), el('td', {}, badge(x.state)), el('td', {}, x.reason || '')))));
    if (!h.history.length) history.querySelector('tbody').append(el('tr', {}, el('td', { colspan: '3', class: 'small' }, 'No state changes recorded yet.')));
  };

  // measured: c came from GET /api/cameras/{id}, whose missing load means the camera runs on another server; a live
  // message or an action's answer carries no load at all.
  const fill = (c, measured) => {
    camera = c;
    const l = c.load;
    const running = l ? `${l.framesPerSecond.toFixed(1)} frames/s`
      : STOPPED.includes(c.health) ? 'not running' : c.node ? `on node ${c.node}` : measured ? 'not on this server' : 'figures follow in a few seconds';
    clear(figures).append(...[
      el('dt', {}, 'State'), el('dd', { id: 'camera-health' }, badge(c.health, 'camera-state'), c.healthSince ? [' since ', when(c.healthSince, 'camera-since')] : null),
      el('dt', {}, 'Reason'), el('dd', { id: 'camera-reason' }, c.healthReason || '—'),
      el('dt', {}, 'Analysing'), el('dd', { id: 'camera-running' }, running),
      el('dt', {}, 'Frames dropped'), el('dd', {}, l ? `${l.framesDropped} (${percent(l.dropRate)} lately)` : '—'),
      el('dt', {}, 'Detector load'), el('dd', {}, l ? percent(l.detectorLoad) : '—'),
      el('dt', {}, 'Purpose'), el('dd', { id: 'camera-purpose' }, c.purpose || 'none recorded'),
      el('dt', {}, 'Legal basis'), el('dd', {}, c.legalBasis || 'none recorded'),
      el('dt', {}, 'Department'), el('dd', {}, c.department || 'none recorded'),
      el('dt', {}, 'Stream'), el('dd', {}, c.hasSource ? 'registered' : 'none registered'),
      c.retired ? [el('dt', {}, 'Retired'), el('dd', { id: 'camera-retired' }, formatTime(c.retired))] : [],
    ].flat());
    if (isAdmin) drawActions();
    // A new state adds a line to the history.
    const key = `${c.health}|${c.healthSince}`;
    if (key !== historyOf) {
      historyOf = key;
      loadHistory().catch(report);
    }
  };

  const act = async (what, body, said) => {
    clear(alert);
    done.textContent = '';
    busy = true;
    drawActions(true);
    try {
      // Never kept for after a new login: a change of a camera's power is made by someone looking at it.
      const c = await api(`${path}/${what}`, { method: 'POST', body, keep: false });
      asking = null;
      fill(c, false);
      done.textContent = said(c);
      // The load figures (none in the answer) come with the next look.
      api(path).then((fresh) => fill(fresh, true)).catch(() => {});
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) showRefusal(e);
    } finally {
      busy = false;
      drawActions(true);
    }
  };

  const showRefusal = (e) => {
    clear(alert);
    const problems = e instanceof ApiError ? e.problem?.problems ?? [] : [];
    const lead = el('strong', {}, e.status === 409 ? 'Refused: ' : 'Not done: ');
    // One problem reads as a sentence; several as a list, one field each (the server's words).
    if (problems.length > 1) alert.append(el('p', {}, lead, `${problems.length} problems.`), el('ul', {}, problems.map((p) => el('li', {}, `${p.field}: ${p.message}`))));
    else alert.append(el('p', {}, lead, e.message));
  };

  function drawActions(force = false) {
    const key = `${camera.enabled}|${camera.retired}|${asking}|${busy}`;
    if (!force && key === actionsDrawn) return;
    actionsDrawn = key;
    const focused = actions.contains(document.activeElement) ? document.activeElement.id || '' : null;
    clear(actions);
    if (camera.retired) {
      actions.append(el('p', { class: 'small' }, 'This camera is retired: it cannot be enabled or changed, and stays listed on the transparency register as withdrawn.'));
    } else if (asking === 'disable') {
      actions.append(el('div', { class: 'confirm', id: 'camera-disable-confirm', role: 'group', 'aria-labelledby': 'camera-disable-question' },
        el('p', { id: 'camera-disable-question' }, `Disable ${camera.name}? Its analysis stops until it is enabled again.`),
        el('button', { type: 'button', id: 'camera-disable-yes', disabled: busy, onclick: () => act('enabled', { enabled: false }, () => 'Disabled.') }, 'Disable now'), ' ',
        el('button', { type: 'button', class: 'secondary', id: 'camera-disable-cancel', disabled: busy, onclick: () => { asking = null; drawActions(); } }, 'Cancel')));
    } else if (asking === 'retire') {
      const reason = el('input', { id: 'camera-retire-reason', name: 'reason', maxlength: '500', 'aria-required': 'true', autocomplete: 'off', value: retireReason });
      reason.addEventListener('input', () => { retireReason = reason.value; });
      const form = el('form', { class: 'confirm', id: 'camera-retire-form' },
        el('p', {}, `Retire ${camera.name} for good? It stops, cannot be enabled again, and its stream address is forgotten.`),
        el('label', { for: 'camera-retire-reason' }, 'Reason (shown in its history)'), reason,
        el('p', { class: 'toolbar' },
          el('button', { type: 'submit', id: 'camera-retire-yes', disabled: busy }, 'Retire for good'), ' ',
          el('button', { type: 'button', class: 'secondary', id: 'camera-retire-cancel', disabled: busy, onclick: () => { asking = null; drawActions(); } }, 'Cancel')));
      form.addEventListener('submit', (s) => {
        s.preventDefault();
        if (!reason.value.trim()) {
          clear(alert).append(el('p', {}, 'Give a reason for retiring the camera.'));
          reason.focus();
          return;
        }
        act('retire', { reason: reason.value.trim() }, () => 'Retired.');
      });
      actions.append(form);
    } else {
      actions.append(
        camera.enabled
          ? el('button', { type: 'button', class: 'secondary', id: 'camera-disable', disabled: busy, onclick: () => { asking = 'disable'; clear(alert); drawActions(); } }, 'Disable')
          : el('button', { type: 'button', id: 'camera-enable', disabled: busy, onclick: () => act('enabled', { enabled: true }, () => 'Enabled.') }, 'Enable'),
        ' ',
        el('button', { type: 'button', class: 'secondary', id: 'camera-retire', disabled: busy, onclick: () => { asking = 'retire'; clear(alert); drawActions(); } }, 'Retire'));
    }
    // The keyboard goes to the question just asked, or stays in this section when its buttons change.
    if (asking === 'disable' && !busy) document.getElementById('camera-disable-yes')?.focus();
    else if (asking === 'retire' && !busy) document.getElementById('camera-retire-reason')?.focus();
    else if (focused !== null) ((focused && document.getElementById(focused)) || actions.querySelector('button:not([disabled])'))?.focus();
  }

  root.append(el('p', {}, el('a', { href: '#/cameras' }, '← All cameras')), el('h1', {}, camera.name), figures);
  if (isAdmin) {
    root.append(el('section', { class: 'camera-admin', 'aria-labelledby': 'camera-admin-title' },
      el('h2', { id: 'camera-admin-title' }, 'Power and lifecycle'), actions, alert, done));
    if (!camera.retired) root.append(el('p', {}, el('a', { href: `#/cameras/${encodeURIComponent(id)}/edit`, id: 'edit-geometry' }, 'Edit zones and lines')));
  }
  fill(camera, true);

  const timers = [];
  if (SEES_EVENTS.includes(ctx.me?.role)) {
    const view = liveView(id, 'camera-live');
    root.append(el('h2', {}, 'Live view (redacted)'), view.node);
    timers.push(view.stop);
  }
  root.append(el('h2', {}, 'State history'), history);

  // A state change arrives over the live connection; the load figures (and changes nobody pushed) every 5 s.
  const onCamera = (m) => {
    if (m.detail?.id !== id) return;
    fill({ ...camera, ...m.detail, load: m.detail.load ?? camera.load }, false);
  };
  live.addEventListener('camera', onCamera);
  const refresh = setInterval(async () => {
    try {
      fill(await api(path), true);
    } catch {
      /* shown again on the next tick */
    }
  }, 5000);
  document.body.dataset.ready = 'camera';
  return () => {
    clearInterval(refresh);
    live.removeEventListener('camera', onCamera);
    timers.forEach((t) => t());
  };
}

/**
 * The redacted live view: one frame a second while the page is visible, paused when the tab is hidden (the server
 * keeps a frame only while someone asks, so a hidden tab also stops the work there).
 */
function liveView(id, nodeId) {
  const img = el('img', { id: nodeId, class: 'live', alt: 'Redacted live view of the camera', width: '768', height: '576' });
  const note = el('p', { class: 'small', role: 'status', id: `${nodeId}-state` }, 'Waiting for the first frame…');
  let timer = null;
  let stopped = false;
  const next = () => {
    if (stopped || document.hidden) return;
    img.src = `/api/cameras/${encodeURIComponent(id)}/live.jpg?t=${Date.now()}`;
  };
  img.addEventListener('load', () => {
    note.textContent = `Redacted frame of ${new Date().toLocaleTimeString()}`;
    img.dataset.frames = String(Number(img.dataset.frames || 0) + 1);
    timer = setTimeout(next, 1000);
  });
  img.addEventListener('error', () => {
    note.textContent = 'No live view now (the camera is offline or not running here); trying again.';
    timer = setTimeout(next, 5000);
  });
  const visibility = () => {
    if (document.hidden) {
      clearTimeout(timer);
      note.textContent = 'Paused while the tab is hidden.';
    } else {
      next();
    }
  };
  document.addEventListener('visibilitychange', visibility);
  next();
  return {
    node: el('figure', { class: 'live-view' }, img, note),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', visibility);
    },
  };
}

// ---- the zone and line editor ----------------------------------------------------------------------------------

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  return node;
}

async function renderEditor(root, id, ctx) {
  clear(root);
  const doc = await api(`/api/cameras/${encodeURIComponent(id)}/rules`);
  const [W, H] = doc.resolution;
  const store = draft(`geometry.${id}`);
  // The item being edited: { kind: 'zone'|'line', id, points: [[x,y],...], version, isNew }.
  let item = null;
  const saved = JSON.parse(store.get() || 'null');

  const list = el('ul', { class: 'geometry-list', id: 'geometry-list' });
  const canvas = svg('svg', { viewBox: `0 0 ${W} ${H}`, id: 'editor-canvas', class: 'editor-canvas', role: 'application', 'aria-label': `Zones and lines on a ${W} by ${H} frame` });
  const frame = el('div', { class: 'editor-frame' });
  const message = el('p', { class: 'message', role: 'alert', id: 'editor-message' });
  const status = el('p', { class: 'small', role: 'status', id: 'editor-status' });
  const save = el('button', { type: 'button', id: 'editor-save', disabled: true }, 'Save');
  const undo = el('button', { type: 'button', class: 'secondary', id: 'editor-undo', disabled: true }, 'Remove last point');
  const discard = el('button', { type: 'button', class: 'secondary', id: 'editor-discard', disabled: true }, 'Discard changes');
  const newId = el('input', { id: 'new-zone-id', placeholder: 'new-zone-id', autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9_-]{0,63}' });
  const newZone = el('button', { type: 'button', class: 'secondary', id: 'new-zone' }, 'New zone');
  const newLine = el('button', { type: 'button', class: 'secondary', id: 'new-line' }, 'New line');

  const stops = [];
  let sceneNote = null;
  if (SEES_EVENTS.includes(ctx.me?.role)) {
    const view = liveView(id, 'editor-background');
    frame.append(view.node);
    stops.push(view.stop);
  } else {
    // Admins configure but see no footage: they draw on a recent scene frame with every person and vehicle masked
    // whole, fetched once (and on request), or on the frame's outline when the camera has no frame to give.
    const blank = () => {
      const b = el('div', { class: 'editor-blank', id: 'editor-background' },
        el('p', { class: 'small' }, `No recent frame from this camera: draw on the ${W}×${H} frame outline; a viewer can check the result on the live view.`));
      b.style.aspectRatio = `${W} / ${H}`;
      return b;
    };
    const scene = el('img', { class: 'live', id: 'editor-background', alt: `A recent frame of ${id} with every person and vehicle masked`, width: W, height: H });
    scene.addEventListener('error', () => scene.replaceWith(blank()), { once: true });
    scene.src = `/api/cameras/${encodeURIComponent(id)}/scene.jpg?t=${Date.now()}`;
    frame.append(scene);
    sceneNote = el('p', { class: 'small', id: 'scene-note' }, 'A recent frame with every person and vehicle masked: draw on the street, not on who is in it.');
  }
  frame.append(canvas);

  root.append(
    el('p', {}, el('a', { href: `#/cameras/${encodeURIComponent(id)}` }, '← Camera')),
    el('h1', {}, `Zones and lines — ${id}`),
    el('div', { class: 'editor' },
      el('aside', {}, el('h2', {}, 'Zones and lines'), list,
        el('p', {}, el('label', { for: 'new-zone-id' }, 'Id for a new zone or line'), newId), el('p', {}, newZone, ' ', newLine)),
      el('section', {}, frame, sceneNote, message, status, el('p', { class: 'toolbar' }, save, ' ', undo, ' ', discard),
        el('p', { class: 'small' }, 'Click the frame to add a point. Drag a point, or focus it (Tab) and move it with the arrow keys (Shift: 10 pixels); Delete removes it.'))));

  const fromDoc = (kind, x) => kind === 'zone'
    ? { kind, id: x.id, points: x.polygon.map((p) => [...p]), version: x.version ?? 0 }
    : { kind, id: x.id, points: [[...x.from], [...x.to], [...x.inPoint]], version: x.version ?? 0 };

  const remember = () => store.set(item && item.dirty ? JSON.stringify(item) : '');

  const select = (next) => {
    item = next;
    message.textContent = '';
    draw();
  };

  const drawList = () => {
    clear(list);
    for (const [kind, items] of [['zone', doc.zones], ['line', doc.lines]]) {
      for (const x of items) {
        const b = el('button', { type: 'button', class: 'link', dataset: { kind, id: x.id } }, `${kind} ${x.id}${x.edited ? ' (edited)' : ''}`);
        b.addEventListener('click', () => select(fromDoc(kind, x)));
        list.append(el('li', { 'aria-current': item && item.kind === kind && item.id === x.id ? 'true' : null }, b));
      }
    }
  };

  const problemAt = { point: null, text: '' };

  function draw() {
    drawList();
    clear(canvas);
    canvas.append(svg('rect', { x: 0, y: 0, width: W, height: H, class: 'frame-outline' }));
    // Every other zone and line, faint, for orientation.
    for (const z of doc.zones) {
      if (item && item.kind === 'zone' && item.id === z.id) continue;
      canvas.append(svg('polygon', { points: z.polygon.map((p) => p.join(',')).join(' '), class: 'other' }));
    }
    for (const l of doc.lines) {
      if (item && item.kind === 'line' && item.id === l.id) continue;
      canvas.append(svg('line', { x1: l.from[0], y1: l.from[1], x2: l.to[0], y2: l.to[1], class: 'other' }));
    }
    save.disabled = !item || !item.dirty;
    discard.disabled = !item || !item.dirty;
    undo.disabled = !item || item.kind !== 'zone' || item.points.length === 0;
    if (!item) {
      status.textContent = 'Pick a zone or line, or start a new one.';
      return;
    }
    status.textContent = `${item.kind} ${item.id}: ${item.points.length} point${item.points.length === 1 ? '' : 's'}${item.dirty ? ', not saved' : ''}`;
    canvas.dataset.points = String(item.points.length);
    if (item.kind === 'zone') {
      canvas.append(svg(item.points.length > 2 ? 'polygon' : 'polyline', { points: item.points.map((p) => p.join(',')).join(' '), class: 'current', id: 'current-shape' }));
    } else if (item.points.length >= 2) {
      canvas.append(svg('line', { x1: item.points[0][0], y1: item.points[0][1], x2: item.points[1][0], y2: item.points[1][1], class: 'current', id: 'current-shape' }));
    }
    item.points.forEach((p, i) => canvas.append(handle(p, i)));
    if (problemAt.text) {
      const p = problemAt.point !== null && item.points[problemAt.point] ? item.points[problemAt.point] : [W / 2, H / 2];
      // Beside the point, on the side with more room, wrapped so the whole message stays on the frame.
      const leftward = p[0] > W / 2;
      const x = leftward ? p[0] - 14 : p[0] + 14;
      const perLine = Math.max(12, Math.floor((leftward ? x : W - x) / 10));
      const lines = [];
      for (const word of problemAt.text.split(' ')) {
        if (lines.length && (lines[lines.length - 1] + ' ' + word).length <= perLine) lines[lines.length - 1] += ' ' + word;
        else lines.push(word);
      }
      const y = Math.min(Math.max(p[1] - 12, 20), H - 8 - (lines.length - 1) * 22);
      const text = svg('text', { x, y, class: 'problem-label', id: 'canvas-problem', 'text-anchor': leftward ? 'end' : 'start' });
      lines.forEach((line, i) => {
        const span = svg('tspan', { x, dy: i ? 22 : 0 });
        span.textContent = i < lines.length - 1 ? line + ' ' : line;
        text.append(span);
      });
      canvas.append(text);
    }
  }

  const labelOf = (i) => (item.kind === 'zone' ? `point ${i + 1}` : ['from', 'to', 'in side'][i]);

  function handle(p, i) {
    const h = svg('circle', { cx: p[0], cy: p[1], r: 9, class: `handle${problemAt.point === i ? ' bad' : ''}${item.kind === 'line' && i === 2 ? ' in-point' : ''}`,
      tabindex: 0, role: 'button', 'data-index': i, 'aria-label': `${labelOf(i)} of ${item.kind} ${item.id} at ${Math.round(p[0])}, ${Math.round(p[1])}` });
    h.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 10 : 1;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[e.key]) {
        e.preventDefault();
        change(() => { p[0] = clamp(p[0] + moves[e.key][0], 0, W); p[1] = clamp(p[1] + moves[e.key][1], 0, H); });
        canvas.querySelector(`circle[data-index="${i}"]`)?.focus();
      } else if ((e.key === 'Delete' || e.key === 'Backspace') && item.kind === 'zone') {
        e.preventDefault();
        change(() => item.points.splice(i, 1));
      }
    });
    h.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      e.stopPropagation();
      h.setPointerCapture(e.pointerId);
      const move = (m) => {
        const [x, y] = toFrame(m);
        p[0] = x;
        p[1] = y;
        h.setAttribute('cx', x);
        h.setAttribute('cy', y);
      };
      const up = () => {
        h.removeEventListener('pointermove', move);
        change(() => {});
      };
      h.addEventListener('pointermove', move);
      h.addEventListener('pointerup', up, { once: true });
    });
    return h;
  }

  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

  function toFrame(e) {
    const m = canvas.getScreenCTM().inverse();
    const pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(m);
    return [Math.round(pt.x), Math.round(pt.y)];
  }

  function change(fn) {
    fn();
    item.dirty = true;
    problemAt.point = null;
    problemAt.text = '';
    message.textContent = '';
    remember();
    draw();
  }

  canvas.addEventListener('pointerdown', (e) => {
    if (!item) return;
    if (item.kind === 'zone') change(() => item.points.push(toFrame(e)));
    else if (item.points.length < 3) change(() => item.points.push(toFrame(e)));
  });

  undo.addEventListener('click', () => change(() => item.points.pop()));
  discard.addEventListener('click', () => {
    store.clear();
    const orig = (item.kind === 'zone' ? doc.zones : doc.lines).find((x) => x.id === item.id);
    select(orig ? fromDoc(item.kind, orig) : null);
  });
  const start = (kind) => {
    const nid = newId.value.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(nid)) {
      message.textContent = 'Give the new zone or line an id: letters, digits, - or _ (up to 64).';
      newId.focus();
      return;
    }
    if ((kind === 'zone' ? doc.zones : doc.lines).some((x) => x.id === nid)) {
      message.textContent = `There already is a ${kind} ${nid}: pick it in the list to change it.`;
      return;
    }
    select({ kind, id: nid, points: [], version: 0, isNew: true, dirty: false });
    status.textContent = kind === 'zone' ? 'Click the frame to place the zone\'s corners in order.' : 'Click the line\'s two ends, then a point on its "in" side.';
  };
  newZone.addEventListener('click', () => start('zone'));
  newLine.addEventListener('click', () => start('line'));

  save.addEventListener('click', async () => {
    if (!item) return;
    save.disabled = true;
    const path = `/api/cameras/${encodeURIComponent(id)}/${item.kind}s/${encodeURIComponent(item.id)}`;
    const body = item.kind === 'zone'
      ? { polygon: item.points, version: item.version }
      : { from: item.points[0] ?? null, to: item.points[1] ?? null, inPoint: item.points[2] ?? null, version: item.version };
    try {
      const result = await api(path, { method: 'PUT', body });
      item.version = result.version;
      item.dirty = false;
      store.clear();
      // The server's document is the truth: reload it, keep this item selected.
      const fresh = await api(`/api/cameras/${encodeURIComponent(id)}/rules`);
      doc.zones = fresh.zones;
      doc.lines = fresh.lines;
      const again = (item.kind === 'zone' ? doc.zones : doc.lines).find((x) => x.id === item.id);
      select(again ? fromDoc(item.kind, again) : null);
      status.textContent = `Saved ${result.kind} ${result.id} (version ${result.version}); the camera uses it from its next frame.`;
      toast(`Saved ${result.kind} ${result.id}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // kept as a draft and as a pending change; sent after login
      if (e instanceof ApiError && e.status === 400 && e.problem) {
        problemAt.point = typeof e.problem.point === 'number' ? e.problem.point : null;
        problemAt.text = e.problem.detail || 'invalid';
        message.textContent = e.problem.detail;
      } else if (e instanceof ApiError && e.status === 409) {
        message.textContent = `${e.message} Your drawing is kept as a draft; "Discard changes" shows the saved one.`;
      } else {
        message.textContent = e.message;
      }
      draw();
      save.disabled = false;
    }
  });

  // A draft from before (an expired session, a reload) comes back as it was left.
  if (saved && saved.points) {
    item = saved;
    status.textContent = '';
    draw();
    message.textContent = '';
    status.textContent = `Restored your unsaved ${saved.kind} ${saved.id}.`;
  } else {
    draw();
  }
  document.body.dataset.ready = 'camera-editor';
  return () => stops.forEach((s) => s());
}
