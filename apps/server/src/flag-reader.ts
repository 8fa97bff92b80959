// The command-line reader of `bellwether serve` and the bench commands, on
// node:util's parseArgs (the parser every command of the project uses):
// `--name value`, `--name=value`, a bare `--flag` for booleans, and messages
// that say which flag or argument is wrong.
import { parseArgs } from 'node:util';

export type FlagType = 'string' | 'boolean';

/** A command line that does not read; the message names the flag or argument at fault. */
export class FlagSyntaxError extends Error {
  constructor(
    message: string,
    readonly reason: 'unexpected-argument' | 'unknown-flag' | 'missing-value',
  ) {
    super(message);
  }
}

export interface ReadFlagsOptions {
  /** A lone `--`: skipped, as pnpm passes one through to scripts; or (the default) an unknown flag. */
  doubleDash?: 'skip' | 'unknown';
  /** Arguments that ask for help (e.g. `--help`, `-h`): reading stops at the first and returns 'help'. */
  help?: readonly string[];
}

/** One flag as given: its name and its value (`true` for a boolean flag without `=value`). */
export type FlagValue = [name: string, value: string | true];

/**
 * The flags of `argv`, in the order given (a flag given twice appears twice).
 * A string flag takes the next argument as its value, whatever it looks like.
 * Throws {@link FlagSyntaxError} for an argument that is not a flag, an
 * unknown flag, or a string flag without a value.
 */
export function readFlags(argv: readonly string[], types: Readonly<Record<string, FlagType>>, opts: ReadFlagsOptions = {}): FlagValue[] | 'help' {
  const options = Object.fromEntries(Object.entries(types).map(([name, type]) => [name, { type }]));
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const out: FlagValue[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      if (opts.doubleDash !== 'skip') throw new FlagSyntaxError('unknown flag --', 'unknown-flag');
      // parseArgs reads what follows `--` as positionals; read it as flags again.
      const rest = readFlags(argv.slice(token.index + 1), types, opts);
      return rest === 'help' ? rest : [...out, ...rest];
    }
    const raw = argv[token.index]!;
    if (opts.help?.includes(raw)) return 'help';
    if (token.kind === 'positional' || !raw.startsWith('--')) throw new FlagSyntaxError(`unexpected argument "${raw}"`, 'unexpected-argument');
    const type = Object.hasOwn(types, token.name) ? types[token.name] : undefined;
    if (type === undefined) {
      const eq = raw.indexOf('=');
      throw new FlagSyntaxError(`unknown flag --${eq > 0 ? raw.slice(2, eq) : raw.slice(2)}`, 'unknown-flag');
    }
    if (token.value !== undefined) out.push([token.name, token.value]);
    else if (type === 'boolean') out.push([token.name, true]);
    else throw new FlagSyntaxError(`--${token.name} needs a value`, 'missing-value');
  }
  return out;
}
