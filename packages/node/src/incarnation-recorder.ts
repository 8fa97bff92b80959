import type { Logger } from 'pino';
import { encodeIncarnations } from './incarnation';
import type { MemberChanges } from './member-changes';
import type { Replica } from './replica';

/** How often the leader looks for members whose incarnation it can record. */
const RECORD_EVERY_MS = 100;

export interface IncarnationRecorderOptions {
  replica: Replica;
  changes: MemberChanges;
  /** This process's incarnation. */
  incarnation: string;
  /** The incarnation a peer presented recently on an admitted stream. */
  presentedIncarnation(id: string): string | undefined;
  log: Logger;
}

/**
 * On the leader: writes each member's incarnation into the replicated
 * membership (a `memberMetadata` conf entry) once it has heard from that
 * member, all found at once in one entry (see incarnation.ts for why).
 */
export class IncarnationRecorder {
  private recording = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: IncarnationRecorderOptions) {}

  /** Starts recording incarnations while this node leads; returns the stop function. */
  start(): () => void {
    this.timer = setInterval(() => void this.recordOnce(), RECORD_EVERY_MS);
    this.timer.unref();
    return () => clearInterval(this.timer);
  }

  private async recordOnce(): Promise<void> {
    if (this.recording || !this.opts.replica.isLeader) return;
    const self = this.opts.replica.memberId;
    // A member up but presenting no incarnation runs a version that predates
    // them and could not apply the record: upgrade every member first.
    if (this.opts.replica.memberList().some((m) => m.id !== self && this.opts.changes.isUp(m.id) && !this.opts.presentedIncarnation(m.id))) return;
    const found: Record<string, string> = {};
    for (const m of this.opts.replica.memberList()) {
      if (m.incarnation) continue;
      const presented = m.id === this.opts.replica.memberId ? this.opts.incarnation : this.opts.presentedIncarnation(m.id);
      if (presented) found[m.id] = presented;
    }
    if (Object.keys(found).length === 0) return;
    // The first record names every voter at once. A partial one would leave a
    // voter that was slow to start only heard, not counted, until its own
    // record commits: lose the leader in that gap and the other two members
    // could never elect anyone. Voters added later are learners first and are
    // recorded before they can be promoted.
    const members = this.opts.replica.memberList();
    if (!members.some((m) => m.incarnation) && members.some((m) => m.voter && !found[m.id])) return;
    this.recording = true;
    try {
      await this.opts.changes.propose({ kind: 'memberMetadata', nodeId: this.opts.replica.memberId, context: encodeIncarnations(found) });
      this.opts.log.info({ incarnations: found }, 'recorded member incarnations');
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'recording incarnations failed; will retry');
    } finally {
      this.recording = false;
    }
  }
}
