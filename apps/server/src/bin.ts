#!/usr/bin/env -S node --initial-old-space-size=256
import { ConfigError, DEFAULTS, startNode } from '@bellwether/node';
import { helpText, parseServeArgs } from './flags';
import { makeLogger } from './logger';
import { SERVER_NODE_FLAGS, startedWithServerFlags } from './node-flags';

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
  const logger = makeLogger(parsed.logLevel, parsed.logFormat);
  if (!startedWithServerFlags()) {
    logger.info({ flags: SERVER_NODE_FLAGS }, 'node was started without these flags (the bellwether binary passes them): large values cost about a third more CPU without them');
  }
  const node = await startNode(parsed.config, logger);
  let exitCode = 0;
  await new Promise<void>((resolve) => {
    // A node whose disk failed (e.g. full) exits non-zero so a supervisor can
    // restart it once the disk is fixed; it recovers from its log.
    node.replica.on('fatal', () => {
      exitCode = 1;
      node.stop().then(resolve, resolve);
    });
    let signalled = false;
    const shutdown = (signal: string) => {
      if (signalled) return;
      signalled = true;
      const graceMs = node.config.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs;
      logger.info({ signal, graceMs }, 'shutting down');
      // stop() keeps within the grace period by itself; this only guards against a bug in it.
      setTimeout(() => {
        logger.error({ graceMs }, 'shutdown did not finish within the grace period; exiting');
        process.exit(1);
      }, graceMs).unref();
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
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
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
