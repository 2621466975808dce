// Memory limits in a real headless Chromium: a series whose headers claim
// more voxels than a browser tab can hold (1024² × 1700 slices, 3.6 GB of
// i16, in 60 MB of RLE files) is refused before anything is decoded,
// with a message that says how much it needs, and the open study stays;
// the reduced loads that fit are offered, and one read reduced covers the
// same patient space.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { openApp, studyWorker } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.INSITU_PYTHON ?? 'python3';

let server;
let oversize;
before(async () => {
  server = await startServer(process.env.INSITU_DIST ?? 'dist');
  oversize = await mkdtemp(path.join(os.tmpdir(), 'insitu-oversize-'));
  execFileSync(PYTHON, [path.join(HERE, 'lib/oversize_series.py'), oversize]);
});
after(async () => {
  await server?.close();
  if (oversize) await rm(oversize, { recursive: true, force: true });
});

test('a series too large for a browser tab is said before decoding, the open study stays, and a reduced load covers the same space', async () => {
  const { browser, page, errors, network } = await openApp(server, { webgpu: false });
  try {
    await page.getByTestId('open-demo').click();
    await page.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 180_000 });
    const demo = await page.getByTestId('volume-info').textContent();
    const worker = studyWorker(page);
    // The demo opens labelled: its spine analysis and then its vertebrae's
    // surfaces (one at a time) follow the views. The heap is measured once
    // they are done and it has stopped growing.
    await page.waitForSelector('[data-testid="spine-info"][data-state="ready"]', { timeout: 180_000 });
    let heapBefore = await worker.evaluate(() => wasm_bindgen.heapBytes());
    for (let settled = 0; settled < 4;) {
      await page.waitForTimeout(500);
      const heap = await worker.evaluate(() => wasm_bindgen.heapBytes());
      settled = heap === heapBefore ? settled + 1 : 0;
      heapBefore = heap;
    }

    await page.getByTestId('open-folder').setInputFiles(oversize);
    await page.waitForSelector('[data-testid="load-status"][data-state="error"]', { timeout: 180_000 });
    const message = await page.getByTestId('load-status').textContent();
    console.log(`oversize: ${message}`);
    assert.match(message, /needs 3\.57 GB of memory/);
    assert.match(message, /nothing was decoded/);
    // Nothing volume-sized was allocated for it, and the demo is still open.
    const heapAfter = await worker.evaluate(() => wasm_bindgen.heapBytes());
    console.log(`heap: ${(heapBefore / 1e6).toFixed(1)} MB with the labelled demo, ${(heapAfter / 1e6).toFixed(1)} MB after the refusal`);
    assert.ok(heapAfter - heapBefore < 64e6, `heap grew by ${((heapAfter - heapBefore) / 1e6).toFixed(0)} MB`);
    assert.equal(await page.getByTestId('volume-info').textContent(), demo);
    // Still usable: a redraw of the open study's views comes back.
    await page.getByTestId('view-axial').hover();
    await page.mouse.wheel(0, 120);
    await page.waitForFunction(() => document.querySelector('[data-testid="slice-engine"]').dataset.engine, null, { timeout: 30_000 });

    // The reduced loads that fit are offered; every second slice in 2×2
    // blocks: 512 × 512 × 850 voxels of 1 mm covering the same space.
    const offers = page.getByTestId('reduced-offers').getByTestId('reduced-load');
    console.log(`offers: ${(await offers.allTextContents()).join(' | ')}`);
    assert.equal(await offers.count(), 4);
    await page.locator('[data-testid="reduced-load"][data-slice-step="2"][data-block="2"]').click();
    await page.waitForSelector('[data-testid="load-status"][data-state="ready"], [data-testid="load-status"][data-state="error"]', { timeout: 300_000 });
    console.log(`reduced: ${await page.getByTestId('load-status').textContent()} · ${await page.getByTestId('volume-info').textContent()}`);
    assert.equal(await page.getByTestId('load-status').getAttribute('data-state'), 'ready');
    const info = await page.getByTestId('volume-info').textContent();
    assert.match(info, /512 × 512 × 850 voxels/);
    assert.match(await page.getByTestId('warnings').textContent(), /read reduced to fit memory: every second slice, 2×2 pixel blocks averaged/);
    // Same physical extent: voxel centres 0.25 mm in from the full grid's
    // first ones, 1 mm apart (the full grid: 0.5 mm, 1024 × 1024 × 1700).
    const plane = JSON.parse(await page.getByTestId('view-axial').getAttribute('data-plane'));
    console.log(`axial plane after the reduced load: ${JSON.stringify(plane.centre)}`);
    assert.ok(Math.abs(plane.centre[0] - 255.75) < 0.6 && Math.abs(plane.centre[1] - 255.75) < 0.6, `${plane.centre}`);
    assert.ok(Math.abs(plane.centre[2] - 424.5) < 1.1, `${plane.centre}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
  }
});

test('a series deeper than a GPU 3D texture is resliced on the CPU, and the 2D views say why', async () => {
  // 16 × 16 × 2,100 voxels: WebGPU's 3D textures hold 2,048 a side by
  // default. The first views are drawn on the CPU while the volume is
  // copied to the GPU; the copy is refused, and the views are drawn again,
  // on the CPU, with the limit named instead of "still being copied".
  const deep = await mkdtemp(path.join(os.tmpdir(), 'insitu-deep-'));
  execFileSync(PYTHON, [path.join(HERE, 'lib/oversize_series.py'), deep, '16', '2100']);
  // GPU slices asked for: "Auto" keeps them on the CPU on a software GPU.
  const { browser, page, errors, network } = await openApp(server, { query: '?slices=gpu' });
  try {
    await page.getByTestId('open-folder').setInputFiles(deep);
    await page.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 180_000 });
    assert.match(await page.getByTestId('volume-info').textContent(), /16 × 16 × 2100 voxels/);
    const label = page.getByTestId('slice-engine');
    await page.waitForFunction(
      () => !/still being copied/.test(document.querySelector('[data-testid="slice-engine"]').title),
      null,
      { timeout: 60_000 },
    );
    const title = await label.getAttribute('title');
    console.log(`2,100 slices: ${await label.textContent()} (${title})`);
    assert.equal(await label.getAttribute('data-engine'), 'cpu');
    assert.match(title, /the volume has 2100 voxels along an axis; this GPU's 3D textures hold \d+/);
    // Still drawn there: a scroll brings a new axial slice.
    const drawn = Number(await label.getAttribute('data-drawn'));
    const before = await page.getByTestId('view-axial').getAttribute('data-plane');
    await page.getByTestId('view-axial').hover();
    await page.mouse.wheel(0, 120);
    await page.waitForFunction(
      (plane) => document.querySelector('[data-testid="view-axial"]').dataset.plane !== plane,
      before,
      { timeout: 30_000 },
    );
    assert.ok(drawn > 0);
    assert.equal(await label.getAttribute('data-engine'), 'cpu');
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
    await rm(deep, { recursive: true, force: true });
  }
});
