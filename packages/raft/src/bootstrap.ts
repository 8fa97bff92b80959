import { encodeConfChange } from './confchange.js';
import type { InitialState } from './raft.js';
import type { ClusterConfig, ConfChange, Entry } from './types.js';

/** The conf entries 1..k of term 1 every founder of a cluster with membership `config` starts with (committed by construction). */
export function bootstrapEntries(config: ClusterConfig): Entry[] {
  const changes: ConfChange[] = [
    ...[...config.voters].sort().map((nodeId): ConfChange => ({ kind: 'addVoter', nodeId })),
    ...[...config.learners].sort().map((nodeId): ConfChange => ({ kind: 'addLearner', nodeId })),
  ];
  return changes.map((cc, i) => ({ index: i + 1, term: 1, type: 'conf', data: encodeConfChange(cc) }));
}

/** Nothing persisted yet: a first start. */
export function isFresh(init: InitialState): boolean {
  return init.hardState.term === 0 && init.snapshot === undefined && init.entries.length === 0;
}

/**
 * A crash tore the first write of a bootstrap: the log holds only some of
 * its conf entries. Read back, that prefix would be a smaller cluster (the
 * first founder alone, say) able to elect itself and take writes beside the
 * real one; since the entries are the same at every founder and nothing else
 * happened yet (term 1, no vote), the bootstrap is redone instead.
 */
export function isTornBootstrap(init: InitialState, bootstrap: readonly Entry[]): boolean {
  const { hardState, entries } = init;
  if (init.snapshot !== undefined || hardState.term > 1 || hardState.vote !== null || entries.length >= bootstrap.length) return false;
  return entries.every((e, i) => {
    const b = bootstrap[i]!;
    return e.index === b.index && e.term === b.term && e.type === b.type && sameBytes(e.data, b.data);
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
