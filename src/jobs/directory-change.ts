import { exponential, type Agenda } from 'agenda';
import type { DirectoryJob } from '../directory/directory-service.js';
import type { Job } from './job.js';
import { scheduleOnce } from './timers.js';

export const DIRECTORY_CHANGE_JOB = 'directory.change';

/** The directory's reactions (a leaver, roles removed) as Agenda jobs, queued once per key. */
export function createDirectoryChanges(agenda: Agenda): (job: DirectoryJob, key: string) => Promise<void> {
  return (job, key) => scheduleOnce(agenda, DIRECTORY_CHANGE_JOB, new Date(), job, key);
}

/** Leavers and lost roles: durable jobs, run once across replicas, within seconds of the SCIM write. */
export const directoryChangeJob: Job<{
  directory?: { refresh(): Promise<void> };
  delegations: { endAllFor(email: string): Promise<void> };
  engine: { reassign(email: string, reason: string): Promise<number> };
  leavers: { left(leaver: string, manager: string | undefined, source?: string): Promise<number> };
}> = {
  name: DIRECTORY_CHANGE_JOB,
  runs: "a leaver (delegations end, approvals re-assigned, agents offered to the manager) or a person's lost roles (approvals re-assigned)",
  when: 'on demand: queued by the SCIM directory when a person is deactivated, deleted or loses a role (createDirectoryChanges)',
  async define(agenda, { directory, delegations, engine, leavers }) {
    // Every step is idempotent (conditional updates, keyed audit entries and offers), so a job that
    // failed half-way is retried whole.
    agenda.define(
      DIRECTORY_CHANGE_JOB,
      async (job) => {
        const change = job.attrs.data as DirectoryJob;
        await directory?.refresh();
        if (change.kind === 'leaver') {
          await delegations.endAllFor(change.email);
          await engine.reassign(change.email, `left the directory (${change.reason} by ${change.source})`);
          await leavers.left(change.email, change.manager, change.source);
        } else {
          await engine.reassign(change.email, `no longer holds ${change.roles.join(', ')} (${change.source})`);
        }
      },
      { backoff: exponential({ delay: 2000, maxRetries: 8 }) },
    );
  },
};
