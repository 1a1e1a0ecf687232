// The cases board (by state, with the SLA timer) and one case: its history, linked events and field reports.
import { registerPage, api, el, clear, live, ctx, formatTime, draft, toast, ApiError, route, departments } from './app.js';
import { renderViews } from './views.js';
import { heldBadge } from './holds.js';

const COLUMNS = ['open', 'acknowledged', 'in_progress', 'fixed', 'closed'];
const LABELS = { open: 'Open', acknowledged: 'Acknowledged', in_progress: 'In progress', fixed: 'Fixed', closed: 'Closed' };
// The server's allowed moves (CaseEndpoints.Transitions); the server refuses anything else anyway.
const MOVES = { open: ['acknowledged', 'in_progress', 'closed'], acknowledged: ['in_progress', 'fixed', 'closed'], in_progress: ['fixed', 'closed'], fixed: ['closed', 'in_progress'], closed: [] };

/** "due in 3 h 20 min" or "overdue by 2 h", kept current by the board's timer. */
function sla(c, now = Date.now()) {
  if (c.state === 'closed') return c.closedAt ? `closed ${formatTime(c.closedAt)}` : 'closed';
  if (!c.dueAt) return 'no due time';
  const ms = Date.parse(c.dueAt) - now;
  const abs = Math.abs(ms);
  const h = Math.floor(abs / 3600000);
  const m = Math.floor((abs % 3600000) / 60000);
  const text = h >= 48 ? `${Math.floor(h / 24)} d ${h % 24} h` : `${h} h ${m} min`;
  return ms < 0 ? `overdue by ${text}` : `due in ${text}`;
}

function slaNode(c) {
  const overdue = c.state !== 'closed' && c.dueAt && Date.parse(c.dueAt) < Date.now();
  return el('span', { class: 'sla' + (overdue ? ' overdue' : ''), dataset: { due: c.dueAt || '', state: c.state } }, sla(c));
}

function tickSla(root) {
  for (const s of root.querySelectorAll('.sla')) {
    const c = { dueAt: s.dataset.due || null, state: s.dataset.state };
    s.textContent = sla(c);
    s.classList.toggle('overdue', c.state !== 'closed' && !!c.dueAt && Date.parse(c.dueAt) < Date.now());
  }
}

registerPage({
  id: 'cases',
  title: 'Cases',
  nav: true,
  roles: ['viewer', 'operator', 'investigator'],
  async render(root, params) {
    return params[0] ? renderCase(root, params[0]) : renderBoard(root);
  },
});

async function renderBoard(root) {
  clear(root);
  const list = await departments();
  const dep = el('select', { id: 'board-department' }, el('option', { value: '' }, 'All departments'));
  for (const d of list) dep.append(el('option', { value: d.id }, d.name));
  const board = el('div', { class: 'board', id: 'board' });
  root.append(el('div', { class: 'board-head' }, el('h1', {}, 'Cases'), el('label', {}, el('span', { class: 'sr' }, 'Department'), dep)), board);
  const load = async () => {
    const q = dep.value ? `&department=${encodeURIComponent(dep.value)}` : '';
    const pages = await Promise.all(COLUMNS.map((s) => api(`/api/cases?state=${s}&limit=${s === 'closed' ? 20 : 100}${q}`)));
    clear(board);
    COLUMNS.forEach((s, i) => {
      const list = el('ul', { class: 'cards' });
      for (const c of pages[i].items) {
        list.append(el('li', { class: 'card', dataset: { id: String(c.id) } },
          el('a', { href: `#/cases/${c.id}` }, `#${c.id} ${c.title}`),
          el('span', { class: 'meta' }, `${c.department}${c.assignee ? ' · ' + c.assignee : ' · unassigned'}`),
          slaNode(c)));
      }
      if (!pages[i].items.length) list.append(el('li', { class: 'empty' }, 'none'));
      board.append(el('section', { class: 'column', dataset: { state: s }, 'aria-label': LABELS[s] }, el('h2', {}, `${LABELS[s]} (${pages[i].items.length}${pages[i].next ? '+' : ''})`), list));
    });
    document.body.dataset.ready = 'cases';
  };
  dep.addEventListener('change', () => load().catch((e) => toast(e.message)));
  await load();
  let pending = null;
  const onCase = () => {
    clearTimeout(pending);
    pending = setTimeout(() => load().catch(() => {}), 500);
  };
  live.addEventListener('case', onCase);
  const timer = setInterval(() => tickSla(board), 30000);
  return () => {
    live.removeEventListener('case', onCase);
    clearInterval(timer);
    clearTimeout(pending);
  };
}

