import type { Rng } from '@bellwether/raft';
import type { NetworkFaults } from './network';

/** How likely each fault is in one run, drawn per seed ("swarm testing": a random subset of faults). */
export interface FaultPlan extends NetworkFaults {
  partitionProbability: number;
  crashProbability: number;
  powerFailureProbability: number;
  transferProbability: number;
  membershipProbability: number;
}

/**
 * Fault kinds a run can switch off, to shrink a failing seed: `reorder`
 * keeps the minimum latency for every message, `disk` turns off full disks
 * and crashes during snapshot installs (the cluster's own disk faults).
 */
export const FAULT_KINDS = ['drop', 'duplicate', 'reorder', 'partition', 'crash', 'power', 'transfer', 'membership', 'disk'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function planFaults(rng: Rng): FaultPlan {
  return {
    dropProbability: rng.pick([0, 0.01, 0.05, 0.1]),
    duplicateProbability: rng.pick([0, 0.02]),
    delayMsMin: 1,
    delayMsMax: rng.pick([2, 10, 30]),
    snapshotTimeoutMs: 2000,
    partitionProbability: rng.pick([0, 0.02, 0.06]),
    crashProbability: rng.pick([0, 0.01, 0.03]),
    powerFailureProbability: rng.pick([0, 0.004, 0.01]),
    transferProbability: rng.pick([0, 0.02]),
    membershipProbability: rng.pick([0, 0.03]),
  };
}

/** The plan with the faults of `off` set to never happen (the plan is drawn first, so the other choices stay the seed's). */
export function withFaultsOff(plan: FaultPlan, off: readonly FaultKind[]): FaultPlan {
  const p = { ...plan };
  if (off.includes('drop')) p.dropProbability = 0;
  if (off.includes('duplicate')) p.duplicateProbability = 0;
  if (off.includes('reorder')) p.delayMsMax = p.delayMsMin;
  if (off.includes('partition')) p.partitionProbability = 0;
  if (off.includes('crash')) p.crashProbability = 0;
  if (off.includes('power')) p.powerFailureProbability = 0;
  if (off.includes('transfer')) p.transferProbability = 0;
  if (off.includes('membership')) p.membershipProbability = 0;
  return p;
}

/** The network and chaos kinds the plan can produce (`disk` depends on the cluster's own draw). */
export function plannedFaults(plan: FaultPlan): FaultKind[] {
  const on: Record<Exclude<FaultKind, 'disk'>, boolean> = {
    drop: plan.dropProbability > 0,
    duplicate: plan.duplicateProbability > 0,
    reorder: plan.delayMsMax > plan.delayMsMin,
    partition: plan.partitionProbability > 0,
    crash: plan.crashProbability > 0,
    power: plan.powerFailureProbability > 0,
    transfer: plan.transferProbability > 0,
    membership: plan.membershipProbability > 0,
  };
  return FAULT_KINDS.filter((k) => k !== 'disk' && on[k]);
}

export function parseFaultKinds(list: string): FaultKind[] {
  const kinds = list.split(',').filter((k) => k !== '');
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind ${k}; known: ${FAULT_KINDS.join(', ')}`);
  return kinds as FaultKind[];
}
