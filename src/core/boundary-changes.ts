import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, roleById } from '../config/directory.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import type { AgentRecord } from './agents.js';
import { applyOverride, boundaryOf, roleOfAgent, type BoundaryMode, type BoundaryOverride } from './boundaries.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import { InvalidInputError, NotFoundError, RequestClosedError, DuplicateError } from './errors.js';
import type { OutgoingCard } from './notifications.js';
import { displayDate } from './time.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import { assertMayDecideBoundaryChange, isBoundaryChangeDecider, mayDecideBoundaryChange } from './policies.js';
import type { AgentId } from './ids.js';

/*
 * A sponsor changes an action's boundary for one agent (issue 19, item 5) only through a change
 * request an IT admin approves: never silently. The request and the decision are each stored with
 * their audit entry and cards in one write (the outbox performs them), the decision is a
 * conditional update from `pending` (exactly once), and only an approved change is read by the
 * boundary decision, as an override of the catalog for that agent and action.
 */

/** The holder kind of boundary change requests in the outbox. */
export const BOUNDARY_CHANGE_HOLDER = 'boundary-change';

/** A sponsor's request to change one action's boundary for one agent. */
export interface BoundaryChangeRecord {
  id: string;
  agentId: AgentId;
  agentName: string;
  action: string;
  actionTitle: string;
  /** The boundary in effect when the change was asked for. */
  from: BoundaryMode;
  to: BoundaryMode;
  reason: string;
  requestedBy: string;
  status: 'pending' | 'approved' | 'denied';
  decidedBy?: string;
  decidedAt?: string;
  /** Why IT said no, shown to the sponsor. */
  denyReason?: string;
  /** The IT admins who were asked (their cards carry the buttons). */
  deciders: string[];
  createdAt: string;
}

/** Storage of boundary change requests (src/store/runtime-store.ts). */
export interface BoundaryChangeRepository {
  /** Inserts with its outbox `effects`, or returns the record already stored under the same id. */
  insert(record: BoundaryChangeRecord, effects?: readonly PendingEffect[]): Promise<{ record: BoundaryChangeRecord; created: boolean }>;
  get(id: string): Promise<BoundaryChangeRecord | undefined>;
  /** Sets `patch` (and stores `effects`) only if the stored record matches `when`. */
  update(
    id: string,
    when: Record<string, unknown>,
    patch: Partial<BoundaryChangeRecord>,
    effects?: readonly PendingEffect[],
  ): Promise<BoundaryChangeRecord | undefined>;
  /** Every change request of one agent's action, newest first. */
  forAction(agentId: AgentId, action: string): Promise<BoundaryChangeRecord[]>;
  /** The newest approved change of one agent's action. */
  latestApproved(agentId: AgentId, action: string): Promise<BoundaryChangeRecord | undefined>;
  /** Every approved change request of one agent, newest first, read whole. */
  approvedFor(agentId: AgentId): Promise<BoundaryChangeRecord[]>;
  /** Every pending change request not asked for by `requester`, newest first, read whole. */
  pendingExcept(requester: string): Promise<BoundaryChangeRecord[]>;
}

export const BOUNDARY_MODES = ['autonomous', 'needs-approval', 'forbidden'] as const;

/** `boundary <agent> <action> <mode> <reason>`, from chat. */
export const boundaryChangeInputSchema = z.strictObject({
  action: z.string().trim().min(1).max(100),
  mode: z.enum(BOUNDARY_MODES, { error: 'the boundary must be autonomous, needs-approval or forbidden' }),
  reason: z.string().trim().min(10, 'give IT a reason of at least 10 characters').max(500, 'keep the reason under 500 characters'),
});
export type BoundaryChangeInput = z.input<typeof boundaryChangeInputSchema>;

export interface BoundaryChangeDeps {
  org: OrgConfig;
  repo: BoundaryChangeRepository;
  outbox: Outbox;
  /** The change request's card for each person (src/views/boundary-change-cards.ts). */
  cards: BoundaryChangeCards;
  clock?: () => Date;
}

/** Presenter port: the card a person sees for a boundary change request. */
export interface BoundaryChangeCards {
  card(r: BoundaryChangeRecord, viewer: string): OutgoingCard;
}

/** A boundary in effect for one agent's action that differs from its catalog role's, as the profile lists it. */
export interface BoundaryOverrideLine {
  action: string;
  /** e.g. "Refund issue: needs approval (catalog: autonomous), changed by Maya Chen, approved by Liam O'Neill on 2 Jun 2026 (request bch_…)". */
  text: string;
}

