import { NotFound } from '@bellwether/client';
import type { Command } from 'commander';
import { CliError, EXIT, globalOptions, positiveInt, withClient } from '../cli';
import { print, text } from '../output';

/** A missing lease is a "not found" exit, like a missing key for `get`. */
function leaseNotFound(id: number): CliError {
  return new CliError(`lease ${id} not found (expired or revoked)`, EXIT.notFound);
}

function notFoundExit(err: unknown, id: number): never {
  throw err instanceof NotFound ? leaseNotFound(id) : err;
}

export function registerLease(program: Command): void {
  const lease = program.command('lease').description('leases: keys attached to one are deleted when it ends');
  lease
    .command('grant')
    .description('grant a lease of TTL seconds and print its id; attach keys with put --lease ID. bwctl does not keep it alive: it ends TTL seconds after the grant (see lease keep-alive)')
    .argument('<ttl>', 'seconds', positiveInt('ttl'))
    .action(async (ttl: number, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const granted = await withClient(g, async (c) => {
        const l = await c.lease({ ttlMs: ttl * 1000 });
        return { id: l.id, ttlSeconds: ttl };
      });
      print(g.output, { headers: ['LEASE', 'TTL'], rows: [[granted.id, `${ttl} s`]] }, granted);
    });

  lease
    .command('revoke')
    .description('end lease ID now: its keys are deleted (exit 3 if it does not exist)')
    .argument('<id>', 'lease id', positiveInt('id'))
    .action(async (id: number, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const res = await withClient(g, (c) => c.leases.revoke(id)).catch((err) => notFoundExit(err, id));
      const out = { id, deleted: res.deleted, revision: res.revision };
      print(g.output, { headers: ['LEASE', 'KEYS DELETED', 'REVISION'], rows: [[id, res.deleted, res.revision]] }, out);
    });

  lease
    .command('keep-alive')
    .description('keep lease ID alive until interrupted (Ctrl-C), or renew it once with --once (exit 3 if it does not exist, 1 if it is lost)')
    .argument('<id>', 'lease id', positiveInt('id'))
    .option('--once', 'renew once and exit')
    .action(async (id: number, o: { once?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (o.once) {
        const ttlMs = await withClient(g, (c) => c.leases.keepAliveOnce(id)).catch((err) => notFoundExit(err, id));
        print(g.output, { headers: ['LEASE', 'TTL'], rows: [[id, `${Math.ceil(ttlMs / 1000)} s`]] }, { id, ttlMs });
        return;
      }
      await withClient(g, async (c) => {
        const held = await c.leases.keepAlive(id).catch((err) => notFoundExit(err, id));
        process.stderr.write(`keeping lease ${id} alive (TTL ${held.ttlMs / 1000} s); Ctrl-C to stop\n`);
        const stopped = new Promise<'stopped'>((resolve) => {
          for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve('stopped'));
        });
        const outcome = await Promise.race([stopped, held.whenLost()]);
        // Stopped: closing the client stops the renewals without revoking,
        // so the lease ends a TTL later, as with etcdctl.
        if (outcome !== 'stopped') throw new CliError(`lease ${id} lost: ${outcome.reason}`, EXIT.failed);
      });
    });

  lease
    .command('timetolive')
    .description('show lease ID: time left and granted TTL, and with --keys the keys attached to it (exit 3 if it does not exist)')
    .argument('<id>', 'lease id', positiveInt('id'))
    .option('--keys', 'also list the attached keys')
    .action(async (id: number, o: { keys?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const info = await withClient(g, (c) => c.leases.timeToLive(id, { keys: o.keys === true }));
      if (!info) throw leaseNotFound(id);
      const keys = info.keys.map(text);
      const out = { id, remainingMs: info.remainingMs, grantedTtlMs: info.grantedTtlMs, ...(o.keys ? { keys } : {}) };
      const headers = ['LEASE', 'REMAINING', 'GRANTED TTL', ...(o.keys ? ['KEYS'] : [])];
      const row = [id, `${(info.remainingMs / 1000).toFixed(1)} s`, `${info.grantedTtlMs / 1000} s`, ...(o.keys ? [keys.join(', ')] : [])];
      print(g.output, { headers, rows: [row] }, out);
    });

  lease
    .command('list')
    .description('list the live leases')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const leases = await withClient(g, (c) => c.leases.list());
      print(g.output, { headers: ['LEASE', 'GRANTED TTL'], rows: leases.map((l) => [l.id, `${l.grantedTtlMs / 1000} s`]) }, leases);
    });
}
