// Network faults without root: one TCP proxy per directed peer link.
//
// Node a dials peer b at `--peer-dial b=127.0.0.1:<port of proxy a>b>`, so
// every TCP connection a opens to b passes through the proxy for link a>b.
// Bellwether keeps one long-lived gRPC (HTTP/2) Replicate stream per pair and
// a member answers a peer on the stream that peer opened when there is one.
// So Raft messages from a to b travel on BOTH connections: as client bytes on
// a>b (a's own stream) and as server bytes on b>a (a's replies on the stream b
// opened). The faults below are defined on bytes, and each says what that
// means for messages:
//
// - partition, style `reject` (like a firewall REJECT): every connection
//   between the two sides is reset and new ones are refused at once. Both
//   sides notice quickly. Symmetric.
// - partition, style `blackhole` (like DROP): connections stay open but every
//   byte between the sides is discarded, new connections included; the sides
//   only notice by timeouts (Raft's election/check-quorum timers, HTTP/2
//   keepalive). Symmetric.
// - one-way a -/-> b: every byte a sends towards b is discarded, on both
//   connections (client bytes on a>b, server bytes on b>a); bytes from b to a
//   still flow. Honest caveat: HTTP/2 needs the other side's acknowledgements
//   and WINDOW_UPDATEs, so b -> a traffic also stalls once a flow-control
//   window fills or a keepalive ping goes unanswered (then the connection is
//   closed and a new one cannot complete its handshake). It is an asymmetric
//   fault, not a clean one-way message filter.
// - latency: bytes of a link direction are held for a fixed time (order kept).
//
// Healing a fault that discarded bytes resets the affected connections, since
// an HTTP/2 stream that lost bytes in the middle cannot continue; the nodes
// reconnect through the proxy. Clients are not proxied: they reach every node
// directly.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export type Direction = 'up' | 'down';

interface DirectionState {
  drop: boolean;
  delayMs: number;
}

interface Conn {
  client: Socket;
  server: Socket;
  /** Bytes were discarded: the HTTP/2 session is broken and must be reset on heal. */
  dirty: boolean;
  queues: Record<Direction, { due: number; chunk: Buffer }[]>;
  timers: Record<Direction, NodeJS.Timeout | undefined>;
}

export interface LinkStats {
  connections: number;
  refused: number;
  bytes: Record<Direction, number>;
  dropped: Record<Direction, number>;
}

/** The proxy of one directed link: connections opened by `from` to reach `to`. */
export class LinkProxy {
  readonly server: Server;
  port = 0;
  target: { host: string; port: number } | undefined;
  refuse = false;
  private readonly state: Record<Direction, DirectionState> = { up: { drop: false, delayMs: 0 }, down: { drop: false, delayMs: 0 } };
  private readonly conns = new Set<Conn>();
  readonly stats: LinkStats = { connections: 0, refused: 0, bytes: { up: 0, down: 0 }, dropped: { up: 0, down: 0 } };

  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  /** `up`: bytes from `from` (the dialer) to `to`; `down`: the replies. */
  set(direction: Direction, change: Partial<DirectionState>): void {
    Object.assign(this.state[direction], change);
  }

  get(direction: Direction): Readonly<DirectionState> {
    return this.state[direction];
  }

  /** Resets every open connection (both ends see a reset). */
  resetAll(): void {
    for (const c of [...this.conns]) this.destroy(c);
  }

  /** Resets the connections that lost bytes. */
  resetDirty(): void {
    for (const c of [...this.conns]) if (c.dirty) this.destroy(c);
  }

