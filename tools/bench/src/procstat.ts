// CPU time and resident memory of processes, read from /proc (Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** The kernel's clock tick (USER_HZ) that /proc/<pid>/stat counts in. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds a process has used so far; undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  return processCounters(pid)?.cpuSeconds;
}

export interface ProcessCounters {
  cpuSeconds: number;
  minorFaults: number;
}

/**
 * CPU seconds and minor page faults of a process so far. Faults are worth
 * counting where a first touch of memory is dear (on some virtual machines
 * ~10-15 us each): a store that maps its database takes thousands per write.
 */
export function processCounters(pid: number): ProcessCounters | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { cpuSeconds: (utime + stime) / clockTicksPerSecond(), minorFaults: Number(fields[7]) };
  } catch {
    return undefined;
  }
}

export interface MemoryStat {
  rssBytes: number;
  /** Peak RSS since the process started (VmHWM). */
  peakRssBytes: number;
}

export function processMemory(pid: number): MemoryStat | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(/^\s*(\d+)/.exec(status.split(`\n${name}:`)[1] ?? '')?.[1] ?? Number.NaN) * 1024;
    return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface ServerPid {
  id: string;
  pid: number;
}

export interface CpuSnapshot {
  at: number;
  servers: Map<string, ProcessCounters | undefined>;
  client: NodeJS.CpuUsage;
}

export function cpuSnapshot(servers: readonly ServerPid[]): CpuSnapshot {
  const m = new Map<string, ProcessCounters | undefined>();
  for (const s of servers) m.set(`${s.id}:${s.pid}`, processCounters(s.pid));
  return { at: performance.now(), servers: m, client: process.cpuUsage() };
}

export interface CpuReport {
  servers: { id: string; pid: number; cpuSeconds: number | null; minorFaults: number | null }[];
  serverTotalSeconds: number;
  /** Minor page faults of all servers over the window. */
  serverMinorFaults: number;
  clientSeconds: number;
}

export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuReport {
  const servers: CpuReport['servers'] = [];
  let total = 0;
  let faults = 0;
  for (const [key, v0] of before.servers) {
    const [id, pid] = key.split(':') as [string, string];
    const v1 = after.servers.get(key);
    const d: ProcessCounters | null = v0 !== undefined && v1 !== undefined ? { cpuSeconds: v1.cpuSeconds - v0.cpuSeconds, minorFaults: v1.minorFaults - v0.minorFaults } : null;
    if (d !== null) {
      total += d.cpuSeconds;
      faults += d.minorFaults;
    }
    servers.push({ id, pid: Number(pid), cpuSeconds: d === null ? null : round(d.cpuSeconds, 3), minorFaults: d?.minorFaults ?? null });
  }
  const client = (after.client.user + after.client.system - before.client.user - before.client.system) / 1e6;
  return { servers, serverTotalSeconds: round(total, 3), serverMinorFaults: faults, clientSeconds: round(client, 3) };
}

export const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
