import { displayDate } from './time.js';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { ApprovalBoundary, CatalogRole, OrgConfig } from '../config/schemas.js';
import { businessUnitById } from '../config/directory.js';
import { FLOW_EFFECTS, RUN_HOLDER, type FlowEngine, type RunStart } from '../flows/engine.js';
import type { ApprovalSettings, FlowRun, StepContext, StepRegistry } from '../flows/types.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import type { AgentRecord } from './agents.js';
import { AgentRefusal } from './errors.js';
import {
  applyOverride,
  boundaryOf,
  deciderLabel,
  detailsHash,
  MAX_DETAILS_BYTES,
  parseDetails,
  peopleFor,
  requestHash,
  roleOfAgent,
  verdictFor,
  type BoundaryOverride,
  type Details,
} from './boundaries.js';
import { ALERT_EFFECTS, type RaiseAlert } from './alerts.js';
import { longPoll } from './long-poll.js';
import { defangAgentText, reportedByAgent } from './agent-text.js';
import type { Outbox } from './outbox.js';
import type { HolderRef, PendingEffect } from './ports.js';
import { trustedId, type AgentId, type ApprovalId, type RunId } from './ids.js';
import { assertAgentsOwn } from './policies.js';

/*
 * An agent asks before it acts (issue 19). The catalog role's boundary answers autonomous and
 * forbidden actions at once; the rest becomes a run of the `runtime-approval` flow, so the
 * engine's compare-and-set, quorum, separation of duties, reminders and expiry decide it exactly
 * once. The record here is what the agent polls and consumes. Its audit entries and the sponsors'
 * alert are stored in the record's outbox with the change they follow from.
 */

/** The holder kind of runtime approvals in the outbox. */
export const RUNTIME_APPROVAL_HOLDER = 'runtime-approval';

/** Starts the run of a pending request: stored with the request, so a crash before the run exists leaves it to the worker. */
export const RUNTIME_START_RUN_EFFECT = 'runtime.start-run';

/**
 * Stored with a forbidden attempt: counts the attempt among the agent's others at the action within
 * the day before it and, when it is the third, warns the sponsors (see {@link RuntimeApprovals}).
 */
export const RUNTIME_FORBIDDEN_CHECK_EFFECT = 'runtime.forbidden-check';

/** What a forbidden attempt's check needs: the attempt, and the agent as the warning names it. */
export interface ForbiddenCheck {
  approvalId: string;
  agentId: AgentId;
  agentName: string;
  businessUnit: string;
  sponsors: string[];
  action: string;
  actionTitle: string;
  summary: string;
  createdAt: string;
}

/** The flow that decides runtime approvals. */
export const RUNTIME_APPROVAL_FLOW = 'runtime-approval';

/** How many forbidden attempts at one action within a day alert the sponsors. */
export const FORBIDDEN_ALERT_THRESHOLD = 3;

/** Why a request ended the way it did. */
export type ApprovalReason =
  'autonomous' | 'forbidden' | 'approved' | 'denied' | 'timeout' | 'timeout_allowed' | 'cancelled' | 'no_approver';

/** A runtime approval request as stored. */
export interface RuntimeApprovalRecord {
  id: string;
  agentId: AgentId;
  idempotencyKey: string;
  requestHash: string;
  action: string;
  actionTitle: string;
  summary: string;
  details: Details;
  detailsHash: string;
  mode: 'autonomous' | 'forbidden' | 'needs-approval';
  status: 'allowed' | 'denied' | 'pending' | 'approved';
  reason?: ApprovalReason;
  /** For the agent: the deny reason, the forbidden reason, the timeout. */
  message?: string;
  decidedBy?: string[];
  decidedAt?: string;
  runId?: RunId;
  createdAt: string;
  /** When a pending request times out. */
  waitUntil?: string;
  /** `once`, or the window in ms during which the approval may be used. */
  usableFor: 'once' | number;
  usableUntil?: string;
  usedAt?: string;
}

