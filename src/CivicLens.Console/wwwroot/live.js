// The first screen: the district map (areas, sites, clustered cameras, open events and cases) and the live feed.
import { registerPage, api, el, clear, live, ctx, navigate, formatTime, draft, toast, noteEventSeen, mapConfig, departments, ApiError, SEES_EVENTS } from './app.js';
import { renderViews } from './views.js';
import { heldBadge } from './holds.js';

// Severity follows the category; it shows as the marker's outline weight (docs/console.md).
const SEVERITY = { 'works-safety': 3, crowding: 3, 'illegal-parking': 2, 'public-space': 2, 'pedestrian-flow': 1, waste: 1 };
const COLOURS = { new: '#c62828', acknowledged: '#ef8f00', case: '#1565c0', overdue: '#6a0000' };
const MAX_FEED = 200;

function wedge(lat, lon, heading, fov, range) {
  const mLat = 111320;
  const mLon = 111320 * Math.cos((lat * Math.PI) / 180);
  const pts = [[lat, lon]];
  for (let i = 0; i <= 8; i++) {
    const a = ((heading - fov / 2 + (fov * i) / 8) * Math.PI) / 180;
    pts.push([lat + (range * Math.cos(a)) / mLat, lon + (range * Math.sin(a)) / mLon]);
  }
  return pts;
}

function debounce(fn, ms) {
  let t = null;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}

function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  return () => {
    const wait = last + ms - Date.now();
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, Math.max(0, wait));
  };
}

function bboxQuery(map) {
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const w = clamp(b.getWest(), -180, 179.999);
  const e = clamp(b.getEast(), w + 0.000001, 180);
  const s = clamp(b.getSouth(), -90, 89.999);
  const n = clamp(b.getNorth(), s + 0.000001, 90);
  return `west=${w.toFixed(6)}&south=${s.toFixed(6)}&east=${e.toFixed(6)}&north=${n.toFixed(6)}`;
}

