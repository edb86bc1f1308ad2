import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, peopleWithRole } from '../config/directory.js';
import { GRANT_HOLDER, type AccessCommands, type AccessSettings, type GrantTimers } from './access.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from './agents.js';
import { isRosterError, NotWaitingError } from './errors.js';
import type { OutgoingCard } from './notifications.js';
import type { GrantId } from './ids.js';

/** The holder kind of access review cycles in the outbox: a cycle's start and escalation. */
export const REVIEW_CYCLE_HOLDER = 'access-review';

/** One access review cycle, the record that holds its start and escalation effects. */
export interface ReviewCycle {
  /** `rev_<start time>`: unique, so a cycle starts once. */
  id: string;
  startedAt: string;
  dueAt: string;
  /** Recorded once the cycle's grants are marked and its start is stored with its effects. */
  announced?: { grants: number; sponsors: string[]; at: string };
  /** Recorded once the unattested grants are escalated, with the notices and entry it implies. */
  escalated?: { grants: string[]; at: string };
}

/** Storage of review cycles; every change is one conditional update with its effects in the cycle's outbox. */
export interface ReviewCycleRepository {
  /** Stores a new cycle with `effects` in its outbox; false, and nothing stored, when one with this id exists. */
  create(cycle: ReviewCycle, effects?: readonly PendingEffect[]): Promise<boolean>;
  get(id: string): Promise<ReviewCycle | undefined>;
  /** Records the start once (atomic), with `effects` in the cycle's outbox; false when it was recorded already. */
  announce(id: string, announced: NonNullable<ReviewCycle['announced']>, effects?: readonly PendingEffect[]): Promise<boolean>;
  /** Records the escalation once (atomic; creates the record of a cycle that has none), with `effects`; false when recorded already. */
  escalate(id: string, escalated: NonNullable<ReviewCycle['escalated']>, effects?: readonly PendingEffect[]): Promise<boolean>;
}

export interface AccessReviewDeps {
  org: OrgConfig;
  /** Review cycles, the records holding a cycle's start and escalation effects. */
  cycles: ReviewCycleRepository;
  agents: AgentRepository;
  grants: GrantRepository;
  timers: GrantTimers;
  access: AccessCommands;
  /** Where a grant's review answer and its consequences are stored with the answer. */
  outbox: Outbox;
  settings: AccessSettings;
  /** The sponsor's review card (built by src/views/access-cards.ts). */
  cards: AccessReviewCards;
  clock?: () => Date;
}

/** Where one grant under review stands for the sponsor reading the card. */
export type ReviewItemState = 'open' | 'kept' | 'revoked' | 'flagged' | 'ended';

/** A sponsor's share of a review cycle, as the rules decide it: which grants, in which order, each one's state. */
export interface SponsorReview {
  cycle: string;
  /** e.g. "Quarterly". */
  cadence: string;
  /** What happens to grants nobody attested by the due date. */
  enforcement: AccessSettings['reviewEnforcement'];
  /** ISO time. */
  dueAt: string;
  items: Array<{ grant: GrantRecord; agentName: string; state: ReviewItemState; decidedBy?: string }>;
}

/** Grants nobody attested by a cycle's deadline, enforced and told to IT. */
export interface UnattestedGrants {
  cycle: string;
  enforcement: AccessSettings['reviewEnforcement'];
  /** Each with its agent's name and its sponsors' names. */
  grants: Array<{ grant: GrantRecord; agentName: string; sponsors: string[] }>;
}

/** Presenter port: the access review cards (src/views/access-cards.ts). */
export interface AccessReviewCards {
  /** A sponsor's review card. */
  review(review: SponsorReview): OutgoingCard;
  /** What IT admins are told after the deadline. */
  escalated(unattested: UnattestedGrants): OutgoingCard;
}

/** The answers the deadline records for grants nobody attested. */
const ENFORCED: ReadonlySet<string> = new Set(['revoked-unanswered', 'flagged']);

/** The outbox effect that revokes a grant its sponsor answered Revoke in an access review. */
export const REVIEW_REVOKE_EFFECT = 'access-review.revoke';
/** The outbox effect that finishes starting a cycle whose starter died before recording the start. */
export const REVIEW_OPEN_EFFECT = 'access-review.open';
/** The outbox effect that schedules a cycle's deadline. */
export const REVIEW_TIMER_EFFECT = 'access-review.timer';

const CADENCE_WORDS: Record<string, string> = {
  monthly: 'Monthly',
  quarterly: 'Quarterly',
  semiannual: 'Half-yearly',
  annual: 'Annual',
};

