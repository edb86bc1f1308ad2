import type { AddressInfo } from 'node:net';
import express from 'express';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { createChartRouter } from '../../src/http/charts.js';
import type { AgentRecord } from '../../src/core/agents.js';
import { ChartLinks, type TrendChartData } from '../../src/core/trend-chart.js';
import { envSchema, parseEnv, productionProblems } from '../../src/config/env.js';
import { startTestRoster } from '../helpers/app.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { memoryLogger, silentLogger } from '../helpers/logger.js';
import { degradedAgent, eventually, SHIPPED_CONFIG } from '../helpers/harness.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { roleById } from '../../src/config/directory.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';

/*
 * Issue 23 item 3: a check-in or drift alert in Slack shows the metric's trend as an image Roster
 * renders (a PNG behind a signed, expiring link) when ROSTER_PUBLIC_URL is set, the text sparkline
 * otherwise; and the numbers behind the plain words are one click away ("Show the numbers"), a
 * private reply through the same authorised click path as every button.
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor, customer-support
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // on-call level 1
const DANIEL = { id: 'U05D9W4H7LE', email: 'daniel.okafor@brightwater.example' }; // finance requester: may not see the agent
const PUBLIC_URL = 'https://roster.example.com';
const SECRET = 'test-chart-secret-0123456789abcdef0123';
const DAY = 86_400_000;

type Block = { type: string; image_url?: string; alt_text?: string; text?: { text: string }; elements?: Array<{ text?: string }> };

/** Width and height from a PNG's IHDR chunk, after checking its 8-byte signature. */
function pngSize(bytes: Buffer): { signature: boolean; width: number; height: number } {
  const signature = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return {
    signature: signature && bytes.subarray(12, 16).toString('latin1') === 'IHDR',
    width: bytes.readUInt32BE(16),
    height: bytes.readUInt32BE(20),
  };
}

describe('ROSTER_CHART_SECRET', () => {
  const production = {
    NODE_ENV: 'production',
    ROSTER_OAUTH_KEK: Buffer.alloc(32, 7).toString('base64'),
    ROSTER_PUBLIC_URL: PUBLIC_URL,
  };
  it('is refused when shorter than 32 characters, by name and without its value', () => {
    const result = parseEnv({ ROSTER_CHART_SECRET: 'weak-secret-123', JEST_WORKER_ID: '1' });
    expect(result).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^environment: ROSTER_CHART_SECRET: expected at least 32 characters/)],
    });
    expect(JSON.stringify(result)).not.toContain('weak-secret-123');
  });
  it('is required in production, where replicas must verify each other’s links', () => {
    expect(productionProblems(envSchema.parse(production))).toEqual([
      expect.stringMatching(/^environment: ROSTER_CHART_SECRET: production needs/),
    ]);
    expect(productionProblems(envSchema.parse({ ...production, ROSTER_CHART_SECRET: SECRET }))).toEqual([]);
  });
  it('is redacted when the environment is logged', () => {
    const { log, lines } = memoryLogger();
    log.info({ env: envSchema.parse({ ROSTER_CHART_SECRET: SECRET }) }, 'started');
    expect(JSON.stringify(lines())).not.toContain(SECRET);
    expect(lines()[0]).toMatchObject({ env: { ROSTER_CHART_SECRET: '[redacted]' } });
  });
});

