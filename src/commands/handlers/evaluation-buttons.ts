import type { AgentRecord } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import type { EvalRunId } from '../../core/ids.js';
import { assertMayManageEvaluation, assertMaySeeEvaluation } from '../../core/policies.js';
import type { EndpointInput, Evaluations } from '../../evals/evaluations.js';
import type { EvalCaseRecord, EvalRepository, EvalRunRecord } from '../../evals/types.js';
import type { CommandHandler } from '../handler.js';
import { loadAgent, type AgentReads } from './load-agent.js';

/** Where an evaluation command reads its run and the run's agent. */
export interface EvalRunReads extends AgentReads {
  runs: Pick<EvalRepository, 'getRun'>;
}

/** An evaluation run a command names, with its agent for the who-may rule; either not stored is "not found". */
export async function loadEvalRun(deps: EvalRunReads, evalRunId: EvalRunId): Promise<{ run: EvalRunRecord; agent: AgentRecord }> {
  const run = await deps.runs.getRun(evalRunId);
  if (!run) throw new NotFoundError('the evaluation', evalRunId);
  return { run, agent: await loadAgent(deps, run.agentId) };
}

/** What Register endpoint and run and an evaluation's cases need: the agent, the runs and their cases, and the service that starts a run. */
export interface EvaluationButtonDeps extends EvalRunReads {
  runs: Pick<EvalRepository, 'getRun' | 'cases'>;
  evaluations: Pick<Evaluations, 'registerAndStart'>;
}

/** The agent whose endpoint may be registered, and the run started once it is. */
export interface EvaluationRegistered {
  agent: AgentRecord;
  run?: EvalRunRecord;
}

/**
 * Register endpoint and run (its form opened, then sent: the agent's requester, its sponsors and IT
 * admins), and an evaluation run with its cases, as the failing cases behind a verdict show it (who
 * may see the evaluation: the one rule, the service keeps no copy).
 */
export function evaluationButtonHandlers(deps: EvaluationButtonDeps) {
  return {
    'evaluation.register': {
      load: (_actor, { agentId }) => loadAgent(deps, agentId),
      authorise: (actor, agent) => assertMayManageEvaluation(actor, agent, 'register its endpoint'),
      handle: async (actor, { endpoint }, agent) => {
        if (!endpoint) return { agent };
        // The service reads the endpoint with its own schema (kind, URL, the hosts IT allows).
        return { agent, run: await deps.evaluations.registerAndStart(actor.email, agent.id, endpoint as EndpointInput) };
      },
    },
    'evaluation.show': {
      load: (_actor, { evalRunId }) => loadEvalRun(deps, evalRunId),
      authorise: (actor, { run, agent }) => assertMaySeeEvaluation(actor, run, agent),
      handle: async (_actor, _command, { run }) => ({ run, cases: await deps.runs.cases(run.id) }),
    },
  } satisfies {
    'evaluation.register': CommandHandler<'evaluation.register', AgentRecord, EvaluationRegistered>;
    'evaluation.show': CommandHandler<
      'evaluation.show',
      { run: EvalRunRecord; agent: AgentRecord },
      { run: EvalRunRecord; cases: EvalCaseRecord[] }
    >;
  };
}
