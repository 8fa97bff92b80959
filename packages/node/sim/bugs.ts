import { type Command, decodeCommand, encodeCommand, type LogEntry, type Store } from '@bellwether/store';

/**
 * Deliberately broken storage, switched on only by the simulator (`--bug`),
 * to prove its checkers catch what they are meant to. Each one patches a
 * single Store instance; production code has no such switch.
 */
export const NODE_BUGS = ['ackBeforeFsync', 'forgetSessions'] as const;
export type NodeBugName = (typeof NODE_BUGS)[number];

export interface BugHooks {
  /** Called on a crash: writes still "in flight" are lost. */
  onCrash(): void;
}

export interface PatchContext {
  /** Runs `fn` after `ms` of virtual time. */
  later(ms: number, fn: () => void): void;
  latencyMs(): number;
}

/**
 * ackBeforeFsync: the log write reports success at once and reaches the
 * database only later, so a node acknowledges entries that a crash then
 * takes back (a driver that sends before its fsync, or a lying disk).
 *
 * forgetSessions: applies every write without its client id, so a retried
 * (client_id, sequence) is applied again instead of answered from the session.
 */
export function patchStore(bug: NodeBugName | undefined, store: Store, ctx: PatchContext): BugHooks {
  const hooks: BugHooks = { onCrash: () => {} };
  if (bug === 'ackBeforeFsync') {
    const persist = store.persist.bind(store);
    let crashed = false;
    let chain: Promise<void> = Promise.resolve();
    hooks.onCrash = () => {
      crashed = true;
    };
    store.persist = (update, sync) => {
      const delay = ctx.latencyMs();
      chain = chain
        .then(() => new Promise<void>((resolve) => ctx.later(delay, resolve)))
        .then(() => (crashed ? undefined : persist(update, sync)));
      return Promise.resolve();
    };
  } else if (bug === 'forgetSessions') {
    const apply = store.apply.bind(store);
    store.apply = (entries, meta, sync) => apply(entries.map(withoutSession), meta, sync);
  }
  return hooks;
}

function withoutSession(e: LogEntry): LogEntry {
  if (e.type !== 'normal' || e.data.length === 0) return e;
  const c: Command = decodeCommand(e.data);
  if (c.op !== 'put') return e;
  return { ...e, data: encodeCommand({ ...c, clientId: '' }) };
}