describe('Slack check-in and drift alert with ROSTER_PUBLIC_URL: the trend as a PNG Roster renders', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let agent: AgentRecord;
  let review: { args: Record<string, unknown> };
  let page: { args: Record<string, unknown> };
  /** The link as Slack would fetch it, pointed at the test's Roster instead of the public host. */
  const local = (url: string) => url.replace(PUBLIC_URL, roster.baseUrl);

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({
      env: { ...slack.rosterEnv(), ROSTER_PUBLIC_URL: PUBLIC_URL, ROSTER_CHART_SECRET: SECRET },
      channels: [createSlackChannel],
    });
    agent = await degradedAgent(roster, {
      name: 'Chart Drafter <b>&</b>',
      sponsors: [PRIYA.email],
      baseline: { accuracy: 0.92, p95LatencyMs: 900, costPerTaskUSD: 0.02 },
    });
    review = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && actionElements(a.blocks).some((b) => b.action_id === 'checkin_retrain'),
    );
    page = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === LIAM.id && actionElements(a.blocks).some((b) => b.action_id === 'alert_ack'),
    );
  }, 120_000);
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
  });

  it('the review and the page carry an image block with a signed link and alt text, and no sparkline', async () => {
    const [checkIn] = await roster.services.supervision.checkinRepo.listForAgent(agent.id);
    const [alert] = await roster.services.supervision.alertRepo.list({ agentId: agent.id });
    for (const [message, id] of [
      [review, checkIn!.id],
      [page, alert!.id],
    ] as const) {
      const blocks = message.args.blocks as Block[];
      const images = blocks.filter((b) => b.type === 'image');
      expect(images).toHaveLength(1);
      const url = new URL(images[0]!.image_url!);
      expect(`${url.origin}${url.pathname}`).toBe(`${PUBLIC_URL}/charts/${id}.png`);
      // Nothing about the agent in the link: the opaque id, the expiry and the signature only.
      expect([...url.searchParams.keys()].sort()).toEqual(['exp', 'sig']);
      expect(images[0]!.image_url).not.toContain(agent.id);
      expect(Number(url.searchParams.get('exp')) * 1000).toBeGreaterThan(Date.now() + 6 * DAY);
      expect(images[0]!.alt_text).toMatch(/^Daily accuracy, last \d+ days: from 9\d(\.\d)?% on \d{4}-\d\d-\d\d to [78]\d(\.\d)?% on /);
      expect(JSON.stringify(blocks)).not.toMatch(/[▁▂▃▄▅▆▇█]{5,}/);
    }
    // The review's alt text names the baseline and the thresholds the image draws.
    const drop = roleById(loadOrgConfig(SHIPPED_CONFIG), agent.catalogRoleId)!.drift.accuracyDropMin * 100;
    const alt = (review.args.blocks as Block[]).find((b) => b.type === 'image')!.alt_text!;
    expect(alt).toContain(`baseline 92%, watch below ${92 - drop}%, degraded below ${92 - 2 * drop}%`);
  });

  it('the link fetches a PNG of 1440×640; a tampered, expired or incomplete link gets 403 and an unknown chart 404', async () => {
    const image = (review.args.blocks as Block[]).find((b) => b.type === 'image')!.image_url!;
    const response = await fetch(local(image));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(pngSize(bytes)).toEqual({ signature: true, width: 1440, height: 640 });
    expect(bytes.length).toBeGreaterThan(10_000);

    const url = new URL(local(image));
    const id = url.pathname.replace(/^\/charts\/|\.png$/g, '');
    const sig = url.searchParams.get('sig')!;
    const tampered = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    const refused = async (href: string) => {
      const r = await fetch(href);
      return { status: r.status, body: (await r.json()) as { error: string } };
    };
    expect(await refused(`${roster.baseUrl}/charts/${id}.png?exp=${url.searchParams.get('exp')}&sig=${tampered}`)).toMatchObject({
      status: 403,
      body: { error: 'bad_signature' },
    });
    // A later expiry with the old signature is a forgery too.
    const later = Number(url.searchParams.get('exp')) + 3600;
    expect((await refused(`${roster.baseUrl}/charts/${id}.png?exp=${later}&sig=${sig}`)).status).toBe(403);
    const expired = new ChartLinks(SECRET, roster.baseUrl).url(id, Date.now() - 8 * DAY);
    expect(await refused(expired)).toMatchObject({ status: 403, body: { error: 'link_expired' } });
    const otherSecret = new ChartLinks('another-secret-0123456789abcdef0123456', roster.baseUrl).url(id);
    expect((await refused(otherSecret)).status).toBe(403);
    expect((await refused(`${roster.baseUrl}/charts/${id}.png`)).status).toBe(403);
    expect((await refused(new ChartLinks(SECRET, roster.baseUrl).url('chk_0000000000000000'))).status).toBe(404);
    expect((await fetch(`${roster.baseUrl}/charts/agent.png?exp=1&sig=x`)).status).toBe(404);
  });

  it('"Show the numbers" answers the sponsor privately with the statistics and leaves the card; someone who may not see the agent is refused', async () => {
    const show = actionElements(review.args.blocks).find((b) => b.action_id === 'checkin_numbers')!;
    expect(show).toMatchObject({ type: 'button', text: { text: '🔢 Show the numbers' } });
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'checkin_numbers', String(show.value), slack.responseUrl('numbers'))),
    );
    const reply = await slack.waitForResponse('numbers');
    expect(reply.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    const text = JSON.stringify(reply.body.blocks);
    expect(text).toContain('The numbers behind Chart Drafter &lt;b&gt;&amp;&lt;/b&gt;');
    expect(text).toMatch(/accuracy fell from 0\.9\d\d to 0\.[78]\d\d .*z = -\d+\.\d\d, p &lt; 0\.000001.*two-proportion z-test/);

    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(DANIEL.id, 'checkin_numbers', String(show.value), slack.responseUrl('numbers-daniel'))),
    );
    const refusal = await slack.waitForResponse('numbers-daniel');
    expect(refusal.body.replace_original).toBe(false);
    expect(JSON.stringify(refusal.body)).toContain('Only those who may see the agent');
    expect(JSON.stringify(refusal.body)).not.toContain('z = ');
  }, 30_000);

  it('the page\'s "Show the numbers" gives on-call the drift statistics', async () => {
    const show = actionElements(page.args.blocks).find((b) => b.action_id === 'alert_numbers')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'alert_numbers', String(show.value), slack.responseUrl('alert-numbers'))),
    );
    const reply = await slack.waitForResponse('alert-numbers');
    expect(reply.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(JSON.stringify(reply.body.blocks)).toMatch(/The numbers behind the drift alert for Chart Drafter/);
    expect(JSON.stringify(reply.body.blocks)).toMatch(/z = -\d+\.\d\d, p &lt; 0\.000001/);
  }, 30_000);
});

