// A follower down for a window of a memory run, then back: SIGSTOP (it holds
// its sockets and answers nothing, as a hung host does) from the window's
// start, SIGCONT at its end; it then catches up from the leader's log (read
// back from the leader's disk once evicted from memory) or a snapshot. The
// RSS table covers the leader holding writes for it and the catch-up.
import type { Endpoints } from './runner';
import { UsageError } from './util';

export interface DownWindow {
  fromS: number;
  toS: number;
}

/** Parses `A-B` (minutes from the start of the run, A < B, decimals allowed). */
export function parseDownWindow(text: string): DownWindow {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(text.trim());
  const from = m ? Number(m[1]) : Number.NaN;
  const to = m ? Number(m[2]) : Number.NaN;
  if (!(from >= 0 && to > from)) throw new UsageError(`--follower-down-minutes: expected A-B with A < B in minutes from the start of the run (e.g. 2-5), got "${text}"`);
  return { fromS: from * 60, toS: to * 60 };
}

/** A follower stopped during `window` (seconds since `start`); `stop()` resumes it whatever happened. */
export class FollowerDown {
  readonly id: string;
  private readonly pid: number;
  private stopped = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(ep: Endpoints, window: DownWindow, log: (line: string) => void) {
    const pids = ep.serverPids();
    const i = ep.members.findIndex((address, j) => address !== ep.leader && pids[j] !== undefined);
    const target = i < 0 ? undefined : pids[i];
    if (!target) throw new UsageError('--follower-down-minutes: no follower process to stop (a cluster the bench started is needed)');
    this.id = target.id;
    this.pid = target.pid;
    this.timers.push(
      setTimeout(() => {
        this.signal('SIGSTOP');
        log(`follower ${this.id} (pid ${this.pid}) stopped (SIGSTOP) at ${(window.fromS / 60).toFixed(1)} min`);
      }, window.fromS * 1000),
      setTimeout(() => {
        this.signal('SIGCONT');
        log(`follower ${this.id} resumed (SIGCONT) at ${(window.toS / 60).toFixed(1)} min: catching up`);
      }, window.toS * 1000),
    );
  }

  /** Whether the follower is stopped now. */
  get down(): boolean {
    return this.stopped;
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    if (this.stopped) this.signal('SIGCONT');
  }

  private signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    try {
      process.kill(this.pid, sig);
      this.stopped = sig === 'SIGSTOP';
    } catch {
      // Exited meanwhile: nothing to resume.
      this.stopped = false;
    }
  }
}
