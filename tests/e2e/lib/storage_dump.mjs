// Everything an origin persisted, searched in the page for given strings as
// UTF-8 and as UTF-16LE bytes: every IndexedDB database (keys and values:
// strings, typed arrays and Blobs alike), every file and folder of the origin
// private file system (names and bytes), localStorage, sessionStorage and
// Cache Storage (request URLs and response bodies).

/** Returns { bytes, hits: [{ probe, encoding, where }], inventory }. */
export async function searchStorage(page, probes) {
  return page.evaluate(async (probes) => {
    const patterns = [];
    for (const probe of probes) {
      patterns.push({ probe, encoding: 'utf-8', bytes: new TextEncoder().encode(probe) });
      const utf16 = new Uint8Array(probe.length * 2);
      for (let i = 0; i < probe.length; i++) {
        utf16[2 * i] = probe.charCodeAt(i) & 0xff;
        utf16[2 * i + 1] = probe.charCodeAt(i) >> 8;
      }
      patterns.push({ probe, encoding: 'utf-16le', bytes: utf16 });
    }
    const hits = [];
    const inventory = {};
    let total = 0;
    const search = (bytes, where) => {
      total += bytes.length;
      for (const p of patterns) {
        let at = bytes.indexOf(p.bytes[0]);
        while (at !== -1 && at + p.bytes.length <= bytes.length) {
          let same = true;
          for (let i = 1; i < p.bytes.length && same; i++) same = bytes[at + i] === p.bytes[i];
          if (same) {
            hits.push({ probe: p.probe, encoding: p.encoding, where });
            break;
          }
          at = bytes.indexOf(p.bytes[0], at + 1);
        }
      }
    };
    const text = (s, where) => {
      search(new TextEncoder().encode(s), where);
      const utf16 = new Uint8Array(s.length * 2);
      for (let i = 0; i < s.length; i++) {
        utf16[2 * i] = s.charCodeAt(i) & 0xff;
        utf16[2 * i + 1] = s.charCodeAt(i) >> 8;
      }
      search(utf16, where);
    };
    const walk = async (value, where) => {
      if (value == null) return;
      if (typeof value === 'string') return text(value, where);
      if (typeof value === 'number' || typeof value === 'boolean') return text(String(value), where);
      if (value instanceof ArrayBuffer) return search(new Uint8Array(value), where);
      if (ArrayBuffer.isView(value)) return search(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), where);
      if (value instanceof Blob) return search(new Uint8Array(await value.arrayBuffer()), where);
      for (const [k, v] of Object.entries(value)) {
        text(k, where);
        await walk(v, `${where}.${k}`);
      }
    };
    const request = (r) => new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    for (const { name } of await indexedDB.databases()) {
      const db = await request(indexedDB.open(name));
      for (const storeName of db.objectStoreNames) {
        const tx = db.transaction(storeName, 'readonly');
        const store = tx.objectStore(storeName);
        const keys = await request(store.getAllKeys());
        const values = await request(store.getAll());
        inventory[`indexeddb:${name}/${storeName}`] = keys.length;
        for (const [i, k] of keys.entries()) {
          await walk(k, `indexeddb:${name}/${storeName} key`);
          await walk(values[i], `indexeddb:${name}/${storeName}[${k}]`);
        }
      }
      db.close();
    }
    // The origin private file system, every folder down: `opfs:<folder>`
    // counts the files in it.
    const files = async (folder, where) => {
      inventory[where] = 0;
      for await (const [name, handle] of folder.entries()) {
        text(name, `${where} name`);
        if (handle.kind === 'directory') {
          await files(handle, `${where}${name}/`);
        } else {
          inventory[where] += 1;
          search(new Uint8Array(await (await handle.getFile()).arrayBuffer()), `${where}${name}`);
        }
      }
    };
    await files(await navigator.storage.getDirectory(), 'opfs:/');
    for (const [label, storage] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
      inventory[label] = storage.length;
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i);
        text(key, label);
        text(storage.getItem(key), `${label}[${key}]`);
      }
    }
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      const requests = await cache.keys();
      inventory[`cache:${name}`] = requests.length;
      for (const req of requests) {
        text(req.url, `cache:${name}`);
        const body = await (await cache.match(req)).arrayBuffer();
        search(new Uint8Array(body), `cache:${name} ${req.url}`);
      }
    }
    return { bytes: total, hits, inventory };
  }, probes);
}
