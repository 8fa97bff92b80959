import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionGate } from '../src/connection-limits';

test('the gate serves up to maxConnections in all and maxConnectionsPerAddress from one address, and frees slots on close', () => {
  const gate = new ConnectionGate({ maxConnections: 3, maxConnectionsPerAddress: 2 }, 'n1');
  assert.equal(gate.accept('10.0.0.1', 1), undefined);
  assert.equal(gate.accept('10.0.0.1', 2), undefined);
  assert.match(gate.accept('10.0.0.1', 3)!, /member n1 serves at most 2 connections from one client address \(--max-connections-per-address\) and 10\.0\.0\.1 has them all/);
  assert.equal(gate.refusal('10.0.0.1:3'), gate.accept('10.0.0.1', 3));
  assert.equal(gate.refusal('10.0.0.1:1'), undefined, 'a served connection is not refused');
  assert.equal(gate.accept('10.0.0.2', 1), undefined);
  assert.match(gate.accept('10.0.0.3', 1)!, /member n1 serves at most 3 client connections \(--max-connections\) and all are in use/);
  assert.equal(gate.openConnections, 3);
  assert.equal(gate.refusedTotal, 3);

  // A refused connection closing frees nothing; a served one frees its slot.
  gate.closed('10.0.0.3', 1);
  assert.equal(gate.refusal('10.0.0.3:1'), undefined);
  assert.equal(gate.openConnections, 3);
  gate.closed('10.0.0.1', 1);
  assert.equal(gate.openConnections, 2);
  assert.equal(gate.accept('10.0.0.1', 4), undefined, 'the address has a slot again');
  gate.closed('10.0.0.1', 1);
  assert.equal(gate.openConnections, 3, 'closing twice frees once');
});

test('limits must be positive integers', () => {
  assert.throws(() => new ConnectionGate({ maxConnections: 0, maxConnectionsPerAddress: 1 }, 'n1'), /maxConnections must be a positive integer/);
});
