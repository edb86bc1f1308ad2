import type { Agenda } from 'agenda';
import type { Outbox } from '../core/outbox.js';
import { ensureRecurring } from './recurring.js';

export const OUTBOX_DRAIN_JOB = 'outbox.drain';

/**
 * The outbox worker as an Agenda job: performs the effects a writer left behind (it died, or an
 * effect failed and its back-off is over). Several processes may run it; each claims a record's
 * outbox before performing it.
 */
export async function defineOutboxJob(agenda: Agenda, outbox: Outbox, every = '5 seconds'): Promise<void> {
  agenda.define(
    OUTBOX_DRAIN_JOB,
    async () => {
      await outbox.drain();
    },
    { lockLifetime: Math.max(outbox.settings.leaseMs, 10_000) },
  );
  await ensureRecurring(agenda, OUTBOX_DRAIN_JOB, every);
}
