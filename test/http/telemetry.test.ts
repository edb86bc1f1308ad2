import { issueTelemetryKey, newAgentId, sha256, type AgentRecord } from '../../src/core/agents.js';
import { startTestRoster } from '../helpers/app.js';
import { agentRecord } from '../helpers/harness.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const PLATFORM_KEY = 'platform-key-for-the-gateway-0123456789';

describe('POST /api/v1/telemetry', () => {
  let roster: Roster;
  beforeAll(async () => {
    roster = await startTestRoster({ env: { ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256: sha256(PLATFORM_KEY) } });
  });
  afterAll(async () => {
    await roster.stop();
  });

  async function agentWithKey(name: string, status: AgentRecord['status'] = 'active'): Promise<{ agent: AgentRecord; key: string }> {
    const id = newAgentId();
    const { key, credential } = issueTelemetryKey(id, new Date());
    const agent = agentRecord({
      id,
      name,
      catalogRoleId: 'kb-answerer',
      sponsors: ['noah.fischer@brightwater.example'],
      businessUnit: 'engineering',
      status,
      purpose: 'Answers questions.',
      credentials: [credential],
    });
    await roster.services.agents.insert(agent);
    return { agent, key };
  }

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
    const alerts = await roster.services.supervision.alertRepo.list({ agentId: shadow });
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
    expect(await roster.services.supervision.alertRepo.list({ agentId: agent.id, kind: 'error-spike' })).toEqual([]);
    await post(key, { events: events.slice(15) });
    const alerts = await roster.services.supervision.alertRepo.list({ agentId: agent.id, kind: 'error-spike' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.summary).toBe('Flaky Bot: 15 of its last 30 tasks failed (50% in the past hour).');
  });

  it('Block on a shadow alert refuses that id from then on and resolves the alert', async () => {
    const { SupervisionChat } = await import('../../src/channels/chat-supervision.js');
    const shadow = 'agt_b10cb10cb10cb10c';
    const event = (eventId: string) => ({
      events: [{ eventId, agentId: shadow, time: new Date().toISOString(), taskType: 'x', outcome: 'success', latencyMs: 10, costUSD: 0 }],
    });
    await post(PLATFORM_KEY, event('b1'));
    const [alert] = await roster.services.supervision.alertRepo.list({ agentId: shadow });
    const card = roster.services.supervision.cards.alert(alert!, 'liam.oneill@brightwater.example');
    expect(card.data).toMatchObject({ canBlock: true, canSuspend: false });
    const { loadOrgConfig } = await import('../../src/config/org-config.js');
    const chat = new SupervisionChat(loadOrgConfig('config'), roster.services.supervision, roster.services.agents, roster.services.engine);
    await expect(
      chat.alertAction(roster.chat.person('daniel.okafor@brightwater.example')!, 'alert_block', alert!.id),
    ).rejects.toMatchObject({ code: 'forbidden' });
    const after = await chat.alertAction(roster.chat.person('liam.oneill@brightwater.example')!, 'alert_block', alert!.id);
    expect(after.data).toMatchObject({ status: 'resolved', canBlock: false });
    const res = await post(PLATFORM_KEY, event('b2'));
    expect(((await res.json()) as { rejected: Array<{ reason: string }> }).rejected[0]!.reason).toBe(`agentId: ${shadow} is blocked by IT`);
    expect(await roster.services.supervision.alertRepo.list({ agentId: shadow, status: ['open'] })).toEqual([]);
  });
});
