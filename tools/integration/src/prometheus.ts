// A real Prometheus (Debian's package) run by a test: its own config, data
// dir and ephemeral port on 127.0.0.1, stopped by PID like the nodes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerProcess } from '@bellwether/server/process';
import { ensureSystemPackage } from './system-packages';

/** The prometheus binary, or an error that says how to install it. */
export function prometheusBin(): string {
  ensureSystemPackage('prometheus');
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('prometheus is not installed; run tools/integration/scripts/ensure-prometheus.sh (apt-get install -y --no-install-recommends prometheus)');
  }
}

export class PrometheusProcess extends ServerProcess {
  private readonly configPath: string;

  constructor(address: string, root: string, targets: string[]) {
    const dataDir = join(root, 'prometheus-data');
    mkdirSync(dataDir, { recursive: true });
    super('prometheus', address, dataDir, root);
    this.configPath = join(root, 'prometheus.yml');
    writeFileSync(
      this.configPath,
      [
        'global:',
        '  scrape_interval: 1s',
        // A busy member (a loaded CI machine) may take most of the interval to answer.
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: bellwether',
        '    static_configs:',
        `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
        '',
      ].join('\n'),
    );
  }

  protected commandLine(extraArgs: string[]): { bin: string; args: string[] } {
    return {
      bin: prometheusBin(),
      args: [`--config.file=${this.configPath}`, `--storage.tsdb.path=${this.dataDir}`, `--web.listen-address=${this.address}`, ...extraArgs],
    };
  }

  /** Runs an instant PromQL query; resolves with each series' labels and value. */
  async query(promql: string): Promise<{ labels: Record<string, string>; value: number }[]> {
    const res = await fetch(`http://${this.address}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
    return (body.data?.result ?? []).map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  }
}
