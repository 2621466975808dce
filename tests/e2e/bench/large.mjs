// `cargo xtask bench --large` (not a test, not in CI: minutes and 1.3 GB of
// files): a synthetic 512²×2500 CT opened in headless Chromium, its views
// drawn at slices near 0, 1250 and 2450, a 300 HU surface made and drawn,
// STL exported, the spine analysis run (in blocks), the study cached and
// reopened from "On this computer",
// then closed with its memory given back; the same series loaded by the
// native CLI for comparison. Then the same phantom in JPEG-LS, decoded on
// the decoder workers: its load time and every wasm heap it took.
// `INSITU_LARGE_ONLY=compressed` runs that part alone. Figures printed,
// never asserted.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { clickViewAt, launch, launchProfile, studyWorker, watchOpening } from '../lib/browser.mjs';
import { timeSpineAnswer } from '../lib/spine.mjs';

const series = process.env.INSITU_LARGE_SERIES;
const compressed = process.env.INSITU_LARGE_COMPRESSED;
const cli = process.env.INSITU_CLI;
if (!series || !compressed || !cli) throw new Error('run through `cargo xtask bench --large`');
const compressedOnly = process.env.INSITU_LARGE_ONLY === 'compressed';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'insitu-large-'));

const server = await startServer(process.env.INSITU_DIST ?? 'dist');
const browser = await launch({ webgpu: true });
const heapOf = async (page) => {
  const worker = studyWorker(page);
  return worker.evaluate(async () => {
    for (;;) {
      try {
        return wasm_bindgen.heapBytes();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  });
};
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
try {
  if (!compressedOnly) await uncompressed();
  await decodedOnWorkers();
} finally {
  await browser.close();
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}

/** The uncompressed series: load, views, surface, STL, cache, close. */
async function uncompressed() {
  const native = execFileSync(cli, ['mesh', series, '--iso', '300', '--cpu', '-o', path.join(tmp, 'n.stl')], { encoding: 'utf8' });
  const nativeLoad = Number(/load ([\d.]+) s/.exec(native)[1]) * 1000;
  const nativeExtract = Number(/extract ([\d.]+) s/.exec(native)[1]) * 1000;
  const nativeTriangles = Number(/(\d+) triangles/.exec(native)[1]);
  // A profile on disk, as a user's: an incognito-like context would hold
  // the 1.3 GB cache entry in the browser process's memory.
  const context = await launchProfile(path.join(tmp, 'profile'), { webgpu: true, viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const laps = [];
  page.on('console', (m) => { if (m.text().startsWith('insitu timings:')) laps.push(m.text().slice(15)); });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForSelector('html[data-app="running"]', { timeout: 120_000 });
  await page.getByTestId('opt-engine').selectOption('cpu');

  // Files chosen -> ready -> 2D views drawn.
  await page.evaluate(() => {
    const b = (window.__large = {});
    document.querySelector('[data-testid="open-folder"]')
      .addEventListener('change', () => { b.chosen = performance.now(); }, { capture: true, once: true });
    new MutationObserver((records) => {
      const now = performance.now();
      for (const r of records) {
        const el = r.target;
        if (el.dataset.testid === 'load-status' && el.dataset.state === 'ready') b.ready ??= now;
        if (el.dataset.testid === 'load-status' && el.dataset.state === 'error') b.error ??= el.textContent;
        if (el.dataset.testid === 'slice-engine' && b.ready) b.drawn ??= now;
        if (el.dataset.testid === 'mesh-info' && el.dataset.state === 'ready' && b.ready) b.surface ??= now;
      }
      const view = document.querySelector('[data-testid="view-3d"]');
      if (b.surface && view.dataset.rendered === 'surface') b.shown ??= now;
      const info = document.querySelector('[data-testid="mesh-info"]');
      if (b.surface && info.dataset.watertight && info.dataset.watertight !== 'checking') b.checked ??= now;
    }).observe(document.body, { attributes: true, subtree: true });
  });
  await page.getByTestId('open-folder').setInputFiles(series);
  await page.waitForFunction(() => window.__large.drawn || window.__large.error, null, { timeout: 1_800_000, polling: 100 });
  const loaded = await page.evaluate(() => window.__large);
  if (loaded.error) throw new Error(`load failed: ${loaded.error}`);
  if (loaded.chosen === undefined) throw new Error('no change event seen on the folder input');
  // Each mark is the page's clock (performance.now, from the page's load):
  // the user waits from the change event on.
  const sinceChosen = (mark) => mark - loaded.chosen;
  const heapLoaded = await heapOf(page);
  const dims = /(\d+) × (\d+) × (\d+) voxels/.exec(await page.getByTestId('volume-info').textContent());
  const volumeBytes = Number(dims[1]) * Number(dims[2]) * Number(dims[3]) * 2;
  const slices = Number(dims[3]);

  // The axial view at slices near 0, the middle and the end: a click on
  // the coronal view moves the crosshair there.
  const plane = JSON.parse(await page.getByTestId('view-coronal').getAttribute('data-plane'));
  const bounds = JSON.parse(await page.getByTestId('view-axial').getAttribute('data-plane'));
  const zs = [];
  const drawnAt = [];
  for (const k of [10, Math.round(slices / 2), slices - 50]) {
    const z0 = bounds.centre[2] - (slices / 2) * 0.5;
    const z = z0 + k * 0.5;
    const before = await page.getByTestId('view-axial').getAttribute('data-plane');
    const started = Date.now();
    await clickViewAt(page, 'view-coronal', [plane.centre[0], plane.centre[1], z]);
    await page.waitForFunction((b) => document.querySelector('[data-testid="view-axial"]').dataset.plane !== b, before, { timeout: 120_000 });
    drawnAt.push(Date.now() - started);
    zs.push(JSON.parse(await page.getByTestId('view-axial').getAttribute('data-plane')).centre[2].toFixed(1));
  }

  // The automatic 300 HU bone surface of a CT, drawn in 3D.
  await page.waitForFunction(() => window.__large.shown && window.__large.checked, null, { timeout: 1_800_000, polling: 200 });
  const marks = await page.evaluate(() => window.__large);
  const surfaceText = await page.getByTestId('mesh-info').textContent();
  const triangles = Number(/^(\d+) triangles/.exec(surfaceText)?.[1] ?? NaN);
  const extractMs = Number(/in (\d+) ms/.exec(surfaceText)?.[1] ?? NaN);
  const heapSurface = await heapOf(page);

  // STL exported (read back: its size is 84 + 50 bytes a triangle).
  const exportStarted = Date.now();
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 600_000 }), page.getByTestId('export-stl').click()]);
  const stlBytes = (await stat(await download.path())).size;
  const exportMs = Date.now() - exportStarted;
  const heapExport = await heapOf(page);

  // The spine analysis, read in blocks (more voxels than it reads at
  // once): timed until it answers, and the heap after, on the page's
  // clock (the 3.8 M-triangle surface and the vertebrae's surfaces hold
  // Playwright's own wait back). Its labels are kept with the volume.
  const { ms: spineMs, seenMs: spineSeenMs } = await timeSpineAnswer(page, 1_800_000);
  const spineText = await page.getByTestId('spine-info').textContent();
  const heapSpine = await heapOf(page);

  // Cached, then reopened from the Recent list after a reload.
  await page.waitForSelector('[data-testid="load-status"][data-cache="stored"]', { timeout: 1_800_000 });
  await page.waitForTimeout(3000); // the surface follows the volume into the cache
  await page.reload();
  await page.waitForSelector('html[data-app="running"]', { timeout: 120_000 });
  const open = page.getByTestId('cache-entries').locator('[data-testid="cache-open"]').first();
  await open.waitFor({ timeout: 120_000 });
  // On the page's clock, from the click: ready, the volume's own 2D
  // views (the opening views come before `ready`), the kept segments
  // (the spine's vertebrae) listed again.
  await watchOpening(page);
  await open.click();
  await page.waitForFunction(() => window.__opening.drawn && window.__opening.listed, null, { timeout: 1_800_000, polling: 100 });
  const reopened = await page.evaluate(() => window.__opening);
  const reopenMs = reopened.ready - reopened.clicked;
  const heapReopened = await heapOf(page);

  // Closed: the worker that held it ends; a fresh one starts small.
  await page.getByTestId('close-study').click();
  await page.waitForSelector('[data-testid="load-status"][data-state="idle"]', { timeout: 120_000 });
  await page.waitForTimeout(1000);
  const heapClosed = await heapOf(page);

  console.log(`large series: ${series} (${dims[1]}x${dims[2]}x${dims[3]}, ${mb(volumeBytes)} of i16 voxels)`);
  const readyMs = sinceChosen(loaded.ready);
  console.log(`load, files chosen -> ready ${readyMs.toFixed(0)} ms, -> 2D views drawn ${sinceChosen(loaded.drawn).toFixed(0)} ms; native CLI load ${nativeLoad.toFixed(0)} ms (browser/native ${(readyMs / nativeLoad).toFixed(2)}x)`);
  console.log(`memory: study worker heap ${mb(heapLoaded)} after load, ${mb(heapSurface)} with the surface, ${mb(heapExport)} after the STL export (heap/volume ${(heapLoaded / volumeBytes).toFixed(2)}x, ${(heapSurface / volumeBytes).toFixed(2)}x, ${(heapExport / volumeBytes).toFixed(2)}x; aim <= 1.2x)`);
  console.log(`2D: axial view moved to z ${zs.join(', ')} mm (slices near 10, ${Math.round(slices / 2)}, ${slices - 50}): ${drawnAt.join(', ')} ms click -> drawn`);
  console.log(`surface 300 HU, CPU: wasm ${extractMs} ms extract, ${triangles} triangles; files chosen -> surface posted ${sinceChosen(marks.surface).toFixed(0)} ms, -> 3D drawn ${sinceChosen(marks.shown).toFixed(0)} ms, -> checked watertight ${sinceChosen(marks.checked).toFixed(0)} ms; native CPU ${nativeExtract.toFixed(0)} ms, ${nativeTriangles} triangles`);
  console.log(`STL: ${mb(stlBytes)} (${stlBytes === 84 + 50 * triangles ? 'size matches' : 'SIZE MISMATCH'}) in ${exportMs} ms click -> downloaded`);
  console.log(`spine analysis (read in blocks of 2×2×2): ${spineMs.toFixed(0)} ms click -> answered in the page (${spineSeenMs} ms until Playwright saw it): "${spineText.trim()}"; heap after ${mb(heapSpine)} (${(heapSpine / volumeBytes).toFixed(2)}x the volume)`);
  console.log(`cache: reopened from the Recent list, click -> ready ${reopenMs.toFixed(0)} ms (cold load ${readyMs.toFixed(0)} ms, ${(readyMs / reopenMs).toFixed(2)}x), -> 2D views drawn ${(reopened.drawn - reopened.clicked).toFixed(0)} ms, -> the spine's segments listed ${(reopened.listed - reopened.clicked).toFixed(0)} ms; heap ${mb(heapReopened)}`);
  console.log(`closed: the fresh study worker's heap ${mb(heapClosed)}`);
  for (const line of laps) console.log(`  ${line}`);
  await context.close();
}

