// Browser benchmark (run by `cargo xtask bench`, not a test): time from
// files chosen to `ready` for the 512²×300 phantom series, and a 300 HU
// surface on the CPU and on the GPU (WebGPU), printed beside the native CLI's
// numbers measured in the same run, and beside the in-browser peers
// (dicom-parser, itk-wasm, dcm2niix, vtk.js: `peers/`) in the same Chromium
// on the same files. Wall times are printed, never asserted.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { clickViewAt, dropOnWorkspace, launch, launchProfile, studyWorker } from '../lib/browser.mjs';
import { total, watchBrowserMemory } from '../lib/processes.mjs';
import { timeSpineAnswer } from '../lib/spine.mjs';

const series = process.env.INSITU_BENCH_SERIES;
const j2kSeries = process.env.INSITU_BENCH_SERIES_J2K;
const cli = process.env.INSITU_CLI;
if (!series || !cli) throw new Error('run through `cargo xtask bench` (INSITU_BENCH_SERIES, INSITU_CLI)');
const GPU_LIMIT_MS = Number(process.env.INSITU_BENCH_GPU_LIMIT_MS ?? 300_000);
// `cache` runs the cache rows alone (while working on them).
const ONLY = process.env.INSITU_BENCH_ONLY ?? '';

// Native, same run: the CLI loads the series and meshes it on the CPU.
const tmp = await mkdtemp(path.join(os.tmpdir(), 'insitu-bench-'));
const native = execFileSync(cli, ['mesh', series, '--iso', '300', '--cpu', '-o', path.join(tmp, 'n.stl')], { encoding: 'utf8' });
const nativeLoad = Number(/load ([\d.]+) s/.exec(native)[1]) * 1000;
const nativeExtract = Number(/extract ([\d.]+) s/.exec(native)[1]) * 1000;
const nativeTriangles = Number(/(\d+) triangles/.exec(native)[1]);
await rm(tmp, { recursive: true, force: true });

