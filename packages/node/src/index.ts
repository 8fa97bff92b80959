export { ConfigError, DEFAULTS, deriveClusterId, type NodeConfig, parseAddress, type TlsFiles, parsePeers, validateConfig } from './config';
export { type StartedNode, startNode } from './node';
export { type PeerTransport, Replica } from './replica';
export { createDevCertificates, type DevCertificates, type DevIdentity } from './dev-certs';
