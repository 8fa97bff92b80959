// Checker: transactions are atomic and isolated. Transfers move amounts
// between accounts in single transactions guarded by the accounts' mod
// revisions; every snapshot (all accounts read in one transaction, so at one
// revision) and the final read-back must add up to the starting total. A
// transaction applied in part, twice, or over a changed account breaks it.
import { type CheckerReport, type Violation, verdictOf } from './report';

export interface TransferLog {
  total: number;
  snapshots: { revision: number; balances: number[] }[];
  transfers: { ok: number; refused: number; failed: number };
  final: { revision: number; balances: number[] } | undefined;
  errors: string[];
}

export function checkTransfers(log: TransferLog): CheckerReport {
  const violations: Violation[] = [];
  const sum = (b: number[]) => b.reduce((a, x) => a + x, 0);
  for (const s of log.snapshots) {
    if (sum(s.balances) !== log.total) {
      violations.push({ key: 'acct/*', what: `the accounts at revision ${s.revision} add up to ${sum(s.balances)}, not ${log.total}: ${s.balances.join(' + ')}`, excerpt: [] });
    }
  }
  if (!log.final) violations.push({ key: 'acct/*', what: `the final read-back failed: ${log.errors.join('; ')}`, excerpt: [] });
  else if (sum(log.final.balances) !== log.total) {
    violations.push({ key: 'acct/*', what: `the final accounts add up to ${sum(log.final.balances)}, not ${log.total}`, excerpt: [] });
  }
  return {
    checker: 'transfers',
    property: 'transfers by transaction keep the accounts\' total in every snapshot and at the end (atomic, isolated transactions)',
    valid: verdictOf(violations),
    checked: `${log.snapshots.length} snapshots; transfers ${log.transfers.ok} applied, ${log.transfers.refused} refused (an account changed), ${log.transfers.failed} failed or unknown`,
    violations: violations.slice(0, 50),
    notes: [],
  };
}
