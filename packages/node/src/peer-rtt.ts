/**
 * Heartbeat round trips to peers: the time from a heartbeat leaving for a
 * peer to the first heartbeat response from it. One probe per peer at a time,
 * so a lost heartbeat only delays the next sample (the next probe replaces it
 * after `staleMs`).
 */
export class RoundTripTracker {
  private readonly sentAtMs = new Map<string, number>();

  constructor(
    private readonly observe: (peer: string, seconds: number) => void,
    private readonly staleMs = 5000,
  ) {}

  sent(to: string, messages: readonly { type: string }[], now = performance.now()): void {
    const at = this.sentAtMs.get(to);
    if (at !== undefined && now - at < this.staleMs) return;
    if (messages.some((m) => m.type === 'heartbeat')) this.sentAtMs.set(to, now);
  }

  received(from: string, messages: readonly { type: string }[], now = performance.now()): void {
    const at = this.sentAtMs.get(from);
    if (at === undefined || !messages.some((m) => m.type === 'heartbeatResp')) return;
    this.sentAtMs.delete(from);
    this.observe(from, (now - at) / 1000);
  }
}
