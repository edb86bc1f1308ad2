import { randomBytes } from 'node:crypto';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, peopleWithRole } from '../config/directory.js';
import { AGENT_HOLDER, type AgentRecord, type AgentRepository, type ProposedSponsor } from './agents.js';
import { ALERT_EFFECTS, type ResolveAlertsOfKind } from './alerts.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import { ForbiddenError, NotFoundError, UnknownPersonError } from './errors.js';
import type { OutgoingCard } from './notifications.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import type { AgentId } from './ids.js';

export interface SponsorshipDeps {
  org: OrgConfig;
  agents: AgentRepository;
  /** Where the audit entries and cards of a sponsorship change are stored with it, then performed. */
  outbox: Outbox;
  /** The sponsorship questions and answers (src/views/sponsorship-cards.ts). */
  cards: SponsorshipCards;
  clock?: () => Date;
}

/** An answer to a sponsorship proposal, as the people told about it read it. */
export interface SponsorshipAnswer {
  agent: Pick<AgentRecord, 'id' | 'name'>;
  sponsorName: string;
  accepted: boolean;
  /** Who answered: the sponsor, or the IT admin who answered for them. */
  answeredBy: string;
  /** Set when an IT admin confirmed for the sponsor. */
  confirmedBy?: string;
  /** The agent's sponsors once the answer is stored, by name. */
  sponsorsAfter: string[];
}

/** Presenter port: the sponsorship cards. */
export interface SponsorshipCards {
  /** To a person named as sponsor: Accept / Decline. */
  asked(agent: Pick<AgentRecord, 'id' | 'name'>, namedBy: string): OutgoingCard;
  /** To the IT admins: someone offered to sponsor an ownerless agent; Confirm / Refuse. */
  selfNominated(agent: Pick<AgentRecord, 'id' | 'name'>, offeredBy: string, proposalId: string): OutgoingCard;
  /** To whoever named the sponsor and to the sponsor: the answer. */
  answered(answer: SponsorshipAnswer): OutgoingCard;
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

  /**
   * The effects asking each proposed sponsor of a newly registered agent to accept (an audit entry
   * and a card with Accept / Decline), to store with the agent's insert in its outbox.
   */
  askEffects(agent: AgentRecord): PendingEffect[] {
    return (agent.proposedSponsors ?? []).flatMap((p) => [
      this.audit({
        actor: { kind: 'person', email: p.by },
        action: 'sponsorship.proposed',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { sponsor: p.email },
      }),
      this.send(p.email, this.deps.cards.asked(agent, this.name(p.by))),
    ]);
  }

  /**
   * The proposal naming `email` as sponsor of `agent`, if one waits. With `ownAnswer`, only one
   * they may accept themselves: named by someone else (a self-nomination waits for an IT admin,
   * see {@link Sponsorships.settleAnswer} and the rule in policies.ts).
   */
  static proposalFor(agent: Pick<AgentRecord, 'proposedSponsors'>, email: string, ownAnswer = false): ProposedSponsor | undefined {
    return (agent.proposedSponsors ?? []).find((p) => p.email === email && !(ownAnswer && p.by === email));
  }

