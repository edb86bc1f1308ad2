import { InvalidInputError } from '../../core/errors.js';
import { assertMayCancelRequest } from '../../core/policies.js';
import { CANCELLABLE_FLOWS } from '../../core/requests.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';

/** What cancelling a request needs: the run, and the engine's cancel. */
export interface CancelRequestDeps {
  engine: Pick<FlowEngine, 'get' | 'cancel'>;
}

/**
 * Cancels a pending request (an agent or an access request) for its requester or an IT admin:
 * the run ends as cancelled (audited), every approver's card says so and its timers are removed.
 * A request that is decided, being carried out or closed is refused with words that say why.
 */
export function cancelRequestHandler(deps: CancelRequestDeps): CommandHandler<'request.cancel', FlowRun, FlowRun> {
  return {
    load: (_actor, { runId }) => deps.engine.get(runId),
    authorise: (actor, run) => assertMayCancelRequest(actor, run),
    handle: async (actor, { reason }, run) => {
      if (!CANCELLABLE_FLOWS.has(run.flowId))
        throw new InvalidInputError('Only agent requests and access requests can be cancelled this way.', { flow: run.flowId });
      const why = reason?.trim().slice(0, 500) || (run.requester === actor.email ? 'withdrawn by the requester' : 'cancelled by IT');
      // The engine refuses a closed run (with the words for a cancel) and, here, one no longer waiting, in its compare-and-set.
      return deps.engine.cancel(run.id, actor.email, why, { whileWaiting: true });
    },
  };
}
