import type { OrgConfig } from '../../config/schemas.js';
import { findPersonByEmail } from '../../config/directory.js';
import type { AgentRecord, AgentRepository, ProposedSponsor } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayAnswerSponsorship, maySeeAgent } from '../../core/policies.js';
import { Sponsorships } from '../../core/sponsorships.js';
import type { CommandHandler } from '../handler.js';

/** What answering a proposed sponsorship needs: the agent, and the service that stores the answer once. */
export interface AnswerSponsorshipDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'get'>;
  sponsorships: Pick<Sponsorships, 'settleAnswer'>;
}

type Asked = { agent: AgentRecord | undefined; proposal: ProposedSponsor | undefined; wanted: string };

/**
 * Confirm or Decline on a proposed sponsorship: the person named for themselves (never accepting
 * their own self-nomination), or an IT admin for them who did not name them; anyone who may not see
 * the agent is told it does not exist. With no proposal waiting, the service says so.
 */
export function answerSponsorshipHandler(deps: AnswerSponsorshipDeps): CommandHandler<'sponsorship.answer', Asked, AgentRecord> {
  const name = (email: string) => findPersonByEmail(deps.org, email)?.name ?? email;
  return {
    load: async (actor, { agentId, proposalId }) => {
      const agent = await deps.agents.get(agentId);
      if (!agent) return { agent, proposal: undefined, wanted: actor.email };
      return { agent, ...Sponsorships.answering(agent, actor, proposalId ? { proposalId } : {}) };
    },
    authorise: (actor, { agent, proposal }, { agentId, answer }) => {
      if (!agent || !maySeeAgent(deps.org, actor, agent)) throw new NotFoundError('the agent', agentId);
      if (proposal) assertMayAnswerSponsorship(actor, agent, proposal, answer, name(proposal.email));
    },
    handle: (actor, { answer, proposalId }, { agent, proposal, wanted }) =>
      deps.sponsorships.settleAnswer(actor, agent!, { proposal, wanted, byId: Boolean(proposalId) }, answer),
  };
}
