import type { OrgConfig } from '../../config/schemas.js';
import type { AccessRequestResult, AccessCommands } from '../../core/access.js';
import type { AgentRecord, GrantRecord } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayRequestAccessFor } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { loadGrant, type GrantReads } from './load-grant.js';

/** What extending a grant needs: the grant, its agent, and the service that requests access. */
export interface ExtendGrantDeps extends GrantReads {
  org: OrgConfig;
  service: Pick<AccessCommands, 'extendGrant'>;
}

/** A grant's Extend: a new access request for the same scope, duration and reason, for its approvers to decide. */
export function extendGrantHandler(
  deps: ExtendGrantDeps,
): CommandHandler<'grant.extend', { grant: GrantRecord; agent: AgentRecord }, AccessRequestResult> {
  return {
    load: async (_actor, { grantId }) => {
      const { grant, agent } = await loadGrant(deps, grantId);
      // Access is requested for an agent that exists: one no longer stored cannot be extended.
      if (!agent) throw new NotFoundError('the agent', grant.agentId);
      return { grant, agent };
    },
    authorise: (actor, { agent }) => assertMayRequestAccessFor(deps.org, actor, agent),
    handle: (actor, _command, { grant, agent }) => deps.service.extendGrant(actor, grant, agent),
  };
}
