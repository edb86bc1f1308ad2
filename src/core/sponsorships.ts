import { randomBytes } from 'node:crypto';
import type { OrgConfig } from '../config/schemas.js';
import { findPersonByEmail, hasRole, peopleWithRole } from '../config/directory.js';
import type { AgentRecord, AgentRepository, ProposedSponsor } from './agents.js';
import type { AuditLog } from './audit.js';
import { ForbiddenError, NotFoundError, SeparationOfDutiesError, UnknownPersonError } from './errors.js';
import type { Notifier } from './notifications.js';
import { maySeeAgent } from './policies.js';

export interface SponsorshipDeps {
  org: OrgConfig;
  agents: AgentRepository;
  audit: AuditLog;
  notifier: Notifier;
  clock?: () => Date;
}

/**
 * Sponsorship is accepted, never imposed: a person named as sponsor on a request counts as one
 * only after accepting (or an IT admin confirming for them, who did not name them), and a person
 * who puts themselves forward as the sponsor of an ownerless agent needs an IT admin to confirm.
 * The requester who names themselves accepts by requesting.
 */
export class Sponsorships {
  private readonly clock: () => Date;

  constructor(private readonly deps: SponsorshipDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Splits the sponsors named on a request: the requester counts at once, the others are proposed. */
  static split(requester: string, named: readonly string[], at: string): { sponsors: string[]; proposed: ProposedSponsor[] } {
    const unique = [...new Set(named)];
    return {
      sponsors: unique.filter((email) => email === requester),
      proposed: unique.filter((email) => email !== requester).map((email) => ({ id: newProposalId(), email, by: requester, at })),
    };
  }

  /** Asks each proposed sponsor of a newly registered agent to accept (a card with Accept / Decline). */
  async ask(agent: AgentRecord): Promise<void> {
    for (const p of agent.proposedSponsors ?? []) {
      await this.deps.audit.append({
        actor: { kind: 'person', email: p.by },
        action: 'sponsorship.proposed',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { sponsor: p.email },
      });
      await this.safeSend(p.email, {
        kind: 'notice',
        data: {
          level: 'info',
          title: `Will you sponsor ${agent.name}?`,
          text: `${this.name(p.by)} named you as a sponsor of ${agent.name} (${agent.id}). A sponsor answers for the agent: its access, check-ins and retirement. You count as its sponsor only once you accept.`,
          actions: [
            { action: 'sponsor_confirm', label: 'Accept sponsorship', style: 'primary', value: { agentId: agent.id } },
            { action: 'sponsor_decline', label: 'Decline', value: { agentId: agent.id } },
          ],
        },
      });
    }
  }

  /**
   * The person puts themselves forward as sponsor of an agent (an ownerless one): proposed, and the
   * IT admins other than them are asked to confirm. Nobody becomes sole sponsor on their own word.
   */
  async nominateSelf(actorEmail: string, agentId: string): Promise<AgentRecord> {
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const agent = await this.agent(agentId);
    const proposal = { id: newProposalId(), email: actor.email, by: actor.email, at: this.clock().toISOString() };
    if (!(await this.deps.agents.proposeSponsor(agent.id, proposal))) return (await this.deps.agents.get(agent.id)) ?? agent;
    await this.deps.audit.append({
      actor: { kind: 'person', email: actor.email },
      action: 'sponsorship.proposed',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: { sponsor: actor.email, self: true },
    });
    for (const admin of peopleWithRole(this.deps.org, 'it-admin').filter((p) => p.email !== actor.email)) {
      await this.safeSend(admin.email, {
        kind: 'notice',
        data: {
          level: 'warning',
          title: `Confirm ${actor.name} as sponsor of ${agent.name}?`,
          text: `${agent.name} (${agent.id}) has no sponsor and ${actor.name} offered to sponsor it. A second person confirms before anyone becomes an agent's only sponsor.`,
          actions: [
            {
              action: 'sponsor_confirm',
              label: `Confirm ${actor.name}`,
              style: 'primary',
              value: { agentId: agent.id, proposalId: proposal.id },
            },
            { action: 'sponsor_decline', label: 'Refuse', value: { agentId: agent.id, proposalId: proposal.id } },
          ],
        },
      });
    }
    return (await this.deps.agents.get(agent.id)) ?? agent;
  }

  /**
   * Accept or decline a proposed sponsorship: the proposed person for themselves (unless they
   * proposed themselves), or an IT admin for them who neither is them nor named them. Exactly once.
   */
  async answer(
    actorEmail: string,
    agentId: string,
    answer: 'accept' | 'decline',
    which: { proposalId?: string; sponsor?: string } = {},
  ): Promise<AgentRecord> {
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const agent = await this.deps.agents.get(String(agentId));
    if (!agent || !maySeeAgent(this.deps.org, actor, agent)) throw new NotFoundError('the agent', String(agentId));
    const wanted = which.sponsor ? String(which.sponsor).toLowerCase() : actor.email;
    const proposal = (agent.proposedSponsors ?? []).find((p) => (which.proposalId ? p.id === which.proposalId : p.email === wanted));
    if (!proposal) {
      if (!which.proposalId && agent.sponsors.includes(wanted) && answer === 'accept') return agent;
      throw new ForbiddenError(`No sponsorship of ${agent.name} is waiting for ${wanted === actor.email ? 'you' : this.name(wanted)}.`);
    }
    const sponsor = proposal.email;
    if (sponsor === actor.email) {
      if (proposal.by === actor.email && answer === 'accept') {
        throw new SeparationOfDutiesError(`You put yourself forward as ${agent.name}'s sponsor; an IT admin confirms it.`);
      }
    } else {
      if (!hasRole(actor, 'it-admin')) throw new ForbiddenError('Only the person named, or an IT admin, can answer for a sponsorship.');
      if (proposal.by === actor.email) {
        throw new SeparationOfDutiesError(`You named ${this.name(sponsor)} as sponsor, so another IT admin confirms it.`);
      }
    }
    const changed = await this.deps.agents.answerSponsorship(agent.id, sponsor, answer === 'accept');
    const after = (await this.deps.agents.get(agent.id)) ?? agent;
    if (!changed) return after;
    await this.deps.audit.append({
      actor: { kind: 'person', email: actor.email },
      action: answer === 'accept' ? 'sponsorship.accepted' : 'sponsorship.declined',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: {
        sponsor,
        namedBy: proposal.by,
        ...(sponsor !== actor.email ? { confirmedBy: actor.email } : {}),
        sponsors: after.sponsors,
      },
    });
    for (const to of new Set([proposal.by, sponsor].filter((e) => e !== actor.email))) {
      await this.safeSend(to, {
        kind: 'notice',
        data: {
          level: answer === 'accept' ? 'success' : 'warning',
          title: `${this.name(sponsor)} ${answer === 'accept' ? 'sponsors' : 'does not sponsor'} ${agent.name}`,
          text:
            answer === 'accept'
              ? `${this.name(sponsor)} now answers for ${agent.name} (${agent.id})${sponsor !== actor.email ? `, confirmed by ${actor.name}` : ''}.`
              : `${sponsor === actor.email ? this.name(sponsor) : actor.name} declined; ${agent.name} (${agent.id}) is sponsored by ${after.sponsors.map((s) => this.name(s)).join(', ') || 'nobody yet'}.`,
        },
      });
    }
    return after;
  }

  private async agent(agentId: string): Promise<AgentRecord> {
    const agent = await this.deps.agents.get(String(agentId));
    if (!agent) throw new NotFoundError('the agent', String(agentId));
    return agent;
  }

  private name(email: string): string {
    return findPersonByEmail(this.deps.org, email)?.name ?? email;
  }

  private async safeSend(to: string, card: Parameters<Notifier['send']>[1]): Promise<void> {
    try {
      await this.deps.notifier.send(to, card);
    } catch {
      // One unreachable person must not stop the others being asked; the audit entry is written.
    }
  }
}

function newProposalId(): string {
  return `sp_${randomBytes(6).toString('hex')}`;
}
