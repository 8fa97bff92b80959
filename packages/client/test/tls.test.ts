import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgument } from '../src/errors';
import { channelCredentials } from '../src/tls';

test('tls options: plaintext by default, TLS with a CA, a client certificate only with its key, never with credentials too', () => {
  assert.equal(channelCredentials(undefined, undefined)._isSecure(), false);
  const own = grpc.credentials.createSsl();
  assert.equal(channelCredentials(undefined, own), own);
  assert.equal(channelCredentials({}, undefined)._isSecure(), true);
  assert.throws(() => channelCredentials({ cert: 'x' }, undefined), (e: Error) => e instanceof InvalidArgument && /tls.cert.*tls.key.*go together/.test(e.message));
  assert.throws(() => channelCredentials({}, own), (e: Error) => e instanceof InvalidArgument && /either `tls` or `credentials`/.test(e.message));
});
