import { ForbiddenError } from '../../src/core/errors.js';
import { eventually, FAST_FLOWS, people, startHarness, type Harness } from '../helpers/harness.js';
import { goneReceiver, type ReceivedWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { asAgentId, asWebhookSubscriptionId } from '../helpers/ids.js';

/*
 * A receiver answering 410 Gone (the endpoint is no more), through the real services (embedded
 * database, Agenda running) and a receiver that verifies with the `standardwebhooks` package:
 * the subscription is disabled and stays so across a restart with the same configuration, its
 * IT owner is told why with a Re-enable button (IT admins only, audited), which resumes it with
 * every event recorded meanwhile, in order.
 */

const PRIYA = 'priya.raman@brightwater.example'; // not an IT admin

describe('a webhook receiver answering 410 Gone', () => {
  let h: Harness | undefined;
  let receiver: WebhookReceiver;

  afterEach(async () => {
    await h?.close();
    h = undefined;
    await receiver?.stop();
  });

  it('disables the subscription, keeps its deliveries, tells the owner, counts and audits it; only Re-enable resumes it', async () => {
    let webhooks;
    ({ receiver, webhooks } = await goneReceiver());
    h = await startHarness({ flows: FAST_FLOWS, webhooks });
    // The webhook figures Roster serves at /metrics.
    const registry = h.roster.http.metrics.registry;
    const raise = (harness: Harness, id: string) =>
      harness.services.audit.append({
        actor: { kind: 'system', name: 'supervision' },
        action: 'alert.raised',
        subject: { type: 'alert', id, agentId: asAgentId('agt_90ne90ne90ne0001') },
        details: { kind: 'error-spike', severity: 'warning', summary: `alert ${id}` },
      });
    await raise(h, 'alr_g1');
    await raise(h, 'alr_g2');

    const state = await eventually(async () => {
      const s = await h!.services.webhookRepo.state('it-feed');
      return s?.disabledAt ? s : undefined;
    });
    expect(state.disabledReason).toContain('410 Gone');
    // One attempt, and no more: not the queued event behind it, not a retry, not a later event.
    await raise(h, 'alr_g3');
    await h.services.webhooks.tick();
    await h.services.webhooks.tick();
    expect(receiver.received.map((r) => r.answered)).toEqual([410]);
    expect(receiver.received[0]!.verified).toBe(true);
    // Its deliveries are kept: the failed one, and any queued behind it before the 410 (never attempted);
    // events recorded since wait in the audit trail, behind the subscription's cursor.
    const kept = await h.services.webhookRepo.undelivered('it-feed', 10);
    expect(kept[0]).toMatchObject({ status: 'failed', attempts: 1, lastError: 'the receiver answered HTTP 410' });
    expect(kept.slice(1).every((d) => d.status === 'pending' && d.attempts === 0)).toBe(true);

    // The owner is told, with the reason and a Re-enable button.
    const [told] = await eventually(() => {
      const cards = h!.notifier.to(people.aisha, 'notice');
      return cards.length ? cards : undefined;
    });
    expect(told!.card.data).toMatchObject({ level: 'error', title: 'Webhook it-feed is disabled' });
    const text = String((told!.card.data as { text: string }).text);
    expect(text).toContain(`${new URL(receiver.url).host} answered 410 Gone`);
    expect(text).toContain('A restart or a config reload does not re-enable it');
    expect((told!.card.data as { actions: unknown[] }).actions).toEqual([
      { action: 'webhook_enable', label: 'Re-enable', style: 'primary', value: { subscriptionId: 'it-feed' } },
    ]);

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/^roster_webhook_subscriptions_disabled_total\{subscription="it-feed"\} 1$/m);
    expect(metrics).toMatch(/^roster_webhook_subscription_disabled\{subscription="it-feed"\} 1$/m);
    expect(metrics).toMatch(/^roster_webhook_deliveries_failed_total\{subscription="it-feed"\} 1$/m);
    // The entry is an outbox effect of the stored change: performed right after it, so wait for it.
    const audited = await eventually(async () => {
      const entries = (await h!.services.audit.export()).filter((e) => e.action === 'webhook.disabled');
      return entries.length > 0 ? entries : undefined;
    });
    expect(audited).toMatchObject([
      {
        actor: { kind: 'system', name: 'webhooks' },
        subject: { type: 'webhook-subscription', id: 'it-feed' },
        details: { reason: 'gone', status: 410 },
      },
    ]);

    // A restart with the subscription still configured does not resume it.
    receiver.respond = () => 200;
    h = await h.restart();
    await h.services.webhooks.tick();
    await raise(h, 'alr_g4');
    await h.services.webhooks.tick();
    expect(receiver.received).toHaveLength(1);
    expect((await h.services.webhookRepo.state('it-feed'))?.disabledAt).toBeInstanceOf(Date);

    // Re-enable is for IT admins only (the rule of the command every door gives).
    await expect(
      h.services.bus.execute(h.services.bus.person(PRIYA), { type: 'webhook.act', subscriptionId: 'it-feed', action: 'enable' }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect((await h.services.webhookRepo.state('it-feed'))?.disabledAt).toBeInstanceOf(Date);

    const card = await h.services.webhooks.enable(people.aisha, asWebhookSubscriptionId('it-feed'));
    expect(card.data).toMatchObject({ level: 'success' });
    expect(String((card.data as { text: string }).text)).toContain(`${people.aisha} re-enabled it`);
    // Every event, including those recorded while it was disabled, in order, verified.
    const subjectOf = (r: ReceivedWebhook) => (r.event?.data as { subject: { id: string } }).subject.id;
    // Each look sends what is due (as the 2-second job and the enable's own nudge do), so the wait
    // does not hang on the scheduler's timing on a loaded machine.
    const accepted = await eventually(async () => {
      await h!.services.webhooks.tick();
      return receiver.accepted().length >= 4 ? receiver.accepted() : undefined;
    }, 60_000);
    expect(accepted.map(subjectOf)).toEqual(['alr_g1', 'alr_g2', 'alr_g3', 'alr_g4']);
    expect(accepted.every((r) => r.verified)).toBe(true);
    // The owner's card is updated in place (the same message).
    await eventually(() => {
      const message = h!.notifier.messages.find((m) => m.ref.id === told!.ref.id)!;
      return String((message.versions.at(-1)!.data as { text: string }).text).includes('re-enabled it');
    });
    expect(h.notifier.to(people.aisha, 'notice')).toHaveLength(1);
    const enabled = await eventually(async () => {
      const entries = (await h!.services.audit.export()).filter((e) => e.action === 'webhook.enabled');
      return entries.length > 0 ? entries : undefined;
    });
    expect(enabled).toMatchObject([{ actor: { kind: 'person', email: people.aisha }, details: { requeued: 1 } }]);
  }, 90_000);
});
