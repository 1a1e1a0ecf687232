// The report form's service worker: keeps the form's own files so it opens without a connection. Reports
// themselves wait in IndexedDB (report.js) and are sent by the page when the phone is back online; nothing
// from the API is ever cached here.
const CACHE = 'civiclens-report-v1';
const SHELL = ['./', 'index.html', 'report.js', 'report.css', 'manifest.webmanifest', 'icon.svg', '../lib/leaflet.js', '../lib/leaflet.css'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  const shell = url.pathname.startsWith(new URL('./', location).pathname) || url.pathname.includes('/console/lib/');
  if (!shell) return;
  // Network first, so an upgrade is seen at once; the cached copy only when offline.
  event.respondWith(fetch(event.request).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(event.request, copy));
    }
    return res;
  }).catch(() => caches.match(event.request, { ignoreSearch: true })));
});
