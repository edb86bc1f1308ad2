import type { AgentRecord } from '../../core/agents.js';
import { assertMayCancelEvaluation } from '../../core/policies.js';
import type { Evaluations } from '../../evals/evaluations.js';
import type { EvalRunRecord } from '../../evals/types.js';
import type { CommandHandler } from '../handler.js';
import { loadEvalRun, type EvalRunReads } from './evaluation-buttons.js';

/** What Cancel evaluation needs: the run and its agent, and the service that stops it. */
export interface CancelEvaluationDeps extends EvalRunReads {
  evaluations: Pick<Evaluations, 'cancel'>;
}

/**
 * Cancel evaluation: who started it, the agent's requester, its sponsors and IT admins. Every door
 * cancels through this command: the service no longer checks again.
 */
export function cancelEvaluationHandler(
  deps: CancelEvaluationDeps,
): CommandHandler<'evaluation.cancel', { run: EvalRunRecord; agent: AgentRecord }, EvalRunRecord> {
  return {
    load: (_actor, { evalRunId }) => loadEvalRun(deps, evalRunId),
    authorise: (actor, { run, agent }) => assertMayCancelEvaluation(actor, run, agent),
    handle: (actor, _command, { run }) => deps.evaluations.cancel(actor.email, run.id),
  };
}
