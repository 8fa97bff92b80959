import { Reader, type Writer } from './codec';

/**
 * Users, roles and permissions: replicated state, changed only by applying
 * AuthCommands from the log, so every member holds the same rules. It is
 * small (people and roles, not keys), so it lives as one record, read once
 * at open and rewritten whole when a command changes it.
 */

export type PermissionType = 'read' | 'write' | 'readwrite';

/** Keys in [start, end); an empty `end` means every key from `start` on. */
export interface KeyPermission {
  type: PermissionType;
  start: Buffer;
  end: Buffer;
}

export interface UserRecord {
  /** scrypt(password, salt); the password itself is never stored or logged. */
  salt: Buffer;
  hash: Buffer;
  roles: string[];
  /** Log index of the user's creation or last password change: tokens name it, so older ones stop working. */
  revision: number;
}

export interface AuthState {
  enabled: boolean;
  /** HMAC key that signs tokens; chosen by the leader when auth is enabled. */
  tokenKey: Buffer;
  users: Map<string, UserRecord>;
  roles: Map<string, KeyPermission[]>;
}

/** A change to the auth state, as it travels through the log. Hashes are computed before proposing. */
export type AuthCommand =
  | { kind: 'enable'; tokenKey: Buffer }
  | { kind: 'disable' }
  | { kind: 'userAdd'; name: string; salt: Buffer; hash: Buffer }
  | { kind: 'userDelete'; name: string }
  | { kind: 'userChangePassword'; name: string; salt: Buffer; hash: Buffer }
  | { kind: 'userGrantRole'; name: string; role: string }
  | { kind: 'userRevokeRole'; name: string; role: string }
  | { kind: 'roleAdd'; name: string }
  | { kind: 'roleDelete'; name: string }
  | { kind: 'roleGrantPermission'; name: string; perm: KeyPermission }
  | { kind: 'roleRevokePermission'; name: string; start: Buffer; end: Buffer };

export const ROOT = 'root';

export function emptyAuthState(): AuthState {
  return { enabled: false, tokenKey: Buffer.alloc(0), users: new Map(), roles: new Map() };
}

const KINDS = ['enable', 'disable', 'userAdd', 'userDelete', 'userChangePassword', 'userGrantRole', 'userRevokeRole', 'roleAdd', 'roleDelete', 'roleGrantPermission', 'roleRevokePermission'] as const;
const PERM_TYPES: PermissionType[] = ['read', 'write', 'readwrite'];

function writePerm(w: Writer, p: KeyPermission): void {
  w.u8(PERM_TYPES.indexOf(p.type)).bytes(p.start).bytes(p.end);
}

function readPerm(r: Reader): KeyPermission {
  const type = PERM_TYPES[r.u8()];
  if (!type) throw new RangeError('auth: unknown permission type');
  return { type, start: Buffer.from(r.bytes()), end: Buffer.from(r.bytes()) };
}

export function writeAuthCommand(w: Writer, c: AuthCommand): void {
  w.u8(KINDS.indexOf(c.kind));
  switch (c.kind) {
    case 'enable':
      w.bytes(c.tokenKey);
      return;
    case 'disable':
      return;
    case 'userAdd':
    case 'userChangePassword':
      w.string(c.name).bytes(c.salt).bytes(c.hash);
      return;
    case 'userDelete':
    case 'roleAdd':
    case 'roleDelete':
      w.string(c.name);
      return;
    case 'userGrantRole':
    case 'userRevokeRole':
      w.string(c.name).string(c.role);
      return;
    case 'roleGrantPermission':
      w.string(c.name);
      writePerm(w, c.perm);
      return;
    case 'roleRevokePermission':
      w.string(c.name).bytes(c.start).bytes(c.end);
      return;
  }
}

export function readAuthCommand(r: Reader): AuthCommand {
  const kind = KINDS[r.u8()];
  const copy = () => Buffer.from(r.bytes());
  switch (kind) {
    case 'enable':
      return { kind, tokenKey: copy() };
    case 'disable':
      return { kind };
    case 'userAdd':
    case 'userChangePassword':
      return { kind, name: r.string(), salt: copy(), hash: copy() };
    case 'userDelete':
    case 'roleAdd':
    case 'roleDelete':
      return { kind, name: r.string() };
    case 'userGrantRole':
    case 'userRevokeRole':
      return { kind, name: r.string(), role: r.string() };
    case 'roleGrantPermission':
      return { kind, name: r.string(), perm: readPerm(r) };
    case 'roleRevokePermission':
      return { kind, name: r.string(), start: copy(), end: copy() };
    default:
      throw new RangeError('auth: unknown command');
  }
}

export function encodeAuthState(s: AuthState, w: Writer): Buffer {
  w.bool(s.enabled).bytes(s.tokenKey).uint(s.users.size);
  for (const [name, u] of s.users) {
    w.string(name).bytes(u.salt).bytes(u.hash).uint(u.revision).uint(u.roles.length);
    for (const role of u.roles) w.string(role);
  }
  w.uint(s.roles.size);
  for (const [name, perms] of s.roles) {
    w.string(name).uint(perms.length);
    for (const p of perms) writePerm(w, p);
  }
  return w.finish();
}

