// How workloads encode their values. Every value written in a run is unique,
// so a read names the write it saw.

/** A set (unique-value appends): the elements in order, separated by spaces. */
export function setElements(value: string | undefined | null): string[] {
  if (!value) return [];
  return value.split(' ').filter((e) => e.length > 0);
}

export function appendElement(value: string | undefined | null, element: string): string {
  return value ? `${value} ${element}` : element;
}

/** A counter: `<count>:<unique tag>`; the tag keeps each write's value unique. */
export function counterValue(count: number, tag: string): string {
  return `${count}:${tag}`;
}

export function counterCount(value: string | undefined | null): number {
  if (!value) return 0;
  const n = Number(value.slice(0, value.indexOf(':')));
  return Number.isInteger(n) ? n : Number.NaN;
}

export type KeyKind = 'register' | 'set' | 'counter';

const PREFIX: Record<KeyKind, string> = { register: 'reg/', set: 'set/', counter: 'ctr/' };

export function keyName(kind: KeyKind, n: number): string {
  return `${PREFIX[kind]}${n}`;
}

export function keyKind(key: string): KeyKind {
  if (key.startsWith(PREFIX.set)) return 'set';
  if (key.startsWith(PREFIX.counter)) return 'counter';
  return 'register';
}
