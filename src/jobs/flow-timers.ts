import type { Agenda } from 'agenda';
import type { FlowTimer, FlowTimers } from '../flows/types.js';

export const FLOW_TIMER_JOB = 'flows.timer';

/** Flow timers as Agenda jobs: stored in the database, so reminders, escalations and expiries survive a restart. */
export function createFlowTimers(agenda: Agenda): FlowTimers {
  return {
    async schedule(at: Date, timer: FlowTimer) {
      await agenda.schedule(at, FLOW_TIMER_JOB, timer);
    },
  };
}

/** Delivers due timers to the engine; the engine ignores stale ones, so a timer that runs twice changes nothing twice. */
export function defineFlowTimerJob(agenda: Agenda, onTimer: (timer: FlowTimer) => Promise<void>): void {
  agenda.define(FLOW_TIMER_JOB, async (job) => {
    await onTimer(job.attrs.data as FlowTimer);
  });
}
