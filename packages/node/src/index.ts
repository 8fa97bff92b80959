export { ConfigError, DEFAULTS, deriveClusterId, type NodeConfig, parseAddress, parsePeers, validateConfig } from './config';
export { type StartedNode, startNode } from './node';
export { type PeerTransport, Replica } from './replica';
export { type HttpEndpoints, readiness, startHttpEndpoints } from './http-endpoints';
export { NodeMetrics } from './metrics';
export { type RestoreOptions, type RestoreResult, restoreSnapshot } from './restore';
