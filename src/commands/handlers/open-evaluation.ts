import type { CatalogRole, Person } from '../../config/schemas.js';
import { roleById } from '../../config/directory.js';
import type { AgentRecord } from '../../core/agents.js';
import { assertMayManageEvaluation, assertMaySeeAgent, mayTypeInResults } from '../../core/policies.js';
import type { Evaluations } from '../../evals/evaluations.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { Parsed } from '../command.js';
import type { CommandHandler } from '../handler.js';
import { findAgent, type AgentLookup } from './show-agent.js';

/** What opening an evaluation needs: the agent (by id or name), which roles Roster measures, the request's evaluation gate. */
export interface OpenEvaluationDeps extends AgentLookup {
  evaluations: Pick<Evaluations, 'suite'>;
  engine: Pick<FlowEngine, 'find' | 'flow'>;
}

/**
 * The form an evaluation opens: the endpoint form (Roster measures the agent), the typed-in results
 * form at the request's evaluation gate, or none, and why (the door says it in its words).
 */
export type EvaluationOpened =
  | { form: 'endpoint'; agent: AgentRecord }
  | { form: 'typed-in'; agent: AgentRecord; role: CatalogRole; request: FlowRun }
  | { form: 'none'; why: 'no-request'; agent: AgentRecord }
  | { form: 'none'; why: 'typed-in-refused'; agent: AgentRecord; role: CatalogRole; measured: boolean }
  | { form: 'none'; why: 'not-waiting'; agent: AgentRecord };

interface Subject {
  agent: AgentRecord;
  role: CatalogRole | undefined;
  measured: boolean;
}

/**
 * Whether the endpoint form opens: for a role Roster measures, unless the typed-in form is shown
 * again with its errors, or an IT admin asked for it (`self-reported`).
 */
function opensEndpoint(actor: Person, { measured }: Subject, { typedIn }: Parsed<'evaluation.open'>): boolean {
  return measured && typedIn !== 'again' && !(typedIn === 'asked' && mayTypeInResults(actor));
}

/**
 * `eval <agent>` and a request's Evaluate button: one read of the agent, by id or by name, for who
 * may see it. The endpoint form is Register endpoint and run's opening, so it asks that button's
 * rule (the agent's requester, sponsors, IT admins); the typed-in form is the IT admins', whom
 * `evaluation.submit` authorises when it is sent, so anyone else is told how the agent is measured.
 */
export function openEvaluationHandler(deps: OpenEvaluationDeps): CommandHandler<'evaluation.open', Subject, EvaluationOpened> {
  return {
    load: async (actor, { agent: key }) => {
      const agent = await findAgent(deps, actor, key);
      const role = roleById(deps.org, agent.catalogRoleId);
      return { agent, role, measured: role ? deps.evaluations.suite(role.id) !== undefined : false };
    },
    authorise: (actor, subject, command) => {
      assertMaySeeAgent(deps.org, actor, subject.agent);
      if (opensEndpoint(actor, subject, command)) assertMayManageEvaluation(actor, subject.agent, 'register its endpoint');
    },
    handle: async (actor, command, subject) => {
      const { agent, role, measured } = subject;
      if (opensEndpoint(actor, subject, command)) return { form: 'endpoint', agent };
      const request = await deps.engine.find(agent.requestRunId);
      if (!role || !request) return { form: 'none', why: 'no-request', agent };
      if (!mayTypeInResults(actor)) return { form: 'none', why: 'typed-in-refused', agent, role, measured };
      const step = deps.engine.flow(request.flowId).steps[request.current];
      if (request.status !== 'waiting' || step?.type !== 'gate' || step.gate !== 'evaluation')
        return { form: 'none', why: 'not-waiting', agent };
      return { form: 'typed-in', agent, role, request };
    },
  };
}
