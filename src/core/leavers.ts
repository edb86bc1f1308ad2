import type { OrgConfig } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import { AGENT_HOLDER, type AgentRecord, type AgentRepository } from './agents.js';
import type { AuditInput, AuditLog } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import { ForbiddenError, NotFoundError, UnknownPersonError } from './errors.js';
import type { Notifier } from './notifications.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import type { Sponsorships } from './sponsorships.js';
import type { AgentId, AlertId } from './ids.js';
import type { OutgoingCard } from './notifications.js';

/** A sponsorship offered to a leaver's manager. */
export interface SponsorshipOffer {
  agentId: AgentId;
  leaver: string;
  manager: string;
  status: 'open' | 'accepted';
  at: string;
}

export interface LeaverRepository {
  /** The directory as Roster last saw it: e-mail → manager. */
  snapshot(): Promise<Record<string, string | null> | undefined>;
  saveSnapshot(people: Record<string, string | null>): Promise<void>;
  /** Creates the offer once (unique per agent and leaver) with the effects it implies; false when it exists. */
  offer(offer: SponsorshipOffer, effects?: readonly PendingEffect[]): Promise<boolean>;
  /** The open offer of this agent to this manager, if any (what the who-may rule reads; {@link accept} takes it). */
  open(agentId: AgentId, manager: string): Promise<SponsorshipOffer | undefined>;
  /** Marks an open offer to this manager accepted (atomic); the offer, or undefined when none was open. */
  accept(agentId: AgentId, manager: string): Promise<SponsorshipOffer | undefined>;
}

export interface LeaverDeps {
  org: OrgConfig;
  agents: AgentRepository;
  repo: LeaverRepository;
  audit: AuditLog;
  notifier: Notifier;
  /** Where an offer's audit entry and the manager's notice are stored with it, then performed. */
  outbox: Outbox;
  /** Who confirms a person taking an ownerless agent themselves. */
  sponsorships: Sponsorships;
  /** The manager's offer and the new sponsor's notice (src/views/sponsorship-cards.ts). */
  cards: LeaverCards;
  clock?: () => Date;
}

/** Presenter port: the cards of a sponsor who left. */
export interface LeaverCards {
  /** To the leaver's manager: take the agent over, or retire it. */
  offered(agent: Pick<AgentRecord, 'id' | 'name'>, leaver: string): OutgoingCard;
  /** To the person an IT admin made the sponsor of an agent left with none. */
  assigned(agent: Pick<AgentRecord, 'id' | 'name'>, assignedBy: string): OutgoingCard;
}

/** The holder kind of sponsorship offers in the outbox (collection `sponsorship_offers`, id `agentId:leaver`). */
export const OFFER_HOLDER = 'sponsorship-offer';

/**
 * Leavers: when a sponsor disappears from the directory (a new people.yaml at start-up, or at
 * once when the identity provider deactivates or deletes them over SCIM), each of
 * their agents is offered to their manager, who accepts with `sponsor accept <agent>` or retires
 * it; an agent left with no sponsor raises the ownerless alert at the next sweep.
 */
export class Leavers {
  private readonly clock: () => Date;

