import { type AuthCommand, type AuthState, applyAuthCommand, decodeAuthState, emptyAuthState, encodeAuthState } from './auth-state';
import { type BatchOp, flushToDisk, writeBatch } from './batch';
import type { BlobLog } from './blob-log';
import { storeIoCounts } from './batch-counts';
import { type KeyChange, keyChange } from './changes';
import { Writer } from './codec';
import type { StoreDatabase } from './database';
import { applyCommand } from './kv-command';
import { type RangeQuery, readLeaseKeys, readLeases, readRange, readSessionLastIndexes } from './kv-reads';
import { APPLIED_KEY, authKey, encodeApplied, type Generation, generationRange, metaKey, Prefix, STATE_KEY_HEADER_BYTES, sessionKey, userKey } from './keys';
import { LeaseBatch } from './lease-batch';
import type { LeaseRecord } from './leases';
import { pageBytes, TXN_RANGE_BYTES } from './range-page';
import {
  type BlobPointer,
  type Command,
  decodeCommand,
  decodeSession,
  decodeStoredKeyValue,
  encodeSession,
  encodeStoredKeyValue,
  isBlobRecord,
  type KeyValueRecord,
  type SessionRecord,
  type WriteResult,
} from './records';
import { PointReads } from './point-reads';
import { RecentRecords } from './recent-records';
import { type KeyRevisions, RevisionCache } from './revision-cache';
import { expireSessions, type SessionExpireCommand } from './session-expiry';
import { findResult, rememberResult, replayResult, SESSION_EXPIRY_ENTRIES, SESSION_SWEEP_EVERY_ENTRIES } from './sessions';
import type { ApplyOutcome, LogEntry, StateMachine } from './storage-interfaces';
import { applyTxn, mergeRange, txnKeys } from './txn';
import { takeValueCrc } from './value-checksums';

/** Keys whose revisions the apply path keeps in memory (~150 bytes each). */
export const REVISION_CACHE_KEYS = 131_072;
/** Values of recently written keys, kept for the next apply that needs one (watches need every written key's previous value) and for reads. */
const RECENT_VALUES = { records: 16_384, bytes: 8 * 1024 * 1024, recordBytes: 16 * 1024 };
/** Encoded session records of recently active clients (every exactly-once write reads its client's). */
const RECENT_SESSIONS = { records: 4096, bytes: 8 * 1024 * 1024, recordBytes: 64 * 1024 };
/** Stands in for the value of a key known only by its cached revisions; never stored or returned. */
const EMPTY_VALUE = Buffer.alloc(0);

/** A key's record as its cached revisions tell it, without its value. */
function cachedRecord(key: Buffer, cached: KeyRevisions): KeyValueRecord {
  return { key, value: EMPTY_VALUE, createRevision: cached.createRevision, modRevision: cached.modRevision, version: cached.version, lease: cached.lease };
}

type KvCommand = Exclude<Command, { op: 'auth' | 'session-expire' }>;

/**
 * The key-value state machine in LevelDB: user keys, client sessions,
 * leases and auth, under the current generation (see snapshots.ts), and the
 * applied index. Applying entries writes all of them and the applied index
 * in one atomic batch, so a crash never leaves them out of step; the batch is
 * not fsynced, since the log replays whatever a crash took back.
 */
export class KvStateMachine implements StateMachine {
  /** Users, roles and permissions, as of `applied` (replicated state, see auth-state.ts). */
  private auth: AuthState = emptyAuthState();
  /** What was on disk at open is durable; later applies become so in makeAppliedDurable. */
  private durableApplied: number;
  private readonly pointReads: PointReads;
  private readonly recentValues = new RecentRecords<KeyValueRecord>(RECENT_VALUES.records, RECENT_VALUES.bytes, RECENT_VALUES.recordBytes);
  private readonly recentSessions = new RecentRecords<Buffer>(RECENT_SESSIONS.records, RECENT_SESSIONS.bytes, RECENT_SESSIONS.recordBytes);
  /** The newest applied index a LevelDB read has answered with. */
  private newestRead = 0;

