import { startTestRoster } from '../helpers/app.js';
import { aiOpsPaging, FakePager } from '../helpers/fake-pager.js';
import { asAgentId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

const LIAM = 'liam.oneill@brightwater.example';
const AISHA = 'aisha.khan@brightwater.example';
const API_KEY = 'eb243592-faa2-4ba2-a551q-1afdf565c889';
const SHARED_SECRET = 'opsgenie-shared-secret-7c1d9a0b';

/** An Opsgenie outgoing-webhook delivery for an alert action (the documented alert action data). */
function alertAction(action: string, alias: string, username = AISHA): string {
  return JSON.stringify({
    source: { name: '', type: 'web' },
    alert: {
      updatedAt: 1420452224764,
      tags: ['roster'],
      message: '[Roster] error-spike alert: Invoice Matcher',
      username,
      alertId: '052652ac-5d1c-464a-812a-7dd18bbfba8c',
      source: 'Roster',
      alias,
      tinyId: '23',
      createdAt: 1420452191104,
      userId: 'daed1180-0ce8-438b-8f8e-57e1a5920a2d',
      entity: '',
    },
    action,
    integrationId: '37c8f316-17c6-49d7-899b-9c7e540c048d',
    integrationName: 'Roster',
  });
}

async function post(
  baseUrl: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/pager/opsgenie`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Opsgenie: alerts are created, acknowledged and closed by alias, and its webhook acts back', () => {
  let og: FakePager;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeAll(async () => {
    og = new FakePager('opsgenie');
    await og.start();
    const { rotations, pagers } = aiOpsPaging(
      { provider: 'opsgenie', apiKeyEnv: 'OG_KEY', region: 'eu', webhookSecretEnv: 'OG_SECRET', baseUrl: og.baseUrl },
      { OG_KEY: API_KEY, OG_SECRET: SHARED_SECRET },
    );
    roster = await startTestRoster({ rotations, pagers });
  });
  afterAll(async () => {
    await roster.stop();
    await og.stop();
  });

  it('creates the alert with a GenieKey and the alert id as alias, closes it by alias when resolved in Roster', async () => {
    const alerts = roster.services.supervision.alerts;
    const alert = await alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_og_invoice'),
      severity: 'critical',
      summary: 'Invoice Matcher: 12 of its last 20 tasks failed (60% in the past hour).',
      details: { agentName: 'Invoice Matcher', platformKey: 'should-not-leave-roster' },
    });
    const alias = `roster-${alert.id}`;
    const [create] = await og.waitFor((c) => c.path === '/v2/alerts');
    expect(create!.method).toBe('POST');
    expect(create!.headers.authorization).toBe(`GenieKey ${API_KEY}`);
    expect(create!.headers['content-type']).toBe('application/json');
    expect(create!.body).toEqual({
      message: '[Roster] error-spike alert: Invoice Matcher',
      alias,
      description: 'Invoice Matcher: 12 of its last 20 tasks failed (60% in the past hour).',
      entity: 'Invoice Matcher',
      source: 'Roster',
      priority: 'P1',
      tags: ['roster', 'error-spike'],
      details: {
        roster_alert_id: alert.id,
        kind: 'error-spike',
        severity: 'critical',
        agent_id: 'agt_og_invoice',
        agent_name: 'Invoice Matcher',
        rotation: 'ai-ops',
        occurrences: '1',
        raised_at: alert.createdAt,
      },
    });
    expect(JSON.stringify(create!.body)).not.toContain('should-not-leave-roster');
    // Raised again while open: the open alert is updated, Opsgenie is not asked twice.
    const again = await alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_og_invoice'),
      severity: 'critical',
      summary: 'Still failing.',
    });
    expect(again).toMatchObject({ id: alert.id, occurrences: 2 });

    await commandsOf(roster.services).resolveAlert(LIAM, alert.id);
    const [close] = await og.waitFor((c) => c.path.endsWith('/close'));
    expect(close!.path).toBe(`/v2/alerts/${alias}/close`);
    expect(close!.query).toEqual({ identifierType: 'alias' });
    expect(close!.headers.authorization).toBe(`GenieKey ${API_KEY}`);
    expect(close!.body).toEqual({ user: "Liam O'Neill", source: 'Roster', note: "Resolved in Roster by Liam O'Neill." });
    expect(og.calls.filter((c) => c.path === '/v2/alerts' && c.body.alias === alias)).toHaveLength(1);
  }, 60_000);

  it('an authenticated Acknowledge acknowledges the alert as Opsgenie on behalf of the responder, and is not sent back', async () => {
    const alerts = roster.services.supervision.alerts;
    const alert = await alerts.raise({
      kind: 'dormant',
      agentId: asAgentId('agt_og_dormant'),
      severity: 'warning',
      summary: 'Old Reporter has sent no telemetry for 90 days but still holds access.',
      details: { agentName: 'Old Reporter' },
    });
    const alias = `roster-${alert.id}`;
    const [create] = await og.waitFor((c) => c.path === '/v2/alerts' && c.body.alias === alias);
    expect(create!.body.priority).toBe('P5');

    const ack = alertAction('Acknowledge', alias);
    expect((await post(roster.baseUrl, ack, { authorization: basic('opsgenie', 'wrong-secret-0000000') })).status).toBe(401);
    expect((await post(roster.baseUrl, ack, {})).status).toBe(401);
    expect((await roster.services.supervision.alertRepo.get(alert.id))?.status).toBe('open');

    const ok = await post(roster.baseUrl, ack, { authorization: basic('opsgenie', SHARED_SECRET) });
    expect(ok).toEqual({ status: 200, json: { status: 'acknowledged', alertId: alert.id } });
    expect(await roster.services.supervision.alertRepo.get(alert.id)).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: AISHA,
      acknowledgedVia: 'opsgenie',
    });
    const entry = (await roster.services.audit.export({ agentId: asAgentId('agt_og_dormant') })).find(
      (e) => e.action === 'alert.acknowledged',
    );
    expect(entry?.actor).toEqual({ kind: 'system', name: 'Opsgenie' });
    expect(entry?.details).toMatchObject({ via: 'opsgenie', onBehalfOf: AISHA });

    // Other actions are ignored; a body without an alert is refused with a code.
    const note = await post(roster.baseUrl, alertAction('AddNote', alias), { 'x-roster-webhook-secret': SHARED_SECRET });
    expect(note).toEqual({ status: 202, json: { status: 'ignored', reason: 'action AddNote is not acted on' } });
    const bad = await post(roster.baseUrl, JSON.stringify({ action: 'Close' }), { 'x-roster-webhook-secret': SHARED_SECRET });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_body');

    // Closed in Opsgenie by someone outside the directory: resolved as Opsgenie itself.
    const closed = await post(roster.baseUrl, alertAction('Close', alias, 'contractor@elsewhere.example'), {
      'x-roster-webhook-secret': SHARED_SECRET,
    });
    expect(closed.json).toEqual({ status: 'resolved', alertId: alert.id });
    expect(await roster.services.supervision.alertRepo.get(alert.id)).toMatchObject({ status: 'resolved', resolvedBy: 'Opsgenie' });
    // Neither change went back to Opsgenie.
    expect(og.calls.filter((c) => c.body.alias === alias || c.path.includes(alias)).map((c) => c.path)).toEqual(['/v2/alerts']);
  }, 60_000);

  it('acknowledging again in Roster after an Opsgenie acknowledgement and a snooze is sent to Opsgenie', async () => {
    const alerts = roster.services.supervision.alerts;
    const alert = await alerts.raise({
      kind: 'ownerless',
      agentId: asAgentId('agt_og_ownerless'),
      severity: 'warning',
      summary: 'No sponsor.',
    });
    const alias = `roster-${alert.id}`;
    await og.waitFor((c) => c.body.alias === alias);
    await post(roster.baseUrl, alertAction('Acknowledge', alias), { 'x-roster-webhook-secret': SHARED_SECRET });
    await commandsOf(roster.services).snoozeAlert(LIAM, alert.id, '1h');
    await commandsOf(roster.services).acknowledgeAlert(LIAM, alert.id);
    const [ack] = await og.waitFor((c) => c.path === `/v2/alerts/${alias}/acknowledge`);
    expect(ack!.body).toEqual({ user: "Liam O'Neill", source: 'Roster', note: "Acknowledged in Roster by Liam O'Neill." });
    expect((await roster.services.supervision.alertRepo.get(alert.id))?.acknowledgedVia).toBeUndefined();
  }, 60_000);
});

describe('the pager webhooks are rate-limited per address before anything is checked', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  beforeAll(async () => {
    const { rotations, pagers } = aiOpsPaging(
      { provider: 'opsgenie', apiKeyEnv: 'OG_KEY', webhookSecretEnv: 'OG_SECRET' },
      { OG_KEY: API_KEY, OG_SECRET: SHARED_SECRET },
    );
    roster = await startTestRoster({
      rotations,
      pagers,
      settings: {
        rateLimits: {
          chat: { requests: 30, per: { text: '1m', ms: 60_000 } },
          telemetry: { requests: 600, per: { text: '1m', ms: 60_000 } },
          anonymous: { requests: 3, per: { text: '1h', ms: 3_600_000 } },
        },
      },
    });
  });
  afterAll(async () => {
    await roster.stop();
  });

  it('answers 429 with Retry-After once the address used its requests, whether they were authentic or not', async () => {
    const body = alertAction('AddNote', 'roster-alr_00000000000000bb');
    const statuses: number[] = [];
    const authentic: Record<string, string> = { 'x-roster-webhook-secret': SHARED_SECRET };
    for (const headers of [{}, authentic, {}, authentic]) {
      const res = await fetch(`${roster.baseUrl}/pager/opsgenie`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([401, 202, 401, 429]);
    // One limit per address covers both doors.
    expect((await fetch(`${roster.baseUrl}/pager/pagerduty`, { method: 'POST', body: '{}' })).status).toBe(429);
  }, 60_000);
});
