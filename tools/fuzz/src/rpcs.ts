// One fuzzed call per RPC: a random or mutated message sent to one member.
// Every call ends by itself (short deadlines, streams cancelled), whatever
// the member answers; the campaign only counts them.
import type { Rng } from '@bellwether/raft';
import { CLUSTER_ID_METADATA, loadPeerApi, loadPublicApi, MEMBER_ID_METADATA, unary } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { bytes, enumValue, key, number, text, u32 } from './values';

export interface Target {
  address: string;
  peerAddress: string;
  clusterId: string;
  memberIds: readonly string[];
  /** Each member's recorded incarnation, presented when claiming to be it (so its broken messages reach the checks). */
  incarnations: Readonly<Record<string, string>>;
  /** Keys under this prefix hold the acknowledged writes: fuzzed writes never touch them. */
  protectedPrefix: string;
}

const DEADLINE_MS = 1500;
const READ_MODES = ['READ_MODE_UNSPECIFIED', 'READ_MODE_LINEARIZABLE', 'READ_MODE_READ_YOUR_WRITES', 'READ_MODE_ANY_FOLLOWER'];
const PEER_TYPES = ['preVote', 'vote', 'preVoteResp', 'voteResp', 'append', 'appendResp', 'heartbeat', 'heartbeatResp', 'snapshot', 'readIndex', 'readIndexResp', 'timeoutNow', 'transferLeader'];
const ENTRY_TYPES = ['ENTRY_TYPE_NORMAL', 'ENTRY_TYPE_NOOP', 'ENTRY_TYPE_CONF'];

type Message = Record<string, unknown>;

function read(rng: Rng): Message {
  return { mode: enumValue(rng, READ_MODES), minIndex: number(rng), maxStalenessMs: number(rng) };
}

function putRequest(rng: Rng, t: Target): Message {
  const m: Message = { key: key(rng, t.protectedPrefix), value: bytes(rng, 'value'), clientId: text(rng), sequence: number(rng), minUnackedSequence: number(rng), prevKv: rng.chance(0.5) };
  if (rng.chance(0.3)) m['expectedModRevision'] = number(rng);
  return m;
}

function rangeRequest(rng: Rng, t: Target): Message {
  const m: Message = { limit: number(rng), keysOnly: rng.chance(0.3), read: read(rng), continuation: rng.chance(0.2) ? bytes(rng, 'key') : Buffer.alloc(0) };
  if (rng.chance(0.5)) m['prefix'] = key(rng, t.protectedPrefix);
  else Object.assign(m, { start: bytes(rng, 'key'), end: bytes(rng, 'key') });
  return m;
}

/** The public unary RPCs and how to make their requests. */
const UNARY: Record<string, { service: 'kv' | 'cluster' | 'auth'; make(rng: Rng, t: Target): Message }> = {
  'KV.Put': { service: 'kv', make: putRequest },
  'KV.Get': { service: 'kv', make: (rng, t) => ({ key: key(rng, t.protectedPrefix), read: read(rng) }) },
  'KV.Delete': { service: 'kv', make: (rng, t) => ({ ...putRequest(rng, t), value: undefined }) },
  'KV.Range': { service: 'kv', make: rangeRequest },
  'Cluster.Status': { service: 'cluster', make: () => ({}) },
  'Cluster.Members': { service: 'cluster', make: () => ({}) },
  'Auth.Authenticate': { service: 'auth', make: (rng) => ({ name: text(rng), password: text(rng) }) },
  'Auth.AuthStatus': { service: 'auth', make: () => ({}) },
  'Auth.UserAdd': { service: 'auth', make: (rng) => ({ name: `f${text(rng)}`, password: text(rng) }) },
  'Auth.UserDelete': { service: 'auth', make: (rng) => ({ name: `f${text(rng)}` }) },
  'Auth.UserGet': { service: 'auth', make: (rng) => ({ name: text(rng) }) },
  'Auth.UserList': { service: 'auth', make: () => ({}) },
  'Auth.RoleAdd': { service: 'auth', make: (rng) => ({ name: `f${text(rng)}` }) },
  'Auth.RoleGrantPermission': {
    service: 'auth',
    make: (rng) => ({ name: `f${text(rng)}`, perm: { permType: enumValue(rng, ['READ', 'WRITE', 'READWRITE']), ...(rng.chance(0.5) ? { prefix: bytes(rng, 'key') } : { range: { start: bytes(rng, 'key'), end: bytes(rng, 'key') } }) } }),
  },
  'Auth.RoleGet': { service: 'auth', make: (rng) => ({ role: text(rng) }) },
  'Auth.RoleList': { service: 'auth', make: () => ({}) },
};

