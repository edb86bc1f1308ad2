import type { OrgConfig } from '../config/schemas.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** Retraining that came due on the catalog's cadence, and retraining overdue. */
export const retrainingSweepJob: Job<{
  development: { retrainingSweep(now: Date): Promise<unknown> };
  org: OrgConfig;
  clock: () => Date;
  every?: { retrainingSweep?: string };
}> = {
  name: 'retraining.sweep',
  runs: 'asks sponsors for retraining that came due, and tells IT admins of retraining overdue',
  when: 'settings.schedules.retrainingSweep (default every day)',
  async define(agenda, { development, org, clock, every }) {
    agenda.define(this.name, async () => {
      await development.retrainingSweep(clock());
    });
    await ensureRecurring(agenda, this.name, every?.retrainingSweep ?? org.settings.schedules.retrainingSweep ?? '1 day');
  },
};
