// `pnpm demo`: a 3-member cluster, two newsroom processes and a round-robin
// proxy on 127.0.0.1; prints the URL; Ctrl-C stops everything.
import { parseArgs } from 'node:util';
import { NewsroomStack } from './stack';

const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), options: { port: { type: 'string', default: '8080' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: expected 0..65535, got "${values.port}"`);
  process.exit(2);
}

console.log('starting a 3-member Bellwether cluster and two newsroom app processes...');
const stack = await NewsroomStack.start({ port }).catch((err: NodeJS.ErrnoException): never => {
  const hint = err.code === 'EADDRINUSE' ? ` (port ${port} is taken: pnpm demo --port 0 picks a free one)` : '';
  console.error(`the demo did not start: ${err.message}${hint}`);
  process.exit(1);
});
const leader = await stack.cluster.waitForLeader();
console.log(`cluster: ${stack.cluster.nodes.map((n) => `${n.id} ${n.address} (pid ${n.pid})`).join(', ')}; leader ${leader.id}`);
console.log(`apps:    ${stack.apps.map((a) => `${a.id} ${a.url} (pid ${a.pid})`).join(', ')}`);
console.log(`logs and data: ${stack.cluster.root}`);
console.log(`\nNewsroom: ${stack.url}   (each request goes to the next app process in turn)`);
console.log(`Try: sign in as an editor, publish, and kill -9 ${leader.pid} (the leader) while you do. Ctrl-C stops everything.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