/** Storage of runtime approvals (src/store/runtime-store.ts). */
export interface RuntimeApprovalRepository {
  /** Inserts with its outbox `effects`, or returns the record already stored under the same id (effects dropped). */
  insert(record: RuntimeApprovalRecord, effects?: readonly PendingEffect[]): Promise<{ record: RuntimeApprovalRecord; created: boolean }>;
  get(id: string): Promise<RuntimeApprovalRecord | undefined>;
  /** Sets `patch` (and stores `effects`) only if the stored record matches `when`; undefined when it did not. */
  update(
    id: string,
    when: Record<string, unknown>,
    patch: Partial<RuntimeApprovalRecord>,
    effects?: readonly PendingEffect[],
  ): Promise<RuntimeApprovalRecord | undefined>;
  recent(agentId: AgentId, limit: number): Promise<RuntimeApprovalRecord[]>;
  /**
   * Each forbidden attempt's number among the agent's stored forbidden attempts at the action
   * within the day up to it (itself included; attempts made in the same millisecond ordered by
   * id), in one read for all of them.
   */
  attemptNumbers(attempts: ReadonlyArray<{ id: string; agentId: AgentId; action: string; createdAt: string }>): Promise<number[]>;
}

/** The agent's idempotency key of a request (approvals and hand-offs). */
export const idempotencyKeySchema = z
  .string()
  .min(8, 'must be 8 to 128 characters')
  .max(128, 'must be 8 to 128 characters')
  .regex(/^[\x21-\x7E]+$/, 'must be visible ASCII without spaces')
  .meta({
    description: 'A key unique per intended action (e.g. a UUID). A retry with the same key gets the same answer and no second card.',
  });

/** `POST /api/v1/approvals` and the MCP tool `request_approval`. */
export const approvalRequestSchema = z
  .strictObject({
    action: z.string().trim().min(1).max(100).meta({ description: 'An action of the agent’s catalog role.', example: 'contracts.modify' }),
    summary: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .meta({ description: 'One or two sentences for the approver, shown as reported by the agent.' }),
    details: z
      .record(z.string().max(40), z.union([z.string().max(2000), z.number(), z.boolean()]))
      .default(() => ({}))
      .meta({ description: 'The action’s declared fields (see the catalog role); at most 4 KB.' }),
    idempotency_key: idempotencyKeySchema,
  })
  .meta({ id: 'ApprovalRequest' });
export type ApprovalRequestInput = z.input<typeof approvalRequestSchema>;

/** The answer an agent gets about a request (HTTP body and MCP structured content). */
export const approvalViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(['allowed', 'approved', 'denied', 'pending']).meta({
      description: '`allowed` (autonomous), `approved` (a human said yes), `denied` (forbidden, denied or timed out), `pending`.',
    }),
    reason: z.enum(['autonomous', 'forbidden', 'approved', 'denied', 'timeout', 'timeout_allowed', 'cancelled', 'no_approver']).optional(),
    message: z.string().optional(),
    action: z.string(),
    details_hash: z.string().meta({ description: 'sha256 of the action and details; present it when you consume the approval.' }),
    decided_by: z.array(z.string()).optional(),
    decided_at: z.string().optional(),
    wait_until: z.string().optional().meta({ description: 'When a pending request times out.' }),
    usable: z.enum(['once', 'window']).optional(),
    usable_until: z.string().optional(),
    used_at: z.string().optional(),
    created_at: z.string(),
  })
  .meta({ id: 'Approval' });
export type ApprovalView = z.output<typeof approvalViewSchema>;

/** `POST /api/v1/approvals/{id}/consume`: use an approval, bound to what was approved. */
export const consumeRequestSchema = z
  .strictObject({
    details_hash: z.string().max(100).optional().meta({ description: 'The details_hash of the approval.' }),
    details: z
      .record(z.string().max(40), z.union([z.string().max(2000), z.number(), z.boolean()]))
      .optional()
      .meta({ description: 'Or the details themselves, hashed by Roster.' }),
  })
  .refine((v) => v.details_hash !== undefined || v.details !== undefined, { error: 'send details_hash or details' })
  .meta({ id: 'ConsumeRequest' });

export interface RuntimeApprovalDeps {
  org: OrgConfig;
  repo: RuntimeApprovalRepository;
  /** Where audit entries and sponsors' warnings are stored with the change and performed. */
  outbox: Outbox;
  engine: FlowEngine;
  /** Where the flow's decisions are written; the long poll wakes on its `events`. */
  decisions: RuntimeDecisions;
  /** The IT-approved boundary change of an agent's action, if any (src/core/boundary-changes.ts). */
  overrides?: (agentId: AgentId, action: string) => Promise<BoundaryOverride | undefined>;
  clock?: () => Date;
}

