/**
 * Node.js flags a member runs with (the `bellwether` binary's shebang passes
 * them; ServeProcess adds them when it starts members).
 *
 * `--initial-old-space-size=256`: V8 starts a full collection whenever the
 * old generation nears a limit it derives from the live heap. A member's heap
 * is small (~15 MiB live) while, under 1 MiB writes, it allocates and frees
 * ArrayBuffers at tens of MiB a second, so the default limit started a
 * mark-compact about every 160 ms on each member, 20-35 ms each. A 256 MiB
 * floor under the limit took server CPU per 1 MiB put from 54-63 ms to 42-44
 * ms on this machine (tools/bench/README.md, "Fifth pass"); small values and
 * peak RSS were unchanged. It reserves nothing: the limit only says when to
 * collect. V8 reads it when the process starts, so it cannot be set later
 * from code.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=256'];

/** Whether this process was started with the flags (a member logs a hint if not). */
export function startedWithServerFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return SERVER_NODE_FLAGS.every((f) => execArgv.some((a) => a.split('=')[0] === f.split('=')[0]));
}
