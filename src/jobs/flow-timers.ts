import type { Agenda } from 'agenda';
import type { FlowTimer, FlowTimers } from '../flows/types.js';
import type { Job } from './job.js';
import { scheduleOnce, timerJobOptions } from './timers.js';

export const FLOW_TIMER_JOB = 'flows.timer';

/** Flow timers as Agenda jobs: stored in the database, so reminders, escalations and expiries survive a restart. */
export function createFlowTimers(agenda: Agenda): FlowTimers {
  return {
    async schedule(at: Date, timer: FlowTimer, key?: string) {
      await scheduleOnce(agenda, FLOW_TIMER_JOB, at, timer, key);
    },
    async clear(runId: string) {
      await agenda.cancel({ name: FLOW_TIMER_JOB, data: { runId } });
    },
  };
}

/** Delivers due timers to the engine; the engine ignores stale ones, so a timer that runs twice changes nothing twice. */
export function defineFlowTimerJob(agenda: Agenda, onTimer: (timer: FlowTimer) => Promise<void>): void {
  agenda.define(
    FLOW_TIMER_JOB,
    async (job) => {
      await onTimer(job.attrs.data as FlowTimer);
    },
    timerJobOptions(agenda),
  );
}

/** The flows' reminders, escalations and expiries. */
export const flowTimerJob: Job<{ engine: { onTimer(timer: FlowTimer): Promise<void> } }> = {
  name: FLOW_TIMER_JOB,
  runs: "delivers a run's due timer (remind, escalate, expire) to the flow engine",
  when: 'on demand: scheduled by the engine (createFlowTimers) as runs wait',
  async define(agenda, { engine }) {
    defineFlowTimerJob(agenda, (timer) => engine.onTimer(timer));
  },
};
