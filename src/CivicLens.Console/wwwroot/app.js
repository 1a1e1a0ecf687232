// The console shell: session, router, API helper, live connection. Pages register themselves (see docs/console.md).
// Text from the API is only ever written with textContent (el() below), never parsed as HTML.

const pages = new Map();
export const ctx = { me: null, config: null, departments: null, cluster: null };
export const live = new EventTarget();

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function registerPage(page) {
  pages.set(page.id, page);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A draft kept in sessionStorage, so an edit survives an expired session and a reload. */
export function draft(key) {
  const k = 'civiclens.draft.' + key;
  return {
    get: () => sessionStorage.getItem(k) ?? '',
    set: (v) => (v ? sessionStorage.setItem(k, v) : sessionStorage.removeItem(k)),
    clear: () => sessionStorage.removeItem(k),
  };
}

/** The roles that see events and redacted footage (the server's ReadEvents policy); admins and auditors do not. */
export const SEES_EVENTS = ['viewer', 'operator', 'investigator'];

const PENDING = 'civiclens.pending';

/**
 * JSON over the same-origin session cookie. A 401 on a change keeps it (with the draft it came from), to be sent
 * again after the next login.
 */
export async function api(path, { method = 'GET', body, keep = true, draftKey } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { title: 'The server cannot be reached', detail: 'Check the connection; the console retries by itself.' });
  }
  if (res.status === 401 && !path.startsWith('/api/auth/login')) {
    if (method !== 'GET' && keep) {
      const list = JSON.parse(sessionStorage.getItem(PENDING) || '[]');
      list.push({ path, method, body, draftKey, at: Date.now(), user: ctx.me && ctx.me.userName });
      sessionStorage.setItem(PENDING, JSON.stringify(list));
    }
    sessionExpired();
    throw new ApiError(401, { title: 'Your session has ended', detail: 'Log in again; your unsaved change is kept and sent after login.' });
  }
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json() : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Changes refused because the session had ended, sent again once logged in; returns how many went through. */
export async function resubmitPending() {
  const list = JSON.parse(sessionStorage.getItem(PENDING) || '[]');
  sessionStorage.removeItem(PENDING);
  let sent = 0;
  let dropped = 0;
  for (const p of list) {
    // A change is only ever sent as the person who made it: another login in this tab drops it.
    if (!ctx.me || p.user !== ctx.me.userName) {
      dropped++;
      continue;
    }
    try {
      await api(p.path, { method: p.method, body: p.body, keep: false });
      // The kept edit is saved now; its draft has done its job.
      if (p.draftKey) draft(p.draftKey).clear();
      sent++;
    } catch (e) {
      toast(`A kept change could not be sent: ${e.message}`);
    }
  }
  if (sent) toast(`${sent} kept change${sent > 1 ? 's were' : ' was'} sent after login.`);
  if (dropped) toast(`${dropped} change${dropped > 1 ? 's' : ''} kept for another user ${dropped > 1 ? 'were' : 'was'} dropped.`);
  return sent;
}

let returnTo = null;
function sessionExpired() {
  if (ctx.me === null && location.hash.startsWith('#/login')) return;
  ctx.me = null;
  stopLive();
  returnTo = location.hash && !location.hash.startsWith('#/login') ? location.hash : returnTo;
  sessionStorage.setItem('civiclens.return', returnTo || '#/');
  location.hash = '#/login';
}

export function toast(text) {
  const box = document.getElementById('toasts');
  const t = el('div', { class: 'toast', role: 'status' }, text);
  box.append(t);
  setTimeout(() => t.remove(), 6000);
}

// ---- live connection -------------------------------------------------------------------------------------------

let connection = null;
let lastEventAt = null;
// The events seen at exactly lastEventAt: the gap query's `from` is inclusive, so they come back and are not news.
let idsAtLast = new Set();
// Whether a connection ever stood: the first start fills in silently, a later one tells the operator.
let wasConnected = false;

export function noteEventSeen(e) {
  if (!e?.at) return;
  if (!lastEventAt || e.at > lastEventAt) {
    lastEventAt = e.at;
    idsAtLast = new Set([e.id]);
  } else if (e.at === lastEventAt) idsAtLast.add(e.id);
}

