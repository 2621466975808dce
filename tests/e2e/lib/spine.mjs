// Timing the spine analysis as the user waits for it, shared by the
// benchmarks.

/**
 * Clicks "Find the spine" and times the answer on the page's clock: from
 * the click to `spine-info` turning `ready` or `error` in the DOM.
 * Playwright's own wait polls on animation frames, which a software GPU
 * drawing large surfaces holds back (in a probe of the 512²×2500 phantom
 * the answer was in the DOM 27.5 s after the click and seen by Playwright
 * at 48.7 s): `seenMs` says when Playwright saw it.
 * @returns {Promise<{ms: number, seenMs: number, state: string}>}
 */
export async function timeSpineAnswer(page, timeout) {
  await page.evaluate(() => {
    const info = document.querySelector('[data-testid="spine-info"]');
    window.__spine = { clicked: null, answered: null };
    new MutationObserver(() => {
      if (window.__spine.clicked !== null && ['ready', 'error'].includes(info.dataset.state)) {
        window.__spine.answered ??= performance.now();
      }
    }).observe(info, { attributes: true, attributeFilter: ['data-state'] });
    document.querySelector('[data-testid="spine-run"]')
      .addEventListener('click', () => { window.__spine.clicked = performance.now(); }, { capture: true, once: true });
  });
  const started = Date.now();
  await page.getByTestId('spine-run').click();
  await page.waitForSelector('[data-testid="spine-info"][data-state="ready"], [data-testid="spine-info"][data-state="error"]', { timeout });
  const seenMs = Date.now() - started;
  const ms = await page.evaluate(() => window.__spine.answered - window.__spine.clicked);
  const state = await page.getByTestId('spine-info').getAttribute('data-state');
  return { ms, seenMs, state };
}
