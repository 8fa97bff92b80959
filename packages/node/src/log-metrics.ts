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
  new Gauge({
    name: 'bellwether_apply_backlog_bytes',
    help: 'Bytes of committed entries waiting for this member\'s state machine (a follower holds new appends back past 256 MiB)',
    registers,
    collect() {
      this.set(replica.applyBacklog.unappliedBytes);
    },
  });
  new Counter({
    name: 'bellwether_peer_appends_held_total',
    help: 'Appends a follower held back, unacknowledged, while its apply was behind (held: taken later in order; dropped: past the 32 MiB hold, sent again by the leader)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      this.inc({ outcome: 'held' }, replica.applyBacklog.heldTotal);
      this.inc({ outcome: 'dropped' }, replica.applyBacklog.droppedTotal);
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
