// insitu's service worker: keeps the app shell (page, scripts, wasm, styles,
// icon, manifest) so the app starts with no network after one visit, as an
// air-gapped machine needs. It handles only GET requests for the app's own
// files; DICOM files never pass through it (the page reads them from disk and
// nothing is ever uploaded). `cargo xtask build-web` stamps the build id, so
// each build gets its own cache and the previous one is deleted.
const CACHE = 'insitu-shell-INSITU_BUILD_ID';
const SHELL = [
  './',
  './index.html',
  './style.css',
  './icon.svg',
  './manifest.webmanifest',
  './boot.js',
  './insitu-web.js',
  './insitu-web_bg.wasm',
  './insitu-worker_loader.js',
  './insitu-worker.js',
  './insitu-worker_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith('insitu-shell-') && key !== CACHE).map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

// Network first, so a served update is used at once; the cached shell when
// the network is gone.
self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && response.type === 'basic') {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request, { ignoreSearch: true })
        .then((cached) => cached ?? Response.error())),
  );
});
