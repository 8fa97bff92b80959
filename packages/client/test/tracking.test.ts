// Discovery and leader tracking against a fake 3-member cluster: members
// learned from one seed, the leader followed through WatchLeader, hints and
// probes, members marked down and up, events and the cluster view.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ClientLogger, connect, type LeaderChangeEvent, type MemberEvent } from '../src/index';
import { FakeCluster } from './helpers/fake-server';
import { settled, until, withCluster } from './helpers/setup';

describe('discovery', () => {
  const t = withCluster(3);

  test('one seed is enough: the client learns every member and the leader', async () => {
    await settled(t.client, 3, 'm1');
    const view = t.client.cluster();
    assert.equal(view.clusterId, 'fake-cluster');
    assert.equal(view.term, 3);
    assert.deepEqual(view.leader, { id: 'm1', address: t.cluster.member('m1').address, term: 3, reachable: true });
    assert.deepEqual(
      view.members.map((m) => [m.id, m.address, m.state, m.isLeader, m.voter]),
      t.cluster.members.map((m) => [m.memberId, m.address, 'up', m.memberId === 'm1', true]),
    );
    for (const m of view.members) {
      assert.ok(m.lastContactAt !== undefined && m.lastContactAt <= Date.now());
      assert.ok(m.rttMs !== undefined && m.rttMs >= 0);
      assert.equal(m.outstanding, 0);
    }
    // One WatchLeader stream in all, to one member: idle costs the cluster nothing per member.
    const watching = t.cluster.members.filter((m) => m.watchOpened > 0);
    assert.equal(watching.length, 1, `one member watched, not ${watching.map((m) => m.memberId).join(', ')}`);
  });

  test('a write goes to the leader; reads by default go to followers', async () => {
    await settled(t.client, 3, 'm1');
    const put = await t.client.put('k', 'v');
    assert.equal(put.header.memberId, 'm1');
    const got = await t.client.get('k');
    assert.equal(got.valueString, 'v');
    assert.notEqual(got.header.memberId, 'm1');
  });
});

describe('following the leader', () => {
  const t = withCluster(3);

  test('an election is heard through WatchLeader: event, then writes go to the new leader', async () => {
    await settled(t.client, 3, 'm1');
    const events: LeaderChangeEvent[] = [];
    t.client.on('leaderChange', (e) => events.push(e));
    const putsBefore = t.cluster.member('m1').requests.Put.length;
    t.cluster.elect('m2');
    const event = await until(() => events.find((e) => e.leaderId === 'm2'), 'a leaderChange to m2');
    assert.equal(event.term, 4);
    assert.equal(event.previousLeaderId, 'm1');
    assert.equal(event.leaderAddress, t.cluster.member('m2').address);
    const put = await t.client.put('after-election', 'v');
    assert.equal(put.header.memberId, 'm2');
    assert.equal(t.cluster.member('m1').requests.Put.length, putsBefore, 'nothing sent to the old leader');
  });

  test('a NOT_LEADER hint is followed at once, with the same (clientId, sequence)', async () => {
    await settled(t.client, 3, 'm2');
    // The leader changes without any stream hearing of it: only the refusal tells.
    const g = t.cluster.group;
    g.term++;
    g.leaderId = 'm3';
    const put = await t.client.put('hinted', 'v');
    assert.equal(put.header.memberId, 'm3');
    const refused = t.cluster.member('m2').requests.Put.at(-1)!;
    const served = t.cluster.member('m3').requests.Put.at(-1)!;
    assert.equal(refused.key.toString(), 'hinted');
    assert.deepEqual([served.clientId, served.sequence], [refused.clientId, refused.sequence]);
    assert.equal(t.client.cluster().leader?.id, 'm3');
  });

  test('a leader stepping down with no successor: writes wait, then go to the one elected', async () => {
    await settled(t.client, 3, 'm3');
    t.cluster.elect(undefined);
    await until(() => t.client.cluster().leader === undefined, 'the client knows there is no leader');
    const pending = t.client.put('during-election', 'v');
    await new Promise((r) => setTimeout(r, 100));
    t.cluster.elect('m1');
    const put = await pending;
    assert.equal(put.header.memberId, 'm1');
    assert.equal(t.cluster.group.applied.filter((a) => a.key === 'during-election').length, 1);
  });
});

