// pnpm bench --copies: how many times one large value is copied in
// JavaScript on its way from the client to every member's log and state,
// counted (scripts/copy-count-preload.mjs patches the copying functions of
// Buffer and Uint8Array in the client and in each server) rather than read
// off the code. One warm-up put, then one measured put of a fresh random
// value; each member's count is the difference, taken once every member has
// applied the put.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BellwetherLocal, COPY_COUNT_PRELOAD } from './clusters';
import { createDriver, type TargetKind } from './drivers';
import { sleep, table } from './util';

interface Site {
  copies: number;
  bytes: number;
}
type Sites = Record<string, Site>;

export interface CopyCount {
  /** Who made them: 'client', or a member id with its role. */
  who: string;
  role: 'client' | 'leader' | 'follower';
  copies: number;
  sites: Sites;
}

/** Counts the copies of one `valueBytes` put through `target`, on a 3-member cluster the function starts and stops. */
export async function countCopies(target: Exclude<TargetKind, 'etcd'>, valueBytes: number): Promise<CopyCount[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-copies-'));
  // Only copies of at least half the value count: headers, keys and protocol messages stay out.
  const minBytes = String(Math.floor(valueBytes / 2));
  process.env['BENCH_COPY_MIN_BYTES'] = minBytes;
  const cluster = await BellwetherLocal.start({ copyCountDir: dir });
  const clientDir = join(dir, 'client');
  try {
    const clientCounts = await countInThisProcess(clientDir);
    const leader = await cluster.leaderAddress();
    const driver = await createDriver({
      kind: target,
      members: cluster.addresses(),
      leader,
      connections: 1,
      readMode: 'linearizable',
      readTargets: 'all',
      deadlineMs: 30_000,
      writes: true,
    });
    try {
      await driver.put(0, Buffer.from('warm-up'), randomBytes(valueBytes));
      await allApplied(cluster, dir);
      const before = { servers: readServerSites(dir), client: clientCounts() };
      await driver.put(0, Buffer.from('counted'), randomBytes(valueBytes));
      await allApplied(cluster, dir);
      const after = { servers: readServerSites(dir), client: clientCounts() };
      const counts: CopyCount[] = [{ who: 'client', role: 'client', ...diff(before.client, after.client) }];
      for (const n of cluster.cluster.nodes) {
        const pid = n.pid;
        if (pid === undefined) continue;
        const role = n.address === leader ? 'leader' : 'follower';
        counts.push({ who: `${n.id} (${role})`, role, ...diff(before.servers.get(pid) ?? {}, after.servers.get(pid) ?? {}) });
      }
      return counts;
    } finally {
      await driver.close();
    }
  } finally {
    await cluster.stop();
    delete process.env['BENCH_COPY_MIN_BYTES'];
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads the counter into this process (once); returns a reader of its counts so far. */
async function countInThisProcess(dir: string): Promise<() => Sites> {
  process.env['BENCH_COPY_COUNT_DIR'] = dir;
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  await import(COPY_COUNT_PRELOAD);
  return () => {
    // The counter writes its file 50 ms after a copy; the file is the only interface.
    const path = join(dir, `${process.pid}.json`);
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { sites: Sites }).sites;
    } catch {
      return {};
    }
  };
}

function readServerSites(dir: string): Map<number, Sites> {
  const out = new Map<number, Sites>();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    const parsed = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number; sites: Sites };
    out.set(parsed.pid, parsed.sites);
  }
  return out;
}

function diff(before: Sites, after: Sites): { copies: number; sites: Sites } {
  const sites: Sites = {};
  let copies = 0;
  for (const [site, s] of Object.entries(after)) {
    const n = s.copies - (before[site]?.copies ?? 0);
    if (n <= 0) continue;
    sites[site] = { copies: n, bytes: s.bytes - (before[site]?.bytes ?? 0) };
    copies += n;
  }
  return { copies, sites };
}

/** Waits until every member has applied what the leader has, then for the counters' files (in `dir`) to catch up. */
async function allApplied(cluster: BellwetherLocal, dir: string): Promise<void> {
  const stopAt = Date.now() + 30_000;
  for (;;) {
    const statuses = await Promise.all(cluster.cluster.nodes.map((n) => cluster.cluster.status(n).catch(() => undefined)));
    const applied = statuses.map((s) => (s ? Number(s.appliedIndex) : -1));
    const commit = Math.max(...statuses.map((s) => (s ? Number(s.commitIndex) : 0)));
    if (applied.every((a) => a >= 0 && a === applied[0]) && applied[0]! >= commit) break;
    if (Date.now() > stopAt) throw new Error(`members did not apply the same index within 30 s: ${applied.join(', ')}`);
    await sleep(50);
  }
  await countsSettled(dir);
}

/**
 * Waits until the counters' files stop changing: a counter writes its file
 * 50 ms after its last copy, so two reads 100 ms apart that agree have seen
 * every copy made so far.
 */
async function countsSettled(dir: string): Promise<void> {
  const read = () =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
  const stopAt = Date.now() + 10_000;
  for (let last = read(); ; ) {
    await sleep(100);
    const now = read();
    if (now === last) return;
    if (Date.now() > stopAt) throw new Error('the copy counters kept changing for 10 s after every member applied');
    last = now;
  }
}

export function printCopies(target: string, valueBytes: number, counts: CopyCount[]): void {
  const total = counts.reduce((n, c) => n + c.copies, 0);
  console.log(`copies of one ${valueBytes}-byte value put through ${target} on 3 members: ${total} (${counts.map((c) => `${c.who} ${c.copies}`).join(', ')})`);
  const rows = counts.flatMap((c) => Object.entries(c.sites).map(([site, s]) => [c.who, String(s.copies), site]));
  console.log(table(['where', 'copies', 'site (first frame <- first Bellwether frame)'], rows));
}
