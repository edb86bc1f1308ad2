import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ChatService, parseChatCommand } from '../../src/channels/chat.js';
import { DashboardLinks } from '../../src/core/fleet.js';
import { seedDemo } from '../../src/demo/seed-demo.js';
import { startTestRoster } from '../helpers/app.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { SHIPPED_CONFIG } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';
import { projectRoot } from '../helpers/roster-process.js';
import { browserAvailable, launchChromium } from '../helpers/browser.js';

const LIAM = 'liam.oneill@brightwater.example'; // it-admin
const MARCUS = 'marcus.johnson@brightwater.example'; // compliance
const DANIEL = 'daniel.okafor@brightwater.example'; // requester

describe('GET /dashboard: signed, person-bound links', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let chat: ChatService;
  beforeAll(async () => {
    roster = await startTestRoster({ env: { ROSTER_DASHBOARD_SECRET: 'test-dashboard-secret-0123456789' } });
    const org = loadOrgConfig(SHIPPED_CONFIG);
    await seedDemo(roster.db.connection, org, roster.services.flows, silentLogger());
    chat = new ChatService(org, roster.services, silentLogger());
  }, 120_000);
  afterAll(async () => {
    await roster.stop();
  });

  const linkFor = async (email: string) => {
    const reply = await chat.run(chat.person(email)!, parseChatCommand('dashboard'));
    const url = /http:\/\/\S+/.exec(String((reply.card.data as { text?: string }).text))![0];
    return url.replace(/^http:\/\/127\.0\.0\.1:\d+/, roster.baseUrl);
  };

  it("IT admins' home (Slack App Home, Teams home card) shows the fleet at a glance; others' does not", async () => {
    const home = await chat.home(chat.person(LIAM)!);
    const agents = await roster.services.agents.list({});
    const fleet = (home.data as { fleet?: { title: string; facts: Array<{ label: string; value: string }> } }).fleet!;
    expect(fleet.title).toBe(`Fleet: ${agents.length} agents`);
    const fact = (label: string) => fleet.facts.find((f) => f.label === label)!.value;
    expect(fact('Status')).toContain(`active ${agents.filter((a) => a.status === 'active').length}`);
    expect(fact('On probation').split(', ').sort()).toEqual(
      agents
        .filter((a) => a.status === 'probation')
        .map((a) => a.name)
        .sort(),
    );
    const view = await roster.services.dashboard.fleet();
    expect(fact('Cost')).toBe(`$${view.cost.thisMonth} this month (last month $${view.cost.lastMonth})`);
    expect(fact('Value delivered')).toContain(`$${view.value.valueUSD} from ${view.value.tasksThisMonth} tasks`);
    for (const email of [MARCUS, DANIEL]) expect((await chat.home(chat.person(email)!)).data).not.toHaveProperty('fleet');
  });

  // CI must run this (a missing Chromium fails it there); elsewhere it is skipped without Chromium.
  const itWithChromium = browserAvailable() ? it : it.skip;

  itWithChromium(
    'a fresh link opens in headless Chromium with figures matching the database, and a screenshot is saved',
    async () => {
      const url = await linkFor(MARCUS);
      const agents = await roster.services.agents.list({});
      const probation = agents
        .filter((a) => a.status === 'probation')
        .map((a) => a.id)
        .sort();
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const response = await page.goto(url);
        expect(response?.status()).toBe(200);
        expect(await page.locator('[data-figure="total"]').innerText()).toBe(String(agents.length));
        for (const status of ['active', 'retired', 'suspended']) {
          expect(Number(await page.locator(`[data-status="${status}"]`).innerText())).toBe(
            agents.filter((a) => a.status === status).length,
          );
        }
        expect(
          (await page.locator('[data-probation]').evaluateAll((els) => els.map((e) => e.getAttribute('data-probation')))).sort(),
        ).toEqual(probation);
        const alerts = await roster.services.supervision.alertRepo.list({ status: ['open', 'acknowledged', 'snoozed'] });
        expect(Number(await page.locator('[data-alerts="critical"]').innerText())).toBe(
          alerts.filter((a) => a.severity === 'critical').length,
        );
        expect(await page.locator('[data-gap="open-fairness-finding"]').count()).toBeGreaterThan(0);
        expect(await page.locator('svg polyline').count()).toBeGreaterThan(3);
        const dir = path.join(projectRoot, 'test-results');
        mkdirSync(dir, { recursive: true });
        await page.screenshot({ path: path.join(dir, 'dashboard.png'), fullPage: true });
        expect(existsSync(path.join(dir, 'dashboard.png'))).toBe(true);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it('"fleet" in chat gives IT the same figures as a card, on both platforms', async () => {
    const reply = await chat.run(chat.person(LIAM)!, parseChatCommand('fleet'));
    const agents = await roster.services.agents.list({});
    expect(reply.card).toMatchObject({ kind: 'notice', data: { title: `Fleet: ${agents.length} agents` } });
    expect(String((reply.card.data as { text?: string }).text)).toContain(
      `probation ${agents.filter((a) => a.status === 'probation').length}`,
    );
    await expect(chat.run(chat.person(DANIEL)!, parseChatCommand('fleet'))).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('an expired, tampered or missing link gets 401; a requester gets no link at all', async () => {
    const url = await linkFor(LIAM);
    expect((await fetch(url)).status).toBe(200);
    const token = new URL(url).searchParams.get('token')!;
    const tampered = `${token.slice(0, -2)}${token.endsWith('A') ? 'B' : 'A'}x`;
    expect((await fetch(`${roster.baseUrl}/dashboard?token=${tampered}`)).status).toBe(401);
    expect((await fetch(`${roster.baseUrl}/dashboard`)).status).toBe(401);
    const expired = new DashboardLinks('test-dashboard-secret-0123456789').issue(LIAM, Date.now() - 16 * 60_000);
    expect((await fetch(`${roster.baseUrl}/dashboard?token=${expired}`)).status).toBe(401);
    const forged = new DashboardLinks('another-secret').issue(LIAM);
    expect((await fetch(`${roster.baseUrl}/dashboard?token=${forged}`)).status).toBe(401);
    // A valid signature for someone who may not read the dashboard is refused too.
    const requesterToken = new DashboardLinks('test-dashboard-secret-0123456789').issue(DANIEL);
    expect((await fetch(`${roster.baseUrl}/dashboard?token=${requesterToken}`)).status).toBe(401);
    await expect(chat.run(chat.person(DANIEL)!, parseChatCommand('dashboard'))).rejects.toMatchObject({ code: 'forbidden' });
  });
});
