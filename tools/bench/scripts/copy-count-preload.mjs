// Loaded into a process with NODE_OPTIONS=--import=<this file> (the copies
// bench loads it into its own process too): counts every copy of at least
// BENCH_COPY_MIN_BYTES bytes made in JavaScript, by call site, and keeps
// BENCH_COPY_COUNT_DIR/<pid>.json up to date. A copy is a Buffer's copy(),
// a typed array's set(), Buffer.concat() or Buffer.from() of another array;
// views (subarray, Buffer.from of an ArrayBuffer) are not copies. Copies made
// in native code (nghttp2, LevelDB) are not seen. Off unless the directory
// is set; only for measuring (pnpm bench --copies).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_COPY_COUNT_DIR;
if (dir) {
  const minBytes = Number(process.env.BENCH_COPY_MIN_BYTES ?? 512 * 1024);
  /** site -> { copies, bytes } */
  const sites = new Map();
  let depth = 0;
  let flushTimer;
  const path = join(dir, `${process.pid}.json`);
  const flush = () => {
    flushTimer = undefined;
    try {
      writeFileSync(path, JSON.stringify({ pid: process.pid, sites: Object.fromEntries(sites) }));
    } catch {
      // The directory is gone: whoever reads the counts has finished.
    }
  };
  const count = (bytes) => {
    if (depth > 0 || bytes < minBytes) return;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 60;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    const site = siteOf(stack);
    const s = sites.get(site) ?? { copies: 0, bytes: 0 };
    s.copies++;
    s.bytes += bytes;
    sites.set(site, s);
    flushTimer ??= setTimeout(flush, 50).unref();
  };
  // One copy is counted once, however many patched functions it passes through.
  const wrap = (obj, name, bytesOf) => {
    const original = obj[name];
    obj[name] = function (...args) {
      count(bytesOf.call(this, ...args));
      depth++;
      try {
        return original.apply(this, args);
      } finally {
        depth--;
      }
    };
  };
  wrap(Buffer.prototype, 'copy', function (target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    return Math.max(0, Math.min(sourceEnd, this.length, sourceStart + target.length - targetStart) - sourceStart);
  });
  wrap(Uint8Array.prototype, 'set', (source) => (source && typeof source.length === 'number' ? source.length : 0));
  wrap(Buffer, 'concat', (list, total) => (total ?? list.reduce((n, b) => n + b.length, 0)));
  wrap(Buffer, 'from', (value) => (ArrayBuffer.isView(value) ? value.byteLength : 0));
  process.once('exit', flush);
}

/** The first frame outside this file and Node's internals, then the next two in Bellwether's own code: what copied, for whom. */
function siteOf(stack) {
  const frames = stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''))
    .filter((l) => !l.includes('copy-count-preload') && !l.includes('node:'));
  const short = (f) => {
    const m = /^(.*?) \((.*)\)$/.exec(f);
    const [fn, where] = m ? [`${m[1]} `, m[2]] : ['', f];
    return fn + where.replace(/^.*\/node_modules\//, '').replace(/^.*\/(packages|apps|tools)\//, '$1/').replace(/^file:\/\//, '');
  };
  const own = (f) => /\/(packages|apps|tools)\//.test(f) && !f.includes('node_modules');
  const [first, ...rest] = frames;
  if (first === undefined) return '?';
  return [first, ...rest.filter(own).slice(0, 2)].map(short).join(' <- ');
}
