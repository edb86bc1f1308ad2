import type { Agenda } from 'agenda';

/** A recurring job's cadence: an interval (`'15 minutes'`) or a cron expression with an optional IANA time zone. */
export type Cadence = string | { cron: string; timezone?: string };

/**
 * Schedules a recurring job so that restarts do not move it. Agenda's `every()` recomputes the
 * next run from "now" each time it is called, so a process that restarts more often than the
 * cadence would never run the job. Here the stored job is left alone when its cadence is
 * unchanged: it runs at its stored time, and after each run Agenda computes the next one from
 * that run. A new or changed cadence starts counting from now.
 */
export async function ensureRecurring(agenda: Agenda, name: string, cadence: Cadence): Promise<void> {
  const interval = typeof cadence === 'string' ? cadence : cadence.cron;
  const timezone = typeof cadence === 'string' ? undefined : cadence.timezone;
  const attrs = (await agenda.queryJobs({ name })).jobs.find((j) => j.type === 'single');
  if (
    attrs &&
    attrs.type === 'single' &&
    String(attrs.repeatInterval) === interval &&
    (attrs.repeatTimezone ?? undefined) === timezone &&
    attrs.nextRunAt
  ) {
    return;
  }
  await agenda.every(interval, name, {}, { skipImmediate: true, ...(timezone ? { timezone } : {}) });
}
