// Loaded into a server process with NODE_OPTIONS=--import=<this file>
// (node refuses --cpu-prof in NODE_OPTIONS): profiles the process's main
// thread until it exits and writes BENCH_CPU_PROFILE_DIR/<pid>.cpuprofile.
// SIGUSR2 discards what was sampled so far and starts again (the bench sends
// it when its measured window begins, so start-up and loading drop out).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop');
    session.post('Profiler.start');
  });
  process.once('exit', () => {
    // An in-thread inspector session answers synchronously, so this runs before the process ends.
    session.post('Profiler.stop', (err, res) => {
      if (!err && res?.profile) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
