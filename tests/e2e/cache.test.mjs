// The cache of derived data in a real headless Chromium: a series whose
// headers carry distinctive identifiers is loaded and meshed, then every
// byte the origin persisted is searched for them (zero hits); the same
// folder again is known by its files' stamp, opened from the cache and
// then checked against its files, segments and surface kept, its first
// views shown from the cache while its voxels are read back; files
// changed in place behind an unchanged stamp are read from the files; a
// damaged entry is caught and rebuilt; a
// full quota is said and leaves nothing half-written; an older tab holding
// the database open does not stop a load; with "keep nothing on this
// computer" IndexedDB holds nothing of the study.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { ARTIFACTS, clickViewAt, openApp as openAppOn } from './lib/browser.mjs';
import { searchStorage } from './lib/storage_dump.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = process.env.INSITU_FIXTURES ?? path.resolve(HERE, '../../../shared/fixtures');
const PYTHON = process.env.INSITU_PYTHON ?? 'python3';
// A compressed series: read back from the cache rather than decoded again.
const RLE_SERIES = path.join(process.env.INSITU_PHANTOMS ?? '', 'rle');

let server;
let probeDir;
let probes;
before(async () => {
  server = await startServer(process.env.INSITU_DIST ?? 'dist');
  probeDir = await mkdtemp(path.join(os.tmpdir(), 'insitu-probe-'));
  probes = execFileSync(PYTHON, [path.join(HERE, 'lib/privacy_probe.py'), path.join(FIXTURES, 'ct-ge-head-tilt'), probeDir], { encoding: 'utf8' })
    .trim()
    .split('\n');
});
after(async () => {
  server?.close();
  if (probeDir) await rm(probeDir, { recursive: true, force: true });
});

const openApp = (options = {}) => openAppOn(server, { webgpu: false, ...options });

async function openFolder(page, dir) {
  await page.getByTestId('open-folder').setInputFiles(dir);
  // The state as it was when it settled, read in the same task: a study
  // shown from the cache whose files then prove changed goes back to
  // loading at once (on a small series, before a second look from here
  // would see `ready`).
  const settled = await page.waitForFunction(() => {
    const status = document.querySelector('[data-testid="load-status"]');
    const state = status?.getAttribute('data-state');
    return (state === 'ready' || state === 'error') && { state, text: status.textContent };
  }, null, { timeout: 120_000 });
  const { state, text } = await settled.jsonValue();
  assert.equal(state, 'ready', text);
  return page.getByTestId('load-status');
}

/** The axial view's plane height (mm): where a click on it lands. */
async function axialZ(page) {
  return JSON.parse(await page.getByTestId('view-axial').getAttribute('data-plane')).centre[2];
}

async function waitCached(page) {
  await page.waitForSelector('[data-testid="load-status"][data-cache="stored"]', { timeout: 60_000 });
}

