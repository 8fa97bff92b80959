import type {
  DeleteResponse__Output,
  KeyValue__Output,
  Member__Output,
  MembersResponse__Output,
  PutResponse__Output,
  RangeResponse__Output,
  ResponseHeader__Output,
  StatusResponse__Output,
  TransferLeadershipResponse__Output,
} from '@bellwether/proto';
import { utf8, view } from './bytes';

/**
 * Describes the member that served a call; on every result. Numbers are log
 * indexes and terms (well below 2^53).
 */
export interface ResponseHeader {
  /** The cluster's id, fixed when it was first formed. */
  readonly clusterId: string;
  /** The member that served the call. */
  readonly memberId: string;
  /** That member's Raft term when it answered. */
  readonly term: number;
  /** The leader that member knew of; `undefined` when it knew none. */
  readonly leaderId: string | undefined;
  /** The highest log index that member had applied. */
  readonly appliedIndex: number;
  /**
   * For a write: the log index that made it (its revision). For a read: the
   * revision of the state it was served from.
   */
  readonly revision: number;
}

/** One stored key with its value and revisions. */
export interface KeyValue {
  /** The key's bytes. */
  readonly key: Uint8Array;
  /** The value's bytes (empty for a keys-only range). */
  readonly value: Uint8Array;
  /** The key decoded as UTF-8. */
  readonly keyString: string;
  /** The value decoded as UTF-8 (invalid sequences become U+FFFD). */
  readonly valueString: string;
  /** The revision of the write that created the key. */
  readonly createRevision: number;
  /** The revision of the latest write to the key; pass it to `compareAndSwap`. */
  readonly modRevision: number;
  /** Writes since the key was created (1 after creation). */
  readonly version: number;
  /** The lease the key is attached to (0: none). */
  readonly lease: number;
}

/** Result of {@link BellwetherClient.put}. */
export interface PutResult {
  readonly header: ResponseHeader;
  /** The log index of this write (equal to `header.revision`). */
  readonly revision: number;
  /**
   * False only when `expectedModRevision` was given and did not match; then
   * nothing was written and {@link PutResult.prev} is the key's current state.
   */
  readonly succeeded: boolean;
  /**
   * The key before this write, when `prevKv` was asked for or the comparison
   * failed; `undefined` if the key did not exist.
   */
  readonly prev: KeyValue | undefined;
}

/** Result of {@link BellwetherClient.get}. */
export interface GetResult {
  readonly header: ResponseHeader;
  /** The key, or `undefined` when it does not exist. */
  readonly kv: KeyValue | undefined;
  /** Whether the key exists. */
  readonly found: boolean;
  /** The value's bytes, or `undefined` when the key does not exist. */
  readonly value: Uint8Array | undefined;
  /** The value decoded as UTF-8, or `undefined` when the key does not exist. */
  readonly valueString: string | undefined;
}

/** Result of {@link BellwetherClient.delete}. */
export interface DeleteResult {
  readonly header: ResponseHeader;
  /** The log index of this delete (equal to `header.revision`). */
  readonly revision: number;
  /** How many keys were deleted: 0 (absent, or comparison failed) or 1. */
  readonly deleted: number;
  /** False only when `expectedModRevision` was given and did not match. */
  readonly succeeded: boolean;
  /** The key before the delete, when asked for or when the comparison failed. */
  readonly prev: KeyValue | undefined;
}

/** One page of {@link BellwetherClient.range}. */
export interface RangePage {
  readonly header: ResponseHeader;
  /** The keys of this page, in byte order. */
  readonly kvs: readonly KeyValue[];
  /** True when more keys match; pass {@link RangePage.continuation} to get them. */
  readonly more: boolean;
  /** Opaque token for the next page; `undefined` when `more` is false. */
  readonly continuation: Uint8Array | undefined;
}

/** A compare-and-swap (or compare-and-delete) that took effect. */
export interface SwapSucceeded {
  readonly succeeded: true;
  readonly header: ResponseHeader;
  /** The log index of the write; the key's new `modRevision` after a swap. */
  readonly revision: number;
  /** The key before the write (`undefined` if it was absent). */
  readonly prev: KeyValue | undefined;
}

