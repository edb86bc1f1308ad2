import type { EvalSuites } from '../config/eval-suites.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** Scheduled re-interviews of live agents (a role's `rerun` cadence). */
export const evaluationsRerunJob: Job<{
  evaluations: { rerunSweep(now: Date): Promise<number> };
  suites: EvalSuites;
  clock: () => Date;
  every?: { evaluationsRerun?: string };
}> = {
  name: 'evaluations.rerun',
  runs: "starts the re-runs of roles' suites that are due",
  when: 'every hour when evaluation suites are configured (evals/*.yaml)',
  async define(agenda, { evaluations, suites, clock, every }) {
    agenda.define(this.name, async () => {
      await evaluations.rerunSweep(clock());
    });
    if (suites.size > 0) await ensureRecurring(agenda, this.name, every?.evaluationsRerun ?? '1 hour');
  },
};