const SHORT_MODE: Record<BoundaryMode, string> = {
  autonomous: 'autonomous',
  'needs-approval': 'needs approval',
  forbidden: 'forbidden',
};

/** A boundary mode in words, e.g. "needs approval". */
export const MODE_WORDS: Record<BoundaryMode, string> = {
  autonomous: 'autonomous (acts alone)',
  'needs-approval': 'needs approval (asks a person first)',
  forbidden: 'forbidden (never allowed)',
};

/** Boundary change requests: asked by a sponsor, decided by an IT admin, read by the boundary decision. */
export class BoundaryChanges {
  private readonly clock: () => Date;

  constructor(private readonly deps: BoundaryChangeDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** The approved override of an agent's action, if any (the newest approved change wins); read on every runtime request. */
  async override(agentId: AgentId, action: string): Promise<BoundaryOverride | undefined> {
    const approved = await this.deps.repo.latestApproved(agentId, action);
    return approved ? { mode: approved.to, changeId: approved.id } : undefined;
  }

  /**
   * A sponsor asks IT to change a boundary of `agent` (who may is the `boundary.request` command's
   * rule, asked before this): refused for an agent retired or rejected, an unknown action, no change,
   * and while another change of the same action is waiting.
   */
  async request(person: Person, agent: AgentRecord, raw: unknown): Promise<BoundaryChangeRecord> {
    const parsed = boundaryChangeInputSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidInputError(`${issue.path.join('.') || 'input'}: ${issue.message}.`);
    }
    const input = parsed.data;
    if (agent.status === 'retired' || agent.status === 'rejected')
      throw new InvalidInputError(`${agent.name} is ${agent.status}; its boundaries no longer apply.`);
    const boundary = boundaryOf(roleOfAgent(this.deps.org, agent), input.action);
    const history = await this.deps.repo.forAction(agent.id, input.action);
    const waiting = history.find((c) => c.status === 'pending');
    if (waiting)
      throw new DuplicateError(`A change of ${input.action} for ${agent.name} is already waiting for IT (request ${waiting.id}).`, {
        changeId: waiting.id,
      });
    const approved = history.find((c) => c.status === 'approved');
    const from = applyOverride(boundary, approved ? { mode: approved.to, changeId: approved.id } : undefined).mode;
    if (from === input.mode) throw new InvalidInputError(`${input.action} is already ${MODE_WORDS[from]} for ${agent.name}.`);
    const deciders = this.deps.org.people.filter((p) => mayDecideBoundaryChange(p, { requestedBy: person.email })).map((p) => p.email);
    if (deciders.length === 0) throw new InvalidInputError('No IT admin other than you can approve this change; ask IT to add one.');

    const now = this.clock();
    // One id per generation of changes of this action: two racing requests meet the same key.
    const id = `bch_${createHash('sha256').update(`${agent.id}\u0000${input.action}\u0000${history.length}`).digest('hex').slice(0, 24)}`;
    const record: BoundaryChangeRecord = {
      id,
      agentId: agent.id,
      agentName: agent.name,
      action: input.action,
      actionTitle: boundary.title ?? input.action,
      from,
      to: input.mode,
      reason: input.reason,
      requestedBy: person.email,
      status: 'pending',
      deciders,
      createdAt: now.toISOString(),
    };
    const effects = [
      this.audit({
        actor: { kind: 'person', email: person.email },
        action: 'boundary.change-requested',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: { changeId: id, action: record.action, from, to: record.to, reason: record.reason },
      }),
      ...deciders.map((to) => this.deps.outbox.effect(CHAT_SEND_EFFECT, { to, card: this.deps.cards.card(record, to) } satisfies ChatSend)),
    ];
    const { record: stored, created } = await this.deps.repo.insert(record, effects);
    if (!created)
      throw new DuplicateError(`A change of ${input.action} for ${agent.name} is already waiting for IT (request ${stored.id}).`, {
        changeId: stored.id,
      });
    await this.deps.outbox.settle({ kind: BOUNDARY_CHANGE_HOLDER, id }, effects, 'boundary.change-requested');
    return stored;
  }

