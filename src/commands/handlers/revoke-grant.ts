import type { AccessCommands } from '../../core/access.js';
import type { AgentRecord, GrantRecord } from '../../core/agents.js';
import { assertMayRevokeGrant } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { loadGrant, type GrantReads } from './load-grant.js';

/** What revoking a grant needs: the grant, its agent, and the service that changes it. */
export interface RevokeGrantDeps extends GrantReads {
  service: Pick<AccessCommands, 'revokeGrant'>;
}

/** A grant's Revoke: pending or active → revoked now, with the reason; a pending grant's request is cancelled. */
export function revokeGrantHandler(
  deps: RevokeGrantDeps,
): CommandHandler<'grant.revoke', { grant: GrantRecord; agent: AgentRecord | undefined }, GrantRecord> {
  return {
    load: (_actor, { grantId }) => loadGrant(deps, grantId),
    // The rule reads the grant's source and the agent's sponsors; the status the revocation depends on is guarded by its update.
    authorise: (actor, { grant, agent }) => assertMayRevokeGrant(actor, grant, agent),
    handle: (actor, { reason }, { grant }) => deps.service.revokeGrant(actor.email, grant.id, reason),
  };
}
