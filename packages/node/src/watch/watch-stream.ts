// The KV.Watch handler: one bidirectional stream on which the client creates
// and cancels watches. Every response goes through one sink that respects
// the stream's backpressure; watchers resume when it drains.
import type { WatchCreateRequest__Output, WatchRequest__Output, WatchResponse } from '@bellwether/proto';
import { prefixEnd } from '@bellwether/store';
import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import { invalidArgument, resourceExhausted, RpcError, toRpcError } from '../errors';
import { header, type KvContext } from '../kv-service';
import { awaitReadable } from '../reads';
import { checkKey, checkRevision, parseRead } from '../validate';
import type { WatchHub } from './hub';
import { type WatchSink, Watcher, type WatchSpec } from './watcher';

/** Watches on one stream at once. */
export const MAX_WATCHES_PER_STREAM = 1000;

function parseSpec(r: WatchCreateRequest__Output, id: number, ctx: KvContext): WatchSpec {
  const { limits } = ctx;
  let start: Buffer;
  let end: Buffer | undefined;
  if (r.prefix.length > 0) {
    if (r.key.length > 0 || r.rangeEnd.length > 0) throw invalidArgument('watch: give either prefix or key/range_end, not both');
    checkKey('prefix', r.prefix, limits);
    start = r.prefix;
    end = prefixEnd(r.prefix);
  } else {
    checkKey('key', r.key, limits);
    start = r.key;
    if (r.rangeEnd.length === 0) end = Buffer.concat([r.key, Buffer.from([0])]);
    else if (r.rangeEnd.length === 1 && r.rangeEnd[0] === 0) end = undefined;
    else {
      if (r.rangeEnd.length > limits.maxKeyBytes) throw invalidArgument(`range_end: must be at most ${limits.maxKeyBytes} bytes, got ${r.rangeEnd.length}`);
      if (Buffer.compare(r.key, r.rangeEnd) >= 0) throw invalidArgument('watch: key must be less than range_end');
      end = r.rangeEnd;
    }
  }
  const filters = r.filters.map(String);
  for (const f of filters) if (f !== 'NOPUT' && f !== 'NODELETE') throw invalidArgument(`filters: unknown filter ${JSON.stringify(f)}; expected NOPUT or NODELETE`);
  return { id, start, end, noPut: filters.includes('NOPUT'), noDelete: filters.includes('NODELETE'), prevKv: r.prevKv, progressNotify: r.progressNotify };
}

/** Per stream: a check each watch must pass before it is created (it throws an RpcError, e.g. PERMISSION_DENIED). */
export type WatchGuard = (stream: ServerDuplexStream<WatchRequest__Output, WatchResponse>) => (r: WatchCreateRequest__Output) => void;

export function watchHandler(ctx: KvContext, hub: WatchHub, guard?: WatchGuard) {
  return (stream: ServerDuplexStream<WatchRequest__Output, WatchResponse>) => {
    const allowed = guard?.(stream);
    const watchers = new Map<number, Watcher>();
    /** Ids given out or being created. */
    const taken = new Set<number>();
    let nextId = 1;
    let open = true;
    let blocked = false;
    const sink: WatchSink = {
      send(response) {
        if (!open) return false;
        const ok = stream.write(response);
        if (!ok && !blocked) {
          blocked = true;
          stream.once('drain', () => {
            blocked = false;
            for (const w of watchers.values()) w.pump();
          });
        }
        return ok;
      },
      get blocked() {
        return blocked || !open;
      },
      header: (revision) => header(ctx, revision),
    };
    const refuse = (watchId: number, reason: string, code: status, compactRevision = 0) =>
      sink.send({ header: header(ctx), watchId, created: false, canceled: true, cancelReason: reason, cancelCode: code, compactRevision });

    const create = async (r: WatchCreateRequest__Output) => {
      const wanted = Number(r.watchId);
      if (wanted < 0 || taken.has(wanted)) {
        refuse(wanted, `watch_id: ${wanted} is ${wanted < 0 ? 'negative' : 'already in use on this stream'}`, status.INVALID_ARGUMENT);
        return;
      }
      while (taken.has(nextId)) nextId++;
      const id = wanted > 0 ? wanted : nextId++;
      taken.add(id);
      try {
        if (watchers.size >= MAX_WATCHES_PER_STREAM) throw resourceExhausted(`at most ${MAX_WATCHES_PER_STREAM} watches per stream; cancel some or open another stream`);
        if (hub.size >= hub.limits.maxWatches) throw resourceExhausted(`member ${ctx.replica.memberId} serves ${hub.limits.maxWatches} watches already; try another member`);
        const spec = parseSpec(r, id, ctx);
        allowed?.(r);
        const startRevision = Number(r.startRevision);
        checkRevision('start_revision', startRevision);
        await awaitReadable(ctx.replica, parseRead(r.read), ctx.reads.maxReadWaitMs, ctx.reads);
        if (!open) return;
        const history = hub.history;
        // "From now": after every change this member has put in its history.
        const cursor = startRevision === 0 ? history.appliedTo + 1 : startRevision;
        if (cursor <= history.compactRevision) {
          taken.delete(id);
          refuse(
            id,
            `start_revision ${startRevision} is compacted: this member's watch history starts after revision ${history.compactRevision}; re-read and watch from after the read's revision`,
            status.OUT_OF_RANGE,
            history.compactRevision,
          );
          return;
        }
        const w = new Watcher(spec, cursor, history, sink, hub.limits, (gone) => {
          watchers.delete(gone.spec.id);
          taken.delete(gone.spec.id);
          hub.remove(gone);
        });
        watchers.set(id, w);
        hub.add(w);
        sink.send({ header: header(ctx, cursor - 1), watchId: id, created: true });
        w.pump();
      } catch (thrown) {
        taken.delete(id);
        const err = toRpcError(thrown);
        refuse(id, err instanceof Error ? err.message : String(err), err instanceof RpcError ? err.code : status.INTERNAL);
      }
    };

    const progress = () => {
      for (const w of watchers.values()) w.pump();
      let upTo = hub.history.appliedTo;
      for (const w of watchers.values()) upTo = Math.min(upTo, w.cursor - 1);
      sink.send({ header: header(ctx, upTo), watchId: -1 });
    };

    const timer = setInterval(() => {
      for (const w of watchers.values()) {
        if (w.spec.progressNotify && !w.sentSinceProgress && w.caughtUp && !blocked) {
          sink.send({ header: header(ctx, hub.history.appliedTo), watchId: w.spec.id });
        }
        w.sentSinceProgress = false;
      }
    }, hub.limits.progressIntervalMs);
    timer.unref();

    stream.on('data', (req: WatchRequest__Output) => {
      if (req.createRequest) void create(req.createRequest);
      else if (req.cancelRequest) {
        const w = watchers.get(Number(req.cancelRequest.watchId));
        if (w) w.cancel('canceled by the client', status.CANCELLED);
        else refuse(Number(req.cancelRequest.watchId), `watch_id ${req.cancelRequest.watchId}: no such watch on this stream`, status.INVALID_ARGUMENT);
      } else if (req.progressRequest) progress();
    });
    const close = () => {
      if (!open) return;
      open = false;
      clearInterval(timer);
      for (const w of [...watchers.values()]) {
        w.canceled = true;
        hub.remove(w);
      }
      watchers.clear();
    };
    stream.on('end', () => {
      close();
      stream.end();
    });
    stream.on('cancelled', close);
    stream.on('error', close);
    stream.on('close', close);
  };
}
