import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { emojiFontConfig } from '../../scripts/emoji-font.js';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** From the machine notes: what Chromium needs on a closed network, as root. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether the environment says it is CI (`CI=true`, `CI=1`…); `CI=false` or `CI=0` is not. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return Boolean(value) && value !== 'false' && value !== '0';
}

/**
 * Whether browser tests run: always in CI, where a missing Chromium must fail them (launchChromium
 * says why) rather than skip them; elsewhere only when Chromium is installed, so a developer without
 * it sees them skipped, never passed.
 */
export function browserAvailable(env: NodeJS.ProcessEnv = process.env, executablePath = CHROMIUM): boolean {
  return isCi(env) || existsSync(executablePath);
}

/** Headless Chromium; rejects with the reason when it is not installed (the test then fails). */
export async function launchChromium(executablePath = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium is not installed at ${executablePath}: browser tests must run in CI (install it with \`apt-get install chromium\`, as .ci/run does, or set CHROMIUM_PATH)`,
    );
  }
  // Colour emoji from the npm font (scripts/emoji-font.ts): screenshots show 💚 and 🔴, not empty boxes.
  return chromium.launch({
    executablePath,
    args: CHROMIUM_ARGS,
    headless: true,
    env: { ...process.env, FONTCONFIG_FILE: emojiFontConfig() },
  });
}

/** A port nobody listens on now (the Playground would silently pick a random one if ours were taken). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
