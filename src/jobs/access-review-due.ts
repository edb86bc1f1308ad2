import type { Job } from './job.js';
import { GRANT_JOB_BACKOFF, GRANT_JOBS } from './grants.js';

/** An access review's deadline: unanswered grants are enforced. */
export const accessReviewDueJob: Job<{ reviews: { due(cycle: string): Promise<unknown> } }> = {
  name: GRANT_JOBS.reviewDue,
  runs: "enforces an access review cycle's deadline",
  when: 'on demand: scheduled once per cycle when it starts (createGrantTimers)',
  async define(agenda, { reviews }) {
    // A review's deadline enforces revocations and the safety sweep does not cover it: a failure is retried.
    agenda.define(
      GRANT_JOBS.reviewDue,
      async (job) => {
        await reviews.due(String((job.attrs.data as { cycle: string }).cycle));
      },
      { backoff: GRANT_JOB_BACKOFF },
    );
  },
};
