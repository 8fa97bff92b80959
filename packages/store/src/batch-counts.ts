/**
 * LevelDB batches this process has written, by whether they were synced, the
 * reads an apply made of LevelDB (each a round trip through libuv's thread
 * pool before the batch is written), and the appends to the Raft log's
 * segment files (each one durable write).
 * Per process, not per store: a server runs one store; /metrics and the
 * one-put trace (tools/bench trace-put) read them.
 */
export const storeIoCounts = { syncedBatches: 0, unsyncedBatches: 0, applyReads: 0, logAppends: 0 };
