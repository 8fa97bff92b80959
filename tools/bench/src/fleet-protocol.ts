// Messages between the fleet benchmark's coordinator (fleet.ts) and its
// load-generator processes (fleet-worker.ts), over the IPC channel.

export interface Memory {
  rssBytes: number;
  heapUsedBytes: number;
}

/** One acknowledged put: which client, which key, and when (wall clock, so processes compare). */
export interface PutSample {
  client: number;
  key: string;
  startedAt: number;
  endedAt: number;
  ms: number;
  /** Started in the load's warm-up: read back, not in the latency figures. */
  warmup?: boolean;
}

/** Connections and open streams from one process to one member client port. */
export interface StreamCount {
  port: number;
  connections: number;
  streams: number;
}

export type FleetRequest =
  | { type: 'start'; worker: number; runId: string; endpoints: string[]; clients: number; settleMs: number; connectIntervalMs: number; sdk?: string }
  | { type: 'stats' }
  | { type: 'load'; putsPerSecond: number; getsPerSecond: number; warmupMs: number }
  | { type: 'stop-load' }
  | { type: 'close' };

export type FleetReply =
  | { type: 'ready'; worker: number; memBefore: Memory; memAfter: Memory; connectMs: number; helloErrors: number; helloErrorSamples: string[] }
  | { type: 'stats'; worker: number; streams: StreamCount[]; streamSource: 'sdk' | 'channelz'; cpuSeconds: number }
  | { type: 'loading'; worker: number }
  | { type: 'loaded'; worker: number; puts: PutSample[]; getLatenciesMs: number[]; errors: number; errorKinds: Record<string, number> }
  | { type: 'closed'; worker: number }
  | { type: 'error'; worker: number; message: string };
