import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { startPlayground, type RunningPlayground } from '../../scripts/playground.js';
import { createTeamsChannel } from '../../src/channels/teams/index.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { seedDemo } from '../../src/demo/seed-demo.js';
import { startTestRoster } from '../helpers/app.js';
import { SHIPPED_CONFIG } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';
import { browserAvailable, freePort, launchChromium } from '../helpers/browser.js';

/*
 * The README's guided tour, first three steps, as a newcomer follows it: the demo is seeded,
 * then Liam (IT admin) in the Agents Playground sends "list all", "show Ticket Drafter" and
 * "show Refund Triage" and sees what the tour promises.
 */

const LIAM = 'liam.oneill@brightwater.example';

const describeIfChromium = browserAvailable() ? describe : describe.skip;

describeIfChromium('the guided tour in the Agents Playground (headless Chromium)', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let playground: RunningPlayground;
  let browser: Browser;

  beforeAll(async () => {
    roster = await startTestRoster({ channels: [createTeamsChannel] });
    const org = loadOrgConfig(SHIPPED_CONFIG);
    await seedDemo(roster.db.connection, org, roster.services.flows, silentLogger());
    const work = mkdtempSync(path.join(tmpdir(), 'roster-tour-'));
    playground = await startPlayground({
      org,
      as: LIAM,
      endpoint: `${roster.baseUrl}/api/messages`,
      port: await freePort(),
      workDir: path.join(work, 'liam'),
    });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await playground?.stop();
    await roster?.stop();
  });

  const card = (page: Page, text: string | RegExp): Locator => page.locator('.ac-adaptiveCard').filter({ hasText: text }).last();
  async function say(page: Page, text: string): Promise<void> {
    await page.locator('[role=textbox][contenteditable=true]').click();
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
  }

  it('list all → show Ticket Drafter → show Refund Triage', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(playground.url);
    await card(page, "Hi Liam, I'm Roster").waitFor();

    // 1. Twelve agents, one in every lifecycle status.
    await say(page, 'list all');
    const list = card(page, 'All agents');
    await list.waitFor();
    for (const name of ['Handbook Helper', 'Ticket Drafter', 'Fraud Screen EU', 'FAQ Bot v1', 'Payroll Q&A'])
      expect(await list.innerText()).toContain(name);

    // 2. The drifting agent is on probation.
    await say(page, 'show Ticket Drafter');
    const drafter = card(page, /Ticket Drafter/);
    await drafter.filter({ hasText: 'probation' }).waitFor();

    // 3. The biased agent too; the fairness alert paged on-call (Liam is on level 1).
    await say(page, 'show Refund Triage');
    await card(page, /Refund Triage/)
      .filter({ hasText: 'probation' })
      .waitFor();
    const fairness = (await roster.services.supervision.alertRepo.list({ kind: 'fairness' })).map((a) => a.agentId);
    expect(fairness).toContain('agt_de00000000000003');
  }, 90_000);
});
