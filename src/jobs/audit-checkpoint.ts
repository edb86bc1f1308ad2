import type { Agenda } from 'agenda';
import { CheckpointRefusedError, type AuditCheckpoints, type CheckpointSigner } from '../core/audit-checkpoints.js';
import type { CheckpointAlarm, CheckpointFailure, CheckpointRunAlarm } from '../core/audit-checkpoint-alarm.js';
import { AuditKeyError } from '../config/audit-signing-key.js';
import type { OrgConfig } from '../config/schemas.js';
import type { Logger } from '../logger.js';
import type { Job } from './job.js';
import { ensureRecurring, type Cadence } from './recurring.js';

export const AUDIT_CHECKPOINT_JOB = 'audit.checkpoint';

/** How often the chain head is signed unless `settings.schedules.auditCheckpoints` says otherwise. */
export const DEFAULT_AUDIT_CHECKPOINT_CADENCE = '15 minutes';

/** What the job needs besides the checkpoints. */
export interface AuditCheckpointJobOptions {
  cadence?: Cadence;
  /** The signing key for this run; re-read each time when it is kept in a file (it may become unreadable). */
  signer?: () => CheckpointSigner;
  /** Tells IT in chat when a run fails, once per cause; absent, failures are only logged. */
  alarm?: CheckpointAlarm;
}

/** The failure a refused checkpoint means: identified by which checkpoints disagree and how. */
export function refusedFailure(err: CheckpointRefusedError): CheckpointFailure {
  const shown = err.problems.slice(0, 5).map((p) => `• ${p.message}`);
  const more = err.problems.length - shown.length;
  return {
    cause: `refused:${err.problems.map((p) => `${p.kind}@${p.seq ?? '-'}`).join(',')}`,
    title: 'The audit trail no longer matches its signed checkpoints',
    lines: [
      'Roster stopped signing checkpoints of the audit trail: the entries in the database are not the ones it signed, so someone changed them.',
      ...shown,
      ...(more > 0 ? [`… and ${more} more.`] : []),
    ],
    action: 'Nothing is signed until this is looked at: run roster audit verify, and restore the audit trail from a backup.',
  };
}

/**
 * Signs the audit chain's head on a cadence, once across replicas (Agenda's lock). The signed
 * checkpoint also goes to the log, so a copy lives outside the database where log shipping keeps it.
 * A run that cannot sign (the key unreadable, the chain tampered with) tells IT in chat through
 * `alarm`, once per cause; other errors (the database away) are left to Agenda's retry.
 */
export async function defineAuditCheckpointJob(
  agenda: Agenda,
  checkpoints: AuditCheckpoints,
  log: Logger,
  options: AuditCheckpointJobOptions = {},
): Promise<void> {
  const { alarm } = options;
  const raise = async (told: CheckpointRunAlarm | undefined, failure: CheckpointFailure) => {
    try {
      if (await told?.failed(failure)) log.info({ cause: failure.cause }, 'IT admins told that audit checkpoints fail');
    } catch (err) {
      log.error({ err: { message: (err as Error).message } }, 'could not tell IT admins that audit checkpoints fail');
    }
  };
  agenda.define(AUDIT_CHECKPOINT_JOB, async () => {
    // Begun before the key is read: runs overlap when Agenda hands an expired lock to a new run (the
    // old one goes on) or replicas race, and only the latest-begun run's outcome is told.
    const told = await alarm?.begin();
    let outcome;
    try {
      outcome = await checkpoints.checkpoint({ kind: 'system', name: 'audit-checkpoint' }, options.signer?.());
    } catch (err) {
      if (err instanceof AuditKeyError) {
        log.error({ problem: err.message }, 'the audit signing key cannot be read: no checkpoint signed');
        await raise(told, {
          cause: `key:${err.message}`,
          title: 'Audit checkpoints cannot be signed: the signing key is unreadable',
          lines: [
            `Roster could not read its audit signing key: ${err.message}.`,
            'Entries written from now on are not vouched for by a signed checkpoint.',
          ],
          action: 'Restore the key file (or ROSTER_AUDIT_SIGNING_KEY); the next run signs again, and IT is told when it does.',
        });
        return;
      }
      if (!(err instanceof CheckpointRefusedError)) throw err;
      log.error(
        { problems: err.problems.map((p) => p.message) },
        'the audit chain no longer matches its checkpoints; run roster audit verify',
      );
      await raise(told, refusedFailure(err));
      return;
    }
    if (outcome.kind === 'created') {
      const { seq, headHash, at, keyId, signature } = outcome.checkpoint;
      log.info({ checkpoint: { seq, headHash, at: at.toISOString(), keyId, signature } }, 'audit chain checkpointed');
    }
    if (await told?.succeeded()) log.info({}, 'IT admins told that audit checkpoints are signed again');
  });
  await ensureRecurring(agenda, AUDIT_CHECKPOINT_JOB, options.cadence ?? DEFAULT_AUDIT_CHECKPOINT_CADENCE);
}

/** What the checkpoint job signs with; absent when Roster has no audit signing key (then no checkpoint job runs). */
export interface AuditCheckpointJobDeps {
  checkpoints: AuditCheckpoints;
  log: Logger;
  /** Re-reads a key kept in a file for each run. */
  signer?: () => CheckpointSigner;
  alarm: CheckpointAlarm;
}

/** Signed checkpoints of the audit chain's head. */
export const auditCheckpointJob: Job<{ auditCheckpoints?: AuditCheckpointJobDeps; org: OrgConfig }> = {
  name: AUDIT_CHECKPOINT_JOB,
  runs: "signs the audit chain's head (IT is told in chat when it cannot)",
  when: 'settings.schedules.auditCheckpoints (default every 15 minutes); only with an audit signing key',
  async define(agenda, { auditCheckpoints, org }) {
    if (!auditCheckpoints) return;
    await defineAuditCheckpointJob(agenda, auditCheckpoints.checkpoints, auditCheckpoints.log, {
      cadence: org.settings.schedules.auditCheckpoints,
      ...(auditCheckpoints.signer ? { signer: auditCheckpoints.signer } : {}),
      alarm: auditCheckpoints.alarm,
    });
  },
};
