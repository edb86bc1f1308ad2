import type { OrgConfig } from '../../config/schemas.js';
import type { AccessRequestResult, AccessCommands } from '../../core/access.js';
import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayRequestAccessFor } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What extending a grant needs: the grant, its agent, and the service that requests access. */
export interface ExtendGrantDeps {
  org: OrgConfig;
  grants: Pick<GrantRepository, 'get'>;
  agents: Pick<AgentRepository, 'get'>;
  service: Pick<AccessCommands, 'extendGrant'>;
}

/** A grant's Extend: a new access request for the same scope, duration and reason, for its approvers to decide. */
export function extendGrantHandler(
  deps: ExtendGrantDeps,
): CommandHandler<'grant.extend', { grant: GrantRecord; agent: AgentRecord }, AccessRequestResult> {
  return {
    load: async (_actor, { grantId }) => {
      const grant = await deps.grants.get(idToLookUp('GrantId', grantId, 'the grant'));
      if (!grant) throw new NotFoundError('the grant', grantId);
      const agent = await deps.agents.get(grant.agentId);
      if (!agent) throw new NotFoundError('the agent', grant.agentId);
      return { grant, agent };
    },
    authorise: (actor, { agent }) => assertMayRequestAccessFor(deps.org, actor, agent),
    handle: (actor, _command, { grant, agent }) => deps.service.extendGrant(actor, grant, agent),
  };
}
