import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';

/** Where a grant button's handler reads its grant and the grant's agent. */
export interface GrantReads {
  grants: Pick<GrantRepository, 'get'>;
  agents: Pick<AgentRepository, 'get'>;
}

/**
 * The grant a command names, with its agent for the who-may rule (its sponsors); the agent is
 * undefined when it is no longer stored. An unknown or malformed grant id is "not found".
 */
export async function loadGrant(deps: GrantReads, grantId: string): Promise<{ grant: GrantRecord; agent: AgentRecord | undefined }> {
  const grant = await deps.grants.get(idToLookUp('GrantId', grantId, 'the grant'));
  if (!grant) throw new NotFoundError('the grant', grantId);
  return { grant, agent: await deps.agents.get(grant.agentId) };
}
