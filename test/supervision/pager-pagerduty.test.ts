import { createHmac } from 'node:crypto';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { newAgentId } from '../../src/core/agents.js';
import { startTestRoster } from '../helpers/app.js';
import { aiOpsPaging, FakePager } from '../helpers/fake-pager.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';
import { actionElements } from '../helpers/slack-blocks.js';

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' };
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' };
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' };
const DAY = 86_400_000;
const ROUTING_KEY = 'R01ABCDEF23456789ABCDEF012345678';
const WEBHOOK_SECRET = 'pd-subscription-secret-5e0b2f9c41d7a3e8';

/** A PagerDuty V3 webhook body (the shape of the vendor's documented incident events). */
function v3Event(eventType: string, incidentKey: string, agentName = 'Aisha Khan'): string {
  return JSON.stringify({
    event: {
      id: `01DEN${Math.random().toString(36).slice(2, 10).toUpperCase()}`,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      agent: {
        html_url: 'https://acme.pagerduty.com/users/PLH1HKV',
        id: 'PLH1HKV',
        self: 'https://api.pagerduty.com/users/PLH1HKV',
        summary: agentName,
        type: 'user_reference',
      },
      client: null,
      data: {
        id: 'PGR0VU2',
        type: 'incident',
        self: 'https://api.pagerduty.com/incidents/PGR0VU2',
        html_url: 'https://acme.pagerduty.com/incidents/PGR0VU2',
        number: 2,
        status: eventType === 'incident.resolved' ? 'resolved' : 'acknowledged',
        incident_key: incidentKey,
        created_at: new Date().toISOString(),
        title: 'A little bump in the road',
        urgency: 'high',
        resolve_reason: null,
      },
    },
  });
}

