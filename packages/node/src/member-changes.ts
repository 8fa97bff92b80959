import type { RemoveMemberResponse__Output } from '@bellwether/proto';
import { ConfChangeError, type ConfChange, majority } from '@bellwether/raft';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ID_PATTERN, parseAddress } from './config';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, notLeader, RpcError, unavailable } from './errors';
import { callCluster } from './cluster-calls';
import { mostCaughtUpVoter, TransferFailed, transferLeadership } from './leadership';
import type { MemberInfo } from './membership';
import type { Replica } from './replica';

/** A learner further behind the leader's last index than this is not promoted (it would slow every commit while it catches up). */
export const PROMOTE_MAX_LAG_ENTRIES = 1000;
/** Raft takes one membership change at a time: a change that finds another pending retries this long. */
const PENDING_RETRY_MS = 3000;
/** How soon a handover's new leader is asked again when it has not yet heard from enough voters. */
const QUORUM_RECHECK_MS = 100;

export interface MemberChangesOptions {
  replica: Replica;
  /** Milliseconds since a message from the peer last arrived. */
  lastContactMs(id: string): number | undefined;
  electionTimeoutMs: number;
  log: Logger;
}

/**
 * The Cluster API's membership changes, on the leader: AddMember,
 * PromoteMember, RemoveMember, each checked against the members that are up
 * so no change leaves the cluster without a reachable quorum. Every change
 * (the incarnation records of incarnation-recorder.ts too) goes through one
 * queue: Raft accepts one at a time.
 */
