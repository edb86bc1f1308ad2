import type { OrgConfig } from '../config/schemas.js';
import type { AgentRepository } from '../core/agents.js';
import type { Logger } from '../logger.js';
import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';

/** Raw telemetry past retention is deleted (aggregates are kept). */
export const telemetryPurgeJob: Job<{
  telemetry: { purgeEventsBefore(before: Date, keep: readonly string[]): Promise<number> };
  agents: Pick<AgentRepository, 'list'>;
  org: OrgConfig;
  clock: () => Date;
  log: Logger;
}> = {
  name: 'telemetry.purge',
  runs: 'deletes raw telemetry events older than settings.rawEventRetentionDays',
  when: 'settings.schedules.rawEventPurge (default every day)',
  async define(agenda, { telemetry, agents, org, clock, log }) {
    agenda.define(this.name, async () => {
      const before = new Date(clock().getTime() - org.settings.rawEventRetentionDays * 86_400_000);
      // A retiring agent's decision log goes into its archive when the retirement completes: keep it until then.
      const retiring = (await agents.list({ status: ['retiring'] })).map((a) => a.id);
      const deleted = await telemetry.purgeEventsBefore(before, retiring);
      if (deleted) log.info({ deleted, before: before.toISOString() }, 'purged raw telemetry past retention');
    });
    await ensureRecurring(agenda, this.name, org.settings.schedules.rawEventPurge ?? '1 day');
  },
};