/** The context of a runtime-approval run (what the approval card shows). */
export interface RuntimeRunContext {
  approvalId: string;
  agentId: AgentId;
  agentName: string;
  roleTitle: string;
  riskTier: string;
  businessUnit: string;
  action: string;
  actionTitle: string;
  summary: string;
  fields: Array<{ label: string; value: string }>;
  recentDecisions: Array<{ text: string }>;
  detailsHash: string;
  onTimeout: 'deny' | 'allow';
  approval: ApprovalSettings;
  [key: string]: unknown;
}

const REASON_WORDS: Record<ApprovalReason, string> = {
  autonomous: 'allowed (autonomous)',
  forbidden: 'refused (forbidden)',
  approved: 'approved',
  denied: 'denied',
  timeout: 'denied (no decision in time)',
  timeout_allowed: 'allowed after the wait',
  cancelled: 'cancelled',
  no_approver: 'denied (nobody may approve)',
};

/** One runtime request as a line of the agent's decision log and of the approval card. */
export function decisionLine(r: RuntimeApprovalRecord): string {
  const who = r.decidedBy?.length ? ` by ${r.decidedBy.join(', ')}` : '';
  return `${displayDate(r.createdAt)} · ${r.actionTitle}: ${r.status === 'pending' ? 'waiting for a decision' : `${REASON_WORDS[r.reason ?? 'approved'] ?? r.status}${who}`}`;
}

/** Runtime approvals: the agent's requests, their decisions, the long poll and the one-time use. */
export class RuntimeApprovals {
  private readonly clock: () => Date;

  constructor(private readonly deps: RuntimeApprovalDeps) {
    this.clock = deps.clock ?? (() => new Date());
    deps.outbox.register<{ start: RunStart }>({
      type: RUNTIME_START_RUN_EFFECT,
      perform: async ({ start }) => {
        // Started by the writer (as a rule, with the request): nothing else to read.
        if (await deps.engine.exists(start.id)) return;
        const record = await deps.repo.get((start.context as RuntimeRunContext).approvalId);
        // A request decided or withdrawn before its run started needs none.
        if (record?.status !== 'pending') return;
        await deps.engine.ensureStarted(withRecentDecisions(start, await deps.repo.recent(record.agentId, 6)));
      },
    });
    const warnThird = async (checks: ReadonlyArray<{ data: ForbiddenCheck; effectId: string; holder: HolderRef }>) => {
      const numbers = await deps.repo.attemptNumbers(
        checks.map(({ data }) => ({ id: data.approvalId, agentId: data.agentId, action: data.action, createdAt: data.createdAt })),
      );
      for (const [i, { data, effectId, holder }] of checks.entries())
        if (numbers[i] === FORBIDDEN_ALERT_THRESHOLD) await this.warnSponsors(data, effectId, holder);
    };
    deps.outbox.register<ForbiddenCheck>({
      type: RUNTIME_FORBIDDEN_CHECK_EFFECT,
      perform: (data, { effectId, holder }) => warnThird([{ data, effectId, holder }]),
      // The checks of the attempts settled together (Outbox.settleSoon): one read for all of them.
      async performMany(items) {
        await warnThird(items);
        return new Set(items.map((i) => i.effectId));
      },
    });
  }

  /** The record id of an agent's idempotency key: a replay meets the same unique id. */
  static idOf(agentId: AgentId, key: string): ApprovalId {
    return trustedId('ApprovalId', `apr_${createHash('sha256').update(`${agentId}\u0000${key}`).digest('hex').slice(0, 24)}`);
  }

  /**
   * The approved boundary change of an agent's action, if any: read by a caller beside the agent
   * itself and handed to {@link request}, one round trip fewer before the answer.
   */
  overrideOf(agentId: AgentId, action: string): Promise<BoundaryOverride | undefined> {
    return this.deps.overrides?.(agentId, action) ?? Promise.resolve(undefined);
  }

