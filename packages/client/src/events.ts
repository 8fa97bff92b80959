// The client's events: who listens to what, and the tracker's news turned
// into the public events (leaderChange, memberUp, memberDown).
import { InvalidArgument } from './errors';
import type { LeaderChangeEvent, MemberEvent } from './results';
import type { ClusterTracker, TrackerEvent } from './tracker';

/** The events of {@link BellwetherClient.on}, and what each listener receives. */
export interface ClientEventMap {
  /** The leader (or the term) changed; `leaderId` is `undefined` while none is known. */
  leaderChange: LeaderChangeEvent;
  /** A member answered again after being down, or for the first time. */
  memberUp: MemberEvent;
  /** A member stopped answering (refused connections, or probes unanswered). */
  memberDown: MemberEvent;
}

/** The name of an event of {@link BellwetherClient.on}. */
export type ClientEventName = keyof ClientEventMap;

/** A listener of event `E`. */
export type ClientEventListener<E extends ClientEventName> = (event: ClientEventMap[E]) => void;

const EVENTS: readonly ClientEventName[] = ['leaderChange', 'memberUp', 'memberDown'];

/** The listeners of one client. Dispatch runs inside the tracker's notification, which logs a listener that throws and carries on. */
export class ClientEvents {
  readonly #listeners = new Map<ClientEventName, Set<(event: never) => void>>();

  on<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): void {
    if (!EVENTS.includes(event)) {
      throw new InvalidArgument(`event: must be 'leaderChange', 'memberUp' or 'memberDown', got ${JSON.stringify(event)}`);
    }
    if (typeof listener !== 'function') throw new InvalidArgument('listener: must be a function');
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
  }

  off<E extends ClientEventName>(event: E, listener: ClientEventListener<E>): void {
    this.#listeners.get(event)?.delete(listener as (event: never) => void);
  }

  /** Forwards the tracker's news to the listeners as public events. */
  dispatch(e: TrackerEvent, tracker: ClusterTracker): void {
    if (e.type === 'leaderChange') {
      this.#emit('leaderChange', {
        leaderId: e.leader?.id,
        leaderAddress: e.leader?.address ?? (e.leader ? tracker.addressOf(e.leader.id) : undefined),
        term: e.leader?.term ?? tracker.term,
        previousLeaderId: e.previous?.id,
        reason: e.reason,
      });
    } else {
      this.#emit(e.type, { memberId: e.member.id, address: e.member.address, reason: e.reason });
    }
  }

  clear(): void {
    this.#listeners.clear();
  }

  #emit<E extends ClientEventName>(event: E, payload: ClientEventMap[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) (listener as ClientEventListener<E>)(payload);
  }
}
