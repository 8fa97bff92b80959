// Headless Chromium for browser tests: Debian's chromium driven by
// playwright-core (playwright's own browser downloads are never used).
// tools/integration/scripts/ensure-chromium.sh installs it.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { ensureSystemPackage } from './system-packages';

/** Debian's chromium, or CHROMIUM_PATH. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Flags for a headless run as root in a container, without background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Launches headless Chromium, or throws saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!process.env['CHROMIUM_PATH']) ensureSystemPackage('chromium');
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run tools/integration/scripts/ensure-chromium.sh (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