export class MemberChanges {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: MemberChangesOptions) {}

  private get replica(): Replica {
    return this.opts.replica;
  }

  private members(): MemberInfo[] {
    return this.replica.memberList();
  }

  private requireLeader(): void {
    if (!this.replica.isLeader) throw notLeader(this.replica.memberId, this.replica.leaderHint());
  }

  /** A peer heard from within this long is up. */
  private upWithinMs(): number {
    return Math.max(1000, 3 * this.opts.electionTimeoutMs);
  }

  /** Up: this node, or a peer heard from within a few election timeouts. */
  isUp(id: string): boolean {
    if (id === this.replica.memberId) return true;
    const age = this.opts.lastContactMs(id);
    return age !== undefined && age <= this.upWithinMs();
  }

  /** Refuses a change after which the voters that are up could not form a quorum. */
  private checkQuorum(voters: string[], what: string, instead: string): void {
    const need = majority(voters.length);
    const up = voters.filter((v) => this.isUp(v));
    if (up.length < need) {
      const down = voters.filter((v) => !this.isUp(v));
      throw failedPrecondition(
        `${what} would leave ${voters.length} voters needing ${need} for a quorum, but only ${up.length} are up (${up.join(', ') || 'none'}; not heard from: ${down.join(', ')}); ${instead}`,
      );
    }
  }

  async add(id: string, address: string, learner: boolean): Promise<MemberInfo> {
    if (!ID_PATTERN.test(id)) throw invalidArgument(`id: "${id}" is not a valid member id (letters, digits, _.-; at most 63)`);
    try {
      parseAddress('peer_address', address);
    } catch (err) {
      throw invalidArgument((err as Error).message);
    }
    this.requireLeader();
    const members = this.members();
    if (members.some((m) => m.id === id)) throw alreadyExists(`member ${id} already exists; to replace it, RemoveMember it first`);
    const clash = members.find((m) => m.address === address);
    if (clash) throw alreadyExists(`address ${address} is already member ${clash.id}'s`);
    if (!learner) {
      const voters = members.filter((m) => m.voter).map((m) => m.id);
      this.checkQuorum([...voters, id], `adding ${id} as a voter`, 'add it as a learner (learner: true), start it, and promote it once it has caught up');
    }
    await this.propose({ kind: learner ? 'addLearner' : 'addVoter', nodeId: id, context: Buffer.from(address) });
    this.opts.log.info({ id, address, learner }, 'member added');
    return this.members().find((m) => m.id === id)!;
  }

  async promote(id: string): Promise<MemberInfo> {
    this.requireLeader();
    const m = this.members().find((x) => x.id === id);
    if (!m) throw notFound(`no member ${id}`);
    if (m.voter) throw failedPrecondition(`member ${id} is already a voter`);
    if (!m.incarnation) throw failedPrecondition(`learner ${id} has not connected to the leader yet (no incarnation recorded); start it with --initial-cluster-state existing, then retry`);
    const st = this.replica.raftStatus();
    const match = st.progress?.[id]?.match ?? 0;
    const lag = Math.max(0, st.lastIndex - match);
    if (lag > PROMOTE_MAX_LAG_ENTRIES) {
      throw failedPrecondition(`learner ${id} is ${lag} entries behind the leader (at most ${PROMOTE_MAX_LAG_ENTRIES} to be promoted); retry once it has caught up (Status shows its lag)`);
    }
    const voters = this.members().filter((x) => x.voter).map((x) => x.id);
    this.checkQuorum([...voters, id], `promoting ${id}`, 'bring the missing voters back (or remove them) first');
    await this.propose({ kind: 'promoteLearner', nodeId: id });
    this.opts.log.info({ id }, 'learner promoted');
    return this.members().find((x) => x.id === id)!;
  }

  async remove(id: string): Promise<MemberInfo[]> {
    this.requireLeader();
    const m = this.members().find((x) => x.id === id);
    if (!m) throw notFound(`no member ${id}`);
    if (m.voter) {
      const rest = this.members().filter((x) => x.voter && x.id !== id).map((x) => x.id);
      if (rest.length === 0) throw failedPrecondition(`member ${id} is the last voter; a cluster cannot remove its last voter`);
      this.checkQuorum(rest, `removing ${id}`, 'bring the missing voters back first, or remove a member that is down instead');
    }
    if (id === this.replica.memberId) return this.removeSelf();
    await this.propose({ kind: 'removeNode', nodeId: id });
    this.opts.log.info({ id }, 'member removed');
    return this.members();
  }

  /** The leader removing itself: hand over to the most caught-up voter that is up, then have the new leader remove it. */
  private async removeSelf(): Promise<MemberInfo[]> {
    const self = this.replica.memberId;
    const upMs = this.upWithinMs();
    const target = mostCaughtUpVoter(this.replica, { lastContactMs: this.opts.lastContactMs, recentContactMs: upMs });
    if (!target) throw failedPrecondition(`leader ${self} cannot remove itself: no other voter is up to hand leadership to`);
    this.opts.log.info({ to: target }, 'removing this member: handing leadership over first');
    const timeoutMs = Math.max(3000, 20 * this.opts.electionTimeoutMs);
    await transferLeadership(this.replica, target, { timeoutMs }).catch((err: Error) => {
      // Another voter winning the election instead is as good: it is not us.
      if (!(err instanceof TransferFailed) || this.replica.isLeader || !this.replica.leaderHint()) {
        throw unavailable(`leadership did not pass from ${self}: ${err.message}; nothing was removed — retry`, this.replica.leaderHint());
      }
    });
    const leader = this.replica.leaderHint();
    if (!leader || leader.id === self) throw unavailable(`leadership did not pass from ${self}; nothing was removed — retry`, leader);
    const until = Date.now() + timeoutMs;
    let res: RemoveMemberResponse__Output | undefined;
    while (!res) {
      res = await callCluster<RemoveMemberResponse__Output>(leader.address, 'RemoveMember', { id: self }, Math.max(1, until - Date.now())).catch(async (err: grpc.ServiceError) => {
        // A leader of a moment ago has not heard from every voter yet, so its
        // quorum check can refuse what it will allow once it has.
        if (err.code === grpc.status.FAILED_PRECONDITION && / are up /.test(err.details ?? '') && Date.now() + QUORUM_RECHECK_MS < until) {
          await new Promise((r) => setTimeout(r, QUORUM_RECHECK_MS));
          return undefined;
        }
        throw new RpcError(err.code ?? grpc.status.UNAVAILABLE, `leadership passed to ${leader.id}, which did not remove ${self}: ${err.details ?? err.message}; retry RemoveMember there`);
      });
    }
    return res.members.map((x) => ({ id: x.id, address: x.address, voter: x.voter, incarnation: x.incarnation }));
  }

  /** Proposes one change on the queue; a change refused only because another is pending is retried for a while. */
  propose(cc: ConfChange): Promise<number> {
    const run = async (): Promise<number> => {
      const until = Date.now() + PENDING_RETRY_MS;
      for (;;) {
        try {
          return await this.replica.proposeConfChange(cc);
        } catch (err) {
          if (!(err instanceof ConfChangeError)) throw err;
          // Raft's configuration can be a step ahead of the applied member
          // list the checks above read (a retried change racing its own first
          // attempt): its refusals get the same codes as theirs.
          if (/ is not a member$/.test(err.message)) throw notFound(`no member ${cc.nodeId}`);
          if (/ is already a (voter|learner)$/.test(err.message)) throw alreadyExists(`member ${cc.nodeId} already exists (${err.message})`);
          if (!/not committed yet/.test(err.message) || Date.now() > until) throw failedPrecondition(`membership change refused: ${err.message}`);
          await new Promise((r) => setTimeout(r, 20));
          this.requireLeader();
        }
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}
