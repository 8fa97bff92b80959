import { type AuthClient, type AuthenticateResponse__Output, AUTHORIZATION_METADATA, loadPublicApi, unary } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';
import { type BellwetherError, fromGrpcError, InvalidArgument } from './errors';
import type { LogFn } from './tracker';

/** A user's name and password, for clusters with auth enabled. Never logged. */
export interface AuthOptions {
  username: string;
  password: string;
}

/** Refresh this far into a token's life, so calls never carry one about to expire. */
const REFRESH_AT_FRACTION = 0.8;
const AUTHENTICATE_DEADLINE_MS = 5000;

export function checkAuth(auth: unknown): AuthOptions | undefined {
  if (auth === undefined) return undefined;
  const a = auth as Partial<AuthOptions> | null;
  if (typeof a !== 'object' || a === null || typeof a.username !== 'string' || a.username === '' || typeof a.password !== 'string' || a.password === '') {
    throw new InvalidArgument('auth: must be { username, password } with non-empty strings');
  }
  return { username: a.username, password: a.password };
}

/**
 * Holds the client's token: authenticates (`Auth.Authenticate`, on any
 * endpoint that answers), refreshes before expiry and after a call is
 * refused UNAUTHENTICATED, and stamps every call with
 * `authorization: Bearer <token>` through a grpc interceptor. Calls made
 * while a token is being fetched wait for it.
 */
export class TokenSource {
  #token: string | undefined;
  #pending: Promise<string> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #clients: AuthClient[];

  constructor(
    endpoints: readonly string[],
    credentials: grpc.ChannelCredentials,
    channelOptions: grpc.ChannelOptions,
    private readonly auth: AuthOptions,
    private readonly log: LogFn,
  ) {
    const Auth = loadPublicApi().bellwether.auth.v1.Auth;
    this.#clients = endpoints.map((e) => new Auth(e, credentials, channelOptions));
  }

  /** The current token, fetching one if there is none. */
  token(): Promise<string> {
    if (this.#token !== undefined) return Promise.resolve(this.#token);
    this.#pending ??= this.#authenticate().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Drops the token (a call was refused UNAUTHENTICATED): the next call authenticates again. */
  invalidate(): void {
    this.#token = undefined;
  }

  async #authenticate(): Promise<string> {
    let last: unknown;
    for (const client of this.#clients) {
      if (this.#closed) break;
      try {
        const res = await unary<AuthenticateResponse__Output>(client as unknown as grpc.Client, 'Authenticate', { name: this.auth.username, password: this.auth.password }, AUTHENTICATE_DEADLINE_MS);
        this.#token = res.token;
        this.#schedule(res.ttlSeconds);
        this.log('debug', 'authenticated', { user: this.auth.username, ttlSeconds: res.ttlSeconds });
        return res.token;
      } catch (err) {
        last = err;
        // A wrong name or password is the same answer everywhere.
        if ((err as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED) break;
      }
    }
    const error = fromGrpcError(last ?? new Error('client closed'), { method: 'Authenticate', kind: 'read' });
    this.log('warn', 'authentication failed', { user: this.auth.username, code: error.code });
    throw error;
  }

  #schedule(ttlSeconds: number): void {
    clearTimeout(this.#timer);
    if (this.#closed || ttlSeconds <= 0) return;
    this.#timer = setTimeout(() => {
      this.#token = undefined;
      this.token().catch(() => {
        // Logged in #authenticate; the next call tries again.
      });
    }, ttlSeconds * 1000 * REFRESH_AT_FRACTION);
    this.#timer.unref();
  }

  /**
   * The interceptor that puts the token on every call of the client's
   * channels. With a token at hand a call starts at once; otherwise it starts
   * once one is fetched, and what the caller sends meanwhile (a stream's
   * first messages, its half-close) waits here, in order: grpc-js itself
   * holds only one message while a start is pending.
   */
  /** `options` with this source's interceptor added: every call on such a channel carries the token. */
  withInterceptor(options: grpc.ChannelOptions): grpc.ChannelOptions {
    return { ...options, interceptors: [...((options['interceptors'] as grpc.Interceptor[] | undefined) ?? []), this.interceptor] };
  }

  readonly interceptor: grpc.Interceptor = (options, nextCall) => {
    let started = false;
    const waiting: (() => void)[] = [];
    const release = () => {
      started = true;
      for (const send of waiting.splice(0)) send();
    };
    return new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        const go = (token: string) => {
          metadata.set(AUTHORIZATION_METADATA, `Bearer ${token}`);
          next(metadata, {
            onReceiveStatus: (status, nextStatus) => {
              if (status.code === grpc.status.UNAUTHENTICATED) this.invalidate();
              nextStatus(status);
            },
          });
          release();
        };
        if (this.#token !== undefined) {
          go(this.#token);
          return;
        }
        this.token().then(go, (err: BellwetherError) => {
          // Refused credentials fail the call here; otherwise (e.g. auth is off) it goes without a token.
          if (err.code === grpc.status.UNAUTHENTICATED) {
            listener.onReceiveStatus({ code: grpc.status.UNAUTHENTICATED, details: `could not authenticate as "${this.auth.username}": ${err.details}`, metadata: new grpc.Metadata() });
            return;
          }
          next(metadata, listener);
          release();
        });
      },
      sendMessage: (message, next) => {
        if (started) next(message);
        else waiting.push(() => next(message));
      },
      halfClose: (next) => {
        if (started) next();
        else waiting.push(() => next());
      },
    });
  };

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const c of this.#clients) c.close();
  }
}

