// Auth administration over raw gRPC for tests: each call as a given user
// (a fresh token per call, so short token lifetimes do not matter).
import { type AuthClient, AUTHORIZATION_METADATA, loadPublicApi, unary } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';

export class AuthAdmin {
  private readonly clients = new Map<string, AuthClient>();

  constructor(private readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {}

  client(address: string): AuthClient {
    let c = this.clients.get(address);
    if (!c) {
      c = new (loadPublicApi().bellwether.auth.v1.Auth)(address, this.credentials);
      this.clients.set(address, c);
    }
    return c;
  }

  /** Calls `method` at `address`, with a token of `as` ({name, password}) when given. */
  async call<Res = unknown>(address: string, method: string, req: object, as?: { name: string; password: string }): Promise<Res> {
    const md = new grpc.Metadata();
    if (as) md.set(AUTHORIZATION_METADATA, `Bearer ${await this.token(address, as.name, as.password)}`);
    return this.raw<Res>(address, method, req, md);
  }

  async token(address: string, name: string, password: string): Promise<string> {
    const res = await this.raw<{ token: string }>(address, 'Authenticate', { name, password }, new grpc.Metadata());
    return res.token;
  }

  raw<Res>(address: string, method: string, req: object, md: grpc.Metadata): Promise<Res> {
    return unary<Res>(this.client(address) as unknown as grpc.Client, method, req, 10_000, md);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