test('nothing that identifies the patient is persisted; the study reopens from the cache', async () => {
  const { browser, page, errors, network } = await openApp();
  try {
    const status = await openFolder(page, probeDir);
    // Decoded (a miss), then written (stored) while the user looks at it.
    assert.match(await status.getAttribute('data-cache'), /^(miss|stored)$/);
    assert.doesNotMatch(await status.textContent(), /from the cache/);
    await waitCached(page);
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 120_000 });
    // The identifiers really were read (into memory, for the tag browser).
    await page.getByTestId('tag-browser').locator('summary').click();
    assert.match(await page.getByTestId('tag-rows').textContent(), /ZZPRIVACY\^PROBE/);

    // A segment the user names after the patient: the name lives in memory
    // (and the user's own exports); the cache keeps the segment's number.
    await page.getByTestId('segment-add').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="segment-list"] li').length === 1);
    await page.getByTestId('tool-threshold').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="segment-list"] li').dataset.voxels) > 0);
    const row = page.getByTestId('segment-list').locator('li').first();
    await row.locator('input[type=text]').fill(probes.find((p) => p.includes('^')) ?? probes[0]);
    await row.locator('input[type=text]').press('Enter');
    // Hidden and shown again: the segments written again after the rename
    // (writes waiting together are one write, of the latest state).
    const kept = Number((await page.getByTestId('segment-list').getAttribute('data-kept')) ?? 0);
    await page.getByTestId('segment-list').locator('li').first().locator('input[type=checkbox]').uncheck();
    await page.getByTestId('segment-list').locator('li').first().locator('input[type=checkbox]').check();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="segment-list"]').dataset.kept ?? 0) >= n + 1, kept, { timeout: 120_000 });
    // A measurement (kept with the volume: numbers only) and the spine
    // analysis (its vertebrae kept as segments) before the search.
    await page.getByTestId('measure-distance').click();
    await clickViewAt(page, 'view-axial', [0, 0, await axialZ(page)]);
    await clickViewAt(page, 'view-axial', [20, 0, await axialZ(page)]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="measure-list"] li').length === 1);
    await page.getByTestId('measure-distance').click();
    const keptBeforeSpine = Number((await page.getByTestId('segment-list').getAttribute('data-kept')) ?? 0);
    await page.getByTestId('spine-run').click();
    await page.waitForSelector('[data-testid="spine-info"][data-state="ready"], [data-testid="spine-info"][data-state="error"]', { timeout: 120_000 });
    console.log(`spine on the probe study: ${await page.getByTestId('spine-info').textContent()}`);
    if (await page.getByTestId('spine-info').getAttribute('data-state') === 'ready') {
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid="segment-list"]').dataset.kept ?? 0) > n, keptBeforeSpine, { timeout: 120_000 });
    }

    const dump = await searchStorage(page, probes);
    console.log(`persisted: ${(dump.bytes / 1e6).toFixed(1)} MB searched; ${JSON.stringify(dump.inventory)}`);
    assert.ok(dump.bytes > 10e6, 'the volume is in the dump');
    assert.ok(dump.inventory['indexeddb:insitu-cache/volumes'] >= 1);
    assert.ok(dump.inventory['opfs:/insitu-cache-voxels/'] >= 1, 'the voxels are in the private files');
    assert.ok(dump.inventory['indexeddb:insitu-cache/meshes'] >= 1, 'the surface is cached');
    assert.ok(dump.inventory['indexeddb:insitu-cache/segments'] >= 1, 'the segments are cached');
    assert.deepEqual(dump.hits, [], 'identifiers found in storage');

    // The same folder again: known by its files' stamp (names, sizes,
    // times, a few headers) before any file is read, opened from the
    // cache, then every file read and checked against it; the series'
    // title and its tags come back from the files.
    const again = await openFolder(page, probeDir);
    console.log(`reopened: ${await again.textContent()}`);
    assert.equal(await again.getAttribute('data-cache'), 'hit');
    assert.match(await again.textContent(), /from the cache on this computer/);
    await page.waitForSelector('[data-testid="load-status"][data-checked="same"]', { timeout: 60_000 });
    assert.match(await page.getByTestId('volume-info').textContent(), /512 × 512 × 28 voxels/);
    assert.doesNotMatch(await page.getByTestId('volume-info').textContent(), /^Cached/);
    assert.equal(await page.getByTestId('series-list').locator('li[aria-selected="true"]').count(), 1);
    await page.waitForFunction(() => /ZZPRIVACY/.test(document.querySelector('[data-testid="tag-rows"]').textContent));
    assert.equal(await page.getByTestId('cache-entries').locator('li').count(), 1);
    // Its bone surface comes back too, without marching cubes.
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"][data-engine="cache"]', { timeout: 60_000 });
    console.log(`surface: ${await page.getByTestId('mesh-info').textContent()}`);

    // The Recent list opens it with no files at all, surface included.
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    await page.getByTestId('cache-entries').locator('[data-testid="cache-open"]').first().waitFor();
    await page.getByTestId('cache-entries').locator('[data-testid="cache-open"]').first().click();
    await page.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 60_000 });
    console.log(`from the Recent list: ${await page.getByTestId('load-status').textContent()}`);
    assert.match(await page.getByTestId('volume-info').textContent(), /512 × 512 × 28 voxels/);
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"][data-engine="cache"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="view-3d"][data-rendered="surface"]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'cache-reopened.png') });
    // Deleting the entry removes the volume, its voxel file and its surfaces.
    await page.getByTestId('cache-entries').locator('[data-testid="cache-delete"]').first().click();
    await page.waitForFunction(() => document.querySelector('[data-testid="cache-entries"]').dataset.count === '0');
    const emptied = await searchStorage(page, []);
    for (const store of ['volumes', 'voxel_chunks', 'meshes', 'segments']) {
      assert.equal(emptied.inventory[`indexeddb:insitu-cache/${store}`], 0, store);
    }
    assert.equal(emptied.inventory['opfs:/insitu-cache-voxels/'], 0, 'voxel files');
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
  }
});

