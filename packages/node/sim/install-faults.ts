import type { SnapshotInstaller, SnapshotStore } from '@bellwether/store';

/**
 * Makes snapshot installs crash-prone: before each step (start, every chunk,
 * the swap) and right after the swap, `maybeCrash(step)` may kill the member
 * at that instant, so installs get interrupted at every step.
 */
export function interruptInstalls(snapshots: SnapshotStore, maybeCrash: (step: string) => void): SnapshotStore {
  return {
    snapshotReader: (maxChunkBytes) => snapshots.snapshotReader(maxChunkBytes),
    beginSnapshotInstall: async (): Promise<SnapshotInstaller> => {
      maybeCrash('start');
      const installer = await snapshots.beginSnapshotInstall();
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
    },
  };
}
