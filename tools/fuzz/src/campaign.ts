// A fuzz campaign: a real 3-node cluster (peer protocol on its own ports),
// acknowledged writes made first, then fuzzed calls to every public and peer
// RPC for a while, then the checks: no member exited, every member answers,
// every acknowledged write reads back intact.
import { Rng } from '@bellwether/raft';
import { connect } from '@bellwether/client';
import { clientsFor, TestCluster } from '@bellwether/integration/cluster';
import { type MembersResponse__Output, unary } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { closeClients, fuzzCall, RPCS, type Target } from './rpcs';

export interface CampaignOptions {
  seconds: number;
  seed: number;
  /** Fuzzed calls in flight. */
  concurrency?: number;
  /** Acknowledged writes made before fuzzing (and checked after). */
  writes?: number;
  log?: (line: string) => void;
}

export interface CampaignResult {
  seed: number;
  seconds: number;
  iterations: number;
  byRpc: Record<string, number>;
  /** Members that exited during the campaign. */
  crashes: string[];
  /** Members that did not answer Status afterwards. */
  unanswered: string[];
  acknowledgedWrites: number;
  /** Acknowledged writes missing or changed afterwards. */
  lostWrites: string[];
}

const PROTECTED = 'ack/';

export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const log = opts.log ?? (() => {});
  const rng = Rng.fromState(opts.seed);
  const cluster = await TestCluster.start({ size: 3, peerPorts: true, args: ['--log-level', 'warn'] });
  try {
    await cluster.waitForLeader(60_000);
    const endpoints = cluster.nodes.map((n) => n.address);
    const client = await connect({ endpoints });
    const acked = new Map<string, string>();
    try {
      for (let i = 0; i < (opts.writes ?? 200); i++) {
        const k = `${PROTECTED}${i}`;
        const v = `v${i}-${rng.int(0, 1e9)}`;
        await client.put(k, v);
        acked.set(k, v);
      }
      const { clusterId } = await cluster.status(cluster.nodes[0]!);
      const members = await unary<MembersResponse__Output>(clientsFor(cluster.nodes[0]!.address).cluster as unknown as grpc.Client, 'Members', {});
      const incarnations = Object.fromEntries(members.members.map((m) => [m.id, m.incarnation]));
      const targets: Target[] = cluster.nodes.map((n) => ({
        address: n.address,
        peerAddress: n.peerAddress!,
        clusterId,
        memberIds: cluster.nodes.map((m) => m.id),
        incarnations,
        protectedPrefix: PROTECTED,
      }));
      const byRpc: Record<string, number> = Object.fromEntries(RPCS.map((r) => [r, 0]));
      let iterations = 0;
      const until = Date.now() + opts.seconds * 1000;
      const started = Date.now();
      const worker = async (w: number) => {
        const wr = rng.derive(`worker-${w}`);
        // Every RPC in turn (from a random start), so even a short campaign covers them all.
        for (let i = wr.int(0, RPCS.length - 1); Date.now() < until; i++) {
          const rpc = RPCS[i % RPCS.length]!;
          byRpc[rpc]!++;
          iterations++;
          await fuzzCall(wr, wr.pick(targets), rpc);
        }
      };
      const progress = setInterval(() => log(`${Math.round((Date.now() - started) / 1000)}s: ${iterations} calls`), 5000);
      try {
        await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, (_, w) => worker(w)));
      } finally {
        clearInterval(progress);
        closeClients();
      }
      const seconds = (Date.now() - started) / 1000;

      const crashes = cluster.nodes.filter((n) => !n.running).map((n) => `${n.id} exited: ${n.log().split('\n').slice(-5).join(' | ')}`);
      const unanswered: string[] = [];
      for (const n of cluster.nodes.filter((x) => x.running)) {
        try {
          await cluster.status(n, 10_000);
        } catch (err) {
          unanswered.push(`${n.id}: ${(err as Error).message}`);
        }
      }
      await cluster.waitForLeader(60_000);
      const lostWrites: string[] = [];
      for (const [k, v] of acked) {
        const got = await client.get(k, { mode: 'linearizable', deadlineMs: 30_000 });
        if (got.kv?.valueString !== v) lostWrites.push(`${k}: expected ${v}, got ${got.kv?.valueString ?? '(missing)'}`);
      }
      return { seed: opts.seed, seconds, iterations, byRpc, crashes, unanswered, acknowledgedWrites: acked.size, lostWrites };
    } finally {
      await client.close();
    }
  } finally {
    await cluster.stop();
  }
}
