import { Level } from 'level';
import type { StoreDatabase } from './database';
import { Reader, Writer } from './codec';
import { type AuthCommand, type AuthState, applyAuthCommand, decodeAuthState, emptyAuthState, encodeAuthState } from './auth-state';
import { authKey, type Generation, generationRange, HARD_STATE_KEY, logKey, metaKey, Prefix, STATE_KEY_HEADER_BYTES, STATE_PREFIXES, sessionKey, userKey } from './keys';
import {
  type Command,
  decodeCommand,
  decodeKeyValue,
  decodeSession,
  encodeSession,
  encodeStoredKeyValue,
  type KeyValueRecord,
  type SessionRecord,
  type WriteResult,
} from './records';
import { RevisionCache } from './revision-cache';
import { type KeyChange, keyChange } from './changes';
import { applyTxn, mergeRange, txnKeys } from './txn';
import { LeaseBatch } from './lease-batch';
import { pageBytes, TXN_RANGE_BYTES } from './range-page';
import { sessionResultBytes } from './session-bytes';
import { expireSessions, type SessionExpireCommand } from './session-expiry';
import { decodeLease, type LeaseChange, type LeaseRecord } from './leases';

/** A Raft log entry as stored (structurally the same as @bellwether/raft's Entry). */
export interface LogEntry {
  index: number;
  term: number;
  type: 'normal' | 'noop' | 'conf';
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: string | null;
  commit: number;
}

/** The most results one client session keeps, however far behind its min_unacked_sequence. */
export const SESSION_RESULTS_KEPT = 4096;
/**
 * The most bytes of results (sessionResultBytes) one client session keeps:
 * the oldest are forgotten past it, the newest is always kept. Without it,
 * 4,096 results holding a 4 KiB previous value or a transaction's ranges
 * would make one session record tens of MiB, rewritten on every write.
 */
export const SESSION_RESULTS_KEPT_BYTES = 4 * 1024 * 1024;

/** The largest previous value a remembered result keeps whole (see rememberResult). */
export const SESSION_PREV_VALUE_KEPT_BYTES = 4096;

const EMPTY = Buffer.alloc(0);
/** A session not written for this many log entries is forgotten (a deterministic rule, applied at every replica alike). */
export const SESSION_EXPIRY_ENTRIES = 1_000_000;
/** Expired sessions are swept when the applied index crosses a multiple of this. */
const SESSION_SWEEP_EVERY_ENTRIES = 10_000;

const ENTRY_TYPES = ['normal', 'noop', 'conf'] as const;
const APPLIED_KEY = metaKey('applied');
/** Keys whose revisions the apply path keeps in memory (~150 bytes each). */
const REVISION_CACHE_KEYS = 131_072;
/** Stands in for the value of a key known only by its cached revisions; never stored or returned. */
const EMPTY_VALUE = Buffer.alloc(0);

type KvCommand = Exclude<Command, { op: 'auth' | 'session-expire' }>;

type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface RangeQuery {
  /** Inclusive lower bound on the user key. */
  start: Uint8Array;
  /** Exclusive upper bound; undefined = no bound. */
  end?: Uint8Array;
  limit: number;
  keysOnly?: boolean;
  /** Stop before the key that takes the page's bytes (pageBytes) past this, and say `more`; no bound when absent. */
  maxBytes?: number;
  /** Keys returned whatever they weigh (at least one): a page never comes back empty while keys remain. */
  minKeys?: number;
}

export interface SnapshotReader {
  /** The applied index the pinned state corresponds to. */
  appliedIndex: number;
  chunks(): AsyncGenerator<Buffer>;
}

export interface SnapshotInstaller {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the installed state current at `appliedIndex`; false (and nothing changes) if the local state is already as new. */
  finish(appliedIndex: number, meta: Record<string, Uint8Array>): Promise<boolean>;
  abort(): Promise<void>;
}

export interface ApplyOutcome {
  /** Results of the 'normal' entries, by log index. */
  results: Map<number, WriteResult>;
  appliedIndex: number;
  /** Every key change, in revision order (empty unless the store tracks changes). */
  changes: KeyChange[];
  /** Leases granted and revoked (or expired), in order. */
  leases: LeaseChange[];
}

/**
 * The node's LevelDB: Raft log and hard state, node metadata, the key-value
 * state machine and client sessions. Applying entries writes user data,
 * sessions and the applied index in one atomic batch, so a crash never leaves
 * them out of step; the log itself is the durable record (fsynced on append),
 * and anything applied but lost is re-applied from it on restart.
 */

/** Which of the two state generations is current (a snapshot install fills the other, then swaps). */
const GENERATION_KEY = metaKey('generation');
const decodeGeneration = (raw: Buffer | undefined): Generation => (raw?.[0] === 1 ? 1 : 0);

