import type { Agenda } from 'agenda';
import type { AlertTimer, AlertTimers } from '../core/alerts.js';
import type { Job } from './job.js';
import { scheduleOnce, timerJobOptions } from './timers.js';

/** The Agenda job of alert timers (escalate, re-notify, wake). */
export const ALERT_TIMER_JOB = 'alerts.timer';

/** Alert timers as Agenda jobs, stored so an escalation survives a restart. */
export function createAlertTimers(agenda: Agenda): AlertTimers {
  return {
    async schedule(at, timer, key) {
      await scheduleOnce(agenda, ALERT_TIMER_JOB, at, timer, key);
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
      timerJobOptions(agenda),
    );
  },
};
