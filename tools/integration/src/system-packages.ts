// Debian packages the tests need (grpcio, prometheus, chromium, openssl):
// each has a script in ../scripts that installs it with apt when run as root
// and says what to install otherwise. Tests call it before first use, so
// `pnpm test` works on a fresh machine as the README promises.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const scripts = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts');

export type SystemPackage = 'python' | 'prometheus' | 'chromium' | 'openssl';

/** Runs scripts/ensure-NAME.sh (a no-op when the package is there); throws with its message when it cannot install. */
export function ensureSystemPackage(name: SystemPackage): void {
  execFileSync('bash', [join(scripts, `ensure-${name}.sh`)], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
}
