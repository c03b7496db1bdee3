import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/*
 * Debian's Chromium, headless, driven by playwright-core (which downloads no browser). Without it
 * a browser test is skipped with a printed reason, except in CI (CI set), where it fails:
 * .ci/run installs it.
 */

// Test knobs, not build inputs: read here, once.
const { env } = process;
export const CHROMIUM = env['CHORUS_CHROMIUM'] ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
export const inCi = (env['CI'] ?? '') !== '';
/** Whether browser tests run here: with Chromium, and always in CI (where they fail without it). */
export const runBrowserTests = haveChromium || inCi;

export function reportSkip(file: string): void {
  if (!runBrowserTests) {
    process.stderr.write(
      `${file}: browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`,
    );
  }
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser with a fresh profile, and its cleanup. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!haveChromium) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  const profile = await mkdtemp(join(tmpdir(), 'chorus-chromium-'));
  // launchPersistentContext: the profile directory is ours (fresh, removed after), not Chromium's default.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