/**
 * Access reviews (attestation): on the configured cadence every sponsor gets a card listing their
 * agents' active grants with Keep / Revoke per grant. A grant nobody answered by the end of the
 * grace period is escalated to IT admins and revoked or flagged, as configured. Each grant's
 * answer is recorded once (atomic), whoever of its sponsors clicks first.
 */
export class AccessReviews {
  private readonly clock: () => Date;

  constructor(private readonly deps: AccessReviewDeps) {
    this.clock = deps.clock ?? (() => new Date());
    // A Revoke answer revokes the grant as an effect of the stored answer: a crash between the two
    // cannot leave a grant its sponsor revoked in place. Revoking it again refuses (coded): done.
    deps.outbox.register<{ actor: string; grantId: GrantId; cycle: string }>({
      type: REVIEW_REVOKE_EFFECT,
      perform: async ({ actor, grantId, cycle }) => {
        await deps.access.revokeGrant(actor, grantId, `Not needed any more (access review ${cycle})`).catch((err: unknown) => {
          if (!isRosterError(err)) throw err;
        });
      },
    });
    deps.outbox.register<{ cycle: string }>({
      type: REVIEW_OPEN_EFFECT,
      perform: async ({ cycle }) => {
        const { effects } = await this.open(cycle);
        await deps.outbox.settle({ kind: REVIEW_CYCLE_HOLDER, id: cycle }, effects, 'access-review.started');
      },
    });
    deps.outbox.register<{ cycle: string; dueAt: string }>({
      type: REVIEW_TIMER_EFFECT,
      perform: async ({ cycle, dueAt }) => deps.timers.reviewDue(cycle, new Date(dueAt)),
    });
  }

