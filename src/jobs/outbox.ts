import type { Outbox } from '../core/outbox.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

export const OUTBOX_DRAIN_JOB = 'outbox.drain';

/**
 * The outbox worker as an Agenda job: performs the effects a writer left behind (it died, or an
 * effect failed and its back-off is over). Several processes may run it; each claims a record's
 * outbox before performing it.
 */
export const outboxDrainJob: Job<{ outbox: Outbox; every?: { outboxDrain?: string } }> = {
  name: OUTBOX_DRAIN_JOB,
  runs: 'performs the effects writers left behind (died, or failed and backed off)',
  when: 'every 5 seconds (tests may shorten it)',
  async define(agenda, { outbox, every }) {
    agenda.define(
      OUTBOX_DRAIN_JOB,
      async () => {
        await outbox.drain();
      },
      { lockLifetime: Math.max(outbox.settings.leaseMs, 10_000) },
    );
    await ensureRecurring(agenda, OUTBOX_DRAIN_JOB, every?.outboxDrain ?? '5 seconds');
  },
};
