/**
 * A follower's election clock stands still while its leader's connection is
 * open and the leader was heard within the grace, so a live leader whose
 * heartbeats come late (its loop starved by a storm of new clients on a busy
 * machine) is not deposed. A killed leader's connection closes at once: the
 * ticks held since its last message are counted then, and its followers
 * elect as soon as they would have without the grace.
 */
export class ConnectedLeaderGrace {
  /** Election ticks held back since the leader was last heard. */
  private held = 0;

  constructor(private readonly graceMs: number) {}

  /** The leader was heard from, or changed: its silence counts from now. */
  heard(): void {
    this.held = 0;
  }

  /**
   * How many Raft ticks one clock tick counts for: 0 while held, the held
   * ones too once the leader's connection closed within the grace.
   */
  ticks(following: boolean, silentMs: number, leaderConnected: () => boolean): number {
    if (this.graceMs > 0 && following && silentMs < this.graceMs) {
      if (leaderConnected()) {
        this.held++;
        return 0;
      }
      const n = this.held + 1;
      this.held = 0;
      return n;
    }
    // Past the grace the randomised timeout runs from now, so followers of a paused leader do not all campaign at once.
    this.held = 0;
    return 1;
  }
}