const server = await startServer(process.env.INSITU_DIST ?? 'dist');
const browser = await launch({ webgpu: true });
try {
rows: {
  /**
   * A fresh page (empty IndexedDB) with the app started, CPU meshing; in
   * `context` when given (closing the page's context closes it).
   */
  async function freshPage(query = '', context = undefined) {
    const page = await (context ?? await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    // The worker's phase timings ("insitu timings: …"), printed with the rows.
    page.timings = [];
    page.on('console', (m) => { if (m.text().startsWith('insitu timings:')) page.timings.push(m.text().slice(15)); });
    await page.goto(server.url + query);
    await page.waitForSelector('html[data-app="running"]', { timeout: 120_000 });
    await page.getByTestId('opt-engine').selectOption('cpu');
    return page;
  }

  /** Runs `body` on a fresh page of a browser profile kept on disk (as a
   * user's is; an incognito-like one keeps storage in memory), then
   * closes the browser and removes the profile. */
  async function onDiskProfile(body) {
    const profile = await mkdtemp(path.join(os.tmpdir(), 'insitu-profile-'));
    const fresh = await freshPage('', await launchProfile(profile, { webgpu: true, viewport: { width: 1280, height: 800 } }));
    try {
      return await body(fresh);
    } finally {
      await fresh.context().close();
      await rm(profile, { recursive: true, force: true });
    }
  }

  /** Milliseconds from the folder chosen (its change event) to `ready`. */
  async function timeOpenFolder(page, dir) {
    return (await timeOpenFolderToViews(page, dir)).ready;
  }

  /**
   * Milliseconds from the folder chosen (its change event) to `ready`, and
   * to the 2D views drawn after it (what the user waits for).
   */
  async function timeOpenFolderToViews(page, dir) {
    await watchReadyAndDrawn(page, '[data-testid="open-folder"]', 'change');
    await page.getByTestId('open-folder').setInputFiles(dir);
    return readyAndDrawn(page);
  }

  /**
   * The same as `timeOpenFolderToViews` with the folder dropped on the
   * workspace (drag events through CDP, as a user's drag arrives): the page
   * asks the browser for each `File` from its directory entry.
   */
  async function timeDropFolderToViews(page, dir) {
    await watchReadyAndDrawn(page, '.workspace', 'drop');
    await dropOnWorkspace(page, [dir]);
    return readyAndDrawn(page);
  }

  /** Notes when `event` reaches `selector`, then `ready`, then the views drawn. */
  async function watchReadyAndDrawn(page, selector, event) {
    await page.evaluate(([selector, event]) => {
      const bench = (window.__bench = {});
      document.querySelector(selector)
        .addEventListener(event, () => { bench.chosen = performance.now(); }, { capture: true, once: true });
      const s = document.querySelector('[data-testid="load-status"]');
      // The app marks `loading` in the same task as the change: a `ready`
      // seen after `chosen` is this load's; the views drawn after it too.
      new MutationObserver((records, observer) => {
        const now = performance.now();
        if (bench.chosen && s.dataset.state === 'ready') bench.ready ??= now;
        // A folder known by its stamp shows the views the cache kept while
        // its voxels are read back: the first pixels the user sees.
        if (bench.chosen && records.some((r) => r.attributeName === 'data-opening')) bench.opening ??= now;
        if (bench.ready && records.some((r) => r.target.dataset.testid === 'slice-engine' && r.attributeName !== 'data-opening')) {
          bench.drawn = now;
          observer.disconnect();
        }
      }).observe(document.body, { attributes: true, subtree: true });
    }, [selector, event]);
  }

  /** What `watchReadyAndDrawn` noted, once the views are drawn (ms). */
  async function readyAndDrawn(page) {
    await page.waitForFunction(() => window.__bench.drawn, null, { timeout: 600_000, polling: 50 });
    const { chosen, ready, drawn, opening } = await page.evaluate(() => window.__bench);
    return { ready: ready - chosen, drawn: drawn - chosen, shown: Math.min(opening ?? drawn, drawn) - chosen };
  }

  /**
   * The in-browser peers on the same folder, each on a fresh page of the
   * peers' site, best of `runs`; insitu's files chosen -> 2D views drawn on
   * fresh pages, best of `runs`, in between.
   */
  async function peerRows(dir, runs, names = ['dicom-parser', 'itk-wasm', 'dcm2niix']) {
    const site = await startServer(process.env.INSITU_PEERS_SITE);
    try {
      const peer = async (name) => {
        const page = await (await browser.newContext()).newPage();
        try {
          await page.goto(site.url);
          await page.waitForFunction(() => window.peers);
          await page.evaluate((n) => window.peers.arm(n), name);
          await page.locator('#folder').setInputFiles(dir);
          await page.waitForFunction(() => window.peers.result, null, { timeout: 600_000, polling: 50 });
          const result = await page.evaluate(() => window.peers.result);
          if (result.error) throw new Error(`${name}: ${result.error}`);
          if (name === 'dicom-parser') result.mc = await page.evaluate(() => window.peers.marchingCubes(300));
          result.versions = await page.evaluate(() => window.peers.versions);
          return result;
        } finally {
          await page.context().close();
        }
      };
      const best = (list) => list.reduce((a, b) => (b.ms < a.ms ? b : a));
      const rows = Object.fromEntries(['ours', ...names].map((n) => [n, []]));
      for (let r = 0; r < runs; r++) {
        const page = await freshPage();
        try {
          const t = await timeOpenFolderToViews(page, dir);
          rows.ours.push({ ms: t.drawn, ready: t.ready });
        } finally {
          await page.context().close();
        }
        for (const name of names) rows[name].push(await peer(name));
      }
      return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { best: best(v), all: v.map((x) => x.ms) }]));
    } finally {
      await site.close();
    }
  }

  // Decoder workers against decoding in the study worker alone, each on a
  // fresh page, on a JPEG 2000 series (decode-bound; uncompressed series
  // are always decoded in place).
  async function loadOnce(dir, query) {
    const fresh = await freshPage(query);
    try {
      const ms = await timeOpenFolder(fresh, dir);
      const status = fresh.getByTestId('load-status');
      return {
        ms,
        decoders: await status.getAttribute('data-decoders'),
        decoderHeap: Number(await status.getAttribute('data-decoder-heap')),
      };
    } finally {
      await fresh.context().close();
    }
  }
  /** The open volume's bytes as i16, from the dimensions the page shows. */
  async function volumeBytes(page) {
    const dims = /(\d+) × (\d+) × (\d+) voxels/.exec(await page.getByTestId('volume-info').textContent());
    return Number(dims[1]) * Number(dims[2]) * Number(dims[3]) * 2;
  }
  // The cache: each series cold (fresh page, empty IndexedDB), then,
  // once it is stored, dropped again after a page reload (as a user comes
  // back to it: the first study's memory is gone, the cache is not). On a
  // profile on disk, as a user's, not an incognito-like one in memory.
  async function coldThenCached(dir) {
    return onDiskProfile(async (fresh) => {
      const once = async () => {
        const { ready, drawn, shown } = await timeOpenFolderToViews(fresh, dir);
        return {
          ms: ready,
          drawnMs: drawn,
          shownMs: shown,
          cache: await fresh.getByTestId('load-status').getAttribute('data-cache'),
        };
      };
      fresh.timings.length = 0;
      const cold = await once();
      cold.timings = [...fresh.timings];
      await fresh.waitForSelector('[data-testid="load-status"][data-cache="stored"]', { timeout: 600_000 });
      await fresh.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 600_000 });
      // The study worker's wasm heap with the study open (volume, its
      // surface, the views drawn), against the volume's own bytes.
      const worker = studyWorker(fresh);
      cold.heapBytes = await worker.evaluate(() => wasm_bindgen.heapBytes());
      cold.volumeBytes = await volumeBytes(fresh);
      await fresh.waitForTimeout(1000); // the surface is written to the cache after it is shown
      await fresh.reload();
      await fresh.waitForSelector('html[data-app="running"]', { timeout: 120_000 });
      await fresh.getByTestId('opt-engine').selectOption('cpu');
      fresh.timings.length = 0;
      const cached = await once();
      // Found by the files' stamp: the files are read and checked after
      // the views are drawn (its laps are printed with the row).
      if (cached.cache === 'hit') {
        await fresh.waitForSelector('[data-testid="load-status"][data-checked="same"]', { timeout: 600_000 });
      }
      await fresh.waitForTimeout(500);
      cached.timings = [...fresh.timings];
      // The Recent list, no files: click -> volume ready, and -> surface shown.
      await fresh.reload();
      await fresh.waitForSelector('html[data-app="running"]', { timeout: 120_000 });
      const open = fresh.getByTestId('cache-entries').locator('[data-testid="cache-open"]').first();
      await open.waitFor();
      // Times on the page's clock: ready, the first 2D views drawn after it,
      // and the 3D view drawn after the cached surface arrived.
      await fresh.evaluate(() => {
        const t = (window.__recent = {});
        const status = document.querySelector('[data-testid="load-status"]');
        const info = document.querySelector('[data-testid="mesh-info"]');
        new MutationObserver((records) => {
          const now = performance.now();
          for (const r of records) {
            const el = r.target;
            if (el === status && status.dataset.state === 'ready') t.ready ??= now;
            if (el.dataset.testid === 'slice-engine' && r.attributeName === 'data-opening') t.opening ??= now;
            if (el.dataset.testid === 'slice-engine' && t.ready && r.attributeName !== 'data-opening') t.drawn ??= now;
            if (el === info && info.dataset.state === 'ready' && info.dataset.engine === 'cache') t.surface ??= now;
            if (el.dataset.testid === 'view-3d' && t.surface && el.dataset.rendered === 'surface') t.shown ??= now;
          }
        }).observe(document.body, { attributes: true, subtree: true });
        document.querySelector('[data-testid="cache-entries"] [data-testid="cache-open"]')
          .addEventListener('click', () => { t.clicked = performance.now(); }, { capture: true, once: true });
      });
      fresh.timings.length = 0;
      await open.click();
      await fresh.waitForFunction(() => window.__recent.shown && window.__recent.drawn, null, { timeout: 120_000, polling: 50 });
      const t = await fresh.evaluate(() => window.__recent);
      await fresh.waitForTimeout(300);
      const recent = {
        volumeMs: t.ready - t.clicked,
        drawnMs: t.drawn - t.clicked,
        openingMs: (t.opening ?? t.drawn) - t.clicked,
        surfaceMs: t.shown - t.clicked,
        timings: [...fresh.timings],
      };
      return { cold, cached, recent };
    });
  }
  // The whole browser's memory while a folder opens, is meshed and is
  // cached, on a fresh page of its own (the sampling takes CPU, so not
  // during a timed load), on a profile on disk: an incognito-like one
  // keeps the cache in the browser process's memory.
  async function browserMemoryRow(name, dir) {
    return onDiskProfile(async (fresh) => {
      await fresh.waitForTimeout(1000);
      const watch = watchBrowserMemory(50);
      await timeOpenFolderToViews(fresh, dir);
      await fresh.waitForSelector('[data-testid="load-status"][data-cache="stored"]', { timeout: 600_000 });
      await fresh.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 600_000 });
      await fresh.waitForTimeout(2000);
      const { before, peak, peakOf, after } = watch.stop();
      const volume = await volumeBytes(fresh);
      const mb = (b) => (b / 1e6).toFixed(0);
      const rise = total(peak) - total(before);
      const types = Object.keys(peakOf).sort()
        .map((t) => `${t} +${mb(peakOf[t] - (before[t] ?? 0))}`).join(', ');
      console.log(`memory, ${name} opened, meshed and cached: all of the browser's processes (PSS) ${mb(total(before))} MB before, +${mb(rise)} MB at the peak = ${(rise / volume).toFixed(2)}x the volume (each type's own peak: ${types}), +${mb(total(after) - total(before))} MB 2 s after (the study worker's wasm heap alone: the heap rows; aim for the load's peak <= 1.2x)`);
    });
  }
  if (ONLY === '' || ONLY === 'spine') {
    // Spine separation in wasm on the demo generator's spine at 512²×300
    // (`?demo=512`), beside the native time of the same analysis.
    const p = await freshPage('?demo=512');
    await p.getByTestId('open-demo').click();
    await p.waitForSelector('[data-testid="spine-info"][data-state="ready"]', { timeout: 300_000 });
    const spineMs = Number(await p.getByTestId('spine-info').getAttribute('data-ms'));
    const count = await p.getByTestId('spine-list').locator('li').count();
    const nat = process.env.INSITU_BENCH_SPINE_NATIVE ? JSON.parse(process.env.INSITU_BENCH_SPINE_NATIVE) : null;
    const vs = nat ? `, native ${nat.separation_512_ms.toFixed(0)} ms (wasm/native ${(spineMs / nat.separation_512_ms).toFixed(2)}x)` : '';
    console.log(`spine separation, 512x512x300 demo spine: wasm ${spineMs.toFixed(0)} ms in the study worker (aim < 5000 ms), ${count} vertebrae${vs}`);
    await p.context().close();
    // A real osteoporotic lumbar CT of that size (TotalSegmentator's
    // example at 0.7 x 0.7 x 1 mm), which needs the lenient readings of
    // bone, and the same with 40 HU of noise (read in blocks, then voxel by
    // voxel: the slowest path): the worker's time, and the click to the
    // names in the page.
    const lowDensity = [
      [process.env.INSITU_BENCH_LOW_DENSITY, 'low-density lumbar CT', nat?.separation_low_density_ms],
      [process.env.INSITU_BENCH_LOW_DENSITY_NOISY, 'the same CT with 40 HU of noise', nat?.separation_low_density_noisy_ms],
    ];
    for (const [folder, what, natLow] of lowDensity) {
      if (!folder) continue;
      const q = await freshPage();
      await q.getByTestId('open-folder').setInputFiles(folder);
      await q.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 300_000 });
      // The surface and the cache write are done before the click.
      await q.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 300_000 });
      await q.waitForTimeout(2000);
      const answer = await timeSpineAnswer(q, 300_000);
      if (answer.state !== 'ready') throw new Error(`${what}: the spine analysis answered ${answer.state}`);
      const worker = Number(await q.getByTestId('spine-info').getAttribute('data-ms'));
      const names = await q.getByTestId('spine-list').locator('li').evaluateAll((l) => l.map((x) => x.dataset.name).join(' '));
      const vsLow = natLow ? `, native ${natLow.toFixed(0)} ms (wasm/native ${(worker / natLow).toFixed(2)}x)` : '';
      console.log(`spine separation, ${what} (523x433x336): wasm ${worker.toFixed(0)} ms in the study worker, ${answer.ms.toFixed(0)} ms from the click to the names (aim < 5000 ms), ${names}${vsLow}`);
      await q.context().close();
    }
    if (ONLY === 'spine') break rows;
  }
  let peers = null;
  if (['', 'browser', 'peers'].includes(ONLY) && process.env.INSITU_PEERS_SITE) {
    peers = await peerRows(series, 2);
    const ms = (x) => x.toFixed(0);
    const v = peers['dicom-parser'].best.versions;
    const ours = peers.ours.best;
    console.log(`peers (same Chromium, same File objects, best of 2; files chosen -> insitu's 2D views drawn, -> each peer's volume): insitu ${ms(ours.ms)} ms (ready ${ms(ours.ready)} ms; runs ${peers.ours.all.map(ms).join(', ')})`);
    const line = (name, version, what, aim) => {
      const p = peers[name].best;
      console.log(`  ${name} ${version}, ${what}: ${ms(p.ms)} ms (runs ${peers[name].all.map(ms).join(', ')}; ${p.detail}); peer/insitu ${(p.ms / ours.ms).toFixed(2)}x (aim ${aim})`);
    };
    line('dicom-parser', v['dicom-parser'], 'parse + rescaled pixel copy into one Int16Array (what Cornerstone\'s loader does)', '>= 1.00x');
    line('itk-wasm', v['@itk-wasm/dicom'], 'readImageDicomFileSeries (VolView\'s family)', '>= 3x');
    line('dcm2niix', v['@niivue/dcm2niix'], 'dcm2niix wasm to NIfTI (NiiVue)', '>= 3x');
    // The same on a compressed series: dicom-parser alone decodes nothing,
    // so the peers are those that read JPEG 2000 themselves (dcm2niix's
    // build with OpenJPEG and CharLS, the package's default export).
    if (j2kSeries) {
      const j2k = await peerRows(j2kSeries, 2, ['itk-wasm', 'dcm2niix-jpeg']);
      const mine = j2k.ours.best;
      console.log(`peers on the 512x512x100 JPEG 2000 series (same Chromium, best of 2): insitu ${ms(mine.ms)} ms to the 2D views (ready ${ms(mine.ready)} ms; runs ${j2k.ours.all.map(ms).join(', ')})`);
      for (const [name, what] of [['itk-wasm', 'readImageDicomFileSeries'], ['dcm2niix-jpeg', 'dcm2niix wasm with JPEG 2000 (index.jpeg.js) to NIfTI']]) {
        const p = j2k[name].best;
        console.log(`  ${name}, ${what}: ${ms(p.ms)} ms (runs ${j2k[name].all.map(ms).join(', ')}; ${p.detail}); peer/insitu ${(p.ms / mine.ms).toFixed(2)}x`);
      }
    }
    // Dropping is how most users open a folder; the peers' page takes the
    // chosen File objects, so this row has no peer beside it.
    const dropped = [];
    for (let r = 0; r < 2; r++) {
      const page = await freshPage();
      try {
        dropped.push(await timeDropFolderToViews(page, series));
      } finally {
        await page.context().close();
      }
    }
    const drop = dropped.reduce((a, b) => (b.drawn < a.drawn ? b : a));
    console.log(`  insitu, the same folder dropped (drag events through CDP; each File asked of the browser from its directory entry): ${ms(drop.drawn)} ms to the 2D views (ready ${ms(drop.ready)} ms; runs ${dropped.map((d) => ms(d.drawn)).join(', ')}); dropped/chosen ${(drop.drawn / ours.ms).toFixed(2)}x`);
    if (ONLY === 'peers') break rows;
  }
  const caching = [];
  for (const [name, dir] of [['512x512x300 uncompressed', series], ['512x512x100 JPEG 2000', j2kSeries]]) {
    if (dir && ONLY !== 'segments') caching.push({ name, ...(await coldThenCached(dir)) });
  }

  const ms = (x) => x.toFixed(0);
  if (series && process.platform === 'linux' && ONLY !== 'segments') {
    await browserMemoryRow('512x512x300 uncompressed', series);
  }
  for (const { name, cold } of caching) {
    const mb = (b) => (b / 1e6).toFixed(1);
    console.log(`heap, ${name} open with its surface: study worker wasm heap ${mb(cold.heapBytes)} MB, volume (i16) ${mb(cold.volumeBytes)} MB; heap/volume ${(cold.heapBytes / cold.volumeBytes).toFixed(2)}x (aim <= 1.15x)`);
  }
  for (const { name, cold, cached, recent } of caching) {
    console.log(`cache, ${name}, files chosen -> ready / 2D views drawn: cold ${ms(cold.ms)} / ${ms(cold.drawnMs)} ms (${cold.cache}), dropped again after a page reload ${ms(cached.ms)} / ${ms(cached.drawnMs)} ms (${cached.cache}); cold/cached ${(cold.ms / cached.ms).toFixed(2)}x / ${(cold.drawnMs / cached.drawnMs).toFixed(2)}x`);
    console.log(`cache, ${name}, files chosen -> first 2D pixels shown (the cache's opening views while the voxels are read back; cold: its own views): cold ${ms(cold.shownMs)} ms, dropped again after a page reload ${ms(cached.shownMs)} ms; cold/cached ${(cold.shownMs / cached.shownMs).toFixed(2)}x`);
    console.log(`cache, ${name}, Recent list (no files), click -> opening views shown ${ms(recent.openingMs)} ms, -> volume ready ${ms(recent.volumeMs)} ms, -> 2D views drawn ${ms(recent.drawnMs)} ms, -> last surface drawn ${ms(recent.surfaceMs)} ms`);
    for (const [what, timings] of [['cold', cold.timings], ['dropped again', cached.timings], ['Recent list', recent.timings]]) {
      for (const line of timings) console.log(`  ${name}, ${what}: ${line}`);
    }
  }
  if (ONLY === 'cache') break rows;

  const decoding = [];
  for (const [name, dir] of [['512x512x100 JPEG 2000', j2kSeries]]) {
    if (!dir || ONLY === 'segments') continue;
    const single = await loadOnce(dir, '?decoders=0');
    const parallel = await loadOnce(dir, '');
    // One job per decoder, as before jobs were bounded (2 GB each).
    const whole = await loadOnce(dir, '?job-kb=2000000');
    decoding.push({ name, single, parallel, whole });
  }

  // No automatic surface: time the load alone, then each engine.
  const page = await freshPage();
  const gpuInfo = await page.getByTestId('gpu-info').textContent();
  const loadMs = await timeOpenFolder(page, series);

  async function surface(engine, timeout) {
    // Wait for any surface in flight (the automatic one of a CT), then time ours.
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 600_000 });
    await page.getByTestId('opt-engine').selectOption(engine);
    await page.getByTestId('iso-input').fill('300');
    const started = Date.now();
    await page.getByTestId('make-surface').click();
    try {
      await page.waitForFunction(
        () => document.querySelector('[data-testid="mesh-info"]').dataset.state === 'ready',
        null,
        { timeout, polling: 100 },
      );
    } catch {
      return { engine, finished: false, wallMs: Date.now() - started };
    }
    const text = await page.getByTestId('mesh-info').textContent();
    return {
      engine,
      finished: true,
      wallMs: Date.now() - started,
      extractMs: Number(/in (\d+) ms/.exec(text)[1]),
      triangles: Number(/^(\d+) triangles/.exec(text)[1]),
      label: /on (.*) in \d+ ms/.exec(text)[1],
    };
  }
  /**
   * The segment tools in wasm on the loaded phantom: a first segment grown
   * from a click on the vertebral body at the middle slice (the seed the
   * native benchmark takes), its smooth surface, then a second segment by
   * threshold of the whole volume. Worker times from `segment-info`, wall
   * times from the click to the list's update.
   */
  async function segmentRows(page) {
    const rows = () => page.getByTestId('segment-list').locator('li').evaluateAll((items) => items.map((li) => Number(li.dataset.voxels)));
    async function timedEdit(click, ok) {
      await page.evaluate(() => { window.__edit = performance.now(); });
      await click();
      const started = await page.evaluate(() => window.__edit);
      for (;;) {
        const now = await rows();
        if (ok(now)) break;
        await page.waitForTimeout(10);
      }
      const wall = (await page.evaluate(() => performance.now())) - started;
      return { wall, voxels: await rows(), ms: Number(await page.getByTestId('segment-info').getAttribute('data-edit-ms')) };
    }
    await page.getByTestId('segment-add').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="segment-list"] li').length === 1);
    await page.getByTestId('range-low').fill('200');
    await page.getByTestId('range-high').fill('3071');
    await page.getByTestId('tool-grow').click();
    // make_series.py's phantom: the body centre on the lordotic curve
    // (its z is the patient z; the series is 300 slices of 1 mm).
    const plane = JSON.parse(await page.getByTestId('view-axial').getAttribute('data-plane'));
    const z = plane.centre[2];
    const point = [3 * Math.sin((2 * Math.PI * z) / 300), 35 - 14 * Math.sin((Math.PI * z) / 300), z];
    const grow = await timedEdit(() => clickViewAt(page, 'view-axial', point), (r) => r[0] > 0);
    await page.getByTestId('tool-grow').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="view-3d"]').dataset.partLabel === '1', null, { timeout: 600_000 });
    const view = page.getByTestId('view-3d');
    const surfaceMs = Number(await view.getAttribute('data-part-ms'));
    const surfaceTriangles = Number(await view.getAttribute('data-part-triangles'));
    await page.getByTestId('segment-add').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="segment-list"] li').length === 2);
    await page.getByTestId('range-low').fill('300');
    const threshold = await timedEdit(() => page.getByTestId('tool-threshold').click(), (r) => r[1] > 0);
    return {
      growMs: grow.ms,
      growWallMs: grow.wall,
      grownVoxels: grow.voxels[0],
      thresholdMs: threshold.ms,
      thresholdWallMs: threshold.wall,
      thresholdVoxels: threshold.voxels[1],
      surfaceMs,
      surfaceTriangles,
    };
  }

  const cpu = await surface('cpu', 600_000);
  // Before the GPU surface: on a software adapter that one may still be
  // running in the worker when its time limit ends, and edits would wait.
  const seg = await segmentRows(page);
  const gpu = ONLY === 'segments' ? { finished: false } : await surface('gpu', GPU_LIMIT_MS);

  const ratio = (a, b) => (a / b).toFixed(2);
  console.log(`browser: ${gpuInfo}`);
  console.log(`series: ${series}`);
  console.log(`load, files chosen -> ready: browser ${loadMs.toFixed(0)} ms, native ${nativeLoad.toFixed(0)} ms (browser/native ${ratio(loadMs, nativeLoad)}x)`);
  console.log(`surface 300 HU, CPU: browser ${cpu.extractMs} ms extract (${cpu.wallMs} ms click -> shown), native CPU (all cores) ${nativeExtract.toFixed(0)} ms (browser/native ${ratio(cpu.extractMs, nativeExtract)}x), ${cpu.triangles} triangles (native ${nativeTriangles})`);
  for (const { name, single, parallel, whole } of decoding) {
    console.log(`load ${name}, files chosen -> ready: ${parallel.decoders} decoder workers ${parallel.ms.toFixed(0)} ms, study worker alone ${single.ms.toFixed(0)} ms (parallel/alone ${ratio(parallel.ms, single.ms)}x)`);
    console.log(`load ${name}, decoder workers' wasm heaps added up: jobs of at most 16 MiB ${(parallel.decoderHeap / 1e6).toFixed(0)} MB, one job per decoder ${(whole.decoderHeap / 1e6).toFixed(0)} MB (${whole.ms.toFixed(0)} ms)`);
  }
  const native = process.env.INSITU_BENCH_SEGMENTS_NATIVE ? JSON.parse(process.env.INSITU_BENCH_SEGMENTS_NATIVE) : null;
  const vsNative = (wasm, key) => (native ? `, native ${native[key].toFixed(0)} ms (wasm/native ${ratio(wasm, native[key])}x)` : '');
  console.log(`segments, grow from a click on a vertebral body (200..3071 HU): wasm ${seg.growMs} ms in the worker, ${seg.growWallMs.toFixed(0)} ms click -> list updated, ${seg.grownVoxels} voxels${vsNative(seg.growMs, 'grow_ms')}`);
  console.log(`segments, threshold 300..3071 HU of the whole volume: wasm ${seg.thresholdMs} ms in the worker, ${seg.thresholdWallMs.toFixed(0)} ms click -> list updated, ${seg.thresholdVoxels} voxels${vsNative(seg.thresholdMs, 'threshold_ms')}`);
  const perTriangle = (msValue, n) => (msValue * 1e6) / n;
  console.log(`segments, surface of the grown vertebra: wasm ${seg.surfaceMs} ms, ${seg.surfaceTriangles} triangles, ${perTriangle(seg.surfaceMs, seg.surfaceTriangles).toFixed(0)} ns/triangle against the 300 HU surface's ${perTriangle(cpu.extractMs, cpu.triangles).toFixed(0)} ns/triangle (segment/iso ${ratio(perTriangle(seg.surfaceMs, seg.surfaceTriangles), perTriangle(cpu.extractMs, cpu.triangles))}x)${vsNative(seg.surfaceMs, 'surface_ms')}`);
  if (peers) {
    const mc = peers['dicom-parser'].best.mc;
    const version = peers['dicom-parser'].best.versions['@kitware/vtk.js'];
    console.log(`surface 300 HU, CPU, against vtk.js ${version} vtkImageMarchingCubes (points merged, no normals) on the same voxels in the same Chromium: insitu wasm ${cpu.extractMs} ms (${cpu.triangles} triangles), vtk.js ${mc.ms.toFixed(0)} ms (${mc.triangles} triangles); vtk.js/insitu ${ratio(mc.ms, cpu.extractMs)}x (aim >= 20x)`);
  }
  if (gpu.finished) {
    console.log(`surface 300 HU, GPU: browser ${gpu.extractMs} ms extract on ${gpu.label} (${gpu.wallMs} ms click -> shown), GPU/CPU ${ratio(gpu.extractMs, cpu.extractMs)}x, ${gpu.triangles} triangles`);
  } else {
    console.log(`surface 300 HU, GPU: not finished within ${GPU_LIMIT_MS} ms on this adapter (${gpuInfo})`);
  }
}
} finally {
  await browser.close();
  await server.close();
}
