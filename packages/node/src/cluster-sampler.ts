import type { ObserveResponse__Output } from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import type { Replica } from './replica';

/**
 * Asks member `id` about itself (its Status and Describe answers). Members
 * are asked over the peer port (Raft.Observe), where they already trust each
 * other, so the dashboard works with client TLS and auth on.
 */
export type Observe = (id: string, deadlineMs: number) => Promise<ObserveResponse__Output>;

/** How often members are asked while someone watches the dashboard. */
export const SAMPLE_EVERY_MS = 300;
/** Sampling stops this long after the last request for data. */
const IDLE_AFTER_MS = 5 * 60_000;
/** History kept for the charts. */
const HISTORY_MS = 10 * 60_000;
/** A member that does not answer within this is shown as down. */
const MEMBER_DEADLINE_MS = 1000;

export interface MemberSample {
  id: string;
  address: string;
  voter: boolean;
  up: boolean;
  error?: string;
  role?: string;
  term?: number;
  leaderId?: string;
  commitIndex?: number;
  appliedIndex?: number;
  /** Entries this member's applied state is behind the leader's commit index. */
  lagEntries?: number;
  dbSizeBytes?: number;
  version?: string;
  leaderSinceUnixMs?: number;
}

export interface HistoryPoint {
  t: number;
  opsPerSecond: number | null;
  p99Ms: number | null;
  /** Follower id -> entries its applied state is behind the leader's commit. */
  lag: Record<string, number>;
  leaderId: string | null;
}

export interface LeaderChangeMark {
  t: number;
  leaderId: string | null;
  term: number;
}

export interface ClusterSnapshot {
  clusterId: string;
  servedBy: string;
  sampledAtMs: number;
  leader: { id: string; address: string; term: number; sinceUnixMs: number | null } | null;
  members: MemberSample[];
  history: HistoryPoint[];
  leaderChanges: LeaderChangeMark[];
}

interface Counters {
  ops: number;
  latency: number[];
  bounds: number[];
}

/**
 * The dashboard's view of the cluster, as the member serving it sees it: it
 * asks every member it knows (what Cluster.Status and Maintenance.Describe say, through {@link Observe})
 * every {@link SAMPLE_EVERY_MS} while the page is being viewed, and keeps a
 * short history of cluster-wide ops/s, p99 latency and follower lag.
 */
export class ClusterSampler {
  private timer: NodeJS.Timeout | undefined;
  private lastWantedMs = 0;
  private latest: ClusterSnapshot | undefined;
  private sampling: Promise<void> | undefined;
  private readonly history: HistoryPoint[] = [];
  private readonly leaderChanges: LeaderChangeMark[] = [];
  private previous = new Map<string, Counters & { t: number }>();
  private lastLeader: string | null | undefined;

  constructor(
    private readonly clusterId: string,
    private readonly replica: Replica,
    private readonly observe: Observe,
  ) {}

