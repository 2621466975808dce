// A static server for dist/ on loopback that records every request it gets,
// so a test can compare what the browser asked for with what the server saw.
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

/**
 * Serves `dist`. `server.answer(rule)` makes the server misbehave from then
 * on, as a broken network or disk would: `rule(path)` returns 'missing'
 * (404) or 'hold' (never answered, until the server closes) for a request,
 * or nothing to serve it. It returns a function that removes the rule.
 */
export async function startServer(dist) {
  const root = path.resolve(dist);
  await stat(path.join(root, 'index.html')); // fail early if dist/ is not built
  const requests = [];
  const rules = [];
  const held = [];
  const server = http.createServer(async (req, res) => {
    requests.push({ method: req.method, url: req.url });
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const rule = rules.map((r) => r(urlPath)).find(Boolean);
    if (rule === 'missing') {
      res.writeHead(404).end('not found');
      return;
    }
    if (rule === 'hold') {
      held.push(res);
      return;
    }
    let file = path.join(root, urlPath);
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = path.join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-cache',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    answer(rule) {
      rules.push(rule);
      return () => rules.splice(rules.indexOf(rule), 1);
    },
    close: () => {
      for (const res of held) res.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
