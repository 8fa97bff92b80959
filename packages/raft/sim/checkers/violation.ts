/** Thrown by a checker when a safety or liveness property does not hold. */
export class Violation extends Error {
  constructor(
    readonly checker: string,
    message: string,
  ) {
    super(`[${checker}] ${message}`);
    this.name = 'Violation';
  }
}

import type { Entry } from '../../src/index.js';

const fpCache = new WeakMap<Entry, string>();

/** A short identity of an entry's content (not its index/term). */
export function fingerprint(e: Entry): string {
  let fp = fpCache.get(e);
  if (fp === undefined) {
    let hex = '';
    for (let i = 0; i < Math.min(e.data.length, 24); i++) hex += e.data[i]!.toString(16).padStart(2, '0');
    fp = `${e.type}:${e.data.length}:${hex}`;
    fpCache.set(e, fp);
  }
  return fp;
}
