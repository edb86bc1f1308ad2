import { exponential, type Agenda } from 'agenda';
import type { FlowTimer, FlowTimers } from '../flows/types.js';
import type { Job } from './job.js';

export const FLOW_TIMER_JOB = 'flows.timer';

/** Flow timers as Agenda jobs: stored in the database, so reminders, escalations and expiries survive a restart. */
export function createFlowTimers(agenda: Agenda): FlowTimers {
  return {
    async schedule(at: Date, timer: FlowTimer, key?: string) {
      if (!key) {
        await agenda.schedule(at, FLOW_TIMER_JOB, timer);
        return;
      }
      // Scheduling the same effect twice (a retried outbox effect) keeps one job.
      await agenda
        .create(FLOW_TIMER_JOB, { ...timer, key })
        .unique({ 'data.key': key }, { insertOnly: true })
        .schedule(at)
        .save();
    },
    async clear(runId: string) {
      await agenda.cancel({ name: FLOW_TIMER_JOB, data: { runId } });
    },
  };
}

/**
 * How long a process may hold a due timer before another one takes it over. Agenda locks jobs
 * that fall due within its polling window ahead of time; a process killed while holding such a
 * lock would delay that reminder or escalation by the whole default lock lifetime (5 minutes).
 * Timers run in milliseconds, and running one twice is harmless, so a short lock is safe.
 */
export const TIMER_LOCK_LIFETIME_MS = 30_000;

/** The lock lifetime for short, idempotent timer jobs: {@link TIMER_LOCK_LIFETIME_MS}, or the scheduler's default when shorter. */
export function timerLockLifetime(agenda: Agenda): number {
  return Math.min(TIMER_LOCK_LIFETIME_MS, agenda.attrs.defaultLockLifetime ?? TIMER_LOCK_LIFETIME_MS);
}

/** Delivers due timers to the engine; the engine ignores stale ones, so a timer that runs twice changes nothing twice. */
export function defineFlowTimerJob(agenda: Agenda, onTimer: (timer: FlowTimer) => Promise<void>): void {
  agenda.define(
    FLOW_TIMER_JOB,
    async (job) => {
      await onTimer(job.attrs.data as FlowTimer);
    },
    { lockLifetime: timerLockLifetime(agenda), backoff: exponential({ delay: 1000, maxRetries: 6 }) },
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