describe('member health', () => {
  const t = withCluster(3);

  test('a stopped member is reported down and skipped; a restarted one up again', async () => {
    await settled(t.client, 3, 'm1');
    const down: MemberEvent[] = [];
    const up: MemberEvent[] = [];
    t.client.on('memberDown', (e) => down.push(e));
    t.client.on('memberUp', (e) => up.push(e));
    const m3 = t.cluster.member('m3');
    await m3.stop();
    const event = await until(() => down.find((e) => e.memberId === 'm3'), 'm3 reported down');
    assert.equal(event.address, m3.address);
    assert.ok(event.reason.length > 0);
    assert.equal(t.client.cluster().members.find((m) => m.id === 'm3')?.state, 'down');
    // Reads now go to the one follower left, never to the stopped one.
    const before = m3.requests.Get.length;
    for (let i = 0; i < 10; i++) assert.equal((await t.client.get('x', { mode: 'any-follower' })).header.memberId, 'm2');
    assert.equal(m3.requests.Get.length, before);
    await m3.restart();
    await until(() => up.find((e) => e.memberId === 'm3'), 'm3 reported up again');
    await settled(t.client, 3, 'm1');
  });

  test('a stopped member is probed over plain TCP once known down: refusals cost no gRPC call', async () => {
    await settled(t.client, 3, 'm1');
    const m2 = t.cluster.member('m2');
    await m2.stop();
    await until(() => t.client.cluster().members.find((m) => m.id === 'm2')?.state === 'down', 'm2 down');
    // The probes that follow (back-off from 200 ms here) ask over TCP first and are refused there.
    await until(
      () => /connection failed \(ECONNREFUSED at 127\.0\.0\.1:\d+\)/.test(t.client.cluster().members.find((m) => m.id === 'm2')?.lastError ?? ''),
      'a probe of m2 refused over TCP',
    );
    await m2.restart();
    await settled(t.client, 3, 'm1');
  });

  test('a paused member (like SIGSTOP: sockets open, no answers) is found down by its probes', async () => {
    await settled(t.client, 3, 'm1');
    const m2 = t.cluster.member('m2');
    m2.pause();
    await until(() => t.client.cluster().members.find((m) => m.id === 'm2')?.state === 'down', 'm2 down');
    assert.match(t.client.cluster().members.find((m) => m.id === 'm2')?.lastError ?? '', /probes in a row unanswered/);
    m2.resume();
    await settled(t.client, 3, 'm1');
  });
});

test('a paused leader is left as soon as another member reports the new one; the write in flight moves', async () => {
  const cluster = await FakeCluster.start(3);
  // Slow probes: only the WatchLeader news can explain a quick move.
  const client = await connect({ endpoints: cluster.addresses, heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 60_000 });
  try {
    await until(() => client.cluster().leader?.id === 'm1' && client.cluster().members.length === 3, 'the client follows m1');
    const m1 = cluster.member('m1');
    m1.pause();
    const pending = client.put('moved', 'v', { deadlineMs: 30_000 });
    await until(() => m1.requests.Put.some((r) => r.key.toString() === 'moved'), 'the write reached the paused leader');
    cluster.elect('m2'); // m1 is paused: only m2 and m3 announce it
    const put = await pending;
    assert.equal(put.header.memberId, 'm2');
    const sent = m1.requests.Put.find((r) => r.key.toString() === 'moved')!;
    const served = cluster.member('m2').requests.Put.find((r) => r.key.toString() === 'moved')!;
    assert.equal(served.sequence, sent.sequence);
    assert.equal(cluster.group.applied.filter((a) => a.key === 'moved').length, 1);
    assert.equal(client.cluster().leader?.id, 'm2');
  } finally {
    await client.close();
    await cluster.stop();
  }
});

test('seeds may be dead or foreign: the client uses the live members of its own cluster', async () => {
  const cluster = await FakeCluster.start(3);
  const foreign = await FakeCluster.start(1);
  Object.defineProperty(foreign.group, 'clusterId', { value: 'other-cluster' });
  const lines: string[] = [];
  const logger: ClientLogger = { error: (_f, m) => lines.push(m), warn: (_f, m) => lines.push(m) };
  const client = await connect({ endpoints: ['127.0.0.1:1', cluster.members[1]!.address, foreign.members[0]!.address], heartbeatIntervalMs: 200, logger });
  try {
    await settled(client, 3, 'm1');
    const view = client.cluster();
    assert.equal(view.clusterId, 'fake-cluster');
    assert.ok(!view.members.some((m) => m.address === foreign.members[0]!.address), 'the foreign member is not in the view');
    assert.equal(view.members.find((m) => m.address === '127.0.0.1:1')?.state, 'down');
    for (let i = 0; i < 6; i++) await client.get('k', { mode: 'any-follower' });
    assert.equal(foreign.members[0]!.requests.Get.length, 0);
    assert.ok(lines.some((l) => /belongs to cluster other-cluster/.test(l)));
  } finally {
    await client.close();
    await cluster.stop();
    await foreign.stop();
  }
});

test('on/once/off, and a throwing listener does not hurt the client', async () => {
  const cluster = await FakeCluster.start(2);
  const errors: string[] = [];
  const client = await connect({ endpoints: [cluster.members[0]!.address], heartbeatIntervalMs: 200, logger: { error: (_f, m) => errors.push(m) } });
  try {
    await settled(client, 2, 'm1');
    let all = 0;
    let first = 0;
    const listener = () => all++;
    client.on('leaderChange', listener);
    client.once('leaderChange', () => first++);
    client.on('leaderChange', () => {
      throw new Error('listener bug');
    });
    cluster.elect('m2');
    await until(() => client.cluster().leader?.id === 'm2', 'm2 leads');
    client.off('leaderChange', listener);
    cluster.elect('m1');
    await until(() => client.cluster().leader?.id === 'm1', 'm1 leads');
    assert.equal(all, 1);
    assert.equal(first, 1);
    assert.ok(errors.some((e) => /listener threw/.test(e)));
    assert.equal((await client.put('still', 'works')).header.memberId, 'm1');
    // @ts-expect-error not an event
    assert.throws(() => client.on('leader', () => {}), /event: must be/);
  } finally {
    await client.close();
    await cluster.stop();
  }
});
