import type { Agenda } from 'agenda';
import type { Connection } from 'mongoose';
import type { Logger } from '../logger.js';
import { ensureRecurring, type Cadence } from './recurring.js';

/** What jobs may use; grows as services are added. */
export interface JobDependencies {
  log: Logger;
  connection: Connection;
  /** Cadence of the delivery-key purge (`settings.schedules.deliveryKeyPurge`). */
  deliveryKeyPurge?: Cadence;
}

/** Job names are namespaced (`grants.expire`, `checkins.run`) and stable: they are stored. */
export const JobNames = {
  heartbeat: 'system.heartbeat',
  purgeDeliveries: 'system.purge-deliveries',
} as const;

/** How long chat deliveries are remembered to drop retries (Slack retries within minutes). */
const DELIVERY_MEMORY_MS = 2 * 24 * 60 * 60_000;

/** Defines every Agenda job Roster runs, and schedules the recurring ones. */
export async function defineJobs(agenda: Agenda, deps: JobDependencies): Promise<void> {
  agenda.define(JobNames.heartbeat, async () => {
    deps.log.debug('scheduler heartbeat');
  });
  // The embedded server has no TTL indexes, so old delivery keys are deleted by a job.
  agenda.define(JobNames.purgeDeliveries, async () => {
    const result = await deps.connection
      .collection('slack_deliveries')
      .deleteMany({ at: { $lt: new Date(Date.now() - DELIVERY_MEMORY_MS) } });
    if (result.deletedCount > 0) deps.log.info({ deleted: result.deletedCount }, 'purged old chat delivery keys');
  });
  await ensureRecurring(agenda, JobNames.heartbeat, '1 minute');
  await ensureRecurring(agenda, JobNames.purgeDeliveries, deps.deliveryKeyPurge ?? '1 hour');
}
