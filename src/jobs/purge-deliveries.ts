import type { Connection } from 'mongoose';
import type { OrgConfig } from '../config/schemas.js';
import type { Logger } from '../logger.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** How long chat deliveries are remembered to drop retries (Slack retries within minutes). */
const DELIVERY_MEMORY_MS = 2 * 24 * 60 * 60_000;

/** The embedded server has no TTL indexes, so old delivery keys are deleted by a job. */
export const purgeDeliveriesJob: Job<{ connection: Connection; org: OrgConfig; log: Logger }> = {
  name: 'system.purge-deliveries',
  runs: 'deletes chat delivery keys older than two days',
  when: 'settings.schedules.deliveryKeyPurge (default every hour)',
  async define(agenda, { connection, org, log }) {
    agenda.define(this.name, async () => {
      const result = await connection.collection('slack_deliveries').deleteMany({ at: { $lt: new Date(Date.now() - DELIVERY_MEMORY_MS) } });
      if (result.deletedCount > 0) log.info({ deleted: result.deletedCount }, 'purged old chat delivery keys');
    });
    await ensureRecurring(agenda, this.name, org.settings.schedules.deliveryKeyPurge ?? '1 hour');
  },
};
