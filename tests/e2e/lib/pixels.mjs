import { decodePng } from './png.mjs';

// Pixel checks from real screenshots (not from the app's own claims): how
// much of an element's screenshot differs from its background (top-left
// pixel), how many grey levels it has, and how many pixels are lit orange
// or blue (the first two segment colours; `path` keeps the screenshot).
export async function screenshotStats(locator, path = undefined) {
  const png = await locator.screenshot({ path });
  // Decoded here, not in the app's page: the app's page measures its own
  // long tasks, and a pixel loop there would be counted against the app.
  const bitmap = decodePng(png);
  const { data } = bitmap;
  // Background: the colour of the bottom-left corner region's first pixel
  // row (views draw their image centred, overlays at the edges).
  const [br, bg, bb] = [data[0], data[1], data[2]];
  let foreground = 0;
  let orange = 0;
  let blue = 0;
  const sums = { orange: [0, 0], blue: [0, 0] };
  const levels = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    const d = Math.abs(r - br) + Math.abs(g - bg) + Math.abs(b - bb);
    if (d > 60) foreground += 1;
    levels.add(r >> 3);
    // Orange (g/r about 0.6 lit), not the crop frame's yellow (0.82).
    const [x, y] = [(i / 4) % bitmap.width, Math.floor(i / 4 / bitmap.width)];
    if (r > 80 && r > b + 60 && g < 0.72 * r) {
      orange += 1;
      sums.orange[0] += x;
      sums.orange[1] += y;
    }
    if (b > 80 && b > r + 60) {
      blue += 1;
      sums.blue[0] += x;
      sums.blue[1] += y;
    }
  }
  const pixels = data.length / 4;
  return {
    width: bitmap.width,
    height: bitmap.height,
    background: [br, bg, bb],
    foregroundFraction: foreground / pixels,
    levels: levels.size,
    orange,
    blue,
    // Where each colour's pixels centre (element pixels), for clicking.
    orangeAt: orange ? sums.orange.map((v) => v / orange) : null,
    blueAt: blue ? sums.blue.map((v) => v / blue) : null,
  };
}
