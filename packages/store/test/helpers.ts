import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand, type LogEntry, type TxnCommand } from '../src/index';

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bellwether-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function putEntry(index: number, key: string, value: string, extra: Partial<{ expectedModRevision: number; clientId: string; sequence: number; minUnackedSequence: number; prevKv: boolean }> = {}): LogEntry {
  return {
    index,
    term: 1,
    type: 'normal',
    data: encodeCommand({
      op: 'put',
      key: Buffer.from(key),
      value: Buffer.from(value),
      clientId: extra.clientId ?? '',
      sequence: extra.sequence ?? 0,
      minUnackedSequence: extra.minUnackedSequence ?? 0,
      prevKv: extra.prevKv ?? false,
      expectedModRevision: extra.expectedModRevision,
    }),
  };
}

export function deleteEntry(index: number, key: string, extra: Partial<{ expectedModRevision: number; clientId: string; sequence: number; minUnackedSequence: number }> = {}): LogEntry {
  return {
    index,
    term: 1,
    type: 'normal',
    data: encodeCommand({
      op: 'delete',
      key: Buffer.from(key),
      clientId: extra.clientId ?? '',
      sequence: extra.sequence ?? 0,
      minUnackedSequence: extra.minUnackedSequence ?? 0,
      prevKv: true,
      expectedModRevision: extra.expectedModRevision,
    }),
  };
}

export function txnEntry(index: number, txn: Partial<Omit<TxnCommand, 'op'>>): LogEntry {
  return {
    index,
    term: 1,
    type: 'normal',
    data: encodeCommand({ op: 'txn', compares: [], success: [], failure: [], clientId: '', sequence: 0, minUnackedSequence: 0, ...txn }),
  };
}

export function leaseEntry(index: number, command: { op: 'lease-grant'; id?: number; ttlMs: number } | { op: 'lease-revoke'; id: number }): LogEntry {
  const session = { clientId: '', sequence: 0, minUnackedSequence: 0 };
  return {
    index,
    term: 1,
    type: 'normal',
    data: encodeCommand(command.op === 'lease-grant' ? { ...session, op: 'lease-grant', id: command.id ?? 0, ttlMs: command.ttlMs } : { ...session, op: 'lease-revoke', id: command.id }),
  };
}

export function leasedPut(index: number, key: string, value: string, lease: number): LogEntry {
  return {
    index,
    term: 1,
    type: 'normal',
    data: encodeCommand({ op: 'put', key: Buffer.from(key), value: Buffer.from(value), clientId: '', sequence: 0, minUnackedSequence: 0, prevKv: false, lease }),
  };
}
