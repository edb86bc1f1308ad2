import { exponential, type Agenda } from 'agenda';
import type { AlertTimer, AlertTimers } from '../core/alerts.js';
import { timerLockLifetime } from './flow-timers.js';
import type { Job } from './job.js';

/** The Agenda job of alert timers (escalate, re-notify, wake). */
export const ALERT_TIMER_JOB = 'alerts.timer';

/** Alert timers as Agenda jobs, stored so an escalation survives a restart. */
export function createAlertTimers(agenda: Agenda): AlertTimers {
  return {
    async schedule(at, timer, key) {
      if (!key) return void (await agenda.schedule(at, ALERT_TIMER_JOB, timer));
      // A retried outbox effect schedules the same timer: one job per key.
      await agenda
        .create(ALERT_TIMER_JOB, { ...timer, key })
        .unique({ 'data.key': key }, { insertOnly: true })
        .schedule(at)
        .save();
    },
  };
}

/** An alert's escalation policy in time: re-notify the level, escalate to the next, wake a snoozed alert. */
export const alertTimerJob: Job<{ alerts: { onTimer(timer: AlertTimer): Promise<void> } }> = {
  name: ALERT_TIMER_JOB,
  runs: 'moves an alert along its escalation policy (re-notify, escalate, wake)',
  when: 'on demand: scheduled by the alert service (createAlertTimers) as alerts are raised, paged and snoozed',
  async define(agenda, { alerts }) {
    agenda.define(
      ALERT_TIMER_JOB,
      async (job) => {
        await alerts.onTimer(job.attrs.data as AlertTimer);
      },
      // Short and idempotent, like flow timers: a crashed process delays a page by 30 s at most.
      { lockLifetime: timerLockLifetime(agenda), backoff: exponential({ delay: 1000, maxRetries: 6 }) },
    );
  },
};
