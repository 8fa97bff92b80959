import { assert } from './errors.js';
import type { ProgressState, ProgressStatus } from './types.js';

/**
 * The leader's view of one follower (etcd's progress tracker, dissertation §3.5):
 *
 * - probe:     we do not know where the follower's log matches ours. Send one
 *              append at a time and wait for the answer (or a heartbeat
 *              response) before sending another.
 * - replicate: the follower is known to match up to `match`; stream appends
 *              optimistically (`next` advances as we send), bounded by the
 *              in-flight window so a slow follower cannot make us buffer without limit.
 * - snapshot:  the follower needs entries we compacted; a snapshot is being
 *              transferred and nothing else is sent until it is reported.
 */

/** A bounded window of append messages in flight: at most `maxCount` messages and `maxBytes` bytes. */
export class Inflights {
  /** Last index of each in-flight append, in send order. */
  private readonly lastIndexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.lastIndexes.length;
  }

  add(lastIndex: number, sizeBytes: number): void {
    assert(!this.full(), 'inflights: add while full');
    const prev = this.lastIndexes[this.lastIndexes.length - 1];
    assert(prev === undefined || lastIndex > prev, 'inflights: indexes must increase');
    this.lastIndexes.push(lastIndex);
    this.sizes.push(sizeBytes);
    this.bytes += sizeBytes;
  }

  /** Acknowledges every in-flight append whose last index is <= `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && this.lastIndexes[n]! <= index) {
      this.bytes -= this.sizes[n]!;
      n++;
    }
    if (n > 0) {
      this.lastIndexes.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  full(): boolean {
    // Bytes bound: a single oversized message may still go when nothing else is in flight.
    return this.lastIndexes.length >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  reset(): void {
    this.lastIndexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding; wait for its answer (or a heartbeat response). */
  probeSent = false;
  /** In snapshot state: the snapshot index being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflightMsgs: number,
    maxInflightBytes: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    // After a snapshot, the follower has at least the snapshot (if it was installed).
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** An append up to `index` was accepted. Returns false for a stale (already known) ack. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Records that entries up to `lastIndex` were sent. */
  sentEntries(lastIndex: number, count: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an append at `rejected`; `hint` is the highest index
   * that may still match. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      // Everything up to match is known good; a rejection at or below it is old news.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe only the answer to the latest probe (at next-1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      inflight: this.inflights.count,
      recentActive: this.recentActive,
      pendingSnapshot: this.pendingSnapshot,
      isLearner: this.isLearner,
    };
  }
}
