import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's `chromium` (apt-get install chromium), or the one BERTH_CHROMIUM names. */
export const CHROMIUM_PATH = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether Chromium is installed. Where the other services are required
 * (BERTH_REQUIRE_DOCKER=1, as `.ci/run` sets, or CI) its absence is a
 * failure, not a skip.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const required = process.env.BERTH_REQUIRE_DOCKER === '1' || process.env.CI === 'true' || process.env.CI === '1';
  if (required) throw new Error(`Chromium is required (BERTH_REQUIRE_DOCKER=1 or CI) but ${CHROMIUM_PATH} does not exist: apt-get install chromium`);
  console.warn(`\n*** SKIPPING browser tests: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium) ***\n`);
  return false;
}

/**
 * Headless Chromium as a user's browser, minus what needs a desktop or the
 * network: no sandbox (tests may run as root), no GPU, no update or
 * background traffic. `resolverRules` maps names to addresses the way a DNS answer
 * would (`MAP rebind.test 127.0.0.1`); `extraArgs` are more switches.
 */
export function launchChromium(resolverRules?: string, extraArgs: string[] = []): Promise<Browser> {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', ...extraArgs];
  if (resolverRules !== undefined) args.push(`--host-resolver-rules=${resolverRules}`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args });
}
