import { storeIoCounts } from '@bellwether/store';
import { Counter, type Registry } from 'prom-client';
import type { PeerMessageCounts } from './io-counters';

/**
 * What one write costs in I/O, as counters: peer messages and batches by
 * type, LevelDB batches (synced or not) and apply reads, and, when counted,
 * event-loop callbacks. `pnpm --filter @bellwether/bench trace-put` divides
 * their growth by the puts it made.
 */
export function registerIoMetrics(registers: Registry[], peers: PeerMessageCounts, callbacks: Map<string, number> | undefined): void {
  const byType = (name: string, help: string, counts: Map<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, n] of counts) this.inc({ type }, n);
      },
    });
  const single = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  byType('bellwether_peer_messages_sent_total', 'Raft messages sent to peers, by Raft message type', peers.sent);
  byType('bellwether_peer_messages_received_total', 'Raft messages received from peers, by Raft message type', peers.received);
  byType('bellwether_peer_messages_dropped_total', 'Raft messages not sent because the peer stream already held too many unsent bytes (the peer reads too slowly); Raft resends them', peers.dropped);
  single('bellwether_peer_batches_sent_total', 'gRPC stream messages (MessageBatch) written to peers, each carrying one or more Raft messages', () => peers.batchesSent);
  single('bellwether_peer_batches_received_total', 'gRPC stream messages (MessageBatch) received from peers', () => peers.batchesReceived);
  new Counter({
    name: 'bellwether_store_batches_total',
    help: 'LevelDB write batches of this process, by whether they were fsynced',
    labelNames: ['sync'],
    registers,
    collect() {
      this.reset();
      this.inc({ sync: 'true' }, storeIoCounts.syncedBatches);
      this.inc({ sync: 'false' }, storeIoCounts.unsyncedBatches);
    },
  });
  single('bellwether_store_log_appends_total', "Appends to the Raft log's segment files (each one durable write: a Ready's entries and hard state, or a compaction point)", () => storeIoCounts.logAppends);
  single('bellwether_store_apply_reads_total', 'LevelDB reads made by applies before writing their batch (each a thread-pool round trip)', () => storeIoCounts.applyReads);
  if (callbacks) {
    byType('bellwether_event_loop_callbacks_total', `Event-loop callbacks run for non-promise resources, by resource type (only with ${'BELLWETHER_COUNT_CALLBACKS'}=1)`, callbacks);
  }
}
