/**
 * The project's one seeded PRNG (mulberry32), for deterministic runs: the raft
 * and node simulators, the chaos and fuzz tools and seeded tests draw every
 * random choice from it, and it can feed `RaftConfig.random`. The core itself
 * uses no randomness of its own.
 *
 * Seeds are replayed by users (`--seed`, `--start`), so the numbers a seed
 * produces are part of the contract: change nothing here that changes them.
 */
export class Rng {
  private state: number;

  /** `seed` is mixed with a constant first, so that neighbouring small seeds start far apart. */
  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  /** A generator that starts from `state` as given, unmixed (the streams of the chaos and fuzz tools and of seeded tests). */
  static fromState(state: number): Rng {
    const rng = new Rng(0);
    rng.state = state >>> 0;
    return rng;
  }

  /** 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`; draws nothing when `p` is 0 or less, so a disabled fault leaves the stream as it was. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks a key of `weights` with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** An independent stream, e.g. one per node, so adding a draw in one place does not reshuffle all others. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }

  /** An independent stream named by `label`, derived from this one's state without drawing from it. */
  derive(label: string): Rng {
    let h = this.state ^ 0x9e3779b9;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    return Rng.fromState(h);
  }
}
