import type { OrgConfig } from '../../config/schemas.js';
import type { AgentPicker, PickedAgents, PickOptions, PickPurpose } from '../../core/agent-pickers.js';
import type { AgentRepository } from '../../core/agents.js';
import type { Development } from '../../core/development.js';
import type { Evaluations } from '../../evals/evaluations.js';
import type { CommandHandler } from '../handler.js';

/** What a form's agent picker needs: the agents, the picker's rules, and what else narrows a purpose. */
export interface PickAgentsDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'get'>;
  picker: Pick<AgentPicker, 'choices' | 'search' | 'offers'>;
  development: Pick<Development, 'postponable'>;
  evaluations: Pick<Evaluations, 'suite'>;
}

/** What narrows the picker of a purpose beyond its rule: a retraining due, a role Roster can evaluate. */
function pickOptions(deps: PickAgentsDeps, purpose: PickPurpose): PickOptions {
  if (purpose === 'retrain') return { keep: (agent) => deps.development.postponable(agent.id) };
  if (purpose === 'evaluate')
    return { roleIds: deps.org.catalog.filter((r) => deps.evaluations.suite(r.id) !== undefined).map((r) => r.id) };
  return {};
}

/**
 * The agents a form opened without one offers the person (its picker's rule in policies.ts, asked of
 * each agent, so nothing is refused: a person may act on none): the list (or `search` when too many),
 * those a typed part of a name finds, or the one picked (`agentId`) when the picker offers it.
 */
export function pickAgentsHandler(deps: PickAgentsDeps): CommandHandler<'agents.pick', undefined, PickedAgents> {
  return {
    load: async () => undefined,
    authorise: () => undefined,
    handle: async (actor, { purpose, query, agentId }) => {
      const options = pickOptions(deps, purpose);
      if (agentId !== undefined) {
        const agent = agentId ? await deps.agents.get(agentId) : undefined;
        const offered = agent !== undefined && (await deps.picker.offers(actor, purpose, agent, options));
        return { agents: offered ? [agent] : [], search: false };
      }
      if (query !== undefined) return { agents: await deps.picker.search(actor, purpose, query, options), search: false };
      return deps.picker.choices(actor, purpose, options);
    },
  };
}
