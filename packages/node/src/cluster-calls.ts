import { type ClusterClient, loadPublicApi, unary } from '@bellwether/proto';
import * as grpc from '@grpc/grpc-js';

let clusterApi: ReturnType<typeof loadPublicApi> | undefined;

/** One unary Cluster call to a member (a client made for the call, closed after): probes at start, forwarding to a new leader. */
export async function callCluster<Res>(address: string, method: string, req: object, deadlineMs: number): Promise<Res> {
  clusterApi ??= loadPublicApi();
  const client: ClusterClient = new clusterApi.bellwether.cluster.v1.Cluster(address, grpc.credentials.createInsecure());
  try {
    return await unary<Res>(client as unknown as grpc.Client, method, req, deadlineMs);
  } finally {
    client.close();
  }
}
