import { createHook } from 'node:async_hooks';
import type { Message } from '@bellwether/raft';

/**
 * Raft messages and the gRPC stream messages (MessageBatch) carrying them,
 * sent to and received from peers, by Raft message type. Plain numbers
 * bumped on the send and receive paths; /metrics reads them when scraped.
 */
export class PeerMessageCounts {
  readonly sent = new Map<string, number>();
  readonly received = new Map<string, number>();
  batchesSent = 0;
  batchesReceived = 0;
  /** Raft messages not sent because the peer's stream held too many bytes not yet taken by HTTP/2. */
  readonly dropped = new Map<string, number>();

  countSent(messages: readonly Message[], batches: number): void {
    this.batchesSent += batches;
    for (const m of messages) this.sent.set(m.type, (this.sent.get(m.type) ?? 0) + 1);
  }

  countDropped(messages: readonly Message[]): void {
    for (const m of messages) this.dropped.set(m.type, (this.dropped.get(m.type) ?? 0) + 1);
  }

  countReceived(types: readonly { type: string }[]): void {
    this.batchesReceived++;
    for (const m of types) this.received.set(m.type, (this.received.get(m.type) ?? 0) + 1);
  }
}

/** Set to 1 to count event-loop callbacks by resource type (costly: it turns on async hooks). */
export const COUNT_CALLBACKS_ENV = 'BELLWETHER_COUNT_CALLBACKS';

/**
 * Callbacks the event loop ran on behalf of non-promise resources (socket
 * reads, timers, immediates, thread-pool completions such as LevelDB's), by
 * resource type: each is one wake-up of JavaScript by the loop. Counted only
 * when BELLWETHER_COUNT_CALLBACKS=1, since async hooks slow every callback;
 * undefined otherwise.
 */
export function startCallbackCounts(env: NodeJS.ProcessEnv = process.env): Map<string, number> | undefined {
  if (env[COUNT_CALLBACKS_ENV] !== '1') return undefined;
  const counts = new Map<string, number>();
  const typeOf = new Map<number, string>();
  createHook({
    init(asyncId, type) {
      if (type !== 'PROMISE') typeOf.set(asyncId, type);
    },
    before(asyncId) {
      const type = typeOf.get(asyncId);
      if (type !== undefined) counts.set(type, (counts.get(type) ?? 0) + 1);
    },
    destroy(asyncId) {
      typeOf.delete(asyncId);
    },
  }).enable();
  return counts;
}
