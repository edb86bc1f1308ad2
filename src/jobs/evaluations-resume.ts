import type { EvalSuites } from '../config/eval-suites.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** Suite runs a stopped or killed process left continue from their last finished case. */
export const evaluationsResumeJob: Job<{
  evaluations: { resumeOrphans(): Promise<number> };
  suites: EvalSuites;
  every?: { evaluationsResume?: string };
}> = {
  name: 'evaluations.resume',
  runs: 'takes over suite runs whose process stopped (their claim ran out)',
  when: 'every 30 seconds when evaluation suites are configured (evals/*.yaml)',
  async define(agenda, { evaluations, suites, every }) {
    agenda.define(this.name, async () => {
      await evaluations.resumeOrphans();
    });
    if (suites.size > 0) await ensureRecurring(agenda, this.name, every?.evaluationsResume ?? '30 seconds');
  },
};
