import { sha256, type AgentRecord } from '../../src/core/agents.js';
import type { IngestResult } from '../../src/core/telemetry.js';
import { startTestRoster } from '../helpers/app.js';
import { agentWithTelemetryKey } from '../helpers/harness.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';
import { asAgentId } from '../helpers/ids.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const PLATFORM_KEY = 'platform-key-for-the-gateway-0123456789';
/** A second gateway: unknown ids are folded into one alert per platform key, so tests that need their own alert use their own key. */
const OTHER_PLATFORM_KEY = 'platform-key-for-another-gateway-9876543210';

describe('POST /api/v1/telemetry', () => {
  let roster: Roster;
  beforeAll(async () => {
    roster = await startTestRoster({
      env: { ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256: `${sha256(PLATFORM_KEY)},${sha256(OTHER_PLATFORM_KEY)}` },
    });
  });
  afterAll(async () => {
    await roster.stop();
  });

  const agentWithKey = (name: string, status: AgentRecord['status'] = 'active') =>
    agentWithTelemetryKey(roster.services.agents, {
      name,
      catalogRoleId: 'kb-answerer',
      sponsors: ['noah.fischer@brightwater.example'],
      businessUnit: 'engineering',
      status,
      purpose: 'Answers questions.',
    });

  const post = (key: string | undefined, body: unknown, raw?: string) =>
    fetch(`${roster.baseUrl}/api/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: raw ?? JSON.stringify(body),
    });

  it('accepts a batch, counts a retried batch once, and reports each rejected event with its reason', async () => {
    const { agent, key } = await agentWithKey('Ingest Target');
    const events = generateEvents({ agentId: agent.id, profile: 'healthy', days: 1, end: new Date(), perDay: 20 }).map(
      ({ agentId: _a, time, ...e }) => ({ ...e, time: time.toISOString() }),
    );
    const first = await post(key, { events });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 20, duplicates: 0, rejected: [] });
    const retry = await post(key, { events });
    expect(await retry.json()).toEqual({ accepted: 0, duplicates: 20, rejected: [] });

    const mixed = await post(key, {
      events: [
        { ...events[0], eventId: 'new-1' },
        { ...events[0], eventId: 'bad-outcome', outcome: 'maybe' },
        { ...events[0], eventId: 'other-agent', agentId: 'agt_ffffffffffffffff' },
        { ...events[0], eventId: 'injected', latencyMs: { $gt: 0 } },
      ],
    });
    const report = (await mixed.json()) as { accepted: number; rejected: unknown[] };
    expect(report.accepted).toBe(1);
    expect(report.rejected).toEqual([
      { index: 1, eventId: 'bad-outcome', reason: expect.stringContaining('outcome') },
      { index: 2, eventId: 'other-agent', reason: `agentId: this key may only send events for ${agent.id}` },
      { index: 3, eventId: 'injected', reason: expect.stringContaining('latencyMs') },
    ]);
    const day = await roster.services.supervision.telemetry.rollups(
      agent.id,
      'day',
      new Date(Date.now() - 3 * 86_400_000),
      new Date(Date.now() + 86_400_000),
    );
    expect(day.reduce((n, d) => n + d.count, 0)).toBe(21);
  });

  it('an event repeated within one batch is stored and counted once, and is in the rollups', async () => {
    const { agent, key } = await agentWithKey('Repeated Event');
    const time = new Date().toISOString();
    const one = { eventId: 'twice', time, taskType: 'answer', outcome: 'failure', latencyMs: 10, costUSD: 0.001 };
    const other = { ...one, eventId: 'once', outcome: 'success' };
    const first = await post(key, { events: [one, other, one] });
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    expect(await (await post(key, { events: [one, other, one] })).json()).toEqual({ accepted: 0, duplicates: 3, rejected: [] });
    const hours = await roster.services.supervision.telemetry.rollups(
      agent.id,
      'hour',
      new Date(Date.now() - 2 * 3_600_000),
      new Date(Date.now() + 3_600_000),
    );
    expect(hours.map((h) => ({ count: h.count, outcomes: h.outcomes }))).toEqual([
      { count: 2, outcomes: { success: 1, failure: 1, handedToHuman: 0 } },
    ]);
  });

  it('refuses unknown keys, missing keys and oversize bodies; bad JSON is a 400', async () => {
    expect((await post('rst_nope_0000000000000000000000', { events: [] })).status).toBe(401);
    expect((await post(undefined, { events: [] })).status).toBe(401);
    const { key } = await agentWithKey('Size Limit');
    expect((await post(key, undefined, `{"events":[${'"x",'.repeat(400_000)}"x"]}`)).status).toBe(413);
    expect((await post(key, undefined, '{"events": [')).status).toBe(400);
    expect((await post(key, { events: new Array(1001).fill({}) })).status).toBe(400);
  });

  it("a retired agent's key is refused and raises an alert; a platform key naming an unknown agent raises one shadow alert", async () => {
    const { agent, key } = await agentWithKey('Old Timer', 'retired');
    expect((await post(key, { events: [] })).status).toBe(401);
    expect((await roster.services.supervision.alertRepo.list({ agentId: agent.id }))[0]).toMatchObject({
      kind: 'retired-key',
      status: 'open',
    });

    const shadow = 'agt_5ade5ade5ade5ade';
    const body = {
      events: [
        { eventId: 's1', agentId: shadow, time: new Date().toISOString(), taskType: 'x', outcome: 'success', latencyMs: 10, costUSD: 0 },
      ],
    };
    const res = await post(PLATFORM_KEY, body);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rejected: Array<{ reason: string }> }).rejected[0]!.reason).toBe(
      `agentId: ${shadow} is not registered in Roster`,
    );
    await post(PLATFORM_KEY, { events: [{ ...body.events[0], eventId: 's2' }] });
    const alerts = await roster.services.supervision.alertRepo.list({ agentId: asAgentId(shadow) });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'shadow', occurrences: 2 });
  });

  it('a burst of failures raises one error-spike alert at once', async () => {
    const { agent, key } = await agentWithKey('Flaky Bot');
    const now = new Date().toISOString();
    const events = Array.from({ length: 30 }, (_, i) => ({
      eventId: `f${i}`,
      time: now,
      taskType: 'answer',
      outcome: i % 2 ? 'failure' : 'success',
      latencyMs: 100,
      costUSD: 0.001,
    }));
    expect((await post(key, { events: events.slice(0, 15) })).status).toBe(200);
    // The check runs after the reply: wait for it to finish before looking.
    await roster.services.supervision.ingest.idle();
    expect(await roster.services.supervision.alertRepo.list({ agentId: agent.id, kind: 'error-spike' })).toEqual([]);
    await post(key, { events: events.slice(15) });
    await roster.services.supervision.ingest.idle();
    const alerts = await roster.services.supervision.alertRepo.list({ agentId: agent.id, kind: 'error-spike' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.summary).toBe('Flaky Bot: 15 of its last 30 tasks failed (50% in the past hour).');
  });

  it('Block on a shadow alert refuses that id from then on and resolves the alert', async () => {
    const { AlertCheckInChat } = await import('../../src/channels/chat-alerts-checkins.js');
    const shadow = 'agt_b10cb10cb10cb10c';
    const event = (eventId: string) => ({
      events: [{ eventId, agentId: shadow, time: new Date().toISOString(), taskType: 'x', outcome: 'success', latencyMs: 10, costUSD: 0 }],
    });
    await post(OTHER_PLATFORM_KEY, event('b1'));
    const [alert] = await roster.services.supervision.alertRepo.list({ agentId: asAgentId(shadow) });
    const card = roster.services.supervision.cards.alert(alert!, 'liam.oneill@brightwater.example');
    expect(card.data).toMatchObject({ canBlock: true, canSuspend: false });
    const { loadOrgConfig } = await import('../../src/config/org-config.js');
    const chat = new AlertCheckInChat(loadOrgConfig('config'), roster.services.supervision, roster.services.bus);
    await expect(
      chat.alertAction(roster.chat.person('daniel.okafor@brightwater.example')!, 'alert_block', alert!.id),
    ).rejects.toMatchObject({ code: 'forbidden' });
    const after = await chat.alertAction(roster.chat.person('liam.oneill@brightwater.example')!, 'alert_block', alert!.id);
    expect(after.data).toMatchObject({ status: 'resolved', canBlock: false });
    const res = await post(OTHER_PLATFORM_KEY, event('b2'));
    expect(((await res.json()) as { rejected: Array<{ reason: string }> }).rejected[0]!.reason).toBe(`agentId: ${shadow} is blocked by IT`);
    expect(await roster.services.supervision.alertRepo.list({ agentId: asAgentId(shadow), status: ['open'] })).toEqual([]);
  });
});

describe('POST /api/v1/telemetry: input that costs nothing to send costs nothing to handle', () => {
  let roster: Roster;
  const GATEWAY = 'platform-key-of-a-noisy-gateway-000000001';
  beforeAll(async () => {
    roster = await startTestRoster({
      env: { ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256: sha256(GATEWAY) },
      settings: {
        rateLimits: {
          chat: { requests: 30, per: { text: '1m', ms: 60_000 } },
          telemetry: { requests: 5, per: { text: '1h', ms: 3_600_000 } },
          anonymous: { requests: 4, per: { text: '1h', ms: 3_600_000 } },
        },
      },
    });
  });
  afterAll(async () => {
    await roster.stop();
  });

  const post = (key: string | undefined, body: string, headers: Record<string, string> = {}) =>
    fetch(`${roster.baseUrl}/api/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      body,
    });
  const event = (eventId: string, agentId: string | undefined, time: Date) => ({
    eventId,
    ...(agentId ? { agentId } : {}),
    time: time.toISOString(),
    taskType: 'answer',
    outcome: 'success',
    latencyMs: 10,
    costUSD: 0,
  });

  const agentWithKey = (name: string) =>
    agentWithTelemetryKey(roster.services.agents, { name, businessUnit: 'engineering', catalogRoleId: 'kb-answerer' });

  it('authenticates before reading the body, and refuses event times outside [now - retention, now + 5 min] per event', async () => {
    // A body that is not JSON with no key or a wrong key: 401 (the key is looked at first), never a 400 from parsing it.
    expect((await post(undefined, '{"events": [')).status).toBe(401);
    expect((await post('rst_00000000_not-a-real-key-at-all', '{"events": [')).status).toBe(401);

    const { agent, key } = await agentWithKey('Clock Skewed');
    const now = Date.now();
    const res = await post(
      key,
      JSON.stringify({
        events: [
          event('now', undefined, new Date(now)),
          event('2099', undefined, new Date('2099-01-01T00:00:00Z')),
          event('in-ten-minutes', undefined, new Date(now + 10 * 60_000)),
          event('in-two-minutes', undefined, new Date(now + 2 * 60_000)),
          event('last-year', undefined, new Date(now - 365 * 86_400_000)),
        ],
      }),
    );
    expect(res.status).toBe(200);
    const report = (await res.json()) as IngestResult;
    expect(report.accepted).toBe(2);
    expect(report.rejected).toEqual([
      { index: 1, eventId: '2099', reason: expect.stringContaining('is in the future') },
      { index: 2, eventId: 'in-ten-minutes', reason: expect.stringContaining('at most 5 minutes ahead') },
      { index: 4, eventId: 'last-year', reason: expect.stringContaining('older than the 30-day retention') },
    ]);
    // The dormancy clock was not pushed to 2099.
    const last = await roster.services.supervision.telemetry.lastEventAt(agent.id);
    expect(last!.getTime()).toBeLessThan(now + 5 * 60_000);
  });

  it('fifty unknown agent ids from one platform key raise one alert and page on-call once, not fifty times', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `agt_${(0xdead0000 + i).toString(16).padStart(16, '0')}`);
    const first = await post(GATEWAY, JSON.stringify({ events: ids.slice(0, 30).map((id, i) => event(`u${i}`, id, new Date())) }));
    expect(first.status).toBe(200);
    const second = await post(GATEWAY, JSON.stringify({ events: ids.slice(30).map((id, i) => event(`v${i}`, id, new Date())) }));
    expect(((await second.json()) as IngestResult).rejected).toHaveLength(20);

    const shadows = await roster.services.supervision.alertRepo.list({ kind: 'shadow' });
    expect(shadows).toHaveLength(1);
    expect(shadows[0]!.details).toMatchObject({ platformKey: 'platform-1', agentIds: ids });
    expect(shadows[0]!.summary).toContain('50 agent ids not registered in Roster');
    const raised = (await roster.services.audit.export({})).filter((e) => e.action === 'alert.raised');
    expect(raised).toHaveLength(1);
  });

  it('limits each key, answering 429 with Retry-After; another key is not held back; failed attempts are limited per address', async () => {
    const a = await agentWithKey('Chatty One');
    const b = await agentWithKey('Quiet One');
    const body = (id: string) => JSON.stringify({ events: [event(id, undefined, new Date())] });
    for (let i = 0; i < 5; i++) expect((await post(a.key, body(`a${i}`))).status).toBe(200);
    const refused = await post(a.key, body('a5'));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect((await post(b.key, body('b0'))).status).toBe(200);

    // Wrong keys are 401 until the address has spent its four failed attempts (some went to the first test), then 429.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(`rst_00000000_wrong-key-number-${i}`, body('x'))).status);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.indexOf(429)).toBe(statuses.lastIndexOf(401) + 1);
    const blocked = await post('rst_00000000_wrong-key-number-5', body('x'));
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await post(b.key, body('b1'))).status).toBe(200);
  });
});