  constructor(private readonly deps: LeaverDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Compares the directory with the last snapshot, offers the leavers' agents, saves the new snapshot. */
  async check(): Promise<{ leavers: string[]; offers: number }> {
    const current = Object.fromEntries(this.deps.org.people.map((p) => [p.email, p.manager ?? null]));
    const previous = await this.deps.repo.snapshot();
    let offers = 0;
    const leavers = previous ? Object.keys(previous).filter((email) => !(email in current)) : [];
    for (const leaver of leavers) offers += await this.left(leaver, previous![leaver] ?? undefined);
    await this.deps.repo.saveSnapshot(current);
    return { leavers, offers };
  }

  /**
   * A sponsor left the directory (people.yaml at start-up, or deactivated or deleted over SCIM):
   * each agent they sponsor is offered to their manager in chat, once. Returns the offers made.
   */
  async left(leaver: string, manager: string | undefined, source = 'directory'): Promise<number> {
    let offers = 0;
    const agents = await this.deps.agents.list({ status: ['requested', 'active', 'probation', 'suspended'] });
    for (const agent of agents.filter((a) => a.sponsors.includes(leaver))) {
      // Keyed like the offer (one per agent and leaver): the directory job may run again after a
      // failure, and start-up checks repeat until the snapshot is saved.
      await this.deps.audit.append(
        {
          actor: { kind: 'system', name: 'directory' },
          action: 'sponsor.left',
          subject: { type: 'agent', id: agent.id, agentId: agent.id },
          details: { leaver, manager: manager ?? null, source },
        },
        { key: `sponsor.left:${agent.id}:${leaver}` },
      );
      if (!manager || !findPersonByEmail(this.deps.org, manager)) continue;
      const { outbox } = this.deps;
      // Stored with the offer: a crash after it is created still audits and tells the manager.
      const effects = [
        outbox.effect(AUDIT_EFFECT, {
          actor: { kind: 'system', name: 'directory' },
          action: 'sponsorship.offered',
          subject: { type: 'agent', id: agent.id, agentId: agent.id },
          details: { leaver, manager, source },
          at: this.clock(),
        } satisfies AuditInput),
        outbox.effect(CHAT_SEND_EFFECT, {
          to: manager,
          card: this.deps.cards.offered(agent, leaver),
        } satisfies ChatSend),
      ];
      const created = await this.deps.repo.offer(
        { agentId: agent.id, leaver, manager, status: 'open', at: this.clock().toISOString() },
        effects,
      );
      if (!created) continue;
      offers += 1;
      await outbox.settle({ kind: OFFER_HOLDER, id: `${agent.id}:${leaver}` }, effects, 'sponsorship.offered');
    }
    return offers;
  }

  /**
   * "Assign sponsor" on an ownerless agent's alert: the person becomes its sponsor, is told, and
   * the assignment is audited. Who may assign is the alert's rule (responders), checked by the caller.
   */
  async assign(actorEmail: string, agentId: AgentId, sponsorEmail: string, alertId: AlertId): Promise<'assigned' | 'pending'> {
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const sponsor = findPersonByEmail(this.deps.org, String(sponsorEmail));
    if (!sponsor) throw new UnknownPersonError(String(sponsorEmail));
    const agent = await this.deps.agents.get(agentId);
    if (!agent) throw new NotFoundError('the agent', agentId);
    if (sponsor.email === actor.email) {
      // Nobody makes themselves an agent's only sponsor alone: an IT admin confirms.
      await this.deps.sponsorships.nominateSelf(actor.email, agent.id);
      return 'pending';
    }
    const { outbox } = this.deps;
    // Stored with the new sponsor: a crash after the change still audits it and tells them.
    const effects = [
      outbox.effect(AUDIT_EFFECT, {
        actor: { kind: 'person', email: actor.email },
        action: 'sponsorship.assigned',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { sponsor: sponsor.email, alertId },
        at: this.clock(),
      } satisfies AuditInput),
      outbox.effect(CHAT_SEND_EFFECT, {
        to: sponsor.email,
        card: this.deps.cards.assigned(agent, actor.name),
      } satisfies ChatSend),
    ];
    await this.deps.agents.update(agent.id, { sponsors: [sponsor.email] }, effects);
    await outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'sponsorship.assigned');
    return 'assigned';
  }

  /** The manager accepts the sponsorship offered to them (also before retiring it: a retirement needs a sponsor). */
  async accept(actorEmail: string, agentId: AgentId, purpose: 'keep' | 'retire' = 'keep'): Promise<void> {
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const agent = await this.deps.agents.get(agentId);
    if (!agent) throw new NotFoundError('the agent', agentId);
    const offer = await this.deps.repo.accept(agent.id, actor.email);
    if (!offer) throw new ForbiddenError(`No sponsorship of ${agent.name} is waiting for you.`);
    const sponsors = [...new Set([...agent.sponsors.filter((s) => findPersonByEmail(this.deps.org, s)), actor.email])];
    const effects = [
      this.deps.outbox.effect(AUDIT_EFFECT, {
        actor: { kind: 'person', email: actor.email },
        action: 'sponsorship.accepted',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { leaver: offer.leaver, sponsors, ...(purpose === 'retire' ? { toRetire: true } : {}) },
        at: this.clock(),
      } satisfies AuditInput),
    ];
    await this.deps.agents.update(agent.id, { sponsors }, effects);
    await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agent.id }, effects, 'sponsorship.accepted');
  }
}
