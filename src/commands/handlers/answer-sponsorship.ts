import type { OrgConfig, Person } from '../../config/schemas.js';
import { findPersonByEmail } from '../../config/directory.js';
import type { AgentRecord, AgentRepository, ProposedSponsor } from '../../core/agents.js';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import { idOrUndefined, parseAgentId } from '../../core/ids.js';
import type { Leavers } from '../../core/leavers.js';
import { assertMayAnswerSponsorship, maySeeAgent } from '../../core/policies.js';
import { Sponsorships } from '../../core/sponsorships.js';
import type { Parsed } from '../command.js';
import type { CommandHandler } from '../handler.js';

/** What answering a proposed sponsorship needs: the agent, the service that stores the answer once, and the leavers' offers. */
export interface AnswerSponsorshipDeps {
  org: OrgConfig;
  agents: Pick<AgentRepository, 'get'>;
  sponsorships: Pick<Sponsorships, 'settleAnswer'>;
  leavers: Pick<Leavers, 'accept'>;
}

/** An accepted sponsorship: one the person was named for (or an IT admin confirmed), or a leaver's agent offered to their manager. */
export interface AcceptedSponsorship {
  agent: AgentRecord;
  via: 'named' | 'offered';
}

type Asked = { agent: AgentRecord | undefined; proposal: ProposedSponsor | undefined; wanted: string };

/** The typed `sponsor <agt_…> accept`, no one named and no sponsorship waiting: the leaver's agent offered to the person. */
const takesOffer = (command: Parsed<'sponsorship.answer'>, proposal: ProposedSponsor | undefined) =>
  command.agent !== undefined && command.confirm === undefined && !proposal;

async function load(deps: AnswerSponsorshipDeps, actor: Person, command: Parsed<'sponsorship.answer'>): Promise<Asked> {
  const { agent: typed, agentId, proposalId, confirm } = command;
  let agent: AgentRecord | undefined;
  if (typed !== undefined) {
    // The person may not see the agent yet (a manager in another business unit): typed, it is named by id only.
    const id = typed.startsWith('agt_') ? idOrUndefined('AgentId', typed) : undefined;
    agent = id ? await deps.agents.get(id) : undefined;
    if (!agent) throw new InvalidInputError('Name the agent by its id (agt_…), as in the message you received.');
  } else agent = await deps.agents.get(agentId ?? parseAgentId(undefined));
  if (!agent) return { agent, proposal: undefined, wanted: actor.email };
  return {
    agent,
    ...Sponsorships.answering(agent, actor, { ...(proposalId ? { proposalId } : {}), ...(confirm ? { sponsor: confirm } : {}) }),
  };
}

/**
 * Confirm or Decline on a proposed sponsorship, and the typed `sponsor <agt_…> accept [email]`: the
 * person named for themselves (never accepting their own self-nomination), or an IT admin for them
 * who did not name them; anyone who may not see the agent is told it does not exist. With no
 * proposal waiting, the service says so; typed, with none waiting for the person, it takes the
 * leaver's agent offered to them (the offer store's to grant, in the same write that takes it, like a run's step).
 */
export function answerSponsorshipHandler(deps: AnswerSponsorshipDeps): CommandHandler<'sponsorship.answer', Asked, AcceptedSponsorship> {
  const name = (email: string) => findPersonByEmail(deps.org, email)?.name ?? email;
  return {
    load: (actor, command) => load(deps, actor, command),
    authorise: (actor, { agent, proposal }, command) => {
      if (takesOffer(command, proposal)) return;
      if (!agent || !maySeeAgent(deps.org, actor, agent)) throw new NotFoundError('the agent', agent?.id ?? String(command.agentId));
      if (proposal) assertMayAnswerSponsorship(actor, agent, proposal, command.answer, name(proposal.email));
    },
    handle: async (actor, command, { agent, proposal, wanted }) => {
      if (takesOffer(command, proposal)) {
        await deps.leavers.accept(actor.email, agent!.id);
        return { agent: agent!, via: 'offered' };
      }
      const asked = { proposal, wanted, byId: Boolean(command.proposalId) };
      return { agent: await deps.sponsorships.settleAnswer(actor, agent!, asked, command.answer), via: 'named' };
    },
  };
}
