// The segment workbench in a real headless Chromium, on the demo spine:
// a crop box around one vertebra, its cortical bone grown from a click on
// a pedicle (a hollow shell), the cancellous core filled as a hole; a
// second vertebra by threshold in another box; two colours in the 3D view (from screenshot pixels); 3MF and GLB read back by lib3mf and
// trimesh; undo three times; reload and reopen from "On this computer"
// with both segments back; a name the user typed never reaches storage;
// no request leaves the origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { ARTIFACTS, clickViewAt, openApp as openAppOn, watchOpening } from './lib/browser.mjs';
import { screenshotStats } from './lib/pixels.mjs';
import { searchStorage } from './lib/storage_dump.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.INSITU_PYTHON ?? 'python3';
const PARTS_CHECK = path.join(HERE, '../reference/parts_check.py');

let server;
before(async () => {
  server = await startServer(process.env.INSITU_DIST ?? 'dist');
});
after(() => server?.close());

// The demo spine (crates/volume/src/phantom/): 288 × 288 × 300 voxels of
// 1.2 × 1.2 × 1 mm, voxel (0, 0, 0) at (-172.2, -172.2, 0) mm. L3's body
// centre is at (0, -7.6, 144.3) mm, 26 mm tall and leaning 6° forward; at
// z = 145 its pedicles are 11–14 mm to either side, 25–33 mm behind it; each
// vertebra (body, pedicles, laminae, processes) is one piece of bone, apart
// from its neighbours.
const ORIGIN = -172.2;
const SPACING = [1.2, 1.2, 1.0];
const world = (ijk) => ijk.map((v, a) => (a < 2 ? ORIGIN : 0) + v * SPACING[a]);
const L3_CENTRE = [0, -7.6, 144.3];
// L3 (body z 131..157, arch and processes z 122..166) and L2 above it.
const FIRST_BOX = { i: [100, 190], j: [115, 200], k: [124, 166] };
const SECOND_BOX = { i: [100, 190], j: [110, 200], k: [167, 205] };
const TYPED = 'ZZTYPED^NAME 1961';

async function waitReady(page) {
  await page.waitForSelector('[data-testid="load-status"][data-state="ready"], [data-testid="load-status"][data-state="error"]', { timeout: 180_000 });
  assert.equal(await page.getByTestId('load-status').getAttribute('data-state'), 'ready');
}

/** Segment rows as the list shows them. */
async function rows(page) {
  return page.getByTestId('segment-list').locator('li').evaluateAll((items) => items.map((li) => ({
    label: Number(li.dataset.label),
    voxels: Number(li.dataset.voxels),
    name: li.querySelector('input[type=text]').value,
  })));
}

