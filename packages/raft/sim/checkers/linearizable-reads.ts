import { Violation } from './violation.js';

/**
 * ReadIndex linearizability (dissertation §6.4): a read served at a node must
 * reflect every write acknowledged before the read began. A write is
 * acknowledged when the node it was proposed on applies it (as a server
 * would answer its client then).
 */
export class LinearizableReadChecker {
  /** Acknowledged proposal ids in acknowledgement order, with the event sequence number of the ack. */
  private readonly acked: Array<{ id: number; seq: number }> = [];
  private readonly readStartSeq = new Map<string, number>();
  readsServed = 0;

  onAck(id: number, seq: number): void {
    this.acked.push({ id, seq });
  }

  onReadStart(ctx: string, seq: number): void {
    this.readStartSeq.set(ctx, seq);
  }

  /** The read `ctx` is served from a state machine holding `contains`. */
  onServe(node: string, ctx: string, readIndex: number, contains: (id: number) => boolean): void {
    const start = this.readStartSeq.get(ctx);
    if (start === undefined) throw new Violation('linearizable-read', `${node} served unknown read ${ctx}`);
    this.readStartSeq.delete(ctx);
    this.readsServed++;
    for (const a of this.acked) {
      if (a.seq >= start) break;
      if (!contains(a.id))
        throw new Violation(
          'linearizable-read',
          `${node} served read ${ctx} at read index ${readIndex} without write #${a.id}, acknowledged before the read began`,
        );
    }
  }
}
