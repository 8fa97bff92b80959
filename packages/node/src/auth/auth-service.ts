import { randomBytes } from 'node:crypto';
import type { AuthHandlers, AuthHeader, KeyRange__Output, Permission, Permission__Output, PermissionType } from '@bellwether/proto';
import { type AuthCommand, authCommandRefusal, type KeyPermission, prefixEnd, type Store } from '@bellwether/store';
import { status } from '@grpc/grpc-js';
import { invalidArgument, notLeader, RpcError } from '../errors';
import { unary } from '../kv-service';
import type { Replica } from '../replica';
import type { Limits } from '../validate';
import { hashPassword, passwordMatches } from './passwords';
import { signToken } from './tokens';

export interface AuthContext {
  clusterId: string;
  replica: Replica;
  store: Store;
  limits: Pick<Limits, 'maxKeyBytes'>;
  tokenTtlSeconds: number;
}

const MAX_NAME_CHARS = 128;
const MAX_PASSWORD_BYTES = 1024;
const PERM_TYPES: Record<string, KeyPermission['type']> = { READ: 'read', WRITE: 'write', READWRITE: 'readwrite' };
const PERM_TYPES_BACK: Record<KeyPermission['type'], PermissionType> = { read: 'READ', write: 'WRITE', readwrite: 'READWRITE' };

function checkName(field: string, v: string): string {
  if (v.length === 0 || v.length > MAX_NAME_CHARS) throw invalidArgument(`${field}: must be 1..${MAX_NAME_CHARS} characters, got ${v.length}`);
  return v;
}

function checkPassword(v: string): string {
  const bytes = Buffer.byteLength(v);
  if (bytes === 0 || bytes > MAX_PASSWORD_BYTES) throw invalidArgument(`password: must be 1..${MAX_PASSWORD_BYTES} bytes`);
  return v;
}

/** The refusal of an auth command as a status: a missing user or role is NOT_FOUND, a duplicate ALREADY_EXISTS. */
function refusalError(message: string): RpcError {
  if (/already exists/.test(message)) return new RpcError(status.ALREADY_EXISTS, message);
  if (/does not exist|has no permission on that|does not hold/.test(message)) return new RpcError(status.NOT_FOUND, message);
  return new RpcError(status.FAILED_PRECONDITION, message);
}

/** [start, end) of a permission given as a prefix or a range; checked. */
function keyRange(field: string, keys: { prefix?: Buffer | null; range?: KeyRange__Output | null; keys?: string }, limits: AuthContext['limits']): { start: Buffer; end: Buffer } {
  if (keys.keys === 'range' && keys.range) {
    const { start, end } = keys.range;
    if (start.length > limits.maxKeyBytes || end.length > limits.maxKeyBytes) throw invalidArgument(`${field}.range: keys must be at most ${limits.maxKeyBytes} bytes`);
    if (end.length > 0 && Buffer.compare(start, end) >= 0) throw invalidArgument(`${field}.range: start must be less than end (or end empty for "to the end")`);
    return { start: Buffer.from(start), end: Buffer.from(end) };
  }
  const prefix = Buffer.from(keys.prefix ?? Buffer.alloc(0));
  if (prefix.length > limits.maxKeyBytes) throw invalidArgument(`${field}.prefix: must be at most ${limits.maxKeyBytes} bytes`);
  return { start: prefix, end: prefixEnd(prefix) ?? Buffer.alloc(0) };
}

function toPermission(p: KeyPermission): Permission {
  return { permType: PERM_TYPES_BACK[p.type], range: { start: p.start, end: p.end } };
}

