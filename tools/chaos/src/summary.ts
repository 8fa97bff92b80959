import type { CheckerReport } from './checkers/index';
import { type FaultEvent, formatOp, type Op } from './history';
import type { ChaosResult } from './run';

function opRow(op: Op): string {
  if (op.workload === 'final') return 'final read (linearizable)';
  if (op.f === 'get') return `get ${op.mode} (${op.via === 'sdk' ? 'SDK-routed' : 'to a member'})`;
  return op.f;
}

/** The operations table: by kind and outcome. */
export function operationsTable(ops: readonly Op[]): string {
  const rows = new Map<string, { ok: number; fail: number; info: number; swapped: number }>();
  const order = ['put', 'cas'];
  for (const mode of ['linearizable', 'read-your-writes', 'any-follower']) order.push(`get ${mode} (to a member)`, `get ${mode} (SDK-routed)`);
  order.push('final read (linearizable)');
  for (const name of order) rows.set(name, { ok: 0, fail: 0, info: 0, swapped: 0 });
  for (const op of ops) {
    const row = rows.get(opRow(op))!;
    row[op.outcome]++;
    if (op.f === 'cas' && op.succeeded) row.swapped++;
  }
  const lines = [`  ${'kind'.padEnd(38)}${'ok'.padStart(8)}${'fail'.padStart(8)}${'info'.padStart(8)}`];
  for (const [name, r] of rows) {
    const extra = name === 'cas' ? `   (${r.swapped} swapped, ${r.ok - r.swapped} refused)` : '';
    lines.push(`  ${name.padEnd(38)}${String(r.ok).padStart(8)}${String(r.fail).padStart(8)}${String(r.info).padStart(8)}${extra}`);
  }
  return lines.join('\n');
}

export function formatSummary(result: ChaosResult, commandLine: string): string {
  const out: string[] = [];
  const o = result.options;
  out.push('');
  out.push(
    `bellwether chaos: seed ${result.seed}, ${result.workloadS.toFixed(0)} s of workload, faults ${o.faults.join(',') || 'none'}, ${o.nodes ?? 3} nodes, ${o.clients ?? 10} clients${o.unsafeFollowerReads ? ', nodes started with --unsafe-follower-linearizable-reads' : ''}`,
  );
  out.push(`operations: ${result.ops.length} on ${result.keys} keys`);
  out.push(operationsTable(result.ops));
  const faults = Object.entries(result.faultCounts).map(([k, n]) => `${k} ${n}`);
  out.push(`faults injected: ${faults.length > 0 ? faults.join(', ') : 'none'}`);
  out.push(formatVerdicts(result.reports, result.checkMs, result.faults));
  out.push('');
  if (result.historyPath) out.push(`history: ${result.historyPath}`);
  if (result.valid === false) out.push(`VIOLATION found with seed ${result.seed}; re-run: ${commandLine}`);
  else if (result.valid === 'unknown') out.push(`UNDECIDED (seed ${result.seed}): a checker could not decide; see the notes above`);
  else out.push(`no violation (seed ${result.seed})`);
  return out.join('\n');
}

/** Checker verdicts, then each violation with its excerpt. */
export function formatVerdicts(reports: readonly CheckerReport[], checkMs: number, faults: readonly FaultEvent[] = []): string {
  const out: string[] = [];
  out.push(`checkers (${checkMs} ms):`);
  for (const r of reports) {
    const verdict = r.valid === true ? 'PASS' : r.valid === false ? 'FAIL' : 'UNDECIDED';
    out.push(`  ${r.checker.padEnd(17)} ${verdict.padEnd(9)} ${r.checked}: ${r.property}`);
    for (const note of r.notes) out.push(`      note: ${note}`);
  }
  for (const r of reports) {
    if (r.violations.length === 0) continue;
    out.push('');
    const known = r.violations.filter((v) => v.knownIssue).length;
    out.push(
      `${r.checker}: ${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}${known > 0 ? ` (${known} explained by a known server bug)` : ''}${r.violations.length > 3 ? ' (the 3 shortest shown)' : ''}`,
    );
    // The shortest excerpts first: they are the easiest to read.
    for (const v of [...r.violations].sort((a, b) => a.excerpt.length - b.excerpt.length).slice(0, 3)) {
      out.push(`  ${v.key}: ${v.what}${v.knownIssue ? ` [known server bug: ${v.knownIssue}]` : ''}`);
      for (const op of v.excerpt) out.push(`    ${formatOp(op)}`);
      const during = faultsDuring(v.excerpt, faults);
      if (during.length > 0) out.push(`    faults in force meanwhile: ${during.join('; ')}`);
    }
  }
  return out.join('\n');
}

/** The faults that were in force at some point between the excerpt's first invocation and last completion. */
function faultsDuring(excerpt: readonly Op[], faults: readonly FaultEvent[]): string[] {
  if (excerpt.length === 0) return [];
  const from = Math.min(...excerpt.map((op) => op.invokeMs));
  const to = Math.max(...excerpt.map((op) => (op.outcome === 'info' ? op.invokeMs : op.completeMs)));
  const out: string[] = [];
  const open = new Map<string, FaultEvent>();
  const spans: { start: FaultEvent; endMs: number }[] = [];
  for (const f of faults) {
    if (f.action === 'start') open.set(f.kind, f);
    else {
      const start = open.get(f.kind);
      if (start) spans.push({ start, endMs: f.atMs });
      open.delete(f.kind);
    }
  }
  for (const start of open.values()) spans.push({ start, endMs: Number.POSITIVE_INFINITY });
  for (const { start, endMs } of spans) {
    if (start.atMs <= to && endMs >= from) out.push(`${start.kind} ${start.detail} [${start.atMs.toFixed(0)} → ${Number.isFinite(endMs) ? endMs.toFixed(0) : '…'} ms]`);
  }
  return out;
}
