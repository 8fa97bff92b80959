import type { Event, ResponseHeader, WatchResponse } from '@bellwether/proto';
import { status } from '@grpc/grpc-js';
import type { KeyChange } from '@bellwether/store';
import { toKeyValue } from '../kv-service';
import type { WatchHistory } from './history';

/** What one watch selects and reports. */
export interface WatchSpec {
  id: number;
  /** [start, end) in byte order; `end` undefined = no upper bound. */
  start: Buffer;
  end: Buffer | undefined;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  progressNotify: boolean;
}

/** Where a watcher's responses go: its stream, which may push back. */
export interface WatchSink {
  /** Sends one response; false when the stream's buffer is full (stop until it drains). */
  send(response: WatchResponse): boolean;
  /** Whether the stream is waiting to drain. */
  readonly blocked: boolean;
  header(revision: number): ResponseHeader;
}

export interface WatcherLimits {
  /** Unsent changes (in bytes of history) a watch may fall behind by before it is cancelled. */
  maxLagBytes: number;
  /** Events per response stay under this many bytes (a single larger revision goes alone). */
  maxResponseBytes: number;
}

/**
 * One watch: a cursor into the member's shared history, the next revision it
 * owes its client. It holds no queue of its own: while its stream pushes
 * back it simply stops reading the history, and it is cancelled (with a
 * reason) if it falls further behind than `maxLagBytes` or behind the
 * history's window, so a slow client costs bounded memory and never holds
 * up the apply loop.
 */
export class Watcher {
  /** The next revision to report. */
  cursor: number;
  /** Something was sent since the last progress notification. */
  sentSinceProgress = false;
  canceled = false;
  /** Previous values being read from blob files: the next events wait for them. */
  #loading = false;

  constructor(
    readonly spec: WatchSpec,
    cursor: number,
    private readonly history: WatchHistory,
    private readonly sink: WatchSink,
    private readonly limits: WatcherLimits,
    private readonly onCancel: (w: Watcher) => void,
  ) {
    this.cursor = cursor;
  }

  /** Whether every change up to the history's applied revision has been reported. */
  get caughtUp(): boolean {
    return this.cursor > this.history.appliedTo;
  }

  /** Sends every due event the stream will take now. */
  pump(): void {
    if (this.canceled || this.#loading) return;
    const h = this.history;
    if (this.cursor <= h.compactRevision) {
      this.cancel(
        `revision ${this.cursor} is no longer in this member's watch history (compacted up to ${h.compactRevision}); re-read and watch from after the read's revision`,
        status.OUT_OF_RANGE,
        h.compactRevision,
      );
      return;
    }
    const lag = h.bytesFrom(this.cursor);
    if (lag > this.limits.maxLagBytes) {
      this.cancel(`the watcher fell ${lag} bytes of changes behind (limit ${this.limits.maxLagBytes}): it does not read its stream fast enough; watch again from revision ${this.cursor}`, status.RESOURCE_EXHAUSTED);
      return;
    }
    while (!this.sink.blocked) {
      const events: Event[] = [];
      let bytes = 0;
      let pos = h.seek(this.cursor);
      let last = this.cursor - 1;
      for (; pos < h.end(); pos++) {
        const r = h.at(pos)!;
        const matching = r.changes.filter((c) => this.#matches(c));
        if (matching.length > 0) {
          if (events.length > 0 && bytes + r.bytes > this.limits.maxResponseBytes) break;
          if (this.spec.prevKv && this.#loadPrevValues(r.revision, matching)) break;
          for (const c of matching) events.push(this.#event(c));
          bytes += r.bytes;
        }
        last = r.revision;
      }
      const scannedTo = pos >= h.end() ? Math.max(last, h.appliedTo) : last;
      this.cursor = Math.max(this.cursor, scannedTo + 1);
      if (events.length === 0) return;
      this.sentSinceProgress = true;
      this.sink.send({ header: this.sink.header(scannedTo), watchId: this.spec.id, events });
      if (pos >= h.end() || this.#loading) return;
    }
  }

  /**
   * Starts reading the previous values these changes left in blob files, if
   * any is unread, and pumps again once they are in; true while reading.
   */
  #loadPrevValues(revision: number, changes: KeyChange[]): boolean {
    const unread = changes.flatMap((c) => (c.prevValue && !c.prevValue.loaded ? [c.prevValue] : []));
    if (unread.length === 0) return false;
    this.#loading = true;
    Promise.all(unread.map((v) => v.load())).then(
      () => {
        this.#loading = false;
        this.pump();
      },
      (err: Error) => {
        this.#loading = false;
        this.cancel(
          `the previous values of revision ${revision} can no longer be read on this member (${err.message}); re-read and watch from after the read's revision`,
          status.OUT_OF_RANGE,
          revision,
        );
      },
    );
    return true;
  }

  /** Ends the watch, telling the client why. */
  cancel(reason: string, code: status, compactRevision = 0): void {
    if (this.canceled) return;
    this.canceled = true;
    this.onCancel(this);
    this.sink.send({ header: this.sink.header(this.cursor - 1), watchId: this.spec.id, canceled: true, cancelReason: reason, cancelCode: code, compactRevision });
  }

  #matches(c: KeyChange): boolean {
    if (c.type === 'put' ? this.spec.noPut : this.spec.noDelete) return false;
    const key = c.kv.key;
    return Buffer.compare(key, this.spec.start) >= 0 && (this.spec.end === undefined || Buffer.compare(key, this.spec.end) < 0);
  }

  #event(c: KeyChange): Event {
    return {
      type: c.type === 'put' ? 'PUT' : 'DELETE',
      kv: toKeyValue(c.kv),
      prevKv: this.spec.prevKv ? toKeyValue(c.prevValue && c.prevKv ? { ...c.prevKv, value: c.prevValue.loaded ?? Buffer.alloc(0) } : c.prevKv) : null,
    };
  }
}
