import { crashing, crashPoint, recovered } from '../helpers/crash-point.js';
import { eventually, FAST_FLOWS, people, startHarness, type Harness } from '../helpers/harness.js';
import { goneReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { asAgentId, asWebhookSubscriptionId } from '../helpers/ids.js';

/*
 * A subscription's disable (410 Gone), Retry and Re-enable store their audit entries in the
 * subscription state record's outbox with the change. The writer "dies" (the fault point throws)
 * right after the change was stored: the entry is not there yet, the outbox worker appends it,
 * once. Code that appended the entry directly would never reach the fault point, or would show
 * the entry before the worker ran: either fails here.
 */

describe('webhook subscription changes killed between the change and its audit entry', () => {
  const crash = crashPoint();
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
    await receiver?.stop();
  });

  const audited = async (action: string) =>
    (await h!.services.audit.export()).filter((e) => e.action === action && e.subject.id === 'it-feed');
  const auditedNow = (action: string) => async () => (await audited(action)).length > 0;

  it('a 410 disable, a Retry and a Re-enable: each stored, then audited once by the worker', async () => {
    let webhooks;
    ({ receiver, webhooks } = await goneReceiver());
    h = await startHarness(crashing(crash, { flows: FAST_FLOWS, webhooks }));
    const services = h.services;

    crash.arm('webhook.disabled:0');
    await services.audit.append({
      actor: { kind: 'system', name: 'supervision' },
      action: 'alert.raised',
      subject: { type: 'alert', id: 'alr_o1', agentId: asAgentId('agt_0u7b0x0u7b0x0001') },
      details: { kind: 'error-spike', severity: 'warning', summary: 'alert alr_o1' },
    });
    await eventually(async () => (await services.webhookRepo.state('it-feed'))?.disabledAt !== undefined);
    expect(await audited('webhook.disabled')).toHaveLength(0);
    await recovered(h, auditedNow('webhook.disabled'));
    expect(await audited('webhook.disabled')).toMatchObject([{ actor: { kind: 'system', name: 'webhooks' }, details: { status: 410 } }]);

    receiver!.respond = () => 200;
    crash.arm('webhook.enabled:0');
    await expect(services.webhooks.enable(people.aisha, asWebhookSubscriptionId('it-feed'))).rejects.toThrow(/crashed/);
    expect((await services.webhookRepo.state('it-feed'))?.disabledAt).toBeUndefined();
    expect(await audited('webhook.enabled')).toHaveLength(0);
    await recovered(h, auditedNow('webhook.enabled'));
    expect(await audited('webhook.enabled')).toMatchObject([{ actor: { kind: 'person', email: people.aisha }, details: { requeued: 1 } }]);

    // The re-queue did not happen (the writer died first): Retry re-queues it, audited the same way.
    expect(await services.webhookRepo.countFailed('it-feed')).toBe(1);
    crash.arm('webhook.retried:0');
    await expect(services.webhooks.retry(people.aisha, asWebhookSubscriptionId('it-feed'))).rejects.toThrow(/crashed/);
    expect((await services.webhookRepo.state('it-feed'))?.retriedBy).toBe(people.aisha);
    expect(await audited('webhook.retried')).toHaveLength(0);
    await recovered(h, auditedNow('webhook.retried'));
    expect(await audited('webhook.retried')).toMatchObject([{ actor: { kind: 'person', email: people.aisha }, details: { requeued: 1 } }]);
    expect(await audited('webhook.disabled')).toHaveLength(1);
    expect(await audited('webhook.enabled')).toHaveLength(1);
  }, 90_000);
});
