import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import type { AgentRecord } from './agents.js';
import type { CardDeliveries } from './chat-effects.js';
import { MAX_DETAILS_BYTES, peopleFor, queueFor, requestHash, type Details } from './boundaries.js';
import { AgentRefusal, ForbiddenError, NotFoundError, RequestClosedError } from './errors.js';
import type { MessageRef, Notifier, OutgoingCard } from './notifications.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import { assertAgentsOwn } from './policies.js';
import { longPoll } from './long-poll.js';
import { idempotencyKeySchema, refusalOf } from './runtime-approvals.js';
import { idOrUndefined, type AgentId, type HandoffId } from './ids.js';

/*
 * Hand-offs (issue 19): an agent puts a case in the queue its role names; the queue's people
 * get a card with Take it, the one who takes it resolves it with an outcome, and the agent polls
 * for the outcome. Unclaimed cases remind and escalate. Each hand-off is also a task event
 * `handed-to-human` that Roster records itself, so check-ins measure the hand-off rate. Cards,
 * audit entries, timers and the task event are stored in the hand-off's outbox with the change
 * they follow from, then performed.
 */

/** The holder kind of hand-offs in the outbox. */
export const HANDOFF_HOLDER = 'handoff';
/** The hand-off's own effects (audit entries use the shared `audit.append`). */
export const HANDOFF_EFFECTS = {
  /** Sends the card to one person, once; a reminder only while the case is open. */
  send: 'handoff.send',
  /** Updates every card sent before to the case as it is now. */
  refresh: 'handoff.refresh',
  /** Schedules a reminder or escalation timer, once. */
  schedule: 'handoff.schedule',
  /** Records the `handed-to-human` task event (idempotent on its event id). */
  taskEvent: 'handoff.task-event',
} as const;

type TimerKind = 'remind' | 'escalate';

/** A hand-off as stored. */
export interface HandoffRecord {
  id: string;
  agentId: AgentId;
  agentName: string;
  kind: string;
  queueId: string;
  queueTitle: string;
  summary: string;
  details: Details;
  link?: string;
  idempotencyKey: string;
  requestHash: string;
  /** Who may take it now (the queue, widened on escalation). */
  people: string[];
  outcomes: string[];
  status: 'open' | 'taken' | 'resolved';
  takenBy?: string;
  takenAt?: string;
  resolvedBy?: string;
  outcome?: string;
  resolvedAt?: string;
  createdAt: string;
  reminders: number;
  escalated: boolean;
  escalateTo?: string[];
  messages: Array<{ person: string; ref: MessageRef }>;
}

/** Storage of hand-offs (src/store/runtime-store.ts). */
export interface HandoffRepository {
  /** Inserts with its outbox `effects`, or returns the record already stored under the same id (effects dropped). */
  insert(record: HandoffRecord, effects?: readonly PendingEffect[]): Promise<{ record: HandoffRecord; created: boolean }>;
  get(id: string): Promise<HandoffRecord | undefined>;
  /** Sets `patch` (and stores `effects`) only if the stored record matches `when`; undefined when it did not. */
  update(
    id: string,
    when: Record<string, unknown>,
    patch: Partial<HandoffRecord>,
    effects?: readonly PendingEffect[],
  ): Promise<HandoffRecord | undefined>;
  /** Remembers a card sent about the case (added atomically beside the others). */
  addMessage(id: string, message: { person: string; ref: MessageRef }): Promise<void>;
  /** Open or taken cases this person may work. */
  open(person: string): Promise<HandoffRecord[]>;
}

/** Durable reminder and escalation timers of unclaimed hand-offs (Agenda). */
export interface HandoffTimers {
  /** Schedules a timer; scheduling the same `key` again keeps the one timer. */
  schedule(at: Date, timer: { handoffId: string; kind: TimerKind }, key: string): Promise<void>;
}