  /** The latest view; starts sampling if it was idle (the first call waits for one round). */
  async snapshot(): Promise<ClusterSnapshot> {
    this.lastWantedMs = Date.now();
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), SAMPLE_EVERY_MS);
      this.timer.unref();
      this.tick();
    }
    if (!this.latest) await this.sampling;
    return this.latest!;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (Date.now() - this.lastWantedMs > IDLE_AFTER_MS) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    // A slow round (members timing out) is not stacked on by the next one.
    this.sampling ??= this.sample().finally(() => (this.sampling = undefined));
  }

  private async sample(): Promise<void> {
    const now = Date.now();
    const members = this.replica.memberList().sort((a, b) => a.id.localeCompare(b.id));
    const answers = await Promise.all(
      members.map(async (m) => {
        try {
          const { status, describe } = await this.observe(m.id, MEMBER_DEADLINE_MS);
          if (!status || !describe) throw new Error(`${m.id} answered without its status`);
          return { m, status, described: describe };
        } catch (err) {
          return { m, error: (err as grpc.ServiceError).details || (err as Error).message || String(err) };
        }
      }),
    );
    const leaderAnswer = answers.find((a) => a.status?.role === 'ROLE_LEADER');
    const leaderCommit = leaderAnswer?.status?.commitIndex;
    const samples: MemberSample[] = answers.map(({ m, status, described, error }) => {
      if (!status || !described) return { id: m.id, address: m.address, voter: m.voter, up: false, error };
      return {
        id: m.id,
        address: m.address,
        voter: m.voter,
        up: true,
        role: roleName(status.role),
        term: status.term,
        leaderId: status.leaderId || undefined,
        commitIndex: status.commitIndex,
        appliedIndex: status.appliedIndex,
        lagEntries: leaderCommit === undefined ? undefined : Math.max(0, leaderCommit - status.appliedIndex),
        dbSizeBytes: described.dbSizeBytes,
        version: described.version,
        leaderSinceUnixMs: described.leaderSinceUnixMs || undefined,
        ...(described.errors.length > 0 ? { error: described.errors.join('; ') } : {}),
      };
    });

    const leader = leaderAnswer?.status;
    const leaderId = leader?.memberId ?? null;
    if (this.lastLeader !== undefined && leaderId !== this.lastLeader) {
      this.leaderChanges.push({ t: now, leaderId, term: leader?.term ?? Math.max(0, ...samples.map((s) => s.term ?? 0)) });
    }
    this.lastLeader = leaderId;

    // Cluster-wide rates from each member's counters since the previous round.
    let ops = 0;
    let seconds = 0;
    let merged: number[] | undefined;
    let bounds: number[] = [];
    const next = new Map<string, Counters & { t: number }>();
    for (const a of answers) {
      if (!a.described) continue;
      const cur = { t: now, ops: a.described.kvOperationsTotal, latency: a.described.kvLatencyCounts, bounds: a.described.kvLatencyBoundsSeconds };
      next.set(a.m.id, cur);
      const prev = this.previous.get(a.m.id);
      // A counter that went down belongs to a restarted member: skip it this round.
      if (!prev || cur.ops < prev.ops || prev.latency.length !== cur.latency.length) continue;
      ops += cur.ops - prev.ops;
      seconds = Math.max(seconds, (cur.t - prev.t) / 1000);
      const delta = cur.latency.map((n, i) => n - (prev.latency[i] ?? 0));
      merged = merged ? merged.map((n, i) => n + (delta[i] ?? 0)) : delta;
      bounds = cur.bounds;
    }
    this.previous = next;
    const lag: Record<string, number> = {};
    for (const s of samples) if (s.lagEntries !== undefined && s.id !== leaderId) lag[s.id] = s.lagEntries;
    this.history.push({
      t: now,
      opsPerSecond: seconds > 0 ? ops / seconds : null,
      p99Ms: merged ? quantileMs(merged, bounds, 0.99) : null,
      lag,
      leaderId,
    });
    while (this.history.length > 0 && this.history[0]!.t < now - HISTORY_MS) this.history.shift();
    while (this.leaderChanges.length > 0 && this.leaderChanges[0]!.t < now - HISTORY_MS) this.leaderChanges.shift();

    const leaderSample = samples.find((s) => s.id === leaderId);
    this.latest = {
      clusterId: this.clusterId,
      servedBy: this.replica.memberId,
      sampledAtMs: now,
      leader: leader
        ? { id: leader.memberId, address: leader.address, term: leader.term, sinceUnixMs: leaderSample?.leaderSinceUnixMs ?? null }
        : null,
      members: samples,
      history: this.history,
      leaderChanges: this.leaderChanges,
    };
  }
}

function roleName(role: string): string {
  return role.replace(/^ROLE_/, '').toLowerCase().replace('_', '-');
}

/**
 * The q-quantile of a cumulative histogram (counts per upper bound, the last
 * being +Inf), interpolated linearly within its bucket as Prometheus's
 * histogram_quantile does; null when there were no observations.
 */
export function quantileMs(cumulative: number[], boundsSeconds: number[], q: number): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < cumulative.length; i++) {
    if (cumulative[i]! >= rank) {
      if (i >= boundsSeconds.length) return boundsSeconds[boundsSeconds.length - 1]! * 1000;
      const lower = i === 0 ? 0 : boundsSeconds[i - 1]!;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const inBucket = cumulative[i]! - below;
      const fraction = inBucket > 0 ? (rank - below) / inBucket : 1;
      return (lower + (boundsSeconds[i]! - lower) * fraction) * 1000;
    }
  }
  return null;
}
