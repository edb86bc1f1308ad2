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
    // The unique key makes two appends of one effect at once store one entry.
    ordered: true,
    async perform(input, { effectId, fresh }) {
      // The writer's own new effect is not looked up first: the unique key still refuses a second entry.
      await audit.append(withDate(input), { key: effectId, ...(fresh ? { fresh } : {}) });
    },
    async performMany(items) {
      // One head read and one ordered insert for the lot, in the order given (a sweep's hundreds of entries).
      await audit.appendMany(
        items.map((i) => withDate(i.data)),
        { keys: items.map((i) => i.effectId) },
      );
      return new Set(items.map((i) => i.effectId));
    },
  };
}

/** The stored `at` comes back from the database as a Date or, read as JSON, as text. */
function withDate(input: AuditInput): AuditInput {
  return { ...input, ...(input.at ? { at: new Date(input.at) } : {}) };
}