/** `POST /api/v1/handoffs` and the MCP tool `hand_off_to_human`. */
export const handoffRequestSchema = z
  .strictObject({
    kind: z
      .string()
      .trim()
      .min(1)
      .max(60)
      .meta({ description: 'A kind of case the role hands off (its hand-off rules).', example: 'candidate-review' }),
    summary: z.string().trim().min(1).max(500).meta({ description: 'What the person should look at, as reported by the agent.' }),
    details: z
      .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/), z.union([z.string().max(500), z.number(), z.boolean()]))
      .default(() => ({}))
      .meta({ description: 'Facts for the person, at most 20 and 4 KB.' }),
    link: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional()
      .meta({ description: 'Where the case lives (http or https).' }),
    idempotency_key: idempotencyKeySchema,
  })
  .meta({ id: 'HandoffRequest' });

export const handoffViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(['open', 'taken', 'resolved']),
    kind: z.string(),
    queue: z.string(),
    taken_by: z.string().optional(),
    outcome: z.string().optional(),
    resolved_by: z.string().optional(),
    resolved_at: z.string().optional(),
    telemetry_event_id: z
      .string()
      .meta({ description: 'The task event Roster recorded for this hand-off; reuse it to avoid counting the task twice.' }),
    created_at: z.string(),
  })
  .meta({ id: 'Handoff' });
export type HandoffView = z.output<typeof handoffViewSchema>;

export interface HandoffDeps {
  org: OrgConfig;
  repo: HandoffRepository;
  notifier: Notifier;
  timers: HandoffTimers;
  /** Where the effects of hand-off changes are stored and performed. */
  outbox: Outbox;
  /** Which cards went out, by effect id. */
  deliveries: CardDeliveries;
  /** Records the `handed-to-human` task event (the telemetry store's ingest). */
  recordTaskEvent(event: { eventId: string; agentId: AgentId; time: Date; taskType: string; decisionSummary: string }): Promise<void>;
  /** The hand-off's card for each person (src/views/handoff-cards.ts). */
  cards: HandoffCards;
  clock?: () => Date;
}

/** Presenter port: the card a person sees for a hand-off (their buttons depend on who they are). */
export interface HandoffCards {
  card(r: HandoffRecord, viewer: string, reminder?: boolean): OutgoingCard;
}

/** Hand-offs: create, take, resolve, remind, escalate, and the agent's poll. */
export class Handoffs {
  private readonly clock: () => Date;
  private readonly events = new EventEmitter();

  constructor(private readonly deps: HandoffDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.events.setMaxListeners(0);
    this.registerPerformers();
  }

  private registerPerformers(): void {
    const { outbox } = this.deps;
    outbox.register<{ handoffId: string; to: string; reminder: boolean }>({
      type: HANDOFF_EFFECTS.send,
      perform: async ({ handoffId, to, reminder }, { effectId }) => {
        const record = await this.deps.repo.get(handoffId);
        if (!record || (reminder && record.status !== 'open')) return;
        const now = this.clock();
        const claim = await this.deps.deliveries.claim(effectId, now, new Date(now.getTime() - outbox.settings.leaseMs));
        if (claim === 'sent') return;
        if (claim === 'busy') throw new Error('another writer is sending this card');
        const ref = await this.deps.notifier.send(to, this.deps.cards.card(record, to, reminder));
        // Reminders are not updated later: the first card of each person is.
        if (ref && !reminder) await this.deps.repo.addMessage(handoffId, { person: to, ref });
        await this.deps.deliveries.sent(effectId, to, ref);
      },
    });
    outbox.register<{ handoffId: string }>({
      type: HANDOFF_EFFECTS.refresh,
      perform: async ({ handoffId }) => {
        const record = await this.deps.repo.get(handoffId);
        if (!record) return;
        for (const m of record.messages)
          await this.deps.notifier.update(m.ref, this.deps.cards.card(record, m.person)).catch(() => undefined);
      },
    });
    outbox.register<{ handoffId: string; kind: TimerKind; at: Date }>({
      type: HANDOFF_EFFECTS.schedule,
      perform: async ({ handoffId, kind, at }, { effectId }) => {
        await this.deps.timers.schedule(new Date(at), { handoffId, kind }, effectId);
      },
    });
    outbox.register<{ agentId: AgentId; handoffId: string; kind: string; queueTitle: string; summary: string; at: Date }>({
      type: HANDOFF_EFFECTS.taskEvent,
      perform: async ({ agentId, handoffId, kind, queueTitle, summary, at }) => {
        await this.deps.recordTaskEvent({
          eventId: `handoff:${handoffId}`,
          agentId,
          time: new Date(at),
          taskType: `handoff.${kind}`,
          decisionSummary: `Handed to ${queueTitle}: ${summary}`.slice(0, 2000),
        });
      },
    });
  }