  private constructor(
    private readonly db: StoreDatabase,
    private applied: number,
    private gen: Generation,
    /** Revisions of recently written keys: most puts apply without reading LevelDB. */
    private readonly revisions: RevisionCache,
    /** Report each change with the key's previous state (for watches): every written key's value is read first. */
    private readonly trackChanges: boolean,
    /** Where large values live (blob-log.ts). */
    readonly blobs: BlobLog,
  ) {
    this.durableApplied = applied;
    this.pointReads = new PointReads(db, blobs);
  }

  static async open(
    db: StoreDatabase,
    applied: number,
    gen: Generation,
    blobs: BlobLog,
    opts: { revisionCacheKeys?: number; trackChanges?: boolean },
  ): Promise<KvStateMachine> {
    const fsm = new KvStateMachine(db, applied, gen, new RevisionCache(opts.revisionCacheKeys ?? REVISION_CACHE_KEYS), opts.trackChanges === true, blobs);
    await fsm.loadAuth();
    return fsm;
  }

  private async loadAuth(): Promise<void> {
    const raw = await this.db.get(authKey(this.gen));
    this.auth = raw ? decodeAuthState(raw) : emptyAuthState();
  }

  /** Users, roles and permissions as of the applied index. Treat as read-only: it changes only by applying commands. */
  get authState(): AuthState {
    return this.auth;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** The generation the state lives in now (the other one is a snapshot install's). */
  get generation(): Generation {
    return this.gen;
  }

  /** The applied index whose state is known to be on disk (see {@link KvStateMachine.makeAppliedDurable}). */
  get durableAppliedIndex(): number {
    return this.durableApplied;
  }

  /**
   * Makes the state applied so far durable and returns its index. Applies
   * are written without fsync (the log is the durable record and replays
   * them), so before log entries are dropped the state covering them must
   * be on disk. A synced write alone does not ensure it: LevelDB fsyncs only
   * its current log file, and earlier applies may sit in the previous one
   * while its memtable is being flushed; flushToDisk flushes the memtable to
   * a synced table file.
   */
  async makeAppliedDurable(): Promise<number> {
    const applied = this.applied;
    if (applied <= this.durableApplied) return this.durableApplied;
    await flushToDisk(this.db);
    this.durableApplied = Math.max(this.durableApplied, applied);
    return this.durableApplied;
  }

  /** Before the log drops entries up to `upTo`: the state must cover them, durably. */
  async coverUpTo(upTo: number): Promise<void> {
    if (upTo > this.applied) throw new RangeError(`store: cannot compact to ${upTo} past applied ${this.applied}`);
    if (upTo > this.durableApplied) await this.makeAppliedDurable();
  }

  /** A snapshot install swapped `gen` in at `appliedIndex` (synced): the state is that generation's from now on. */
  async adoptGeneration(gen: Generation, appliedIndex: number): Promise<void> {
    this.gen = gen;
    this.revisions.clear();
    this.recentValues.clear();
    this.recentSessions.clear();
    this.applied = appliedIndex;
    this.durableApplied = appliedIndex;
    await this.blobs.adopt(gen);
    await this.loadAuth();
  }

  /**
   * A recently written key is answered from memory: the records the apply
   * keeps move with `applied` in the same turn, after each batch is in
   * LevelDB, so a kept record is the key's state at `applied`. A LevelDB
   * read starts with an implicit snapshot, which takes LevelDB's lock on this
   * thread: contended, that blocked the event loop 0.3-0.7 ms per read (tens
   * of ms at worst) with a thousand clients reading.
   */
  read(key: Uint8Array): Promise<{ kv: KeyValueRecord | undefined; appliedIndex: number }> {
    // LevelDB runs ahead of `applied` between a batch landing and this thread
    // learning it: once a read has seen that newer state, memory would answer
    // with an older one, so it waits for `applied` to catch up.
    if (this.applied >= this.newestRead) {
      const kept = this.recentValues.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'));
      if (kept !== undefined) return Promise.resolve({ kv: kept === null ? undefined : { ...kept }, appliedIndex: this.applied });
    }
    return this.pointReads.read(key).then((r) => this.sawApplied(r));
  }

  private sawApplied<R extends { appliedIndex: number }>(r: R): R {
    if (r.appliedIndex > this.newestRead) this.newestRead = r.appliedIndex;
    return r;
  }

  async get(key: Uint8Array): Promise<KeyValueRecord | undefined> {
    return (await this.read(key)).kv;
  }

  range(q: RangeQuery): Promise<{ kvs: KeyValueRecord[]; more: boolean; appliedIndex: number }> {
    return readRange(this.db, q, this.blobs).then((r) => this.sawApplied(r));
  }

  leases(): Promise<LeaseRecord[]> {
    return readLeases(this.db, this.gen);
  }

  leaseKeys(id: number): Promise<Buffer[]> {
    return readLeaseKeys(this.db, this.gen, id);
  }

  sessionLastIndexes(): AsyncGenerator<{ clientId: string; lastIndex: number }> {
    return readSessionLastIndexes(this.db, this.gen);
  }

  /**
   * What this batch wrote, kept for the next applies: values with their own
   * copy (a value may be a view of a whole peer message) and encoded
   * sessions. A sweep deletes sessions it does not name here: forget all.
   */
  private keepRecent(
    dirtyKeys: Set<string>,
    kvOverlay: Map<string, KeyValueRecord | null>,
    encodedSessions: Map<string, Buffer>,
    expiredSessions: Set<string>,
    swept: boolean,
  ): void {
    for (const mapKey of dirtyKeys) {
      const kv = kvOverlay.get(mapKey);
      if (!kv) this.recentValues.set(mapKey, null, mapKey.length);
      // Kept records are inline ones: what the apply knows of a key's blob comes from LevelDB or the revision cache.
      else if (kv.value.length <= RECENT_VALUES.recordBytes && !this.blobs.holds(kv.value)) this.recentValues.set(mapKey, { ...kv, value: Buffer.from(kv.value) }, 64 + mapKey.length + kv.value.length);
      else this.recentValues.delete(mapKey);
    }
    if (swept) this.recentSessions.clear();
    for (const id of expiredSessions) this.recentSessions.delete(id);
    for (const [id, encoded] of encodedSessions) this.recentSessions.set(id, encoded, id.length + encoded.length);
  }

  /** Deletes sessions idle for SESSION_EXPIRY_ENTRIES; the same at every replica, as it depends only on the log. */
  private async sweepSessions(appliedIndex: number, skip: Set<string>, ops: BatchOp[]): Promise<void> {
    for await (const [key, value] of this.db.iterator(generationRange(Prefix.session, this.gen))) {
      const id = key.subarray(STATE_KEY_HEADER_BYTES).toString('utf8');
      if (skip.has(id)) continue;
      if (decodeSession(value).lastIndex + SESSION_EXPIRY_ENTRIES < appliedIndex) ops.push({ type: 'del', key });
    }
  }

  async apply(
    entries: LogEntry[],
    meta: Record<string, Uint8Array> = {},
    sync = false,
    answer?: (results: Map<number, WriteResult>) => void,
  ): Promise<ApplyOutcome> {
    const results = new Map<number, WriteResult>();
    const changes: KeyChange[] = [];
    const fresh = entries.filter((e) => e.index > this.applied);
    if (fresh.length === 0) return { results, appliedIndex: this.applied, changes, leases: [] };
    // Entries apply in order, none skipped: a gap means an earlier batch failed, and its state is not here.
    if (fresh[0]!.index !== this.applied + 1) throw new Error(`store: entries from ${fresh[0]!.index} cannot apply on a state applied to ${this.applied}`);
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
    // prev_kv, or a compare that may fail and return it) or changes are
    // tracked. A value in a blob file is read only for a command: for the
    // changes it is deferred (read if a watch asks).
    const keys = new Map<string, Buffer>();
    const commandNeedsValue = new Set<string>();
    const needsValue = (mapKey: string) => this.trackChanges || commandNeedsValue.has(mapKey);
    const clients = new Set<string>();
    for (const { sessions } of expiries.values()) for (const { clientId } of sessions) clients.add(clientId);
    for (const { c, mapKey } of commands.values()) {
      if (c.clientId) clients.add(c.clientId);
      if (c.op === 'txn') {
        // A transaction's compares and gets need values.
        for (const key of txnKeys(c)) {
          const k = key.toString('latin1');
          keys.set(k, key);
          commandNeedsValue.add(k);
        }
        continue;
      }
      if (c.op === 'lease-grant' || c.op === 'lease-revoke') continue;
      keys.set(mapKey, c.key);
      if (c.prevKv || c.expectedModRevision !== undefined) commandNeedsValue.add(mapKey);
    }
    const kvOverlay = new Map<string, KeyValueRecord | null>();
    // Where each key's value was in blob files before this batch (null: not in one); absent until known.
    const storedBlobs = new Map<string, BlobPointer | null>();
    // Stored records whose value (in a blob file) was left unread: changes from them defer it.
    const unreadBlobs = new Map<KeyValueRecord, BlobPointer>();
    const toRead: string[] = [];
    for (const [mapKey, key] of keys) {
      const cached = this.revisions.get(mapKey);
      if (needsValue(mapKey)) {
        const kept = this.recentValues.get(mapKey);
        if (kept !== undefined) {
          kvOverlay.set(mapKey, kept);
          storedBlobs.set(mapKey, null);
        } else if (cached?.blob && !commandNeedsValue.has(mapKey)) {
          const kv = cachedRecord(key, cached);
          kvOverlay.set(mapKey, kv);
          storedBlobs.set(mapKey, cached.blob);
          unreadBlobs.set(kv, cached.blob);
        } else toRead.push(mapKey);
        continue;
      }
      if (cached === undefined) toRead.push(mapKey);
      else {
        kvOverlay.set(mapKey, cached && cachedRecord(key, cached));
        storedBlobs.set(mapKey, cached?.blob ?? null);
      }
    }
    const sessions = new Map<string, SessionRecord>();
    const clientList: string[] = [];
    for (const id of clients) {
      const kept = this.recentSessions.get(id);
      if (kept === undefined) clientList.push(id);
      else sessions.set(id, kept ? decodeSession(kept) : { lastIndex: 0, floor: 0, results: [] });
    }
    storeIoCounts.applyReads += (toRead.length ? 1 : 0) + (clientList.length ? 1 : 0);
    const [keyValues, sessionValues] = await Promise.all([
      toRead.length ? this.db.getMany(toRead.map((k) => userKey(this.gen, keys.get(k)!))) : Promise.resolve([]),
      clientList.length ? this.db.getMany(clientList.map((id) => sessionKey(this.gen, id))) : Promise.resolve([]),
    ]);
    const resolving: Promise<void>[] = [];
    toRead.forEach((mapKey, i) => {
      const raw = keyValues[i];
      if (!raw) {
        kvOverlay.set(mapKey, null);
        storedBlobs.set(mapKey, null);
        return;
      }
      const { kv, blob } = decodeStoredKeyValue(keys.get(mapKey)!, raw);
      kvOverlay.set(mapKey, kv);
      storedBlobs.set(mapKey, blob ?? null);
      if (!blob || !needsValue(mapKey)) return;
      if (commandNeedsValue.has(mapKey)) {
        resolving.push(
          this.blobs.read(this.gen, blob).then((value) => {
            kv.value = value;
          }),
        );
      } else unreadBlobs.set(kv, blob);
    });
    await Promise.all(resolving);
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
        if (this.trackChanges) {
          const unread = prev && unreadBlobs.get(prev);
          changes.push(keyChange(e.index, key, prev, next, unread ? this.blobs.defer(unread) : undefined));
        }
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

    // Answered before the state's writes (see StateMachine.apply): the log already holds the batch durably.
    if (answer && !nextAuth && leaseBatch.changes.length === 0) answer(results);
    const written = await this.writeBlobs(dirtyKeys, keys, kvOverlay, storedBlobs);
    const ops: BatchOp[] = [];
    for (const mapKey of dirtyKeys) {
      const kv = kvOverlay.get(mapKey);
      const key = userKey(this.gen, keys.get(mapKey)!);
      if (kv) ops.push({ type: 'put', key, value: encodeStoredKeyValue(kv, written.get(mapKey)) });
      else ops.push({ type: 'del', key });
    }
    for (const op of leaseBatch.ops()) ops.push(op);
    const encodedSessions = new Map<string, Buffer>();
    for (const id of dirtySessions) {
      const encoded = encodeSession(sessions.get(id)!);
      encodedSessions.set(id, encoded);
      ops.push({ type: 'put', key: sessionKey(this.gen, id), value: encoded });
    }
    for (const id of expiredSessions) if (!dirtySessions.has(id)) ops.push({ type: 'del', key: sessionKey(this.gen, id) });
    for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(name), value: Buffer.from(value) });
    if (nextAuth) ops.push({ type: 'put', key: authKey(this.gen), value: encodeAuthState(nextAuth, new Writer(256)) });
    const appliedIndex = fresh[fresh.length - 1]!.index;
    const sweeping = Math.floor(appliedIndex / SESSION_SWEEP_EVERY_ENTRIES) > Math.floor(this.applied / SESSION_SWEEP_EVERY_ENTRIES);
    if (sweeping) await this.sweepSessions(appliedIndex, dirtySessions, ops);
    ops.push({ type: 'put', key: APPLIED_KEY, value: encodeApplied(appliedIndex) });
    // A blob file left without live values goes only once the batch that emptied it is on disk.
    const deadBlobFiles = this.blobs.stage(ops);
    await writeBatch(this.db, ops, sync || deadBlobFiles.length > 0);
    this.blobs.retire(deadBlobFiles);
    this.applied = appliedIndex;
    if (nextAuth) this.auth = nextAuth;
    for (const mapKey of keys.keys()) {
      const dirty = dirtyKeys.has(mapKey);
      if (!dirty && !storedBlobs.has(mapKey)) continue;
      const kv = kvOverlay.get(mapKey);
      const blob = dirty ? written.get(mapKey) : (storedBlobs.get(mapKey) ?? undefined);
      this.revisions.set(mapKey, kv ? { createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease, blob } : null);
    }
    this.keepRecent(dirtyKeys, kvOverlay, encodedSessions, expiredSessions, sweeping);
    await this.collectBlobs();
    return { results, appliedIndex, changes, leases: leaseBatch.changes };
  }

