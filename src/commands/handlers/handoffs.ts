import type { HandoffRecord, Handoffs } from '../../core/handoffs.js';
import { assertMayResolveHandoff, assertMayTakeHandoff } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What a hand-off's buttons need: the hand-off service (its case, and the compare-and-set change). */
export interface HandoffDeps {
  handoffs: Pick<Handoffs, 'find' | 'resolvable' | 'take' | 'resolve'>;
}

/** Take it and Resolve on a hand-off case; each change is the service's compare-and-set write, audited with it. */
export function handoffHandlers(deps: HandoffDeps) {
  const { handoffs } = deps;
  return {
    // The queue's people (widened on escalation) and IT admins; a second taker is told who has it.
    'handoff.take': {
      load: (_actor, { handoffId }) => handoffs.find(handoffId),
      authorise: (actor, record) => assertMayTakeHandoff(actor, record),
      handle: (actor, _command, record) => handoffs.take(actor, record),
    },
    // An unknown outcome and a closed case are refused first, then anyone but the taker (or an IT admin).
    'handoff.resolve': {
      load: (_actor, { handoffId, outcome }) => handoffs.resolvable(handoffId, outcome),
      authorise: (actor, record) => assertMayResolveHandoff(actor, record),
      handle: (actor, { outcome }, record) => handoffs.resolve(actor, record, outcome),
    },
  } satisfies {
    'handoff.take': CommandHandler<'handoff.take', HandoffRecord, HandoffRecord>;
    'handoff.resolve': CommandHandler<'handoff.resolve', HandoffRecord, HandoffRecord>;
  };
}
