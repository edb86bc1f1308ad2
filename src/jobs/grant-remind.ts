import type { Job } from './job.js';
import { GRANT_JOB_BACKOFF, GRANT_JOBS, type RemindData } from './grants.js';

/** A sponsor's reminder that a grant ends soon (Extend / Let expire). */
export const grantRemindJob: Job<{ access: { remindGrant(grantId: string, offsetMs: number): Promise<boolean> } }> = {
  name: GRANT_JOBS.remind,
  runs: "tells a grant's sponsors it ends soon",
  when: 'on demand: scheduled before the expiry when a long grant becomes active (createGrantTimers)',
  async define(agenda, { access }) {
    agenda.define(
      GRANT_JOBS.remind,
      async (job) => {
        const { grantId, offsetMs } = job.attrs.data as RemindData;
        await access.remindGrant(grantId, offsetMs);
      },
      { backoff: GRANT_JOB_BACKOFF },
    );
  },
};
