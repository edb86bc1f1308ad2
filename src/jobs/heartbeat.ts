import type { Logger } from '../logger.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** A debug line every minute: the scheduler is alive. */
export const heartbeatJob: Job<{ log: Logger }> = {
  name: 'system.heartbeat',
  runs: 'logs that the scheduler is alive (debug level)',
  when: 'every minute',
  async define(agenda, { log }) {
    agenda.define(this.name, async () => {
      log.debug('scheduler heartbeat');
    });
    await ensureRecurring(agenda, this.name, '1 minute');
  },
};
