import type { InitialState } from '@bellwether/raft';
import type { Store } from '@bellwether/store';
import { decodeSnapshotMeta, type MemberInfo } from './membership';

/**
 * What Raft restarts from, read back from the store: the hard state, the
 * compaction point, the stored log and the applied index. `bootstrap` is the
 * founding membership, used only on a first start (an empty store).
 */
export async function loadInitialState(store: Store, bootstrap: readonly MemberInfo[]): Promise<InitialState> {
  const storedSnapshot = await store.loadSnapshotMeta();
  const snapshot = storedSnapshot ? decodeSnapshotMeta(storedSnapshot) : undefined;
  const hardState = (await store.loadHardState()) ?? { term: 0, vote: null, commit: 0 };
  return {
    hardState,
    // The configuration at the start of the stored log; later conf entries in the log apply on top.
    config: snapshot?.config ?? {
      voters: bootstrap.filter((m) => m.voter).map((m) => m.id),
      learners: bootstrap.filter((m) => !m.voter).map((m) => m.id),
    },
    snapshot,
    entries: await store.loadLog(),
    // A snapshot install can leave the state ahead of the persisted commit; replays below it are skipped by the store anyway.
    applied: Math.min(store.appliedIndex, hardState.commit),
  };
}
