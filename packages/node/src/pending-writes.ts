import type { Entry } from '@bellwether/raft';
import type { WriteResult } from '@bellwether/store';

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/**
 * The writes and membership changes proposed on this member, from the
 * moment they are queued until they are applied here (answered with their
 * result) or known lost (a different entry took their index: leadership
 * changed before they committed). Bounded by the replica's
 * maxPendingProposals.
 */
export class PendingWrites {
  /** Queued for the next Ready's proposal batch. */
  private queued: (Waiter<WriteResult> & { data: Buffer })[] = [];
  /** Proposed, by log index, with the term they were proposed in. */
  private readonly inFlight = new Map<number, Waiter<WriteResult> & { term: number }>();
  /** Membership changes proposed here, by log index, until applied. */
  private readonly confInFlight = new Map<number, Waiter<number> & { term: number }>();

  constructor(
    /** A write was refused or lost (counted by the metrics). */
    private readonly onFailed: () => void,
  ) {}

  /** Writes proposed here and not yet answered. */
  get count(): number {
    return this.queued.length + this.inFlight.size;
  }

  get hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** Queues an encoded command; resolves with its result once applied. */
  enqueue(data: Buffer): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => {
        this.onFailed();
        reject(e);
      };
      this.queued.push({ data, resolve, reject: failed });
    });
  }

  /** Proposes the queued writes as one batch; if Raft refuses, each is rejected with `refusal(err)`. */
  proposeQueued(propose: (data: Buffer[]) => { firstIndex: number; term: number }, refusal: (err: unknown) => Error): void {
    const batch = this.queued;
    this.queued = [];
    try {
      const { firstIndex, term } = propose(batch.map((p) => p.data));
      batch.forEach((p, i) => {
        this.inFlight.set(firstIndex + i, { term, resolve: p.resolve, reject: p.reject });
      });
    } catch (err) {
      const e = refusal(err);
      for (const p of batch) p.reject(e);
    }
  }

  /** A membership change proposed at `index` in `term`. */
  trackConfChange(index: number, term: number, waiter: Waiter<number>): void {
    this.confInFlight.set(index, { term, ...waiter });
  }

  /** Refuses what is queued and not yet proposed (this member stopped leading). */
  rejectQueued(e: Error): void {
    for (const p of this.queued.splice(0)) p.reject(e);
  }

  /**
   * Answers the writes and changes these applied entries settle: those whose
   * entry is the one proposed (same term) with its result, the others (their
   * index went to another leader's entry) with `lost(kind)`.
   */
  settle(entries: Entry[], results: Map<number, WriteResult>, lost: (what: 'write' | 'membership change') => Error): void {
    for (const e of entries) {
      const w = this.inFlight.get(e.index);
      if (!w) continue;
      this.inFlight.delete(e.index);
      const result = results.get(e.index);
      if (w.term === e.term && result) w.resolve(result);
      else w.reject(lost('write'));
    }
    for (const e of entries) {
      const c = this.confInFlight.get(e.index);
      if (!c) continue;
      this.confInFlight.delete(e.index);
      if (c.term === e.term && e.type === 'conf') c.resolve(e.index);
      else c.reject(lost('membership change'));
    }
  }

  failAll(e: Error): void {
    this.rejectQueued(e);
    for (const w of this.inFlight.values()) w.reject(e);
    this.inFlight.clear();
    for (const c of this.confInFlight.values()) c.reject(e);
    this.confInFlight.clear();
  }
}
