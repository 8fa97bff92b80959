import type { ClusterMember, EndpointClient, MemberDescription, MembershipChange, MemberStatus } from '@bellwether/client';
import type { Command } from 'commander';
import { CliError, describeError, type GlobalOptions, globalOptions, positiveInt, withClient, withEndpoints } from '../cli';
import { formatBytes, print } from '../output';

const MEMBER_HEADERS = ['ID', 'ADDRESS', 'VOTER', 'LEADER', 'INCARNATION'];
const memberRow = (x: ClusterMember, leaderId?: string) => [x.id, x.address, x.voter ? 'yes' : 'no (learner)', x.id === leaderId ? '*' : '', x.incarnation || '(not yet seen)'];
const memberJson = (x: ClusterMember) => ({ id: x.id, address: x.address, voter: x.voter, incarnation: x.incarnation || null });

function printChange(output: 'table' | 'json', change: MembershipChange): void {
  print(output, { headers: MEMBER_HEADERS, rows: change.members.map((x) => memberRow(x)) }, { member: change.member ? memberJson(change.member) : null, members: change.members.map(memberJson) });
}

/** The addresses to ask: the given endpoints, or with --cluster every member the cluster lists. */
async function targets(g: GlobalOptions, cluster: boolean | undefined): Promise<string[]> {
  if (!cluster) return g.endpoints;
  const members = await withClient(g, (c) => c.members());
  return members.members.map((m) => m.address);
}

interface Answer {
  endpoint: string;
  status?: MemberStatus;
  described?: MemberDescription;
  error?: string;
  tookMs: number;
}

async function ask(clients: EndpointClient[], deadlineMs: number): Promise<Answer[]> {
  return Promise.all(
    clients.map(async (c) => {
      const started = performance.now();
      try {
        const [status, described] = await Promise.all([c.status({ deadlineMs }), c.describe({ deadlineMs })]);
        return { endpoint: c.address, status, described, tookMs: performance.now() - started };
      } catch (err) {
        return { endpoint: c.address, error: describeError(err), tookMs: performance.now() - started };
      }
    }),
  );
}

/** The leader's commit index if a leader answered, else the highest commit any member reported. */
function clusterCommit(answers: Answer[]): number | undefined {
  const leader = answers.find((a) => a.status?.role === 'leader');
  if (leader) return leader.status!.commitIndex;
  const commits = answers.flatMap((a) => (a.status ? [a.status.commitIndex] : []));
  return commits.length > 0 ? Math.max(...commits) : undefined;
}

