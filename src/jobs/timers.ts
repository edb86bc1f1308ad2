import { exponential, type Agenda, type BackoffStrategy } from 'agenda';

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

/**
 * How a short, idempotent timer job (a flow's, an alert's, a delegation's, a hand-off's) is
 * defined: a short lock (see {@link TIMER_LOCK_LIFETIME_MS}), and a failed run retried after 1 s,
 * doubling, six times.
 */
export function timerJobOptions(agenda: Agenda): { lockLifetime: number; backoff: BackoffStrategy } {
  return { lockLifetime: timerLockLifetime(agenda), backoff: exponential({ delay: 1000, maxRetries: 6 }) };
}

/**
 * Stores a one-off job due at `at`. With `key` (an outbox effect id) it is stored once: the
 * outbox performing the same effect again (a retry, or its worker after a crash) keeps the one job.
 */
export async function scheduleOnce(agenda: Agenda, name: string, at: Date, data: object, key?: string): Promise<void> {
  if (!key) {
    await agenda.schedule(at, name, data);
    return;
  }
  await agenda
    .create(name, { ...data, key })
    .unique({ 'data.key': key }, { insertOnly: true })
    .schedule(at)
    .save();
}
