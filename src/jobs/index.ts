import type { Agenda } from 'agenda';
import type { Logger } from '../logger.js';

/** What jobs may use; grows as services are added. */
export interface JobDependencies {
  log: Logger;
}

/** Job names are namespaced (`grants.expire`, `checkins.run`) and stable: they are stored. */
export const JobNames = {
  heartbeat: 'system.heartbeat',
} as const;

/** Defines every Agenda job Roster runs, and schedules the recurring ones. */
export async function defineJobs(agenda: Agenda, deps: JobDependencies): Promise<void> {
  agenda.define(JobNames.heartbeat, async () => {
    deps.log.debug('scheduler heartbeat');
  });
  await agenda.every('1 minute', JobNames.heartbeat, {}, { skipImmediate: false });
}
