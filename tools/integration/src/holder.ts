// A separate process that holds a lease (and a key on it) or a lock, for
// tests that kill the holder: `node --import tsx src/holder.ts lease|lock
// ENDPOINT NAME TTL_MS`. Prints one JSON line once it holds, then keeps the
// lease alive until killed.
import { connect } from '@bellwether/client';

const [mode, endpoint, name, ttl] = process.argv.slice(2);
const ttlMs = Number(ttl);
const client = await connect({ endpoints: [endpoint!], heartbeatIntervalMs: 250 });
if (mode === 'lease') {
  const lease = await client.lease({ ttlMs });
  const put = await client.put(name!, 'held', { lease });
  console.log(JSON.stringify({ lease: lease.id, revision: put.revision }));
} else {
  const lock = await client.lock(name!, { ttlMs });
  console.log(JSON.stringify({ key: lock.key, revision: lock.revision }));
}
setInterval(() => {}, 1 << 30);
