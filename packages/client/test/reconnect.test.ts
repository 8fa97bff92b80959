// How often a client's channel tries a member that does not answer, with the
// SDK's default channel options: after a leader kill every client of a fleet
// does this at once, so its pace is the fleet's reconnection storm.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CancelToken } from '../src/cancel';
import { MemberPool } from '../src/member';

test('a channel to a member that drops every connection retries about once a second or less, not every 100 ms', async (t) => {
  // A port that takes connections and drops them at once (a member that cannot speak HTTP/2): every attempt is counted.
  let attempts = 0;
  const sink = createServer((socket) => {
    attempts++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  t.after(() => sink.close());
  const pool = new MemberPool({ credentials: grpc.credentials.createInsecure(), channelOptions: {} });
  t.after(() => pool.close());
  const member = pool.get(`127.0.0.1:${(sink.address() as { port: number }).port}`);

  await assert.rejects(member.unary('Status', {}, { deadline: Date.now() + 2000, signal: new CancelToken() }));
  const afterCall = attempts;
  await new Promise((r) => setTimeout(r, 5000));
  const retries = attempts - afterCall;
  // Retries after 1 s, then every 2 s (each +-20%): 2-3 in 5 s. From 100 ms, doubling, it was 5-6.
  assert.ok(retries >= 1, 'the channel still retries on its own, so a member that comes back is used again');
  assert.ok(retries <= 3, `${retries} connection attempts in 5 s to a member that drops every connection`);
});
