// The copies of a 1 MiB value on its way through a real 3-member cluster,
// counted by the copy counter (scripts/copy-count-preload.mjs) in the client
// and in every member: the figures docs/large-values.md gives must hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countCopies } from '../src/copy-count';

const MIB = 1024 * 1024;

test('a 1 MiB put through the SDK is copied 10 times in JavaScript: client 2, leader 6, each follower 1; storing the entry and the value copies nothing on any member', { timeout: 120_000 }, async () => {
  const counts = await countCopies('bellwether-sdk', MIB);
  const show = JSON.stringify(counts, null, 1);
  const client = counts.find((c) => c.role === 'client')!;
  const leader = counts.find((c) => c.role === 'leader')!;
  const followers = counts.filter((c) => c.role === 'follower');
  assert.equal(followers.length, 2, show);
  assert.equal(client.copies, 2, `client: protobuf encode and gRPC framing\n${show}`);
  const leaderSites = Object.keys(leader.sites);
  assert.equal(leaderSites.filter((s) => s.includes('encodeCommand')).length, 1, show);
  // Peer sends: one protobuf encode and one framing per follower (a resend on a loaded machine would add two more).
  assert.ok(leader.copies <= 6, `leader ${leader.copies} copies\n${show}`);
  assert.ok(leader.copies >= 2 + 2 * 2, `the counter sees every copy it should\n${show}`);
  for (const f of followers) {
    assert.ok(f.copies <= 1, `${f.who} ${f.copies} copies: gRPC reassembly only\n${show}`);
  }
  // The value goes to a blob file as it is: no stored record is built around it.
  for (const c of counts) assert.ok(!Object.keys(c.sites).some((s) => s.includes('encodeStoredKeyValue')), `${c.who} copied the value into a record\n${show}`);
});
