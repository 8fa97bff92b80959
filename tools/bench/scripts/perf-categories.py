#!/usr/bin/env python3
"""Where a whole machine's CPU went, by process and by kind of work, from a
system-wide `perf record` (kernel time, V8's background threads and native
code included, which a V8 .cpuprofile does not see).

    # members with --perf-basic-prof so JavaScript frames get names
    BELLWETHER_NODE_FLAGS=--perf-basic-prof pnpm bench --large --duration 20 &
    sleep 13; perf record -o /tmp/perf.data -a -g -- sleep 10
    python3 tools/bench/scripts/perf-categories.py /tmp/perf.data [--top 8]

Each sample is counted once, by the symbol it was taken in (self time), and
put in the first category whose pattern matches that symbol. Shares are of
all samples on all cores, idle included, so a row's figures add up to that
process's share of the machine.
"""
import argparse
import collections
import re
import subprocess

CATEGORIES = [
    ('gc-mark', r'Marking|MarkCompact|ProcessStrongHeap|ProcessWeakHeap|SizeFromMap|IteratePointers|ShouldVisit|MemoryChunkData|VisitEmbedded|Visit.*Pointer'),
    ('gc-sweep', r'Sweep'),
    ('gc-scavenge', r'Scaveng|SemiSpace|Evacuat'),
    ('gc-other', r'v8::internal::Heap|ArrayBuffer|PointersUpdating|RememberedSet|SlotSet|Compactor'),
    ('crc32', r'crc32'),
    ('memcpy', r'memmove|memcpy'),
    ('page-cache write', r'copy_folio_from_iter|ext4_|generic_perform_write|_copy_from_iter|iomap'),
    ('socket copy', r'_copy_to_iter|skb|tcp_|__inet|ip_|nf_'),
    ('page zero/fault', r'clear_page|page_fault|do_anonymous|handle_mm|unmap_page|free_pages|folio|zap_'),
    ('malloc', r'malloc|_int_free|cfree|^free$'),
    ('jit compiler', r'compiler::'),
    ('javascript', r'^JS:|Builtins_|Builtin_|Runtime_|v8::internal::IC|StoreIC|LoadIC'),
    ('nghttp2', r'nghttp2'),
    ('leveldb', r'leveldb'),
    ('idle', r'safe_halt|cpuidle|intel_idle|poll_idle'),
    ('scheduler/irq', r'spin_unlock|finish_task_switch|softirq|schedule|irq|iowrite'),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in CATEGORIES]


def category(symbol: str) -> str:
    for name, pattern in COMPILED:
        if pattern.search(symbol):
            return name
    return 'other'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data', help='a perf.data file from `perf record -a`')
    parser.add_argument('--top', type=int, default=8, help='processes to list')
    args = parser.parse_args()
    out = subprocess.run(['perf', 'script', '-i', args.data, '-F', 'pid,tid,ip,sym,dso', '-G'], capture_output=True, text=True, check=True).stdout
    by_process: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    names: dict[str, str] = {}
    for line in out.splitlines():
        m = re.match(r'\s*(\d+)/(\d+)\s+\S+\s+(.*)', line)
        if not m:
            continue
        pid, rest = m.group(1), m.group(3)
        symbol = rest.rsplit(' (', 1)[0].strip()
        by_process[pid][category(symbol)] += 1
    total = sum(sum(c.values()) for c in by_process.values())
    if total == 0:
        raise SystemExit('no samples (was perf record run with -a?)')
    for pid in by_process:
        try:
            names[pid] = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode()[:60]
        except OSError:
            names[pid] = ''
    ranked = sorted(by_process.items(), key=lambda kv: -sum(kv[1].values()))
    print(f'{total} samples; shares are % of all of them (every core, idle included)')
    for pid, counts in ranked[: args.top]:
        share = 100 * sum(counts.values()) / total
        detail = ', '.join(f'{name} {100 * n / total:.1f}' for name, n in counts.most_common(12))
        label = f'pid {pid} ({names[pid]})' if names[pid] else f'pid {pid}'
        print(f'{label}: {share:.1f}%: {detail}')
    everything: collections.Counter = collections.Counter()
    for counts in by_process.values():
        everything.update(counts)
    print('all processes: ' + ', '.join(f'{name} {100 * n / total:.1f}' for name, n in everything.most_common()))


if __name__ == '__main__':
    main()
