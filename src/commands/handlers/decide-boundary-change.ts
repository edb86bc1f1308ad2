import type { BoundaryChangeRecord, BoundaryChanges } from '../../core/boundary-changes.js';
import { assertMayDecideBoundaryChange } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What deciding a boundary change needs: the change requests (the one named, and its compare-and-set decision). */
export interface DecideBoundaryChangeDeps {
  changes: Pick<BoundaryChanges, 'find' | 'decide'>;
}

/**
 * Approve or Deny… on a sponsor's boundary change: IT admins other than the sponsor who asked; a
 * decided change and a deny without a reason are refused after who may, the decision stored once.
 */
export function decideBoundaryChangeHandler(
  deps: DecideBoundaryChangeDeps,
): CommandHandler<'boundary.decide', BoundaryChangeRecord, BoundaryChangeRecord> {
  return {
    load: (_actor, { changeId }) => deps.changes.find(changeId),
    authorise: (actor, change) => assertMayDecideBoundaryChange(actor, change),
    handle: (actor, { decision, reason }, change) => deps.changes.decide(actor, change, decision, reason),
  };
}