/** A compare-and-swap (or compare-and-delete) whose comparison failed: nothing was written. */
export interface SwapFailed {
  readonly succeeded: false;
  readonly header: ResponseHeader;
  /** The key as it is now (`undefined` if it does not exist). */
  readonly current: KeyValue | undefined;
}

/** Result of {@link BellwetherClient.compareAndSwap} and {@link BellwetherClient.compareAndDelete}. */
export type SwapResult = SwapSucceeded | SwapFailed;

class StoredKeyValue implements KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;

  constructor(kv: KeyValue__Output) {
    this.key = view(kv.key);
    this.value = view(kv.value);
    this.createRevision = Number(kv.createRevision);
    this.modRevision = Number(kv.modRevision);
    this.version = Number(kv.version);
    this.lease = Number(kv.lease ?? 0);
  }

  get keyString(): string {
    return utf8(this.key);
  }

  get valueString(): string {
    return utf8(this.value);
  }
}

class FoundResult implements GetResult {
  constructor(
    readonly header: ResponseHeader,
    readonly kv: KeyValue | undefined,
  ) {}
  get found(): boolean {
    return this.kv !== undefined;
  }
  get value(): Uint8Array | undefined {
    return this.kv?.value;
  }
  get valueString(): string | undefined {
    return this.kv?.valueString;
  }
}

/** @internal */
export function toHeader(h: ResponseHeader__Output | null | undefined): ResponseHeader {
  return {
    clusterId: h?.clusterId ?? '',
    memberId: h?.memberId ?? '',
    term: Number(h?.term ?? 0),
    leaderId: h?.leaderId ? h.leaderId : undefined,
    appliedIndex: Number(h?.appliedIndex ?? 0),
    revision: Number(h?.revision ?? 0),
  };
}

/** @internal */
export function toKeyValue(kv: KeyValue__Output | null | undefined): KeyValue | undefined {
  return kv ? new StoredKeyValue(kv) : undefined;
}

/** @internal */
export function toGetResult(header: ResponseHeader, kv: KeyValue | undefined): GetResult {
  return new FoundResult(header, kv);
}

/** @internal */
export function toPutResult(res: PutResponse__Output, header: ResponseHeader): PutResult {
  return { header, revision: header.revision, succeeded: res.succeeded, prev: toKeyValue(res.prevKv) };
}

/** @internal */
export function toDeleteResult(res: DeleteResponse__Output, header: ResponseHeader): DeleteResult {
  return { header, revision: header.revision, deleted: Number(res.deleted), succeeded: res.succeeded, prev: toKeyValue(res.prevKv) };
}

/** @internal the answer of a compare-and-swap or compare-and-delete (both ask for the previous key). */
export function toSwapResult(res: PutResponse__Output | DeleteResponse__Output, header: ResponseHeader): SwapResult {
  const kv = toKeyValue(res.prevKv);
  return res.succeeded ? { succeeded: true, header, revision: header.revision, prev: kv } : { succeeded: false, header, current: kv };
}

/** @internal */
export function toRangePage(res: RangeResponse__Output, header: ResponseHeader): RangePage {
  const kvs: KeyValue[] = [];
  for (const kv of res.kvs) {
    const converted = toKeyValue(kv);
    if (converted) kvs.push(converted);
  }
  const continuation = res.more && res.continuation.length > 0 ? view(res.continuation) : undefined;
  return { header, kvs, more: res.more, continuation };
}

/** A member's role in the Raft cluster. */
export type MemberRole = 'leader' | 'follower' | 'candidate' | 'pre-candidate' | 'learner' | 'unspecified';

/** How far one follower is, as the leader sees it. */
export interface FollowerProgress {
  readonly memberId: string;
  /** The highest log index known to be stored on that member. */
  readonly matchIndex: number;
  /** How many entries it is behind the leader's last index. */
  readonly lagEntries: number;
  /** Milliseconds since the leader last heard from it. */
  readonly lastContactMs: number;
  /** `'probe'`, `'replicate'` or `'snapshot'`. */
  readonly state: string;
  /** True for a non-voting learner. */
  readonly learner: boolean;
}

