import type { Rng } from '../src/rng.js';

/** Every fault kind the simulator can inject; a seed enables a random subset of the requested ones (swarm testing). */
export const FAULT_KINDS = ['drop', 'delay', 'duplicate', 'reorder', 'partition', 'oneway', 'isolateLeader', 'bridge', 'crash'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultPlan {
  dropProbability: number;
  duplicateProbability: number;
  /** Message latency is uniform in [1, delayTicksMax]. */
  delayTicksMax: number;
  /** Deliver messages due in the same tick in random order. */
  reorder: boolean;
  /** Partition kinds this seed cycles through. */
  partitionKinds: Array<'symmetric' | 'oneway' | 'isolateLeader' | 'bridge'>;
  /** Chance per tick that the partition changes (heals or takes a new shape). */
  partitionChangeProbability: number;
  /** Chance per tick that some running node crashes. */
  crashProbability: number;
  downTicksMax: number;
}

export function parseFaults(spec: string | undefined): FaultKind[] {
  if (spec === undefined || spec === 'all') return [...FAULT_KINDS];
  if (spec === 'none') return [];
  const kinds = spec.split(',').map((s) => s.trim());
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind ${k}; known: ${FAULT_KINDS.join(',')}`);
  return kinds as FaultKind[];
}

/** Picks this seed's faults: each allowed kind is on with probability 1/2 (at least one if any allowed), with random intensity. */
export function planFaults(rng: Rng, allowed: readonly FaultKind[]): { plan: FaultPlan; enabled: FaultKind[] } {
  let enabled = allowed.filter(() => rng.chance(0.5));
  if (enabled.length === 0 && allowed.length > 0) enabled = [rng.pick(allowed)];
  const on = (k: FaultKind) => enabled.includes(k);
  const partitionKinds: FaultPlan['partitionKinds'] = [];
  if (on('partition')) partitionKinds.push('symmetric');
  if (on('oneway')) partitionKinds.push('oneway');
  if (on('isolateLeader')) partitionKinds.push('isolateLeader');
  if (on('bridge')) partitionKinds.push('bridge');
  return {
    enabled,
    plan: {
      dropProbability: on('drop') ? rng.pick([0.01, 0.05, 0.1, 0.2]) : 0,
      duplicateProbability: on('duplicate') ? rng.pick([0.01, 0.05, 0.1]) : 0,
      delayTicksMax: on('delay') ? rng.int(2, 8) : 1,
      reorder: on('reorder'),
      partitionKinds,
      partitionChangeProbability: rng.pick([0.01, 0.03, 0.06]),
      crashProbability: on('crash') ? rng.pick([0.005, 0.01, 0.03]) : 0,
      downTicksMax: rng.int(5, 80),
    },
  };
}
