import { Metadata, status } from '@grpc/grpc-js';
import { RETRY_AFTER_METADATA } from '@bellwether/proto';
import type { ByteBudget } from './byte-budget';
import { RpcError } from './errors';

/** Room in a request's bytes for everything but its key and value (the command's other fields, the log entry's header). */
const WRITE_OVERHEAD_BYTES = 128;
/** Share of a caller's time kept back for the reply's way home. */
const REPLY_MARGIN = 0.1;
/** Longest a caller without a deadline waits at the edge. */
const NO_DEADLINE_WAIT_MS = 10_000;
/**
 * A write is admitted only if what is pending, itself included, would drain
 * within this fraction of its caller's time: the drain rate is measured over
 * the last half seconds and can halve under a changing load, and a write
 * admitted on an optimistic estimate runs past its deadline and ends as an
 * unknown outcome at the client. While enough is admitted to keep the log
 * busy for half a deadline this costs no throughput.
 */
const RATE_UNCERTAINTY = 2;
/** The drain rate assumed until one is measured (4 MiB/s: a slow disk or a loaded machine), so a leader just elected does not admit more than it can answer in time. */
const COLD_DRAIN_BYTES_PER_MS = (4 * 1024 * 1024) / 1000;
/** Retry hints are kept within these bounds. */
const RETRY_AFTER_MIN_MS = 20;
const RETRY_AFTER_MAX_MS = 5000;

/**
 * Flow control for writes on the leader: every write holds its bytes in the
 * pending-writes budget from the moment it is admitted until it is answered.
 * A write that does not fit waits at the edge, but only as long as its
 * deadline allows once the writes ahead of it have drained (a write the
 * member admits should be answered before its caller gives up); otherwise it
 * is refused with RESOURCE_EXHAUSTED and a retry hint. A refused write was
 * never proposed, so retrying it is always safe.
 */
export class WriteAdmission {
  constructor(
    private readonly budget: ByteBudget,
    private readonly memberId: string,
  ) {}

  static costBytes(keyBytes: number, valueBytes: number): number {
    return keyBytes + valueBytes + WRITE_OVERHEAD_BYTES;
  }

  /** Admits a write of `bytes` within `budgetMs`; resolves the function that gives its bytes back. */
  async admit(bytes: number, budgetMs: number): Promise<() => void> {
    const release = () => this.budget.release(bytes);
    const usable = Number.isFinite(budgetMs) ? budgetMs * (1 - REPLY_MARGIN) : NO_DEADLINE_WAIT_MS;
    const allowedMs = usable / RATE_UNCERTAINTY;
    // Once in, the write still waits behind what is already pending (and
    // waiting): if that would outlast the caller, admitting it would only
    // make it time out with its outcome unknown. Refused, it was never
    // proposed: the client retries after the hint, when the queue is shorter.
    // With nothing ahead, waiting cannot make it faster: it goes in (and teaches the budget its rate).
    const doneMs = this.budget.drainMsWith(bytes, COLD_DRAIN_BYTES_PER_MS);
    if (doneMs > allowedMs && (this.budget.usedBytes > 0 || this.budget.waiting > 0)) throw this.refusal(doneMs - allowedMs);
    if (this.budget.tryTake(bytes)) return release;
    // The budget is full but drains in time: wait at the edge (the bytes are here already).
    if (await this.budget.take(bytes, Math.floor(allowedMs))) return release;
    throw this.refusal(this.budget.estimatedWaitMs(bytes));
  }

  private refusal(waitMs: number | undefined): RpcError {
    const hint = Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, Math.ceil(waitMs ?? 100)));
    const md = new Metadata();
    md.set(RETRY_AFTER_METADATA, String(hint));
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    return new RpcError(
      status.RESOURCE_EXHAUSTED,
      `member ${this.memberId}: ${mib(this.budget.usedBytes)} MiB of writes already pending (limit ${mib(this.budget.capacityBytes)} MiB, --max-pending-write-bytes) and they would not drain within this call's deadline; nothing was applied — retry in about ${hint} ms`,
      md,
    );
  }
}
