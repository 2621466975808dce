// Starts the study worker as the page begins to load, before the page's own
// wasm is fetched and compiled: the worker's 9 MB of wasm then compiles
// beside the page's instead of after it, so a folder dropped (or a Recent
// entry clicked) soon after a reload is not held until the worker is up.
// Only for the plain address with the cache on: any other setting names
// the worker differently, and the page (`link::spawn_worker`, the one home
// of the worker's name) starts its own. The page takes this worker over
// when the name it would give matches; replies that came first wait here.
(function () {
  let keepNothing = true;
  try {
    keepNothing = localStorage.getItem('insitu.keep-nothing') === '1';
  } catch (_) {
    // No storage to read: the page decides.
  }
  if (location.search !== '' || keepNothing) return;
  const name = 'insitu-study';
  const worker = new Worker('./insitu-worker_loader.js', { name });
  const replies = [];
  const errors = [];
  worker.onmessage = (event) => replies.push(event.data);
  // A worker whose wasm did not start fails before the page listens: kept
  // for the page to say.
  worker.onerror = (event) => {
    event.preventDefault();
    errors.push(event.message || event.type);
  };
  self.insituEarlyWorker = { worker, name, replies, errors };
})();
