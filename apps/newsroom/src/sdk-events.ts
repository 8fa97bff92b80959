// The SDK's view of the cluster changing (leader changes, members down or up),
// kept briefly so a slow write can be logged with what happened while it ran.
import type { BellwetherClient } from '@bellwether/client';

export interface SdkEvent {
  atMs: number;
  text: string;
}

const KEEP = 100;

export class SdkEventLog {
  readonly #events: SdkEvent[] = [];

  constructor(client: BellwetherClient) {
    client.on('leaderChange', (e) => this.#add(`leader ${e.leaderId ?? 'unknown'} (term ${e.term}, via ${e.reason})`));
    client.on('memberDown', (e) => this.#add(`member ${e.memberId ?? e.address} down: ${e.reason}`));
    client.on('memberUp', (e) => this.#add(`member ${e.memberId ?? e.address} up`));
  }

  /** What happened at or after `sinceMs`. */
  since(sinceMs: number): string[] {
    return this.#events.filter((e) => e.atMs >= sinceMs).map((e) => e.text);
  }

  #add(text: string): void {
    this.#events.push({ atMs: Date.now(), text });
    if (this.#events.length > KEEP) this.#events.shift();
  }
}
