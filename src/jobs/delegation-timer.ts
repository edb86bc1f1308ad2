import type { Agenda } from 'agenda';
import type { DelegationTimer, DelegationTimers } from '../core/delegations.js';
import type { Job } from './job.js';
import { scheduleOnce, timerJobOptions } from './timers.js';

export const DELEGATION_TIMER_JOB = 'delegations.timer';

/** A delegation's first and last day as Agenda jobs. */
export function createDelegationTimers(agenda: Agenda): DelegationTimers {
  return {
    async schedule(at, job, key) {
      await scheduleOnce(agenda, DELEGATION_TIMER_JOB, at, job, key);
    },
  };
}

/** Out of office: approvals move to the delegate when it starts, and back when it ends. */
export const delegationTimerJob: Job<{ delegations: { start(id: string): Promise<void>; end(id: string): Promise<void> } }> = {
  name: DELEGATION_TIMER_JOB,
  runs: 'starts or ends a delegation (its approvals re-routed)',
  when: 'on demand: scheduled for its dates when someone says they are away (createDelegationTimers)',
  async define(agenda, { delegations }) {
    agenda.define(
      DELEGATION_TIMER_JOB,
      async (job) => {
        const { id, kind } = job.attrs.data as DelegationTimer;
        if (kind === 'start') await delegations.start(id);
        else await delegations.end(id);
      },
      timerJobOptions(agenda),
    );
  },
};
