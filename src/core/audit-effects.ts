import type { AuditInput, AuditLog } from './audit.js';
import type { EffectPerformer } from './ports.js';

/** The outbox effect that appends an audit entry; every holder (runs, grants, alerts…) uses it. */
export const AUDIT_EFFECT = 'audit.append';

/**
 * Appends the entry once: the effect id is stored as the entry's unique key, so an effect
 * performed again after a crash finds its entry instead of adding a second one.
 */
export function auditPerformer(audit: AuditLog): EffectPerformer<AuditInput> {
  return {
    type: AUDIT_EFFECT,
    async perform(input, { effectId }) {
      await audit.append({ ...input, ...(input.at ? { at: new Date(input.at) } : {}) }, { key: effectId });
    },
  };
}
