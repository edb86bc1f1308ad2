import type { AccessCommands } from '../../core/access.js';
import type { GrantRecord, GrantRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { idOrUndefined } from '../../core/ids.js';
import { assertMayConfirmBreakGlass, assertMayReviewBreakGlass } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What confirming a break-glass use needs: the grant, and the service that changes it. */
export interface ConfirmBreakGlassDeps {
  grants: Pick<GrantRepository, 'get'>;
  service: Pick<AccessCommands, 'confirmBreakGlass'>;
}

/** Security's Confirm on a break-glass grant: the use is reviewed, the grant keeps running until it expires. */
export function confirmBreakGlassHandler(
  deps: ConfirmBreakGlassDeps,
): CommandHandler<'grant.confirm', GrantRecord | undefined, GrantRecord> {
  return {
    load: async (_actor, { grantId }) => {
      // A malformed id is a grant that does not exist: the role is still asked first.
      const id = idOrUndefined('GrantId', grantId);
      return id ? deps.grants.get(id) : undefined;
    },
    // The role is asked before the grant is known to exist, so a grant id reveals nothing to anyone else.
    authorise: (actor, grant) => (grant ? assertMayConfirmBreakGlass(actor, grant) : assertMayReviewBreakGlass(actor)),
    handle: async (actor, { grantId }, grant) => {
      if (!grant) throw new NotFoundError('the grant', grantId);
      return deps.service.confirmBreakGlass(actor.email, grant.id);
    },
  };
}