/** The Auth service. Who may call what is enforced around it (guards.ts); here: validation, replication and tokens. */
export function authService(ctx: AuthContext): AuthHandlers {
  const header = (revision?: number): AuthHeader => ({ clusterId: ctx.clusterId, memberId: ctx.replica.memberId, revision: revision ?? ctx.replica.appliedIndex });
  const state = () => ctx.store.authState;

  /** Checks a change against the current state, replicates it, and answers with its revision. */
  async function change(make: () => AuthCommand | Promise<AuthCommand>): Promise<{ header: AuthHeader }> {
    // Hashing a password costs tens of ms: only on the leader, which alone can propose.
    if (!ctx.replica.isLeader) throw notLeader(ctx.replica.memberId, ctx.replica.leaderHint());
    const command = await make();
    const refusal = authCommandRefusal(state(), command);
    if (refusal) throw refusalError(refusal);
    const result = await ctx.replica.propose({ op: 'auth', auth: command });
    if (result.authRefusal) throw refusalError(result.authRefusal);
    return { header: header(result.revision) };
  }

  return {
    Authenticate: unary(async (r) => {
      const s = state();
      if (!s.enabled) throw new RpcError(status.FAILED_PRECONDITION, 'auth is not enabled; calls need no token');
      const user = s.users.get(r.name);
      // The same answer for an unknown user and a wrong password.
      const refused = new RpcError(status.UNAUTHENTICATED, 'wrong user name or password');
      if (!user) throw refused;
      if (!(await passwordMatches(user, r.password))) throw refused;
      const token = signToken(s.tokenKey, { user: r.name, revision: user.revision, expiresAtMs: Date.now() + ctx.tokenTtlSeconds * 1000 });
      return { header: header(), token, ttlSeconds: ctx.tokenTtlSeconds };
    }),
    AuthEnable: unary(() => change(() => ({ kind: 'enable', tokenKey: randomBytes(32) }))),
    AuthDisable: unary(() => change(() => ({ kind: 'disable' }))),
    AuthStatus: unary(() => ({ header: header(), enabled: state().enabled })),

    UserAdd: unary((r) =>
      change(async () => {
        const name = checkName('name', r.name);
        return { kind: 'userAdd', name, ...(await hashPassword(checkPassword(r.password))) };
      }),
    ),
    UserDelete: unary((r) => change(() => ({ kind: 'userDelete', name: checkName('name', r.name) }))),
    UserChangePassword: unary((r) =>
      change(async () => {
        const name = checkName('name', r.name);
        return { kind: 'userChangePassword', name, ...(await hashPassword(checkPassword(r.password))) };
      }),
    ),
    UserGrantRole: unary((r) => change(() => ({ kind: 'userGrantRole', name: checkName('user', r.user), role: checkName('role', r.role) }))),
    UserRevokeRole: unary((r) => change(() => ({ kind: 'userRevokeRole', name: checkName('name', r.name), role: checkName('role', r.role) }))),
    UserGet: unary((r) => {
      const user = state().users.get(r.name);
      if (!user) throw new RpcError(status.NOT_FOUND, `user "${r.name}" does not exist`);
      return { header: header(), roles: user.roles };
    }),
    UserList: unary(() => ({ header: header(), users: [...state().users.keys()].sort() })),

    RoleAdd: unary((r) => change(() => ({ kind: 'roleAdd', name: checkName('name', r.name) }))),
    RoleDelete: unary((r) => change(() => ({ kind: 'roleDelete', name: checkName('role', r.role) }))),
    RoleGrantPermission: unary((r) =>
      change(() => {
        const name = checkName('name', r.name);
        const perm: Permission__Output | null = r.perm;
        if (!perm) throw invalidArgument('perm: required');
        const type = PERM_TYPES[perm.permType];
        if (!type) throw invalidArgument(`perm.perm_type: unknown type ${String(perm.permType)}`);
        return { kind: 'roleGrantPermission', name, perm: { type, ...keyRange('perm', perm, ctx.limits) } };
      }),
    ),
    RoleRevokePermission: unary((r) => change(() => ({ kind: 'roleRevokePermission', name: checkName('role', r.role), ...keyRange('', r, ctx.limits) }))),
    RoleGet: unary((r) => {
      const perms = state().roles.get(r.role);
      if (!perms) throw new RpcError(status.NOT_FOUND, `role "${r.role}" does not exist`);
      return { header: header(), perm: perms.map(toPermission) };
    }),
    RoleList: unary(() => ({ header: header(), roles: [...state().roles.keys()].sort() })),
  };
}
