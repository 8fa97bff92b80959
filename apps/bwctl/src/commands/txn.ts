import { type CompareOperator, cmp, op, type TxnCondition, type TxnOperation, type TxnOpResult } from '@bellwether/client';
import type { Command } from 'commander';
import { CliError, EXIT, globalOptions, withClient } from '../cli';
import { print } from '../output';

const COMPARE = /^(value|val|mod|version|create)\(\s*("(?:[^"\\]|\\.)*")\s*\)\s*(=|!=|<|>)\s*(.+)$/;
const TOKEN = /"((?:[^"\\]|\\.)*)"|(\S+)/g;

/** A quoted ("...", JSON escapes) or bare word. */
function unquote(s: string): string {
  return s.startsWith('"') ? (JSON.parse(s) as string) : s;
}

function words(line: string): string[] {
  return [...line.matchAll(TOKEN)].map((m) => (m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : m[2]!));
}

function integer(s: string, line: number): number {
  const n = Number(unquote(s.trim()));
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`txn line ${line}: "${s.trim()}" is not a revision or version number`, EXIT.usage);
  return n;
}

export function parseCompare(line: string, n: number): TxnCondition {
  const m = COMPARE.exec(line.trim());
  if (!m) throw new CliError(`txn line ${n}: "${line.trim()}" is not a comparison like value("k") = "v", mod("k") > 5, version("k") = 0 or create("k") = 0`, EXIT.usage);
  const [, target, quotedKey, operator, operand] = m as unknown as [string, string, string, CompareOperator, string];
  const key = JSON.parse(quotedKey) as string;
  switch (target) {
    case 'value':
    case 'val':
      return cmp.value(key, operator, unquote(operand.trim()));
    case 'mod':
      return cmp.modRevision(key, operator, integer(operand, n));
    case 'version':
      return cmp.version(key, operator, integer(operand, n));
    default:
      return cmp.createRevision(key, operator, integer(operand, n));
  }
}

export function parseOp(line: string, n: number): TxnOperation {
  const [verb, key, value, ...rest] = words(line.trim());
  const bad = () => new CliError(`txn line ${n}: "${line.trim()}" is not an operation like put KEY VALUE, del KEY or get KEY`, EXIT.usage);
  if (key === undefined || rest.length > 0) throw bad();
  if (verb === 'put' && value !== undefined) return op.put(key, value);
  if ((verb === 'del' || verb === 'delete') && value === undefined) return op.delete(key);
  if (verb === 'get' && value === undefined) return op.get(key);
  throw bad();
}

/**
 * Three sections, each ended by one empty line: comparisons, the operations
 * run when they all hold, the operations run otherwise. A line holding only
 * a comment is skipped (it ends nothing).
 */
export function parseTxn(input: string): { compares: TxnCondition[]; success: TxnOperation[]; failure: TxnOperation[] } {
  const sections: { line: number; text: string }[][] = [[]];
  input
    .replace(/\s+$/, '')
    .split('\n')
    .forEach((raw, i) => {
      if (/^\s*#/.test(raw)) return;
      const text = raw.trim();
      if (text === '') sections.push([]);
      else sections[sections.length - 1]!.push({ line: i + 1, text });
    });
  if (sections.length > 3) throw new CliError('txn: at most three sections (comparisons, then, else), each ended by one empty line', EXIT.usage);
  const [c = [], s = [], f = []] = sections;
  return { compares: c.map((l) => parseCompare(l.text, l.line)), success: s.map((l) => parseOp(l.text, l.line)), failure: f.map((l) => parseOp(l.text, l.line)) };
}

function describe(r: TxnOpResult): { op: string; key: string; result: string } {
  switch (r.type) {
    case 'put':
      return { op: 'put', key: '', result: 'ok' };
    case 'delete':
      return { op: 'del', key: '', result: `deleted ${r.deleted}` };
    case 'get':
      return { op: 'get', key: r.kv?.keyString ?? '', result: r.found ? (r.valueString ?? '') : '(not found)' };
    default:
      return { op: 'range', key: '', result: `${r.kvs.length} keys` };
  }
}

export function registerTxn(program: Command): void {
  program
    .command('txn')
    .description('an atomic transaction read from stdin: comparisons, an empty line, the operations if they all hold, an empty line, the operations otherwise')
    .addHelpText(
      'after',
      `
Input (from stdin; a line starting with # is a comment):
  # comparisons: value|mod|version|create("KEY") =|!=|<|> OPERAND
  mod("stock/42") = 17
  value("mode") = "active"

  # run when every comparison holds: put KEY VALUE | del KEY | get KEY
  put stock/42 16
  put "orders/9" "stock 42"

  # run otherwise
  get stock/42

Prints SUCCESS or FAILURE, the revision and one row per operation that ran.
Exits 0 either way (a failed comparison is an answer, not an error).`,
    )
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      if (process.stdin.isTTY) process.stderr.write('reading the transaction from stdin (Ctrl-D ends it)\n');
      let input = '';
      for await (const chunk of process.stdin) input += String(chunk);
      const t = parseTxn(input);
      const res = await withClient(g, (c) =>
        c
          .txn()
          .if(...t.compares)
          .then(...t.success)
          .else(...t.failure)
          .commit(),
      );
      const results = (res.results as readonly TxnOpResult[]).map(describe);
      print(
        g.output,
        { headers: [res.succeeded ? 'SUCCESS' : 'FAILURE', 'REVISION', 'RESULT'], rows: results.length > 0 ? results.map((r) => [r.op, res.revision, `${r.key ? `${r.key}: ` : ''}${r.result}`]) : [['(no operations)', res.revision, '']] },
        { succeeded: res.succeeded, revision: res.revision, results: res.results },
      );
    });
}
