import type { SigningKeys } from '../api/signing-keys.js';
import type { Logger } from '../logger.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** The agent API's token-signing key, rotated on schedule when Roster keeps it in the database. */
export const signingKeyRotationJob: Job<{ signingKeys: Pick<SigningKeys, 'rotateIfDue' | 'source'>; log: Logger }> = {
  name: 'oauth.signing-key.rotate',
  runs: 'rotates the token-signing key when it is older than ROSTER_OAUTH_KEY_ROTATION_DAYS',
  when: 'every hour, when the key is kept in the database (no ROSTER_OAUTH_SIGNING_KEY)',
  async define(agenda, { signingKeys, log }) {
    agenda.define(this.name, async () => {
      const kid = await signingKeys.rotateIfDue();
      if (kid) log.info({ kid }, 'token-signing key rotated on schedule');
    });
    if (signingKeys.source === 'database') await ensureRecurring(agenda, this.name, '1 hour');
  },
};
