import type { Entry, Message } from '@bellwether/raft';

/** Where evicted entries are read back from: the node's stored log. */
export interface StoredLog {
  readLog(lo: number, hi: number): Promise<Entry[]>;
}

/**
 * Sends Raft's messages, first filling appends whose entries the in-memory
 * log evicted (`Entry.evictedBytes`, see RaftConfig.maxLogMemoryBytes) from
 * the stored log, as etcd-raft's Storage does for entries it no longer keeps
 * in memory. Messages to one peer leave in the order Raft made them: once one
 * waits on a read, the later ones to that peer wait behind it. A message whose
 * entries can no longer be read (compacted meanwhile) is dropped; Raft
 * resends, or sends a snapshot, as it does for any lost message.
 */
export class LogReadback {
  /** Per peer, the tail of the messages waiting on a read. */
  private readonly queued = new Map<string, Promise<void>>();
  /** Entries read back, for the metrics. */
  entriesRead = 0;

  constructor(
    private readonly log: StoredLog,
    private readonly deliver: (messages: Message[]) => void,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  send(messages: Message[]): void {
    const now: Message[] = [];
    for (const m of messages) {
      const tail = this.queued.get(m.to);
      if (tail === undefined && !hasEvicted(m)) {
        now.push(m);
        continue;
      }
      const next = (tail ?? Promise.resolve()).then(async () => {
        const filled = await this.fill(m);
        if (filled) this.deliver([filled]);
      });
      const settled = next.catch((err: Error) => this.onError(err));
      this.queued.set(m.to, settled);
      settled.then(() => {
        if (this.queued.get(m.to) === settled) this.queued.delete(m.to);
      });
    }
    if (now.length > 0) this.deliver(now);
  }

  /** Resolves when every message queued so far has been sent or dropped. */
  async drain(): Promise<void> {
    await Promise.all(this.queued.values());
  }

  private async fill(m: Message): Promise<Message | undefined> {
    if (m.type !== 'append' || !hasEvicted(m)) return m;
    const evicted = m.entries.filter((e) => e.evictedBytes !== undefined);
    const lo = evicted[0]!.index;
    const hi = evicted[evicted.length - 1]!.index;
    const stored = await this.log.readLog(lo, hi);
    const byIndex = new Map(stored.map((e) => [e.index, e]));
    const entries: Entry[] = [];
    for (const e of m.entries) {
      if (e.evictedBytes === undefined) {
        entries.push(e);
        continue;
      }
      const s = byIndex.get(e.index);
      // Compacted meanwhile, or rewritten under another term: this message is stale.
      if (!s || s.term !== e.term) return undefined;
      entries.push({ index: e.index, term: e.term, type: e.type, data: s.data });
    }
    this.entriesRead += evicted.length;
    return { ...m, entries };
  }
}

function hasEvicted(m: Message): boolean {
  return m.type === 'append' && m.entries.some((e) => e.evictedBytes !== undefined);
}
