// The timing of the tracker's background work (tracker.ts): probes, the
// member-list refresh, moving the WatchLeader stream, and the bounds within
// which a client notices a dead or silent member.

/** Timing of the tracker's background work. */
export interface TrackerSettings {
  /** When set, every member is also probed on this period (ms); undefined: probes only on events. */
  pollIntervalMs: number | undefined;
  /** A probe not answered within this many ms failed. */
  heartbeatTimeoutMs: number;
  /** A down member is probed again after this many ms, doubling up to {@link TrackerSettings.downProbeMaxMs}. */
  downProbeMinMs: number;
  downProbeMaxMs: number;
  /** Members safety poll every this many ms (the list is also re-read on every change notice). */
  refreshIntervalMs: number;
  /** Moving the WatchLeader stream after failures backs off from this ... */
  watchBackoffMinMs: number;
  /** ... doubling up to this. */
  watchBackoffMaxMs: number;
}

/**
 * The bound within which a client with default settings, idle or not,
 * notices that a member it is connected to died (the process exited or was
 * killed, so its connections close): the connection drop triggers a probe,
 * which is refused at once or, on a loaded host, fails within two probe
 * timeouts (2 x `heartbeatTimeoutMs`, 1 s by default). Normally milliseconds;
 * the bound leaves room for a busy machine.
 */
export const DEAD_MEMBER_NOTICE_MS = 5_000;

/**
 * The bound within which a client with default settings notices a member
 * that went silent with its connection open (SIGSTOP, a partition, a hung
 * host): the keepalive PING goes unanswered (10 s + 10 s: a generous PING
 * timeout, so that a member merely slowed by a burst of work is not cut off),
 * the connection is closed, and the probes that follow time out twice
 * (2 x 1 s): 22 s, plus slack for a busy machine. A call to that member notices sooner: its
 * attempt times out (`attemptTimeoutMs`) and the member is probed.
 */
export const SILENT_MEMBER_NOTICE_MS = 30_000;

/** A down member is probed again after at most this long (the back-off's ceiling). */
const DOWN_PROBE_MAX_MS = 30_000;

/** The tracker's timing from the client's options (`pollIntervalMs` undefined: probes on events only). */
export function trackerSettings(pollIntervalMs: number | undefined, heartbeatTimeoutMs: number, refreshIntervalMs: number): TrackerSettings {
  return {
    pollIntervalMs,
    heartbeatTimeoutMs,
    downProbeMinMs: pollIntervalMs ?? 1000,
    downProbeMaxMs: Math.max(DOWN_PROBE_MAX_MS, pollIntervalMs ?? 0),
    refreshIntervalMs,
    watchBackoffMinMs: 100,
    watchBackoffMaxMs: 5000,
  };
}
