// Pixel checks from real screenshots (not from the app's own claims): how
// much of an element's screenshot differs from its background (top-left
// pixel), and how many grey levels it has.
export async function screenshotStats(page, locator) {
  const png = await locator.screenshot();
  return page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    // Background: the colour of the bottom-left corner region's first pixel
    // row (views draw their image centred, overlays at the edges).
    const [br, bg, bb] = [data[0], data[1], data[2]];
    let foreground = 0;
    const levels = new Set();
    for (let i = 0; i < data.length; i += 4) {
      const d = Math.abs(data[i] - br) + Math.abs(data[i + 1] - bg) + Math.abs(data[i + 2] - bb);
      if (d > 60) foreground += 1;
      levels.add(data[i] >> 3);
    }
    const pixels = data.length / 4;
    return {
      width: bitmap.width,
      height: bitmap.height,
      background: [br, bg, bb],
      foregroundFraction: foreground / pixels,
      levels: levels.size,
    };
  }, png.toString('base64'));
}
