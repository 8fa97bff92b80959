export { ConfigError, DEFAULTS, deriveClusterId, type NodeConfig, parseAddress, type TlsFiles, parsePeers, validateConfig } from './config';
export { type StartedNode, startNode } from './node';
export { type PeerTransport, Replica } from './replica';
export { type Clock, type ClockTimer, systemClock } from './clock';
export { createDevCertificates, type DevCertificates, type DevIdentity } from './dev-certs';
export { type HttpEndpoints, readiness, startHttpEndpoints } from './http-endpoints';
export { NodeMetrics } from './metrics';
export { type RestoreOptions, type RestoreResult, restoreSnapshot } from './restore';
