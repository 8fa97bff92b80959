import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, test } from 'node:test';
import { startProxy } from '../src/proxy';

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function backend(name: string): Promise<string> {
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => res.end(`${name} ${req.method} ${req.url} ${body}`));
  });
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

test('the proxy sends consecutive requests to the app processes in turn, bodies included', async () => {
  const targets = [await backend('a'), await backend('b')];
  const forwarded: string[] = [];
  const proxy = await startProxy({ targets, onForward: (req, target) => void forwarded.push(`${req.method} ${target}`) });
  try {
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${proxy.url}/p${i}`, i % 2 ? { method: 'POST', body: `x=${i}` } : {});
      answers.push(await res.text());
    }
    assert.deepEqual(answers, ['a GET /p0 ', 'b POST /p1 x=1', 'a GET /p2 ', 'b POST /p3 x=3']);
    assert.deepEqual(forwarded, [`GET ${targets[0]}`, `POST ${targets[1]}`, `GET ${targets[0]}`, `POST ${targets[1]}`]);
  } finally {
    await proxy.close();
  }
});

test('a target that is down gives 502, and the next request goes to the other one', async () => {
  const up = await backend('up');
  const proxy = await startProxy({ targets: ['127.0.0.1:1', up] });
  try {
    const first = await fetch(`${proxy.url}/`);
    assert.equal(first.status, 502);
    assert.match(await first.text(), /127\.0\.0\.1:1 failed/);
    assert.equal(await (await fetch(`${proxy.url}/`)).text(), 'up GET / ');
  } finally {
    await proxy.close();
  }
});

test('a stream is passed through as it comes, and closing it at the browser closes it at the app', async () => {
  let closedAtApp!: () => void;
  const closed = new Promise<void>((r) => {
    closedAtApp = r;
  });
  const s = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    req.on('close', () => closedAtApp());
  });
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const proxy = await startProxy({ targets: [`127.0.0.1:${(s.address() as { port: number }).port}`] });
  try {
    const abort = new AbortController();
    const res = await fetch(`${proxy.url}/events`, { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    assert.equal(new TextDecoder().decode(value), 'data: first\n\n');
    abort.abort();
    await closed;
  } finally {
    await proxy.close();
  }
});
