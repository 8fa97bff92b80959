import {
  type AuthClient,
  type AuthHeader__Output,
  LEADER_ADDRESS_METADATA,
  loadPublicApi,
  type Permission__Output,
  unary,
} from '@bellwether/proto';
import type * as grpc from '@grpc/grpc-js';
import { type Bytes, toBuffer } from './bytes';
import { fromGrpcError, InvalidArgument } from './errors';

/** The keys a permission covers: every key with a prefix, or [start, end) (no `end`: to the end of the keyspace). */
export type PermissionKeys = { prefix: Bytes } | { start: Bytes; end?: Bytes };
export type PermissionType = 'read' | 'write' | 'readwrite';

export interface PermissionInfo {
  type: PermissionType;
  /** [start, end) of the keys; an empty `end` means to the end of the keyspace. */
  start: Uint8Array;
  end: Uint8Array;
}

/** Where an administrative change was applied: the log index that carried it. */
export interface AuthChange {
  revision: number;
}

const TYPES = { read: 'READ', write: 'WRITE', readwrite: 'READWRITE' } as const;
const TYPES_BACK: Record<string, PermissionType> = { READ: 'read', WRITE: 'write', READWRITE: 'readwrite' };
const DEADLINE_MS = 10_000;
/** Leader hints followed before giving up on one call. */
const MAX_HOPS = 5;

function keysOf(keys: PermissionKeys): { prefix: Buffer } | { range: { start: Buffer; end: Buffer } } {
  if (typeof keys !== 'object' || keys === null) throw new InvalidArgument('keys: must be { prefix } or { start, end? }');
  if ('prefix' in keys) return { prefix: toBuffer(keys.prefix, 'prefix') };
  return { range: { start: toBuffer(keys.start, 'start'), end: keys.end === undefined ? Buffer.alloc(0) : toBuffer(keys.end, 'end') } };
}

/**
 * Administration of users, roles and permissions (`bellwether.auth.v1.Auth`),
 * as `client.auth`. Changes go to the leader (following the cluster's leader
 * hints); once auth is enabled they need a client logged in as a user with
 * the `root` role. Failures are the SDK's typed errors (`NotLeader` only if
 * no leader could be reached, `PermissionDenied`, `Unauthenticated`,
 * `FailedPrecondition`, ...). Reads (`userGet`, `roleList`, ...) show the
 * state of the member that answers: the member of the last change, so they
 * see it. See docs/security.md.
 */
export class AuthAdmin {
  readonly #clients = new Map<string, AuthClient>();
  /** Where the last call succeeded: after a change, the leader, whose reads (UserGet, ...) already show it. */
  #preferred: string | undefined;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly credentials: grpc.ChannelCredentials,
    private readonly channelOptions: grpc.ChannelOptions,
  ) {}

  #client(address: string): AuthClient {
    let c = this.#clients.get(address);
    if (!c) {
      c = new (loadPublicApi().bellwether.auth.v1.Auth)(address, this.credentials, this.channelOptions);
      this.#clients.set(address, c);
    }
    return c;
  }

  async #call<Res>(method: string, request: object, kind: 'read' | 'write'): Promise<Res> {
    let address = this.#preferred ?? this.endpoints[0]!;
    let lastErr: unknown;
    for (let hop = 0; hop <= MAX_HOPS; hop++) {
      try {
        const res = await unary<Res>(this.#client(address) as unknown as grpc.Client, method, request, DEADLINE_MS);
        this.#preferred = address;
        return res;
      } catch (err) {
        lastErr = err;
        const hint = (err as grpc.ServiceError).metadata?.get(LEADER_ADDRESS_METADATA)[0];
        if (typeof hint === 'string' && hint !== '' && hint !== address) {
          address = hint;
          continue;
        }
        // Unreachable: try the next seed.
        const next = this.endpoints[(this.endpoints.indexOf(address) + 1) % this.endpoints.length]!;
        if ((err as grpc.ServiceError).code === 14 && next !== address) {
          address = next;
          continue;
        }
        break;
      }
    }
    throw fromGrpcError(lastErr, { method, kind, sent: true });
  }

  async #change(method: string, request: object): Promise<AuthChange> {
    const res = await this.#call<{ header?: AuthHeader__Output | null }>(method, request, 'write');
    return { revision: Number(res.header?.revision ?? 0) };
  }

  /** Turns auth on; needs a `root` user holding the `root` role. */
  enable(): Promise<AuthChange> {
    return this.#change('AuthEnable', {});
  }
  disable(): Promise<AuthChange> {
    return this.#change('AuthDisable', {});
  }
  async enabled(): Promise<boolean> {
    return (await this.#call<{ enabled: boolean }>('AuthStatus', {}, 'read')).enabled;
  }
  /** The password is sent once (use TLS) and stored only as a salted scrypt hash. */
  userAdd(name: string, password: string): Promise<AuthChange> {
    return this.#change('UserAdd', { name, password });
  }
  userDelete(name: string): Promise<AuthChange> {
    return this.#change('UserDelete', { name });
  }
  /** Tokens issued before the change stop working. */
  userChangePassword(name: string, password: string): Promise<AuthChange> {
    return this.#change('UserChangePassword', { name, password });
  }
  userGrantRole(user: string, role: string): Promise<AuthChange> {
    return this.#change('UserGrantRole', { user, role });
  }
  userRevokeRole(user: string, role: string): Promise<AuthChange> {
    return this.#change('UserRevokeRole', { name: user, role });
  }
  /** The user's roles. */
  async userGet(name: string): Promise<string[]> {
    return (await this.#call<{ roles: string[] }>('UserGet', { name }, 'read')).roles;
  }
  async userList(): Promise<string[]> {
    return (await this.#call<{ users: string[] }>('UserList', {}, 'read')).users;
  }
  roleAdd(name: string): Promise<AuthChange> {
    return this.#change('RoleAdd', { name });
  }
  roleDelete(role: string): Promise<AuthChange> {
    return this.#change('RoleDelete', { role });
  }
  /** Grants `type` on `keys` to a role (granting the same keys again replaces the type). */
  roleGrantPermission(role: string, keys: PermissionKeys, type: PermissionType): Promise<AuthChange> {
    if (!(type in TYPES)) throw new InvalidArgument(`type: must be 'read', 'write' or 'readwrite', got ${JSON.stringify(type)}`);
    return this.#change('RoleGrantPermission', { name: role, perm: { permType: TYPES[type], ...keysOf(keys) } });
  }
  /** Removes the role's permission on exactly these keys. */
  roleRevokePermission(role: string, keys: PermissionKeys): Promise<AuthChange> {
    return this.#change('RoleRevokePermission', { role, ...keysOf(keys) });
  }
  async roleGet(role: string): Promise<PermissionInfo[]> {
    const res = await this.#call<{ perm: Permission__Output[] }>('RoleGet', { role }, 'read');
    return res.perm.map((p) => ({ type: TYPES_BACK[p.permType] ?? 'read', start: new Uint8Array(p.range?.start ?? []), end: new Uint8Array(p.range?.end ?? []) }));
  }
  async roleList(): Promise<string[]> {
    return (await this.#call<{ roles: string[] }>('RoleList', {}, 'read')).roles;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
