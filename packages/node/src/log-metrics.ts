import { Counter, Gauge, type Registry } from 'prom-client';
import type { Replica } from './replica';

/** The Raft log's size in bytes (on disk and in memory) and how often evicted entries were read back from disk. */
export function registerLogMetrics(registers: Registry[], replica: Replica): void {
  new Gauge({
    name: 'bellwether_raft_log_bytes',
    help: 'Size of the Raft log after the last compaction point (what the member stores for lagging followers)',
    registers,
    collect() {
      this.set(replica.raftStatus().logBytes);
    },
  });
  new Gauge({
    name: 'bellwether_raft_log_memory_bytes',
    help: 'Bytes of Raft log entry data held in memory (bounded by --log-memory-bytes once applied)',
    registers,
    collect() {
      this.set(replica.raftStatus().logMemoryBytes);
    },
  });
  new Counter({
    name: 'bellwether_raft_log_entries_read_back_total',
    help: 'Log entries read back from disk to replicate to a follower (evicted from memory)',
    registers,
    collect() {
      this.reset();
      this.inc(replica.logEntriesReadBack);
    },
  });
}
