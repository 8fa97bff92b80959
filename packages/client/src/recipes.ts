// Locks and elections (etcd's concurrency package), built only on the public
// client: each contender writes a key under `name/` attached to its own
// lease; the contender whose key has the lowest create revision holds the
// lock (leads); the others each wait for the deletion of the key just ahead
// of theirs, so they are served in revision order and no release wakes
// everybody. A holder that dies stops keeping its lease alive; the lease
// expires and its key is deleted through the log, which wakes the next.
import type { BellwetherClient } from './client';
import type { CallOptions } from './options';
import { Cancelled, InvalidArgument } from './errors';
import type { Lease } from './lease';
import type { KeyValue } from './results';

/** Options of {@link BellwetherClient.lock}. */
export interface LockOptions {
  /** The TTL of the holder's lease: how long after the holder dies the lock is freed (default 10 000 ms). */
  ttlMs?: number;
  /** Stops waiting; the attempt's key is deleted. */
  signal?: AbortSignal;
}

/** A held lock. */
export interface LockHandle {
  /** The key that holds it (`name/<lease id>`). */
  readonly key: string;
  /**
   * The key's create revision: a fencing token. Every later holder of the
   * same lock has a larger one, so a resource that remembers the largest token
   * it has seen can refuse a late write from a holder that lost the lock.
   */
  readonly revision: number;
  /** The lease keeping the lock; its `lost` event means the lock may be gone. */
  readonly lease: Lease;
  /** Frees the lock (deletes the key and revokes the lease). */
  release(): Promise<void>;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) throw new InvalidArgument('name: must be a non-empty string');
  return name;
}

/** Writes this contender's key under `name/` with its lease; returns its create revision. */
async function enter(client: BellwetherClient, prefix: string, lease: Lease, value: string): Promise<{ key: string; revision: number }> {
  const key = `${prefix}${lease.id.toString(16).padStart(16, '0')}`;
  const r = await client.put(key, value, { lease });
  return { key, revision: r.revision };
}