/** PagerDuty's signature: `v1=` + hex HMAC-SHA256 of the raw body with the subscription secret. */
const signed = (body: string, secret = WEBHOOK_SECRET) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function postWebhook(
  baseUrl: string,
  body: string,
  signature: string | undefined,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/pager/pagerduty`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'x-pagerduty-signature': signature } : {}) },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('PagerDuty: a drift alert pages the rotation through the Events API v2 and acknowledgements flow both ways', () => {
  let slack: FakeSlack;
  let pd: FakePager;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeAll(async () => {
    slack = new FakeSlack();
    pd = new FakePager('pagerduty');
    await Promise.all([slack.start(), pd.start()]);
    const { rotations, pagers } = aiOpsPaging(
      { provider: 'pagerduty', routingKeyEnv: 'PD_ROUTING_KEY', webhookSecretEnv: 'PD_WEBHOOK_SECRET', baseUrl: pd.baseUrl },
      { PD_ROUTING_KEY: ROUTING_KEY, PD_WEBHOOK_SECRET: WEBHOOK_SECRET },
    );
    roster = await startTestRoster({
      env: { ...slack.rosterEnv(), ROSTER_PUBLIC_URL: 'https://roster.brightwater.example' },
      channels: [createSlackChannel],
      rotations,
      pagers,
    });
  });
  afterAll(async () => {
    await roster.stop();
    await Promise.all([slack.stop(), pd.stop()]);
  });

  it('triggers once per alert (a retry after a 500 repeats the dedup key), sends the Slack acknowledgement after honouring Retry-After, and a signed incident.resolved resolves the alert and its cards', async () => {
    const id = newAgentId();
    const created = new Date(Date.now() - 40 * DAY).toISOString();
    await roster.services.agents.insert(
      agentRecord({
        id,
        name: 'Ticket Drafter',
        sponsors: [PRIYA.email],
        createdAt: created,
        updatedAt: created,
        statusChangedAt: created,
      }),
    );
    await roster.services.supervision.telemetry.ingest(
      generateEvents({ agentId: id, profile: 'accuracy-drop', days: 30, end: new Date(Math.floor(Date.now() / DAY) * DAY), driftDays: 14 }),
    );
    // PagerDuty fails the first trigger: the outbox sends it again with the same dedup key.
    pd.answerNext(500);
    await roster.services.supervision.checkins.run(id);
    const [alert] = await roster.services.supervision.alertRepo.list({ agentId: id, kind: 'drift' });
    expect(alert).toBeDefined();
    const dedupKey = `roster-${alert!.id}`;

    const triggers = await pd.waitFor((c) => c.body.event_action === 'trigger' && c.body.dedup_key === dedupKey, 2);
    expect(triggers).toHaveLength(2);
    expect(triggers[1]!.body).toEqual(triggers[0]!.body);
    const trigger = triggers[0]!;
    expect(trigger.method).toBe('POST');
    expect(trigger.path).toBe('/v2/enqueue');
    expect(trigger.headers['content-type']).toBe('application/json');
    expect(trigger.body).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: dedupKey,
      payload: {
        summary: `Ticket Drafter: ${alert!.summary}`,
        source: id,
        severity: alert!.severity === 'critical' ? 'critical' : 'warning',
        timestamp: alert!.createdAt,
        component: 'Ticket Drafter',
        group: 'ai-ops',
        class: 'drift',
        custom_details: {
          roster_alert_id: alert!.id,
          kind: 'drift',
          severity: alert!.severity,
          agent_id: id,
          agent_name: 'Ticket Drafter',
          rotation: 'ai-ops',
          occurrences: '1',
          raised_at: alert!.createdAt,
          roster_url: 'https://roster.brightwater.example',
        },
      },
      client: 'Roster',
      client_url: 'https://roster.brightwater.example',
      links: [{ href: 'https://roster.brightwater.example', text: 'Open Roster (act on the alert card in chat)' }],
    });
    // No secret of Roster's travels in the details (only the routing key, where PagerDuty expects it).
    expect(JSON.stringify(trigger.body.payload)).not.toContain(ROUTING_KEY);
    // The chat page went out as before.
    const page = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === LIAM.id && actionElements(a.blocks).some((b) => b.action_id === 'alert_ack'),
    );

    // Liam acknowledges in Slack; PagerDuty rate-limits the first try and asks for 8 s.
    pd.answerNext(429, '8');
    const ack = actionElements(page.args.blocks).find((b) => b.action_id === 'alert_ack')!;
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'alert_ack', String(ack.value), slack.responseUrl('ack'))));
    const acks = await pd.waitFor((c) => c.body.event_action === 'acknowledge', 2, 60_000);
    expect(acks[1]!.at - acks[0]!.at).toBeGreaterThanOrEqual(7_900);
    expect(acks[1]!.body).toEqual({ routing_key: ROUTING_KEY, dedup_key: dedupKey, event_action: 'acknowledge' });
    expect((await roster.services.supervision.alertRepo.get(alert!.id))?.acknowledgedBy).toBe(LIAM.email);

    // A forged resolution is refused and changes nothing.
    const resolved = v3Event('incident.resolved', dedupKey);
    const forged = await postWebhook(roster.baseUrl, resolved, signed(resolved, 'not-the-subscription-secret'));
    expect(forged.status).toBe(401);
    expect(forged.json.error).toBe('invalid_signature');
    expect((await postWebhook(roster.baseUrl, resolved, undefined)).status).toBe(401);
    expect((await roster.services.supervision.alertRepo.get(alert!.id))?.status).toBe('acknowledged');

    // Signed but malformed: 400 with a code; signed but about an incident Roster did not open: 202, ignored.
    const malformed = JSON.stringify({ event: { event_type: 'incident.resolved' } });
    const bad = await postWebhook(roster.baseUrl, malformed, signed(malformed));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_body');
    const foreign = v3Event('incident.resolved', 'd3640fbd41094207a1c11e58e46b1662');
    const ignored = await postWebhook(roster.baseUrl, foreign, signed(foreign));
    expect(ignored.status).toBe(202);
    expect(ignored.json.status).toBe('ignored');
    const unknown = v3Event('incident.resolved', 'roster-alr_00000000000000aa');
    expect((await postWebhook(roster.baseUrl, unknown, signed(unknown))).status).toBe(202);

    // The real resolution, by Aisha in PagerDuty.
    const ok = await postWebhook(roster.baseUrl, resolved, signed(resolved));
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: 'resolved', alertId: alert!.id });
    const stored = await roster.services.supervision.alertRepo.get(alert!.id);
    expect(stored).toMatchObject({ status: 'resolved', resolvedBy: AISHA.email, resolvedVia: 'pagerduty' });
    // Every card sent about it is updated in place.
    const card = await slack.waitFor(
      'chat.update',
      (a) => a.channel === `D${LIAM.id.slice(1)}` && JSON.stringify(a.blocks).includes('Resolved by Aisha Khan via PagerDuty'),
    );
    expect(actionElements(card.args.blocks).map((b) => b.action_id)).not.toContain('alert_resolve');
    const trail = await roster.services.audit.export({ agentId: id });
    const entry = trail.find((e) => e.action === 'alert.resolved');
    expect(entry?.actor).toEqual({ kind: 'system', name: 'PagerDuty' });
    expect(entry?.details).toMatchObject({ via: 'pagerduty', onBehalfOf: AISHA.email, responder: 'Aisha Khan' });

    // The loop guard: the resolution came from PagerDuty, so none is sent back; delivered again, it changes nothing.
    const again = await postWebhook(roster.baseUrl, resolved, signed(resolved));
    expect(again.json).toEqual({ status: 'unchanged', alertId: alert!.id });
    expect(pd.calls.filter((c) => c.body.event_action === 'resolve')).toHaveLength(0);
    expect((await roster.services.audit.export({ agentId: id })).filter((e) => e.action === 'alert.resolved')).toHaveLength(1);
    expect(pd.calls.filter((c) => c.body.event_action === 'trigger' && c.body.dedup_key === dedupKey)).toHaveLength(2);
  }, 120_000);
});
