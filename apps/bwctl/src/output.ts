import type { OutputFormat } from './cli';

/** Prints rows as an aligned text table, or the given JSON value. */
export function print(format: OutputFormat, table: { headers: string[]; rows: (string | number | undefined)[][] }, json: unknown): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const cells = [table.headers, ...table.rows.map((r) => r.map((c) => (c === undefined ? '' : cell(String(c)))))];
  const widths = table.headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const out = [rule, line(cells[0]!), rule, ...cells.slice(1).map(line), rule];
  process.stdout.write(`${out.join('\n')}\n`);
}

export function formatBytes(n: number | undefined): string | undefined {
  if (n === undefined) return undefined;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Bytes as text for a person (UTF-8; values are printed as stored). */
export function text(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** Control characters (a value's trailing newline, say) would break the table's lines: shown escaped. */
function cell(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
