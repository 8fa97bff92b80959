import type { Entry, Message } from '@bellwether/raft';

/** Committed entry bytes a follower may have waiting for its state machine before it holds new appends back. */
export const MAX_UNAPPLIED_BYTES = 256 * 1024 * 1024;
/** Appends held back at most; later ones are dropped (the leader sends them again, as for any lost message). */
export const MAX_HELD_APPEND_BYTES = 32 * 1024 * 1024;

/**
 * Flow control between a follower's log and its state machine. A follower
 * acknowledges an append once it is on disk and applies it later; when the
 * apply is slower (a 1 MiB put's apply reads the key's previous record, and
 * LevelDB slows every write while it compacts), committed entries queued for
 * the apply held their data in memory without bound: over a GiB of 1 MiB
 * values on a follower that had never stopped. Past {@link MAX_UNAPPLIED_BYTES}
 * the follower holds the leader's appends back, unacknowledged, until the
 * apply has caught up to half of it; the leader's window of unacknowledged
 * bytes then stops its sending. Heartbeats are still answered, so the leader
 * keeps counting this follower as active. The leader itself is not held back:
 * its unapplied writes are bounded by the pending-writes budget.
 *
 * The bound is a backstop, set well above what a follower's apply falls
 * behind under steady load (65-75 MiB seen with 1 MiB puts), so that it
 * does not make commits wait for a follower's apply in normal running.
 */
export class ApplyBacklog {
  /** Bytes of committed entries handed to the apply and not applied yet. */
  unappliedBytes = 0;
  private held: Message[] = [];
  private heldBytes = 0;
  /** Appends held back, and dropped past the hold's bound, since start (for the metrics). */
  heldTotal = 0;
  droppedTotal = 0;

  constructor(
    private readonly maxUnappliedBytes = MAX_UNAPPLIED_BYTES,
    private readonly maxHeldBytes = MAX_HELD_APPEND_BYTES,
  ) {}

  /** Counts entries handed to the apply; returns their bytes, for {@link applied}. */
  added(entries: readonly Entry[]): number {
    const bytes = dataBytes(entries);
    this.unappliedBytes += bytes;
    return bytes;
  }

  /** Counts entries applied; true when appends held back may go in now. */
  applied(bytes: number): boolean {
    this.unappliedBytes -= bytes;
    return this.releasable;
  }

  /** True if there are held appends and the apply has caught up enough to take them. */
  get releasable(): boolean {
    return this.held.length > 0 && this.unappliedBytes <= this.maxUnappliedBytes / 2;
  }

  /**
   * Takes a follower's incoming append carrying entries while the apply is
   * behind (or while earlier ones are held, to keep their order): true if
   * it was held or dropped rather than to be stepped now.
   */
  intercept(msg: Message): boolean {
    if (msg.type !== 'append' || msg.entries.length === 0) return false;
    if (this.held.length === 0 && this.unappliedBytes <= this.maxUnappliedBytes) return false;
    const bytes = dataBytes(msg.entries);
    if (this.heldBytes + bytes > this.maxHeldBytes && this.held.length > 0) {
      this.droppedTotal++;
      return true;
    }
    this.held.push(msg);
    this.heldBytes += bytes;
    this.heldTotal++;
    return true;
  }

  /** The held appends, in arrival order, once {@link releasable} (or all of them with `force`: no longer a follower). */
  release(force = false): Message[] {
    if (this.held.length === 0 || (!force && !this.releasable)) return [];
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    return held;
  }
}

function dataBytes(entries: readonly Entry[]): number {
  let bytes = 0;
  for (const e of entries) bytes += e.data.byteLength;
  return bytes;
}
