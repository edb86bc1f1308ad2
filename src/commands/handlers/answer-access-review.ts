import type { AccessReviews } from '../../core/access-review.js';
import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { idOrUndefined } from '../../core/ids.js';
import { assertMayAnswerAccessReview } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What answering an access review needs: the grant, its agent, and the service that records the answer. */
export interface AnswerAccessReviewDeps {
  grants: Pick<GrantRepository, 'get'>;
  agents: Pick<AgentRepository, 'get'>;
  service: Pick<AccessReviews, 'recordAnswer'>;
}

/** Keep or Revoke on an access review card: the answer is recorded once (a Revoke revokes the grant through its outbox). */
export function answerAccessReviewHandler(
  deps: AnswerAccessReviewDeps,
): CommandHandler<'access-review.answer', { grant: GrantRecord; agent: AgentRecord | undefined }, GrantRecord> {
  return {
    load: async (_actor, { grantId, cycle }) => {
      const id = idOrUndefined('GrantId', grantId);
      const grant = id ? await deps.grants.get(id) : undefined;
      if (!grant || grant.review?.cycle !== cycle) throw new NotFoundError('the grant in this review', grantId);
      // An IT admin answers even for an agent no longer stored.
      return { grant, agent: await deps.agents.get(grant.agentId) };
    },
    authorise: (actor, { agent }) => assertMayAnswerAccessReview(actor, agent),
    handle: (actor, { cycle, answer }, { grant }) => deps.service.recordAnswer(actor, grant, { cycle, answer }),
  };
}
