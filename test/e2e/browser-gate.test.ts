import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { browserAvailable, isCi, launchChromium } from '../helpers/browser.js';
import { projectRoot } from '../helpers/roster-process.js';

/*
 * Issue 17 item 7: tests that drive a browser fail, rather than skip or return early, when
 * Chromium is missing under CI=true. The gate is test/helpers/browser.ts; this proves its answers
 * and that every browser test goes through it.
 */

const MISSING = '/nonexistent/roster-test/chromium';

describe('the browser-test gate', () => {
  it('under CI=true a missing Chromium runs the browser tests, and launching says why they fail', async () => {
    expect(browserAvailable({ CI: 'true' }, MISSING)).toBe(true);
    expect(browserAvailable({ CI: '1' }, MISSING)).toBe(true);
    await expect(launchChromium(MISSING)).rejects.toThrow(`Chromium is not installed at ${MISSING}: browser tests must run in CI`);
  });

  it('outside CI (CI unset, empty, false or 0) a missing Chromium skips them', () => {
    for (const env of [{}, { CI: '' }, { CI: 'false' }, { CI: '0' }]) {
      expect(isCi(env)).toBe(false);
      expect(browserAvailable(env, MISSING)).toBe(false);
    }
  });

  it('every test that drives a browser is gated by browserAvailable() and never returns early or skips on its own', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts')) files.push(full);
      }
    };
    walk(path.join(projectRoot, 'test'));
    const gate = path.join(projectRoot, 'test/helpers/browser.ts');
    const drivers = files.filter((f) => f !== gate && /playwright|puppeteer|launchChromium|chromium\.launch/.test(readFileSync(f, 'utf8')));
    const browserTests = drivers.filter((f) => f.endsWith('.test.ts') && f !== path.join(projectRoot, 'test/e2e/browser-gate.test.ts'));
    expect(browserTests.map((f) => path.relative(projectRoot, f)).sort()).toEqual(
      expect.arrayContaining(['test/e2e/guided-tour.test.ts', 'test/e2e/playground.test.ts', 'test/governance/dashboard.test.ts']),
    );
    for (const file of browserTests) {
      const source = readFileSync(file, 'utf8');
      const where = path.relative(projectRoot, file);
      // Launching goes through the gate's launcher, which fails loudly without Chromium.
      expect({ where, ownLaunch: /chromium\.launch\(|puppeteer\.launch\(/.test(source) }).toEqual({ where, ownLaunch: false });
      // A skip decided by the test itself (existsSync of the binary, the CI variable) would bypass CI's rule.
      expect({ where, ownCheck: /process\.env\.CI|existsSync\(CHROMIUM|if \(!browserAvailable\(\)\)\s*return/.test(source) }).toEqual({
        where,
        ownCheck: false,
      });
      expect({ where, gated: /browserAvailable\(\)\s*\?\s*(describe|it)\s*:\s*(describe|it)\.skip/.test(source) }).toEqual({
        where,
        gated: true,
      });
    }
  });
});
