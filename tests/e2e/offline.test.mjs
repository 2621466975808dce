// Offline / air-gapped use: after one visit the service worker has the app
// shell, and with the network cut the page reloads, starts and opens the
// demo. The manifest makes the app installable. Over the whole session no
// request leaves the app's origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { openApp } from './lib/browser.mjs';

let server;
before(async () => {
  server = await startServer(process.env.INSITU_DIST ?? 'dist');
});
after(() => server?.close());

test('after one visit the app starts and opens the demo with the network cut', async () => {
  const { browser, context, page, errors, network } = await openApp(server, { webgpu: false });
  try {
    await page.waitForSelector('html[data-offline="ready"]', { timeout: 30_000 });
    // The shell is cached under this build's name.
    const caches = await page.evaluate(async () => {
      const names = await caches.keys();
      const cache = await caches.open(names.find((n) => n.startsWith('insitu-shell-')));
      return { names, urls: (await cache.keys()).map((r) => new URL(r.url).pathname) };
    });
    console.log(`cache ${caches.names.join(', ')}: ${caches.urls.join(' ')}`);
    for (const file of ['/insitu-web_bg.wasm', '/insitu-worker_bg.wasm', '/index.html']) {
      assert.ok(caches.urls.includes(file), `${file} is not cached`);
    }
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector('link[rel="manifest"]');
      return (await fetch(link.href)).json();
    });
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, './');

    await context.setOffline(true);
    const requestsBefore = network.seen.length;
    await page.reload();
    await page.waitForSelector('html[data-app="running"]', { timeout: 90_000 });
    // The network really is gone: what the shell does not hold fails.
    const quietBefore = errors.length;
    const uncached = await page.evaluate(() => fetch('./not-in-the-shell.txt').then(() => 'fetched', () => 'failed'));
    assert.equal(uncached, 'failed');
    // (Chromium logs that deliberate failure; it is the only error allowed.)
    await page.waitForTimeout(100);
    const expected = errors.splice(quietBefore);
    assert.ok(expected.every((e) => /ERR_FAILED/.test(e)), expected.join('\n'));
    await page.getByTestId('open-demo').click();
    await page.waitForSelector('[data-testid="load-status"][data-state="ready"]', { timeout: 120_000 });
    assert.match(await page.getByTestId('volume-info').textContent(), /288 × 288 × 300 voxels/);
    console.log(`offline reload: ${network.seen.length - requestsBefore} requests, all answered by the service worker`);
    assert.deepEqual(errors, []);
    assert.deepEqual(network.foreign, []);
  } finally {
    await browser.close();
  }
});
