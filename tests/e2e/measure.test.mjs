// The measurement tools in a real headless Chromium on the demo spine:
// a Cobb angle of two lines drawn 20° apart, an angle of 90°, a distance
// across L3's body (its depth is known from the generator), an HU region
// in L3's cancellous core (230 HU in the generator); values read back from
// the panel and from the CSV; one deleted; the list kept with the volume
// (numbers only) and back after a reload; nothing leaves the origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './lib/server.mjs';
import { ARTIFACTS, clickViewAt, openApp } from './lib/browser.mjs';

let server;
before(async () => {
  server = await startServer(process.env.INSITU_DIST ?? 'dist');
});
after(() => server?.close());

// The demo's L3 (crates/volume/src/phantom/): body centre and axis leaning
// 6° forward, half-depth 16.5 mm × 0.94 at its waist.
const L3 = [0, -7.64, 144.31];
const TILT = (6 * Math.PI) / 180;
const ANTERIOR = [0, -Math.cos(TILT), -Math.sin(TILT)];
const HALF_DEPTH = 16.5 * 0.94;
const at = (p, d, s) => p.map((v, i) => v + d[i] * s);

async function items(page) {
  return page.getByTestId('measure-list').locator('li').evaluateAll((lis) => lis.map((li) => ({
    id: Number(li.dataset.id), kind: li.dataset.kind, value: Number(li.dataset.value), text: li.textContent,
  })));
}

async function waitItems(page, n) {
  await page.waitForFunction((k) => document.querySelectorAll('[data-testid="measure-list"] li').length === k, n, { timeout: 60_000 });
  return items(page);
}

async function openDemo(page) {
  await page.getByTestId('open-demo').click();
  await page.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 180_000 });
  await page.waitForSelector('[data-testid="spine-info"][data-state="ready"], [data-testid="spine-info"][data-state="idle"]', { timeout: 180_000 });
}

test('measurements: Cobb, angle, distance and HU region on the demo, CSV, kept with the volume', async () => {
  const { browser, page, errors, network } = await openApp(server, { webgpu: false });
  const dir = path.join(ARTIFACTS, 'measure');
  execFileSync('mkdir', ['-p', dir]);
  try {
    await openDemo(page);
    // The views go to L3's middle (a click in the axial view moves the
    // crosshair, so the sagittal plane passes through x = 0).
    await clickViewAt(page, 'view-axial', [0, -7.64, 0]);
    await page.waitForFunction(() => {
      const p = JSON.parse(document.querySelector('[data-testid="view-sagittal"]').dataset.plane ?? 'null');
      return p && Math.abs(p.centre[0]) < 0.7;
    });
    const sagittal = 'view-sagittal';

    // Cobb: a line along y, then one 20° from it (both in the sagittal plane).
    await page.getByTestId('measure-cobb').click();
    const t = (20 * Math.PI) / 180;
    for (const p of [[0, -40, 120], [0, 20, 120], [0, -40, 175], [0, -40 + 60 * Math.cos(t), 175 + 60 * Math.sin(t)]]) {
      await clickViewAt(page, sagittal, p);
    }
    let list = await waitItems(page, 1);
    console.log(`cobb: ${list[0].text}`);
    assert.equal(list[0].kind, 'cobb');
    assert.ok(Math.abs(list[0].value - 20) <= 1, `Cobb ${list[0].value}`);

    // A right angle.
    await page.getByTestId('measure-angle').click();
    for (const p of [[0, 40, 100], [0, 0, 100], [0, 0, 140]]) await clickViewAt(page, sagittal, p);
    list = await waitItems(page, 2);
    assert.ok(Math.abs(list[1].value - 90) <= 1, `angle ${list[1].value}`);

    // Across L3's body at mid-height: within one voxel of the generator's depth.
    await page.getByTestId('measure-distance').click();
    await clickViewAt(page, sagittal, at(L3, ANTERIOR, HALF_DEPTH));
    await clickViewAt(page, sagittal, at(L3, ANTERIOR, -HALF_DEPTH));
    list = await waitItems(page, 3);
    console.log(`L3 depth: ${list[2].text} (generator ${(2 * HALF_DEPTH).toFixed(2)} mm)`);
    assert.ok(Math.abs(list[2].value - 2 * HALF_DEPTH) <= 1.2, `distance ${list[2].value}`);

    // An HU region in L3's cancellous core.
    await page.getByTestId('measure-roi').click();
    await clickViewAt(page, sagittal, L3);
    await clickViewAt(page, sagittal, [0, L3[1] + 6, L3[2] + 5]);
    list = await waitItems(page, 4);
    console.log(`region: ${list[3].text}`);
    assert.ok(Math.abs(list[3].value - 230) <= 15, `mean ${list[3].value}`);
    await page.getByTestId('measure-roi').click(); // back to navigating

    // Drawn on the sagittal view (its plane holds them all).
    await page.waitForFunction(() => document.querySelector('[data-testid="view-sagittal"]').dataset.measurements === '1,2,3,4');
    // Their values whole inside the view and none over another (the Cobb
    // angle's, the distance's and the region's would meet beside L3).
    const plane = JSON.parse(await page.getByTestId(sagittal).getAttribute('data-plane'));
    const boxes = (await page.getByTestId(sagittal).getAttribute('data-value-boxes')).split(';').map((b) => b.split(',').map(Number));
    console.log(`values at ${JSON.stringify(boxes)} in ${plane.width} x ${plane.height}`);
    assert.equal(boxes.length, 4);
    for (const [x, y, w, h] of boxes) {
      assert.ok(x >= 0 && y >= 0 && x + w <= plane.width && y + h <= plane.height, `value box ${[x, y, w, h]} outside the view`);
    }
    const meet = (a, b) => a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => assert.ok(!meet(a, b), `values over each other: ${a} and ${b}`)));
    await page.getByTestId(sagittal).screenshot({ path: path.join(dir, 'sagittal-measurements.png') });

    // The CSV says what the panel says.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('measure-export-csv').click()]);
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const rows = readFileSync(file, 'utf8').trim().split('\n').map((r) => r.split(','));
    assert.deepEqual(rows[0].slice(0, 4), ['id', 'kind', 'value', 'unit']);
    assert.equal(rows.length, 5);
    for (const [i, item] of list.entries()) {
      assert.equal(rows[i + 1][1], item.kind);
      assert.ok(Math.abs(Number(rows[i + 1][2]) - item.value) < 0.06, `${item.kind}: csv ${rows[i + 1][2]} vs ${item.value}`);
    }
    assert.equal(rows[1][3], 'deg');
    assert.equal(rows[3][3], 'mm');
    assert.equal(rows[4][3], 'HU');

    // Delete the angle; the rest stay.
    await page.getByTestId('measure-list').locator('li').nth(1).getByTestId('measure-delete').click();
    list = await waitItems(page, 3);
    assert.deepEqual(list.map((m) => m.kind), ['cobb', 'distance', 'region']);

    // Kept with the volume: back after a reload, when the demo opens again.
    await page.waitForTimeout(1500);
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    await openDemo(page);
    const back = await waitItems(page, 3);
    assert.deepEqual(back.map((m) => [m.kind, m.value]), list.map((m) => [m.kind, m.value]));
    assert.deepEqual(network.foreign, [], 'no request outside the origin');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
