import { exponential, type Agenda } from 'agenda';
import type { Outbox, QuietHours } from '../core/outbox.js';
import { nextWorkingTime, type WorkingHours } from '../core/time.js';
import type { Job } from './job.js';

/** The Agenda job that performs an effect held back until its recipient's working hours. */
export const QUIET_HOURS_JOB = 'chat.working-hours';

interface HeldEffect {
  type: string;
  effectId: string;
  data: unknown;
}

/**
 * Working hours for reminders that can wait: an effect marked `quiet` for someone outside their
 * working hours (in their own zone) is stored as an Agenda job at the start of their next window,
 * once per effect id, so it survives restarts; {@link quietHoursJob} performs it then through the
 * outbox's performer, whose delivery record keeps it from being sent twice.
 */
export function createQuietHours(
  agenda: Agenda,
  deps: { hours: WorkingHours; zoneOf: (email: string) => Promise<string>; clock: () => Date },
): QuietHours {
  return {
    async until(to) {
      const now = deps.clock();
      const at = nextWorkingTime(now, await deps.zoneOf(to), deps.hours);
      return at.getTime() > now.getTime() ? at : undefined;
    },
    async defer(at, type, effectId, data) {
      await agenda
        .create(QUIET_HOURS_JOB, { type, effectId, data } satisfies HeldEffect)
        .unique({ 'data.effectId': effectId }, { insertOnly: true })
        .schedule(at)
        .save();
    },
  };
}

/** An effect held back until its recipient's working hours, performed when they start. */
export const quietHoursJob: Job<{ outbox: Pick<Outbox, 'performNow'> }> = {
  name: QUIET_HOURS_JOB,
  runs: 'performs one effect held back for working hours (a reminder that can wait)',
  when: "on demand: scheduled by the outbox (createQuietHours) at the start of the recipient's next working hours",
  async define(agenda, { outbox }) {
    agenda.define(
      QUIET_HOURS_JOB,
      async (job) => {
        const { type, effectId, data } = job.attrs.data as HeldEffect;
        await outbox.performNow(type, effectId, data, (job.attrs.failCount ?? 0) + 1);
      },
      { backoff: exponential({ delay: 1000, maxRetries: 8 }) },
    );
  },
};
