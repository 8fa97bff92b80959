import * as grpc from '@grpc/grpc-js';
import type { NodeMetrics } from './metrics';

const CODE_NAMES = new Map<number, string>(Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

/** A server interceptor that counts every call by service, method and status code, and times it. */
export function grpcMetricsInterceptor(metricsNow: () => NodeMetrics | undefined): grpc.ServerInterceptor {
  return (method, call) => {
    const metrics = metricsNow();
    if (!metrics) return new grpc.ServerInterceptingCall(call);
    const startedMs = performance.now();
    // "/bellwether.kv.v1.KV/Put" -> service "bellwether.kv.v1.KV", method "Put"
    const slash = method.path.lastIndexOf('/');
    const labels = { grpc_service: method.path.slice(1, slash), grpc_method: method.path.slice(slash + 1) };
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      metrics.grpcHandled.inc({ ...labels, grpc_code: CODE_NAMES.get(code) ?? String(code) });
      metrics.grpcSeconds.observe(labels, (performance.now() - startedMs) / 1000);
    };
    return new grpc.ServerInterceptingCall(call, {
      // A call the client cancels gets no status from the handler.
      start: (next) => next(new grpc.ServerListenerBuilder().withOnCancel(() => finish(grpc.status.CANCELLED)).build()),
      sendStatus(status, next) {
        finish(status.code);
        next(status);
      },
    });
  };
}
