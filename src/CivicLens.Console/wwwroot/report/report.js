// The report form: a phone-sized page that works offline. A report that cannot be sent now is kept in this
// browser's IndexedDB with its idempotency key and sent when the connection is back; the key makes every retry
// land as one report. Text from the server is written with textContent only.

const MAX_PHOTOS = 3;
const MAX_PHOTO_BYTES = 15 * 1024 * 1024;
const $ = (id) => document.getElementById(id);
const state = { mode: 'public', district: null, pin: null, marker: null, map: null, photos: [] };

function key() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- the offline queue (IndexedDB) ----
// One connection for the page, opened on first use; opened again only if it failed or the browser closed it.
let connection = null;
function db() {
  connection ??= new Promise((resolve, reject) => {
    const open = indexedDB.open('civiclens-report', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('queue', { keyPath: 'key' });
    open.onsuccess = () => {
      open.result.onclose = () => { connection = null; };
      resolve(open.result);
    };
    open.onerror = () => reject(open.error);
  }).catch((e) => {
    connection = null;
    throw e;
  });
  return connection;
}

async function store(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction('queue', mode);
    const result = fn(tx.objectStore('queue'));
    tx.oncomplete = () => resolve(result.result ?? result);
    tx.onerror = () => reject(tx.error);
  });
}

const queued = () => store('readonly', (s) => s.getAll());
const enqueue = (record) => store('readwrite', (s) => s.put(record));
const dequeue = (k) => store('readwrite', (s) => s.delete(k));

// ---- sending ----
class Refused extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `The server answered ${status}.`);
    this.status = status;
    this.field = problem && problem.field;
  }
}

async function send(record) {
  const form = new FormData();
  for (const [k, v] of Object.entries(record.fields)) if (v !== null && v !== undefined && v !== '') form.append(k, v);
  record.photos.forEach((p, i) => form.append('photo', p, p.name || `photo-${i + 1}.jpg`));
  const url = record.mode === 'staff' ? '/api/reports' : '/public/reports';
  let res;
  try {
    res = await fetch(url, { method: 'POST', body: form, credentials: 'same-origin', headers: { 'Idempotency-Key': record.key, Accept: 'application/json' } });
  } catch {
    return null; // offline: keep it
  }
  if (res.status === 503 || res.status === 429 || res.status === 408 || res.status >= 500) return null; // busy: keep it, retry later
  let body = null;
  try { body = await res.json(); } catch { /* no body */ }
  if (!res.ok) throw new Refused(res.status, body);
  return body;
}

function remember(answer, category) {
  const mine = JSON.parse(localStorage.getItem('civiclens.mine') || '[]');
  mine.unshift({ url: answer.statusUrl, category, at: new Date().toISOString() });
  localStorage.setItem('civiclens.mine', JSON.stringify(mine.slice(0, 20)));
  showMine();
}

async function flush() {
  let items;
  try { items = await queued(); } catch { return; }
  const notes = [];
  let signIn = false;
  for (const record of items) {
    try {
      const answer = await send(record);
      if (!answer) break;
      await dequeue(record.key);
      remember(answer, record.categoryName);
    } catch (e) {
      if (sessionEnded(e)) {
        // A staff session that ended while the phone was offline: the report waits for the next sign-in.
        signIn = true;
        break;
      }
      await dequeue(record.key);
      notes.push(`A report saved on this phone was refused by the city: ${e.message}`);
    }
  }
  const left = (await queued()).length;
  // A refusal stays on screen until the page is left (the report is gone, so no later count would say it); the
  // wait for sign-in is said again by every try until a session takes the report.
  const keep = notes.length > 0;
  if (signIn) notes.push(signInNote(left));
  else if (left > 0) notes.push(`${left} report(s) saved on this phone; they will be sent when you are back online.`);
  if (notes.length > 0) showQueueNote(notes.join(' '), keep);
  else if (!$('queue').dataset.sticky) $('queue').hidden = true;
}

// A staff report refused because the session is gone: kept on the phone for the next sign-in, not dropped.
const sessionEnded = (e) => e.status === 401 || e.status === 403;
const signInNote = (left) => `${left} report(s) saved on this phone wait for you to sign in again: staff sign in, then open this form.`;