test('files changed in place, names, sizes and times kept: shown from the cache, then read from the files', async () => {
  // The stamp (the folder's count and its first files' names, sizes,
  // times and sampled headers) cannot see a change that keeps them: the
  // check of every file after the volume is shown must, and the files win.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'insitu-changed-'));
  await cp(path.join(FIXTURES, 'ct-ge-head-tilt'), dir, { recursive: true });
  const { browser, page, errors, network } = await openApp();
  try {
    await openFolder(page, dir);
    await waitCached(page);
    const first = await page.getByTestId('volume-info').textContent();
    // A file past the first 16 the stamp is made of: 1,000 pixel bytes
    // changed, its time put back.
    const names = (await readdir(dir)).sort();
    const victim = path.join(dir, names[20]);
    const { atime, mtimeMs, size } = await stat(victim);
    const bytes = await readFile(victim);
    for (let i = bytes.length - 100_000; i < bytes.length - 99_000; i++) bytes[i] ^= 0x21;
    await writeFile(victim, bytes);
    // In seconds, to the microsecond: a Date would round it to the
    // millisecond, which can be the next one.
    await utimes(victim, atime, mtimeMs / 1000);
    assert.equal(Math.floor((await stat(victim)).mtimeMs), Math.floor(mtimeMs), 'time kept');
    assert.equal((await stat(victim)).size, size);

    // Every cache state the status shows, in order: on a small series the
    // check can end, and the files' own load with it, before `ready` is
    // seen here (one CI run saw "changed" first), so the states are
    // recorded as they come, not sampled after.
    await page.evaluate(() => {
      window.cacheStates = [];
      new MutationObserver(() => {
        const state = document.querySelector('[data-testid="load-status"]')?.getAttribute('data-cache');
        if (state && window.cacheStates.at(-1) !== state) window.cacheStates.push(state);
      }).observe(document.body, { attributes: true, subtree: true, attributeFilter: ['data-cache'] });
    });
    const status = await openFolder(page, dir);
    console.log(`changed, at first: ${await status.textContent()}`);
    // (Its data-cache says "changed" only until the new volume is cached.)
    await page.waitForFunction(() => /differ from their cached copy/.test(document.querySelector('[data-testid="load-status"]').textContent), null, { timeout: 60_000 });
    console.log(`changed, after the check: ${await status.textContent()}`);
    const states = await page.evaluate(() => window.cacheStates);
    console.log(`cache states: ${states.join(' → ')}`);
    const [hit, changedAt] = [states.indexOf('hit'), states.indexOf('changed')];
    assert.ok(hit >= 0 && hit < changedAt, `known by its stamp at first, then changed: ${states}`);
    assert.match(await status.getAttribute('data-cache'), /^(changed|stored)$/);
    const changed = await page.getByTestId('volume-info').textContent();
    assert.doesNotMatch(changed, /^Cached/);
    assert.match(changed, / × 28 voxels/);
    // Cached again under its new content, stamp and all: the next drop is
    // found by it, and checked the same.
    await waitCached(page);
    const third = await openFolder(page, dir);
    assert.equal(await third.getAttribute('data-cache'), 'hit');
    await page.waitForSelector('[data-testid="load-status"][data-checked="same"]', { timeout: 60_000 });
    assert.equal(await page.getByTestId('volume-info').textContent(), changed);
    assert.match(first, / × 28 voxels/);
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a folder dropped again after a reload shows its first views from the cache while its voxels are read back', async () => {
  // The first views drawn of a volume are kept with it; a folder known by
  // its stamp shows them before the voxels are read (157 MB take 0.1–0.3
  // s; these few MB milliseconds), and the volume's own views replace
  // them. They are the first load's views, pixel for pixel, but for the
  // crosshair and letters the page draws over its views.
  const { browser, page, errors, network } = await openApp();
  const views = () => ['axial', 'coronal', 'sagittal'].map((axis) => document.querySelector(`[data-testid="view-${axis}"]`).toDataURL('image/png'));
  try {
    const dir = path.join(FIXTURES, 'ct-ge-head-tilt');
    await openFolder(page, dir);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="slice-engine"]').dataset.drawn ?? 0) === 3);
    const first = await page.evaluate(views);
    await waitCached(page);
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    await page.evaluate(() => {
      const views = () => ['axial', 'coronal', 'sagittal'].map((axis) => document.querySelector(`[data-testid="view-${axis}"]`).toDataURL('image/png'));
      const seen = (window.__opening = { states: [] });
      const status = document.querySelector('[data-testid="load-status"]');
      // Mutation callbacks run in the task that drew: the canvases hold
      // what was just put on them.
      new MutationObserver((records) => {
        for (const r of records) {
          if (r.attributeName === 'data-opening' && !seen.shown) {
            seen.shown = views();
            seen.states.push(`opening views (status ${status.dataset.state})`);
          }
          if (r.attributeName === 'data-state' && r.target === status) seen.states.push(status.dataset.state);
        }
      }).observe(document.body, { attributes: true, subtree: true });
    });
    const again = await openFolder(page, dir);
    assert.equal(await again.getAttribute('data-cache'), 'hit');
    const seen = await page.evaluate(() => window.__opening);
    assert.ok(seen.shown, `no opening views shown: ${seen.states}`);
    const shownAt = seen.states.findIndex((s) => s.startsWith('opening views'));
    assert.equal(seen.states[shownAt], 'opening views (status loading)', `shown while loading: ${seen.states}`);
    assert.ok(shownAt < seen.states.indexOf('ready'), `shown before the volume is ready: ${seen.states}`);
    const compared = await page.evaluate(async ([first, shown]) => {
      const pixels = async (url) => {
        const image = new Image();
        image.src = url;
        await image.decode();
        const c = new OffscreenCanvas(image.width, image.height);
        const ctx = c.getContext('2d');
        ctx.drawImage(image, 0, 0);
        return { w: image.width, h: image.height, data: ctx.getImageData(0, 0, image.width, image.height).data };
      };
      const out = [];
      for (let i = 0; i < 3; i++) {
        const [a, b] = [await pixels(first[i]), await pixels(shown[i])];
        if (a.w !== b.w || a.h !== b.h) {
          out.push({ size: [a.w, a.h, b.w, b.h] });
          continue;
        }
        let differ = 0;
        let lit = 0;
        for (let p = 0; p < a.data.length; p += 4) {
          if (a.data[p] !== b.data[p] || a.data[p + 1] !== b.data[p + 1] || a.data[p + 2] !== b.data[p + 2]) differ++;
          if (b.data[p] > 40) lit++;
        }
        out.push({ differ: differ / (a.w * a.h), lit: lit / (a.w * a.h) });
      }
      return out;
    }, [first, seen.shown]);
    console.log(`opening views against the first load's: ${JSON.stringify(compared)}; ${seen.states.join(' → ')}`);
    for (const [axis, v] of ['axial', 'coronal', 'sagittal'].map((axis, i) => [axis, compared[i]])) {
      assert.equal(v.size, undefined, `${axis}: sizes ${v.size}`);
      assert.ok(v.lit > 0.05, `${axis}: the opening view shows the head (${v.lit})`);
      assert.ok(v.differ > 0 && v.differ < 0.05, `${axis}: the first load's view but for what is drawn over it (${v.differ})`);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
  }
});

test('a request during the volume\'s cache write goes first; the write goes on after and reopens whole', async () => {
  // The write runs once the worker is idle, 16 MB a step; it stops between
  // steps when a request comes. Each step is held 400 ms here, so the
  // 512x512x300 phantom's write (ten chunks, then its record) lasts over
  // four seconds: a scroll during it was drawn only once the write was
  // done (5 s on the 2,500-slice series).
  const phantoms = process.env.INSITU_PHANTOMS;
  assert.ok(phantoms, 'INSITU_PHANTOMS unset: run through `cargo xtask test`');
  const { browser, page, errors, network } = await openApp({ query: '?cache-step-ms=400' });
  try {
    const writes = [];
    page.on('console', (m) => { if (m.text().includes('volume cached')) writes.push(m.text()); });
    await openFolder(page, path.join(phantoms, 'spine-512'));
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 120_000 });
    // Idle: the write starts 150 ms after the last request and is under way.
    await page.waitForTimeout(1200);
    assert.notEqual(await page.getByTestId('load-status').getAttribute('data-cache'), 'stored', 'the write ended too soon to test');
    await page.evaluate(() => {
      window.__drawn = null;
      new MutationObserver(() => { window.__drawn ??= performance.now(); })
        .observe(document.querySelector('[data-testid="slice-engine"]'), { attributeFilter: ['data-drawn'] });
    });
    await page.getByTestId('view-axial').hover();
    const scrolled = await page.evaluate(() => performance.now());
    await page.mouse.wheel(0, 120);
    await page.waitForFunction(() => window.__drawn, null, { timeout: 60_000, polling: 10 });
    const drawnMs = (await page.evaluate(() => window.__drawn)) - scrolled;
    const cacheThen = await page.getByTestId('load-status').getAttribute('data-cache');
    await waitCached(page);
    console.log(`scroll during the cache write (cache ${cacheThen}) drawn in ${drawnMs.toFixed(0)} ms; ${writes.join(' | ')}`);
    assert.notEqual(cacheThen, 'stored', 'the write was over before the scroll was drawn');
    assert.ok(drawnMs < 1000, `the scroll waited ${drawnMs.toFixed(0)} ms for the write`);
    assert.match(writes.join('\n'), /stops for requests: [1-9]/);
    // Written in two goes, it is whole: the Recent list opens it, every
    // chunk's checksum checked.
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    await page.getByTestId('cache-entries').locator('[data-testid="cache-open"]').first().click();
    await page.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 60_000 });
    assert.match(await page.getByTestId('volume-info').textContent(), /512 × 512 × 300 voxels/);
    assert.equal(await page.getByTestId('load-status').getAttribute('data-cache'), 'hit');
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
  }
});

