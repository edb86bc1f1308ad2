import { exponential, type Agenda } from 'agenda';
import type { DelegationTimer, DelegationTimers } from '../core/delegations.js';
import { timerLockLifetime } from './flow-timers.js';
import type { Job } from './job.js';

export const DELEGATION_TIMER_JOB = 'delegations.timer';

/** A delegation's first and last day as Agenda jobs. */
export function createDelegationTimers(agenda: Agenda): DelegationTimers {
  return {
    async schedule(at, job, key) {
      // Scheduling the same effect twice (a retried outbox effect) keeps one job.
      await agenda
        .create(DELEGATION_TIMER_JOB, { ...job, key })
        .unique({ 'data.key': key }, { insertOnly: true })
        .schedule(at)
        .save();
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
      { lockLifetime: timerLockLifetime(agenda), backoff: exponential({ delay: 1000, maxRetries: 6 }) },
    );
  },
};
