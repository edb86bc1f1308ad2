import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { slackMessagePage } from '../../scripts/slack-preview.js';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { startTestRoster } from '../helpers/app.js';
import { browserAvailable, launchChromium } from '../helpers/browser.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { degradedAgent } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { actionElements } from '../helpers/slack-blocks.js';

/*
 * The README's Slack check-in card: the blocks Roster posted to the sponsor (through the fake
 * Slack Web API), drawn as Slack draws them (scripts/slack-preview.ts) in headless Chromium, with
 * the chart image fetched from Roster's signed /charts link. `npm run screenshots` saves it in
 * docs/screenshots; otherwise it goes to test-results.
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' };
const PUBLIC_URL = 'https://roster.example.com';
const SCREENSHOTS = process.env.ROSTER_E2E_SCREENSHOTS;

// CI must run this (a missing Chromium fails it there); elsewhere it is skipped without Chromium.
const describeIfChromium = browserAvailable() ? describe : describe.skip;

describeIfChromium('a Slack check-in card with the chart Roster rendered (headless Chromium)', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({
      env: { ...slack.rosterEnv(), ROSTER_PUBLIC_URL: PUBLIC_URL, ROSTER_CHART_SECRET: 'screenshot-chart-secret-0123456789abcdef' },
      channels: [createSlackChannel],
    });
  }, 60_000);
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
  });

  it('shows the findings in words, the chart image loaded from its signed link, and the buttons', async () => {
    await degradedAgent(roster, {
      name: 'Refund Triage',
      sponsors: [PRIYA.email],
      baseline: { accuracy: 0.92, p95LatencyMs: 900, costPerTaskUSD: 0.02 },
    });
    const review = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && actionElements(a.blocks).some((b) => b.action_id === 'checkin_retrain'),
    );

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 820, height: 900 }, deviceScaleFactor: 1 });
      await page.setContent(slackMessagePage(review.args.blocks, { imageUrl: (url) => url.replace(PUBLIC_URL, roster.baseUrl) }), {
        waitUntil: 'load',
      });
      const image = page.locator('.image img');
      expect(await image.count()).toBe(1);
      expect(await image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(1440);
      expect(await image.getAttribute('alt')).toMatch(/^Daily accuracy, last \d+ days: from /);
      const text = await page.locator('.blocks').innerText();
      expect(text).toContain('🔴 Check-in: Refund Triage');
      expect(text).toMatch(/Accuracy fell from 9\d% to [78]\d% over \d+ days; this is very unlikely to be chance\./);
      expect(text).not.toContain('z = ');
      for (const label of ['🔢 Show the numbers', 'Keep', 'Retrain', 'Retire']) expect(text).toContain(label);
      const dir = SCREENSHOTS ?? path.join(projectRoot, 'test-results');
      mkdirSync(dir, { recursive: true });
      await page.locator('.message').screenshot({ path: path.join(dir, 'slack-checkin.png') });
    } finally {
      await browser.close();
    }
  }, 90_000);
});
