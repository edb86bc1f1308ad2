import type { OrgConfig } from '../../config/schemas.js';
import { roleById } from '../../config/directory.js';
import { grantableScopes } from '../../core/access.js';
import type { AgentRecord } from '../../core/agents.js';
import { assertMayNameForAccess } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { loadAccessAgent, type AccessAgentReads } from './load-access-agent.js';

/** What naming an agent's grantable scopes needs: the agents and the catalog. */
export interface AccessScopesDeps extends AccessAgentReads {
  org: OrgConfig;
}

/**
 * The scopes an agent's role allows it to be granted, for whoever may name it in an access command
 * (the hint of an `access` word missing its scope or reason); undefined when its role left the catalog.
 */
export function accessScopesHandler(
  deps: AccessScopesDeps,
): CommandHandler<'access.scopes', AgentRecord, { agent: AgentRecord; scopes?: string[] }> {
  return {
    load: (actor, { agent }) => loadAccessAgent(deps, actor, agent),
    authorise: (actor, agent) => assertMayNameForAccess(deps.org, actor, agent),
    handle: async (_actor, _command, agent) => {
      const role = roleById(deps.org, agent.catalogRoleId);
      return { agent, ...(role ? { scopes: grantableScopes(role) } : {}) };
    },
  };
}
