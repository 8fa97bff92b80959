import type { SnapshotInstaller, SnapshotStore } from '@bellwether/store';
import { encodeIndex, MEMBERS_INDEX_KEY } from './membership';
import type { IncomingSnapshot } from './peer-transport';

/**
 * State snapshots this member streams to followers that need compacted
 * entries: at most one per follower at a time; each outcome is reported back
 * to Raft (reportSnapshot) from the replica's loop.
 */
export class SnapshotSends {
  private readonly inFlight = new Set<string>();
  private reports: { to: string; ok: boolean }[] = [];

  constructor(
    /** A send ended (the replica counts it and wakes its loop to report it). */
    private readonly onDone: (ok: boolean) => void,
  ) {}

  get hasReports(): boolean {
    return this.reports.length > 0;
  }

  /** The outcomes not yet reported to Raft. */
  takeReports(): { to: string; ok: boolean }[] {
    const reports = this.reports;
    this.reports = [];
    return reports;
  }

  /**
   * Starts streaming a snapshot to follower `to`, unless one is already
   * going there. `pin` runs its argument between two applies, so the reader
   * `send` makes pins exactly the state at the store's applied index.
   */
  start(to: string, pin: (open: () => void) => void, send: () => Promise<boolean>): void {
    if (this.inFlight.has(to)) return;
    this.inFlight.add(to);
    const report = (ok: boolean) => {
      this.inFlight.delete(to);
      this.reports.push({ to, ok });
      this.onDone(ok);
    };
    pin(() => {
      send().then(report, () => report(false));
    });
  }
}

/**
 * Writes a leader's snapshot into the store's spare generation while the
 * current state keeps serving; returns the installer, ready for
 * {@link finishSnapshot}. A failed transfer aborts the install.
 */
export async function receiveSnapshot(snapshots: SnapshotStore, incoming: IncomingSnapshot): Promise<SnapshotInstaller> {
  if (incoming.message.type !== 'snapshot') throw new TypeError('installSnapshot: not a snapshot message');
  const installer = await snapshots.beginSnapshotInstall();
  try {
    for await (const chunk of incoming.chunks) await installer.write(chunk);
  } catch (err) {
    await installer.abort();
    throw err;
  }
  return installer;
}

/** Swaps the received state in, with the member list it came with (as of its applied index); false if the local state is already as new. */
export function finishSnapshot(installer: SnapshotInstaller, incoming: IncomingSnapshot): Promise<boolean> {
  return installer.finish(incoming.appliedIndex, { members: incoming.members, [MEMBERS_INDEX_KEY]: encodeIndex(incoming.appliedIndex) });
}
