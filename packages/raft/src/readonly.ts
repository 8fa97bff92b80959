import type { NodeId } from './types.js';

/**
 * Pending ReadIndex requests on the leader (dissertation §6.4).
 *
 * Each request records the commit index when it arrived and is answered once a
 * majority of voters has acknowledged a heartbeat sent after that moment —
 * proof that no other leader with a newer term had taken over at that time.
 * Requests are confirmed in arrival order: an ack for a later request confirms
 * every earlier one too.
 */

export interface ReadRequest {
  index: number;
  ctx: Uint8Array;
  /** Who asked: this node (answer in Ready.readStates) or a follower (answer with readIndexResp). */
  from: NodeId;
  acks: Set<NodeId>;
}

export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += b.toString(16).padStart(2, '0');
  return s;
}

export class ReadOnlyQueue {
  private readonly byKey = new Map<string, ReadRequest>();
  private queue: string[] = [];

  constructor(readonly maxPending: number) {}

  get size(): number {
    return this.queue.length;
  }

  /** Returns false if the context is already pending or the queue is full. */
  add(index: number, ctx: Uint8Array, from: NodeId, self: NodeId): boolean {
    const key = ctxKey(ctx);
    if (this.byKey.has(key) || this.queue.length >= this.maxPending) return false;
    this.byKey.set(key, { index, ctx, from, acks: new Set([self]) });
    this.queue.push(key);
    return true;
  }

  /** Records `id`'s ack of the heartbeat carrying `ctx`; returns the acks so far, or undefined. */
  recvAck(id: NodeId, ctx: Uint8Array): Set<NodeId> | undefined {
    const req = this.byKey.get(ctxKey(ctx));
    if (!req) return undefined;
    req.acks.add(id);
    return req.acks;
  }

  /** Removes and returns every request up to and including the one for `ctx`. */
  advance(ctx: Uint8Array): ReadRequest[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1).map((k) => this.byKey.get(k)!);
    for (const k of this.queue.slice(0, at + 1)) this.byKey.delete(k);
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  lastPendingCtx(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.byKey.get(k)!.ctx;
  }

  /** Drops everything (on losing leadership) and returns what was pending. */
  clear(): ReadRequest[] {
    const all = this.queue.map((k) => this.byKey.get(k)!);
    this.byKey.clear();
    this.queue = [];
    return all;
  }
}
