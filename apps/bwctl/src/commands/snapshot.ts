import { verifySnapshotFile } from '@bellwether/client';
import { parsePeers, restoreSnapshot } from '@bellwether/node';
import type { Command } from 'commander';
import { CliError, describeError, EXIT, endpointClient, type GlobalOptions, globalOptions } from '../cli';
import { formatBytes, print } from '../output';

/** The leader's address, asked of the endpoints in turn; the first endpoint when none knows a leader. */
async function leaderAddress(g: GlobalOptions): Promise<string> {
  const errors: string[] = [];
  for (const address of g.endpoints) {
    const c = endpointClient(g, address);
    try {
      const st = await c.status({ deadlineMs: g.deadlineMs });
      if (st.leaderAddress) return st.leaderAddress;
    } catch (err) {
      errors.push(`${address}: ${describeError(err)}`);
    } finally {
      c.close();
    }
  }
  if (errors.length === g.endpoints.length) throw new CliError(`no endpoint answered: ${errors.join('; ')}`);
  return g.endpoints[0]!;
}

export function registerSnapshot(program: Command): void {
  const snapshot = program.command('snapshot').description('consistent backups: save, check, restore');
  snapshot
    .command('save')
    .description('stream a consistent snapshot from a member into FILE (from the leader unless --from)')
    .argument('<file>', 'where to write it (written whole or not at all)')
    .option('--from <endpoint>', 'the member to take it from (a follower gives its own, possibly older, revision)')
    .action(async (file: string, o: { from?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const address = o.from ?? (await leaderAddress(g));
      const c = endpointClient(g, address);
      try {
        const saved = await c.saveSnapshot(file);
        print(
          g.output,
          { headers: ['FILE', 'REVISION', 'MEMBER', 'CLUSTER', 'DATA', 'SHA-256'], rows: [[file, saved.revision, saved.memberId, saved.clusterId, formatBytes(saved.dataBytes), saved.sha256]] },
          { ...saved, from: address },
        );
      } finally {
        c.close();
      }
    });

  snapshot
    .command('status')
    .description('read a snapshot file to the end and check its checksum')
    .argument('<file>', 'a file written by snapshot save')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const info = await verifySnapshotFile(file);
      print(
        g.output,
        { headers: ['FILE', 'REVISION', 'MEMBER', 'CLUSTER', 'DATA', 'SHA-256'], rows: [[file, info.revision, info.memberId, info.clusterId, formatBytes(info.dataBytes), info.sha256]] },
        info,
      );
    });

  snapshot
    .command('restore')
    .description('seed a member of a NEW cluster from FILE; run once per member with the same --peers, then start each with bellwether serve')
    .argument('<file>', 'a file written by snapshot save')
    .requiredOption('--data-dir <dir>', 'the new member\'s data dir (absent or empty)')
    .requiredOption('--id <id>', 'the new member\'s id (one of --peers)')
    .requiredOption('--peers <list>', 'the new cluster\'s members as id=host:port,...')
    .option('--cluster-id <id>', 'the new cluster\'s id (default: derived from --peers, as bellwether serve does)')
    .action(async (file: string, o: { dataDir: string; id: string; peers: string; clusterId?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      let peers: Map<string, string>;
      try {
        peers = parsePeers(o.peers);
      } catch (err) {
        throw new CliError((err as Error).message, EXIT.usage);
      }
      const r = await restoreSnapshot({ snapshotPath: file, dataDir: o.dataDir, id: o.id, peers, ...(o.clusterId ? { clusterId: o.clusterId } : {}) });
      print(
        g.output,
        { headers: ['MEMBER', 'DATA DIR', 'CLUSTER', 'REVISION', 'FROM'], rows: [[o.id, o.dataDir, r.clusterId, r.revision, `${r.from.memberId} of ${r.from.clusterId}`]] },
        { member: o.id, dataDir: o.dataDir, ...r },
      );
      if (g.output === 'table') {
        process.stdout.write(`next: bellwether serve --id ${o.id} --listen ${peers.get(o.id)} --data-dir ${o.dataDir} --peers ${o.peers}\n`);
      }
    });
}
