import type { Job } from './job.js';
import { GRANT_JOB_BACKOFF, GRANT_JOBS, type ExpireData } from './grants.js';
import type { GrantId } from '../core/ids.js';

/** A grant's end: active → expired at its expiry time. */
export const grantExpireJob: Job<{ access: { expireGrant(grantId: GrantId): Promise<boolean> } }> = {
  name: GRANT_JOBS.expire,
  runs: 'expires one grant (a no-op when it ended otherwise)',
  when: 'on demand: scheduled at the expiry when a grant becomes active (createGrantTimers)',
  async define(agenda, { access }) {
    // A failed expiry is retried with back-off; the safety sweep catches what still slips through.
    agenda.define(
      GRANT_JOBS.expire,
      async (job) => {
        const { grantId } = job.attrs.data as ExpireData;
        await access.expireGrant(grantId);
      },
      { backoff: GRANT_JOB_BACKOFF },
    );
  },
};
