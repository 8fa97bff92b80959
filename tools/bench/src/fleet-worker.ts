// One load-generator process of `pnpm bench:fleet`: it holds a share of the
// fleet's SDK clients (each with its own connections, as if it were its own
// application process) and does what the coordinator (fleet.ts) asks over
// the IPC channel: connect, stay idle, run a low rate of puts and gets,
// report memory, connections, streams and latencies.
import type { BellwetherClient, ClientOptions } from '@bellwether/client';
import * as grpc from '@grpc/grpc-js';
import type { FleetReply, FleetRequest, PutSample, StreamCount } from './fleet-protocol';
import { sleep } from './util';

interface Fleet {
  clients: BellwetherClient[];
  prefix: string;
  worker: number;
}

// Source-mapped stack traces (enabled by the TypeScript loader) cost
// milliseconds per error; a fleet's clients see thousands of cancelled calls.
process.setSourceMapsEnabled(false);

let fleet: Fleet | undefined;
let load: { stop: () => Promise<void> } | undefined;
const puts: PutSample[] = [];
const getLatenciesMs: number[] = [];
/** Each client's next put sequence, kept across load phases so every key is written once. */
const nextSeq: number[] = [];
let errors = 0;
const errorKinds = new Map<string, number>();

function send(reply: FleetReply): void {
  process.send?.(reply);
}

function memory(): { rssBytes: number; heapUsedBytes: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed };
}

async function start(req: Extract<FleetRequest, { type: 'start' }>): Promise<void> {
  // --sdk compares another build of the SDK (e.g. an older one) under the same load.
  const sdk = (await import(req.sdk ?? '@bellwether/client')) as { connect(o: ClientOptions): Promise<BellwetherClient> };
  const connect = sdk.connect;
  const before = memory();
  const clients: BellwetherClient[] = [];
  const started = performance.now();
  for (let i = 0; i < req.clients; i++) {
    // Application processes start one by one, not in the same millisecond.
    if (i > 0 && req.connectIntervalMs > 0) await sleep(req.connectIntervalMs);
    const client = await connect({
      endpoints: req.endpoints,
      clientId: `fleet-${req.runId}-${req.worker}-${i}`,
      // Each client is one application process: no connection sharing between them.
      channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
    });
    clients.push(client);
  }
  fleet = { clients, prefix: `fleet/${req.runId}/${req.worker}-`, worker: req.worker };
  // Every client is known to the cluster: one write each, spread over a second
  // (a failure is counted, not fatal: an overloaded cluster is a result too).
  let helloErrors = 0;
  const helloErrorSamples: string[] = [];
  await Promise.all(
    clients.map(async (c, i) => {
      await sleep(Math.random() * 1000);
      await c.put(`${fleet!.prefix}${i}/hello`, 'x', { deadlineMs: 60_000 }).catch((err: Error) => {
        helloErrors++;
        if (helloErrorSamples.length < 3) helloErrorSamples.push(`${err.name}: ${err.message}`);
      });
    }),
  );
  const connectMs = performance.now() - started;
  await sleep(req.settleMs);
  send({ type: 'ready', worker: req.worker, memBefore: before, memAfter: memory(), connectMs, helloErrors, helloErrorSamples });
}

