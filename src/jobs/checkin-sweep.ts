import type { OrgConfig } from '../config/schemas.js';
import type { SweepResult } from '../core/checkin-service.js';
import type { Logger } from '../logger.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** Due check-ins, dormant agents and agents without a sponsor. */
export const checkinSweepJob: Job<{
  checkins: { sweep(now: Date, afterChunk?: () => Promise<void>): Promise<SweepResult> };
  org: OrgConfig;
  clock: () => Date;
  log: Logger;
}> = {
  name: 'checkins.sweep',
  runs: 'runs the check-ins that are due, and flags dormant and ownerless agents',
  when: 'settings.schedules.checkinSweep (default every 15 minutes)',
  async define(agenda, { checkins, org, clock, log }) {
    agenda.define(
      this.name,
      async (job) => {
        // Each chunk renews the job's lock, so however long a sweep of a large fleet takes, no other
        // replica sees the lock expire and starts a second sweep.
        const result = await checkins.sweep(clock(), () => job.touch());
        if (result.ran || result.dormant || result.ownerless) log.info(result, 'check-in sweep');
      },
      { concurrency: 1, lockLimit: 1 },
    );
    await ensureRecurring(agenda, this.name, org.settings.schedules.checkinSweep ?? '15 minutes');
  },
};
