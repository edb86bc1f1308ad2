import type { Job } from './job.js';
import { ensureRecurring } from './recurring.js';
import type { AlertId, GrantId, RunId } from '../core/ids.js';

export const SAFETY_SWEEP_JOB = 'system.safety-sweep';

/** What the sweep may see and do; each action is a no-op when the record has moved on. */
export interface SafetySweepDeps {
  clock: () => Date;
  /** Active grants whose expiry is before the given time. */
  overdueGrants(before: Date): Promise<GrantId[]>;
  expireGrant(grantId: GrantId): Promise<boolean>;
  /** Waiting runs, to check their deadlines. */
  waitingRuns(): Promise<RunId[]>;
  expireRun(runId: RunId, graceMs: number): Promise<boolean>;
  /** Open alerts, to check their escalation deadlines. */
  openAlerts(): Promise<AlertId[]>;
  escalateAlert(alertId: AlertId, graceMs: number): Promise<boolean>;
  log: { info(obj: object, msg: string): void };
}

/** How long past its deadline a record must be before the sweep acts (its own timer comes first). */
export const SWEEP_GRACE_MS = 60_000;

/**
 * The safety sweep: grants past their expiry still active, runs past their deadline still
 * waiting and alerts past their escalation still at the same level are completed now, audited
 * as caught by the sweep, so one lost or failing timer never leaves access in place.
 */
export async function safetySweep(
  deps: SafetySweepDeps,
  graceMs = SWEEP_GRACE_MS,
): Promise<{ grants: number; runs: number; alerts: number }> {
  const caught = { grants: 0, runs: 0, alerts: 0 };
  const cutoff = new Date(deps.clock().getTime() - graceMs);
  for (const id of await deps.overdueGrants(cutoff)) if (await deps.expireGrant(id)) caught.grants += 1;
  for (const id of await deps.waitingRuns()) if (await deps.expireRun(id, graceMs)) caught.runs += 1;
  for (const id of await deps.openAlerts()) if (await deps.escalateAlert(id, graceMs)) caught.alerts += 1;
  if (caught.grants || caught.runs || caught.alerts) deps.log.info(caught, 'the safety sweep caught overdue work');
  return caught;
}

/** The sweep as a recurring Agenda job. */
export const safetySweepJob: Job<{ sweep: SafetySweepDeps }> = {
  name: SAFETY_SWEEP_JOB,
  runs: 'completes overdue grant expiries, run deadlines and alert escalations a lost timer left',
  when: 'every 5 minutes',
  async define(agenda, { sweep }) {
    agenda.define(SAFETY_SWEEP_JOB, async () => {
      await safetySweep(sweep);
    });
    await ensureRecurring(agenda, SAFETY_SWEEP_JOB, '5 minutes');
  },
};
