import type { Message } from '@bellwether/raft';
import type { Clock, ClockTimer } from './clock';

/**
 * Holds the leader's commit-only appends (AppendMsg.commitOnly) for up to
 * `holdMs` before they leave. One write at a time makes one per follower
 * per write; the next write's append to that follower carries the same
 * commit index anyway, and when it comes within the hold the held message
 * is dropped: one message, and one follower wake-up and loop turn, fewer
 * per write. Dropping or delaying one is safe: it promises nothing and is
 * never answered, and Raft already tolerates losing any message. What it
 * costs: at the end of a burst a follower applies the last writes up to
 * `holdMs` later (a read-your-writes read there may wait that much longer).
 */
export class CommitHold {
  private readonly held = new Map<string, Message>();
  private timer: ClockTimer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly holdMs: number,
    private readonly deliver: (messages: Message[]) => void,
  ) {}

  /** The messages to send now; commit-only appends are held instead. */
  filter(messages: Message[]): Message[] {
    if (this.holdMs <= 0) return messages;
    let now: Message[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.type === 'append' && m.commitOnly) {
        // A newer one replaces the one held: it carries the newer commit.
        this.held.set(m.to, m);
        now ??= messages.slice(0, i);
        continue;
      }
      // Any other append (or a snapshot) to that follower carries the commit too.
      if ((m.type === 'append' || m.type === 'snapshot') && this.held.size > 0) this.held.delete(m.to);
      now?.push(m);
    }
    if (this.held.size > 0 && this.timer === undefined) this.timer = this.clock.setTimeout(() => this.flush(), this.holdMs);
    if (this.held.size === 0) this.cancel();
    return now ?? messages;
  }

  /** Sends what is held now. */
  flush(): void {
    this.cancel();
    if (this.held.size === 0) return;
    const out = [...this.held.values()];
    this.held.clear();
    this.deliver(out);
  }

  /** Drops what is held (the member stops). */
  stop(): void {
    this.cancel();
    this.held.clear();
  }

  private cancel(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