  /**
   * Answers a request: allowed, denied, or pending with approval cards sent. `created` is false for
   * a replay. `prefetched`: the override of `action` read already (see {@link overrideOf}).
   */
  async request(
    agent: AgentRecord,
    raw: unknown,
    prefetched?: { action: string; override: Promise<BoundaryOverride | undefined> },
  ): Promise<{ view: ApprovalView; created: boolean }> {
    const parsed = approvalRequestSchema.safeParse(raw);
    if (!parsed.success) throw refusalOf(parsed.error);
    const input = parsed.data;
    if (Buffer.byteLength(JSON.stringify(input.details)) > MAX_DETAILS_BYTES)
      throw new AgentRefusal(413, 'details_too_large', `details: at most ${MAX_DETAILS_BYTES} bytes of JSON.`);
    const id = RuntimeApprovals.idOf(agent.id, input.idempotency_key);
    const hash = requestHash({ action: input.action, summary: input.summary, details: input.details });
    // No read before the insert: a replay meets the first request's unique id there (same answer,
    // no second card). A request the boundary refuses may still be a replay: that one is read.
    let evaluated;
    try {
      const role = roleOfAgent(this.deps.org, agent);
      const override = prefetched?.action === input.action ? prefetched.override : this.overrideOf(agent.id, input.action);
      const boundary = applyOverride(boundaryOf(role, input.action), await override);
      const details = parseDetails(boundary, input.details);
      evaluated = { role, boundary, details, verdict: verdictFor(boundary, details) };
    } catch (err) {
      const known = err instanceof AgentRefusal ? await this.deps.repo.get(id) : undefined;
      if (known) return { view: this.replayed(known, hash), created: false };
      throw err;
    }
    const { role, boundary, details, verdict } = evaluated;
    const now = this.clock();
    const base: RuntimeApprovalRecord = {
      id,
      agentId: agent.id,
      idempotencyKey: input.idempotency_key,
      requestHash: hash,
      action: input.action,
      actionTitle: boundary.title ?? input.action,
      summary: input.summary,
      details,
      detailsHash: detailsHash(input.action, details),
      mode: verdict.mode,
      status: 'pending',
      createdAt: now.toISOString(),
      usableFor: verdict.mode === 'needs-approval' && verdict.boundary.usableFor !== 'once' ? verdict.boundary.usableFor.ms : 'once',
    };
    if (verdict.mode === 'autonomous') {
      base.status = 'allowed';
      base.reason = 'autonomous';
      base.decidedAt = base.createdAt;
    } else if (verdict.mode === 'forbidden') {
      base.status = 'denied';
      base.reason = 'forbidden';
      base.message = verdict.boundary.reason ?? `${base.actionTitle} is never allowed for this role.`;
      base.decidedAt = base.createdAt;
    } else {
      base.waitUntil = new Date(now.getTime() + verdict.boundary.wait.ms).toISOString();
      // Stored with the request, so the run it names exists before the agent hears `pending`.
      base.runId = this.deps.engine.allocateRunId();
    }
    const start = verdict.mode === 'needs-approval' ? this.runStart(agent, base, role, verdict.boundary, details) : undefined;
    const effects = [
      this.audit({
        actor: { kind: 'agent', agentId: agent.id },
        action: `runtime.${base.status === 'pending' ? 'requested' : base.status}`,
        subject: { type: 'runtime-approval', id: base.id, agentId: agent.id },
        details: { action: base.action, mode: base.mode, summary: base.summary, details: base.details, detailsHash: base.detailsHash },
      }),
      // Counted once stored, after the answer: the third attempt within a day warns the sponsors.
      ...(verdict.mode === 'forbidden' ? [this.deps.outbox.effect(RUNTIME_FORBIDDEN_CHECK_EFFECT, forbiddenCheck(agent, base))] : []),
    ];
    const holder = { kind: RUNTIME_APPROVAL_HOLDER, id };
    if (!start) {
      const { record, created } = await this.deps.repo.insert(base, effects);
      if (!created) return { view: this.replayed(record, hash), created: false };
      // Stored with the record, the audit entry (and any warning) need not delay the answer; the
      // entries of answers given meanwhile are appended, and removed from their records, together.
      await this.deps.outbox.settleSoon([{ holder, effects }], 'runtime.requested');
      return { view: this.view(record), created: true };
    }

    // The start of the run is stored with the request, so a crash before the run exists leaves the
    // worker to start it; the card shows the agent's latest decisions, read while the request is stored.
    const startRun = this.deps.outbox.effect(RUNTIME_START_RUN_EFFECT, { start });
    const [{ record, created }, latest] = await Promise.all([
      this.deps.repo.insert(base, [...effects, startRun]),
      this.deps.repo.recent(agent.id, 6),
    ]);
    if (!created) return { view: this.replayed(record, hash), created: false };
    this.deps.outbox.stored('runtime.pending');
    // The run is stored already waiting at its approval step, its cards in its outbox with the
    // rest (audit, expiry timer): one write, no `drive` round after it.
    const { run, effects: runEffects } = await this.deps.engine.create(withRecentDecisions(start, latest));
    const runHolder = { kind: RUN_HOLDER, id: run.id };
    const cards = runEffects.filter((e) => e.type === FLOW_EFFECTS.send);
    const rest = runEffects.filter((e) => e.type !== FLOW_EFFECTS.send);
    // The cards go out at once, beside the answer, ahead of any queued work; then the audit
    // entries of the request and of its run in one append, the timers, and the start-run effect
    // is removed (this writer started the run). The cards sent stay in the run's outbox until
    // then, removed with the rest in one write: a crash before it leaves them to the worker, whose
    // delivery claim finds them sent (no second card). A crash anywhere leaves the rest to the worker.
    this.deps.outbox.now(async () => {
      const sent = new Set(await this.deps.outbox.settleKeeping(runHolder, cards, 'runtime.cards'));
      await this.deps.outbox.settleSoon(
        [
          { holder, effects, done: [startRun] },
          { holder: runHolder, effects: rest, done: cards.filter((c) => sent.has(c.id)) },
        ],
        'runtime.run-started',
      );
    });
    return { view: this.view(record), created: true };
  }

