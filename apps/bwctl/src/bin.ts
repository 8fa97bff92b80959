#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { CliError, DEFAULT_ENDPOINTS, describeError, EXIT, positiveInt } from './cli';
import { registerCheckPerf } from './commands/check-perf';
import { registerCluster } from './commands/cluster';
import { registerKv } from './commands/kv';
import { registerLease } from './commands/lease';
import { registerSnapshot } from './commands/snapshot';
import { registerTxn } from './commands/txn';
import { registerWatch } from './commands/watch';

const VERSION: string = pkg.version;

function program(): Command {
  const p = new Command('bwctl')
    .description('Operate a Bellwether cluster: keys, watches, transactions, leases, members, endpoint status and health, a perf check, snapshots.')
    .version(VERSION)
    .addOption(new Option('--endpoints <list>', 'members to talk to, as host:port,...').env('BWCTL_ENDPOINTS').default(DEFAULT_ENDPOINTS))
    .addOption(new Option('-w, --write-out <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--deadline-ms <ms>', 'deadline of each call, retries included', positiveInt('--deadline-ms'), 5000)
    .option('--cacert <file>', 'TLS: verify the members with this CA certificate (PEM)')
    .option('--cert <file>', 'TLS: this client\'s certificate (PEM), for clusters run with --client-cert-auth')
    .option('--key <file>', 'TLS: the key of --cert (PEM)')
    .addOption(new Option('--user <name:password>', 'authenticate as this user (clusters with auth enabled)').env('BWCTL_USER'))
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 success; 1 the operation failed (unreachable, refused, unhealthy,
bar missed); 2 bad flags or arguments; 3 get found no such key.

Examples:
  bwctl --endpoints 127.0.0.1:7001,127.0.0.1:7002 endpoint status
  bwctl put greeting hello && bwctl get greeting --print-value-only
  bwctl snapshot save backup.bwsnap`,
    );
  registerKv(p);
  registerWatch(p);
  registerTxn(p);
  registerLease(p);
  registerCluster(p);
  registerCheckPerf(p);
  registerSnapshot(p);
  // Every (sub)command reports usage errors the same way, with its own --help.
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({ outputError: (str, write) => write(`bwctl: ${str.replace(/^error: /, '')}`) });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(p);
  return p;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here too, with code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`bwctl: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`bwctl: ${describeError(err)}\n`);
    return EXIT.failed;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
