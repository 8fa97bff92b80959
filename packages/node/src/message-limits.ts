// How large one gRPC message may be. A member refuses (RESOURCE_EXHAUSTED)
// any message over its receive limit, so everything members send each other
// is cut to fit the receiver's: peer batches and snapshot chunks alike.
// Members of one cluster run with the same --max-key-bytes and
// --max-value-bytes, so the sender computes the receiver's limit from its own.

/** Room in a request for everything but the key and the value. */
const REQUEST_OVERHEAD_BYTES = 64 * 1024;
/** Room in a peer message for its framing (message fields, batch and chunk headers). */
const PEER_FRAMING_BYTES = 16 * 1024;
/** Peer messages are not made larger than this even when the limit allows (latency of one message). */
const PEER_MESSAGE_CAP_BYTES = 1024 * 1024;

/** The largest message a member accepts: the largest key and value plus room for the rest of a request. */
export function maxReceiveMessageBytes(limits: { maxKeyBytes: number; maxValueBytes: number }): number {
  return limits.maxValueBytes + limits.maxKeyBytes + REQUEST_OVERHEAD_BYTES;
}

/**
 * What one peer message (a batch of Raft messages, a snapshot chunk) is cut
 * to: at most 1 MiB, and always within the receiver's limit. A single
 * record larger than this (one entry of a value at the maximum) still fits
 * the limit, and goes alone.
 */
export function peerMessageBudgetBytes(limits: { maxKeyBytes: number; maxValueBytes: number }): number {
  return Math.min(PEER_MESSAGE_CAP_BYTES, maxReceiveMessageBytes(limits) - PEER_FRAMING_BYTES);
}