function setLiveState(state) {
  const badge = document.getElementById('live-state');
  if (!badge) return;
  badge.textContent = state;
  badge.dataset.state = state;
}

async function startLive() {
  if (connection || !window.signalR || !ctx.me || ctx.me.role === 'auditor') return;
  connection = new signalR.HubConnectionBuilder()
    .withUrl('/hubs/live')
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (r) => Math.min(10000, 500 * 2 ** Math.min(r.previousRetryCount, 5)) })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  for (const kind of ['event', 'camera', 'case']) {
    connection.on(kind, (m) => {
      if (kind === 'event') noteEventSeen(m);
      live.dispatchEvent(new CustomEvent(kind, { detail: m }));
    });
  }
  connection.onreconnecting(() => setLiveState('reconnecting'));
  connection.onreconnected(async () => {
    setLiveState('live');
    await fillGap(true);
  });
  connection.onclose(() => {
    setLiveState('offline');
    connection = null;
    // Automatic reconnect gave up (or the server went away for long): keep trying while logged in.
    if (ctx.me) setTimeout(() => startLive(), 5000);
  });
  try {
    await connection.start();
    setLiveState('live');
    const announce = wasConnected;
    wasConnected = true;
    if (lastEventAt) await fillGap(announce);
  } catch {
    setLiveState('offline');
    connection = null;
    if (ctx.me) setTimeout(() => startLive(), 5000);
  }
}

