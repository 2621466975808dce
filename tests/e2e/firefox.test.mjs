// Firefox ESR, as many hospital machines have it (Debian's, headless, driven
// over WebDriver BiDi by puppeteer-core; Playwright drives only its own
// patched Firefox). A real CT is opened from its files, drawn, cached,
// found again after a reload by its files' stamp, and its spine analysed;
// nothing but the app's own origin is asked for. Headless Firefox here has
// no WebGL or WebGPU: the 3D view says so, the rest runs on the CPU.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { startServer } from './lib/server.mjs';
import { ARTIFACTS } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = process.env.INSITU_FIXTURES ?? path.resolve(HERE, '../../../shared/fixtures');
const CHEST_CT = path.join(FIXTURES, 'lidc-chest-ct');
const FIREFOX = process.env.INSITU_FIREFOX ?? '/usr/bin/firefox-esr';

let server;
before(async () => {
  server = await startServer(process.env.INSITU_DIST ?? 'dist');
});
after(() => server?.close());

/**
 * Opens `dir`'s files through the file input; the load status once ready.
 * Where no load began (the status still idle), the files are set again,
 * and that is said; a load that began and never ends fails with every
 * status it showed and all the app logged. (That history found why one
 * cold load in about twenty stayed at "Decoding…": the study worker was
 * blocked inside Firefox's `new Worker` for a decoder; the page starts
 * them now.)
 */
async function openFiles(page, dir, logged) {
  const files = readdirSync(dir).map((name) => path.join(dir, name));
  const status = () => page.$eval('[data-testid="load-status"]', (s) => ({ ...s.dataset, text: s.textContent }));
  await page.evaluate(() => {
    window.__statusLog = [];
    const s = document.querySelector('[data-testid="load-status"]');
    new MutationObserver(() => window.__statusLog.push(`${(performance.now() / 1000).toFixed(2)} s: ${s.textContent}`))
      .observe(s, { childList: true, characterData: true, subtree: true });
  });
  const before = await status();
  for (let attempt = 1; ; attempt++) {
    await (await page.$('[data-testid="open-files"]')).uploadFile(...files);
    const began = await page
      .waitForFunction((old) => {
        const s = document.querySelector('[data-testid="load-status"]');
        return s.dataset.state !== 'idle' && s.textContent !== old;
      }, { timeout: 15_000 }, before.text)
      .then(() => true, () => false);
    if (began) break;
    const now = await status();
    assert.ok(attempt < 2, `no load began after the files were set twice: ${JSON.stringify(now)}`);
    console.log(`the files were set but no load began (${JSON.stringify(now)}): set again`);
  }
  try {
    await page.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 120_000 });
  } catch (e) {
    console.log(`never ready: ${JSON.stringify(await status())}\n${logged.join('\n')}`);
    console.log(`statuses: ${(await page.evaluate(() => window.__statusLog)).join(' | ')}`);
    throw e;
  }
  return status();
}

/** Distinct grey levels in the middle row of a 2D view's canvas. */
async function greyLevels(page, testId) {
  return page.$eval(`[data-testid="${testId}"]`, (canvas) => {
    const ctx = canvas.getContext('2d');
    const row = ctx.getImageData(0, Math.floor(canvas.height / 2), canvas.width, 1).data;
    const seen = new Set();
    for (let i = 0; i < row.length; i += 4) seen.add(row[i]);
    return seen.size;
  });
}

test('Firefox ESR: a real CT opens, is drawn, cached, found again after a reload and its spine named', async () => {
  assert.ok(existsSync(FIREFOX), `Firefox ESR at ${FIREFOX} (xtask setup installs firefox-esr)`);
  const profile = await mkdtemp(path.join(os.tmpdir(), 'insitu-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    protocol: 'webDriverBiDi',
    userDataDir: profile,
  });
  try {
    // The tab Firefox opened with, in front: no second tab beside it.
    const [page] = await browser.pages();
    await page.bringToFront();
    await page.setViewport({ width: 1280, height: 800 });
    const errors = [];
    const deprecated = [];
    const foreign = [];
    const logged = [];
    page.on('console', (m) => {
      logged.push(`${m.type()}: ${m.text().slice(0, 300)}`);
      if (m.type() === 'error') errors.push(m.text());
      // wasm-bindgen's warning for a loader passing it deprecated arguments
      // (Trunk's worker shim did; `www/insitu-worker_loader.js` does not).
      if (/deprecated/i.test(m.text())) deprecated.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      const url = r.url();
      // data: URLs are no request to anywhere (the browser's own UI uses them).
      if (!url.startsWith('data:') && new URL(url).origin !== server.origin) foreign.push(url);
    });
    await page.goto(server.url);
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });

    const cold = await openFiles(page, CHEST_CT, logged);
    console.log(`cold: ${cold.text}`);
    assert.equal(cold.cache, 'miss', cold.text);
    await page.waitForSelector('[data-testid="slice-engine"][data-drawn]', { timeout: 60_000 });
    const info = await page.$eval('[data-testid="volume-info"]', (e) => e.textContent);
    assert.match(info, /512 × 512 × 275 voxels/);
    for (const view of ['view-axial', 'view-coronal', 'view-sagittal']) {
      const levels = await greyLevels(page, view);
      assert.ok(levels > 20, `${view}: ${levels} grey levels across its middle row`);
    }
    await page.waitForSelector('[data-testid="load-status"][data-cache="stored"]', { timeout: 120_000 });
    // The bone surface is made on the CPU; with no WebGL the 3D view says why.
    await page.waitForSelector('[data-testid="mesh-info"][data-state="ready"]', { timeout: 120_000 });
    const mesh = await page.$eval('[data-testid="mesh-info"]', (e) => ({ ...e.dataset }));
    assert.ok(Number(mesh.triangles) > 1_000_000, `surface of ${mesh.triangles} triangles`);
    assert.equal(mesh.watertight, 'yes');
    await page.screenshot({ path: path.join(ARTIFACTS, 'firefox-chest-ct.png') });

    // After a reload the same files are found by their stamp in the cache
    // (IndexedDB and the origin's private files), then checked.
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    const again = await openFiles(page, CHEST_CT, logged);
    console.log(`again: ${again.text}`);
    assert.equal(again.cache, 'hit', again.text);
    await page.waitForSelector('[data-testid="load-status"][data-checked="same"]', { timeout: 120_000 });

    await page.click('[data-testid="spine-run"]');
    await page.waitForSelector('[data-testid="spine-info"][data-state="ready"]', { timeout: 180_000 });
    const names = await page.$$eval('[data-testid="spine-list"] > [data-name]', (items) => items.map((i) => i.dataset.name));
    const levels = await page.$eval('[data-testid="spine-levels"]', (e) => e.textContent);
    console.log(`spine: ${names.join(' ')}; ${levels}`);
    assert.ok(names.length >= 10, `vertebrae named: ${names}`);
    assert.ok(names.some((n) => /^T\d+$/.test(n)), `thoracic names: ${names}`);
    assert.match(levels, /uncertain/i, 'a thoracic-only scan says its levels are a guess');
    await page.screenshot({ path: path.join(ARTIFACTS, 'firefox-chest-ct-spine.png') });

    assert.deepEqual(errors, [], 'console errors');
    assert.deepEqual(deprecated, [], 'deprecation warnings');
    assert.deepEqual(foreign, [], 'requests to other origins');
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
});
