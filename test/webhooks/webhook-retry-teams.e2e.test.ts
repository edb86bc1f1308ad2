import { startTeamsTestRoster, type TeamsTestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { eventually, people } from '../helpers/harness.js';
import { button, cardText } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';
import { downReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * The Slack journey of webhook-retry.e2e.test.ts, in Microsoft Teams: the whole Roster with the
 * Teams channel, fed real Teams activities (installation, Action.Execute invokes), the Bot
 * Connector faked on loopback, a receiver that verifies with the `standardwebhooks` package, and
 * the services' clock moved 25 hours instead of waiting. The IT owner's card arrives, a non-admin's
 * Retry is refused, and the IT admin's Retry delivers the event and updates the card in place.
 */

const PRIYA = 'priya.raman@brightwater.example'; // not an IT admin

describe('webhook deliveries failing for good: card and Retry from Teams', () => {
  let teams: TeamsTestRoster;
  let receiver: WebhookReceiver;
  let offsetMs = -25 * 3_600_000;
  const clock = () => new Date(Date.now() + offsetMs);

  beforeAll(async () => {
    let webhooks;
    ({ receiver, webhooks } = await downReceiver());
    teams = await startTeamsTestRoster({ clock, webhooks });
  }, 60_000);
  afterAll(async () => {
    await teams?.stop();
    await receiver?.stop();
  });

  it("the IT owner's card arrives in Teams; a non-admin's Retry is refused; the IT admin's Retry delivers and updates the card in place", async () => {
    const { roster, connector, client } = teams;
    const user = (email: string) => teamsUser(roster.chat.person(email)!);
    const aisha = user(people.aisha);
    const priya = user(PRIYA);
    for (const u of [aisha, priya]) await client.install(u);
    connector.reset();

    const alert = await roster.services.supervision.alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_5ade5ade5ade0077'),
      severity: 'critical',
      summary: 'Failure rate <b>60 %</b> & rising.',
    });
    await eventually(async () => {
      const [d] = await roster.services.webhookRepo.undelivered('siem', 10);
      return d?.status === 'pending' && d.attempts === 1;
    });
    offsetMs = 0;
    await roster.services.webhooks.tick();
    await eventually(async () => (await roster.services.webhookRepo.countFailed('siem')) === 1);

    const isRetryCard = (call: { body: Record<string, unknown> }) => cardText(FakeConnector.card(call as never)).includes('Webhook siem');
    const posted = await eventually(() => connector.posts(aisha.conversationId).find(isRetryCard));
    const card = FakeConnector.card(posted)!;
    expect(cardText(card)).toContain('Webhook siem: 1 delivery failed');
    const retry = button(card, 'webhook_retry');
    expect(retry.data).toMatchObject({ subscriptionId: 'siem' });
    // Only the owner was told.
    expect(connector.posts(priya.conversationId).filter(isRetryCard)).toEqual([]);

    // Someone who is not an IT admin is refused, server-side: nothing is re-queued.
    receiver.respond = () => 200;
    const refused = await client.execute(priya, 'webhook_retry', retry.data!);
    expect(refused.status).toBe(200);
    expect(cardText(refused.card)).toContain('Only IT admins');
    expect(await roster.services.webhookRepo.countFailed('siem')).toBe(1);
    expect(receiver.accepted()).toEqual([]);

    const clicked = await client.execute(aisha, 'webhook_retry', retry.data!, { replyToId: posted.createdId! });
    expect(clicked.status).toBe(200);
    expect(cardText(clicked.card)).toContain(`${people.aisha} pressed Retry`);
    const [delivered] = await eventually(() => (receiver.accepted().length >= 1 ? receiver.accepted() : undefined));
    expect(delivered!.verified).toBe(true);
    expect(delivered!.event).toMatchObject({ type: 'com.roster.alert.opened', subject: 'agt_5ade5ade5ade0077', id: delivered!.webhookId });
    expect((delivered!.event!.data as { subject: { id: string } }).subject.id).toBe(alert.id);
    expect(new Set(receiver.received.map((r) => r.webhookId)).size).toBe(1);

    // The owner's card is updated in place: a PUT of the same activity, saying who retried.
    const updated = await eventually(() =>
      connector
        .puts(aisha.conversationId)
        .find((c) => c.activityId === posted.createdId && cardText(FakeConnector.card(c)).includes('re-queued 1')),
    );
    expect(cardText(FakeConnector.card(updated))).toContain(`${people.aisha} pressed Retry`);
    expect(connector.posts(aisha.conversationId).filter(isRetryCard)).toHaveLength(1);
    const audit = await roster.services.audit.export();
    expect(audit.filter((e) => e.action === 'webhook.retried')).toMatchObject([
      { actor: { kind: 'person', email: people.aisha }, subject: { type: 'webhook-subscription', id: 'siem' }, details: { requeued: 1 } },
    ]);
    expect(await roster.services.webhookRepo.countFailed('siem')).toBe(0);
  }, 90_000);
  it("a 410 Gone disables the subscription; the owner's card says so in place and only an IT admin's Re-enable resumes it", async () => {
    const { roster, connector, client } = teams;
    const aisha = teamsUser(roster.chat.person(people.aisha)!);
    const priya = teamsUser(roster.chat.person(PRIYA)!);
    const cardOf = (c: Parameters<typeof FakeConnector.card>[0]) => cardText(FakeConnector.card(c));
    const [original] = connector.posts(aisha.conversationId).filter((c) => cardOf(c).includes('Webhook siem'));
    expect(original).toBeDefined();
    const before = receiver.received.length;
    receiver.respond = () => 410;
    await roster.services.supervision.alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_5ade5ade5ade0078'),
      severity: 'warning',
      summary: 'Latency doubled.',
    });
    const disabled = await eventually(() =>
      connector.puts(aisha.conversationId).find((c) => c.activityId === original!.createdId && cardOf(c).includes('is disabled')),
    );
    expect(cardOf(disabled)).toContain('answered 410 Gone');
    const enable = button(FakeConnector.card(disabled), 'webhook_enable');
    expect(receiver.received).toHaveLength(before + 1);

    receiver.respond = () => 200;
    const refused = await client.execute(priya, 'webhook_enable', enable.data!);
    expect(cardText(refused.card)).toContain('Only IT admins');
    expect((await roster.services.webhookRepo.state('siem'))?.disabledAt).toBeInstanceOf(Date);

    const clicked = await client.execute(aisha, 'webhook_enable', enable.data!, { replyToId: original!.createdId! });
    expect(cardText(clicked.card)).toContain(`${people.aisha} re-enabled it`);
    await eventually(() => receiver.accepted().some((r) => r.event?.subject === 'agt_5ade5ade5ade0078'));
    const audit = await roster.services.audit.export();
    expect(audit.filter((e) => e.action === 'webhook.enabled')).toMatchObject([
      { actor: { kind: 'person', email: people.aisha }, subject: { type: 'webhook-subscription', id: 'siem' }, details: { requeued: 1 } },
    ]);
  }, 90_000);
});
