import type { AbstractLevel } from 'abstract-level';

/**
 * The database a store runs on: LevelDB on disk in production (`level`), or any
 * other abstract-level database with buffer keys and values (an in-memory
 * `memory-level` in the node simulator).
 */
export type StoreDatabase = AbstractLevel<string | Buffer | Uint8Array, Buffer, Buffer>;
