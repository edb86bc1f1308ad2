import { exponential, type Agenda } from 'agenda';
import type { AccessSettings, GrantTimers } from '../core/access.js';
import type { GrantRecord } from '../core/agents.js';
import type { GrantId } from '../core/ids.js';
import { scheduleOnce } from './timers.js';

/** The grant jobs' stored names; each is defined in its own file (grant-expire, grant-remind, access-review, access-review-due). */
export const GRANT_JOBS = {
  expire: 'grants.expire',
  remind: 'grants.remind',
  review: 'grants.review',
  reviewDue: 'grants.review-due',
} as const;

/** How often access reviews start, per `settings.accessReviewCadence`. */
export const REVIEW_INTERVALS: Record<string, string> = {
  monthly: '30 days',
  quarterly: '91 days',
  semiannual: '182 days',
  annual: '365 days',
};

/** Retries of a failed grant job: 1 s, then doubling, six times (about a minute in all) before it stays failed. */
export const GRANT_JOB_BACKOFF = exponential({ delay: 1000, maxRetries: 6 });

/** What a `grants.expire` job carries. */
export interface ExpireData {
  grantId: GrantId;
}

/** What a `grants.remind` job carries. */
export interface RemindData {
  grantId: string;
  /** How long before expiry this reminder goes out. */
  offsetMs: number;
}

/**
 * A grant's expiry and reminders as Agenda jobs, stored in the database so they survive a
 * restart. Two schedulers may run the same job; the grant's conditional status update makes
 * expiry happen once.
 */
export function createGrantTimers(agenda: Agenda, settings: AccessSettings, clock: () => Date = () => new Date()): GrantTimers {
  return {
    async activated(grant: GrantRecord, key?: string) {
      // Keyed (a retried outbox effect), each job is stored once.
      const schedule = (at: Date, name: string, data: ExpireData | RemindData, part: string) =>
        scheduleOnce(agenda, name, at, data, key && `${key}:${part}`);
      const expiresAt = new Date(grant.expiresAt);
      await schedule(expiresAt, GRANT_JOBS.expire, { grantId: grant.id } satisfies ExpireData, 'expire');
      const lasts = expiresAt.getTime() - Date.parse(grant.startsAt);
      if (grant.source === 'break-glass' || lasts <= settings.remindGrantsLongerThanMs) return;
      for (const offsetMs of settings.reminderOffsetsMs) {
        const at = new Date(expiresAt.getTime() - offsetMs);
        if (at.getTime() <= clock().getTime()) continue;
        await schedule(at, GRANT_JOBS.remind, { grantId: grant.id, offsetMs } satisfies RemindData, `remind:${offsetMs}`);
      }
    },
    async reviewDue(cycle: string, at: Date) {
      // One deadline per cycle: the outbox may schedule it again after a crash.
      await agenda.create(GRANT_JOBS.reviewDue, { cycle }).unique({ 'data.cycle': cycle }, { insertOnly: true }).schedule(at).save();
    },
  };
}
