import { Violation } from './violation.js';

/** Election Safety (Raft §5.2): at most one leader can be elected in a given term. */
export class ElectionSafetyChecker {
  private readonly leaderOfTerm = new Map<number, string>();

  get termsWithLeader(): number {
    return this.leaderOfTerm.size;
  }

  onLeader(term: number, id: string): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) throw new Violation('election-safety', `two leaders in term ${term}: ${prev} and ${id}`);
    this.leaderOfTerm.set(term, id);
  }
}