registerPage({
  id: 'live',
  title: 'Live',
  nav: true,
  roles: ['viewer', 'operator', 'investigator', 'admin'],
  async render(root) {
    clear(root);
    const seesEvents = SEES_EVENTS.includes(ctx.me.role);
    const filters = el('form', { class: 'filters', id: 'map-filters', 'aria-label': 'Map filters' });
    const mapDiv = el('div', { id: 'map', role: 'region', 'aria-label': 'District map' });
    const feedList = el('ol', { id: 'feed', class: 'feed', 'aria-live': 'polite', 'aria-label': 'Live events' });
    const detail = el('section', { id: 'detail', class: 'detail', 'aria-label': 'Selected event' });
    const legend = el('p', { class: 'legend' },
      el('span', { class: 'dot new' }), 'new ', el('span', { class: 'dot acknowledged' }), 'acknowledged ',
      el('span', { class: 'dot case' }), 'open case ', el('span', { class: 'dot overdue' }), 'case overdue');
    const side = el('aside', { class: 'side' },
      el('h2', {}, 'Live events'),
      seesEvents ? feedList : el('div', { id: 'no-events' },
        el('p', {}, 'Your role keeps the registry (accounts, cameras, zones); it sees no events or footage.'),
        // A newcomer's first login is the admin's: say how to reach the live feed instead of leaving an empty page.
        ctx.me.role === 'admin' ? el('p', {}, 'To watch the live feed, ', el('a', { href: '#/admin', id: 'create-operator' }, 'create an operator account'), ' and log in with it.') : null),
      detail);
    root.append(el('div', { class: 'live' }, el('div', { class: 'mapcol' }, filters, mapDiv, legend), side));

    // Filters: type (category), department, state, time.
    const [deps, config] = await Promise.all([departments(), mapConfig()]);
    const category = el('select', { id: 'f-category', name: 'category' }, el('option', { value: '' }, 'All types'));
    for (const c of Object.keys(SEVERITY)) category.append(el('option', { value: c }, c));
    const department = el('select', { id: 'f-department', name: 'department' }, el('option', { value: '' }, 'All departments'));
    for (const d of deps) department.append(el('option', { value: d.id }, d.name));
    const state = el('select', { id: 'f-state', name: 'state' }, el('option', { value: '' }, 'Open events and cases'),
      el('option', { value: 'new' }, 'New events'), el('option', { value: 'acknowledged' }, 'Acknowledged events'), el('option', { value: 'cases' }, 'Open cases'));
    const time = el('select', { id: 'f-time', name: 'time' }, el('option', { value: '' }, 'Any time'),
      el('option', { value: '1' }, 'Last hour'), el('option', { value: '24' }, 'Last 24 hours'), el('option', { value: '168' }, 'Last 7 days'));
    const label = (text, control) => el('label', {}, el('span', { class: 'sr' }, text), control);
    filters.append(label('Type', category), label('Department', department), label('State', state), label('Time', time));

    const map = L.map(mapDiv, { preferCanvas: true, zoomSnap: 1, keyboard: true });
    if (config.tiles) {
      const tiles = L.tileLayer(config.tiles, { maxZoom: 19, attribution: 'Base map: the configured tile server' });
      tiles.on('tileerror', () => mapDiv.classList.add('no-tiles'));
      tiles.addTo(map);
    } else mapDiv.classList.add('no-tiles');

    const [areas, sites] = await Promise.all([api('/api/map/areas'), api('/api/map/sites')]);
    const named = (f) => el('span', {}, f.properties.name);
    const areaLayer = L.geoJSON(areas, {
      style: (f) => ({ color: f.properties.parent ? '#41617f' : '#1b2a38', weight: f.properties.parent ? 1.5 : 3, fillOpacity: 0.03, dashArray: f.properties.parent ? '4 4' : null }),
      onEachFeature: (f, layer) => layer.bindTooltip(named(f), { sticky: true }),
    }).addTo(map);
    L.geoJSON(sites, { style: { color: '#2e7d32', weight: 2, fillOpacity: 0.12 }, onEachFeature: (f, layer) => layer.bindTooltip(named(f), { sticky: true }) }).addTo(map);
    if (areaLayer.getLayers().length) map.fitBounds(areaLayer.getBounds(), { padding: [10, 10] });
    else map.setView([20, 0], 2);

    const cameraLayer = L.layerGroup().addTo(map);
    const incidentLayer = L.layerGroup().addTo(map);
    let camerasToken = 0;
    // Set when the page is left: a debounced refresh or an answer still in flight must not touch the removed map.
    let gone = false;
    const loadCameras = async () => {
      if (gone) return;
      const token = ++camerasToken;
      // The department filter is about problems (routed by category and area), not about who runs a camera.
      const data = await api(`/api/map/cameras?${bboxQuery(map)}&zoom=${map.getZoom()}`);
      if (gone || token !== camerasToken) return;
      cameraLayer.clearLayers();
      for (const c of data.cells) {
        const size = Math.round(18 + Math.min(26, Math.log2(c.count + 1) * 3));
        const icon = L.divIcon({ className: 'cell', html: el('span', {}, String(c.count)), iconSize: [size, size] });
        const m = L.marker([c.latitude, c.longitude], { icon, title: `${c.count} cameras`, keyboard: true });
        m.on('click', () => map.setView([c.latitude, c.longitude], Math.min(19, map.getZoom() + 2)));
        cameraLayer.addLayer(m);
      }
      for (const c of data.cameras) {
        if (c.heading != null && c.fieldOfView && c.range) {
          cameraLayer.addLayer(L.polygon(wedge(c.latitude, c.longitude, c.heading, c.fieldOfView, c.range),
            { color: '#5b6b7a', weight: 1, fillOpacity: 0.15, interactive: false }));
        }
        const m = L.circleMarker([c.latitude, c.longitude], { radius: 6, color: '#1b2a38', weight: 2, fillColor: { streaming: '#2e7d32', offline: '#d32f2f', failed: '#b71c1c', tamper: '#ffb300', starting: '#78909c', reconnecting: '#78909c' }[c.health] ?? '#9e9e9e', fillOpacity: 1 });
        m.bindPopup(el('div', {}, el('strong', {}, c.name), el('br'), `${c.id} · ${c.health}`, el('br'), el('a', { href: `#/cameras/${encodeURIComponent(c.id)}` }, 'Camera page')));
        cameraLayer.addLayer(m);
      }
      mapDiv.dataset.cameras = String(data.total);
    };

    let incidentsToken = 0;
    const loadIncidents = async () => {
      if (!seesEvents || gone) return;
      const token = ++incidentsToken;
      const q = [bboxQuery(map)];
      if (category.value) q.push('category=' + encodeURIComponent(category.value));
      if (department.value) q.push('department=' + encodeURIComponent(department.value));
      if (state.value) q.push('state=' + state.value);
      if (time.value) q.push('from=' + encodeURIComponent(new Date(Date.now() - Number(time.value) * 3600000).toISOString()));
      const data = await api('/api/map/incidents?' + q.join('&'));
      if (gone || token !== incidentsToken) return;
      incidentLayer.clearLayers();
      const now = Date.now();
      for (const i of data.items) {
        const isCase = i.kind === 'case';
        const colour = isCase ? (i.dueAt && Date.parse(i.dueAt) < now ? COLOURS.overdue : COLOURS.case) : i.new > 0 ? COLOURS.new : COLOURS.acknowledged;
        const count = isCase ? 1 : i.new + i.acknowledged;
        const m = L.circleMarker([i.latitude, i.longitude], {
          radius: 8 + Math.min(14, Math.log2(count + 1) * 3), color: '#111', weight: SEVERITY[i.category] || 1, fillColor: colour, fillOpacity: 0.85,
        });
        const body = isCase
          ? el('div', {}, el('strong', {}, `Case ${i.caseId}: ${i.title}`), el('br'), `${i.state} · ${i.department}`, el('br'),
            i.dueAt ? `due ${formatTime(i.dueAt)}` : '', el('br'), el('a', { href: `#/cases/${i.caseId}` }, 'Open case'))
          : el('div', {}, el('strong', {}, i.category), el('br'), `${i.new} new, ${i.acknowledged} acknowledged at ${i.camera}`, el('br'), `latest ${formatTime(i.latest)}`);
        m.bindPopup(body);
        incidentLayer.addLayer(m);
      }
      mapDiv.dataset.incidents = String(data.items.length);
    };

    // Each layer reloads only on what changes it: a move both, a filter the problems (cameras are not filtered), a
    // camera's health the cameras (290,000 of them in a city: their query is the one to spare).
    const camerasLater = debounce(() => loadCameras().catch(report), 150);
    const incidentsLater = debounce(() => loadIncidents().catch(report), 150);
    map.on('moveend', () => {
      camerasLater();
      incidentsLater();
    });
    filters.addEventListener('change', incidentsLater);
    const incidentsSoon = throttle(() => loadIncidents().catch(report), 2000);

    // Feed.
    const items = new Map();
    const canWork = ctx.me.role === 'operator';
    const render = (e) => {
      const li = el('li', { tabindex: '0', dataset: { id: e.id, camera: e.camera, state: e.state }, class: 'ev ' + e.state },
        el('time', { datetime: e.at }, formatTime(e.at)),
        el('span', { class: 'what' }, `${e.category} · ${e.kind}${e.phase && e.phase !== 'instant' ? ' (' + e.phase + ')' : ''}`),
        el('span', { class: 'where' }, e.camera + (e.zone ? ' · ' + e.zone : e.line ? ' · ' + e.line : '')),
        el('span', { class: 'badge' }, e.state));
      const open = () => showDetail(e);
      li.addEventListener('click', open);
      li.addEventListener('keydown', (k) => {
        if (k.key === 'Enter' || k.key === ' ') {
          k.preventDefault();
          open();
        }
      });
      return li;
    };
    const upsert = (e, atTop) => {
      noteEventSeen(e);
      feedList.querySelector('.empty')?.remove();
      const old = items.get(e.id);
      const li = render(e);
      items.set(e.id, { e, li });
      if (old) old.li.replaceWith(li);
      else if (atTop) feedList.prepend(li);
      else feedList.append(li);
      while (feedList.children.length > MAX_FEED) {
        const last = feedList.lastElementChild;
        items.delete(last.dataset.id);
        last.remove();
      }
    };

    const report = (e) => {
      // A script error is a defect: on the browser console too (the browser tests fail on it), not only a toast.
      if (!(e instanceof ApiError)) console.error(e);
      if (!(e instanceof ApiError && e.status === 401)) toast(e.message);
    };

    let selected = null;
    const showDetail = async (e) => {
      selected = e.id;
      clear(detail);
      const actions = el('div', { class: 'actions' });
      detail.append(
        el('h2', { tabindex: '-1', id: 'detail-title' }, `${e.category}: ${e.kind}`),
        el('dl', {},
          el('dt', {}, 'When'), el('dd', {}, formatTime(e.at)),
          el('dt', {}, 'Camera'), el('dd', {}, e.camera),
          el('dt', {}, 'Rule'), el('dd', { id: 'detail-rule' }, e.rule),
          e.zone ? [el('dt', {}, 'Zone'), el('dd', {}, e.zone)] : null,
          e.count != null ? [el('dt', {}, 'Count'), el('dd', {}, String(e.count))] : null,
          el('dt', {}, 'State'), el('dd', { id: 'detail-state' }, e.state)),
        e.hasSnapshot ? el('img', { class: 'snapshot', id: 'detail-snapshot', src: `/api/events/${e.id}/snapshot`, alt: `Redacted snapshot of ${e.kind} at ${e.camera}` })
          : el('p', { class: 'small' }, 'No snapshot for this event.'),
        actions);
      detail.querySelector('h2').focus();
      if (canWork && e.state !== 'cased') {
        const act = async (what) => {
          try {
            const updated = await api(`/api/events/${e.id}/${what}`, { method: 'POST' });
            upsert(updated, false);
            showDetail(updated);
            incidentsSoon();
          } catch (err) {
            report(err);
          }
        };
        const titleDraft = draft('case-title-' + e.id);
        const title = el('input', { id: 'case-title', name: 'title', maxlength: '200', value: titleDraft.get(), placeholder: `${e.category}: ${e.kind} at ${e.camera}` });
        title.addEventListener('input', () => titleDraft.set(title.value));
        const dep = el('select', { id: 'case-department', name: 'department' }, el('option', { value: '' }, 'Routed by category and area'));
        for (const d of deps) dep.append(el('option', { value: d.id }, d.name));
        const caseForm = el('form', { class: 'case-form', id: 'case-form' },
          el('label', { for: 'case-title' }, 'Case title'), title, el('label', { for: 'case-department' }, 'Department'), dep,
          el('button', { type: 'submit', id: 'open-case' }, 'Turn into a case'));
        caseForm.addEventListener('submit', async (s) => {
          s.preventDefault();
          try {
            const c = await api(`/api/events/${e.id}/case`, { method: 'POST', body: { title: title.value.trim() || null, department: dep.value || null } });
            titleDraft.clear();
            navigate(`#/cases/${c.id}`);
          } catch (err) {
            report(err);
          }
        });
        actions.append(
          e.state === 'new' ? el('button', { type: 'button', id: 'acknowledge', onclick: () => act('acknowledge') }, 'Acknowledge') : null,
          e.state !== 'dismissed' ? el('button', { type: 'button', id: 'dismiss', class: 'secondary', onclick: () => act('dismiss') }, 'Dismiss as false positive') : null,
          caseForm);
      } else if (e.caseId) {
        actions.append(el('a', { href: `#/cases/${e.caseId}` }, `Open case ${e.caseId}`));
      }
      // How often this rule was dismissed (a rule that cries wolf needs tuning), and what the site's other cameras saw.
      const [dismissals, nearby, full] = await Promise.all([
        api(`/api/events/dismissals?camera=${encodeURIComponent(e.camera)}`).catch(() => []),
        e.site
          ? api(`/api/events?site=${encodeURIComponent(e.site)}&from=${encodeURIComponent(new Date(Date.parse(e.at) - 120000).toISOString())}&to=${encodeURIComponent(new Date(Date.parse(e.at) + 120000).toISOString())}&limit=50`).catch(() => ({ items: [] }))
          : { items: [] },
        api(`/api/events/${e.id}`).catch(() => ({ views: [] })),
      ]);
      if (selected !== e.id) return;
      const held = heldBadge(full.holds, 'detail-held');
      if (held) detail.querySelector('h2').after(held);
      const views = renderViews(full.views, 'detail-views');
      if (views) detail.append(el('h3', {}, 'The same moment from other cameras'), views);
      const rule = dismissals.find((r) => r.rule === e.rule);
      if (rule) detail.append(el('p', { class: 'small', id: 'rule-dismissals' }, `This rule: ${rule.dismissed} of ${rule.total} events dismissed as false positives.`));
      const others = nearby.items.filter((x) => x.camera !== e.camera && x.hasSnapshot);
      if (others.length) {
        detail.append(el('h3', {}, 'Other cameras at this site'),
          el('div', { class: 'others' }, others.slice(0, 6).map((x) => el('figure', {},
            el('img', { src: `/api/events/${x.id}/snapshot`, alt: `Redacted snapshot from ${x.camera}` }), el('figcaption', {}, `${x.camera} · ${formatTime(x.at)}`)))));
      }
    };

    const onEvent = (m) => {
      upsert(m.detail, true);
      if (selected === m.detail.id) showDetail(m.detail);
      incidentsSoon();
    };
    const onCase = () => incidentsSoon();
    const onCamera = () => camerasLater();
    if (seesEvents) {
      live.addEventListener('event', onEvent);
      live.addEventListener('case', onCase);
    }
    live.addEventListener('camera', onCamera);

    const first = [loadCameras(), loadIncidents()];
    if (seesEvents) {
      first.push(api('/api/events?limit=50').then((page) => {
        for (const e of page.items) upsert(e, false);
        if (!page.items.length) feedList.append(el('li', { class: 'empty' }, 'No events yet; new ones appear here as they happen.'));
      }));
    }
    await Promise.all(first);
    document.body.dataset.ready = 'live';

    return () => {
      gone = true;
      live.removeEventListener('event', onEvent);
      live.removeEventListener('case', onCase);
      live.removeEventListener('camera', onCamera);
      map.remove();
    };
  },
});
