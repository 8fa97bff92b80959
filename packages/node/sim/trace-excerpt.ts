/**
 * The part of a failing run's trace that concerns its violation, so a
 * failure prints a page instead of thousands of events:
 * - the operations the violation names: a client's acknowledged write or
 *   served read whose sequence, revision or returned value the violation
 *   mentions ("c1 seq 17 acked ...", "c1 read-your-writes read on n4 ...
 *   returned 15 ..."), and the violation itself;
 * - nearest in time to those, cluster-wide events (leader changes, crashes,
 *   restarts, partitions, transfers, snapshot installs, membership changes),
 *   then other lines naming the violation's clients or members.
 */

export interface TraceExcerpt {
  /** The chosen lines, in the trace's order. */
  lines: string[];
  /** Lines in the whole trace. */
  of: number;
  /** The operations the violation names (included in `lines`). */
  operations: string[];
}

const CLUSTER_EVENT =
  /sees leader|crashed|crashes|started|stopped|partition|isolated|healed|cut$|transfer leadership|proposes|applied at|not made|power failure|chaos over/;
const ACK = /^(c\d+) seq (\d+) acked by n\d+ at revision (\d+)/;
const READ = /^(c\d+) \S+ read on n\d+ of (c\d+)'s key returned (\d+)/;

interface Line {
  at: number;
  text: string;
  pos: number;
}

function parse(line: string, pos: number): Line {
  // `s`: a node error's violation line carries its stack, over several lines.
  const m = /^\s*(\d+)ms (.*)$/s.exec(line);
  return m ? { at: Number(m[1]), text: m[2]!, pos } : { at: 0, text: line, pos };
}

export function traceExcerpt(trace: readonly string[], violation: string, maxLines = 60): TraceExcerpt {
  const lines = trace.map(parse);
  const names = new Set(violation.match(/\b[cn]\d+\b/g) ?? []);
  const numbers = new Set(violation.match(/\b\d+\b/g) ?? []);
  const isOperation = (l: Line): boolean => {
    const ack = ACK.exec(l.text);
    if (ack) return names.has(ack[1]!) && (numbers.has(ack[2]!) || numbers.has(ack[3]!));
    const read = READ.exec(l.text);
    return read !== null && (names.has(read[1]!) || names.has(read[2]!)) && numbers.has(read[3]!);
  };
  const anchors = lines.filter((l) => isOperation(l) || l.text.startsWith('VIOLATION '));
  // Without a named operation (liveness, a Raft assertion), the end of the run is where to look.
  const anchorTimes = anchors.length > 0 ? anchors.map((l) => l.at) : [lines[lines.length - 1]?.at ?? 0];
  const distance = (l: Line) => Math.min(...anchorTimes.map((t) => Math.abs(t - l.at)));
  const nearest = (ls: Line[], n: number) => ls.sort((a, b) => distance(a) - distance(b) || b.pos - a.pos).slice(0, Math.max(0, n));
  const chosen = new Set(anchors.slice(-maxLines));
  const rest = lines.filter((l) => !chosen.has(l));
  const events = rest.filter((l) => CLUSTER_EVENT.test(l.text));
  for (const l of nearest(events, Math.ceil(((maxLines - chosen.size) * 2) / 3))) chosen.add(l);
  const named = rest.filter((l) => !chosen.has(l) && [...l.text.matchAll(/\b[cn]\d+\b/g)].some((m) => names.has(m[0])));
  for (const l of nearest(named, maxLines - chosen.size)) chosen.add(l);
  const ordered = [...chosen].sort((a, b) => a.pos - b.pos);
  return { lines: ordered.map((l) => trace[l.pos]!), of: trace.length, operations: anchors.filter(isOperation).map((l) => trace[l.pos]!) };
}
