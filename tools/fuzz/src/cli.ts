// pnpm fuzz [--time S] [--seed N] [--concurrency C]: one fuzz campaign; exit 1 on a crash or a lost write.
import { parseArgs } from 'node:util';
import { runCampaign } from './campaign';

const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    time: { type: 'string', default: '30' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('Usage: pnpm fuzz [--time S (30)] [--seed N (random)] [--concurrency C (4)]\nFuzzes every public and peer RPC of a local 3-node cluster, then checks it still answers and kept every acknowledged write.');
  process.exit(0);
}
const seconds = Number(values.time);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const concurrency = Number(values.concurrency);
if (!(seconds > 0) || !Number.isInteger(seed) || !(concurrency >= 1)) {
  console.error('fuzz: --time must be > 0, --seed an integer, --concurrency >= 1');
  process.exit(2);
}
console.log(`fuzz: seed ${seed}, ${seconds} s, ${concurrency} calls in flight (replay the same call plan: --seed ${seed})`);
const r = await runCampaign({ seconds, seed, concurrency, log: (l) => console.log(`  ${l}`) });
console.log(`calls: ${r.iterations} in ${r.seconds.toFixed(1)} s`);
for (const [rpc, n] of Object.entries(r.byRpc)) console.log(`  ${rpc.padEnd(26)} ${n}`);
console.log(`crashes: ${r.crashes.length}${r.crashes.map((c) => `\n  ${c}`).join('')}`);
console.log(`members not answering: ${r.unanswered.length}${r.unanswered.map((c) => `\n  ${c}`).join('')}`);
console.log(`acknowledged writes intact: ${r.acknowledgedWrites - r.lostWrites.length}/${r.acknowledgedWrites}${r.lostWrites.map((c) => `\n  ${c}`).join('')}`);
process.exit(r.crashes.length + r.unanswered.length + r.lostWrites.length === 0 ? 0 : 1);
