import type { Agenda } from 'agenda';
import { accessReviewDueJob } from './access-review-due.js';
import { accessReviewJob } from './access-review.js';
import { alertTimerJob } from './alert-timer.js';
import { apiUsageSummaryJob } from './api-usage-summary.js';
import { auditCheckpointJob } from './audit-checkpoint.js';
import { checkinSweepJob } from './checkin-sweep.js';
import { delegationTimerJob } from './delegation-timer.js';
import { directoryChangeJob } from './directory-change.js';
import { evaluationsRerunJob } from './evaluations-rerun.js';
import { evaluationsResumeJob } from './evaluations-resume.js';
import { flowTimerJob } from './flow-timers.js';
import { grantExpireJob } from './grant-expire.js';
import { grantRemindJob } from './grant-remind.js';
import { handoffTimerJob } from './handoff-timer.js';
import { heartbeatJob } from './heartbeat.js';
import type { Job } from './job.js';
import { outboxDrainJob } from './outbox.js';
import { purgeDeliveriesJob } from './purge-deliveries.js';
import { quietHoursJob } from './quiet-hours.js';
import { retrainingSweepJob } from './retraining-sweep.js';
import { safetySweepJob } from './safety-sweep.js';
import { signingKeyRotationJob } from './signing-key-rotation.js';
import { telemetryPurgeJob } from './telemetry-purge.js';
import { webhookDeliveryJob } from './webhook-delivery.js';

/**
 * Every Agenda job Roster runs, one file each. A job's `when` says whether it recurs (and where its
 * cadence comes from: mostly `settings.schedules` in org.yaml) or runs on demand (and who
 * schedules it). Job names are namespaced (`grants.expire`) and stable: the database stores them.
 */
export const JOBS = [
  // The system's own
  heartbeatJob,
  purgeDeliveriesJob,
  outboxDrainJob,
  quietHoursJob,
  safetySweepJob,
  auditCheckpointJob,
  // Flows and access
  flowTimerJob,
  grantExpireJob,
  grantRemindJob,
  accessReviewJob,
  accessReviewDueJob,
  delegationTimerJob,
  directoryChangeJob,
  // Supervision
  alertTimerJob,
  checkinSweepJob,
  telemetryPurgeJob,
  handoffTimerJob,
  // Development and evaluation
  retrainingSweepJob,
  evaluationsResumeJob,
  evaluationsRerunJob,
  // Integrations
  webhookDeliveryJob,
  signingKeyRotationJob,
  apiUsageSummaryJob,
] as const;

/** What one job needs from the running Roster. */
type NeedsOf<J> = J extends Job<infer D> ? D : never;
/** The union of what the jobs need, as one object (each job reads only its own part). */
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Everything the jobs call, built before they are defined (src/compose.ts). */
export type JobDependencies = Intersection<NeedsOf<(typeof JOBS)[number]>>;

/** Defines every job on the scheduler and schedules the recurring ones (their stored schedule is kept across restarts). */
export async function defineJobs(agenda: Agenda, deps: JobDependencies): Promise<void> {
  for (const job of JOBS) await job.define(agenda, deps);
}