/** Each client: `putsPerSecond` puts and `getsPerSecond` gets, evenly spaced, random phase, open loop. */
function startLoad(putsPerSecond: number, getsPerSecond: number, warmupMs: number): void {
  const f = fleet;
  if (!f) throw new Error('load before start');
  const perSecond = putsPerSecond + getsPerSecond;
  if (perSecond === 0) return;
  // The share of a client's calls that are puts (fractional rates too: 0.1 puts and 1 get per second is 1 in 11).
  const putShare = putsPerSecond / perSecond;
  // Calls started before this are the warm-up (clients open connections to members they had not used).
  const measureFrom = performance.now() + warmupMs;
  const intervalMs = 1000 / perSecond;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const fail = (err: unknown) => {
    errors++;
    const name = (err as Error).name ?? 'Error';
    errorKinds.set(name, (errorKinds.get(name) ?? 0) + 1);
  };
  const timers = f.clients.map((client, c) => {
    let putCredit = Math.random();
    let lastKey = `${f.prefix}${c}/hello`;
    const fire = () => {
      if (stopped) return;
      putCredit += putShare;
      const isPut = putCredit >= 1;
      if (isPut) putCredit -= 1;
      const startedAt = Date.now();
      const t0 = performance.now();
      if (isPut) {
        const seq = nextSeq[c] ?? 0;
        nextSeq[c] = seq + 1;
        const key = `${f.prefix}${c}/${seq}`;
        track(
          client.put(key, 'v').then(
            () => {
              lastKey = key;
              puts.push({ client: c, key, startedAt, endedAt: Date.now(), ms: performance.now() - t0, ...(t0 < measureFrom ? { warmup: true } : {}) });
            },
            fail,
          ),
        );
      } else {
        track(
          client.get(lastKey).then(() => {
            if (t0 >= measureFrom) getLatenciesMs.push(performance.now() - t0);
          }, fail),
        );
      }
    };
    // Random phase so the fleet's calls are spread, not synchronised.
    let timer: NodeJS.Timeout | undefined = setTimeout(() => {
      fire();
      timer = setInterval(fire, intervalMs);
    }, Math.random() * intervalMs);
    return () => {
      clearTimeout(timer);
      clearInterval(timer);
    };
  });
  load = {
    stop: async () => {
      stopped = true;
      for (const stop of timers) stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}

type Handler = (req: { request: Record<string, unknown> }, cb: (err: unknown, value?: unknown) => void) => void;
function channelz(method: string, request: Record<string, unknown>): Record<string, unknown> | undefined {
  const handler = (grpc.getChannelzHandlers() as unknown as Record<string, Handler>)[method]!;
  let out: Record<string, unknown> | undefined;
  handler({ request }, (err, value) => {
    if (!err) out = value as Record<string, unknown>;
  });
  return out;
}

/** Open connections and open streams of this process, by remote port (the member's client port), from grpc-js channelz. */
function streamCounts(): StreamCount[] {
  const byPort = new Map<number, StreamCount>();
  const seenSockets = new Set<string>();
  let start = 0;
  for (;;) {
    const page = channelz('GetTopChannels', { start_channel_id: start, max_results: 1000 }) as {
      channel: { ref: { channel_id: number }; subchannel_ref: { subchannel_id: number }[] }[];
      end: boolean;
    };
    if (!page) break;
    for (const ch of page.channel) {
      start = Math.max(start, Number(ch.ref.channel_id) + 1);
      for (const sref of ch.subchannel_ref) {
        const sub = channelz('GetSubchannel', { subchannel_id: sref.subchannel_id }) as
          | { subchannel: { socket_ref: { socket_id: number }[] } }
          | undefined;
        for (const so of sub?.subchannel.socket_ref ?? []) {
          const id = String(so.socket_id);
          if (seenSockets.has(id)) continue;
          seenSockets.add(id);
          const s = channelz('GetSocket', { socket_id: so.socket_id }) as
            | { socket: { remote: { tcpip_address?: { port: number } } | null; data: Record<string, number> } }
            | undefined;
          const port = s?.socket.remote?.tcpip_address?.port;
          if (!s || port === undefined) continue;
          const d = s.socket.data;
          const open = Number(d['streams_started']) - Number(d['streams_succeeded']) - Number(d['streams_failed']);
          const entry = byPort.get(port) ?? { port, connections: 0, streams: 0 };
          entry.connections++;
          entry.streams += Math.max(0, open);
          byPort.set(port, entry);
        }
      }
    }
    if (page.end || page.channel.length === 0) break;
  }
  return [...byPort.values()];
}

/**
 * Connections and long-lived streams per member as the SDK reports them
 * (`cluster().members[].connected/streams`); undefined for an SDK without
 * those fields (then channelz counts, which also count calls the client
 * cancelled whose end the server never confirmed).
 */
function sdkStreamCounts(): StreamCount[] | undefined {
  const byPort = new Map<number, StreamCount>();
  for (const client of fleet?.clients ?? []) {
    for (const m of client.cluster().members as readonly { address: string; connected?: boolean; streams?: number }[]) {
      if (m.streams === undefined) return undefined;
      const port = Number(m.address.split(':').pop());
      const e = byPort.get(port) ?? { port, connections: 0, streams: 0 };
      e.connections += m.connected ? 1 : 0;
      e.streams += m.streams;
      byPort.set(port, e);
    }
  }
  return [...byPort.values()];
}

async function handle(req: FleetRequest): Promise<void> {
  switch (req.type) {
    case 'start':
      await start(req);
      return;
    case 'stats': {
      const own = sdkStreamCounts();
      const cpu = process.cpuUsage();
      // No memory figure here: forcing a GC for one would be counted in the CPU window it opens.
      send({ type: 'stats', worker: fleet?.worker ?? -1, streams: own ?? streamCounts(), streamSource: own ? 'sdk' : 'channelz', cpuSeconds: (cpu.user + cpu.system) / 1e6 });
      return;
    }
    case 'load':
      puts.length = 0;
      getLatenciesMs.length = 0;
      errors = 0;
      errorKinds.clear();
      startLoad(req.putsPerSecond, req.getsPerSecond, req.warmupMs);
      send({ type: 'loading', worker: fleet?.worker ?? -1 });
      return;
    case 'stop-load':
      await load?.stop();
      load = undefined;
      send({
        type: 'loaded',
        worker: fleet?.worker ?? -1,
        puts: puts.splice(0),
        getLatenciesMs: getLatenciesMs.splice(0),
        errors,
        errorKinds: Object.fromEntries(errorKinds),
      });
      return;
    case 'close':
      await load?.stop();
      await Promise.all((fleet?.clients ?? []).map((c) => c.close()));
      send({ type: 'closed', worker: fleet?.worker ?? -1 });
      setImmediate(() => process.exit(0));
      return;
  }
}

process.on('message', (req: FleetRequest) => {
  handle(req).catch((err: unknown) => send({ type: 'error', worker: fleet?.worker ?? -1, message: String((err as Error).stack ?? err) }));
});
process.on('disconnect', () => process.exit(0));