  /** Puts a case in the role's queue; a replay with the same key gets the same case and no second card. */
  async create(agent: AgentRecord, raw: unknown): Promise<{ view: HandoffView; created: boolean }> {
    const parsed = handoffRequestSchema.safeParse(raw);
    if (!parsed.success) throw refusalOf(parsed.error);
    const input = parsed.data;
    if (Object.keys(input.details).length > 20 || Buffer.byteLength(JSON.stringify(input.details)) > MAX_DETAILS_BYTES)
      throw new AgentRefusal(413, 'details_too_large', `details: at most 20 fields and ${MAX_DETAILS_BYTES} bytes of JSON.`);
    const id = `hof_${createHash('sha256').update(`${agent.id}\u0000${input.idempotency_key}`).digest('hex').slice(0, 24)}`;
    const hash = requestHash({ kind: input.kind, summary: input.summary, details: input.details, link: input.link ?? null });
    const known = await this.deps.repo.get(id);
    if (known) return { view: this.replayed(known, hash), created: false };
    const { id: queueId, queue } = queueFor(this.deps.org, agent.catalogRoleId, input.kind);
    const people = [...new Set(queue.people.flatMap((p) => peopleFor(this.deps.org, agent, p)))];
    if (people.length === 0) throw new AgentRefusal(409, 'queue_empty', `Nobody works the ${queue.title} queue right now.`);
    const now = this.clock();
    const record: HandoffRecord = {
      id,
      agentId: agent.id,
      agentName: agent.name,
      kind: input.kind,
      queueId,
      queueTitle: queue.title,
      summary: input.summary,
      details: input.details,
      ...(input.link ? { link: input.link } : {}),
      idempotencyKey: input.idempotency_key,
      requestHash: hash,
      people,
      outcomes: queue.outcomes,
      status: 'open',
      createdAt: now.toISOString(),
      reminders: 0,
      escalated: false,
      ...(queue.escalateTo ? { escalateTo: peopleFor(this.deps.org, agent, queue.escalateTo) } : {}),
      messages: [],
    };
    const { outbox } = this.deps;
    const timer = (kind: TimerKind, afterMs: number) =>
      outbox.effect(HANDOFF_EFFECTS.schedule, { handoffId: id, kind, at: new Date(now.getTime() + afterMs) });
    const effects = [
      this.audit({
        actor: { kind: 'agent', agentId: agent.id },
        action: 'handoff.created',
        subject: { type: 'handoff', id, agentId: agent.id },
        details: { kind: record.kind, queue: queueId, summary: record.summary, details: record.details, people },
      }),
      outbox.effect(HANDOFF_EFFECTS.taskEvent, {
        agentId: agent.id,
        handoffId: id,
        kind: record.kind,
        queueTitle: queue.title,
        summary: record.summary,
        at: now,
      }),
      ...this.sends(id, people, false),
      ...(queue.remindAfter ? [timer('remind', queue.remindAfter.ms)] : []),
      ...(queue.escalateAfter && record.escalateTo?.length ? [timer('escalate', queue.escalateAfter.ms)] : []),
    ];
    const inserted = await this.deps.repo.insert(record, effects);
    if (!inserted.created) return { view: this.replayed(inserted.record, hash), created: false };
    await outbox.settle({ kind: HANDOFF_HOLDER, id }, effects, 'handoff.created');
    return { view: this.view(record), created: true };
  }

