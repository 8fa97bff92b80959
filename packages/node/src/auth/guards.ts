import type { ServiceDefinition } from '@grpc/grpc-js';
import type { WatchCreateRequest__Output } from '@bellwether/proto';
import { prefixEnd } from '@bellwether/store';
import { toServiceError } from '../errors';
import type { KvOps } from '../kv-service';
import type { Authorizer, CallCredentials, Principal } from './authorizer';

/**
 * KV operations that check, on each one, who the call speaks for and whether
 * its user may touch the keys. The caller is identified on first use and,
 * for a KV.Stream, kept for the stream's life (the stream authenticated when
 * it started); its user is re-checked on every call, so deleting it or
 * changing its password stops the stream's next call.
 *
 * Writes are checked before they are proposed. Reads are checked after the
 * member has waited for the read's index (and before anything is returned),
 * so a follower judges them by users and roles at least as new as the
 * writes the caller has seen, not by a state from before a grant.
 */
export function guardKvOps(ops: KvOps, auth: Authorizer, call: CallCredentials, oneCall = false): KvOps {
  // A unary call that starts while auth is off is not checked (who() below
  // would say so at its start): no per-call wrapper then.
  if (oneCall && !auth.enabled) return ops;
  let principal: Principal | undefined;
  const who = (): Principal | undefined => {
    if (!auth.enabled) return undefined;
    principal ??= auth.identify(call, false);
    return principal;
  };
  return {
    async put(r, budgetMs) {
      const p = who();
      if (p) {
        auth.recheck(p);
        auth.checkKey(p, r.key, 'write');
      }
      return ops.put(r, budgetMs);
    },
    async delete(r, budgetMs) {
      const p = who();
      if (p) {
        auth.recheck(p);
        auth.checkKey(p, r.key, 'write');
      }
      return ops.delete(r, budgetMs);
    },
    async get(r, budgetMs, gate) {
      const p = who();
      const res = await ops.get(r, budgetMs, gate);
      if (p) {
        auth.recheck(p);
        auth.checkKey(p, r.key, 'read');
      }
      return res;
    },
    async txn(r) {
      const p = who();
      if (p) {
        auth.recheck(p);
        // Every key a transaction compares or touches, in either branch.
        for (const c of r.compare) auth.checkKey(p, c.key, 'read');
        for (const op of [...r.success, ...r.failure]) {
          if (op.put) auth.checkKey(p, op.put.key, 'write');
          else if (op.delete) auth.checkKey(p, op.delete.key, 'write');
          else if (op.get) auth.checkKey(p, op.get.key, 'read');
          else if (op.range) checkRangeRequest(auth, p, op.range);
        }
      }
      return ops.txn(r);
    },
    async range(r, budgetMs, gate) {
      const p = who();
      const res = await ops.range(r, budgetMs, gate);
      if (p) {
        auth.recheck(p);
        checkRangeRequest(auth, p, r);
      }
      return res;
    },
  };
}

/** The whole range as asked, not a page: a page must not come from a range the user may not read. */
function checkRangeRequest(auth: Authorizer, p: Principal, r: { prefix: Buffer; start: Buffer; end: Buffer }): void {
  const start = r.prefix.length > 0 ? r.prefix : r.start;
  const end = r.prefix.length > 0 ? prefixEnd(r.prefix) : r.end.length > 0 ? r.end : undefined;
  auth.checkRange(p, start, end, 'read');
}

/** Watches need READ on every key they select (one key, a prefix, or [key, range_end); "\0" = every key from key on). */
export function guardWatch(auth: Authorizer, call: CallCredentials): (r: WatchCreateRequest__Output) => void {
  let principal: Principal | undefined;
  return (r) => {
    if (!auth.enabled) return;
    if (principal) auth.recheck(principal);
    else principal = auth.identify(call);
    if (r.prefix.length > 0) auth.checkRange(principal, r.prefix, prefixEnd(r.prefix), 'read');
    else if (r.rangeEnd.length === 0) auth.checkKey(principal, r.key, 'read');
    else auth.checkRange(principal, r.key, r.rangeEnd.length === 1 && r.rangeEnd[0] === 0 ? undefined : r.rangeEnd, 'read');
  };
}

/** Who may call a method once auth is enabled: anyone, any authenticated user, or root only. */
export type Need = 'anyone' | 'user' | 'root';

type AnyCall = CallCredentials & { emit?(event: string, ...args: unknown[]): boolean };
type Handler = (call: AnyCall, callback?: (err: unknown) => void) => void;

/**
 * Wraps every handler of a service so a call is refused (UNAUTHENTICATED /
 * PERMISSION_DENIED) before it runs when its caller may not make it.
 * Methods missing from `needs` are root only, so a method added later is
 * closed until someone opens it.
 */
export function guardService<H extends object>(definition: ServiceDefinition, handlers: H, auth: Authorizer, needs: Record<string, Need>): H {
  const out: Record<string, Handler> = {};
  for (const [method, handler] of Object.entries(handlers) as [string, Handler][]) {
    const need = needs[method] ?? 'root';
    const unaryResponse = !definition[method]?.responseStream;
    out[method] = (call, callback) => {
      if (need !== 'anyone' && auth.enabled) {
        try {
          const p = auth.identify(call);
          if (need === 'root') auth.requireRoot(p);
        } catch (err) {
          const e = toServiceError(err);
          if (unaryResponse && callback) callback(e);
          else call.emit?.('error', e);
          return;
        }
      }
      handler(call, callback);
    };
  }
  return out as H;
}