/** Result of {@link BellwetherClient.status}: the member that answered. */
export interface MemberStatus {
  readonly clusterId: string;
  readonly memberId: string;
  /** This member's address for clients and peers. */
  readonly address: string;
  readonly role: MemberRole;
  readonly term: number;
  /** The leader this member knows of; `undefined` when none. */
  readonly leaderId: string | undefined;
  readonly leaderAddress: string | undefined;
  /** The highest log index known to be stored on a majority. */
  readonly commitIndex: number;
  /** The highest log index applied to this member's key-value state. */
  readonly appliedIndex: number;
  /** The last index in this member's log. */
  readonly lastIndex: number;
  /** Milliseconds since this member last heard from a leader (0 on the leader). */
  readonly leaderContactAgeMs: number;
  /** Only on the leader: one entry per other member. */
  readonly followers: readonly FollowerProgress[];
}

/** One member of the cluster. */
export interface ClusterMember {
  readonly id: string;
  /** `host:port` for clients and peers. */
  readonly address: string;
  /** False for a learner. */
  readonly voter: boolean;
  /** `'voter'`, or `'learner'` (receives the log, takes no part in elections or commits). */
  readonly role: 'voter' | 'learner';
  /**
   * The incarnation (data dir) of this member the cluster has recorded; `''`
   * until the leader has heard from it. A process of this id with another
   * data dir (wiped or copied) is refused until the member is replaced.
   */
  readonly incarnation: string;
}

/** Result of {@link BellwetherClient.addMember} and {@link BellwetherClient.promoteMember}. */
export interface MembershipChange {
  /** The member added or promoted, as the leader now knows it. */
  readonly member: ClusterMember | undefined;
  /** Every member after the change. */
  readonly members: readonly ClusterMember[];
}

/** @internal */
function toClusterMember(x: Member__Output): ClusterMember {
  return { id: x.id, address: x.address, voter: x.voter, role: x.voter ? 'voter' : 'learner', incarnation: x.incarnation };
}

/** @internal */
export function toMembershipChange(r: { member?: Member__Output | null; members: Member__Output[] }): MembershipChange {
  return { member: r.member ? toClusterMember(r.member) : undefined, members: r.members.map(toClusterMember) };
}

/** Result of {@link BellwetherClient.members}. */
export interface ClusterMembers {
  readonly clusterId: string;
  readonly members: readonly ClusterMember[];
  /** The leader the answering member knows of; `undefined` when none. */
  readonly leaderId: string | undefined;
  readonly term: number;
}

const ROLES: Record<string, MemberRole> = {
  ROLE_LEADER: 'leader',
  ROLE_FOLLOWER: 'follower',
  ROLE_CANDIDATE: 'candidate',
  ROLE_PRE_CANDIDATE: 'pre-candidate',
  ROLE_LEARNER: 'learner',
};

/** @internal */
export function toMemberStatus(s: StatusResponse__Output): MemberStatus {
  return {
    clusterId: s.clusterId,
    memberId: s.memberId,
    address: s.address,
    role: ROLES[String(s.role)] ?? 'unspecified',
    term: Number(s.term),
    leaderId: s.leaderId || undefined,
    leaderAddress: s.leaderAddress || undefined,
    commitIndex: Number(s.commitIndex),
    appliedIndex: Number(s.appliedIndex),
    lastIndex: Number(s.lastIndex),
    leaderContactAgeMs: Number(s.leaderContactAgeMs),
    followers: s.followers.map((f) => ({
      memberId: f.memberId,
      matchIndex: Number(f.matchIndex),
      lagEntries: Number(f.lagEntries),
      lastContactMs: Number(f.lastContactMs),
      state: f.state,
      learner: f.learner,
    })),
  };
}