  /**
   * The agent's own case; another agent's id, or one that names no hand-off (undefined: parsed at
   * the edge), is not found (policies.ts's rule, asked at every read of a long poll).
   */
  async get(agentId: AgentId, id: HandoffId | undefined): Promise<HandoffRecord> {
    const record = id ? await this.deps.repo.get(id) : undefined;
    assertAgentsOwn(agentId, record, 'hand-off');
    return record;
  }

  /** Waits up to `waitMs` for the case to be resolved. */
  wait(agentId: AgentId, id: HandoffId | undefined, waitMs: number): Promise<HandoffRecord> {
    return longPoll(
      this.events,
      id ?? '',
      waitMs,
      () => this.get(agentId, id),
      (r) => r.status === 'resolved',
    );
  }

  /**
   * Take it: the first person from the queue to click owns the case; a second click is told who has it.
   * Who may take it (its queue's people, IT admins) is the `handoff.take` command's rule, asked before.
   */
  async take(person: Person, record: HandoffRecord): Promise<HandoffRecord> {
    const id = record.id;
    if (record.status === 'resolved')
      throw new RequestClosedError('completed', record.resolvedAt ? new Date(record.resolvedAt) : undefined);
    if (record.status === 'taken') {
      if (record.takenBy === person.email) return record;
      throw new ForbiddenError(`${findPersonByEmail(this.deps.org, record.takenBy ?? '')?.name ?? 'Someone else'} took this case first.`);
    }
    const now = this.clock().toISOString();
    const effects = [
      this.audit({
        actor: { kind: 'person', email: person.email },
        action: 'handoff.taken',
        subject: { type: 'handoff', id, agentId: record.agentId },
        details: { kind: record.kind, queue: record.queueId },
      }),
      this.deps.outbox.effect(HANDOFF_EFFECTS.refresh, { handoffId: id }),
    ];
    const taken = await this.deps.repo.update(id, { status: 'open' }, { status: 'taken', takenBy: person.email, takenAt: now }, effects);
    if (!taken) {
      const current = await this.find(id);
      const who = current.takenBy ? (findPersonByEmail(this.deps.org, current.takenBy)?.name ?? current.takenBy) : 'someone else';
      throw new ForbiddenError(`${who} took this case first.`);
    }
    await this.deps.outbox.settle({ kind: HANDOFF_HOLDER, id }, effects, 'handoff.taken');
    this.events.emit(id);
    return taken;
  }

  /**
   * A case to resolve with `outcome`: refused when the outcome is not one of the case's or the case
   * is closed (before who may resolve it is asked, see the `handoff.resolve` command).
   */
  async resolvable(id: string, outcome: string): Promise<HandoffRecord> {
    const record = await this.find(id);
    if (!record.outcomes.includes(outcome)) throw new NotFoundError('the outcome', outcome);
    if (record.status === 'resolved')
      throw new RequestClosedError('completed', record.resolvedAt ? new Date(record.resolvedAt) : undefined);
    return record;
  }

  /**
   * Resolve with an outcome, once; the record is {@link resolvable}'s, and who may (whoever took the
   * case, IT admins) is the `handoff.resolve` command's rule, asked before.
   */
  async resolve(person: Person, record: HandoffRecord, outcome: string): Promise<HandoffRecord> {
    const id = record.id;
    const now = this.clock().toISOString();
    const effects = [
      this.audit({
        actor: { kind: 'person', email: person.email },
        action: 'handoff.resolved',
        subject: { type: 'handoff', id, agentId: record.agentId },
        details: { kind: record.kind, queue: record.queueId, outcome },
      }),
      this.deps.outbox.effect(HANDOFF_EFFECTS.refresh, { handoffId: id }),
    ];
    const resolved = await this.deps.repo.update(
      id,
      { status: 'taken' },
      { status: 'resolved', resolvedBy: person.email, outcome, resolvedAt: now },
      effects,
    );
    if (!resolved) throw new RequestClosedError('completed', undefined);
    await this.deps.outbox.settle({ kind: HANDOFF_HOLDER, id }, effects, 'handoff.resolved');
    this.events.emit(id);
    return resolved;
  }

