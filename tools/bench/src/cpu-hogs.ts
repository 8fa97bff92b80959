// Busy-looping processes beside a cluster: the machine loaded the way a busy
// CI runner or a crowded host loads it, to see what stalls do to elections.
import { type ChildProcess, spawn } from 'node:child_process';

export interface CpuHogs {
  stop(): void;
}

/** Starts `count` processes that spin until stopped (by PID, SIGKILL; also when this process exits). */
export function startCpuHogs(count: number): CpuHogs {
  const hogs: ChildProcess[] = [];
  for (let i = 0; i < count; i++) hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const stop = () => {
    for (const h of hogs) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
  };
  process.once('exit', stop);
  return {
    stop() {
      stop();
      process.off('exit', stop);
    },
  };
}