  /**
   * Starts a review cycle over every active grant; returns its id and the sponsors asked. The
   * cycle's record is stored first, holding an effect that finishes the start; marking the grants
   * then records the start with its entry, cards and deadline in the same record: a crash at any
   * point leaves the worker to finish it, once.
   */
  async start(): Promise<{ cycle: string; sponsors: string[]; grants: number }> {
    const now = this.clock();
    const cycle = `rev_${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
    const dueAt = new Date(now.getTime() + this.deps.settings.reviewGraceMs);
    const holder = { kind: REVIEW_CYCLE_HOLDER, id: cycle };
    const opening = this.deps.outbox.effect(REVIEW_OPEN_EFFECT, { cycle });
    if (!(await this.deps.cycles.create({ id: cycle, startedAt: now.toISOString(), dueAt: dueAt.toISOString() }, [opening]))) {
      // Started this second by another replica: theirs stands.
      const existing = await this.deps.cycles.get(cycle);
      return { cycle, sponsors: existing?.announced?.sponsors ?? [], grants: existing?.announced?.grants ?? 0 };
    }
    const { effects, announced } = await this.open(cycle);
    await this.deps.outbox.settle(holder, [...effects, opening], 'access-review.started');
    return { cycle, sponsors: announced?.sponsors ?? [], grants: announced?.grants ?? 0 };
  }

  /**
   * Marks the active grants for the cycle and records its start once, with its effects (entry,
   * a card per sponsor, the deadline). Resolves the effects to perform: none when the start was
   * recorded already (its effects are in the record's outbox).
   */
  private async open(cycle: string): Promise<{ effects: PendingEffect[]; announced?: ReviewCycle['announced'] }> {
    const record = await this.deps.cycles.get(cycle);
    if (!record || record.announced) return { effects: [], ...(record?.announced ? { announced: record.announced } : {}) };
    const { dueAt } = record;
    const active = await this.deps.grants.list({ status: ['active'] });
    const inCycle: GrantRecord[] = [];
    for (const grant of active) {
      // Marked by a starter that died: kept as it is.
      if (grant.review?.cycle === cycle) {
        inCycle.push(grant);
        continue;
      }
      const marked = await this.deps.grants.transition(grant.id, ['active'], { review: { cycle, dueAt } });
      if (marked) inCycle.push(marked);
    }
    const agents = await this.agentsOf(inCycle);
    const sponsors = [...new Set([...agents.values()].flatMap((a) => a.sponsors))].sort();
    const now = this.clock();
    const { outbox } = this.deps;
    const effects: PendingEffect[] = [
      outbox.effect<AuditInput>(AUDIT_EFFECT, {
        actor: { kind: 'system', name: 'scheduler' },
        action: 'access-review.started',
        subject: { type: 'access-review', id: cycle },
        details: { grants: inCycle.length, sponsors, dueAt },
        at: now,
      }),
    ];
    for (const sponsor of sponsors) {
      const card = await this.card(cycle, sponsor);
      if (card) effects.push(outbox.effect<ChatSend>(CHAT_SEND_EFFECT, { to: sponsor, card }));
    }
    effects.push(outbox.effect(REVIEW_TIMER_EFFECT, { cycle, dueAt }));
    const announced = { grants: inCycle.length, sponsors, at: now.toISOString() };
    if (!(await this.deps.cycles.announce(cycle, announced, effects))) {
      const current = await this.deps.cycles.get(cycle);
      return { effects: [], ...(current?.announced ? { announced: current.announced } : {}) };
    }
    return { effects, announced };
  }

  /**
   * Records Keep or Revoke on one grant of a review, once, whoever of its sponsors answers first;
   * resolves with the grant as answered. The grant is the one the review holds (its `cycle`).
   */
  async recordAnswer(actor: Person, grant: GrantRecord, input: { cycle: string; answer: 'keep' | 'revoke' }): Promise<GrantRecord> {
    // Who may answer (the agent's sponsors and IT admins) is asked before, by the bus's access-review.answer.
    if (grant.status !== 'active') throw new NotWaitingError(`This grant is ${grant.status}; there is nothing to attest.`);
    const at = this.clock().toISOString();
    const effects: PendingEffect[] = [
      this.deps.outbox.effect(AUDIT_EFFECT, {
        actor: { kind: 'person', email: actor.email },
        action: `grant.review.${input.answer === 'keep' ? 'kept' : 'revoked'}`,
        subject: { type: 'grant', id: grant.id, agentId: grant.agentId },
        details: { cycle: input.cycle, scope: grant.scope },
        at: new Date(at),
      } satisfies AuditInput),
      ...(input.answer === 'revoke'
        ? [this.deps.outbox.effect(REVIEW_REVOKE_EFFECT, { actor: actor.email, grantId: grant.id, cycle: input.cycle })]
        : []),
    ];
    const recorded = await this.deps.grants.answerReview(grant.id, input.cycle, { answer: input.answer, by: actor.email, at }, effects);
    if (!recorded) {
      const current = await this.deps.grants.get(grant.id);
      const by = current?.review?.by ? ` by ${findPersonByEmail(this.deps.org, current.review.by)?.name ?? current.review.by}` : '';
      throw new NotWaitingError(`This grant was already answered in this review (${current?.review?.answer ?? 'answered'}${by}).`);
    }
    await this.deps.outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, effects, 'grant.review.answered');
    return { ...grant, review: { ...grant.review!, answer: input.answer, by: actor.email, at } };
  }

  /** End of the grace period: unanswered grants are escalated to IT admins and revoked or flagged. */
  async due(cycle: string): Promise<{ enforced: string[] }> {
    const grants = await this.deps.grants.list({ reviewCycle: String(cycle), status: ['active'] });
    const enforcement = this.deps.settings.reviewEnforcement;
    const at = this.clock().toISOString();
    const enforced: GrantRecord[] = [];
    for (const grant of grants) {
      const answer = enforcement === 'revoke' ? 'revoked-unanswered' : 'flagged';
      // Answered by an earlier run of this job that died before revoking it: revoked now (the
      // entry goes with the revocation, so it is still written once).
      const unrevoked = enforcement === 'revoke' && grant.review?.answer === answer;
      if (grant.review?.answer && !unrevoked) continue;
      const effects = [
        this.deps.outbox.effect(AUDIT_EFFECT, {
          actor: { kind: 'system', name: 'scheduler' },
          action: enforcement === 'revoke' ? 'grant.revoked' : 'grant.review.flagged',
          subject: { type: 'grant', id: grant.id, agentId: grant.agentId },
          details: { cycle, scope: grant.scope, reason: 'not attested in time' },
          at: new Date(at),
        } satisfies AuditInput),
      ];
      // The entry goes with the change it records: the revocation, or the flag when nothing is revoked.
      if (
        !unrevoked &&
        !(await this.deps.grants.answerReview(grant.id, cycle, { answer, by: 'scheduler', at }, enforcement === 'revoke' ? [] : effects))
      )
        continue;
      if (enforcement === 'revoke') {
        const revoked = await this.deps.grants.transition(
          grant.id,
          ['active'],
          { status: 'revoked', endedAt: at, endedBy: 'access-review', endReason: `Not attested in access review ${cycle}` },
          effects,
        );
        if (!revoked) continue;
      }
      await this.deps.outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, effects, 'grant.review.enforced');
      enforced.push(grant);
    }
    // What to escalate is read back from the stored answers, not only from this call's work: when
    // an earlier attempt enforced grants and then failed before escalating, the job's retry finds
    // nothing left to enforce and must still tell IT. The escalation is recorded once on the
    // cycle's record however often the job runs.
    const escalated = (await this.deps.grants.list({ reviewCycle: String(cycle) })).filter((g) => ENFORCED.has(g.review?.answer ?? ''));
    if (escalated.length === 0) return { enforced: [] };
    const agents = await this.agentsOf(escalated);
    const card = this.deps.cards.escalated({
      cycle: String(cycle),
      enforcement,
      grants: escalated.map((g) => {
        const agent = agents.get(g.agentId);
        return {
          grant: g,
          agentName: agent?.name ?? g.agentId,
          sponsors: (agent?.sponsors ?? []).map((s) => findPersonByEmail(this.deps.org, s)?.name ?? s),
        };
      }),
    });
    const { outbox } = this.deps;
    // Keyed per cycle as before, so a cycle escalated by an earlier version is not audited twice.
    const effects: PendingEffect[] = [
      outbox.effect<AuditInput>(
        AUDIT_EFFECT,
        {
          actor: { kind: 'system', name: 'scheduler' },
          action: 'access-review.escalated',
          subject: { type: 'access-review', id: cycle },
          details: { enforcement, grants: escalated.map((g) => g.id) },
          at: new Date(at),
        },
        { key: `access-review.escalated:${cycle}` },
      ),
      ...peopleWithRole(this.deps.org, 'it-admin').map((admin) => outbox.effect<ChatSend>(CHAT_SEND_EFFECT, { to: admin.email, card })),
    ];
    for (const sponsor of [...new Set([...agents.values()].flatMap((a) => a.sponsors))]) {
      const review = await this.card(cycle, sponsor);
      if (review) effects.push(outbox.effect<ChatSend>(CHAT_SEND_EFFECT, { to: sponsor, card: review }));
    }
    // Recorded once on the cycle's record, with the entry and the cards: a retried job finds it recorded and sends nothing again.
    if (await this.deps.cycles.escalate(cycle, { grants: escalated.map((g) => g.id), at }, effects)) {
      await outbox.settle({ kind: REVIEW_CYCLE_HOLDER, id: cycle }, effects, 'access-review.escalated');
    }
    return { enforced: enforced.map((g) => g.id) };
  }

  /** A sponsor's review card for a cycle: the grants of the agents they sponsor. */
  async card(cycle: string, sponsor: string): Promise<OutgoingCard | undefined> {
    const grants = await this.deps.grants.list({ reviewCycle: cycle });
    const agents = await this.agentsOf(grants);
    const mine = grants
      .filter((g) => agents.get(g.agentId)?.sponsors.includes(sponsor))
      .sort(
        (a, b) => (agents.get(a.agentId)?.name ?? '').localeCompare(agents.get(b.agentId)?.name ?? '') || a.scope.localeCompare(b.scope),
      );
    if (mine.length === 0) return undefined;
    const stateOf = (g: GrantRecord): ReviewItemState => {
      const answer = g.review?.answer;
      if (answer === 'keep') return 'kept';
      if (answer === 'revoke' || answer === 'revoked-unanswered') return 'revoked';
      if (answer === 'flagged') return 'flagged';
      return g.status === 'active' ? 'open' : 'ended';
    };
    return this.deps.cards.review({
      cycle,
      cadence: CADENCE_WORDS[this.deps.org.settings.accessReviewCadence] ?? 'Periodic',
      enforcement: this.deps.settings.reviewEnforcement,
      dueAt: mine[0]!.review!.dueAt,
      items: mine.map((g) => {
        const by =
          g.review?.by && g.review.by !== 'scheduler' ? (findPersonByEmail(this.deps.org, g.review.by)?.name ?? g.review.by) : undefined;
        return { grant: g, agentName: agents.get(g.agentId)?.name ?? g.agentId, state: stateOf(g), ...(by ? { decidedBy: by } : {}) };
      }),
    });
  }

  private async agentsOf(grants: GrantRecord[]): Promise<Map<string, AgentRecord>> {
    const ids = [...new Set(grants.map((g) => g.agentId))];
    if (ids.length === 0) return new Map();
    return new Map((await this.deps.agents.list({ ids })).map((a) => [a.id, a]));
  }
}
