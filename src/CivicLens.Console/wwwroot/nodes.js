// Nodes: in a cluster (docs/cluster.md), every hub and worker node with its state and how many cameras it runs of
// its capacity. Only a cluster hub has GET /api/cluster/nodes (404 on one machine): there the page stays out of the
// navigation and says there are no nodes. Text from the API is written with el() (textContent), never as HTML.
import { registerPage, api, el, clear, live, toast, isCluster, ApiError } from './app.js';
import { NODE_FILTER_KEY } from './cameras.js';

/** Silo states as Orleans reports them (lower case); anything else shows as its word in grey. */
const NODE_STATES = ['active', 'joining', 'created', 'shuttingdown', 'stopping'];
const REFRESH_MS = 5000;

registerPage({
  id: 'nodes',
  title: 'Nodes',
  nav: true,
  navWhen: () => isCluster(),
  roles: ['viewer', 'operator', 'investigator', 'admin'],
  render: renderNodes,
});

function nodeBadge(status) {
  const known = NODE_STATES.includes(status) ? status : 'unknown';
  return el('span', { class: `health node-state-${known}`, dataset: { state: status || 'unknown' } }, status || 'unknown');
}

/** Cameras running of capacity as a bar, its figures always written beside it (the bar only repeats them). */
function loadBar(cameras, capacity) {
  const share = capacity > 0 ? Math.min(1, cameras / capacity) : 0;
  const fill = el('span', { class: 'load-fill' });
  fill.style.width = `${Math.round(share * 100)}%`;
  const level = share >= 1 ? 'full' : share >= 0.8 ? 'high' : 'ok';
  return el('span', { class: 'load' },
    el('span', { class: `load-bar load-${level}`, role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': String(capacity), 'aria-valuenow': String(cameras),
      'aria-label': `${cameras} of ${capacity} cameras` }, fill),
    el('span', { class: 'load-text' }, `${cameras} / ${capacity}`));
}

async function renderNodes(root) {
  clear(root);
  let nodes;
  try {
    nodes = await api('/api/cluster/nodes');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    root.append(el('section', { class: 'problem', id: 'nodes-single' },
      el('h1', {}, 'No nodes'),
      el('p', {}, 'This server runs the whole district on one machine: every camera is analysed here, so there are no worker nodes to show.')));
    document.body.dataset.ready = 'nodes';
    return () => {};
  }

  const summary = el('p', { id: 'nodes-summary', role: 'status' });
  const note = el('p', { class: 'message', id: 'nodes-alert', role: 'alert' });
  const table = el('table', { id: 'nodes', class: 'cameras nodes' });
  const updated = el('p', { class: 'small', id: 'nodes-updated' });
  root.append(el('h1', {}, 'Nodes'),
    el('p', { class: 'small' }, 'Hubs serve the API and the console and place cameras; worker nodes run them, never more than their capacity.'),
    summary, note, table, updated);

  let moving = null;
  const draw = () => {
    const workers = nodes.filter((n) => n.role === 'node');
    const hubs = nodes.filter((n) => n.role === 'hub');
    const running = workers.reduce((s, n) => s + n.cameras, 0);
    const capacity = workers.reduce((s, n) => s + n.capacity, 0);
    clear(summary).append(
      `${workers.length} worker node${workers.length === 1 ? '' : 's'} and ${hubs.length} hub${hubs.length === 1 ? '' : 's'}: ${running} of ${capacity} camera places in use`,
      moving === null ? '' : el('span', { id: 'nodes-moving' }, ` · ${moving} camera${moving === 1 ? '' : 's'} moving (waiting for a node)`),
      '.');
    clear(table).append(
      el('caption', { class: 'sr' }, 'Hubs and worker nodes of the cluster'),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, 'Name'), el('th', { scope: 'col' }, 'Role'), el('th', { scope: 'col' }, 'State'),
        el('th', { scope: 'col' }, 'Cameras / capacity'), el('th', { scope: 'col' }, 'Address'))),
      el('tbody', {}, nodes.map((n) => el('tr', { dataset: { name: n.name, role: n.role, status: n.status } },
        el('th', { scope: 'row' }, n.role === 'node'
          ? el('a', { href: '#/cameras', title: `The cameras on ${n.name}`, onclick: () => sessionStorage.setItem(NODE_FILTER_KEY, n.name) }, n.name)
          : n.name),
        el('td', {}, n.role),
        el('td', {}, nodeBadge(n.status)),
        el('td', { class: 'node-load' }, n.role === 'node' ? loadBar(n.cameras, n.capacity)
          : n.role === 'hub' ? el('span', { class: 'small' }, 'analyses no camera') : String(n.cameras)),
        el('td', { class: 'small' }, n.silo)))));
    updated.textContent = `As of ${new Date().toLocaleTimeString()}; refreshed every ${REFRESH_MS / 1000} s and when a camera changes state.`;
    document.body.dataset.ready = 'nodes';
  };

  let token = 0;
  const refresh = async () => {
    const mine = ++token;
    try {
      const [fresh, counts] = await Promise.all([api('/api/cluster/nodes'), api('/api/camera-health/counts').catch(() => null)]);
      if (mine !== token) return;
      nodes = fresh;
      moving = counts ? counts.states?.moving ?? 0 : moving;
      note.textContent = '';
      draw();
    } catch (e) {
      if (mine !== token || (e instanceof ApiError && e.status === 401)) return;
      // The district's leader is moving to another hub, or this hub is away: keep the last figures, say so.
      note.textContent = `${e.message} The figures below are from before.`;
      if (!(e instanceof ApiError)) toast(e.message);
    }
  };

  draw();
  refresh();
  const timer = setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
  // A camera that starts, stops or moves changes a node's load: ask again a moment later (once for a burst).
  let soon = null;
  const onCamera = () => {
    if (soon) return;
    soon = setTimeout(() => {
      soon = null;
      refresh();
    }, 1000);
  };
  live.addEventListener('camera', onCamera);
  return () => {
    clearInterval(timer);
    clearTimeout(soon);
    live.removeEventListener('camera', onCamera);
    token++;
  };
}
