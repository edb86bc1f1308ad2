import type { Agenda } from 'agenda';
import type { HandoffTimers } from '../core/handoffs.js';
import type { Job } from './job.js';
import { scheduleOnce, timerJobOptions } from './timers.js';

export const HANDOFF_TIMER_JOB = 'handoffs.timer';

/** A hand-off's timer as it is stored. */
interface HandoffTimer {
  handoffId?: unknown;
  kind?: unknown;
}

/** Hand-off reminders and escalations as Agenda jobs. */
export function createHandoffTimers(agenda: Agenda): HandoffTimers {
  return {
    async schedule(at, timer, key) {
      await scheduleOnce(agenda, HANDOFF_TIMER_JOB, at, timer, key);
    },
  };
}

/** An unclaimed hand-off: remind the people who may take it, then escalate. */
export const handoffTimerJob: Job<{ handoffs: { onTimer(timer: { handoffId: string; kind: 'remind' | 'escalate' }): Promise<void> } }> = {
  name: HANDOFF_TIMER_JOB,
  runs: 'reminds about an unclaimed hand-off, or escalates it',
  when: 'on demand: scheduled when an agent hands a case to people (createHandoffTimers)',
  async define(agenda, { handoffs }) {
    // Like flow timers: short and idempotent (a conditional update), so a short lock and retries with back-off.
    agenda.define(
      HANDOFF_TIMER_JOB,
      async (job) => {
        const data = job.attrs.data as HandoffTimer;
        if (typeof data.handoffId === 'string' && (data.kind === 'remind' || data.kind === 'escalate'))
          await handoffs.onTimer({ handoffId: data.handoffId, kind: data.kind });
      },
      timerJobOptions(agenda),
    );
  },
};
