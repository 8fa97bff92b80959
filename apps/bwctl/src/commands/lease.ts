import type { Command } from 'commander';
import { globalOptions, positiveInt, withClient } from '../cli';
import { print } from '../output';

export function registerLease(program: Command): void {
  const lease = program.command('lease').description('leases: keys attached to one are deleted when it ends');
  lease
    .command('grant')
    .description('grant a lease of TTL seconds and print its id; attach keys with put --lease ID. bwctl does not keep it alive: it ends TTL seconds after the grant')
    .argument('<ttl>', 'seconds', positiveInt('ttl'))
    .action(async (ttl: number, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const granted = await withClient(g, async (c) => {
        const l = await c.lease({ ttlMs: ttl * 1000 });
        return { id: l.id, ttlSeconds: ttl };
      });
      print(g.output, { headers: ['LEASE', 'TTL'], rows: [[granted.id, `${ttl} s`]] }, granted);
    });
}
