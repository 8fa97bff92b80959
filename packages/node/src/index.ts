export { ConfigError, DEFAULTS, deriveClusterId, type NodeConfig, parseAddress, parsePeers, validateConfig } from './config';
export { type StartedNode, startNode } from './node';
export { type PeerTransport, Replica } from './replica';
