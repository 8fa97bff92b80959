import type { Command, KeyValueRecord, WriteResult } from './records';

/** Applies one put or delete to the key's current record; `store` receives the new record (null = deleted). */
export function applyCommand(
  c: Extract<Command, { op: 'put' | 'delete' }>,
  current: KeyValueRecord | undefined,
  index: number,
  store: (next: KeyValueRecord | null) => void,
): WriteResult {
  if (c.expectedModRevision !== undefined && (current?.modRevision ?? 0) !== c.expectedModRevision) {
    return { revision: index, succeeded: false, deleted: 0, prevKv: current };
  }
  const prevKv = c.prevKv ? current : undefined;
  if (c.op === 'put') {
    const next: KeyValueRecord = {
      key: c.key,
      // A view into the entry: it is encoded into the batch right away, and
      // as a prevKv it lives only as long as the reply.
      value: c.value,
      createRevision: current ? current.createRevision : index,
      modRevision: index,
      version: current ? current.version + 1 : 1,
    };
    if (c.lease) next.lease = c.lease;
    store(next);
    return { revision: index, succeeded: true, deleted: 0, prevKv };
  }
  if (!current) return { revision: index, succeeded: true, deleted: 0 };
  store(null);
  return { revision: index, succeeded: true, deleted: 1, prevKv };
}
