import { readFileSync } from 'node:fs';
import { type AuthOptions, BellwetherError, type BellwetherClient, connect, EndpointClient, type TlsOptions } from '@bellwether/client';
import type { Command } from 'commander';

/** Exit codes: what a script can tell apart. */
export const EXIT = {
  ok: 0,
  /** The operation failed (unreachable, refused, unhealthy, the bar was missed). */
  failed: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** `get` found no such key. */
  notFound: 3,
} as const;

/** A failure with its exit code and a message for stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export type OutputFormat = 'table' | 'json';

export interface GlobalOptions {
  endpoints: string[];
  output: OutputFormat;
  deadlineMs: number;
  tls?: TlsOptions;
  auth?: AuthOptions;
}

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`${flag} ${path}: ${(err as Error).message}`, EXIT.usage);
  }
}

export const DEFAULT_ENDPOINTS = '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003';

/** The global flags, checked, as seen from any subcommand. */
export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ endpoints: string; writeOut: OutputFormat; deadlineMs: number; cacert?: string; cert?: string; key?: string; user?: string }>();
  const endpoints = o.endpoints
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (endpoints.length === 0) throw new CliError('--endpoints: no endpoints given', EXIT.usage);
  for (const e of endpoints) {
    if (!/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(e)) throw new CliError(`--endpoints: "${e}" is not host:port`, EXIT.usage);
  }
  const ca = readPem('--cacert', o.cacert);
  const cert = readPem('--cert', o.cert);
  const key = readPem('--key', o.key);
  if ((cert === undefined) !== (key === undefined)) throw new CliError('--cert and --key go together (a client certificate and its key)', EXIT.usage);
  const tls = ca || cert ? { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) } : undefined;
  let auth: AuthOptions | undefined;
  if (o.user !== undefined) {
    const colon = o.user.indexOf(':');
    if (colon <= 0 || colon === o.user.length - 1) throw new CliError('--user: expected NAME:PASSWORD', EXIT.usage);
    auth = { username: o.user.slice(0, colon), password: o.user.slice(colon + 1) };
  }
  return { endpoints, output: o.writeOut, deadlineMs: o.deadlineMs, ...(tls ? { tls } : {}), ...(auth ? { auth } : {}) };
}

/** A commander argument parser for positive integers. */
export function positiveInt(flag: string, allowZero = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1)) throw new CliError(`${flag}: expected a ${allowZero ? 'non-negative' : 'positive'} integer, got "${value}"`, EXIT.usage);
    return n;
  };
}

/** Runs `fn` with an SDK client on the global endpoints, closing it afterwards. */
export async function withClient<T>(g: GlobalOptions, fn: (client: BellwetherClient) => Promise<T>): Promise<T> {
  const client = await connect({ endpoints: g.endpoints, deadlineMs: g.deadlineMs, ...(g.tls ? { tls: g.tls } : {}), ...(g.auth ? { auth: g.auth } : {}) });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** A direct client to one member, with the global TLS and user flags. */
export function endpointClient(g: GlobalOptions, address: string): EndpointClient {
  return new EndpointClient(address, { ...(g.tls ? { tls: g.tls } : {}), ...(g.auth ? { auth: g.auth } : {}) });
}

/** Runs `fn` with a direct client per endpoint, closing them afterwards. */
export async function withEndpoints<T>(g: GlobalOptions, addresses: string[], fn: (clients: EndpointClient[]) => Promise<T>): Promise<T> {
  const clients = addresses.map((a) => endpointClient(g, a));
  try {
    return await fn(clients);
  } finally {
    for (const c of clients) c.close();
  }
}

/** One line for stderr from any error. */
export function describeError(err: unknown): string {
  if (err instanceof BellwetherError) return `${err.message} (${err.codeName})`;
  return err instanceof Error ? err.message : String(err);
}