  get open(): number {
    return this.conns.size;
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    if (this.refuse || !this.target) {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    this.stats.connections++;
    const server = tcpConnect({ host: this.target.host, port: this.target.port });
    server.setNoDelay(true);
    const conn: Conn = { client, server, dirty: false, queues: { up: [], down: [] }, timers: { up: undefined, down: undefined } };
    this.conns.add(conn);
    client.on('data', (chunk: Buffer) => this.forward(conn, 'up', chunk));
    server.on('data', (chunk: Buffer) => this.forward(conn, 'down', chunk));
    const close = () => this.destroy(conn);
    client.on('error', close);
    server.on('error', close);
    client.on('close', close);
    server.on('close', close);
  }

  private forward(conn: Conn, direction: Direction, chunk: Buffer): void {
    const st = this.state[direction];
    if (st.drop) {
      this.stats.dropped[direction] += chunk.length;
      conn.dirty = true;
      return;
    }
    this.stats.bytes[direction] += chunk.length;
    const queue = conn.queues[direction];
    if (st.delayMs <= 0 && queue.length === 0) {
      this.write(conn, direction, chunk);
      return;
    }
    const last = queue[queue.length - 1];
    queue.push({ due: Math.max(Date.now() + st.delayMs, last?.due ?? 0), chunk });
    this.schedule(conn, direction);
  }

  private schedule(conn: Conn, direction: Direction): void {
    if (conn.timers[direction]) return;
    const queue = conn.queues[direction];
    const head = queue[0];
    if (!head) return;
    conn.timers[direction] = setTimeout(
      () => {
        conn.timers[direction] = undefined;
        const now = Date.now();
        while (queue.length > 0 && queue[0]!.due <= now) this.write(conn, direction, queue.shift()!.chunk);
        this.schedule(conn, direction);
      },
      Math.max(0, head.due - Date.now()),
    );
  }

  private write(conn: Conn, direction: Direction, chunk: Buffer): void {
    const [src, dst] = direction === 'up' ? [conn.client, conn.server] : [conn.server, conn.client];
    if (dst.destroyed) return;
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', () => src.resume());
    }
  }

  private destroy(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    for (const d of ['up', 'down'] as const) if (conn.timers[d]) clearTimeout(conn.timers[d]);
    conn.client.resetAndDestroy();
    conn.server.resetAndDestroy();
  }

  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function cut(l: LinkProxy, style: 'reject' | 'blackhole'): void {
  if (style === 'reject') {
    l.refuse = true;
    l.resetAll();
  } else {
    l.set('up', { drop: true });
    l.set('down', { drop: true });
  }
}

/** Every directed link between `ids`, and the faults as operations on them. */
export class Network {
  private readonly links = new Map<string, LinkProxy>();

  private constructor(readonly ids: string[]) {}

  static async create(ids: string[]): Promise<Network> {
    const net = new Network(ids);
    for (const a of ids) {
      for (const b of ids) {
        if (a === b) continue;
        const link = new LinkProxy(a, b);
        await link.listen();
        net.links.set(`${a}>${b}`, link);
      }
    }
    return net;
  }

  link(from: string, to: string): LinkProxy {
    const l = this.links.get(`${from}>${to}`);
    if (!l) throw new Error(`no link ${from}>${to}`);
    return l;
  }

  /** The `--peer-dial` flags that make node `id` reach every peer through its proxy. */
  dialArgs(id: string): string[] {
    const dial = this.ids.filter((p) => p !== id).map((p) => `${p}=127.0.0.1:${this.link(id, p).port}`);
    return ['--peer-dial', dial.join(',')];
  }

  /** Points every proxy at the real address of the node it leads to. */
  setTargets(addresses: ReadonlyMap<string, string>): void {
    for (const l of this.links.values()) {
      const address = addresses.get(l.to);
      if (!address) throw new Error(`no address for ${l.to}`);
      const i = address.lastIndexOf(':');
      l.target = { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
    }
  }

  /** Cuts every link between different groups; nodes in no group are cut from everyone. */
  partition(groups: string[][], style: 'reject' | 'blackhole'): void {
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const id of g) groupOf.set(id, i);
    });
    for (const l of this.links.values()) {
      const ga = groupOf.get(l.from);
      const gb = groupOf.get(l.to);
      if (ga !== undefined && ga === gb) continue;
      cut(l, style);
    }
  }

  /** Cuts only the links between a and b (both directions); others keep seeing both. */
  cutPair(a: string, b: string, style: 'reject' | 'blackhole'): void {
    cut(this.link(a, b), style);
    cut(this.link(b, a), style);
  }

  /** Discards every byte `from` sends towards `to` (see the file comment for what that does to b -> a). */
  oneWay(from: string, to: string): void {
    this.link(from, to).set('up', { drop: true });
    this.link(to, from).set('down', { drop: true });
  }

  /** Adds `delayMs` to both directions of the links between a and b. */
  latency(a: string, b: string, delayMs: number): void {
    for (const l of [this.link(a, b), this.link(b, a)]) {
      l.set('up', { delayMs });
      l.set('down', { delayMs });
    }
  }

  /** Removes every fault; connections that lost bytes are reset so the nodes reconnect cleanly. */
  heal(): void {
    for (const l of this.links.values()) {
      l.refuse = false;
      l.set('up', { drop: false, delayMs: 0 });
      l.set('down', { drop: false, delayMs: 0 });
      l.resetDirty();
    }
  }

  stats(): { link: string; stats: LinkStats }[] {
    return [...this.links.entries()].map(([link, l]) => ({ link, stats: l.stats }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.close()));
  }
}