/**
 * The JPEG-LS series on a fresh page: files chosen -> ready and views
 * drawn, the study worker's heap and the decoder workers' heaps (each at
 * its largest, added up) against the volume; the native CLI's load.
 */
async function decodedOnWorkers() {
  const native = execFileSync(cli, ['mesh', compressed, '--iso', '300', '--cpu', '-o', path.join(tmp, 'c.stl')], { encoding: 'utf8' });
  const nativeLoad = Number(/load ([\d.]+) s/.exec(native)[1]) * 1000;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForSelector('html[data-app="running"]', { timeout: 120_000 });
  const started = Date.now();
  await page.getByTestId('open-folder').setInputFiles(compressed);
  await page.waitForSelector('[data-testid="load-status"][data-state="ready"], [data-testid="load-status"][data-state="error"]', { timeout: 1_800_000 });
  const readyMs = Date.now() - started;
  const status = page.getByTestId('load-status');
  const text = await status.textContent();
  const decoderHeap = Number(await status.getAttribute('data-decoder-heap'));
  const heap = await heapOf(page);
  const dims = /(\d+) × (\d+) × (\d+) voxels/.exec(await page.getByTestId('volume-info').textContent());
  const volumeBytes = dims ? Number(dims[1]) * Number(dims[2]) * Number(dims[3]) * 2 : NaN;
  console.log(`compressed series: ${compressed} (JPEG-LS lossless${dims ? `, ${dims[1]}x${dims[2]}x${dims[3]}` : ''})`);
  console.log(`load, files chosen -> ready ${readyMs} ms (set from outside the page): ${text}`);
  console.log(`memory: study worker heap ${mb(heap)} (heap/volume ${(heap / volumeBytes).toFixed(2)}x), decoder workers' heaps ${mb(decoderHeap)} added up; all wasm heaps/volume ${((heap + decoderHeap) / volumeBytes).toFixed(2)}x (aim <= 1.2x)`);
  console.log(`native CLI load, same files: ${nativeLoad.toFixed(0)} ms (browser/native ${(readyMs / nativeLoad).toFixed(2)}x)`);
  await context.close();
}
