import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfChange } from '@bellwether/raft';
import pino from 'pino';
import { decodeIncarnations } from '../src/incarnation';
import { IncarnationRecorder } from '../src/incarnation-recorder';
import type { MemberChanges } from '../src/member-changes';
import type { MemberInfo } from '../src/membership';
import type { Replica } from '../src/replica';

const m = (id: string, incarnation = '', voter = true): MemberInfo => ({ id, address: `127.0.0.1:700${id.slice(1)}`, voter, incarnation });

/** A leader n1 whose members and peers' presented incarnations the test sets; returns what it proposed. */
function leader(members: MemberInfo[], presented: Record<string, string>) {
  const proposed: Record<string, string>[] = [];
  const replica = { isLeader: true, memberId: 'n1', memberList: () => members } as unknown as Replica;
  const changes = {
    isUp: (id: string) => id in presented,
    propose: async (cc: ConfChange) => {
      proposed.push(decodeIncarnations(cc.context));
    },
  } as unknown as MemberChanges;
  const recorder = new IncarnationRecorder({ replica, changes, incarnation: 'i1', presentedIncarnation: (id) => presented[id], log: pino({ level: 'silent' }) });
  return { proposed, recorder };
}

async function runFor(recorder: IncarnationRecorder, ms: number): Promise<void> {
  const stop = recorder.start();
  await new Promise((r) => setTimeout(r, ms));
  stop();
}

test('the first record waits for every initial voter: a voter that starts late is never left heard but not counted', async () => {
  const presented: Record<string, string> = { n2: 'i2' };
  const { proposed, recorder } = leader([m('n1'), m('n2'), m('n3')], presented);
  await runFor(recorder, 350);
  assert.deepEqual(proposed, [], 'n3 has not connected: nothing recorded, so every member still counts');
  presented['n3'] = 'i3';
  await runFor(recorder, 350);
  assert.deepEqual(proposed[0], { n1: 'i1', n2: 'i2', n3: 'i3' }, 'all three in one record');
});

test('once incarnations are recorded, a new learner is recorded on its own', async () => {
  const { proposed, recorder } = leader([m('n1', 'i1'), m('n2', 'i2'), m('n3', 'i3'), m('n4', '', false)], { n2: 'i2', n3: 'i3', n4: 'i4' });
  await runFor(recorder, 350);
  assert.deepEqual(proposed[0], { n4: 'i4' });
});
