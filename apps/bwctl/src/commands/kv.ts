import type { KeyValue, ReadMode, ReadOptions } from '@bellwether/client';
import { type Command, Option } from 'commander';
import { CliError, EXIT, globalOptions, positiveInt, withClient } from '../cli';
import { print } from '../output';

const READ_MODES: ReadMode[] = ['linearizable', 'read-your-writes', 'any-follower'];

/** The read-mode flags every read takes. */
function readFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--read-mode <mode>', 'how fresh the read must be').choices(READ_MODES).default('linearizable'))
    .option('--max-staleness-ms <ms>', 'any-follower: refuse a member that has not heard from a leader within this', positiveInt('--max-staleness-ms'));
}

function readOptions(o: { readMode: ReadMode; maxStalenessMs?: number }): ReadOptions {
  return { mode: o.readMode, ...(o.maxStalenessMs !== undefined ? { maxStalenessMs: o.maxStalenessMs } : {}) };
}

function kvJson(kv: KeyValue, keysOnly = false) {
  return {
    key: kv.keyString,
    ...(keysOnly ? {} : { value: kv.valueString }),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
  };
}

const KV_HEADERS = ['KEY', 'VALUE', 'CREATE REV', 'MOD REV', 'VERSION'];
const kvRow = (kv: KeyValue, keysOnly = false) => [kv.keyString, keysOnly ? '' : kv.valueString, kv.createRevision, kv.modRevision, kv.version];

/** Reads a value given as "-" from stdin. */
async function valueArg(value: string | undefined): Promise<string | Buffer> {
  if (value !== undefined && value !== '-') return value;
  if (process.stdin.isTTY) throw new CliError('put: give a VALUE, or pipe it on stdin with "-"', EXIT.usage);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function registerKv(program: Command): void {
  readFlags(program.command('get').description('read one key').argument('<key>', 'the key'))
    .option('--print-value-only', 'print just the value (for scripts)')
    .action(async (key: string, o: { readMode: ReadMode; maxStalenessMs?: number; printValueOnly?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const res = await withClient(g, (c) => c.get(key, readOptions(o)));
      if (!res.kv) throw new CliError(`key "${key}" not found (at revision ${res.header.revision})`, EXIT.notFound);
      if (o.printValueOnly) {
        process.stdout.write(`${res.kv.valueString}\n`);
        return;
      }
      print(g.output, { headers: KV_HEADERS, rows: [kvRow(res.kv)] }, { ...kvJson(res.kv), revision: res.header.revision, servedBy: res.header.memberId });
    });

  program
    .command('put')
    .description('write one key (VALUE "-" or none: read it from stdin)')
    .argument('<key>', 'the key')
    .argument('[value]', 'the value')
    .option('--prev-kv', 'also print the previous value')
    .option('--expected-mod-revision <rev>', 'write only if the key is at this revision (0: only if absent)', positiveInt('--expected-mod-revision', true))
    .option('--lease <id>', 'attach the key to this lease (see lease grant): it is deleted when the lease ends', positiveInt('--lease'))
    .action(async (key: string, value: string | undefined, o: { prevKv?: boolean; expectedModRevision?: number; lease?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const data = await valueArg(value);
      const options = {
        prevKv: o.prevKv === true,
        ...(o.expectedModRevision !== undefined ? { expectedModRevision: o.expectedModRevision } : {}),
        ...(o.lease !== undefined ? { lease: o.lease } : {}),
      };
      const res = await withClient(g, (c) => c.put(key, data, options));
      if (!res.succeeded) throw new CliError(`put "${key}": not written; the key is not at revision ${o.expectedModRevision}`);
      print(
        g.output,
        { headers: ['KEY', 'REVISION', ...(o.prevKv ? ['PREV VALUE'] : [])], rows: [[key, res.revision, ...(o.prevKv ? [res.prev?.valueString ?? '(none)'] : [])]] },
        { key, revision: res.revision, ...(o.prevKv ? { prev: res.prev ? kvJson(res.prev) : null } : {}) },
      );
    });

  program
    .command('del')
    .description('delete one key')
    .argument('<key>', 'the key')
    .option('--prev-kv', 'also print the deleted value')
    .option('--expected-mod-revision <rev>', 'delete only if the key is at this revision', positiveInt('--expected-mod-revision'))
    .action(async (key: string, o: { prevKv?: boolean; expectedModRevision?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const res = await withClient(g, (c) => c.delete(key, { prevKv: o.prevKv === true, ...(o.expectedModRevision !== undefined ? { expectedModRevision: o.expectedModRevision } : {}) }));
      if (!res.succeeded) throw new CliError(`del "${key}": not deleted; the key is not at revision ${o.expectedModRevision}`);
      print(
        g.output,
        { headers: ['KEY', 'DELETED', 'REVISION', ...(o.prevKv ? ['PREV VALUE'] : [])], rows: [[key, res.deleted, res.revision, ...(o.prevKv ? [res.prev?.valueString ?? '(none)'] : [])]] },
        { key, deleted: res.deleted, revision: res.revision, ...(o.prevKv ? { prev: res.prev ? kvJson(res.prev) : null } : {}) },
      );
    });

  readFlags(
    program
      .command('range')
      .description('list keys in byte order: by --prefix, or in [--from, --to)')
      .option('--prefix <prefix>', 'keys starting with this')
      .option('--from <key>', 'first key (inclusive)')
      .option('--to <key>', 'end key (exclusive; default: no end)')
      .option('--limit <n>', 'at most this many keys (default: all)', positiveInt('--limit'))
      .option('--keys-only', 'leave the values out'),
  ).action(async (o: { prefix?: string; from?: string; to?: string; limit?: number; keysOnly?: boolean; readMode: ReadMode; maxStalenessMs?: number }, cmd: Command) => {
    const g = globalOptions(cmd);
    if (o.prefix !== undefined && (o.from !== undefined || o.to !== undefined)) throw new CliError('range: give --prefix, or --from/--to, not both', EXIT.usage);
    if (o.prefix === undefined && o.from === undefined) throw new CliError('range: give --prefix P, or --from A [--to B] (--from "" lists every key)', EXIT.usage);
    const selector = o.prefix !== undefined ? { prefix: o.prefix } : { start: o.from ?? '', ...(o.to !== undefined ? { end: o.to } : {}) };
    const kvs = await withClient(g, async (c) => {
      const out: KeyValue[] = [];
      for await (const kv of c.scan(selector, { ...readOptions(o), keysOnly: o.keysOnly === true, ...(o.limit !== undefined ? { limit: o.limit } : {}) })) out.push(kv);
      return out;
    });
    const keysOnly = o.keysOnly === true;
    print(g.output, { headers: KV_HEADERS, rows: kvs.map((kv) => kvRow(kv, keysOnly)) }, kvs.map((kv) => kvJson(kv, keysOnly)));
  });
}