  /**
   * The start of a pending request's run (its id stored on the request), without the agent's
   * latest decisions: those are read when the run starts (see {@link withRecentDecisions}).
   */
  private runStart(agent: AgentRecord, record: RuntimeApprovalRecord, role: CatalogRole, b: ApprovalBoundary, details: Details): RunStart {
    const people: Record<string, string[]> = {};
    for (const decider of b.approvers) people[deciderLabel(decider)] = peopleFor(this.deps.org, agent, decider);
    if (b.escalateTo) people[deciderLabel(b.escalateTo)] = peopleFor(this.deps.org, agent, b.escalateTo);
    const context: RuntimeRunContext = {
      approvalId: record.id,
      agentId: agent.id,
      agentName: agent.name,
      roleTitle: role.title,
      riskTier: role.riskTier,
      businessUnit: agent.businessUnit,
      action: record.action,
      actionTitle: record.actionTitle,
      // The card's template frames these as the agent's words; defanged so no link is made of them.
      summary: defangAgentText(record.summary),
      fields: Object.entries(b.fields).flatMap(([name, spec]) =>
        details[name] === undefined ? [] : [{ label: spec.label ?? name, value: defangAgentText(String(details[name])) }],
      ),
      recentDecisions: [],
      detailsHash: record.detailsHash,
      onTimeout: b.onTimeout,
      approval: {
        approvers: b.approvers.map(deciderLabel),
        people,
        quorum: b.quorum,
        expiresAfterMs: b.wait.ms,
        ...(b.remindAfter ? { remindAfterMs: b.remindAfter.ms } : {}),
        ...(b.escalateAfter && b.escalateTo ? { escalateAfterMs: b.escalateAfter.ms, escalateTo: deciderLabel(b.escalateTo) } : {}),
        separationOfDuties: b.separateFromRequester,
      },
    };
    return {
      id: record.runId!,
      flowId: RUNTIME_APPROVAL_FLOW,
      // The agent's requester is the run's requester, so separation of duties keeps them from deciding.
      requester: b.separateFromRequester ? agent.requestedBy : `agent:${agent.id}`,
      subject: { type: 'runtime-approval', id: record.id, agentId: agent.id },
      context,
      quiet: true,
      open: true,
    };
  }

