import type { OrgConfig } from '../../config/schemas.js';
import type { AgentRecord } from '../../core/agents.js';
import type { Reactivation } from '../../core/reactivation.js';
import { assertMayAskReactivation } from '../../core/policies.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { loadNamedAgent } from './load-agent.js';
import type { AgentLookup } from './show-agent.js';

/** What asking to reactivate needs: the agent, the reactivation service and the engine that runs its flow. */
export interface RequestReactivationDeps extends AgentLookup {
  org: OrgConfig;
  engine: Pick<FlowEngine, 'start'>;
  reactivation: Pick<Reactivation, 'ask'>;
}

/**
 * Reactivate on a suspended agent (the form, or the typed `reactivate <agent> …` by id or by name):
 * its sponsors and IT admins ask (anyone who may not see it is told
 * it does not exist); the reason and the agent's status are checked after, then one of its sponsors
 * and an IT admin approve the flow it starts.
 */
export function requestReactivationHandler(
  deps: RequestReactivationDeps,
): CommandHandler<'agent.reactivation.request', AgentRecord, { agent: AgentRecord; run: FlowRun }> {
  return {
    load: (actor, command) => loadNamedAgent(deps, actor, command),
    authorise: (actor, agent) => assertMayAskReactivation(deps.org, actor, agent),
    handle: async (actor, { reason }, agent) => ({ agent, run: await deps.reactivation.ask(deps.engine, actor, agent, reason) }),
  };
}
