import type { WatchEvent, WatchSelector } from '@bellwether/client';
import type { Command } from 'commander';
import { CliError, EXIT, globalOptions, positiveInt, withClient } from '../cli';
import { text } from '../output';

function selectorOf(key: string | undefined, o: { prefix?: string; from?: string; to?: string }): WatchSelector {
  const given = [key !== undefined, o.prefix !== undefined, o.from !== undefined].filter(Boolean).length;
  if (given !== 1) throw new CliError('watch: give one of KEY, --prefix P, or --from A [--to B]', EXIT.usage);
  if (o.to !== undefined && o.from === undefined) throw new CliError('watch: --to needs --from', EXIT.usage);
  if (key !== undefined) return { key };
  if (o.prefix !== undefined) return { prefix: o.prefix };
  return { start: o.from!, ...(o.to !== undefined ? { end: o.to } : {}) };
}

function eventJson(e: WatchEvent) {
  return {
    type: e.type,
    key: e.kv.keyString,
    ...(e.type === 'put' ? { value: e.kv.valueString } : {}),
    revision: e.revision,
    ...(e.prev ? { prev: { value: e.prev.valueString, modRevision: e.prev.modRevision } } : {}),
  };
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('print every change to KEY, a --prefix or a --from/--to range as it happens (one line per event) until Ctrl-C or --count events')
    .argument('[key]', 'one key')
    .option('--prefix <prefix>', 'every key starting with this')
    .option('--from <key>', 'first key of a range (inclusive)')
    .option('--to <key>', 'end of the range (exclusive; default: no end)')
    .option('--rev <revision>', 'start from this revision (default: from now)', positiveInt('--rev'))
    .option('--prev-kv', 'also print each key\'s previous value')
    .option('--count <n>', 'stop after this many events', positiveInt('--count'))
    .action(async (key: string | undefined, o: { prefix?: string; from?: string; to?: string; rev?: number; prevKv?: boolean; count?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const selector = selectorOf(key, o);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await withClient(g, async (client) => {
          let seen = 0;
          for await (const e of client.watch(selector, { signal: stop.signal, prevKv: o.prevKv === true, ...(o.rev !== undefined ? { startRevision: o.rev } : {}) })) {
            if (g.output === 'json') process.stdout.write(`${JSON.stringify(eventJson(e))}\n`);
            else {
              const prev = o.prevKv && e.prev ? ` (was ${JSON.stringify(e.prev.valueString)})` : '';
              const value = e.type === 'put' ? ` ${JSON.stringify(text(e.kv.value))}` : '';
              process.stdout.write(`${e.type.toUpperCase()} ${JSON.stringify(e.kv.keyString)}${value} rev=${e.revision}${prev}\n`);
            }
            if (o.count !== undefined && ++seen >= o.count) break;
          }
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