function showQueueNote(text, sticky = false) {
  const q = $('queue');
  q.textContent = text;
  q.hidden = false;
  if (sticky) q.dataset.sticky = '1';
}

function showMine() {
  const mine = JSON.parse(localStorage.getItem('civiclens.mine') || '[]');
  $('mine').hidden = mine.length === 0;
  const list = $('mine-list');
  list.replaceChildren(...mine.map((m) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = m.url;
    a.textContent = `${m.category} — ${new Date(m.at).toLocaleString()}`;
    li.append(a);
    return li;
  }));
}

// ---- the form ----
function setPin(lat, lon, how) {
  state.pin = { lat, lon };
  if (state.map && window.L) {
    // A drawn pin: Leaflet's default marker needs image files this form does not ship.
    if (!state.marker) state.marker = L.circleMarker([lat, lon], { radius: 9, color: '#a4262c', weight: 3, fillColor: '#f2b600', fillOpacity: 0.9 }).addTo(state.map);
    else state.marker.setLatLng([lat, lon]);
  }
  $('place').textContent = `${how}: ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

function drawMap(d) {
  if (!window.L || !$('map')) return;
  const map = L.map('map', { zoomControl: true, attributionControl: false });
  state.map = map;
  if (d.tiles) L.tileLayer(d.tiles, { maxZoom: 19 }).addTo(map);
  const ring = (pts) => pts.map(([lon, lat]) => [lat, lon]);
  const outline = d.outline.length ? L.polygon(ring(d.outline), { color: '#1f4e79', weight: 2, fill: false }).addTo(map) : null;
  for (const a of d.areas) L.polygon(ring(a.outline), { color: '#5b6670', weight: 1, fillOpacity: 0.05 }).bindTooltip(a.name).addTo(map);
  if (outline) map.fitBounds(outline.getBounds());
  else map.setView([0, 0], 2);
  map.on('click', (e) => setPin(e.latlng.lat, e.latlng.lng, 'Pin'));
}

function fillCategories(d) {
  const select = $('category');
  const list = d.categories.filter((c) => state.mode === 'staff' || c.public);
  const groups = new Map();
  for (const c of list) {
    const g = c.group || 'Other';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(c);
  }
  for (const [name, cats] of groups) {
    const og = document.createElement('optgroup');
    og.label = name;
    for (const c of cats) {
      const o = document.createElement('option');
      o.value = c.id;
      o.textContent = c.name;
      o.dataset.help = c.description || '';
      og.append(o);
    }
    select.append(og);
  }
  select.addEventListener('change', () => { $('category-help').textContent = select.selectedOptions[0]?.dataset.help || ''; });
}

function showError(text, field) {
  const e = $('error');
  e.textContent = text;
  e.hidden = false;
  const target = field === 'location' ? $('locate') : field ? $(field) : null;
  if (target) target.focus();
}

async function submit(ev) {
  ev.preventDefault();
  $('error').hidden = true;
  const category = $('category').value;
  if (!category) return showError('Choose what the problem is.', 'category');
  if (!state.pin) return showError('Say where it is: tap the map, or use your location.', 'location');
  const record = {
    key: key(),
    mode: state.mode,
    categoryName: $('category').selectedOptions[0].textContent,
    fields: {
      category,
      latitude: String(state.pin.lat),
      longitude: String(state.pin.lon),
      description: $('description').value.trim(),
      contact: state.mode === 'public' ? $('contact').value.trim() : '',
      notify: state.mode === 'public' && $('notify').checked && $('contact').value.trim() ? 'on' : '',
      website: $('website').value,
    },
    photos: state.photos.slice(0, MAX_PHOTOS),
  };
  $('send').disabled = true;
  try {
    const answer = await send(record);
    if (!answer) {
      await enqueue(record);
      showQueueNote('No connection: the report is saved on this phone and will be sent when you are back online.');
      done(null, record.categoryName);
      return;
    }
    remember(answer, record.categoryName);
    done(answer, record.categoryName);
  } catch (e) {
    if (record.mode === 'staff' && sessionEnded(e)) {
      // The staff session ended while the form was open: keep the report for the next sign-in, do not lose it.
      await enqueue(record);
      done(null, record.categoryName, true);
      showQueueNote(signInNote((await queued()).length));
      return;
    }
    showError(e.message, e.field);
  } finally {
    $('send').disabled = false;
  }
}

function done(answer, categoryName, signIn = false) {
  $('report').hidden = true;
  $('done').hidden = false;
  const link = $('status-link');
  if (answer) {
    $('done-text').textContent = `Your report (${categoryName}) has been sent to the department that deals with it.`;
    link.href = answer.statusUrl;
    link.hidden = false;
    $('warnings').replaceChildren(...(answer.warnings || []).map((w) => Object.assign(document.createElement('li'), { textContent: w })));
  } else {
    $('done-text').textContent = signIn
      ? `Your session has ended: your report (${categoryName}) is saved on this phone and is sent once you sign in again.`
      : `Your report (${categoryName}) will be sent as soon as this phone is online again.`;
    link.hidden = true;
  }
}

function reset() {
  $('report').reset();
  state.photos = [];
  state.pin = null;
  if (state.marker) { state.marker.remove(); state.marker = null; }
  $('place').textContent = 'No place chosen yet.';
  $('photos').textContent = '';
  $('done').hidden = true;
  $('report').hidden = false;
}

async function start() {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(() => {});
  let d = null;
  try {
    const res = await fetch('/public/district', { headers: { Accept: 'application/json' } });
    if (res.ok) {
      d = await res.json();
      localStorage.setItem('civiclens.district', JSON.stringify(d));
    }
  } catch { /* offline */ }
  d = d || JSON.parse(localStorage.getItem('civiclens.district') || 'null');
  if (!d) {
    $('closed').textContent = 'The form needs a connection the first time it is opened. Please try again when online.';
    $('closed').hidden = false;
    return;
  }
  state.district = d;
  try {
    const me = await fetch('/api/auth/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (me.ok) {
      const who = await me.json();
      state.mode = 'staff';
      $('who').textContent = `Signed in as ${who.name || who.userName || 'staff'}: this is a staff report.`;
    }
    localStorage.setItem('civiclens.mode', state.mode);
  } catch {
    // Offline: a patrol officer who was signed in last time stays a staff reporter; the report waits in the queue.
    if (localStorage.getItem('civiclens.mode') === 'staff') {
      state.mode = 'staff';
      $('who').textContent = 'Offline: this staff report is sent when you are back online and signed in.';
    }
  }
  if (state.mode === 'public' && !d.publicReports) {
    $('closed').textContent = 'This city takes reports from its staff only. ';
    const a = Object.assign(document.createElement('a'), { href: '/console/', textContent: 'Staff sign in' });
    $('closed').append(a);
    $('closed').hidden = false;
    return;
  }
  $('contact-box').hidden = state.mode === 'staff';
  fillCategories(d);
  $('report').hidden = false;
  drawMap(d);
  $('report').addEventListener('submit', submit);
  $('another').addEventListener('click', reset);
  $('locate').addEventListener('click', () => {
    if (!navigator.geolocation) return showError('This browser cannot share its location; tap the map instead.', 'location');
    $('place').textContent = 'Finding your location…';
    navigator.geolocation.getCurrentPosition(
      (p) => { setPin(p.coords.latitude, p.coords.longitude, 'Your location'); state.map?.setView([p.coords.latitude, p.coords.longitude], 17); },
      () => showError('Your location could not be found; tap the map instead.', 'location'),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
  $('photo').addEventListener('change', () => {
    const files = Array.from($('photo').files || []);
    const tooBig = files.find((f) => f.size > MAX_PHOTO_BYTES);
    if (tooBig) { showError(`${tooBig.name} is larger than 15 MB; choose a smaller photo.`, 'photo'); $('photo').value = ''; return; }
    if (files.length > MAX_PHOTOS) showError(`Only the first ${MAX_PHOTOS} photos are sent.`, 'photo');
    state.photos = files.slice(0, MAX_PHOTOS);
    $('photos').textContent = state.photos.map((f) => `${f.name} (${Math.round(f.size / 1024)} KB)`).join(', ');
  });
  showMine();
  window.addEventListener('online', flush);
  // A busy server (503, 429) does not fire "online": try again every minute while something waits.
  setInterval(() => { if (navigator.onLine) flush(); }, 60000);
  flush();
}

start();