/** @internal */
export function toClusterMembers(m: MembersResponse__Output): ClusterMembers {
  return {
    clusterId: m.clusterId,
    members: m.members.map(toClusterMember),
    leaderId: m.leaderId || undefined,
    term: Number(m.term),
  };
}

/** The outcome of {@link BellwetherClient.transferLeadership}: who leads now. */
export interface LeadershipTransfer {
  /** The member that leads now (the requested target, when one was named). */
  readonly leaderId: string;
  /** Its `host:port`. */
  readonly leaderAddress: string;
  /** The Raft term it leads in. */
  readonly term: number;
}

export function toLeadershipTransfer(r: TransferLeadershipResponse__Output): LeadershipTransfer {
  return { leaderId: r.leaderId, leaderAddress: r.leaderAddress, term: Number(r.term) };
}

/** What {@link BellwetherClient.on} passes to `'leaderChange'` listeners. */
export interface LeaderChangeEvent {
  /** The new leader's member id; `undefined` while no leader is known (an election). */
  readonly leaderId: string | undefined;
  /** The new leader's `host:port`, when known. */
  readonly leaderAddress: string | undefined;
  /** The Raft term of the news. */
  readonly term: number;
  /** The leader before the change, if one was known. */
  readonly previousLeaderId: string | undefined;
  /** How the client learned it (a WatchLeader event, a probe, a hint, ...). */
  readonly reason: string;
}

/** What {@link BellwetherClient.on} passes to `'memberUp'` and `'memberDown'` listeners. */
export interface MemberEvent {
  /** The member's id, once it has told it. */
  readonly memberId: string | undefined;
  /** The `host:port` the client dials. */
  readonly address: string;
  /** Why the client thinks so, e.g. `'unreachable (connect ECONNREFUSED ...)'`. */
  readonly reason: string;
}

/** Whether the client can reach a member: not yet known, answering, or not answering. */
export type MemberState = 'unknown' | 'up' | 'down';

/** One member as the client sees it; part of {@link ClusterView}. */
export interface MemberView {
  /** The member's id (`undefined` for a seed that has not answered yet). */
  readonly id: string | undefined;
  /** The `host:port` the client dials. */
  readonly address: string;
  /** False for a learner. */
  readonly voter: boolean;
  /** `'up'`: answering; `'down'`: refusing or silent (skipped by routing); `'unknown'`: not heard from yet. */
  readonly state: MemberState;
  /** Whether it is the leader the client follows. */
  readonly isLeader: boolean;
  /** When the client last heard from it (`Date.now()` milliseconds). */
  readonly lastContactAt: number | undefined;
  /** The highest log index it had applied when it last said. */
  readonly appliedIndex: number;
  /** Its Raft term when it last said. */
  readonly term: number;
  /** Smoothed round-trip time of its health probes, in milliseconds. */
  readonly rttMs: number | undefined;
  /** Calls of this client in flight to it now. */
  readonly outstanding: number;
  /** From its last probe: milliseconds since it heard from a leader (0 on the leader). */
  readonly leaderContactAgeMs: number | undefined;
  /** The last failure seen on it. */
  readonly lastError: string | undefined;
  /** Whether this client holds an open (READY) HTTP/2 connection to it; connections are opened on first use. */
  readonly connected: boolean;
  /** Long-lived streams this client holds open to it: its `KV.Stream` (once used) and the client's one `WatchLeader` stream (if it is the watched member). */
  readonly streams: number;
}

/** Result of {@link BellwetherClient.cluster}: the client's current view of the cluster. */
export interface ClusterView {
  /** The cluster's id, once a member has told it. */
  readonly clusterId: string | undefined;
  /** The highest Raft term the client has seen. */
  readonly term: number;
  /**
   * The leader the client follows; `undefined` while none is known.
   * `reachable` is false while its member is down (writes then wait for a new one).
   */
  readonly leader: { readonly id: string; readonly address: string | undefined; readonly term: number; readonly reachable: boolean } | undefined;
  /** Every member the client knows, by id. */
  readonly members: readonly MemberView[];
}