  /**
   * An IT admin approves or denies (with a reason); exactly once. `record` is {@link find}'s, and who
   * may (IT admins, never the sponsor who asked) is the `boundary.decide` command's rule, asked before.
   */
  async decide(person: Person, record: BoundaryChangeRecord, decision: 'approve' | 'deny', reason?: string): Promise<BoundaryChangeRecord> {
    const id = record.id;
    if (record.status !== 'pending') throw new RequestClosedError(record.status, record.decidedAt ? new Date(record.decidedAt) : undefined);
    const why = (reason ?? '').trim();
    if (decision === 'deny' && why.length < 3) throw new InvalidInputError('Tell the sponsor why you deny the change.', { field: 'text' });
    const now = this.clock().toISOString();
    const patch: Partial<BoundaryChangeRecord> = {
      status: decision === 'approve' ? 'approved' : 'denied',
      decidedBy: person.email,
      decidedAt: now,
      ...(decision === 'deny' ? { denyReason: why.slice(0, 500) } : {}),
    };
    const decided = { ...record, ...patch };
    const effects = [
      this.audit({
        actor: { kind: 'person', email: person.email },
        action: decision === 'approve' ? 'boundary.change-approved' : 'boundary.change-denied',
        subject: { type: 'agent', id: record.agentId, agentId: record.agentId },
        details: {
          changeId: record.id,
          action: record.action,
          from: record.from,
          to: record.to,
          requestedBy: record.requestedBy,
          ...(decided.denyReason ? { reason: decided.denyReason } : {}),
        },
      }),
      this.deps.outbox.effect(CHAT_SEND_EFFECT, {
        to: record.requestedBy,
        card: this.deps.cards.card(decided, record.requestedBy),
      } satisfies ChatSend),
    ];
    const updated = await this.deps.repo.update(id, { status: 'pending' }, patch, effects);
    if (!updated) {
      const now2 = await this.deps.repo.get(id);
      throw new RequestClosedError(now2?.status ?? 'closed', now2?.decidedAt ? new Date(now2.decidedAt) : undefined);
    }
    await this.deps.outbox.settle({ kind: BOUNDARY_CHANGE_HOLDER, id }, effects, 'boundary.change-decided');
    return updated;
  }

  /**
   * The approved overrides in effect for an agent, one per action of its role whose newest approved
   * change differs from the catalog, in the catalog's order of actions.
   */
  async overridesOf(agent: AgentRecord): Promise<BoundaryOverrideLine[]> {
    const actions = Object.entries(roleById(this.deps.org, agent.catalogRoleId)?.boundaries?.actions ?? {});
    if (actions.length === 0) return [];
    const newest = new Map<string, BoundaryChangeRecord>();
    for (const change of await this.deps.repo.approvedFor(agent.id)) if (!newest.has(change.action)) newest.set(change.action, change);
    const name = (email?: string) => (email ? (findPersonByEmail(this.deps.org, email)?.name ?? email) : 'someone');
    return actions.flatMap(([action, boundary]) => {
      const change = newest.get(action);
      if (!change || change.to === boundary.mode) return [];
      return [
        {
          action,
          text: `${boundary.title ?? action}: ${SHORT_MODE[change.to]} (catalog: ${SHORT_MODE[boundary.mode]}), changed by ${name(change.requestedBy)}, approved by ${name(change.decidedBy)}${change.decidedAt ? ` on ${displayDate(change.decidedAt)}` : ''} (request ${change.id})`,
        },
      ];
    });
  }

  /** One change request by id, whatever its status. */
  async get(id: string): Promise<BoundaryChangeRecord | undefined> {
    return this.deps.repo.get(id);
  }

  /** A change request by id, whatever its status; an unknown or malformed id is "not found". */
  async find(id: string): Promise<BoundaryChangeRecord> {
    const record = /^bch_[0-9a-f]{24}$/.test(id) ? await this.deps.repo.get(id) : undefined;
    if (!record) throw new NotFoundError('the boundary change request', id);
    return record;
  }

  /**
   * A pending change `person` may decide (any pending change when no person is given), else a coded
   * refusal: for opening the Deny form, which asks the decision's rule before the form is shown.
   */
  async decidable(person: Person | undefined, id: string): Promise<BoundaryChangeRecord> {
    const record = await this.find(id);
    if (person) assertMayDecideBoundaryChange(person, { id, requestedBy: record.requestedBy });
    if (record.status !== 'pending') throw new RequestClosedError(record.status, record.decidedAt ? new Date(record.decidedAt) : undefined);
    return record;
  }

  /** Pending change requests an IT admin may decide (for the home card). */
  async pendingFor(person: Person): Promise<BoundaryChangeRecord[]> {
    if (!isBoundaryChangeDecider(person)) return [];
    // Filtered in the query and read whole: an admin's own requests never crowd out the ones they may decide.
    return this.deps.repo.pendingExcept(person.email);
  }

  private audit(entry: AuditInput): PendingEffect {
    return this.deps.outbox.effect(AUDIT_EFFECT, { ...entry, at: this.clock() } satisfies AuditInput);
  }
}