  /** Reminder or escalation of a case nobody took yet; stale timers change nothing. */
  async onTimer(timer: { handoffId: string; kind: TimerKind }): Promise<void> {
    const record = await this.deps.repo.get(timer.handoffId);
    if (!record || record.status !== 'open') return;
    const holder = { kind: HANDOFF_HOLDER, id: record.id };
    const scheduler = { kind: 'system', name: 'scheduler' } as const;
    const subject = { type: 'handoff', id: record.id, agentId: record.agentId };
    if (timer.kind === 'remind') {
      const effects = [
        this.audit({ actor: scheduler, action: 'handoff.reminded', subject, details: { to: record.people } }),
        ...this.sends(record.id, record.people, true),
      ];
      const updated = await this.deps.repo.update(
        record.id,
        { status: 'open', reminders: record.reminders },
        { reminders: record.reminders + 1 },
        effects,
      );
      if (updated) await this.deps.outbox.settle(holder, effects, 'handoff.reminded');
      return;
    }
    const added = (record.escalateTo ?? []).filter((p) => !record.people.includes(p));
    const effects = [
      this.audit({ actor: scheduler, action: 'handoff.escalated', subject, details: { added } }),
      ...this.sends(record.id, added, false),
    ];
    const updated = await this.deps.repo.update(
      record.id,
      { status: 'open', escalated: false },
      { escalated: true, people: [...record.people, ...added] },
      effects,
    );
    if (updated) await this.deps.outbox.settle(holder, effects, 'handoff.escalated');
  }

  /** Open cases a person may work (for `pending` and the home card). */
  openFor(email: string): Promise<HandoffRecord[]> {
    return this.deps.repo.open(email);
  }

  view(r: HandoffRecord): HandoffView {
    return {
      id: r.id,
      status: r.status,
      kind: r.kind,
      queue: r.queueId,
      ...(r.takenBy ? { taken_by: r.takenBy } : {}),
      ...(r.outcome ? { outcome: r.outcome } : {}),
      ...(r.resolvedBy ? { resolved_by: r.resolvedBy } : {}),
      ...(r.resolvedAt ? { resolved_at: r.resolvedAt } : {}),
      telemetry_event_id: `handoff:${r.id}`,
      created_at: r.createdAt,
    };
  }

  /** A hand-off case by id; an unknown or malformed id is "not found". */
  async find(id: string): Promise<HandoffRecord> {
    const handoffId = idOrUndefined('HandoffId', id);
    const record = handoffId ? await this.deps.repo.get(handoffId) : undefined;
    if (!record) throw new NotFoundError('the hand-off', id);
    return record;
  }

  private replayed(record: HandoffRecord, hash: string): HandoffView {
    if (record.requestHash !== hash)
      throw new AgentRefusal(409, 'idempotency_key_reused', 'This idempotency key was used for a different hand-off; use a new key.');
    return this.view(record);
  }

  /** One card effect per person: each is sent (and retried) on its own. */
  private sends(handoffId: string, people: string[], reminder: boolean): PendingEffect[] {
    return people.map((to) => this.deps.outbox.effect(HANDOFF_EFFECTS.send, { handoffId, to, reminder }));
  }

  private audit(entry: AuditInput): PendingEffect {
    return this.deps.outbox.effect(AUDIT_EFFECT, { ...entry, at: this.clock() } satisfies AuditInput);
  }
}