  /**
   * The agent's own request; another agent's id, or an id that names no approval (undefined: it was
   * parsed at the edge), is not found (404), never forbidden (no oracle). The rule is policies.ts's;
   * it is asked at every read because a long poll reads the record again until it is decided.
   */
  async get(agentId: AgentId, id: ApprovalId | undefined): Promise<RuntimeApprovalRecord> {
    const record = id ? await this.deps.repo.get(id) : undefined;
    assertAgentsOwn(agentId, record, 'approval');
    return record;
  }

  /** Waits up to `waitMs` for a pending request to be decided; resolves the record as it is then. */
  wait(agentId: AgentId, id: ApprovalId | undefined, waitMs: number): Promise<RuntimeApprovalRecord> {
    return longPoll(
      this.deps.decisions.events,
      id ?? '',
      waitMs,
      () => this.get(agentId, id),
      (r) => r.status !== 'pending',
    );
  }

  /**
   * Uses an approval: only an approved (or timeout-allowed) request, bound to the details that were
   * approved, once (or within its window). Any mismatch is a 409 with a code.
   */
  async consume(agentId: AgentId, approvalId: ApprovalId | undefined, raw: unknown): Promise<RuntimeApprovalRecord> {
    const parsed = consumeRequestSchema.safeParse(raw);
    if (!parsed.success) throw refusalOf(parsed.error);
    const record = await this.get(agentId, approvalId);
    const id = record.id;
    const presented = parsed.data.details_hash ?? detailsHash(record.action, parsed.data.details ?? {});
    if (presented !== record.detailsHash)
      throw new AgentRefusal(409, 'details_mismatch', 'These details are not the ones that were approved; ask again.');
    if (record.status === 'allowed') return record;
    if (record.status !== 'approved')
      throw new AgentRefusal(409, 'not_approved', `This request is ${record.status}${record.reason ? ` (${record.reason})` : ''}.`);
    const now = this.clock();
    const effects = [this.audited(record, 'runtime.consumed', {})];
    if (record.usableFor === 'once') {
      const used = await this.deps.repo.update(
        id,
        { status: 'approved', usedAt: { $exists: false } },
        { usedAt: now.toISOString() },
        effects,
      );
      if (!used) throw new AgentRefusal(409, 'already_used', 'This approval was used already; ask again for another one.');
      await this.deps.outbox.settle({ kind: RUNTIME_APPROVAL_HOLDER, id }, effects, 'runtime.consumed');
      return used;
    }
    if (record.usableUntil && Date.parse(record.usableUntil) < now.getTime())
      throw new AgentRefusal(409, 'approval_expired', `This approval could be used until ${record.usableUntil}; ask again.`);
    const used = await this.deps.repo.update(id, { status: 'approved' }, { usedAt: now.toISOString() }, effects);
    if (!used) throw new AgentRefusal(409, 'not_approved', 'This request is no longer approved.');
    await this.deps.outbox.settle({ kind: RUNTIME_APPROVAL_HOLDER, id }, effects, 'runtime.consumed');
    return used;
  }