/** After a lost connection, what happened meanwhile comes from the event list (and is marked as such). */
async function fillGap(announce) {
  if (!lastEventAt || !ctx.me || !SEES_EVENTS.includes(ctx.me.role)) return;
  const since = lastEventAt;
  const known = new Set(idsAtLast);
  let cursor = null;
  const missed = [];
  for (let i = 0; i < 10; i++) {
    const page = await api(`/api/events?from=${encodeURIComponent(since)}&limit=500${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    missed.push(...page.items.filter((m) => !(m.at === since && known.has(m.id))));
    cursor = page.next;
    if (!cursor) break;
  }
  for (const m of missed.reverse()) {
    noteEventSeen(m);
    live.dispatchEvent(new CustomEvent('event', { detail: m }));
  }
  if (announce && missed.length) toast(`Reconnected: ${missed.length} event${missed.length > 1 ? 's' : ''} from the gap filled in.`);
}

function stopLive() {
  const c = connection;
  connection = null;
  wasConnected = false;
  if (c) c.stop().catch(() => {});
  setLiveState('offline');
}

// ---- shell -----------------------------------------------------------------------------------------------------

const HOME = { viewer: '#/', operator: '#/', investigator: '#/', admin: '#/', auditor: '#/audit' };

function renderNav() {
  const nav = clear(document.getElementById('nav'));
  const user = document.getElementById('user');
  clear(user);
  if (!ctx.me) return;
  for (const page of pages.values()) {
    if (!page.nav || !page.roles.includes(ctx.me.role)) continue;
    const href = '#/' + (page.id === 'live' ? '' : page.id);
    // A page that exists only in some districts (navWhen) shows its link once the server says it applies.
    const link = el('a', { href, dataset: { page: page.id }, hidden: !!page.navWhen }, page.title);
    nav.append(link);
    if (page.navWhen) {
      Promise.resolve(page.navWhen(ctx)).then((show) => link.toggleAttribute('hidden', !show), () => {});
    }
  }
  user.append(
    el('span', { id: 'live-state', dataset: { state: 'offline' } }, 'offline'),
    el('span', { class: 'who' }, `${ctx.me.userName} (${ctx.me.role})`),
    el('button', { type: 'button', id: 'logout', onclick: logout }, 'Log out'),
  );
}

async function logout() {
  try {
    await api('/api/auth/logout', { method: 'POST', keep: false });
  } catch {
    /* already ended */
  }
  ctx.me = null;
  ctx.cluster = null;
  stopLive();
  sessionStorage.removeItem(PENDING);
  renderNav();
  navigate('#/login');
}

/** Called by the login page once the session exists. */
export async function loggedIn(me) {
  ctx.me = me;
  ctx.config = null;
  ctx.departments = null;
  ctx.cluster = null;
  renderNav();
  await resubmitPending();
  startLive();
  const back = sessionStorage.getItem('civiclens.return');
  sessionStorage.removeItem('civiclens.return');
  navigate(back && back !== '#/login' ? back : HOME[me.role] || '#/');
}

let leave = null;
let routing = 0;

export async function route() {
  const token = ++routing;
  const hash = location.hash || '#/';
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const id = parts[0] || 'live';
  const page = pages.get(id) || pages.get('notfound');
  const main = document.getElementById('main');
  if (leave) {
    try {
      leave();
    } catch {
      /* a page's cleanup must not stop navigation */
    }
    leave = null;
  }
  if (!ctx.me && id !== 'login') {
    try {
      ctx.me = await api('/api/auth/me', { keep: false });
      renderNav();
      startLive();
    } catch {
      return; // sessionExpired() moved to the login page
    }
  }
  if (token !== routing) return;
  for (const a of document.querySelectorAll('#nav a')) a.toggleAttribute('aria-current', a.dataset.page === id);
  document.body.dataset.page = page.id;
  delete document.body.dataset.ready;
  document.title = `${page.title} — CivicLens`;
  clear(main);
  if (page.roles && !page.roles.includes(ctx.me?.role)) {
    renderForbidden(main, page.title);
    return;
  }
  try {
    const cleanup = await page.render(main, parts.slice(1), ctx);
    if (token === routing) leave = typeof cleanup === 'function' ? cleanup : null;
    else if (typeof cleanup === 'function') cleanup();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    if (token !== routing) return;
    clear(main);
    if (e instanceof ApiError && e.status === 403) renderForbidden(main, page.title);
    else if (e instanceof ApiError && e.status === 404) renderNotFound(main);
    else main.append(el('section', { class: 'problem', role: 'alert' }, el('h1', {}, 'Something went wrong'), el('p', {}, e.message)));
  }
}

export function renderForbidden(main, title) {
  clear(main);
  document.body.dataset.page = 'forbidden';
  main.append(
    el('section', { class: 'problem', role: 'alert', id: 'forbidden' },
      el('h1', {}, 'Not for your role'),
      el('p', {}, `Your account (${ctx.me?.role ?? 'not logged in'}) may not open ${title}. Ask an administrator if you need it for your work.`),
      el('p', {}, el('a', { href: HOME[ctx.me?.role] || '#/' }, 'Back to your start page'))),
  );
}

function renderNotFound(main) {
  main.append(el('section', { class: 'problem', role: 'alert' }, el('h1', {}, 'Not found'),
    el('p', {}, 'It does not exist, or it lies outside the areas your account covers.'), el('p', {}, el('a', { href: '#/' }, 'Back'))));
}

registerPage({
  id: 'notfound',
  title: 'Not found',
  roles: null,
  render(root) {
    renderNotFound(root);
  },
});

export async function mapConfig() {
  ctx.config ??= await api('/api/map/config');
  return ctx.config;
}

/**
 * Whether the district runs as a cluster (hubs and worker nodes, docs/cluster.md): GET /api/cluster/nodes exists only
 * on a cluster hub and answers 404 on a single-process server. Asked once a session; a 503 (the district's leader
 * did not answer) is still a cluster. Roles that may not read the registry get false.
 */
export async function isCluster() {
  if (ctx.cluster === null) {
    ctx.cluster = api('/api/cluster/nodes', { keep: false }).then(
      () => true,
      (e) => {
        if (e instanceof ApiError && (e.status === 404 || e.status === 403)) return false;
        if (e instanceof ApiError && e.status >= 500) return true;
        ctx.cluster = null; // unreachable or logged out: ask again next time
        return false;
      });
  }
  return ctx.cluster;
}

// The departments change only when the district's configuration does: fetched once a session, not on every page.
export async function departments() {
  ctx.departments ??= await api('/api/departments');
  return ctx.departments;
}

export function start() {
  window.addEventListener('hashchange', route);
  route();
}
