// Cameras: the list with health, one camera with its redacted live view, and the zone and line editor.
// The API decides who sees what: the live view answers only roles that may see snapshots, edits only admins.
import { registerPage, api, el, clear, draft, formatTime, toast, ApiError, SEES_EVENTS } from './app.js';

const SVG = 'http://www.w3.org/2000/svg';

registerPage({
  id: 'cameras',
  title: 'Cameras',
  nav: true,
  roles: ['viewer', 'operator', 'investigator', 'admin'],
  render(root, params, ctx) {
    if (params.length === 0) return renderList(root);
    if (params[1] === 'edit') return renderEditor(root, params[0], ctx);
    return renderDetail(root, params[0], ctx);
  },
});

// ---- list ------------------------------------------------------------------------------------------------------

const COLUMNS = [
  { key: 'name', label: 'Camera', value: (c) => c.name },
  { key: 'area', label: 'Area', value: (c) => c.area },
  { key: 'health', label: 'Health', value: (c) => c.health },
  { key: 'since', label: 'Since', value: (c) => c.healthSince || '' },
  { key: 'fps', label: 'Frames/s', value: (c) => c.load?.framesPerSecond ?? -1 },
  { key: 'dropped', label: 'Dropped', value: (c) => c.load?.framesDropped ?? -1 },
  { key: 'detector', label: 'Detector load', value: (c) => c.load?.detectorLoad ?? -1 },
];

async function renderList(root) {
  clear(root);
  const state = { sort: 'name', dir: 1, health: sessionStorage.getItem('civiclens.cameras.health') || '' };
  const filter = el('select', { id: 'camera-health-filter' },
    [['', 'any health'], ['online', 'online'], ['offline', 'offline'], ['unknown', 'unknown']].map(([v, t]) => el('option', { value: v }, t)));
  filter.value = state.health;
  const table = el('table', { id: 'cameras', class: 'cameras' });
  const count = el('p', { class: 'small', role: 'status', id: 'camera-count' });
  root.append(el('h1', {}, 'Cameras'), el('p', {}, el('label', { for: 'camera-health-filter' }, 'Show cameras with '), filter), count, table);

  let items = [];
  const draw = () => {
    const col = COLUMNS.find((c) => c.key === state.sort);
    const rows = items.filter((c) => !state.health || c.health === state.health)
      .sort((a, b) => { const x = col.value(a); const y = col.value(b); return (x < y ? -1 : x > y ? 1 : 0) * state.dir; });
    clear(table).append(
      el('thead', {}, el('tr', {}, COLUMNS.map((c) => {
        const button = el('button', { type: 'button', class: 'link', dataset: { sort: c.key } }, c.label);
        button.addEventListener('click', () => {
          state.dir = state.sort === c.key ? -state.dir : 1;
          state.sort = c.key;
          draw();
        });
        return el('th', { scope: 'col', 'aria-sort': state.sort === c.key ? (state.dir > 0 ? 'ascending' : 'descending') : 'none' }, button);
      }))),
      el('tbody', {}, rows.map((c) => el('tr', { dataset: { id: c.id, health: c.health } },
        el('td', {}, el('a', { href: `#/cameras/${encodeURIComponent(c.id)}` }, c.name)),
        el('td', {}, c.area),
        el('td', {}, el('span', { class: `health ${c.health}` }, c.health)),
        el('td', {}, formatTime(c.healthSince)),
        el('td', { class: 'num' }, c.load ? c.load.framesPerSecond.toFixed(1) : '—'),
        el('td', { class: 'num' }, c.load ? String(c.load.framesDropped) : '—'),
        el('td', { class: 'num' }, c.load ? percent(c.load.detectorLoad) : '—')))));
    count.textContent = `${rows.length} of ${items.length} cameras`;
    document.body.dataset.ready = 'cameras';
  };
  filter.addEventListener('change', () => {
    state.health = filter.value;
    sessionStorage.setItem('civiclens.cameras.health', state.health);
    draw();
  });

  // Keyset pages of 500 until the end (the list is for a district's operators, not all 290,000 at once: filter by area).
  let after = null;
  do {
    const page = await api(`/api/cameras?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    items = items.concat(page.items);
    after = page.next;
  } while (after && items.length < 5000);
  draw();
}

function percent(v) {
  return `${Math.round(v * 100)} %`;
}

// ---- detail with the live view ---------------------------------------------------------------------------------

async function renderDetail(root, id, ctx) {
  clear(root);
  const camera = await api(`/api/cameras/${encodeURIComponent(id)}`);
  const figures = el('dl', { class: 'figures', id: 'camera-figures' });
  const fill = (c) => {
    const l = c.load;
    clear(figures).append(
      el('dt', {}, 'Health'), el('dd', { id: 'camera-health' }, c.health + (c.healthSince ? ` since ${formatTime(c.healthSince)}` : '')),
      el('dt', {}, 'Analysing'), el('dd', {}, l ? `${l.framesPerSecond.toFixed(1)} frames/s` : 'not on this server'),
      el('dt', {}, 'Frames dropped'), el('dd', {}, l ? `${l.framesDropped} (${percent(l.dropRate)} lately)` : '—'),
      el('dt', {}, 'Detector load'), el('dd', {}, l ? percent(l.detectorLoad) : '—'),
      el('dt', {}, 'Purpose'), el('dd', {}, c.purpose),
      el('dt', {}, 'Department'), el('dd', {}, c.department));
  };
  fill(camera);
  root.append(el('p', {}, el('a', { href: '#/cameras' }, '← All cameras')), el('h1', {}, camera.name), figures);
  if (ctx.me?.role === 'admin') root.append(el('p', {}, el('a', { href: `#/cameras/${encodeURIComponent(id)}/edit`, id: 'edit-geometry' }, 'Edit zones and lines')));

  const timers = [];
  if (SEES_EVENTS.includes(ctx.me?.role)) {
    const view = liveView(id, 'camera-live');
    root.append(el('h2', {}, 'Live view (redacted)'), view.node);
    timers.push(view.stop);
  }
  // Health figures refresh every 5 s.
  const refresh = setInterval(async () => {
    try {
      fill(await api(`/api/cameras/${encodeURIComponent(id)}`));
    } catch {
      /* shown again on the next tick */
    }
  }, 5000);
  document.body.dataset.ready = 'camera';
  return () => {
    clearInterval(refresh);
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
