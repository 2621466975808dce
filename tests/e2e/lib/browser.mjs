// Launches Debian's Chromium through playwright-core (which never downloads a
// browser) and watches a page for everything a user would not want: console
// errors, uncaught exceptions, and any request leaving the app's origin.
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ARTIFACTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

const BASE_FLAGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** Chromium with WebGPU (SwiftShader) enabled, or with only WebGL2. */
export async function launch({ webgpu }) {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: webgpu ? [...BASE_FLAGS, '--enable-unsafe-webgpu'] : BASE_FLAGS,
  });
}

/**
 * A context on a profile kept on disk in `dir`, as a user's browser is: its
 * IndexedDB and origin private file system are files. (The contexts of
 * `launch` are incognito-like, their storage held in memory, which times
 * differently: 157 MB read through an OPFS sync handle took 236–755 ms
 * there and 105–114 ms on disk.) For timing the cache.
 */
export async function launchProfile(dir, { webgpu, ...options }) {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launchPersistentContext(dir, {
    ...options,
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: webgpu ? [...BASE_FLAGS, '--enable-unsafe-webgpu'] : BASE_FLAGS,
  });
}

/**
 * Records every request of a browser context and aborts (and records) any
 * that would leave `origin`: the test then fails on it, and nothing is sent.
 */
export async function guardNetwork(context, origin) {
  const seen = [];
  const foreign = [];
  const failed = [];
  // Requests the app's service worker answered (from its precache, or by a
  // fetch of its own that is seen as a request of its own): these never
  // reach the server as the page's request.
  const answeredByServiceWorker = [];
  context.on('response', (response) => {
    if (response.fromServiceWorker()) answeredByServiceWorker.push(response.url());
  });
  const record = (request) => {
    seen.push(request.url());
    if (new URL(request.url()).origin !== origin) foreign.push(request.url());
  };
  context.on('request', record);
  context.on('requestfailed', (request) =>
    failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  // Pages are routed (foreign requests aborted before they leave); workers
  // are watched through the context's request events: routing a worker's
  // requests stalls its wasm fetch in Chromium with WebGPU enabled.
  const routing = [];
  context.on('page', (page) => routing.push(page.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    return route.abort('blockedbyclient');
  })));
  // Await before the first navigation: routes are installed asynchronously.
  const ready = () => Promise.all(routing);
  return { seen, foreign, failed, answeredByServiceWorker, ready };
}

/** The page's study worker (the one running `insitu-worker`), or
 * `undefined` before it has started. */
export function studyWorker(page) {
  return page.workers().find((w) => w.url().includes('insitu-worker'));
}

/** Console errors and uncaught page errors, as readable strings. */
export function watchConsole(page) {
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  return errors;
}

/**
 * The app in a fresh browser context, started and ready to drive: network
 * guarded, console watched, UI-thread long tasks recorded from after
 * start-up (wasm compile and GPU set-up are not what the tests measure).
 * `query` is appended to the app's address (e.g. `?decoders=0`).
 */
export async function openApp(server, { webgpu = true, query = '', beforeLoad } = {}) {
  const browser = await launch({ webgpu });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const network = await guardNetwork(context, server.origin);
  const page = await context.newPage();
  const errors = watchConsole(page);
  await page.addInitScript(() => {
    window.__longTasks = [];
    // With their start (ms, the page's clock), to tell which action made them.
    window.__longTaskSpans = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        window.__longTasks.push(entry.duration);
        window.__longTaskSpans.push([entry.startTime, entry.duration]);
      }
    }).observe({ type: 'longtask', buffered: true });
  });
  await network.ready();
  // Set-up that must precede the app's first use of the page (storage quota).
  if (beforeLoad) await beforeLoad(page);
  await page.goto(server.url + query);
  await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
  await page.evaluate(() => { window.__longTasks = []; });
  return { browser, context, page, errors, network };
}

/**
 * Clicks a 2D view at a patient-space point (mm) on its current plane,
 * through the plane the view publishes in `data-plane` (centre, right and
 * down axes, mm per canvas pixel).
 */
export async function clickViewAt(page, testId, point) {
  const canvas = page.getByTestId(testId);
  const plane = JSON.parse(await canvas.getAttribute('data-plane'));
  const d = point.map((v, a) => v - plane.centre[a]);
  const dot = (u, v) => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const px = dot(d, plane.right) / plane.mm_per_pixel + plane.width / 2;
  const py = dot(d, plane.down) / plane.mm_per_pixel + plane.height / 2;
  const box = await canvas.boundingBox();
  await canvas.click({ position: { x: (px * box.width) / plane.width, y: (py * box.height) / plane.height } });
}

/**
 * Drops `paths` (files or folders) on the app's workspace through CDP's
 * drag events, as a user's drag arrives: the page gets directory entries
 * and asks the browser for each `File`.
 */
export async function dropOnWorkspace(page, paths) {
  const cdp = await page.context().newCDPSession(page);
  const box = await page.locator('.workspace').boundingBox();
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) {
    await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  }
}

/**
 * Watches the next opening on the page's clock (`performance.now()`):
 * `window.__opening` gets `clicked` (the next click anywhere), `ready`,
 * `drawn` (the 2D views' first change after `ready`: the volume's own
 * views; opening views from the cache come before it) and `listed` (the
 * segment list's first row).
 */
export async function watchOpening(page) {
  await page.evaluate(() => {
    const b = (window.__opening = {});
    document.addEventListener('click', () => { b.clicked ??= performance.now(); }, { capture: true, once: true });
    new MutationObserver((records) => {
      const now = performance.now();
      for (const r of records) {
        const el = r.target;
        if (el.dataset?.testid === 'load-status' && el.dataset.state === 'ready') b.ready ??= now;
        if (el.dataset?.testid === 'slice-engine' && b.ready) b.drawn ??= now;
      }
      if (document.querySelectorAll('[data-testid="segment-list"] li').length > 0) b.listed ??= now;
    }).observe(document.body, { attributes: true, childList: true, subtree: true });
  });
}