  /** Performs the effects stored with an agent's state change (see {@link Outbox.settle}). */
  settle(agentId: AgentId, effects: readonly PendingEffect[], label: string): Promise<void> {
    return this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agentId }, effects, label);
  }

  /**
   * The person puts themselves forward as sponsor of an agent (an ownerless one): proposed, and the
   * IT admins other than them are asked to confirm. Nobody becomes sole sponsor on their own word.
   */
  async nominateSelf(actorEmail: string, agentId: AgentId): Promise<AgentRecord> {
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const agent = await this.agent(agentId);
    const proposal = { id: newProposalId(), email: actor.email, by: actor.email, at: this.clock().toISOString() };
    const effects = [
      this.audit({
        actor: { kind: 'person', email: actor.email },
        action: 'sponsorship.proposed',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { sponsor: actor.email, self: true },
      }),
      ...peopleWithRole(this.deps.org, 'it-admin')
        .filter((p) => p.email !== actor.email)
        .map((admin) => this.send(admin.email, this.deps.cards.selfNominated(agent, actor.name, proposal.id))),
    ];
    if (await this.deps.agents.proposeSponsor(agent.id, proposal, effects)) await this.settle(agent.id, effects, 'sponsorship.proposed');
    return (await this.deps.agents.get(agent.id)) ?? agent;
  }

  /** The proposal an answer is about (by id, or the one naming `which.sponsor`, else the actor), if one waits. */
  static answering(
    agent: Pick<AgentRecord, 'proposedSponsors'>,
    actor: Pick<Person, 'email'>,
    which: { proposalId?: string; sponsor?: string },
  ): { proposal: ProposedSponsor | undefined; wanted: string } {
    const wanted = which.sponsor ? String(which.sponsor).toLowerCase() : actor.email;
    const proposal = which.proposalId
      ? (agent.proposedSponsors ?? []).find((p) => p.id === which.proposalId)
      : Sponsorships.proposalFor(agent, wanted);
    return { proposal, wanted };
  }

  /**
   * Stores `actor`'s answer to the proposal {@link answering} found: accept or decline, exactly once.
   * The caller authorised `actor` for it (the `sponsorship.answer` command, from Confirm / Decline or
   * the typed `sponsor … accept`: the proposed person for themselves, unless they proposed themselves,
   * or an IT admin for them who neither is them nor named them). With none waiting, an accept of a
   * sponsorship already held changes nothing, anything else is refused.
   */
  async settleAnswer(
    actor: Person,
    agent: AgentRecord,
    asked: { proposal: ProposedSponsor | undefined; wanted: string; byId: boolean },
    answer: 'accept' | 'decline',
  ): Promise<AgentRecord> {
    const { proposal, wanted } = asked;
    if (!proposal) {
      if (!asked.byId && agent.sponsors.includes(wanted) && answer === 'accept') return agent;
      throw new ForbiddenError(`No sponsorship of ${agent.name} is waiting for ${wanted === actor.email ? 'you' : this.name(wanted)}.`);
    }
    const sponsor = proposal.email;
    const accepted = answer === 'accept';
    // The sponsors as they will be once this answer is stored, for the audit entry and the notices.
    const sponsorsAfter = accepted ? [...new Set([...agent.sponsors, sponsor])] : agent.sponsors.filter((s) => s !== sponsor);
    const effects = [
      this.audit({
        actor: { kind: 'person', email: actor.email },
        action: accepted ? 'sponsorship.accepted' : 'sponsorship.declined',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: {
          sponsor,
          namedBy: proposal.by,
          ...(sponsor !== actor.email ? { confirmedBy: actor.email } : {}),
          sponsors: sponsorsAfter,
        },
      }),
      ...[...new Set([proposal.by, sponsor].filter((e) => e !== actor.email))].map((to) =>
        this.send(
          to,
          this.deps.cards.answered({
            agent,
            sponsorName: this.name(sponsor),
            accepted,
            answeredBy: sponsor === actor.email ? this.name(sponsor) : actor.name,
            ...(sponsor !== actor.email ? { confirmedBy: actor.name } : {}),
            sponsorsAfter: sponsorsAfter.map((s) => this.name(s)),
          }),
        ),
      ),
      // The agent has a sponsor again: its ownerless alert is resolved, whichever surface the answer came from.
      ...(accepted
        ? [
            this.deps.outbox.effect(ALERT_EFFECTS.resolveKind, {
              agentId: agent.id,
              kind: 'ownerless',
              actor: actor.email,
            } satisfies ResolveAlertsOfKind),
          ]
        : []),
    ];
    if (await this.deps.agents.answerSponsorship(agent.id, sponsor, accepted, effects)) {
      await this.settle(agent.id, effects, 'sponsorship.answered');
    }
    return (await this.deps.agents.get(agent.id)) ?? agent;
  }

  private async agent(agentId: AgentId): Promise<AgentRecord> {
    const agent = await this.deps.agents.get(agentId);
    if (!agent) throw new NotFoundError('the agent', agentId);
    return agent;
  }

  private name(email: string): string {
    return findPersonByEmail(this.deps.org, email)?.name ?? email;
  }

  private audit(entry: AuditInput): PendingEffect {
    // Recorded at the time of the change, even when a worker appends it later.
    return this.deps.outbox.effect(AUDIT_EFFECT, { ...entry, at: this.clock() });
  }

  private send(to: string, card: OutgoingCard): PendingEffect {
    return this.deps.outbox.effect(CHAT_SEND_EFFECT, { to, card } satisfies ChatSend);
  }
}

function newProposalId(): string {
  return `sp_${randomBytes(6).toString('hex')}`;
}