export class Store {
  /** Users, roles and permissions, as of `applied` (replicated state, see auth-state.ts). */
  private auth: AuthState = emptyAuthState();

  private constructor(
    private readonly db: StoreDatabase,
    private applied: number,
    private lastLogIndex: number,
    private gen: Generation,
    private firstLogIndex: number,
    /** Revisions of recently written keys: most puts apply without reading LevelDB. */
    private readonly revisions: RevisionCache,
    /** Report each change with the key's previous state (for watches): every written key's value is read first. */
    private readonly trackChanges: boolean,
  ) {}

  /**
   * Opens the store in LevelDB directory `dir`, or on an abstract-level
   * database the caller made (with 'buffer' key and value encodings); the
   * store closes it on {@link Store.close}.
   */
  static async open(location: string | StoreDatabase, opts: { revisionCacheKeys?: number; trackChanges?: boolean } = {}): Promise<Store> {
    // A larger memtable means fewer level-0 files, so fewer write stalls under
    // a steady stream of log appends and applies.
    const db = typeof location === 'string' ? new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 32 * 1024 * 1024 }) : location;
    if (db.keyEncoding().commonName !== 'buffer' || db.valueEncoding().commonName !== 'buffer') {
      throw new TypeError('Store.open: the database must use buffer key and value encodings');
    }
    await db.open();
    const applied = decodeApplied(await db.get(metaKey('applied')));
    const gen = decodeGeneration(await db.get(GENERATION_KEY));
    let last = 0;
    let first = 0;
    for await (const key of db.keys({ gte: logKey(0), lte: logKey(Number.MAX_SAFE_INTEGER), reverse: true, limit: 1 })) {
      last = Number(key.readBigUInt64BE(1));
    }
    for await (const key of db.keys({ gte: logKey(0), lte: logKey(Number.MAX_SAFE_INTEGER), limit: 1 })) {
      first = Number(key.readBigUInt64BE(1));
    }
    // Whatever sits in the other generation is an install that never finished.
    const other: Generation = gen === 0 ? 1 : 0;
    for (const prefix of STATE_PREFIXES) await db.clear(generationRange(prefix, other));
    const store = new Store(db, applied, last, gen, first, new RevisionCache(opts.revisionCacheKeys ?? REVISION_CACHE_KEYS), opts.trackChanges === true);
    store.durableApplied = applied;
    await store.loadAuth();
    return store;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async loadAuth(): Promise<void> {
    const raw = await this.db.get(authKey(this.gen));
    this.auth = raw ? decodeAuthState(raw) : emptyAuthState();
  }

  /** Users, roles and permissions as of the applied index. Treat as read-only: it changes only by applying commands. */
  get authState(): AuthState {
    return this.auth;
  }

  /**
   * Writes `ops` atomically. A chained batch costs about a quarter of the CPU
   * of `db.batch(array)`, which clones and re-validates every operation in
   * JavaScript; on the write path that difference was 40% of a node's time.
   */
  private async writeBatch(ops: BatchOp[], sync: boolean): Promise<void> {
    const batch = this.db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
    } catch (err) {
      await batch.close();
      throw err;
    }
    await batch.write({ sync });
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** The applied index whose state is known to be on disk (see {@link Store.makeAppliedDurable}). */
  get durableAppliedIndex(): number {
    return this.durableApplied;
  }

  /**
   * Every write so far reaches a synced table file: LevelDB's compactRange
   * flushes the memtable first. (`level` runs classic-level on Node, whose
   * compactRange its browser-neutral types leave out.)
   */
  private async flushToDisk(): Promise<void> {
    const db = this.db as unknown as { compactRange?(start: Buffer, end: Buffer): Promise<void> };
    // A database without compactRange (memory-level) has no memtable to flush.
    if (db.compactRange) await db.compactRange(APPLIED_KEY, metaKey('applied~'));
  }

  /** What was on disk at open is durable; later applies become so in makeAppliedDurable. */
  private durableApplied = 0;

  /**
   * Makes the state applied so far durable and returns its index. Applies
   * are written without fsync (the log is the durable record and replays
   * them), so before log entries are dropped the state covering them must
   * be on disk. A synced write alone does not ensure it: LevelDB fsyncs only
   * its current log file, and earlier applies may sit in the previous one
   * while its memtable is being flushed. LevelDB's compactRange flushes the
   * memtable to a synced table file before anything else; the range here is
   * one key, so that is nearly all it does.
   */
  async makeAppliedDurable(): Promise<number> {
    const applied = this.applied;
    if (applied <= this.durableApplied) return this.durableApplied;
    await this.flushToDisk();
    this.durableApplied = Math.max(this.durableApplied, applied);
    return this.durableApplied;
  }

  get lastIndex(): number {
    return this.lastLogIndex;
  }

  // ---- metadata ----

  async getMeta(name: string): Promise<Buffer | undefined> {
    return this.db.get(metaKey(name));
  }

  /** Durable (fsynced) metadata writes, for identity and configuration. */
  async putMeta(entries: Record<string, Uint8Array>): Promise<void> {
    const ops: BatchOp[] = Object.entries(entries).map(([name, value]) => ({
      type: 'put',
      key: metaKey(name),
      value: Buffer.from(value),
    }));
    await this.writeBatch(ops, true);
  }

  // ---- Raft log and hard state ----

  async loadHardState(): Promise<HardState | undefined> {
    const raw = await this.db.get(HARD_STATE_KEY);
    if (!raw) return undefined;
    const r = new Reader(raw);
    const term = r.uint();
    const vote = r.optional((r) => r.string()) ?? null;
    return { term, vote, commit: r.uint() };
  }

  /** Every log entry still stored, in index order. */
  async loadLog(): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const [key, value] of this.db.iterator({ gte: logKey(0), lte: logKey(Number.MAX_SAFE_INTEGER) })) {
      entries.push(decodeEntry(Number(key.readBigUInt64BE(1)), value));
    }
    return entries;
  }

  /** Stored log entries in [lo, hi], in index order (fewer if some were compacted away meanwhile). */
  async readLog(lo: number, hi: number): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const [key, value] of this.db.iterator({ gte: logKey(lo), lte: logKey(hi) })) {
      entries.push(decodeEntry(Number(key.readBigUInt64BE(1)), value));
    }
    return entries;
  }

  /**
   * Appends entries (overwriting any conflicting suffix) and records the hard
   * state, in one batch. With `sync` the batch is on disk before this
   * resolves: Raft may only acknowledge or count entries after that.
   */
  async persist(update: { hardState?: HardState; entries: LogEntry[] }, sync = true): Promise<void> {
    const ops: BatchOp[] = [];
    if (update.hardState) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(update.hardState) });
    const { entries } = update;
    let newLast = this.lastLogIndex;
    if (entries.length > 0) {
      for (const e of entries) ops.push({ type: 'put', key: logKey(e.index), value: encodeEntry(e) });
      newLast = entries[entries.length - 1]!.index;
      // A shorter replacement of a conflicting suffix leaves stale entries past
      // its end; they must go, or a restart would read them back as the log.
      for (let i = newLast + 1; i <= this.lastLogIndex; i++) ops.push({ type: 'del', key: logKey(i) });
    }
    if (ops.length === 0) return;
    await this.writeBatch(ops, sync);
    this.lastLogIndex = newLast;
  }

  /**
   * Drops log entries up to and including `upTo` (already applied, so the
   * state covers them) and records the compaction point `snapshot` (opaque to
   * the store: the Raft snapshot meta) in the same batch.
   */
  async compactLog(upTo: number, snapshot: Uint8Array): Promise<void> {
    if (upTo > this.applied) throw new RangeError(`store: cannot compact to ${upTo} past applied ${this.applied}`);
    // Dropped entries can no longer be replayed: the state covering them must be on disk first.
    if (upTo > this.durableApplied) await this.makeAppliedDurable();
    const ops: BatchOp[] = [{ type: 'put', key: metaKey('snapshot'), value: Buffer.from(snapshot) }];
    const from = Math.max(this.firstLogIndex, 1);
    for (let i = from; i <= Math.min(upTo, this.lastLogIndex); i++) ops.push({ type: 'del', key: logKey(i) });
    await this.writeBatch(ops, true);
    this.firstLogIndex = Math.max(this.firstLogIndex, upTo + 1);
  }

  /**
   * Raft restored a snapshot: the whole stored log is superseded. Removes it
   * and records the snapshot meta, in one synced batch.
   */
  async resetLog(snapshot: Uint8Array, snapshotIndex: number): Promise<void> {
    const ops: BatchOp[] = [{ type: 'put', key: metaKey('snapshot'), value: Buffer.from(snapshot) }];
    for (let i = Math.max(this.firstLogIndex, 1); i <= this.lastLogIndex; i++) ops.push({ type: 'del', key: logKey(i) });
    await this.writeBatch(ops, true);
    this.firstLogIndex = snapshotIndex + 1;
    this.lastLogIndex = snapshotIndex;
  }

  // ---- state snapshots (for followers that need compacted entries) ----

  /**
   * Pins the current state (every user key and session) and returns a reader
   * of it in chunks. Call it while no apply is in flight: the state it pins is
   * exactly the state at `appliedIndex`. A chunk never exceeds
   * `maxChunkBytes` unless one record alone does (it then goes alone): size
   * it to what the receiver accepts in one message.
   */
  snapshotReader(maxChunkBytes = 1024 * 1024): SnapshotReader {
    const appliedIndex = this.applied;
    // LevelDB iterators read from an implicit snapshot taken at creation.
    const sources = STATE_PREFIXES.map((kind) => ({ kind, it: this.db.iterator(generationRange(kind, this.gen)) }));
    return {
      appliedIndex,
      async *chunks() {
        try {
          let w = new Writer(64 * 1024);
          let bytes = 0;
          for (const { kind, it } of sources) {
            for await (const [key, value] of it) {
              // At most the encoded size: the kind, two length prefixes, the key without its header, the value.
              const size = 1 + 2 * 10 + key.length - STATE_KEY_HEADER_BYTES + value.length;
              if (bytes > 0 && bytes + size > maxChunkBytes) {
                yield w.finish();
                w = new Writer(64 * 1024);
                bytes = 0;
              }
              w.u8(kind).bytes(key.subarray(STATE_KEY_HEADER_BYTES)).bytes(value);
              bytes += size;
            }
          }
          if (bytes > 0) yield w.finish();
        } finally {
          await Promise.all(sources.map((s) => s.it.close()));
        }
      },
    };
  }

  /** The install that owns the spare generation, if any (one at a time). */
  private install: { superseded: boolean; busy: Promise<void> } | undefined;

  /**
   * Starts installing a leader's state snapshot into the unused generation;
   * the current state keeps serving until `finish` swaps them atomically.
   * There is one spare generation, so one install at a time: a new one
   * supersedes any install under way (waiting for its current step), and a
   * superseded, finished or aborted installer never touches the store again
   * (its writes and finish fail; its abort does nothing).
   */
  async beginSnapshotInstall(): Promise<SnapshotInstaller> {
    const previous = this.install;
    const me = { superseded: false, busy: Promise.resolve() };
    this.install = me;
    if (previous) {
      previous.superseded = true;
      await previous.busy;
    }
    // Each step runs after the one before it, and only while this install still owns the spare generation.
    const step = <T>(what: string, fn: (target: Generation) => Promise<T>): Promise<T> => {
      const run = me.busy.then(() => {
        if (me.superseded || this.install !== me) throw new Error(`store: snapshot install ${what}: superseded or aborted`);
        return fn(this.gen === 0 ? 1 : 0);
      });
      me.busy = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    };
    await step('start', async (target) => {
      for (const prefix of STATE_PREFIXES) await this.db.clear(generationRange(prefix, target));
    });
    return {
      write: (chunk: Uint8Array) => step('write', async (target) => {
        const r = new Reader(chunk);
        const ops: BatchOp[] = [];
        while (!r.done) {
          const kind = r.u8();
          const key = r.bytes();
          const value = Buffer.from(r.bytes());
          if (!(STATE_PREFIXES as readonly number[]).includes(kind)) throw new RangeError(`store: unknown snapshot record kind ${kind}`);
          ops.push({ type: 'put', key: Buffer.concat([Buffer.from([kind, target]), key]), value });
        }
        await this.writeBatch(ops, false);
      }),
      finish: (appliedIndex: number, meta: Record<string, Uint8Array>) => step('finish', async (target) => {
        // Released only at the end: an install begun meanwhile waits for this step.
        const release = () => {
          if (this.install === me) this.install = undefined;
        };
        // State ahead of the snapshot must not be rolled back.
        if (appliedIndex <= this.applied) {
          for (const prefix of STATE_PREFIXES) await this.db.clear(generationRange(prefix, target));
          release();
          return false;
        }
        // The chunks went in without fsync: flush them to disk before the swap makes them the state.
        await this.flushToDisk();
        const ops: BatchOp[] = [
          { type: 'put', key: GENERATION_KEY, value: Buffer.from([target]) },
          { type: 'put', key: APPLIED_KEY, value: new Writer(10).uint(appliedIndex).finish() },
        ];
        for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(name), value: Buffer.from(value) });
        await this.writeBatch(ops, true);
        const old = this.gen;
        this.gen = target;
        this.revisions.clear();
        this.applied = appliedIndex;
        this.durableApplied = appliedIndex;
        await this.loadAuth();
        for (const prefix of STATE_PREFIXES) await this.db.clear(generationRange(prefix, old));
        release();
        return true;
      }),
      abort: async () => {
        if (this.install !== me) return; // finished, or superseded: the spare generation is not ours to clear
        await step('abort', async (target) => {
          for (const prefix of STATE_PREFIXES) await this.db.clear(generationRange(prefix, target));
          if (this.install === me) this.install = undefined;
        }).catch(() => undefined);
      },
    };
  }

  // ---- the key-value state machine ----

  /**
   * Reads one key together with the applied index of the very state it was
   * read from (one LevelDB snapshot), so a reply never claims less than the
   * data it carries — the in-memory applied index can trail a batch that has
   * already landed.
   */
  async read(key: Uint8Array): Promise<{ kv: KeyValueRecord | undefined; appliedIndex: number }> {
    // The generation comes from the same read: while a snapshot install's
    // swap is being synced, the database already names the new generation
    // and applied index but this.gen still the old one.
    const [gen0, gen1, applied, gen] = await this.db.getMany([userKey(0, key), userKey(1, key), APPLIED_KEY, GENERATION_KEY]);
    const raw = decodeGeneration(gen) === 1 ? gen1 : gen0;
    return { kv: raw ? decodeKeyValue(Buffer.from(key), raw) : undefined, appliedIndex: decodeApplied(applied) };
  }

  async get(key: Uint8Array): Promise<KeyValueRecord | undefined> {
    return (await this.read(key)).kv;
  }

  /**
   * Keys in [start, end) in byte order, and the applied index of the state
   * they were read from; one more than `limit` is probed to tell whether more
   * remain.
   */
  async range(q: RangeQuery): Promise<{ kvs: KeyValueRecord[]; more: boolean; appliedIndex: number }> {
    const snapshot = this.db.snapshot();
    try {
      // Generation and applied index from the same snapshot as the keys (see read()).
      const [applied, generation] = await this.db.getMany([APPLIED_KEY, GENERATION_KEY], { snapshot });
      const appliedIndex = decodeApplied(applied);
      const gen = decodeGeneration(generation);
      const gte = userKey(gen, q.start);
      const lt = q.end ? userKey(gen, q.end) : generationRange(Prefix.user, gen).lt;
      const kvs: KeyValueRecord[] = [];
      let more = false;
      const maxBytes = q.maxBytes ?? Number.POSITIVE_INFINITY;
      const minKeys = Math.max(1, q.minKeys ?? 1);
      let bytes = 0;
      for await (const [k, v] of this.db.iterator({ gte, lt, limit: q.limit + 1, snapshot })) {
        if (kvs.length === q.limit) {
          more = true;
          break;
        }
        const kv = decodeKeyValue(k.subarray(STATE_KEY_HEADER_BYTES), v);
        // The value sits in the same record as the revisions, so LevelDB has
        // read it anyway; dropping the view lets the record go at once.
        if (q.keysOnly) kv.value = EMPTY;
        bytes += pageBytes(kv, q.keysOnly);
        if (bytes > maxBytes && kvs.length >= minKeys) {
          more = true;
          break;
        }
        kvs.push(kv);
      }
      return { kvs, more, appliedIndex };
    } finally {
      await snapshot.close();
    }
  }

  /** Every lease in the state, by id. */
  async leases(): Promise<LeaseRecord[]> {
    const out: LeaseRecord[] = [];
    const range = generationRange(Prefix.lease, this.gen);
    for await (const [k, v] of this.db.iterator(range)) out.push(decodeLease(Number(k.readBigUInt64BE(2)), new Reader(v)));
    return out;
  }

  /** The keys attached to lease `id`, in byte order. */
  async leaseKeys(id: number): Promise<Buffer[]> {
    return new LeaseBatch(this.db, this.gen).keys(id);
  }

  /** Every client session and the index it was last written at (for the leader's expiry by time, session-expiry.ts). */
  async *sessionLastIndexes(): AsyncGenerator<{ clientId: string; lastIndex: number }> {
    for await (const [key, value] of this.db.iterator(generationRange(Prefix.session, this.gen))) {
      // The record starts with the last index: the results need not be decoded.
      yield { clientId: key.subarray(STATE_KEY_HEADER_BYTES).toString('utf8'), lastIndex: new Reader(value).uint() };
    }
  }

  /** Deletes sessions idle for SESSION_EXPIRY_ENTRIES; the same at every replica, as it depends only on the log. */
  private async sweepSessions(appliedIndex: number, skip: Set<string>, ops: BatchOp[]): Promise<void> {
    for await (const [key, value] of this.db.iterator(generationRange(Prefix.session, this.gen))) {
      const id = key.subarray(STATE_KEY_HEADER_BYTES).toString('utf8');
      if (skip.has(id)) continue;
      if (decodeSession(value).lastIndex + SESSION_EXPIRY_ENTRIES < appliedIndex) ops.push({ type: 'del', key });
    }
  }

  async apply(entries: LogEntry[], meta: Record<string, Uint8Array> = {}, sync = false): Promise<ApplyOutcome> {
    const results = new Map<number, WriteResult>();
    const changes: KeyChange[] = [];
    const fresh = entries.filter((e) => e.index > this.applied);
    if (fresh.length === 0) return { results, appliedIndex: this.applied, changes, leases: [] };
    const leaseBatch = new LeaseBatch(this.db, this.gen);

    // Each command with its key as a map key (latin1 maps bytes 1:1 to a string).
    const commands = new Map<number, { c: KvCommand; mapKey: string }>();
    const authCommands = new Map<number, AuthCommand>();
    const expiries = new Map<number, SessionExpireCommand>();
    for (const e of fresh) {
      if (e.type !== 'normal') continue;
      const c = decodeCommand(e.data);
      if (c.op === 'auth') {
        authCommands.set(e.index, c.auth);
        continue;
      }
      if (c.op === 'session-expire') {
        expiries.set(e.index, c);
        continue;
      }
      commands.set(e.index, { c, mapKey: 'key' in c ? c.key.toString('latin1') : '' });
    }

    // Read every key and session this batch touches in one round trip; later
    // entries in the batch see earlier ones through the overlays. A key whose
    // revisions are cached is not read, unless a command needs its value (a
    // prev_kv, or a compare that may fail and return it).
    const keys = new Map<string, Buffer>();
    const needValue = new Set<string>();
    const clients = new Set<string>();
    for (const { sessions } of expiries.values()) for (const { clientId } of sessions) clients.add(clientId);
    for (const { c, mapKey } of commands.values()) {
      if (c.clientId) clients.add(c.clientId);
      if (c.op === 'txn') {
        // A transaction's compares and gets need values.
        for (const key of txnKeys(c)) {
          const k = key.toString('latin1');
          keys.set(k, key);
          needValue.add(k);
        }
        continue;
      }
      if (c.op === 'lease-grant' || c.op === 'lease-revoke') continue;
      keys.set(mapKey, c.key);
      if (this.trackChanges || c.prevKv || c.expectedModRevision !== undefined) needValue.add(mapKey);
    }
    const kvOverlay = new Map<string, KeyValueRecord | null>();
    const toRead: string[] = [];
    for (const [mapKey, key] of keys) {
      const cached = needValue.has(mapKey) ? undefined : this.revisions.get(mapKey);
      if (cached === undefined) toRead.push(mapKey);
      else kvOverlay.set(mapKey, cached && { key, value: EMPTY_VALUE, ...cached });
    }
    const clientList = [...clients];
    const [keyValues, sessionValues] = await Promise.all([
      toRead.length ? this.db.getMany(toRead.map((k) => userKey(this.gen, keys.get(k)!))) : Promise.resolve([]),
      clientList.length ? this.db.getMany(clientList.map((id) => sessionKey(this.gen, id))) : Promise.resolve([]),
    ]);
    toRead.forEach((mapKey, i) => {
      const raw = keyValues[i];
      kvOverlay.set(mapKey, raw ? decodeKeyValue(keys.get(mapKey)!, raw) : null);
    });
    const sessions = new Map<string, SessionRecord>();
    clientList.forEach((id, i) => {
      const raw = sessionValues[i];
      sessions.set(id, raw ? decodeSession(raw) : { lastIndex: 0, floor: 0, results: [] });
    });
    const dirtyKeys = new Set<string>();
    const dirtySessions = new Set<string>();
    const expiredSessions = new Set<string>();

    // Auth commands change a copy, made current once the batch is written.
    let nextAuth: AuthState | undefined;
    for (const e of fresh) {
      const auth = authCommands.get(e.index);
      if (auth) {
        nextAuth ??= decodeAuthState(encodeAuthState(this.auth, new Writer(256)));
        const authRefusal = applyAuthCommand(nextAuth, auth, e.index);
        results.set(e.index, { revision: e.index, succeeded: !authRefusal, deleted: 0, ...(authRefusal ? { authRefusal } : {}) });
        continue;
      }
      const expiry = expiries.get(e.index);
      if (expiry) {
        results.set(e.index, { revision: e.index, succeeded: true, deleted: expireSessions(expiry, sessions, dirtySessions, expiredSessions) });
        continue;
      }
      const command = commands.get(e.index);
      if (!command) continue;
      const { c, mapKey } = command;
      const session = c.clientId ? sessions.get(c.clientId)! : undefined;
      if (session) {
        const seen = findResult(session, c.sequence);
        if (seen) {
          results.set(e.index, replayResult(seen, kvOverlay.get(mapKey) ?? undefined));
          continue;
        }
        if (c.sequence < session.floor) {
          results.set(e.index, { revision: e.index, succeeded: false, deleted: 0, refused: 'sequence-too-old' });
          continue;
        }
      }
      const write = (mapKey: string, key: Buffer, prev: KeyValueRecord | undefined, next: KeyValueRecord | null) => {
        kvOverlay.set(mapKey, next);
        dirtyKeys.add(mapKey);
        if (!keys.has(mapKey)) keys.set(mapKey, key);
        if (this.trackChanges) changes.push(keyChange(e.index, key, prev, next));
        leaseBatch.track(key, prev, next);
      };
      let result: WriteResult;
      if (c.op === 'lease-grant' || c.op === 'lease-revoke') {
        result = await leaseBatch.apply(c, e.index, {
          current: async (key) => {
            const mk = key.toString('latin1');
            if (!kvOverlay.has(mk)) kvOverlay.set(mk, (await this.get(key)) ?? null);
            return kvOverlay.get(mk) ?? undefined;
          },
          remove: (key, prev) => write(key.toString('latin1'), key, prev, null),
        });
      } else if (c.op === 'put' && c.lease && !(await leaseBatch.get(c.lease))) {
        result = { revision: e.index, succeeded: false, deleted: 0, refused: 'lease-not-found' };
      } else if (c.op === 'txn') {
        const written = new Map<string, KeyValueRecord | null>();
        // One budget for all the transaction's ranges (a later range still gets one key).
        let txnBytesLeft = TXN_RANGE_BYTES;
        const txn = await applyTxn(c, e.index, {
          get: (key) => kvOverlay.get(key.toString('latin1')) ?? undefined,
          set: (key, next, prev) => write(key.toString('latin1'), key, prev, next),
          range: async (start, end, limit, keysOnly) => {
            for (const k of dirtyKeys) written.set(k, kvOverlay.get(k) ?? null);
            // Enough rows that the batch's deletions cannot empty the page.
            const stored = await this.range({ start, end, limit: limit + written.size + 1, keysOnly, maxBytes: txnBytesLeft, minKeys: written.size + 1 });
            const page = mergeRange(stored, written, start, end, limit, keysOnly, txnBytesLeft);
            for (const kv of page.kvs) txnBytesLeft -= pageBytes(kv, keysOnly);
            return page;
          },
        });
        result = { revision: e.index, succeeded: txn.succeeded, deleted: 0, txn: txn.results };
      } else {
        const current = kvOverlay.get(mapKey) ?? undefined;
        result = applyCommand(c, current, e.index, (next) => write(mapKey, c.key, current, next));
      }
      results.set(e.index, result);
      if (session) {
        rememberResult(session, c.sequence, c.minUnackedSequence, result);
        session.lastIndex = e.index;
        dirtySessions.add(c.clientId);
      }
    }

    const ops: BatchOp[] = [];
    for (const mapKey of dirtyKeys) {
      const kv = kvOverlay.get(mapKey);
      const key = userKey(this.gen, keys.get(mapKey)!);
      if (kv) ops.push({ type: 'put', key, value: encodeStoredKeyValue(kv) });
      else ops.push({ type: 'del', key });
    }
    for (const op of leaseBatch.ops()) ops.push(op);
    for (const id of dirtySessions) ops.push({ type: 'put', key: sessionKey(this.gen, id), value: encodeSession(sessions.get(id)!) });
    for (const id of expiredSessions) if (!dirtySessions.has(id)) ops.push({ type: 'del', key: sessionKey(this.gen, id) });
    for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(name), value: Buffer.from(value) });
    if (nextAuth) ops.push({ type: 'put', key: authKey(this.gen), value: encodeAuthState(nextAuth, new Writer(256)) });
    const appliedIndex = fresh[fresh.length - 1]!.index;
    if (Math.floor(appliedIndex / SESSION_SWEEP_EVERY_ENTRIES) > Math.floor(this.applied / SESSION_SWEEP_EVERY_ENTRIES)) {
      await this.sweepSessions(appliedIndex, dirtySessions, ops);
    }
    ops.push({ type: 'put', key: APPLIED_KEY, value: new Writer(10).uint(appliedIndex).finish() });
    await this.writeBatch(ops, sync);
    this.applied = appliedIndex;
    if (nextAuth) this.auth = nextAuth;
    for (const mapKey of keys.keys()) {
      const kv = kvOverlay.get(mapKey);
      this.revisions.set(mapKey, kv ? { createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease } : null);
    }
    return { results, appliedIndex, changes, leases: leaseBatch.changes };
  }
}

