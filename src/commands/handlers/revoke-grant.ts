import type { AccessCommands } from '../../core/access.js';
import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayRevokeGrant } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What revoking a grant needs: the grant, its agent, and the service that changes it. */
export interface RevokeGrantDeps {
  grants: Pick<GrantRepository, 'get'>;
  agents: Pick<AgentRepository, 'get'>;
  service: Pick<AccessCommands, 'revokeGrant'>;
}

/** A grant's Revoke: pending or active → revoked now, with the reason; a pending grant's request is cancelled. */
export function revokeGrantHandler(
  deps: RevokeGrantDeps,
): CommandHandler<'grant.revoke', { grant: GrantRecord; agent: AgentRecord | undefined }, GrantRecord> {
  return {
    load: async (_actor, { grantId }) => {
      const grant = await deps.grants.get(idToLookUp('GrantId', grantId, 'the grant'));
      if (!grant) throw new NotFoundError('the grant', grantId);
      return { grant, agent: await deps.agents.get(grant.agentId) };
    },
    // The rule reads the grant's source and the agent's sponsors; the status the revocation depends on is guarded by its update.
    authorise: (actor, { grant, agent }) => assertMayRevokeGrant(actor, grant, agent),
    handle: (actor, { reason }, { grant }) => deps.service.revokeGrant(actor.email, grant.id, reason),
  };
}
