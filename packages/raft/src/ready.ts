import type { Message } from './messages.js';
import type { Entry, HardState, ReadState, SnapshotMeta, SoftState } from './types.js';

/**
 * One batch of work for the caller. Process it in this order, then call
 * `advance(ready)`:
 *
 *  1. if `snapshot`: install the snapshot's data (received out of band and staged)
 *     as the state machine, and persist the meta; entries before it are gone;
 *  2. persist `entries` (append; they may overwrite a suffix from `entries[0].index`)
 *     and `hardState`, durably (fsync) when `mustSync`;
 *  3. send `messages` — never before step 2 is durable: votes and acknowledgements
 *     promise that the data is on disk;
 *  4. apply `committedEntries` in order (they may include entries from step 2);
 *  5. deliver `readStates` / `readStatesFailed` to waiting readers.
 */
export interface Ready {
  /** Present when role, term or leader changed since the previous Ready. */
  softState?: SoftState;
  /** Present only when it changed. */
  hardState?: HardState;
  entries: Entry[];
  snapshot?: SnapshotMeta;
  committedEntries: Entry[];
  messages: Message[];
  /** ReadIndex results: serve the read with `ctx` once applied >= index. */
  readStates: ReadState[];
  /**
   * Contexts of local readIndex() calls that failed for sure (no leader known, or
   * this leader lost leadership / was overloaded before confirming). A read
   * forwarded to a leader that is lost on the way is not reported: time it out.
   */
  readStatesFailed: Uint8Array[];
  /** True when term/vote, entries or a snapshot must be fsynced before sending. */
  mustSync: boolean;
}
