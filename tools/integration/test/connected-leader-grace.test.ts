// --connected-leader-grace-ms on real processes: followers whose connection
// to the leader stays open (the leader is alive but silent: SIGSTOP here, a
// loop starved of CPU in practice) wait the grace before they elect; a leader
// killed with SIGKILL closes its connections, and its followers elect within
// the plain election timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster, waitFor } from '../src/cluster';

// Long enough that neither an election within it nor one only after it can be an accident of a slow machine.
const GRACE_MS = 8000;

test('a silent leader with its connections open keeps its place for the grace; a killed one is replaced at once', async (t) => {
  const cluster = await TestCluster.start({ size: 3, args: ['--connected-leader-grace-ms', String(GRACE_MS)] });
  cluster.stopAfter(t);
  const leader = await cluster.waitForLeader();
  const { term } = await cluster.status(leader);
  const followers = cluster.followers(leader);
  t.after(() => leader.signal('SIGCONT'));

  const stoppedAt = Date.now();
  leader.signal('SIGSTOP');
  // Polled for most of the grace: many election timeouts (150-300 ms) pass, and nobody campaigns.
  while (Date.now() - stoppedAt < GRACE_MS / 2) {
    for (const f of followers) {
      const s = await cluster.status(f);
      assert.equal(s.term, term, `${f.id} started an election ${Date.now() - stoppedAt} ms after the leader went silent`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const next = await waitFor(
    async () => {
      for (const f of followers) if ((await cluster.status(f)).role === 'ROLE_LEADER') return f;
      return undefined;
    },
    GRACE_MS * 3,
    'a follower is elected once the grace has passed',
  );
  const electedAfterMs = Date.now() - stoppedAt;
  // The grace counts from the leader's last heartbeat (at most one heartbeat interval before the SIGSTOP).
  assert.ok(electedAfterMs >= GRACE_MS - 100, `elected ${electedAfterMs} ms after the leader went silent, before the grace of ${GRACE_MS} ms`);
  leader.signal('SIGCONT');
  await cluster.waitForLeader();

  // A killed leader's connections close: the others do not wait for the grace.
  const killedAt = Date.now();
  await cluster.node(next.id).kill9();
  const third = await cluster.waitForLeader(GRACE_MS * 3);
  const replacedAfterMs = Date.now() - killedAt;
  assert.notEqual(third.id, next.id);
  assert.ok(replacedAfterMs < GRACE_MS / 2, `replaced ${replacedAfterMs} ms after the kill, as if the killed leader's connections were still open`);
});