/** The remembered result of `sequence`, by binary search (results are kept in ascending sequence). */
function findResult(session: SessionRecord, sequence: number): WriteResult | undefined {
  const list = session.results;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = list[mid]!.sequence;
    if (at === sequence) return list[mid]!.result;
    if (at < sequence) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * Records a result and forgets those the client has acknowledged (or that
 * overflow the cap). A previous value is kept only up to
 * SESSION_PREV_VALUE_KEPT_BYTES: up to 4,096 results of values up to 1 MiB
 * would make one session record gigabytes, rewritten on every write. A larger
 * one keeps its key and revisions, and {@link replayResult} restores the value
 * when the key has not changed since (a refused compare-and-swap retried after
 * a failover: its answer must still name the current value).
 */
function rememberResult(session: SessionRecord, sequence: number, minUnacked: number, full: WriteResult): void {
  const prev = full.prevKv;
  const result: WriteResult =
    prev && prev.value.length > SESSION_PREV_VALUE_KEPT_BYTES ? { ...full, prevKv: { ...prev, value: EMPTY }, prevValueDropped: true } : full;
  const list = session.results;
  let i = list.length;
  while (i > 0 && list[i - 1]!.sequence > sequence) i--;
  list.splice(i, 0, { sequence, result });
  session.floor = Math.max(session.floor, minUnacked);
  let drop = 0;
  while (drop < list.length && list[drop]!.sequence < session.floor) drop++;
  if (list.length - drop > SESSION_RESULTS_KEPT) drop = list.length - SESSION_RESULTS_KEPT;
  let bytes = 0;
  for (let j = drop; j < list.length; j++) bytes += sessionResultBytes(list[j]!.result);
  // Oldest first, but never the result just remembered: its client is waiting for it.
  while (bytes > SESSION_RESULTS_KEPT_BYTES && drop < list.length - 1 && list[drop]!.result !== result) bytes -= sessionResultBytes(list[drop++]!.result);
  if (drop > 0) {
    session.floor = Math.max(session.floor, list[drop - 1]!.sequence + 1);
    list.splice(0, drop);
  }
}

/**
 * The answer to a retried duplicate: the remembered result, with a dropped
 * previous value restored from the key's current record when that record is
 * still the same one (same mod revision), or marked lost otherwise.
 */
function replayResult(seen: WriteResult, current: KeyValueRecord | undefined): WriteResult {
  if (!seen.prevValueDropped) return seen;
  const { prevValueDropped: _dropped, ...rest } = seen;
  if (current && current.modRevision === seen.prevKv?.modRevision) return { ...rest, prevKv: current };
  return { ...rest, prevKv: undefined, prevKvLost: true };
}

/** Applies one command to the key's current record; `store` receives the new record (null = deleted). */
function applyCommand(
  c: Extract<Command, { op: 'put' | 'delete' }>,
  current: KeyValueRecord | undefined,
  index: number,
  store: (next: KeyValueRecord | null) => void,
): WriteResult {
  if (c.expectedModRevision !== undefined && (current?.modRevision ?? 0) !== c.expectedModRevision) {
    return { revision: index, succeeded: false, deleted: 0, prevKv: current };
  }
  const prevKv = c.prevKv ? current : undefined;
  if (c.op === 'put') {
    const next: KeyValueRecord = {
      key: c.key,
      // A view into the entry: it is encoded into the batch right away, and
      // as a prevKv it lives only as long as the reply.
      value: c.value,
      createRevision: current ? current.createRevision : index,
      modRevision: index,
      version: current ? current.version + 1 : 1,
    };
    if (c.lease) next.lease = c.lease;
    store(next);
    return { revision: index, succeeded: true, deleted: 0, prevKv };
  }
  if (!current) return { revision: index, succeeded: true, deleted: 0 };
  store(null);
  return { revision: index, succeeded: true, deleted: 1, prevKv };
}

function decodeApplied(raw: Uint8Array | undefined): number {
  return raw ? new Reader(raw).uint() : 0;
}

function encodeHardState(h: HardState): Buffer {
  return new Writer(24)
    .uint(h.term)
    .optional(h.vote, (w, v) => w.string(v))
    .uint(h.commit)
    .finish();
}

function encodeEntry(e: LogEntry): Buffer {
  return new Writer(24 + e.data.length).uint(e.term).u8(ENTRY_TYPES.indexOf(e.type)).bytes(e.data).finish();
}

function decodeEntry(index: number, raw: Uint8Array): LogEntry {
  const r = new Reader(raw);
  const term = r.uint();
  const type = ENTRY_TYPES[r.u8()];
  if (!type) throw new RangeError(`store: log entry ${index} has an unknown type`);
  return { index, term, type, data: r.bytes() };
}
