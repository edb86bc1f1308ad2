import type { OrgConfig } from '../config/schemas.js';
import type { Job } from './job.js';
import { GRANT_JOBS, REVIEW_INTERVALS } from './grants.js';
import { ensureRecurring } from './recurring.js';

/**
 * Starts access reviews on the configured cadence (the first one a whole interval from now, then
 * counted from the last review, whatever the number of restarts); `settings.schedules.accessReviews`
 * is a cron override.
 */
export const accessReviewJob: Job<{ reviews: { start(): Promise<unknown> }; org: OrgConfig }> = {
  name: GRANT_JOBS.review,
  runs: 'starts an access review cycle (sponsors confirm or revoke each grant)',
  when: 'settings.accessReviewCadence (default quarterly), or the cron in settings.schedules.accessReviews',
  async define(agenda, { reviews, org }) {
    agenda.define(GRANT_JOBS.review, async () => {
      await reviews.start();
    });
    const { accessReviewCadence, schedules } = org.settings;
    await ensureRecurring(
      agenda,
      GRANT_JOBS.review,
      schedules.accessReviews ?? REVIEW_INTERVALS[accessReviewCadence] ?? REVIEW_INTERVALS.quarterly!,
    );
  },
};
