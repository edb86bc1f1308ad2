import type { Agenda } from 'agenda';
import { CheckpointRefusedError, type AuditCheckpoints } from '../core/audit-checkpoints.js';
import type { Logger } from '../logger.js';
import { ensureRecurring, type Cadence } from './recurring.js';

export const AUDIT_CHECKPOINT_JOB = 'audit.checkpoint';

/** How often the chain head is signed unless `settings.schedules.auditCheckpoints` says otherwise. */
export const DEFAULT_AUDIT_CHECKPOINT_CADENCE = '15 minutes';

/**
 * Signs the audit chain's head on a cadence, once across replicas (Agenda's lock). The signed
 * checkpoint also goes to the log, so a copy lives outside the database where log shipping keeps it.
 */
export async function defineAuditCheckpointJob(
  agenda: Agenda,
  checkpoints: AuditCheckpoints,
  log: Logger,
  cadence: Cadence = DEFAULT_AUDIT_CHECKPOINT_CADENCE,
): Promise<void> {
  agenda.define(AUDIT_CHECKPOINT_JOB, async () => {
    let outcome;
    try {
      outcome = await checkpoints.checkpoint({ kind: 'system', name: 'audit-checkpoint' });
    } catch (err) {
      if (!(err instanceof CheckpointRefusedError)) throw err;
      log.error(
        { problems: err.problems.map((p) => p.message) },
        'the audit chain no longer matches its checkpoints; run roster audit verify',
      );
      return;
    }
    if (outcome.kind === 'created') {
      const { seq, headHash, at, keyId, signature } = outcome.checkpoint;
      log.info({ checkpoint: { seq, headHash, at: at.toISOString(), keyId, signature } }, 'audit chain checkpointed');
    }
  });
  await ensureRecurring(agenda, AUDIT_CHECKPOINT_JOB, cadence);
}
