import type { AgentRecord } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayCancelEvaluation } from '../../core/policies.js';
import type { Evaluations } from '../../evals/evaluations.js';
import type { EvalRepository, EvalRunRecord } from '../../evals/types.js';
import type { CommandHandler } from '../handler.js';
import { loadAgent, type AgentReads } from './load-agent.js';

/** What Cancel evaluation needs: the run and its agent, and the service that stops it. */
export interface CancelEvaluationDeps extends AgentReads {
  runs: Pick<EvalRepository, 'getRun'>;
  evaluations: Pick<Evaluations, 'cancel'>;
}

/**
 * Cancel evaluation: who started it, the agent's sponsors and IT admins. The service keeps its own
 * check too: the evaluation tests call it directly.
 */
export function cancelEvaluationHandler(
  deps: CancelEvaluationDeps,
): CommandHandler<'evaluation.cancel', { run: EvalRunRecord; agent: AgentRecord }, EvalRunRecord> {
  return {
    load: async (_actor, { evalRunId }) => {
      const run = await deps.runs.getRun(evalRunId);
      if (!run) throw new NotFoundError('the evaluation', evalRunId);
      return { run, agent: await loadAgent(deps, run.agentId) };
    },
    authorise: (actor, { run, agent }) => assertMayCancelEvaluation(actor, run, agent),
    handle: (actor, _command, { run }) => deps.evaluations.cancel(actor.email, run.id),
  };
}
