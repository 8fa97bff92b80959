import type { SnapshotInstaller, Store } from '@bellwether/store';

/**
 * Makes a store's snapshot installs crash-prone: before each step (start,
 * every chunk, the swap) and right after the swap, `maybeCrash(step)` may kill
 * the member at that instant, so installs get interrupted at every step.
 */
export function interruptInstalls(store: Store, maybeCrash: (step: string) => void): void {
  const begin = store.beginSnapshotInstall.bind(store);
  store.beginSnapshotInstall = async (): Promise<SnapshotInstaller> => {
    maybeCrash('start');
    const installer = await begin();
    let chunk = 0;
    return {
      write: (data) => {
        maybeCrash(`chunk ${++chunk}`);
        return installer.write(data);
      },
      finish: async (appliedIndex, meta) => {
        maybeCrash('swap');
        const swapped = await installer.finish(appliedIndex, meta);
        maybeCrash('after the swap');
        return swapped;
      },
      abort: () => installer.abort(),
    };
  };
}
