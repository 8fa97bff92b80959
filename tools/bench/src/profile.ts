// Summaries of V8 CPU profiles (.cpuprofile, from node --cpu-prof): where
// the server processes spent their CPU, by function and by component.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { table } from './util';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the system a function's source belongs to. */
export function component(url: string): string {
  if (url === '') return '(native code)';
  const m = /packages\/(\w+)\/|apps\/(\w+)\//.exec(url);
  if (m) return `bellwether/${m[1] ?? m[2]}`;
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(@[^/]+\/[^/]+|[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return 'other';
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  byComponent: { name: string; ms: number; share: number }[];
  topFunctions: { name: string; ms: number; share: number }[];
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, number>();
  const comp = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const fname = (cf.functionName || '(anonymous)').slice(0, 60);
    const name = `${fname} ${cf.url ? `${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}` : ''}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + us);
    const c = cf.functionName === '(garbage collector)' ? '(garbage collector)' : cf.functionName === '(program)' ? '(program)' : component(cf.url);
    comp.set(c, (comp.get(c) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: busy ? Math.round((1000 * us) / busy) / 10 : 0 }));
  return { file, totalMs: Math.round(total / 1000), busyMs: Math.round(busy / 1000), byComponent: rank(comp, 12), topFunctions: rank(fn, top) };
}

export function summarizeProfileDir(dir: string): ProfileSummary[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => summarizeProfile(join(dir, f)));
}

export function renderProfile(s: ProfileSummary, names = new Map<string, string>()): string {
  const base = s.file.split('/').pop()!;
  return [
    `\n${names.has(base) ? `${names.get(base)} (${base})` : s.file}: busy ${s.busyMs} ms of ${s.totalMs} ms sampled`,
    table(['component', 'self ms', '% of busy'], s.byComponent.map((c) => [c.name, String(c.ms), c.share.toFixed(1)])),
    table(['function', 'self ms', '% of busy'], s.topFunctions.map((c) => [c.name, String(c.ms), c.share.toFixed(1)])),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv.slice(2).find((a) => a !== '--');
  if (!dir) {
    console.error('usage: tsx src/profile.ts DIR   (summarises every .cpuprofile in DIR)');
    process.exit(2);
  }
  for (const s of summarizeProfileDir(dir)) console.log(renderProfile(s));
}