async function renderCase(root, id) {
  clear(root);
  const c = await api(`/api/cases/${encodeURIComponent(id)}`);
  const canWork = ctx.me.role === 'operator';
  const section = el('article', { class: 'case', id: 'case', dataset: { state: c.state, version: String(c.version) } });
  root.append(el('p', {}, el('a', { href: '#/cases' }, '← All cases')), section);
  section.append(
    el('h1', {}, `Case ${c.id}: ${c.title}`, ' ', heldBadge(c.holds, 'case-held')),
    el('dl', { class: 'facts' },
      el('dt', {}, 'State'), el('dd', { id: 'case-state' }, LABELS[c.state] || c.state),
      el('dt', {}, 'Department'), el('dd', {}, c.department),
      el('dt', {}, 'Category'), el('dd', {}, c.category),
      el('dt', {}, 'Area'), el('dd', {}, c.area + (c.site ? ' · ' + c.site : '')),
      el('dt', {}, 'Assignee'), el('dd', { id: 'case-assignee' }, c.assignee || 'nobody'),
      el('dt', {}, 'Opened'), el('dd', {}, formatTime(c.openedAt)),
      el('dt', {}, 'SLA'), el('dd', {}, slaNode(c))));

  if (canWork && MOVES[c.state].length) {
    const noteDraft = draft(`case-note-${c.id}`);
    const note = el('textarea', { id: 'case-note', name: 'note', rows: '3', maxlength: '2000' });
    note.value = noteDraft.get();
    note.addEventListener('input', () => noteDraft.set(note.value));
    const move = async (to) => {
      try {
        await api(`/api/cases/${c.id}/transition`, { method: 'POST', body: { state: to, version: c.version, note: note.value.trim() || null }, draftKey: `case-note-${c.id}` });
        noteDraft.clear();
        toast(`Case ${c.id} is now ${LABELS[to]}.`);
        await route(); // through the router, so this render's SLA timer stops before the next starts
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) toast(e.message);
      }
    };
    const assignee = el('input', { id: 'assign-user', name: 'assignee', value: c.assignee || '', autocomplete: 'off' });
    const assign = el('form', { class: 'inline', id: 'assign-form' }, el('label', { for: 'assign-user' }, 'Assign to (operator)'), assignee, el('button', { type: 'submit' }, 'Assign'));
    assign.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api(`/api/cases/${c.id}/assign`, { method: 'POST', body: { userName: assignee.value.trim() || null, version: c.version } });
        await route(); // through the router, so this render's SLA timer stops before the next starts
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) toast(err.message);
      }
    });
    section.append(el('section', { class: 'work', 'aria-label': 'Work on the case' },
      el('label', { for: 'case-note' }, 'Note for the history (optional)'), note,
      el('div', { class: 'actions' }, MOVES[c.state].map((to) => el('button', { type: 'button', dataset: { to }, id: `move-${to}`, onclick: () => move(to) }, `Move to ${LABELS[to]}`))),
      assign));
  }

  section.append(el('h2', {}, 'History'), el('ol', { class: 'history', id: 'case-history' },
    (c.history || []).map((h) => el('li', {}, el('time', { datetime: h.at }, formatTime(h.at)), ` ${h.actor}: ${h.change}`))));

  section.append(el('h2', {}, `Linked events (${(c.events || []).length})`), el('ul', { class: 'linked', id: 'case-events' },
    (c.events || []).map((e) => el('li', {},
      e.hasSnapshot ? el('img', { src: `/api/events/${e.id}/snapshot`, alt: `Redacted snapshot of ${e.kind} at ${e.camera}`, loading: 'lazy' }) : null,
      el('span', {}, `${formatTime(e.at)} · ${e.category} · ${e.kind} · ${e.camera}`),
      renderViews((c.views || []).filter((v) => v.event === e.id), `views-${e.id}`)))));

  // Field reports: their redacted photos (viewing one is audited), the source, and any flag for the operator.
  if (Array.isArray(c.reports)) {
    section.append(el('h2', {}, `Linked reports (${c.reports.length})`), el('ul', { class: 'linked', id: 'case-reports' },
      c.reports.map((r) => el('li', { dataset: { report: r.id } },
        (r.photos || []).map((p) => el('img', { src: `/api/reports/${r.id}/photos/${p.id}`, alt: `Redacted photo ${p.id} of report ${r.id}`, loading: 'lazy' })),
        el('span', {}, [formatTime(r.submittedAt), `${r.source} report`, r.description, (r.flags || []).join(', ')].filter(Boolean).join(' · ')),
        // The category's questions as the reporter answered them (Open311 attribute[]), code: value(s).
        r.attributes ? el('dl', { class: 'report-attributes' },
          Object.entries(r.attributes).flatMap(([code, values]) => [el('dt', {}, code), el('dd', {}, values.join(', '))])) : null))));
  }
  const timer = setInterval(() => tickSla(section), 30000);
  document.body.dataset.ready = 'case';
  return () => clearInterval(timer);
}
