import { randomBytes } from 'node:crypto';
import { type Command, Option } from 'commander';
import { CliError, describeError, globalOptions, positiveInt, withClient } from '../cli';
import { print } from '../output';

/** Built-in loads and the bar each must meet (like etcdctl check perf's small/medium/large). */
export const LOADS = {
  s: { clients: 16, throughput: 200, p99Ms: 500 },
  m: { clients: 64, throughput: 1000, p99Ms: 500 },
  l: { clients: 256, throughput: 4000, p99Ms: 500 },
} as const;
type Load = keyof typeof LOADS;

const KEY_SPACE = 1000;
const VALUE_BYTES = 256;

/** The q-quantile of sorted samples (nearest rank). */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export function registerCheckPerf(program: Command): void {
  const check = program.command('check').description('checks of the cluster');
  check
    .command('perf')
    .description('write under --prefix from many clients for a while, then say whether the cluster met the bar (exit 1 if not); the keys are deleted afterwards')
    .addOption(new Option('--load <size>', 'clients and bar: s (16 clients, 200 writes/s), m (64, 1000), l (256, 4000); p99 at most 500 ms for each').choices(Object.keys(LOADS)).default('s'))
    .option('--duration-s <s>', 'how long to write', positiveInt('--duration-s'), 10)
    .option('--min-throughput <writes/s>', 'the throughput bar, instead of the load\'s', positiveInt('--min-throughput'))
    .option('--max-p99-ms <ms>', 'the p99 latency bar, instead of the load\'s', positiveInt('--max-p99-ms'))
    .option('--prefix <prefix>', 'where the test keys go', '/bwctl/check-perf/')
    .action(async (o: { load: Load; durationS: number; minThroughput?: number; maxP99Ms?: number; prefix: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const load = LOADS[o.load];
      const bar = { throughput: o.minThroughput ?? load.throughput, p99Ms: o.maxP99Ms ?? load.p99Ms };
      const value = randomBytes(VALUE_BYTES / 2).toString('hex');
      const result = await withClient(g, async (client) => {
        const latenciesMs: number[] = [];
        const errors: string[] = [];
        const written = new Set<number>();
        let next = 0;
        const started = performance.now();
        const endAt = started + o.durationS * 1000;
        await Promise.all(
          Array.from({ length: load.clients }, async () => {
            while (performance.now() < endAt) {
              const i = next++ % KEY_SPACE;
              const t0 = performance.now();
              try {
                await client.put(`${o.prefix}${i}`, value);
                latenciesMs.push(performance.now() - t0);
                written.add(i);
              } catch (err) {
                errors.push(describeError(err));
              }
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        // Clean up: the check leaves no keys behind.
        const keys = [...written];
        for (let k = 0; k < keys.length; k += load.clients) {
          await Promise.all(keys.slice(k, k + load.clients).map((i) => client.delete(`${o.prefix}${i}`).catch(() => {})));
        }
        latenciesMs.sort((a, b) => a - b);
        return { writes: latenciesMs.length, errors, seconds, p50Ms: quantile(latenciesMs, 0.5), p99Ms: quantile(latenciesMs, 0.99), maxMs: latenciesMs[latenciesMs.length - 1] ?? Number.NaN };
      });
      const throughput = result.writes / result.seconds;
      const checks = [
        { check: 'throughput', pass: throughput >= bar.throughput, measured: `${throughput.toFixed(0)} writes/s`, bar: `>= ${bar.throughput} writes/s` },
        { check: 'p99 latency', pass: result.p99Ms <= bar.p99Ms, measured: `${result.p99Ms.toFixed(1)} ms`, bar: `<= ${bar.p99Ms} ms` },
        { check: 'errors', pass: result.errors.length === 0, measured: String(result.errors.length), bar: '0' },
      ];
      const pass = checks.every((c) => c.pass);
      print(
        g.output,
        { headers: ['CHECK', 'RESULT', 'MEASURED', 'BAR'], rows: checks.map((c) => [c.check, c.pass ? 'PASS' : 'FAIL', c.measured, c.bar]) },
        {
          pass,
          load: o.load,
          clients: load.clients,
          durationSeconds: result.seconds,
          writes: result.writes,
          throughput,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          maxMs: result.maxMs,
          errors: result.errors.slice(0, 10),
          checks,
        },
      );
      if (result.errors.length > 0) process.stderr.write(`first error: ${result.errors[0]}\n`);
      if (!pass) throw new CliError(`check perf: FAIL (load ${o.load}: ${checks.filter((c) => !c.pass).map((c) => `${c.check} ${c.measured}, bar ${c.bar}`).join('; ')})`);
      if (g.output === 'table') process.stdout.write(`PASS: the cluster meets the bar of load ${o.load}\n`);
    });
}
