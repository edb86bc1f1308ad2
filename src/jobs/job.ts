import type { Agenda } from 'agenda';

/**
 * One Agenda job: its stored name, what a run does, when it runs, and how it is defined (and, for
 * a recurring job, scheduled) on the scheduler. src/jobs/index.ts lists them all.
 */
export interface Job<D> {
  /** The stored name (`grants.expire`): never renamed, the database holds it. */
  readonly name: string;
  /** What one run does. */
  readonly runs: string;
  /** When it runs: on demand (who schedules it), or its cadence and where that comes from. */
  readonly when: string;
  define(agenda: Agenda, deps: D): Promise<void>;
}
