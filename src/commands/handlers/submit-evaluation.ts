import type { CatalogRole, OrgConfig } from '../../config/schemas.js';
import { roleById } from '../../config/directory.js';
import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import { InvalidInputError, NotFoundError, NotWaitingError } from '../../core/errors.js';
import {
  evaluate,
  TYPED_IN_REASON_NEEDED,
  typedInReasonGiven,
  typedInRefusal,
  type EvaluationSubmission,
  type EvaluationVerdict,
} from '../../core/evaluation.js';
import { assertMayTypeInResults } from '../../core/policies.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { idToLookUp } from '../../core/ids.js';

/** What typed-in results need: the catalog's thresholds, the agent, the engine's evaluation gate. */
export interface SubmitEvaluationDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'get' | 'update'>;
  engine: Pick<FlowEngine, 'get' | 'flow' | 'signalGate'>;
  /** Catalog roles Roster evaluates itself (they have a suite). */
  measuredRoles?: ReadonlySet<string>;
  clock: () => Date;
}

/** Runs the evaluation gate on typed-in results (an IT admin's, with a reason) and tells the request's flow the verdict. */
export function submitEvaluationHandler(
  deps: SubmitEvaluationDeps,
): CommandHandler<'evaluation.submit', { agent: AgentRecord; role: CatalogRole }, { verdict: EvaluationVerdict; run: FlowRun }> {
  return {
    load: async (_actor, { agentId }) => {
      const agent = await deps.agents.get(idToLookUp('AgentId', agentId, 'the agent'));
      if (!agent) throw new NotFoundError('the agent', agentId);
      const role = roleById(deps.org, agent.catalogRoleId);
      if (!role) throw new NotFoundError('the catalog role', agent.catalogRoleId);
      return { agent, role };
    },
    authorise: (actor, { agent, role }) =>
      assertMayTypeInResults(actor, agent, typedInRefusal(role, agent.name, deps.measuredRoles?.has(role.id) ?? false)),
    handle: async (actor, { type: _type, agentId: _agentId, ...submission }, { agent, role }) => {
      const reason = submission.notes?.trim() ?? '';
      if (!typedInReasonGiven(reason))
        throw new InvalidInputError('Say why these results are typed in rather than measured by Roster (in the notes).', {
          notes: TYPED_IN_REASON_NEEDED,
        });
      const run = await deps.engine.get(agent.requestRunId);
      const gateStep = deps.engine.flow(run.flowId).steps[run.current];
      if (run.status !== 'waiting' || gateStep?.type !== 'gate' || gateStep.gate !== 'evaluation') {
        throw new NotWaitingError(`${agent.name} isn't waiting for evaluation results (its request is ${run.status}).`);
      }
      const typed: EvaluationSubmission = submission;
      const verdict = evaluate(role.evaluation, typed);
      if (verdict.passed) {
        await deps.agents.update(agent.id, {
          evaluation: { submission: typed, verdict, by: actor.email, at: deps.clock().toISOString(), source: 'self-reported', reason },
        });
      }
      const after = await deps.engine.signalGate({
        runId: run.id,
        gate: 'evaluation',
        passed: verdict.passed,
        by: actor.email,
        summary: `Self-reported by ${actor.name} (${reason.slice(0, 300)}): ${verdict.summary}`,
        source: 'self-reported',
      });
      return { verdict, run: after };
    },
  };
}
