import type { OrgConfig } from '../../config/schemas.js';
import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayListAllAgents, assertMayListBusinessUnit } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What a listing needs: the business units, the agents. */
export interface ListAgentsDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'list'>;
}

/** Agents the person may list: `mine` (sponsored or requested), a business unit, or `all` (oversight roles). */
export function listAgentsHandler(deps: ListAgentsDeps): CommandHandler<'agents.list', undefined, AgentRecord[]> {
  return {
    load: async (_actor, { scope }) => {
      if (typeof scope === 'object' && !deps.org.businessUnits.some((b) => b.id === scope.businessUnit))
        throw new NotFoundError('the business unit', scope.businessUnit);
      return undefined;
    },
    authorise: (actor, _none, { scope }) => {
      if (scope === 'all') assertMayListAllAgents(actor);
      else if (typeof scope === 'object') assertMayListBusinessUnit(actor, scope.businessUnit);
    },
    handle: async (actor, { scope, status }) => {
      if (scope === 'all') return deps.agents.list({ status });
      if (typeof scope === 'object') return deps.agents.list({ businessUnit: scope.businessUnit, status });
      const [sponsored, requested] = await Promise.all([
        deps.agents.list({ sponsor: actor.email, status }),
        deps.agents.list({ requestedBy: actor.email, status }),
      ]);
      return [...new Map([...sponsored, ...requested].map((a) => [a.id, a])).values()];
    },
    audit: (actor, { scope, status }, agents) => ({
      actor: { kind: 'person', email: actor.email },
      action: 'agents.listed',
      subject: { type: 'query', id: typeof scope === 'string' ? scope : scope.businessUnit },
      details: { count: agents.length, ...(status ? { status } : {}) },
    }),
  };
}