/** Waits until the list's rows satisfy `ok` (each edit answers with a new list). */
async function waitRows(page, ok, what) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const now = await rows(page);
    if (ok(now)) return now;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(now)} (${await page.getByTestId('segment-info').textContent()})`);
    await page.waitForTimeout(100);
  }
}

async function setCrop(page, box) {
  const details = page.getByTestId('crop-box');
  if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
  for (const axis of ['i', 'j', 'k']) {
    await page.getByTestId(`crop-${axis}0`).fill(String(box[axis][0]));
    await page.getByTestId(`crop-${axis}1`).fill(String(box[axis][1]));
  }
  await page.getByTestId('crop-apply').click();
  const size = `${box.i[1] - box.i[0] + 1} × ${box.j[1] - box.j[0] + 1} × ${box.k[1] - box.k[0] + 1} voxels`;
  await page.waitForFunction((size) => document.querySelector('[data-testid="crop-info"]').textContent === size, size);
}

/** 3D-view pixels lit orange (segment 1) and blue (segment 2): counts and centres. */
async function colourCounts(page) {
  const { orange, blue, orangeAt, blueAt } = await screenshotStats(page.getByTestId('view-3d'), path.join(ARTIFACTS, 'segments-3d.png'));
  return { orange, blue, orangeAt, blueAt };
}

/** The label of the row the list marks active. */
async function activeLabel(page) {
  return page.getByTestId('segment-list').locator('li[data-active="true"]').getAttribute('data-label');
}

async function download(page, testId, dir) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const where = path.join(dir, file.suggestedFilename());
  await file.saveAs(where);
  return where;
}

test('segment workbench: crop, grow, fill, threshold, two colours, 3MF/GLB, undo, reopen, nothing typed at rest', async () => {
  const { browser, page, errors, network } = await openAppOn(server, { webgpu: false });
  const dir = path.join(ARTIFACTS, 'segments');
  execFileSync('mkdir', ['-p', dir]);
  try {
    await page.getByTestId('open-demo').click();
    await waitReady(page);
    // The demo is kept like a study, so its segments can be.
    await page.waitForSelector('[data-testid="load-status"][data-cache="stored"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 240_000 });
    // The demo opens labelled by the spine analysis; one undo takes its
    // vertebrae away, and the workbench starts empty.
    await page.waitForSelector('[data-testid="spine-info"][data-state="ready"]', { timeout: 120_000 });
    await waitRows(page, (r) => r.length >= 9, 'the demo labelled');
    await page.getByTestId('undo').click();
    await waitRows(page, (r) => r.length === 0, 'the labels undone');

    // First segment: L3, its cortical bone (300 HU and up: the cancellous
    // core is 250) grown from a click on the left pedicle, inside a box
    // around the vertebra.
    await page.getByTestId('segment-name').selectOption('L3');
    await page.getByTestId('segment-add').click();
    await waitRows(page, (r) => r.length === 1 && r[0].name === 'L3', 'L3 added');
    await setCrop(page, FIRST_BOX);
    await page.getByTestId('range-low').fill('300');
    await page.getByTestId('range-high').fill('3071');
    await page.getByTestId('tool-grow').click();
    // The views moved to the box's centre slice: click the pedicle there.
    await page.waitForFunction(() => {
      const p = document.querySelector('[data-testid="view-axial"]').dataset.plane;
      return p && Math.abs(JSON.parse(p).centre[2] - 145) < 0.01;
    });
    const [cx, cy] = L3_CENTRE;
    await clickViewAt(page, 'view-axial', [cx + 13, cy + 28.6, 145]);
    const grown = await waitRows(page, (r) => r[0]?.voxels > 0, 'grown');
    const growMs = Number(await page.getByTestId('segment-info').getAttribute('data-edit-ms'));
    console.log(`grown: ${grown[0].voxels} voxels in ${growMs} ms; ${await page.getByTestId('segment-info').textContent()}`);
    // A whole vertebra's cortical bone: the body's shell and the arch.
    assert.ok(grown[0].voxels > 10_000 && grown[0].voxels < 150_000, String(grown[0].voxels));
    await page.getByTestId('tool-grow').click(); // back to navigating
    // The shell encloses the cancellous core: filled, a solid to print.
    await page.getByTestId('tool-fill-holes').click();
    const filled = await waitRows(page, (r) => r[0].voxels > grown[0].voxels + 10_000, 'filled');
    console.log(`filled: ${filled[0].voxels} voxels`);

    // Second segment: the next vertebra by threshold in its own box.
    await page.getByTestId('segment-name').selectOption('');
    await page.getByTestId('segment-add').click();
    await waitRows(page, (r) => r.length === 2, 'second added');
    await setCrop(page, SECOND_BOX);
    await page.getByTestId('tool-threshold').click();
    const both = await waitRows(page, (r) => r.length === 2 && r[1].voxels > 0, 'thresholded');
    const thresholdMs = Number(await page.getByTestId('segment-info').getAttribute('data-edit-ms'));
    console.log(`segments: ${JSON.stringify(both)}; threshold ${thresholdMs} ms`);
    assert.ok(both[1].voxels > 20_000, 'the second vertebra');
    assert.equal(both[0].voxels, filled[0].voxels, 'the first is untouched');

    // The box limits surfaces too: back to the whole volume, both show.
    await page.getByTestId('crop-reset').click();
    await page.waitForSelector('[data-testid="crop-info"][data-whole="true"]');
    // Two colours in 3D: orange L3, blue Segment 2 (bone surface hidden).
    await page.waitForFunction(() => document.querySelector('[data-testid="view-3d"]').dataset.parts === '2', null, { timeout: 120_000 });
    await page.waitForTimeout(300);
    const colours = await colourCounts(page);
    console.log(`3D pixels: ${JSON.stringify(colours)}`);
    assert.ok(colours.orange > 300 && colours.blue > 300, JSON.stringify(colours));
    // A click on the orange part in 3D selects L3 (Segment 2 is active).
    assert.equal(await activeLabel(page), '2');
    const [ox, oy] = colours.orangeAt;
    await page.getByTestId('view-3d').click({ position: { x: ox, y: oy } });
    await page.waitForFunction(() => document.querySelector('[data-testid="segment-list"] li[data-active="true"]')?.dataset.label === '1', null, { timeout: 30_000 });
    const [bx, by] = colours.blueAt;
    await page.getByTestId('view-3d').click({ position: { x: bx, y: by } });
    await page.waitForFunction(() => document.querySelector('[data-testid="segment-list"] li[data-active="true"]')?.dataset.label === '2', null, { timeout: 30_000 });
    console.log(`3D picks: orange at ${colours.orangeAt.map(Math.round)} selected L3, blue at ${colours.blueAt.map(Math.round)} selected Segment 2`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'segments-workbench.png') });

    // The 2D overlay's style: filled and outlined by default (both colours
    // in the sagittal view through the bodies); no fill and no outline
    // leave the image alone (the blue crosshair's pixels stay).
    const sagittal = page.getByTestId('view-sagittal');
    const shown = await screenshotStats(sagittal);
    assert.ok(shown.orange > 100 && shown.blue > 100, `overlay drawn: ${JSON.stringify(shown)}`);
    const setStyle = (opacity, outline) => page.evaluate(([o, l]) => {
      const range = document.querySelector('[data-testid="overlay-opacity"]');
      range.value = String(o);
      range.dispatchEvent(new Event('input'));
      const box = document.querySelector('[data-testid="overlay-outline"]');
      box.checked = l;
      box.dispatchEvent(new Event('input'));
    }, [opacity, outline]);
    await setStyle(0, false);
    const deadline = Date.now() + 30_000;
    let hidden;
    do {
      await page.waitForTimeout(200);
      hidden = await screenshotStats(sagittal);
    } while ((hidden.orange > 5 || hidden.blue > shown.blue / 2) && Date.now() < deadline);
    console.log(`sagittal overlay pixels, drawn ${JSON.stringify([shown.orange, shown.blue])}, style off ${JSON.stringify([hidden.orange, hidden.blue])}`);
    assert.ok(hidden.orange <= 5 && hidden.blue < shown.blue / 2, `no overlay: ${JSON.stringify(hidden)}`);
    await setStyle(40, true);

    // Undo three times (threshold, the second segment, fill holes): L3 as grown.
    for (let n = 0; n < 3; n++) await page.getByTestId('undo').click();
    // (Each click's answer comes in turn: wait for the third, not the first
    // list with one row.)
    await waitRows(page, (r) => r.length === 1 && r[0].voxels === grown[0].voxels, 'undone x3: the voxel count returns to the grown one');
    for (let n = 0; n < 3; n++) await page.getByTestId('redo').click();
    await waitRows(page, (r) => r.length === 2 && r[0].voxels === filled[0].voxels && r[1].voxels === both[1].voxels, 'redone');

    // A typed name: in memory and in the user's exports only.
    const nameInput = page.getByTestId('segment-list').locator('li').nth(1).locator('input[type=text]');
    await nameInput.fill(TYPED);
    await nameInput.press('Enter');
    await waitRows(page, (r) => r[1].name === TYPED, 'renamed');

    // 3MF and GLB, read back by lib3mf and trimesh.
    const threeMf = await download(page, 'export-3mf', dir);
    const glb = await download(page, 'export-glb', dir);
    const first = world([FIRST_BOX.i[0] - 0.5, FIRST_BOX.j[0] - 0.5, FIRST_BOX.k[0] - 0.5]);
    const last = world([FIRST_BOX.i[1] + 0.5, FIRST_BOX.j[1] + 0.5, FIRST_BOX.k[1] + 0.5]);
    for (const file of [threeMf, glb]) {
      const report = JSON.parse(execFileSync(PYTHON, [PARTS_CHECK, file], { encoding: 'utf8' }));
      console.log(`${path.basename(file)}: ${JSON.stringify(report.parts.map(({ bounds, ...p }) => p))}`);
      assert.equal(report.parts.length, 2, file);
      const byName = Object.fromEntries(report.parts.map((p) => [p.name, p]));
      assert.ok(byName.L3 && byName[TYPED], `names: ${Object.keys(byName)}`);
      for (const part of report.parts) assert.equal(part.watertight, true, `${file} ${part.name}`);
      const near = (a, b) => a.every((v, i) => Math.abs(v - b[i]) <= 4);
      assert.ok(near(byName.L3.color, [232, 132, 52]), `L3 colour ${byName.L3.color}`);
      assert.ok(near(byName[TYPED].color, [70, 160, 230]), `second colour ${byName[TYPED].color}`);
      if (file.endsWith('.3mf')) {
        // In patient mm: the first part lies inside the first crop box.
        const [lo, hi] = byName.L3.bounds;
        for (let a = 0; a < 3; a++) {
          assert.ok(lo[a] >= first[a] - 0.01 && hi[a] <= last[a] + 0.01, `axis ${a}: ${lo[a]}..${hi[a]} outside ${first[a]}..${last[a]}`);
        }
      }
    }

    // Kept on this computer: the latest state (writes waiting together are
    // one write), and never the typed name.
    const list = page.getByTestId('segment-list');
    const keptBefore = Number((await list.getAttribute('data-kept')) ?? 0);
    await page.getByTestId('segment-list').locator('li').nth(0).locator('input[type=checkbox]').uncheck();
    await page.getByTestId('segment-list').locator('li').nth(0).locator('input[type=checkbox]').check();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="segment-list"]').dataset.kept ?? 0) > n, keptBefore, { timeout: 120_000 });
    const dump = await searchStorage(page, [TYPED, 'ZZTYPED']);
    console.log(`persisted: ${JSON.stringify(dump.inventory)}`);
    assert.ok(dump.inventory['indexeddb:insitu-cache/segments'] >= 1, 'segments are kept');
    assert.deepEqual(dump.hits, [], 'the typed name reached storage');

    // Reload, reopen from "On this computer": both segments are back,
    // listed after the volume's first 2D views are drawn (the labelmap,
    // the volume's size, is read back once they are).
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    await watchOpening(page);
    await page.getByTestId('cache-entries').locator('[data-testid="cache-open"]').first().click();
    await waitReady(page);
    const back = await waitRows(page, (r) => r.length === 2, 'reopened');
    console.log(`reopened: ${JSON.stringify(back)}`);
    const order = await page.evaluate(() => window.__opening);
    console.log(`reopened, ms after ready: views drawn ${order.drawn - order.ready}, segments listed ${order.listed - order.ready}`);
    assert.ok(order.drawn <= order.listed, `the views (${order.drawn}) before the segments (${order.listed})`);
    assert.deepEqual(back.map((r) => r.voxels), both.map((r) => r.voxels));
    assert.equal(back[0].name, 'L3');
    assert.equal(back[1].name, 'Segment 2', 'a typed name comes back as the number');
    await page.waitForFunction(() => document.querySelector('[data-testid="view-3d"]').dataset.parts === '2', null, { timeout: 120_000 });
    // The 2D views drawn (with the overlay) before the picture is taken.
    await page.waitForFunction(() => document.querySelector('[data-testid="slice-engine"]').textContent !== '', null, { timeout: 60_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'segments-reopened.png') });
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
  }
});
