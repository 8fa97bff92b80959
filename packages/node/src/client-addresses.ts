/**
 * Where each member serves clients, when peers talk on ports of their own:
 * the replicated membership holds peer addresses, and every peer call carries
 * the caller's client address, so a member can point clients at any member it
 * has heard from (leader hints, Members). A member always hears from its
 * leader; another one it has not heard from is contacted when its address is
 * first asked for, and is reported as "" (unknown) until it answers.
 */
export class ClientAddresses {
  private readonly byId = new Map<string, string>();
  /** Called when an unknown member's address is asked for, to contact it. */
  onUnknown: ((id: string) => void) | undefined;

  constructor(
    private readonly ownId: string,
    private own: string,
  ) {}

  /** This member's client address (set again once an ephemeral port is bound). */
  setOwn(address: string): void {
    this.own = address;
  }

  get ownAddress(): string {
    return this.own;
  }

  learn(id: string, address: string): void {
    if (id !== this.ownId) this.byId.set(id, address);
  }

  of(id: string): string {
    if (id === this.ownId) return this.own;
    const known = this.byId.get(id);
    if (known === undefined) this.onUnknown?.(id);
    return known ?? '';
  }
}