  /** The agent's view of a record. */
  view(r: RuntimeApprovalRecord): ApprovalView {
    return {
      id: r.id,
      status: r.status,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.message ? { message: r.message } : {}),
      action: r.action,
      details_hash: r.detailsHash,
      ...(r.decidedBy?.length ? { decided_by: r.decidedBy } : {}),
      ...(r.decidedAt ? { decided_at: r.decidedAt } : {}),
      ...(r.status === 'pending' && r.waitUntil ? { wait_until: r.waitUntil } : {}),
      ...(r.status === 'approved' ? { usable: r.usableFor === 'once' ? ('once' as const) : ('window' as const) } : {}),
      ...(r.usableUntil ? { usable_until: r.usableUntil } : {}),
      ...(r.usedAt ? { used_at: r.usedAt } : {}),
      created_at: r.createdAt,
    };
  }

  /** The agent's latest requests, newest first (the decision log's runtime part). */
  recent(agentId: AgentId, limit = 20): Promise<RuntimeApprovalRecord[]> {
    return this.deps.repo.recent(agentId, limit);
  }

  private replayed(record: RuntimeApprovalRecord, hash: string): ApprovalView {
    if (record.requestHash !== hash)
      throw new AgentRefusal(409, 'idempotency_key_reused', 'This idempotency key was used for a different request; use a new key.');
    return this.view(record);
  }

  /**
   * Warns the sponsors of a forbidden attempt that is the agent's third at the action within a
   * day: an audit entry and a `forbidden-repeated` alert (paged like every alert, its sponsors
   * told), one open alert per agent and action. Stored first in the attempt's outbox under ids
   * made from the check's (the check performed again stores and performs nothing new), then performed.
   */
  private async warnSponsors(check: ForbiddenCheck, checkId: string, holder: HolderRef): Promise<void> {
    const attempts = FORBIDDEN_ALERT_THRESHOLD;
    const unit = businessUnitById(this.deps.org, check.businessUnit)?.name ?? check.businessUnit;
    const alert: RaiseAlert = {
      kind: 'forbidden-repeated',
      agentId: check.agentId,
      scope: check.action,
      severity: 'warning',
      summary: `${check.agentName} keeps trying a forbidden action: it asked ${attempts} times in a day to ${check.actionTitle} (${check.action}), which its role forbids (${check.agentId}, ${unit}). Each attempt was refused. Its last request, ${reportedByAgent(check.summary, 1000)}`,
      details: { agentName: check.agentName, action: check.action, attempts },
      notify: check.sponsors,
    };
    const effects = [
      this.deps.outbox.effect(
        AUDIT_EFFECT,
        {
          actor: { kind: 'system', name: 'runtime-approvals' },
          action: 'runtime.forbidden-repeated',
          subject: { type: 'agent', id: check.agentId, agentId: check.agentId },
          details: { action: check.action, attempts, summary: check.summary },
          at: this.clock(),
        } satisfies AuditInput,
        { key: `${checkId}.audit` },
      ),
      this.deps.outbox.effect(ALERT_EFFECTS.raise, alert, { key: `${checkId}.alert` }),
    ];
    await this.deps.outbox.store(holder, effects);
    await this.deps.outbox.settle(holder, effects, 'runtime.forbidden-repeated');
  }

  private audit(entry: AuditInput): PendingEffect {
    return this.deps.outbox.effect(AUDIT_EFFECT, { ...entry, at: this.clock() } satisfies AuditInput);
  }

  private audited(r: RuntimeApprovalRecord, action: string, details: Record<string, unknown>): PendingEffect {
    return auditedEffect(this.deps.outbox, this.clock(), r, action, details);
  }
}

/** The check of a forbidden attempt, stored with it. */
function forbiddenCheck(agent: AgentRecord, r: RuntimeApprovalRecord): ForbiddenCheck {
  return {
    approvalId: r.id,
    agentId: agent.id,
    agentName: agent.name,
    businessUnit: agent.businessUnit,
    sponsors: [...agent.sponsors],
    action: r.action,
    actionTitle: r.actionTitle,
    summary: r.summary,
    createdAt: r.createdAt,
  };
}

/** A runtime request's audit entry as an outbox effect, stored with the change it records. */
function auditedEffect(
  outbox: Pick<Outbox, 'effect'>,
  at: Date,
  r: RuntimeApprovalRecord,
  action: string,
  details: Record<string, unknown>,
): PendingEffect {
  return outbox.effect(AUDIT_EFFECT, {
    actor: { kind: 'system', name: 'runtime-approvals' },
    action,
    subject: { type: 'runtime-approval', id: r.id, agentId: r.agentId },
    details: { action: r.action, details: r.details, detailsHash: r.detailsHash, ...details },
    at,
  } satisfies AuditInput);
}

/**
 * The decisions the runtime-approval flow writes back to its request (`runtime.approved`,
 * `runtime.closed`). They need no flow engine, so they are built before it; {@link RuntimeApprovals},
 * which starts the runs, after it. A decision written here wakes the agent's long poll in this
 * process through `events` (the request's id).
 */
export class RuntimeDecisions {
  /** Emits a request's id when its decision is written. */
  readonly events = new EventEmitter();
  private readonly clock: () => Date;

  constructor(private readonly deps: Pick<RuntimeApprovalDeps, 'repo' | 'outbox' | 'clock'>) {
    this.clock = deps.clock ?? (() => new Date());
    this.events.setMaxListeners(0);
  }

