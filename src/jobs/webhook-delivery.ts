import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** The Agenda job that queues and sends webhook deliveries. */
export const WEBHOOK_JOB = 'webhooks.deliver';

/** Signed webhooks: audit entries become deliveries, sent and retried. */
export const webhookDeliveryJob: Job<{ webhooks?: { tick(): Promise<void> } }> = {
  name: WEBHOOK_JOB,
  runs: 'queues new audit entries as webhook deliveries and sends those due (appends also nudge it)',
  when: 'every 2 seconds on every replica, when config/webhooks.yaml has subscriptions',
  async define(agenda, { webhooks }) {
    if (!webhooks) return;
    agenda.define(WEBHOOK_JOB, async () => {
      await webhooks.tick();
    });
    await ensureRecurring(agenda, WEBHOOK_JOB, '2 seconds');
  },
};
