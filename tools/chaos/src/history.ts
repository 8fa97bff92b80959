// The history of a chaos run: every client operation with its invocation and
// completion time (one monotonic clock, in this process) and its outcome, plus
// the faults injected. Checkers read only this.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * - `ok`: the operation completed and its result is known.
 * - `fail`: it certainly did not take effect (a read that failed, a write the
 *   server refused before applying it: NOT_LEADER, not sent, ...).
 * - `info`: a write whose outcome is unknown (timeout, UNAVAILABLE after it
 *   was sent): it may take effect at any point after its invocation, or never.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export type ReadMode = 'linearizable' | 'read-your-writes' | 'any-follower';

/** Which workload issued an operation; `final` is the read-back after the faults heal. */
export type Workload = 'register' | 'set' | 'counter' | 'final';

export type OpKind = 'put' | 'get' | 'cas';

/** A key's state as a read (or a failed compare-and-swap) saw it; `null` when the key was absent. */
export interface Observed {
  value: string;
  modRevision: number;
}

export interface Op {
  id: number;
  /** Jepsen's process: a worker takes a new one after an `info` op (that op stays open forever). */
  process: number;
  /** The worker (client session) that issued it; constant for the worker's life. */
  session: number;
  workload: Workload;
  key: string;
  f: OpKind;
  /** For `get`. */
  mode?: ReadMode;
  /** For `put` and `cas`: the value written, unique in the run. */
  value?: string;
  /** For `cas`: the value the key had at `expectedRevision` (null: the key must be absent). */
  from?: string | null;
  expectedRevision?: number;
  /** For a `read-your-writes` get: the min_index it sent (the session's index). */
  minIndex?: number;
  /**
   * For `get`: `sdk` when the SDK chose the member (its routing by read mode),
   * `member` when the read was sent to one chosen member directly.
   */
  via?: 'sdk' | 'member';
  /** The member that served it (from the response header), or the one it was sent to. */
  node?: string;
  /** Milliseconds since the run started. */
  invokeMs: number;
  /** When the client learned the outcome (or gave up, for `info`). */
  completeMs: number;
  outcome: Outcome;
  /** `get`: the state read. `cas` that did not succeed: the current state the server returned. */
  read?: Observed | null;
  /** `cas`: whether the comparison held. */
  succeeded?: boolean;
  /** `put`, and `cas` that succeeded: the write's revision (log index). */
  revision?: number;
  /** The serving member's header revision (for reads: its applied index). */
  headerRevision?: number;
  error?: string;
}

export type FaultKind = 'kill' | 'restart' | 'pause' | 'partition' | 'isolate-leader' | 'one-way' | 'latency' | 'member-replace';

export interface FaultEvent {
  type: 'fault';
  atMs: number;
  kind: FaultKind;
  action: 'start' | 'end';
  /** Human-readable: which nodes or links. */
  detail: string;
}

export type PendingOp = Omit<Op, 'completeMs' | 'outcome'>;

/** Records operations and faults; optionally streams them to a JSON-lines file. */
export class History {
  readonly ops: Op[] = [];
  readonly faults: FaultEvent[] = [];
  private nextId = 0;
  private readonly t0 = performance.now();
  private readonly out: WriteStream | undefined;

  constructor(path?: string) {
    if (path) {
      mkdirSync(dirname(path), { recursive: true });
      this.out = createWriteStream(path);
    }
  }

  now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  /** Stamps an operation's invocation; call just before sending the request. */
  invoke(op: Omit<PendingOp, 'id' | 'invokeMs'>): PendingOp {
    return { ...op, id: this.nextId++, invokeMs: this.now() };
  }

  /** Stamps its completion; call as soon as the reply (or the error) arrives. */
  complete(op: PendingOp, outcome: Outcome, result: Partial<Op> = {}): Op {
    const done: Op = { ...op, ...result, completeMs: this.now(), outcome };
    this.ops.push(done);
    this.out?.write(`${JSON.stringify(done)}\n`);
    return done;
  }

  fault(kind: FaultKind, action: 'start' | 'end', detail: string): void {
    const ev: FaultEvent = { type: 'fault', atMs: this.now(), kind, action, detail };
    this.faults.push(ev);
    this.out?.write(`${JSON.stringify(ev)}\n`);
  }

  note(line: Record<string, unknown>): void {
    this.out?.write(`${JSON.stringify({ type: 'note', atMs: this.now(), ...line })}\n`);
  }

  async close(): Promise<void> {
    const out = this.out;
    if (!out) return;
    await new Promise<void>((resolve) => out.end(resolve));
  }
}

/** Reads a history file back (ops and faults), e.g. to re-check a run. */
export function parseHistory(text: string): { ops: Op[]; faults: FaultEvent[] } {
  const ops: Op[] = [];
  const faults: FaultEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as { type?: string };
    if (rec.type === 'fault') faults.push(rec as FaultEvent);
    else if (rec.type === undefined) ops.push(rec as Op);
  }
  ops.sort((a, b) => a.id - b.id);
  return { ops, faults };
}

/** One line per op, for excerpts in reports. */
export function formatOp(op: Op): string {
  const t = `[${op.invokeMs.toFixed(1).padStart(9)} → ${op.outcome === 'info' ? '      ∞ ' : op.completeMs.toFixed(1).padStart(9)} ms]`;
  const who = `s${op.session}/p${op.process}`.padEnd(9);
  const at = op.node ? ` @${op.node}` : '';
  const obs = (o: Observed | null | undefined) => (o === undefined ? '?' : o === null ? '(absent)' : `${JSON.stringify(o.value)} rev ${o.modRevision}`);
  let what: string;
  switch (op.f) {
    case 'put':
      what = `put ${op.key} := ${JSON.stringify(op.value)}${op.outcome === 'ok' ? ` → rev ${op.revision}` : ''}`;
      break;
    case 'get':
      what = `get ${op.key} (${op.mode})${op.outcome === 'ok' ? ` → ${obs(op.read)}` : ''}`;
      break;
    case 'cas': {
      const from = op.from === null ? '(absent)' : JSON.stringify(op.from);
      const res = op.outcome !== 'ok' ? '' : op.succeeded ? ` → swapped, rev ${op.revision}` : ` → refused, current ${obs(op.read)}`;
      what = `cas ${op.key} ${from} (rev ${op.expectedRevision}) → ${JSON.stringify(op.value)}${res}`;
      break;
    }
  }
  const err = op.outcome !== 'ok' && op.error ? `  (${op.error})` : '';
  return `${t} ${who} ${op.outcome.padEnd(4)} ${what}${at}${err}`;
}
