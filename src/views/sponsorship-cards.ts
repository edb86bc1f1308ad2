import type { CardOf } from '../cards/view-models.js';
import type { AgentRecord } from '../core/agents.js';
import type { LeaverCards } from '../core/leavers.js';
import type { SponsorshipAnswer, SponsorshipCards } from '../core/sponsorships.js';
import { noticeCard } from './card-builders.js';

type AgentRef = Pick<AgentRecord, 'id' | 'name'>;

/** To a person named as sponsor of a registered agent: Accept / Decline. */
export function sponsorshipAskedNotice(agent: AgentRef, namedBy: string): CardOf<'notice'> {
  return noticeCard({
    level: 'info',
    title: `Will you sponsor ${agent.name}?`,
    text: `${namedBy} named you as a sponsor of ${agent.name} (${agent.id}). A sponsor answers for the agent: its access, check-ins and retirement. You count as its sponsor only once you accept.`,
    actions: [
      { action: 'sponsor_confirm', label: 'Accept sponsorship', style: 'primary', value: { agentId: agent.id } },
      { action: 'sponsor_decline', label: 'Decline', value: { agentId: agent.id } },
    ],
  });
}

/** To the IT admins: someone offered to sponsor an ownerless agent; Confirm / Refuse. */
export function selfNominatedNotice(agent: AgentRef, offeredBy: string, proposalId: string): CardOf<'notice'> {
  return noticeCard({
    level: 'warning',
    title: `Confirm ${offeredBy} as sponsor of ${agent.name}?`,
    text: `${agent.name} (${agent.id}) has no sponsor and ${offeredBy} offered to sponsor it. A second person confirms before anyone becomes an agent's only sponsor.`,
    actions: [
      {
        action: 'sponsor_confirm',
        label: `Confirm ${offeredBy}`,
        style: 'primary',
        value: { agentId: agent.id, proposalId },
      },
      { action: 'sponsor_decline', label: 'Refuse', value: { agentId: agent.id, proposalId } },
    ],
  });
}

/** To whoever named the sponsor and to the sponsor: accepted or declined, and who sponsors the agent now. */
export function sponsorshipAnsweredNotice(a: SponsorshipAnswer): CardOf<'notice'> {
  return noticeCard({
    level: a.accepted ? 'success' : 'warning',
    title: `${a.sponsorName} ${a.accepted ? 'sponsors' : 'does not sponsor'} ${a.agent.name}`,
    text: a.accepted
      ? `${a.sponsorName} now answers for ${a.agent.name} (${a.agent.id})${a.confirmedBy ? `, confirmed by ${a.confirmedBy}` : ''}.`
      : `${a.answeredBy} declined; ${a.agent.name} (${a.agent.id}) is sponsored by ${a.sponsorsAfter.join(', ') || 'nobody yet'}.`,
  });
}

/** To a leaver's manager: take the agent over, or retire it. */
export function sponsorLeftNotice(agent: AgentRef, leaver: string): CardOf<'notice'> {
  return noticeCard({
    level: 'warning',
    title: `${agent.name} needs a sponsor`,
    text: `${leaver} sponsored ${agent.name} (${agent.id}) and has left. As their manager, take it over, or retire it (sign-offs follow). In chat: "sponsor accept ${agent.id}".`,
    actions: [
      { action: 'sponsor_accept', label: 'Accept sponsorship', style: 'primary', value: { agentId: agent.id } },
      { action: 'sponsor_retire', label: 'Retire agent', style: 'danger', value: { agentId: agent.id } },
    ],
  });
}

/** To the person an IT admin made the sponsor of an agent that had none left. */
export function sponsorAssignedNotice(agent: AgentRef, assignedBy: string): CardOf<'notice'> {
  return noticeCard({
    level: 'info',
    title: `You sponsor ${agent.name} now`,
    text: `${assignedBy} made you the sponsor of ${agent.name} (${agent.id}), which had none left. You answer for it: its check-ins and access reviews come to you.`,
  });
}

/** The core's {@link SponsorshipCards} port. */
export const sponsorshipCards: SponsorshipCards = {
  asked: sponsorshipAskedNotice,
  selfNominated: selfNominatedNotice,
  answered: sponsorshipAnsweredNotice,
};

/** The core's {@link LeaverCards} port. */
export const leaverCards: LeaverCards = { offered: sponsorLeftNotice, assigned: sponsorAssignedNotice };