  private audited(r: RuntimeApprovalRecord, action: string, details: Record<string, unknown>): PendingEffect {
    return auditedEffect(this.deps.outbox, this.clock(), r, action, details);
  }

  /** Writes the run's outcome to its request: approved (the quorum was met), or denied, expired, cancelled. */
  async settle(ctx: StepContext, outcome: 'approved' | 'denied' | 'expired' | 'other'): Promise<void> {
    const run = ctx.run as FlowRun;
    const c = run.context as RuntimeRunContext;
    const decisions = Object.values(run.steps).flatMap((s) => s.decisions ?? []);
    const now = this.clock().toISOString();
    const record = await this.deps.repo.get(c.approvalId);
    if (!record || record.status !== 'pending') return;
    let patch: Partial<RuntimeApprovalRecord>;
    // An approval, given or by timeout, is usable within its window from the moment it is given.
    const window = record.usableFor !== 'once' ? { usableUntil: new Date(Date.parse(now) + record.usableFor).toISOString() } : {};
    if (outcome === 'approved') {
      patch = {
        status: 'approved',
        reason: 'approved',
        decidedBy: decisions.filter((d) => d.decision === 'approve').map((d) => d.by),
        decidedAt: now,
        ...window,
      };
    } else if (outcome === 'expired') {
      patch =
        c.onTimeout === 'allow'
          ? {
              status: 'approved',
              reason: 'timeout_allowed',
              message: 'Nobody decided in time; the role allows the action then.',
              decidedAt: now,
              ...window,
            }
          : { status: 'denied', reason: 'timeout', message: 'Nobody decided in time, so the request is denied.', decidedAt: now };
    } else if (outcome === 'denied') {
      const denial = decisions.find((d) => d.decision === 'deny');
      patch = {
        status: 'denied',
        reason: 'denied',
        ...(denial?.comment ? { message: denial.comment } : {}),
        decidedBy: denial ? [denial.by] : [],
        decidedAt: now,
      };
    } else {
      patch = {
        status: 'denied',
        reason: run.status === 'rejected' ? 'no_approver' : 'cancelled',
        message: run.outcome ?? 'The request was closed without approval.',
        decidedAt: now,
      };
    }
    const effects = [
      this.audited(record, `runtime.${patch.status}`, {
        reason: patch.reason,
        decidedBy: patch.decidedBy ?? [],
        ...(patch.message ? { message: patch.message } : {}),
        runId: run.id,
      }),
    ];
    const updated = await this.deps.repo.update(c.approvalId, { status: 'pending' }, patch, effects);
    if (!updated) return;
    // The decision is stored with its audit entry in its outbox: the agent's long poll is answered
    // now, and the entry appended after (by the worker, should this process stop first).
    this.events.emit(updated.id);
    await this.deps.outbox.settle({ kind: RUNTIME_APPROVAL_HOLDER, id: updated.id }, effects, 'runtime.decided');
  }
}

/** A run's start with the agent's latest decisions (other than this request's) on its card. */
function withRecentDecisions(start: RunStart, latest: readonly RuntimeApprovalRecord[]): RunStart {
  const context = start.context as RuntimeRunContext;
  const recent = latest.filter((r) => r.id !== context.approvalId).slice(0, 5);
  return { ...start, context: { ...context, recentDecisions: recent.map((r) => ({ text: decisionLine(r) })) } };
}

/** A zod failure as a 400 with `invalid_request` and the first problem. */
export function refusalOf(error: z.ZodError): AgentRefusal {
  const issue = error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : 'body';
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue.message;
  return new AgentRefusal(400, 'invalid_request', `${where}: ${message}`);
}

/** Flow steps: `runtime.approved` (the quorum was met) and `runtime.closed` (denied, expired, cancelled). */
export function runtimeSteps(decisions: RuntimeDecisions): Pick<StepRegistry, 'actions'> {
  return {
    actions: {
      'runtime.approved': async (ctx) => {
        await decisions.settle(ctx, 'approved');
        return {};
      },
      'runtime.closed': async (ctx) => {
        await decisions.settle(ctx, ctx.run.status === 'expired' ? 'expired' : ctx.run.status === 'denied' ? 'denied' : 'other');
      },
    },
  };
}