/** Waits until no key under `prefix` was created before `revision` (this contender's key, `key`). */
async function waitTurn(client: BellwetherClient, prefix: string, key: string, revision: number, signal: AbortSignal | undefined, lease: Lease): Promise<void> {
  for (;;) {
    if (signal?.aborted) throw new Cancelled('lock: cancelled while waiting', { cause: signal.reason });
    if (lease.ended) throw new Cancelled('lock: the lease was lost while waiting');
    const page = await client.range({ prefix }, { mode: 'linearizable', keysOnly: true, limit: 10_000 });
    // The turn is ours only while our own key is still there: an expired lease deletes it, and
    // with it the place in line (the client may not have noticed the loss yet).
    if (!page.kvs.some((kv) => kv.keyString === key && kv.createRevision === revision)) {
      throw new Cancelled(`lock: ${key} is gone (its lease expired while waiting); try again`);
    }
    let ahead: KeyValue | undefined;
    for (const kv of page.kvs) if (kv.createRevision < revision && (!ahead || kv.createRevision > ahead.createRevision)) ahead = kv;
    if (!ahead) return;
    // Wait for the key just ahead to go (from the revision the range saw).
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const offLost = () => stop.abort();
    lease.on('lost', offLost);
    try {
      for await (const ev of client.watch({ key: ahead.key }, { startRevision: page.header.revision + 1, signal: stop.signal })) {
        if (ev.type === 'delete') break;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      lease.off('lost', offLost);
    }
  }
}

/** @internal `client.lock()`. */
export async function acquireLock(client: BellwetherClient, name: string, options: LockOptions = {}): Promise<LockHandle> {
  const prefix = `${checkName(name)}/`;
  const lease = await client.lease({ ttlMs: options.ttlMs ?? 10_000 });
  try {
    const { key, revision } = await enter(client, prefix, lease, '');
    await waitTurn(client, prefix, key, revision, options.signal, lease);
    return {
      key,
      revision,
      lease,
      release: async () => {
        await lease.revoke();
      },
    };
  } catch (err) {
    await lease.revoke().catch(() => {});
    throw err;
  }
}

/** The current leader of an election. */
export interface ElectionLeader {
  readonly key: string;
  readonly value: string;
  /** The leader's key's create revision (a fencing token, as for locks). */
  readonly revision: number;
}

/** Options of {@link Election.campaign}. */
export interface CampaignOptions {
  /** The TTL of the candidate's lease (default 10 000 ms). */
  ttlMs?: number;
  signal?: AbortSignal;
}

/**
 * A leader election over `name/`: {@link Election.campaign} waits until this
 * candidate leads; {@link Election.leader} names the current leader;
 * {@link Election.observe} yields each new leader; {@link Election.resign}
 * steps down. A leader whose process dies is replaced once its lease expires.
 */
export class Election {
  readonly name: string;
  readonly #client: BellwetherClient;
  #lease: Lease | undefined;
  #key: string | undefined;

  /** @internal use `client.election(name)`. */
  constructor(client: BellwetherClient, name: string) {
    this.#client = client;
    this.name = checkName(name);
  }

  get #prefix(): string {
    return `${this.name}/`;
  }

  /** Waits until this candidate is the leader, announcing `value`. Resolves with its leadership. */
  async campaign(value: string, options: CampaignOptions = {}): Promise<ElectionLeader> {
    if (this.#lease && !this.#lease.ended) throw new InvalidArgument('campaign: this Election already campaigns; resign first');
    const lease = await this.#client.lease({ ttlMs: options.ttlMs ?? 10_000 });
    this.#lease = lease;
    try {
      const { key, revision } = await enter(this.#client, this.#prefix, lease, value);
      this.#key = key;
      await waitTurn(this.#client, this.#prefix, key, revision, options.signal, lease);
      return { key, value, revision };
    } catch (err) {
      await this.resign().catch(() => {});
      throw err;
    }
  }

  /** The current leader, or undefined when nobody campaigns. */
  async leader(options: CallOptions = {}): Promise<ElectionLeader | undefined> {
    const page = await this.#client.range({ prefix: this.#prefix }, { ...options, mode: 'linearizable', limit: 10_000 });
    let first: KeyValue | undefined;
    for (const kv of page.kvs) if (!first || kv.createRevision < first.createRevision) first = kv;
    return first && { key: first.keyString, value: first.valueString, revision: first.createRevision };
  }

  /** Yields the leader now and each time another takes over (or `undefined` when none is left). */
  async *observe(options: { signal?: AbortSignal } = {}): AsyncGenerator<ElectionLeader | undefined, void, undefined> {
    const page = await this.#client.range({ prefix: this.#prefix }, { mode: 'linearizable', limit: 10_000 });
    const live = new Map<string, KeyValue>(page.kvs.map((kv) => [kv.keyString, kv]));
    const current = () => {
      let first: KeyValue | undefined;
      for (const kv of live.values()) if (!first || kv.createRevision < first.createRevision) first = kv;
      return first && { key: first.keyString, value: first.valueString, revision: first.createRevision };
    };
    let last = current();
    yield last;
    for await (const ev of this.#client.watch({ prefix: this.#prefix }, { startRevision: page.header.revision + 1, signal: options.signal })) {
      if (ev.type === 'delete') live.delete(ev.kv.keyString);
      else live.set(ev.kv.keyString, ev.kv);
      const now = current();
      if (now?.key !== last?.key || now?.value !== last?.value) {
        last = now;
        yield now;
      }
    }
  }

  /** Steps down (or stops campaigning): deletes this candidate's key and revokes its lease. */
  async resign(): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    this.#key = undefined;
    await lease?.revoke();
  }

  /** This candidate's key while it campaigns or leads. */
  get key(): string | undefined {
    return this.#key;
  }
}