export const RPCS = [...Object.keys(UNARY), 'KV.Stream', 'Cluster.WatchLeader', 'Raft.Replicate', 'Raft.InstallSnapshot', 'Raft.Observe', 'raw bytes'] as const;

const clients = new Map<string, grpc.Client>();
function client(kind: string, address: string): grpc.Client {
  const cacheKey = `${kind}@${address}`;
  let c = clients.get(cacheKey);
  if (!c) {
    const api = loadPublicApi();
    const ctor =
      kind === 'kv' ? api.bellwether.kv.v1.KV : kind === 'cluster' ? api.bellwether.cluster.v1.Cluster : kind === 'auth' ? api.bellwether.auth.v1.Auth : kind === 'raft' ? loadPeerApi().bellwether.raft.v1.Raft : grpc.Client;
    c = new (ctor as unknown as typeof grpc.Client)(address, grpc.credentials.createInsecure());
    clients.set(cacheKey, c);
  }
  return c;
}

export function closeClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

function settle(p: Promise<unknown>): Promise<void> {
  return p.then(
    () => undefined,
    () => undefined,
  );
}

/** One call with the fuzz deadline; its outcome (an answer or an error) does not matter, only that the member survives it. */
function callIgnoringOutcome(c: grpc.Client, method: string, req: Message): Promise<void> {
  return settle(unary(c, method, req, DEADLINE_MS));
}

/** A peer message that is malformed somewhere (a number out of range, an entry that does not decode, a gap), so no member may act on it. */
function brokenPeerMessage(rng: Rng, t: Target, from: string, to: string): Message {
  const index = rng.int(0, 1000);
  const term = rng.int(0, 100);
  const m: Message = {
    type: rng.chance(0.9) ? rng.pick(PEER_TYPES) : text(rng),
    from,
    to,
    term,
    logTerm: rng.int(0, term),
    index,
    commit: rng.int(0, index),
    reject: rng.chance(0.5),
    rejectHint: rng.int(0, index),
    context: bytes(rng),
    transferee: rng.pick(t.memberIds),
    entries: Array.from({ length: rng.int(0, 3) }, (_, i) => ({ index: index + 1 + i, term, type: rng.pick(ENTRY_TYPES), data: bytes(rng) })),
  };
  switch (rng.int(0, 4)) {
    case 0:
      m[rng.pick(['term', 'logTerm', 'index', 'commit', 'rejectHint'])] = rng.pick(['9007199254740992', '18446744073709551615', 2 ** 53 + 2]);
      break;
    case 1:
      m['type'] = 'append';
      m['entries'] = [{ index: index + 1, term, type: 'ENTRY_TYPE_NORMAL', data: Buffer.from([0xff, ...bytes(rng)]) }];
      break;
    case 2:
      m['type'] = 'append';
      m['entries'] = [{ index: index + 2 + rng.int(0, 10), term, type: 'ENTRY_TYPE_NOOP', data: Buffer.alloc(0) }];
      break;
    case 3:
      m['term'] = 2 ** 52 + rng.int(1, 1000);
      break;
    default:
      m['from'] = 'x'.repeat(64 + rng.int(0, 100));
  }
  return m;
}

function peerMetadata(t: Target, as: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(CLUSTER_ID_METADATA, t.clusterId);
  md.set(MEMBER_ID_METADATA, as);
  const incarnation = t.incarnations[as];
  if (incarnation) md.set('bellwether-incarnation', incarnation);
  return md;
}

