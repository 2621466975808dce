// Starts the study worker's wasm. Trunk's generated loader shim passed the
// wasm's path as a bare string, which wasm-bindgen deprecates (a console
// warning in every browser); this one passes the single object it asks for.
// The name is the one `link::spawn_worker`, `boot.js` and `sw.js` use.
importScripts('./insitu-worker.js');
wasm_bindgen({ module_or_path: './insitu-worker_bg.wasm' })
  // A wasm that did not start, thrown again outside the promise: a rejected
  // promise tells no one, an uncaught error is the worker's `error` event,
  // which whoever started it (a decoder's study worker) is listening for.
  .catch((e) => setTimeout(() => { throw e; }));
