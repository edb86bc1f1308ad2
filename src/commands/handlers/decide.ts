import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';

/** What a decision needs: the flow engine's decide. */
export interface DecideDeps {
  engine: Pick<FlowEngine, 'decide'>;
}

/**
 * Approve or deny an approval step. Who may decide (the step's eligible people and those standing
 * in for them, never the requester, each once) is the engine's rule on the run as it stores it,
 * checked inside its compare-and-set: a check before the write would read a run that may have
 * changed by then. So the bus's rule here is only that a person in the directory asks.
 */
export function decideHandler(deps: DecideDeps): CommandHandler<'run.decide', undefined, FlowRun> {
  return {
    load: async () => undefined,
    authorise: () => undefined,
    handle: (actor, { runId, stepId, decision, comment, answerFirst }) =>
      deps.engine.decide(
        { runId, stepId, decision, actor: actor.email, ...(comment !== undefined ? { comment } : {}) },
        answerFirst ? { answerFirst: true } : {},
      ),
  };
}
