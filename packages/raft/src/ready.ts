import type { Message } from './messages.js';
import type { Entry, HardState, ReadState, SnapshotMeta, SoftState } from './types.js';

/**
 * One batch of work for the caller. Process it in this order, then call
 * `advance(ready)`:
 *
 *  1. send `messages`: they may leave at once, while step 3 is in flight
 *     (a leader's appends and heartbeats, Raft §10.2.1): none of them
 *     promises anything about this node's disk;
 *  2. if `snapshot`: install the snapshot's data (received out of band and staged)
 *     as the state machine, and persist the meta; entries before it are gone;
 *  3. persist `entries` (append; they may overwrite a suffix from `entries[0].index`)
 *     and `hardState`, durably (fsync) when `mustSync`;
 *  4. send `messagesAfterPersist` — never before step 3 is durable: votes and
 *     acknowledgements promise that the data is on disk;
 *  5. apply `committedEntries` in order (they may include entries from step 3);
 *  6. deliver `readStates` / `readStatesFailed` to waiting readers;
 *  7. `advance(ready)`: the entries count as durable from here (a leader counts
 *     its own match toward commit only then).
 *
 * `step()`, `tick()` and proposals may run while the persist is in flight
 * (between `ready()` and `advance()`); their output goes into the next Ready.
 */
export interface Ready {
  /** Present when role, term or leader changed since the previous Ready. */
  softState?: SoftState;
  /** Present only when it changed. */
  hardState?: HardState;
  entries: Entry[];
  snapshot?: SnapshotMeta;
  committedEntries: Entry[];
  /** May be sent before this Ready is persisted. */
  messages: Message[];
  /** Must wait until this Ready's entries, hard state and snapshot are durable. */
  messagesAfterPersist: Message[];
  /** ReadIndex results: serve the read with `ctx` once applied >= index. */
  readStates: ReadState[];
  /**
   * Contexts of local readIndex() calls that failed for sure (no leader known, or
   * this leader lost leadership / was overloaded before confirming). A read
   * forwarded to a leader that is lost on the way is not reported: time it out.
   */
  readStatesFailed: Uint8Array[];
  /** True when term/vote, entries or a snapshot must be fsynced before `messagesAfterPersist` are sent. */
  mustSync: boolean;
}
