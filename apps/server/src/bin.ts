#!/usr/bin/env node
import { ConfigError, startNode } from '@bellwether/node';
import pino from 'pino';
import { helpText, parseServeArgs } from './flags';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(helpText());
    return command ? 0 : 2;
  }
  if (command !== 'serve') {
    console.error(`bellwether: unknown command "${command}"; try: bellwether serve --help`);
    return 2;
  }
  const parsed = parseServeArgs(rest, process.env);
  if (parsed === 'help') {
    console.log(helpText());
    return 0;
  }
  const logger = pino({ name: 'bellwether', level: parsed.logLevel });
  const node = await startNode(parsed.config, logger);
  let exitCode = 0;
  await new Promise<void>((resolve) => {
    // A node whose disk failed (e.g. full) exits non-zero so a supervisor can
    // restart it once the disk is fixed; it recovers from its log.
    node.replica.on('fatal', () => {
      exitCode = 1;
      node.stop().then(resolve, resolve);
    });
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      node.stop().then(resolve, (err: Error) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    // Certificates rotate without a restart; a file that cannot be read keeps the current ones.
    process.on('SIGHUP', () => {
      try {
        node.reloadCertificates();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'TLS certificates not reloaded; keeping the current ones');
      }
    });
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`bellwether: ${err.message}`);
      process.exit(2);
    }
    console.error('bellwether: fatal:', err);
    process.exit(1);
  },
);
