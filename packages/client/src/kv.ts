// The key-value methods (put, get, delete, compare-and-swap,
// compare-and-delete, range, scan), written once and shared by the client
// and its sessions: a BellwetherClient is this with no session, a Session is
// this within one. Each builds its request (requests.ts), sends it through
// the client's Operations and converts the answer (results.ts).
import { type Bytes, toKey } from './bytes';
import type { Operations } from './operations';
import {
  checkLimit,
  type CompareAndSwapOptions,
  type DeleteOptions,
  type GetOptions,
  type PutOptions,
  type RangeOptions,
  type RangeSelector,
  type ScanOptions,
} from './options';
import { compareAndDeleteRequest, deleteRequest, putRequest, rangeRequest, swapRequest } from './requests';
import {
  type DeleteResult,
  type GetResult,
  type KeyValue,
  type PutResult,
  type RangePage,
  type SwapResult,
  toDeleteResult,
  toGetResult,
  toKeyValue,
  toPutResult,
  toRangePage,
  toSwapResult,
} from './results';
import type { SessionState } from './session';

/** Only the SDK's own modules hold this, so only they construct clients and sessions. */
export const CONSTRUCT: unique symbol = Symbol('bellwether.construct');

/**
 * The key-value calls of {@link BellwetherClient} and {@link Session}. On a
 * session, each call is made within it: its reads see at least what the
 * session wrote or read, and what it writes or reads raises its index.
 */
export abstract class KeyValueCalls {
  readonly #ops: Operations;
  readonly #session: SessionState | undefined;

  /** Not for applications: use {@link connect} or {@link BellwetherClient.session}. */
  protected constructor(ops: Operations, session: SessionState | undefined) {
    this.#ops = ops;
    this.#session = session;
  }

  /**
   * Stores `value` under `key`, on the leader, retried across failovers and
   * applied at most once. With `expectedModRevision` it is a compare-and-swap
   * whose mismatch yields `succeeded: false` (not an error).
   * @throws {@link InvalidArgument} for a bad key or option;
   * {@link OutcomeUnknown} when the deadline passed after an attempt that may
   * have been applied; {@link DeadlineExceeded} (not `OutcomeUnknown`) when it
   * passed and the write surely was not applied; {@link Cancelled} when the
   * signal fired or the client was closed; other `BellwetherError`s for
   * failures retrying cannot fix.
   */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    const { response, header } = await this.#ops.write('Put', putRequest(key, value, options), options, this.#session);
    return toPutResult(response, header);
  }

  /**
   * Reads one key under the client's (or this call's) read mode. A missing
   * key is not an error: the result has `found: false`. Through a
   * {@link Session}, read-your-writes sees that session's writes.
   */
  async get(key: Bytes, options: GetOptions = {}): Promise<GetResult> {
    const read = this.#ops.readSettings(options, this.#session);
    const request = { key: toKey(key), read: read.wire };
    const { response, header } = await this.#ops.read('Get', request, options, read, this.#session);
    return toGetResult(header, toKeyValue(response.kv));
  }

  /**
   * Deletes one key. Deleting a missing key succeeds with `deleted: 0`.
   * With `expectedModRevision`, a mismatch yields `succeeded: false`.
   * Retried and applied at most once, like {@link BellwetherClient.put}.
   */
  async delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteResult> {
    const { response, header } = await this.#ops.write('Delete', deleteRequest(key, options), options, this.#session);
    return toDeleteResult(response, header);
  }

  /**
   * Writes `value` only if the key's `modRevision` is `expectedModRevision`
   * (`0`: only if the key does not exist). A failed comparison is a normal
   * result, `{ succeeded: false, current }`, not an exception; a retry of the
   * same call cannot apply twice.
   */
  async compareAndSwap(key: Bytes, expectedModRevision: number, value: Bytes, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    const { response, header } = await this.#ops.write('Put', swapRequest(key, expectedModRevision, value), options, this.#session);
    return toSwapResult(response, header);
  }

  /**
   * Deletes the key only if its `modRevision` is `expectedModRevision`. A
   * failed comparison returns `{ succeeded: false, current }`.
   */
  async compareAndDelete(key: Bytes, expectedModRevision: number, options: CompareAndSwapOptions = {}): Promise<SwapResult> {
    const { response, header } = await this.#ops.write('Delete', compareAndDeleteRequest(key, expectedModRevision), options, this.#session);
    return toSwapResult(response, header);
  }

  /**
   * Reads one page of keys in byte order. Pass the page's `continuation` back
   * in `options.continuation` for the next one, or use
   * {@link BellwetherClient.scan} to iterate them all. A page ends at
   * `limit` keys or at the member's byte budget (`--max-range-reply-bytes`,
   * 3 MiB of keys and values by default), whichever comes first, and holds at
   * least one key; `more` is then true.
   */
  async range(selector: RangeSelector, options: RangeOptions = {}): Promise<RangePage> {
    const read = this.#ops.readSettings(options, this.#session);
    const request = rangeRequest(selector, options, read.wire);
    const { response, header } = await this.#ops.read('Range', request, options, read, this.#session);
    return toRangePage(response, header);
  }

  /**
   * Iterates every selected key, fetching pages as needed
   * (`for await (const kv of client.scan({ prefix: 'user/' }))`). Each page is
   * one call with its own deadline (`deadlineMs`); `signal` stops the whole
   * scan. Pages are read at the state each is served from, so a key written
   * during the scan may or may not appear.
   */
  async *scan(selector: RangeSelector, options: ScanOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    const pageSize = options.pageSize === undefined ? undefined : checkLimit(options.pageSize, 'pageSize');
    const total = options.limit === undefined ? Number.POSITIVE_INFINITY : checkLimit(options.limit, 'limit', Number.MAX_SAFE_INTEGER);
    let yielded = 0;
    let continuation: Uint8Array | undefined;
    while (yielded < total) {
      const remaining = total - yielded;
      const limit = pageSize === undefined ? (remaining < 1000 ? remaining : undefined) : Math.min(pageSize, remaining);
      const { pageSize: _p, limit: _l, ...rest } = options;
      const page = await this.range(selector, { ...rest, limit, continuation });
      for (const kv of page.kvs) {
        if (yielded >= total) return;
        yielded++;
        yield kv;
      }
      if (!page.more || !page.continuation) return;
      continuation = page.continuation;
    }
  }
}
