// The memory of the browser this process launched, as the system counts it:
// the proportional set size (PSS) of every process below this one, summed by
// Chromium process type (browser, renderer, gpu-process, utility, zygote).
// Wasm heaps are only part of it: the renderer also holds the page's and the
// workers' JavaScript (and garbage awaiting collection), the browser process
// IndexedDB's writes. Linux only (`/proc`); elsewhere it reads nothing.
import { readFileSync, readdirSync } from 'node:fs';

function parentOf(pid) {
  // `pid (name) state ppid …`: the name may hold spaces, so read after it.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** PSS bytes per process type of every process descended from this one. */
export function browserMemory() {
  let pids;
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
  } catch {
    return {};
  }
  const parents = new Map();
  for (const pid of pids) {
    try { parents.set(pid, parentOf(pid)); } catch { /* gone */ }
  }
  const below = (pid) => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === process.pid) return true;
    }
    return false;
  };
  const by = {};
  for (const pid of pids.filter(below)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const type = (/--type=([a-z-]+)/.exec(cmd) ?? [, 'browser'])[1];
      const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) * 1024;
      by[type] = (by[type] ?? 0) + pss;
    } catch { /* gone, or not ours to read */ }
  }
  return by;
}

/** The sum of a `browserMemory()` reading. */
export const total = (by) => Object.values(by).reduce((a, b) => a + b, 0);

/**
 * Samples `browserMemory()` every `ms` until `stop()`: the reading before,
 * the one with the highest total, and the highest of each type.
 */
export function watchBrowserMemory(ms = 25) {
  const before = browserMemory();
  let peak = before;
  const peakOf = { ...before };
  const timer = setInterval(() => {
    const now = browserMemory();
    for (const [type, bytes] of Object.entries(now)) peakOf[type] = Math.max(peakOf[type] ?? 0, bytes);
    if (total(now) > total(peak)) peak = now;
  }, ms);
  return {
    stop() {
      clearInterval(timer);
      return { before, peak, peakOf, after: browserMemory() };
    },
  };
}
