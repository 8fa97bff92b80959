// Python (Debian's grpcio) against real nodes: stubs generated from protos/ at test time.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackage } from './system-packages';

const here = dirname(fileURLToPath(import.meta.url));
const protos = join(here, '..', '..', '..', 'protos');
export const PYTHON = '/usr/bin/python3';
export const PYTHON_SCRIPTS = join(here, '..', 'python');

function reflectionProto(): string {
  // The reflection service's own .proto, shipped by @grpc/reflection.
  const require = createRequire(join(here, '..', '..', '..', 'packages', 'node', 'package.json'));
  const pkg = dirname(require.resolve('@grpc/reflection/package.json'));
  return join(pkg, 'build', 'proto', 'grpc', 'reflection', 'v1alpha', 'reflection.proto');
}

/** Installs grpcio if missing (as root, via apt) and generates the public API's Python stubs into `work`. */
export function generatePythonStubs(work: string): void {
  ensureSystemPackage('python');
  // Flat file names, so the generated modules don't shadow grpcio's own `grpc` package.
  copyFileSync(join(protos, 'bellwether/kv/v1/kv.proto'), join(work, 'kv.proto'));
  copyFileSync(join(protos, 'bellwether/cluster/v1/cluster.proto'), join(work, 'cluster.proto'));
  copyFileSync(join(protos, 'bellwether/maintenance/v1/maintenance.proto'), join(work, 'maintenance.proto'));
  copyFileSync(join(protos, 'bellwether/auth/v1/auth.proto'), join(work, 'auth.proto'));
  // lease.proto imports kv.proto by its path in protos/; flat, it is next door.
  const lease = readFileSync(join(protos, 'bellwether/lease/v1/lease.proto'), 'utf8');
  writeFileSync(join(work, 'lease.proto'), lease.replace('import "bellwether/kv/v1/kv.proto";', 'import "kv.proto";'));
  copyFileSync(reflectionProto(), join(work, 'reflection.proto'));
  const files = ['kv.proto', 'cluster.proto', 'maintenance.proto', 'auth.proto', 'lease.proto', 'reflection.proto'];
  execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', '-I', work, `--python_out=${work}`, `--grpc_python_out=${work}`, ...files], {
    stdio: 'inherit',
  });
}
