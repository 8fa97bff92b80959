import * as grpc from '@grpc/grpc-js';

/** A promisified unary call by method name, with a deadline (and optional metadata, e.g. an auth token); rejects with the grpc ServiceError. */
export function unary<Res>(client: grpc.Client, method: string, req: object, deadlineMs = 3000, metadata = new grpc.Metadata()): Promise<Res> {
  const fn = (client as unknown as Record<string, (r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => void>)[method];
  if (typeof fn !== 'function') return Promise.reject(new TypeError(`no unary method ${method}`));
  return new Promise((resolve, reject) => {
    fn.call(client, req, metadata, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}
