import { createSlackChannel } from '../../src/channels/slack/index.js';
import { startTestRoster } from '../helpers/app.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { eventually, people } from '../helpers/harness.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { downReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * A delivery that keeps failing past its retry window, end to end: the whole Roster with the
 * Slack channel (Bolt's receiver fed signed requests, Slack's Web API faked on loopback), a
 * receiver that verifies with the `standardwebhooks` package, and the services' clock moved
 * 25 hours instead of waiting. The IT owner's card arrives, /metrics counts the failure, a
 * non-admin's Retry is refused, and the IT admin's Retry delivers it and updates the card in place.
 */

const AISHA = { id: 'U04L2V8F5HY', email: people.aisha }; // it-admin, the subscription's owner
const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // not an IT admin

describe('webhook deliveries failing for good: card, metrics, Retry from Slack', () => {
  let slack: FakeSlack;
  let receiver: WebhookReceiver;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let offsetMs = -25 * 3_600_000;
  const clock = () => new Date(Date.now() + offsetMs);

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    let webhooks;
    ({ receiver, webhooks } = await downReceiver());
    roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel], clock, webhooks });
  }, 60_000);
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
    await receiver?.stop();
  });

  it('tells the IT owner with a Retry card, counts it in /metrics, and Retry (IT admins only) delivers it', async () => {
    const alert = await roster.services.supervision.alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_5ade5ade5ade0042'),
      severity: 'critical',
      summary: 'Failure rate <b>60 %</b> & rising.',
    });
    // First attempt, 25 hours ago (its timestamp is too old for the receiver to verify; it is down and answers 503).
    await eventually(async () => {
      const [d] = await roster.services.webhookRepo.undelivered('siem', 10);
      return d?.status === 'pending' && d.attempts === 1;
    });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.accepted()).toEqual([]);
    offsetMs = 0;
    await roster.services.webhooks.tick();
    const failed = await eventually(async () => {
      const [d] = await roster.services.webhookRepo.undelivered('siem', 10);
      return d?.status === 'failed' ? d : undefined;
    });
    expect(failed.attempts).toBeGreaterThanOrEqual(2);

    const posted = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AISHA.id && actionElements(a.blocks).some((b) => b.action_id === 'webhook_retry'),
    );
    expect(JSON.stringify(posted.args.blocks)).toContain('Webhook siem: 1 delivery failed');
    const retry = actionElements(posted.args.blocks).find((b) => b.action_id === 'webhook_retry')!;

    const metrics = await (await fetch(`${roster.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^roster_webhook_deliveries_failed_total\{subscription="siem"\} 1$/m);
    expect(metrics).toMatch(/^roster_webhook_failed_deliveries\{subscription="siem"\} 1$/m);

    // Someone who is not an IT admin is refused, server-side: nothing is re-queued.
    receiver.respond = () => 200;
    const refused = await postSlack(roster.baseUrl, interaction(buttonClick(PRIYA.id, 'webhook_retry', String(retry.value))));
    expect(refused.status).toBe(200);
    await eventually(() => slack.calls.some((c) => c.method.startsWith('chat.post') && JSON.stringify(c.args).includes('Only IT admins')));
    expect(await roster.services.webhookRepo.countFailed('siem')).toBe(1);

    const click = await postSlack(roster.baseUrl, interaction(buttonClick(AISHA.id, 'webhook_retry', String(retry.value))));
    expect(click.status).toBe(200);
    const [delivered] = await eventually(() => (receiver.accepted().length >= 1 ? receiver.accepted() : undefined));
    expect(delivered!.event).toMatchObject({ type: 'com.roster.alert.opened', subject: 'agt_5ade5ade5ade0042', id: delivered!.webhookId });
    expect((delivered!.event!.data as { subject: { id: string } }).subject.id).toBe(alert.id);
    // The same event as the failed attempts: the receiver can dedupe on webhook-id.
    expect(new Set(receiver.received.map((r) => r.webhookId)).size).toBe(1);

    // The owner's card is updated in place: the same message, now saying who retried.
    const updated = await slack.waitFor('chat.update', (a) => JSON.stringify(a.blocks).includes(`${AISHA.email} pressed Retry`));
    // Slack answers a DM post with its D… channel, which the update addresses.
    expect(updated.args.channel).toBe(`D${AISHA.id.slice(1)}`);
    expect(updated.args.ts).toEqual(expect.any(String));
    expect(JSON.stringify(updated.args.blocks)).toContain('re-queued 1');
    const retryCards = slack.calls.filter(
      (c) => c.method === 'chat.postMessage' && actionElements(c.args.blocks).some((b) => b.action_id === 'webhook_retry'),
    );
    expect(retryCards).toHaveLength(1);
    const audit = await roster.services.audit.export();
    expect(audit.filter((e) => e.action === 'webhook.retried')).toMatchObject([
      { actor: { kind: 'person', email: AISHA.email }, subject: { type: 'webhook-subscription', id: 'siem' }, details: { requeued: 1 } },
    ]);
    const after = await (await fetch(`${roster.baseUrl}/metrics`)).text();
    expect(after).toMatch(/^roster_webhook_failed_deliveries\{subscription="siem"\} 0$/m);
    expect(after).toMatch(/^roster_webhook_deliveries_total\{subscription="siem"\} 1$/m);
  }, 90_000);

  it("a 410 Gone disables the subscription; the owner's card says so in place and only an IT admin's Re-enable resumes it", async () => {
    const before = receiver.received.length;
    receiver.respond = () => 410;
    await roster.services.supervision.alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_5ade5ade5ade0079'),
      severity: 'warning',
      summary: 'Latency doubled.',
    });
    const disabled = await slack.waitFor(
      'chat.update',
      (a) => a.channel === `D${AISHA.id.slice(1)}` && actionElements(a.blocks).some((b) => b.action_id === 'webhook_enable'),
      20_000,
    );
    expect(JSON.stringify(disabled.args.blocks)).toContain('answered 410 Gone');
    expect(receiver.received).toHaveLength(before + 1);
    const enable = actionElements(disabled.args.blocks).find((b) => b.action_id === 'webhook_enable')!;

    receiver.respond = () => 200;
    const refused = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'webhook_enable', String(enable.value), slack.responseUrl('enable-priya'))),
    );
    expect(refused.status).toBe(200);
    expect(JSON.stringify((await slack.waitForResponse('enable-priya')).body)).toContain('Only IT admins');
    expect((await roster.services.webhookRepo.state('siem'))?.disabledAt).toBeInstanceOf(Date);

    const clicked = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(AISHA.id, 'webhook_enable', String(enable.value), slack.responseUrl('enable-aisha'))),
    );
    expect(clicked.status).toBe(200);
    await eventually(() => receiver.accepted().some((r) => r.event?.subject === 'agt_5ade5ade5ade0079'));
    expect((await roster.services.webhookRepo.state('siem'))?.disabledAt).toBeUndefined();
    await slack.waitFor('chat.update', (a) => JSON.stringify(a.blocks).includes(`${AISHA.email} re-enabled it`));
    const audit = await roster.services.audit.export();
    expect(audit.filter((e) => e.action === 'webhook.enabled')).toMatchObject([
      { actor: { kind: 'person', email: AISHA.email }, subject: { type: 'webhook-subscription', id: 'siem' }, details: { requeued: 1 } },
    ]);
  }, 90_000);
});
