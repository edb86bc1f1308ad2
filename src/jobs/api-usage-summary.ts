import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** The agent API's usage, summarised into the audit trail hour by hour. */
export const apiUsageSummaryJob: Job<{ usage: { summarise(): Promise<unknown> } }> = {
  name: 'api.usage.summary',
  runs: "writes the audit summary of each finished hour's agent API use",
  when: 'every hour',
  async define(agenda, { usage }) {
    agenda.define(this.name, async () => {
      await usage.summarise();
    });
    await ensureRecurring(agenda, this.name, '1 hour');
  },
};