export function registerCluster(program: Command): void {
  const member = program.command('member').description('cluster membership');
  member
    .command('list')
    .description('list the members (as the leader, or another reachable member, knows them)')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const m = await withClient(g, (c) => c.members());
      print(
        g.output,
        { headers: MEMBER_HEADERS, rows: m.members.map((x) => memberRow(x, m.leaderId)) },
        { clusterId: m.clusterId, leaderId: m.leaderId ?? null, term: m.term, members: m.members.map(memberJson) },
      );
    });

  member
    .command('add')
    .description('add a member (a learner unless --voter); then start it with an empty data dir and --initial-cluster-state existing')
    .argument('<id>', 'the new member\'s id')
    .argument('<address>', 'host:port it will serve clients and peers on')
    .option('--voter', 'add it as a voter at once (default: a learner, promoted once caught up)')
    .action(async (id: string, address: string, o: { voter?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const change = await withClient(g, (c) => c.addMember(id, address, { learner: !o.voter }));
      printChange(g.output, change);
      if (g.output === 'table') {
        const peers = change.members.map((x) => `${x.id}=${x.address}`).join(',');
        process.stdout.write(`next: bellwether serve --id ${id} --listen ${address} --data-dir DIR --peers ${peers} --initial-cluster-state existing\n`);
        if (!o.voter) process.stdout.write(`then, once it has caught up: bwctl member promote ${id}\n`);
      }
    });

  member
    .command('promote')
    .description('make a learner a voter (refused while it has not connected or is behind)')
    .argument('<id>', 'the learner\'s id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      printChange(g.output, await withClient(g, (c) => c.promoteMember(id)));
    });

  member
    .command('remove')
    .description('remove a member (a leader removing itself hands leadership over first)')
    .argument('<id>', 'the member\'s id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const members = await withClient(g, (c) => c.removeMember(id));
      printChange(g.output, { member: undefined, members });
    });

  program
    .command('leader')
    .description('leadership')
    .command('transfer')
    .description('hand leadership to ID, or without one to the most up-to-date voter; returns once it leads')
    .argument('[id]', 'the member to lead')
    .action(async (id: string | undefined, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const t = await withClient(g, (c) => c.transferLeadership(id));
      print(g.output, { headers: ['LEADER', 'ADDRESS', 'TERM'], rows: [[t.leaderId, t.leaderAddress, t.term]] }, t);
    });

  const endpoint = program.command('endpoint').description('ask each endpoint about itself');
  endpoint
    .command('status')
    .description('a table per member: id, address, role, leader, term, commit, applied, lag, DB size, version, errors')
    .option('--cluster', 'every member of the cluster, not just --endpoints')
    .action(async (o: { cluster?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const answers = await withEndpoints(g, await targets(g, o.cluster), (clients) => ask(clients, g.deadlineMs));
      const commit = clusterCommit(answers);
      const lagOf = (a: Answer) => (a.status && commit !== undefined ? Math.max(0, commit - a.status.appliedIndex) : undefined);
      const errorsOf = (a: Answer) => a.error ?? (a.described?.errors.join('; ') || undefined);
      print(
        g.output,
        {
          headers: ['ENDPOINT', 'ID', 'ROLE', 'LEADER', 'TERM', 'COMMIT', 'APPLIED', 'LAG', 'DB SIZE', 'VERSION', 'ERRORS'],
          rows: answers.map((a) => [
            a.endpoint,
            a.status?.memberId,
            a.status?.role,
            a.status?.leaderId ?? (a.status ? '(none)' : undefined),
            a.status?.term,
            a.status?.commitIndex,
            a.status?.appliedIndex,
            lagOf(a),
            formatBytes(a.described?.dbSizeBytes),
            a.described?.version,
            errorsOf(a),
          ]),
        },
        answers.map((a) => ({
          endpoint: a.endpoint,
          id: a.status?.memberId ?? null,
          role: a.status?.role ?? null,
          leaderId: a.status?.leaderId ?? null,
          term: a.status?.term ?? null,
          commitIndex: a.status?.commitIndex ?? null,
          appliedIndex: a.status?.appliedIndex ?? null,
          lagEntries: lagOf(a) ?? null,
          dbSizeBytes: a.described?.dbSizeBytes ?? null,
          version: a.described?.version ?? null,
          errors: a.error ? [a.error] : (a.described?.errors ?? []),
        })),
      );
      const failed = answers.filter((a) => a.error);
      if (failed.length > 0) throw new CliError(`${failed.length} of ${answers.length} endpoints did not answer`);
    });

  endpoint
    .command('health')
    .description('whether each endpoint answers, knows a leader and has applied what is committed')
    .option('--cluster', 'every member of the cluster, not just --endpoints')
    .option('--max-lag <entries>', 'unhealthy when applied trails the commit index by more than this', positiveInt('--max-lag', true), 1000)
    .action(async (o: { cluster?: boolean; maxLag: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const answers = await withEndpoints(g, await targets(g, o.cluster), (clients) => ask(clients, g.deadlineMs));
      const verdicts = answers.map((a) => {
        let problem = a.error;
        if (!problem && a.described?.errors.length) problem = a.described.errors.join('; ');
        if (!problem && !a.status?.leaderId) problem = 'knows no leader';
        if (!problem && a.status && a.status.commitIndex - a.status.appliedIndex > o.maxLag) {
          problem = `applied ${a.status.appliedIndex} trails commit ${a.status.commitIndex} by more than ${o.maxLag}`;
        }
        return { endpoint: a.endpoint, healthy: !problem, tookMs: Math.round(a.tookMs), error: problem };
      });
      print(
        g.output,
        { headers: ['ENDPOINT', 'HEALTH', 'TOOK', 'ERROR'], rows: verdicts.map((v) => [v.endpoint, v.healthy ? 'healthy' : 'unhealthy', `${v.tookMs} ms`, v.error]) },
        verdicts.map((v) => ({ ...v, error: v.error ?? null })),
      );
      const bad = verdicts.filter((v) => !v.healthy);
      if (bad.length > 0) throw new CliError(`${bad.length} of ${verdicts.length} endpoints are unhealthy`);
    });
}