  /**
   * Releases the blob space of the values the batch replaced and appends the
   * large values it wrote (durably, before the batch that points to them);
   * returns where each went.
   */
  private async writeBlobs(
    dirtyKeys: Set<string>,
    keys: Map<string, Buffer>,
    kvOverlay: Map<string, KeyValueRecord | null>,
    storedBlobs: Map<string, BlobPointer | null>,
  ): Promise<Map<string, BlobPointer>> {
    const written = new Map<string, BlobPointer>();
    // With no blob file in the generation, no record points to one.
    if (!this.blobs.empty) {
      // Keys the batch reached through a range or a lease were not read here: read their records now.
      const unknown = [...dirtyKeys].filter((k) => !storedBlobs.has(k));
      const raws = unknown.length > 0 ? await this.db.getMany(unknown.map((k) => userKey(this.gen, keys.get(k)!))) : [];
      unknown.forEach((k, i) => {
        const raw = raws[i];
        storedBlobs.set(k, raw && isBlobRecord(raw) ? (decodeStoredKeyValue(keys.get(k)!, raw).blob ?? null) : null);
      });
      for (const mapKey of dirtyKeys) {
        const old = storedBlobs.get(mapKey);
        if (old) this.blobs.release(old, keys.get(mapKey)!.length);
      }
    }
    const large: { mapKey: string; key: Buffer; value: Buffer; crc?: number }[] = [];
    for (const mapKey of dirtyKeys) {
      const kv = kvOverlay.get(mapKey);
      if (kv && this.blobs.holds(kv.value)) large.push({ mapKey, key: keys.get(mapKey)!, value: kv.value, crc: takeValueCrc(kv.value) });
    }
    if (large.length === 0) return written;
    const pointers = await this.blobs.append(large);
    large.forEach(({ mapKey }, i) => {
      written.set(mapKey, pointers[i]!);
    });
    return written;
  }

  /** Collects one blob file when one is worth it, keeping cached pointers in step. */
  private async collectBlobs(): Promise<void> {
    const file = this.blobs.collectable();
    if (file === undefined) return;
    for (const [mapKey, blob] of await this.blobs.collect(file)) {
      const cached = this.revisions.get(mapKey);
      if (cached) this.revisions.set(mapKey, { ...cached, blob });
    }
  }
}