/** Sends one fuzzed call of `rpc` to the target member; resolves when it is over, however it ended. */
export async function fuzzCall(rng: Rng, t: Target, rpc: (typeof RPCS)[number]): Promise<void> {
  const u = UNARY[rpc];
  if (u) return callIgnoringOutcome(client(u.service, t.address), rpc.split('.')[1]!, u.make(rng, t));
  switch (rpc) {
    case 'KV.Stream': {
      const stream = (client('kv', t.address) as unknown as { Stream(o: grpc.CallOptions): grpc.ClientDuplexStream<Message, Message> }).Stream({ deadline: Date.now() + DEADLINE_MS });
      const done = settle(new Promise((resolve, reject) => {
        stream.on('data', () => {});
        stream.on('error', reject);
        stream.on('end', resolve);
      }));
      const ops = ['put', 'get', 'delete', 'range', undefined] as const;
      for (let i = rng.int(1, 3); i > 0; i--) {
        const calls = Array.from({ length: rng.chance(0.95) ? rng.int(0, 20) : 3000 }, () => {
          const op = rng.pick(ops);
          const call: Message = { id: rng.chance(0.8) ? rng.int(0, 50) : number(rng), timeoutMs: u32(rng) };
          if (op === 'put') call['put'] = putRequest(rng, t);
          else if (op === 'get') call['get'] = { key: key(rng, t.protectedPrefix), read: read(rng) };
          else if (op === 'delete') call['delete'] = { key: key(rng, t.protectedPrefix), clientId: text(rng), sequence: number(rng) };
          else if (op === 'range') call['range'] = rangeRequest(rng, t);
          return call;
        });
        stream.write({ calls });
      }
      // Truncated streams too: cancelled with calls in flight.
      if (rng.chance(0.5)) stream.cancel();
      else stream.end();
      return done;
    }
    case 'Cluster.WatchLeader': {
      const call = (client('cluster', t.address) as unknown as { WatchLeader(r: Message, o: grpc.CallOptions): grpc.ClientReadableStream<Message> }).WatchLeader({}, { deadline: Date.now() + DEADLINE_MS });
      const done = settle(new Promise((resolve, reject) => {
        call.on('data', () => call.cancel());
        call.on('error', reject);
        call.on('end', resolve);
      }));
      return done;
    }
    case 'Raft.Replicate': {
      // As a stranger, or as a member with messages broken somewhere.
      const as = rng.chance(0.3) ? `fuzz-${rng.int(0, 9)}` : rng.pick(t.memberIds);
      const to = rng.pick(t.memberIds);
      const stream = (client('raft', t.peerAddress) as unknown as { Replicate(md: grpc.Metadata, o: grpc.CallOptions): grpc.ClientDuplexStream<Message, Message> }).Replicate(peerMetadata(t, as), {
        deadline: Date.now() + DEADLINE_MS,
      });
      const done = settle(new Promise((resolve, reject) => {
        stream.on('data', () => {});
        stream.on('error', reject);
        stream.on('end', resolve);
      }));
      stream.write({ messages: Array.from({ length: rng.int(1, 5) }, () => brokenPeerMessage(rng, t, as, to)) });
      setTimeout(() => stream.cancel(), rng.int(10, 200));
      return done;
    }
    case 'Raft.InstallSnapshot': {
      const as = rng.chance(0.5) ? `fuzz-${rng.int(0, 9)}` : rng.pick(t.memberIds);
      const c = client('raft', t.peerAddress) as unknown as { InstallSnapshot(md: grpc.Metadata, o: grpc.CallOptions, cb: (e: unknown) => void): grpc.ClientWritableStream<Message> };
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const stream = c.InstallSnapshot(peerMetadata(t, as), { deadline: Date.now() + DEADLINE_MS }, () => finish());
      stream.on('error', () => finish());
      const header = brokenPeerMessage(rng, t, as, rng.pick(t.memberIds));
      header['type'] = rng.chance(0.8) ? 'snapshot' : header['type'];
      header['snapshot'] = { index: number(rng), term: number(rng), voters: [...t.memberIds], learners: [] };
      stream.write({ message: header, appliedIndex: number(rng), members: bytes(rng) });
      for (let i = rng.int(0, 3); i > 0; i--) stream.write({ data: bytes(rng, 'value'), done: rng.chance(0.3) });
      if (rng.chance(0.5)) stream.end();
      else stream.cancel();
      return done;
    }
    case 'Raft.Observe': {
      const as = rng.chance(0.5) ? `fuzz-${rng.int(0, 9)}` : rng.pick(t.memberIds);
      const c = client('raft', t.peerAddress) as unknown as { Observe(r: Message, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: unknown) => void): unknown };
      return settle(new Promise<void>((resolve, reject) => c.Observe({}, peerMetadata(t, as), { deadline: Date.now() + DEADLINE_MS }, (e) => (e ? reject(e) : resolve()))));
    }
    case 'raw bytes': {
      // Bytes that need not be any protobuf at all, on a real method path.
      const path = rng.pick(['/bellwether.kv.v1.KV/Put', '/bellwether.kv.v1.KV/Range', '/bellwether.cluster.v1.Cluster/Status', '/bellwether.auth.v1.Auth/Authenticate', '/bellwether.auth.v1.Auth/RoleGrantPermission']);
      const c = client('raw', t.address);
      const body = bytes(rng, 'value');
      return settle(
        new Promise<void>((resolve, reject) =>
          c.makeUnaryRequest(
            path,
            (b: Buffer) => b,
            (b: Buffer) => b,
            body,
            new grpc.Metadata(),
            { deadline: Date.now() + DEADLINE_MS },
            (e) => (e ? reject(e) : resolve()),
          ),
        ),
      );
    }
  }
}
