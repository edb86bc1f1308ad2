import type { AccessCommands } from '../../core/access.js';
import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayManageAccess } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What letting a grant expire needs: the grant, its agent, and the service that changes it. */
export interface LetGrantExpireDeps {
  grants: Pick<GrantRepository, 'get'>;
  agents: Pick<AgentRepository, 'get'>;
  service: Pick<AccessCommands, 'letExpire'>;
}

/** A reminder's Let expire: the grant runs until it expires, the answer recorded once (a grant already ended says so). */
export function letGrantExpireHandler(
  deps: LetGrantExpireDeps,
): CommandHandler<'grant.let-expire', { grant: GrantRecord; agent: AgentRecord | undefined }, GrantRecord> {
  return {
    load: async (_actor, { grantId }) => {
      const grant = await deps.grants.get(idToLookUp('GrantId', grantId, 'the grant'));
      if (!grant) throw new NotFoundError('the grant', grantId);
      return { grant, agent: await deps.agents.get(grant.agentId) };
    },
    authorise: (actor, { agent }) => assertMayManageAccess(actor, agent, 'decide about the access of'),
    handle: (actor, _command, { grant }) => deps.service.letExpire(actor.email, grant.id),
  };
}