test('a damaged cache entry is caught, dropped and rebuilt', async () => {
  const { browser, page } = await openApp();
  try {
    await openFolder(page, RLE_SERIES);
    await waitCached(page);
    // Flip a byte in the stored voxels (the volume's file in the origin
    // private file system).
    const damaged = await page.evaluate(async () => {
      const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle('insitu-cache-voxels');
      const [[name, handle]] = await Array.fromAsync(folder.entries());
      const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
      bytes[1000] ^= 0xff;
      const writable = await handle.createWritable();
      await writable.write(bytes);
      await writable.close();
      return name;
    });
    console.log(`damaged ${damaged}`);
    const status = await openFolder(page, RLE_SERIES);
    const text = await status.textContent();
    console.log(`after damage: ${text}`);
    assert.match(text, /damaged, so it was decoded again/);
    await waitCached(page);
    const again = await openFolder(page, RLE_SERIES);
    assert.equal(await again.getAttribute('data-cache'), 'hit', 'rebuilt entry is used');
  } finally {
    await browser.close();
  }
});

test('a damaged entry opened from the Recent list: its opening views shown, then taken back with the failure said', async () => {
  // The Recent list shows a volume's opening views before its voxels are
  // read and checked; voxels that fail the check leave no picture of a
  // study that did not open.
  const { browser, page } = await openApp();
  try {
    await openFolder(page, RLE_SERIES);
    await waitCached(page);
    await page.evaluate(async () => {
      const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle('insitu-cache-voxels');
      const [[, handle]] = await Array.fromAsync(folder.entries());
      const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
      bytes[1000] ^= 0xff;
      const writable = await handle.createWritable();
      await writable.write(bytes);
      await writable.close();
    });
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    await page.evaluate(() => {
      const seen = (window.__opening = {});
      new MutationObserver((records) => {
        if (records.some((r) => r.attributeName === 'data-opening')) seen.shown = true;
      }).observe(document.body, { attributes: true, subtree: true });
    });
    await page.getByTestId('cache-entries').locator('[data-testid="cache-open"]').first().click();
    await page.waitForSelector('[data-testid="load-status"][data-state="error"]', { timeout: 60_000 });
    const text = await page.getByTestId('load-status').textContent();
    console.log(`damaged, from the Recent list: ${text}`);
    assert.match(text, /damaged and has been removed/);
    assert.equal(await page.evaluate(() => window.__opening.shown), true, 'the opening views were shown first');
    const lit = await page.evaluate(() => ['axial', 'coronal', 'sagittal'].map((axis) => {
      const c = document.querySelector(`[data-testid="view-${axis}"]`);
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let p = 3; p < data.length; p += 4) if (data[p] !== 0) n++;
      return n;
    }));
    assert.deepEqual(lit, [0, 0, 0], 'no picture of the study that did not open');
  } finally {
    await browser.close();
  }
});

