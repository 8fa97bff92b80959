import type { ServiceDefinition } from '@grpc/grpc-js';
import { prefixEnd } from '@bellwether/store';
import { toServiceError } from '../errors';
import type { KvOps } from '../kv-service';
import type { Authorizer, CallCredentials, Principal } from './authorizer';

/**
 * KV operations that check, before each one, who the call speaks for and
 * whether its user may touch the keys. The caller is identified on first use
 * and, for a KV.Stream, kept for the stream's life (the stream authenticated
 * when it started); its user is re-checked on every call, so deleting it or
 * changing its password stops the stream's next call.
 */
export function guardKvOps(ops: KvOps, auth: Authorizer, call: CallCredentials): KvOps {
  let principal: Principal | undefined;
  const who = (): Principal | undefined => {
    if (!auth.enabled) return undefined;
    if (principal) auth.recheck(principal);
    else principal = auth.identify(call);
    return principal;
  };
  return {
    async put(r) {
      const p = who();
      if (p) auth.checkKey(p, r.key, 'write');
      return ops.put(r);
    },
    async delete(r) {
      const p = who();
      if (p) auth.checkKey(p, r.key, 'write');
      return ops.delete(r);
    },
    async get(r, budgetMs) {
      const p = who();
      if (p) auth.checkKey(p, r.key, 'read');
      return ops.get(r, budgetMs);
    },
    async range(r, budgetMs) {
      const p = who();
      if (p) {
        // Whole range as asked, before paging: a page must not be served from a range the user may not read.
        const start = r.prefix.length > 0 ? r.prefix : r.start;
        const end = r.prefix.length > 0 ? prefixEnd(r.prefix) : r.end.length > 0 ? r.end : undefined;
        auth.checkRange(p, start, end, 'read');
      }
      return ops.range(r, budgetMs);
    },
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
