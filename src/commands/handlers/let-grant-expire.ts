import type { AccessCommands } from '../../core/access.js';
import type { AgentRecord, GrantRecord } from '../../core/agents.js';
import { assertMayManageAccess } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { loadGrant, type GrantReads } from './load-grant.js';

/** What letting a grant expire needs: the grant, its agent, and the service that changes it. */
export interface LetGrantExpireDeps extends GrantReads {
  service: Pick<AccessCommands, 'letExpire'>;
}

/** A reminder's Let expire: the grant runs until it expires, the answer recorded once (a grant already ended says so). */
export function letGrantExpireHandler(
  deps: LetGrantExpireDeps,
): CommandHandler<'grant.let-expire', { grant: GrantRecord; agent: AgentRecord | undefined }, GrantRecord> {
  return {
    load: (_actor, { grantId }) => loadGrant(deps, grantId),
    authorise: (actor, { agent }) => assertMayManageAccess(actor, agent, 'decide about the access of'),
    handle: (actor, _command, { grant }) => deps.service.letExpire(actor.email, grant.id),
  };
}