test('a full storage quota: a clear message, nothing half-written, the app works on', async () => {
  // The origin's quota cut to 4 MB before the app opens its database
  // (DevTools; writes then fail with QuotaExceededError, although
  // estimate() keeps its usual figure).
  const beforeLoad = async (page) => {
    // On the app's origin first: an override sent from about:blank is lost.
    await page.goto(`${server.url}manifest.webmanifest`);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: 4 * 2 ** 20 });
  };
  const { browser, page, errors } = await openApp({ beforeLoad });
  try {
    const status = await openFolder(page, path.join(FIXTURES, 'ct-ge-head-tilt'));
    await page.waitForSelector('[data-testid="load-status"][data-cache="failed"]', { timeout: 60_000 });
    const usage = await page.getByTestId('cache-usage').textContent();
    console.log(`quota full: ${usage}`);
    assert.match(usage, /storage for this app is full; working without the cache/);
    // The half-written entry was removed: no record, no chunk, no file.
    const dump = await searchStorage(page, []);
    for (const store of ['volumes', 'voxel_chunks']) {
      assert.equal(dump.inventory[`indexeddb:insitu-cache/${store}`], 0, store);
    }
    assert.equal(dump.inventory['opfs:/insitu-cache-voxels/'] ?? 0, 0, 'voxel files');
    // The study is still open and works: its views, and a surface.
    assert.equal(await status.getAttribute('data-state'), 'ready');
    assert.match(await page.getByTestId('volume-info').textContent(), /512 × 512 × 28 voxels/);
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 120_000 });
    assert.match(await page.getByTestId('mesh-info').textContent(), /^\d+ triangles/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('an older tab holding the cache open: the study loads without it and says why; closing that tab brings the cache back', async () => {
  let older;
  // Another tab of an older insitu (schema 2) with the database open, as
  // after an update: this version's upgrade waits for it.
  const beforeLoad = async (page) => {
    older = await page.context().newPage();
    await older.goto(`${server.url}manifest.webmanifest`);
    await older.evaluate(() => new Promise((resolve, reject) => {
      const r = indexedDB.open('insitu-cache', 2);
      r.onupgradeneeded = () => { for (const s of ['volumes', 'voxel_chunks', 'meshes']) r.result.createObjectStore(s); };
      r.onsuccess = () => { window.__held = r.result; resolve(); };
      r.onerror = () => reject(r.error);
    }));
  };
  const { browser, page, errors } = await openApp({ beforeLoad });
  try {
    await page.bringToFront();
    const status = await openFolder(page, path.join(FIXTURES, 'ct-ge-head-tilt'));
    const text = await status.textContent();
    console.log(`older tab open: ${text}`);
    assert.equal(await status.getAttribute('data-cache'), 'unavailable');
    assert.match(text, /no cache: .*another insitu tab holds an older version of the cache open/);
    assert.match(await page.getByTestId('cache-entries').textContent(), /Cache unavailable: .*another insitu tab/);
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 120_000 });
    // The older tab is closed: the next drop upgrades the database and caches.
    await older.close();
    await openFolder(page, path.join(FIXTURES, 'ct-ge-head-tilt'));
    await waitCached(page);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('keep nothing on this computer: IndexedDB and the private files hold nothing of the study', async () => {
  const { browser, page } = await openApp();
  try {
    await page.getByTestId('keep-nothing').check();
    const status = await openFolder(page, probeDir);
    assert.equal(await status.getAttribute('data-cache'), 'off');
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 120_000 });
    const dump = await searchStorage(page, probes);
    console.log(`keep nothing: ${JSON.stringify(dump.inventory)}`);
    for (const [where, count] of Object.entries(dump.inventory)) {
      if (where.startsWith('indexeddb:') || where.startsWith('opfs:')) assert.equal(count, 0, where);
    }
    assert.deepEqual(dump.hits, []);
    // The setting itself lives in localStorage, and survives a reload.
    await page.reload();
    await page.waitForSelector('html[data-app="running"]');
    assert.equal(await page.getByTestId('keep-nothing').isChecked(), true);
  } finally {
    await browser.close();
  }
});

test('the privacy panel says what is stored where, from the real schema', async () => {
  const { browser, page, errors } = await openApp();
  try {
    await page.getByTestId('privacy-panel').locator('summary').click();
    const rows = page.getByTestId('privacy-rows').locator('tr');
    assert.ok(await rows.count() >= 5);
    const privacy = await page.getByTestId('privacy-rows').textContent();
    for (const word of ['DICOM files', 'memory only', 'IndexedDB', 'localStorage', 'nowhere']) {
      assert.ok(privacy.includes(word), privacy);
    }
    assert.match(await page.getByTestId('cache-usage').textContent(), /MB used of/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
