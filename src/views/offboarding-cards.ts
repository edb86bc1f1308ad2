import type { CardOf } from '../cards/view-models.js';
import type { DelegationCards } from '../core/delegations.js';
import type { HandOver, RetirementCards } from '../core/retirement.js';
import { noticeCard } from './card-builders.js';

/** The delegate's notice: whose approvals come to them, and when. */
export function delegatedNotice(principalName: string, from: string, to: string): CardOf<'notice'> {
  return noticeCard({
    level: 'info',
    title: `You decide for ${principalName} from ${from} to ${to}`,
    text: `${principalName} is away and delegated their approvals to you. Their approval cards come to you; your decisions are recorded as yours, on their behalf. You still cannot approve your own requests.`,
  });
}

/** Both agents' sponsors: the successor took over the retired agent's notes, open items and scopes. */
export function handOverNotice(h: HandOver): CardOf<'notice'> {
  return noticeCard({
    level: 'info',
    title: `${h.successorName} takes over from ${h.agentName}`,
    text: `${h.agentName} is retired. ${h.successorName} received ${h.knowledgeNotes} knowledge notes, ${h.openItems} open items and the recommended scopes ${h.recommendedScopes.join(', ') || '(none)'}.`,
  });
}

/** The core's {@link DelegationCards} port. */
export const delegationCards: DelegationCards = { delegated: delegatedNotice };
/** The core's {@link RetirementCards} port. */
export const retirementCards: RetirementCards = { handedOver: handOverNotice };
