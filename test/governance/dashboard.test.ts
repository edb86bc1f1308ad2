import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ChatService, parseChatCommand } from '../../src/channels/chat.js';
import type { CommandEvent } from '../../src/commands/index.js';
import { DashboardLinks } from '../../src/core/fleet.js';
import { seedDemo } from '../../src/demo/seed-demo.js';
import { startTestRoster } from '../helpers/app.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { SHIPPED_CONFIG } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';
import { projectRoot } from '../helpers/roster-process.js';
import { browserAvailable, launchChromium } from '../helpers/browser.js';
import { asAgentId } from '../helpers/ids.js';

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
        const cspViolations: string[] = [];
        page.on('console', (message) => {
          if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
        });
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
        // The trend charts: drawn by uPlot (served by Roster) with date and percentage axes, the
        // baseline and both alert thresholds, for every agent with telemetry; nothing refused by the CSP.
        const fleet = await roster.services.dashboard.fleet();
        const withGuides = fleet.trends.filter((t) => t.guides.length === 3);
        expect(withGuides.length).toBeGreaterThan(0);
        await page
          .locator('[data-chart][data-rendered="true"]')
          .nth(fleet.trends.length - 1)
          .waitFor();
        expect(await page.locator('[data-chart][data-rendered="true"]').count()).toBe(fleet.trends.length);
        const trend = withGuides[0]!;
        const chart = page.locator(`[data-chart="${trend.agentId}"]`);
        const seriesLabels = (await chart.getAttribute('data-series'))!.split('|');
        expect(seriesLabels).toEqual(['Date', 'Accuracy', 'Baseline', 'Watch below', 'Degraded below']);
        // Each legend entry: the guide's name and its value (uPlot puts the colon in with CSS).
        const legend = await chart.locator('.u-legend .u-series').evaluateAll((rows) => rows.map((r) => (r.textContent ?? '').trim()));
        const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;
        for (const guide of trend.guides) expect(legend).toContain(`${guide.label.replace(/ [\d.]+%$/, '')}${pct(guide.value)}`);
        const months = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
        const xTicks = (await chart.getAttribute('data-x-ticks'))!.split('|');
        expect(xTicks.length).toBeGreaterThan(2);
        for (const tick of xTicks) expect(tick).toMatch(new RegExp(`^\\d{1,2} (${months})$`));
        const yTicks = (await chart.getAttribute('data-y-ticks'))!.split('|');
        expect(yTicks.length).toBeGreaterThan(2);
        for (const tick of yTicks) expect(tick).toMatch(/^\d+(\.\d)?%$/);
        expect(await chart.locator('.u-title').innerText()).toBe(`${trend.name}: daily accuracy`);
        // The canvas holds a drawing (the line, the axes), not a blank rectangle.
        const inked = await chart.locator('canvas').evaluate((element) => {
          // The test's TypeScript has no DOM types; this is an HTMLCanvasElement in the page.
          type Canvas = {
            width: number;
            height: number;
            getContext(kind: '2d'): { getImageData(...box: number[]): { data: ArrayLike<number> } };
          };
          const canvas = element as unknown as Canvas;
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          let count = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) count += 1;
          return count;
        });
        expect(inked).toBeGreaterThan(1000);
        expect(cspViolations).toEqual([]);
        // `npm run screenshots` keeps it for the README; other runs leave it in test-results.
        const dir = process.env.ROSTER_E2E_SCREENSHOTS ?? path.join(projectRoot, 'test-results');
        mkdirSync(dir, { recursive: true });
        await page.screenshot({ path: path.join(dir, 'dashboard.png'), fullPage: true });
        expect(existsSync(path.join(dir, 'dashboard.png'))).toBe(true);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it('the page loads only scripts and styles Roster serves, under a strict CSP, with dates, baseline and thresholds in its chart data', async () => {
    const response = await fetch(await linkFor(LIAM));
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy')!;
    const directives = Object.fromEntries(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    const html = await response.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    const sources = scripts.map((m) => /src="([^"]+)"/.exec(m[1]!)?.[1]).filter(Boolean);
    expect(sources).toEqual(['/dashboard/assets/uplot.js', '/dashboard/assets/dashboard.js']);
    // The only script without a source is the chart data, which is not executed.
    const inline = scripts.filter((m) => !/src=/.test(m[1]!));
    expect(inline.map((m) => m[1]!.trim())).toEqual(['type="application/json" id="chart-data"']);
    expect([...html.matchAll(/<link\b[^>]*href="([^"]+)"/g)].map((m) => m[1])).toEqual([
      '/dashboard/assets/uplot.css',
      '/dashboard/assets/dashboard.css',
    ]);
    expect(html).not.toMatch(/<style|\sstyle="|\son[a-z]+=/i);
    for (const asset of [...sources, '/dashboard/assets/uplot.css', '/dashboard/assets/dashboard.css']) {
      const file = await fetch(`${roster.baseUrl}${asset}`);
      expect({ asset, status: file.status }).toEqual({ asset, status: 200 });
      expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await fetch(`${roster.baseUrl}/dashboard/assets/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${roster.baseUrl}/dashboard/assets/uPlot.cjs.js`)).status).toBe(404);
    // uPlot as shipped in node_modules, byte for byte.
    expect(await (await fetch(`${roster.baseUrl}/dashboard/assets/uplot.js`)).text()).toBe(
      readFileSync(path.join(projectRoot, 'node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8'),
    );
    const data = JSON.parse(inline[0]![2]!) as Array<{
      agentId: string;
      days: string[];
      accuracy: number[];
      guides: Array<{ kind: string; value: number }>;
    }>;
    const fleet = await roster.services.dashboard.fleet();
    expect(data.map((t) => t.agentId)).toEqual(fleet.trends.map((t) => t.agentId));
    for (const trend of data) {
      expect(trend.days).toHaveLength(trend.accuracy.length);
      for (const day of trend.days) expect(day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    const guided = data.find((t) => t.guides.length > 0)!;
    expect(guided.guides.map((g) => g.kind)).toEqual(['baseline', 'watch', 'degraded']);
    const agent = (await roster.services.agents.get(asAgentId(guided.agentId)))!;
    expect(guided.guides[0]!.value).toBe(agent.baseline!.accuracy);
    expect(guided.guides[1]!.value).toBeLessThan(guided.guides[0]!.value);
    expect(guided.guides[2]!.value).toBeLessThan(guided.guides[1]!.value);
  });

  it('"fleet" in chat gives IT the same figures as a card, on both platforms', async () => {
    const reply = await chat.run(chat.person(LIAM)!, parseChatCommand('fleet'));
    const agents = await roster.services.agents.list({});
    expect(reply.card).toMatchObject({ kind: 'notice', data: { title: `Fleet: ${agents.length} agents` } });
    expect(String((reply.card.data as { text?: string }).text)).toContain(
      `probation ${agents.filter((a) => a.status === 'probation').length}`,
    );
    await expect(chat.run(chat.person(DANIEL)!, parseChatCommand('fleet'))).rejects.toMatchObject({ code: 'forbidden' });
  });

  it("the page's fleet, compliance and Find agents parts are the chat words' commands: the same handlers, given by the viewer", async () => {
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    try {
      const marcus = chat.person(MARCUS)!;
      await chat.run(marcus, parseChatCommand('fleet'));
      await chat.run(marcus, parseChatCommand('compliance'));
      await chat.run(marcus, parseChatCommand('find bu:finance'));
      const fromWords = events.splice(0);
      const url = await linkFor(MARCUS);
      events.splice(0);
      const page = await fetch(`${url}&bu=finance`);
      expect(page.status).toBe(200);
      await page.text();
      for (const type of ['fleet.show', 'compliance.report', 'agents.find'] as const) {
        const word = fromWords.find((e) => e.type === type);
        const dashboard = events.find((e) => e.type === type);
        expect(word).toMatchObject({ type, actor: MARCUS, outcome: 'done', stage: 'done' });
        expect(dashboard).toMatchObject({ type, actor: MARCUS, outcome: 'done', stage: 'done' });
        expect(dashboard!.handler).toBe(word!.handler);
      }
      // An IT admin's page has no compliance part: the report is not asked for at all.
      events.splice(0);
      expect((await fetch(await linkFor(LIAM))).status).toBe(200);
      expect(events.filter((e) => e.type === 'compliance.report')).toEqual([]);
      expect(events.find((e) => e.type === 'fleet.show')).toMatchObject({ actor: LIAM, outcome: 'done' });
    } finally {
      unobserve();
    }
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
