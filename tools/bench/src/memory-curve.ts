// The memory mode over time: puts for a number of windows, the RSS of every
// server after each, so a curve shows whether memory plateaus or keeps growing.
import type { RunResult } from './engine';
import { type DownWindow, FollowerDown } from './follower-down';
import type { KeySpace } from './keys';
import { processMemory } from './procstat';
import { type BenchConfig, type Endpoints, measure } from './runner';
import { fmtNum } from './util';

export interface MemorySample {
  afterPuts: number;
  acknowledgedPuts: number;
  /** Seconds since the first window began. */
  elapsedS: number;
  result: RunResult;
  servers: { id: string; pid: number; rssBytes: number | null; peakRssBytes: number | null }[];
  /** The follower that was down (SIGSTOP) when the sample was taken. */
  followerDown?: string;
}

const mib = (b: number | null) => (b === null ? '?' : (b / 2 ** 20).toFixed(0));

/** Runs `windows` back-to-back measured windows of `sampleS` seconds, sampling each server's RSS after every one. */
export async function memoryOverTime(
  cfg: BenchConfig,
  ep: Endpoints,
  keys: KeySpace,
  windows: number,
  sampleS: number,
  target: string,
  followerDown?: DownWindow,
): Promise<MemorySample[]> {
  const samples: MemorySample[] = [];
  let sent = 0;
  let acknowledged = 0;
  const down = followerDown ? new FollowerDown(ep, followerDown, (line) => console.log(line)) : undefined;
  try {
    for (let w = 1; w <= windows; w++) {
      const r = await measure({ ...cfg, ops: undefined, durationS: sampleS, warmupS: 0, quiet: true }, ep, keys, `memory window ${w}/${windows}: ${sampleS} s of ${fmtNum(cfg.valueBytes)}-byte puts ${target}`);
      sent += r.ops + r.errors;
      acknowledged += r.ops;
      const servers = ep.serverPids().map((s) => {
        const m = processMemory(s.pid);
        return { id: s.id, pid: s.pid, rssBytes: m?.rssBytes ?? null, peakRssBytes: m?.peakRssBytes ?? null };
      });
      samples.push({ afterPuts: sent, acknowledgedPuts: acknowledged, elapsedS: w * sampleS, result: r, servers, ...(down?.down ? { followerDown: down.id } : {}) });
      const mibPerS = (r.opsPerSec * cfg.valueBytes) / 2 ** 20;
      console.log(
        `t=${w * sampleS}s${down?.down ? ` (${down.id} down)` : ''} puts ${fmtNum(acknowledged)} (${mibPerS.toFixed(1)} MiB/s, p99 ${r.latency.p99Ms.toFixed(0)} ms, errors ${r.errors}${r.errors ? ` ${JSON.stringify(r.errorsByCode)}` : ''}, server CPU ${r.cpu.serverMsPerOp?.toFixed(1) ?? '?'} ms/put, load ${r.loadavg[0].toFixed(1)}) RSS: ${servers.map((s) => `${s.id} ${mib(s.rssBytes)} MiB (peak ${mib(s.peakRssBytes)})`).join(', ')}`,
      );
    }
  } finally {
    // Never leave a member stopped, whatever ended the run.
    down?.stop();
  }
  return samples;
}