describe('GET /charts: each picture drawn once', () => {
  const chartOf = (value: number): TrendChartData => ({
    title: 'Daily accuracy, last 2 days',
    unitLabel: 'Accuracy (%)',
    points: [
      { day: '2026-11-01', value: 0.92 },
      { day: '2026-11-02', value },
    ],
    guides: [],
  });
  const links = new ChartLinks(SECRET, 'http://127.0.0.1');
  let base: string;
  let close: () => Promise<void>;
  const charts = new Map<string, TrendChartData>([
    ['chk_00000000000000a1', chartOf(0.8)],
    ['chk_00000000000000a2', chartOf(0.7)],
  ]);
  let lookups = 0;
  const drawings: TrendChartData[] = [];
  let release: () => void = () => undefined;
  let failNext = false;

  beforeAll(async () => {
    const app = express();
    app.use(
      '/charts',
      createChartRouter({
        links,
        chart: async (id) => {
          lookups += 1;
          return charts.get(id);
        },
        log: silentLogger(),
        // Each drawing waits for the test to let it finish; one may be told to fail.
        render: (chart) => {
          drawings.push(chart);
          if (failNext) {
            failNext = false;
            return Promise.reject(new Error('the renderer gave up'));
          }
          return new Promise((resolve) => (release = () => resolve(Buffer.from(`png of ${chart.points[1]!.value}`))));
        },
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(() => close?.());

  const get = async (id: string) => {
    const res = await fetch(links.url(id).replace('http://127.0.0.1', base));
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()).toString() };
  };

  it('requests that arrive while a picture is being drawn wait for that drawing; later ones get it without drawing', async () => {
    const burst = Promise.all(Array.from({ length: 5 }, () => get('chk_00000000000000a1')));
    await eventually(() => lookups >= 5);
    release();
    expect(await burst).toEqual(Array.from({ length: 5 }, () => ({ status: 200, body: 'png of 0.8' })));
    expect(await get('chk_00000000000000a1')).toEqual({ status: 200, body: 'png of 0.8' });
    expect(drawings).toHaveLength(1);
  });

  it('a drawing that failed is not kept: the next request draws again', async () => {
    failNext = true;
    expect((await get('chk_00000000000000a2')).status).toBe(503);
    const again = get('chk_00000000000000a2');
    await eventually(() => drawings.length >= 3);
    release();
    expect(await again).toEqual({ status: 200, body: 'png of 0.7' });
    expect(drawings.map((c) => c.points[1]!.value)).toEqual([0.8, 0.7, 0.7]);
  });
});