export function decodeAuthState(data: Uint8Array): AuthState {
  const r = new Reader(data);
  const s = emptyAuthState();
  s.enabled = r.bool();
  s.tokenKey = Buffer.from(r.bytes());
  for (let n = r.uint(); n > 0; n--) {
    const name = r.string();
    const salt = Buffer.from(r.bytes());
    const hash = Buffer.from(r.bytes());
    const revision = r.uint();
    const roles = Array.from({ length: r.uint() }, () => r.string());
    s.users.set(name, { salt, hash, revision, roles });
  }
  for (let n = r.uint(); n > 0; n--) {
    const name = r.string();
    s.roles.set(name, Array.from({ length: r.uint() }, () => readPerm(r)));
  }
  return s;
}

/** Why a command cannot apply to `s` (the service reports it before proposing), or undefined. */
export function authCommandRefusal(s: AuthState, c: AuthCommand): string | undefined {
  switch (c.kind) {
    case 'enable': {
      const root = s.users.get(ROOT);
      if (!root?.roles.includes(ROOT)) return 'auth cannot be enabled before a "root" user holding the "root" role exists';
      return undefined;
    }
    case 'disable':
      return undefined;
    case 'userAdd':
      return s.users.has(c.name) ? `user "${c.name}" already exists` : undefined;
    case 'userDelete':
    case 'userChangePassword':
      return s.users.has(c.name) ? undefined : `user "${c.name}" does not exist`;
    case 'userGrantRole':
      if (!s.users.has(c.name)) return `user "${c.name}" does not exist`;
      return c.role === ROOT || s.roles.has(c.role) ? undefined : `role "${c.role}" does not exist`;
    case 'userRevokeRole': {
      const u = s.users.get(c.name);
      if (!u) return `user "${c.name}" does not exist`;
      if (!u.roles.includes(c.role)) return `user "${c.name}" does not hold role "${c.role}"`;
      if (s.enabled && c.name === ROOT && c.role === ROOT) return 'the "root" user keeps the "root" role while auth is enabled';
      return undefined;
    }
    case 'roleAdd':
      return s.roles.has(c.name) ? `role "${c.name}" already exists` : undefined;
    case 'roleDelete':
      if (!s.roles.has(c.name)) return `role "${c.name}" does not exist`;
      return s.enabled && c.name === ROOT ? 'the "root" role cannot be deleted while auth is enabled' : undefined;
    case 'roleGrantPermission':
      return s.roles.has(c.name) ? undefined : `role "${c.name}" does not exist`;
    case 'roleRevokePermission': {
      const perms = s.roles.get(c.name);
      if (!perms) return `role "${c.name}" does not exist`;
      return perms.some((p) => p.start.equals(c.start) && p.end.equals(c.end)) ? undefined : `role "${c.name}" has no permission on that key range`;
    }
  }
}

/**
 * Applies a command at log index `index`. A command that does not apply (the
 * state changed between the leader's check and the commit) changes nothing
 * and returns its refusal; every member reaches the same outcome.
 */
export function applyAuthCommand(s: AuthState, c: AuthCommand, index: number): string | undefined {
  const refusal = authCommandRefusal(s, c);
  if (refusal) return refusal;
  switch (c.kind) {
    case 'enable':
      s.enabled = true;
      s.tokenKey = c.tokenKey;
      // The root role always exists once root holds it; make it explicit.
      if (!s.roles.has(ROOT)) s.roles.set(ROOT, []);
      break;
    case 'disable':
      s.enabled = false;
      break;
    case 'userAdd':
      s.users.set(c.name, { salt: c.salt, hash: c.hash, roles: [], revision: index });
      break;
    case 'userDelete':
      s.users.delete(c.name);
      break;
    case 'userChangePassword': {
      const u = s.users.get(c.name)!;
      s.users.set(c.name, { ...u, salt: c.salt, hash: c.hash, revision: index });
      break;
    }
    case 'userGrantRole': {
      const u = s.users.get(c.name)!;
      if (!s.roles.has(c.role)) s.roles.set(c.role, []);
      if (!u.roles.includes(c.role)) u.roles = [...u.roles, c.role].sort();
      break;
    }
    case 'userRevokeRole': {
      const u = s.users.get(c.name)!;
      u.roles = u.roles.filter((r) => r !== c.role);
      break;
    }
    case 'roleAdd':
      s.roles.set(c.name, []);
      break;
    case 'roleDelete':
      s.roles.delete(c.name);
      for (const u of s.users.values()) u.roles = u.roles.filter((r) => r !== c.name);
      break;
    case 'roleGrantPermission': {
      // Granting the same range again replaces its type.
      const perms = s.roles.get(c.name)!.filter((p) => !(p.start.equals(c.perm.start) && p.end.equals(c.perm.end)));
      s.roles.set(c.name, [...perms, c.perm]);
      break;
    }
    case 'roleRevokePermission':
      s.roles.set(
        c.name,
        s.roles.get(c.name)!.filter((p) => !(p.start.equals(c.start) && p.end.equals(c.end))),
      );
      break;
  }
  return undefined;
}
