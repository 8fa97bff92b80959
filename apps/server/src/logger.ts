import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from './flags';

/**
 * The server's logger: JSON lines by default (for log collectors), or
 * `pretty` for a person at a terminal (one coloured line per record, time
 * first, fields after the message). Both write synchronously to stdout, so a
 * record logged just before a crash is not lost.
 */
export function makeLogger(level: string, format: LogFormat): Logger {
  const options = { name: 'bellwether', level };
  if (format === 'json') return pino(options);
  return pino(options, pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true }));
}
