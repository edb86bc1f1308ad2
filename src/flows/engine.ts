import type { Actor, AuditInput } from '../core/audit.js';
import type { OutgoingCard } from '../core/notifications.js';
import {
  AlreadyDecidedError,
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  isRosterError,
  NotFoundError,
  NotWaitingError,
  RequestClosedError,
  SeparationOfDutiesError,
} from '../core/errors.js';
import { findPersonByEmail, hasRole, peopleWithRole } from '../config/directory.js';
import type { ApprovalStep, FlowDefinition, FlowStep } from './schema.js';
import type { PendingEffect } from '../core/ports.js';
import { AUDIT_EFFECT } from '../core/audit-effects.js';
import { sendClaimed } from '../core/chat-effects.js';
import { quorumMet, unsatisfiedGroups } from './quorum.js';
import { newRunId, type RunId } from '../core/ids.js';
import {
  CLOSED_RUN_STATUSES,
  type ApprovalGroupState,
  type ApprovalSettings,
  type FlowEngineDeps,
  type StepState,
  type FlowRun,
  type FlowTimer,
  type GateSource,
  type RunStatus,
  type StepContext,
  type StoredMessage,
} from './types.js';

/**
 * A side effect of a run's transition. It is stored in the run's outbox in the same
 * compare-and-set as the transition, performed right after by the writer, and by the outbox
 * worker if the writer died first; each performer below is idempotent on the effect id.
 */
type Effect =
  | { type: 'audit'; entry: AuditInput }
  | { type: 'send'; to: string; card: OutgoingCard; stepId?: string; messageKind?: string; quiet?: boolean }
  | { type: 'refresh-approvals'; stepId: string }
  | { type: 'refresh-status' }
  /** `refresh-approvals` then `refresh-status`, from one read of the run and one of its messages (a decision's). */
  | { type: 'refresh-cards'; stepId: string }
  | { type: 'timer'; at: Date; timer: FlowTimer }
  | { type: 'on-close' }
  | { type: 'clear-timers' }
  | { type: 'drive' };

/** The outbox effect types of flow runs (`audit.append` is shared with every other holder). */
export const FLOW_EFFECTS = {
  send: 'flow.send',
  refreshApprovals: 'flow.refresh-approvals',
  refreshStatus: 'flow.refresh-status',
  refreshCards: 'flow.refresh-cards',
  timer: 'flow.timer',
  onClose: 'flow.on-close',
  clearTimers: 'flow.clear-timers',
  drive: 'flow.drive',
} as const;

/** The holder kind of runs in the outbox. */
export const RUN_HOLDER = 'run';

interface Mutation {
  run: FlowRun;
  effects: Effect[];
  /** Names the transition for fault points when it differs from the caller's (a decision that closes its step). */
  label?: string;
}

export interface StartInput {
  flowId: string;
  requester: string;
  subject: FlowRun['subject'];
  context: Record<string, unknown>;
  /** No status card to the requester (e.g. the requester is not a person Roster messages). */
  quiet?: boolean;
  /**
   * Effects of the change that starts the run (e.g. a break-glass use's audit entry), stored with
   * the new run in the same write and performed before the run's own.
   */
  effects?: readonly PendingEffect[];
  /** The run's id, when the caller stored it before (see `allocateRunId`). */
  id?: RunId;
  /**
   * Opens the first step in the same write that stores the run, when it is an approval step:
   * the run is stored waiting, with its approval cards first among its effects, instead of
   * being stored running and driven to the step by a second write after a `drive` effect.
   */
  open?: boolean;
}

/**
 * A run's start with its id fixed: the data of a record's "start its run" outbox effect, stored
 * with the record in one write so that a crash before the run exists cannot leave the record
 * without it (see {@link FlowEngine.ensureStarted}).
 */
export type RunStart = StartInput & { id: RunId };

export interface DecideInput {
  runId: RunId;
  stepId: string;
  decision: 'approve' | 'deny';
  actor: string;
  comment?: string;
}

/** How a decision's writer performs its effects. */
export interface DecideOptions {
  /**
   * Perform only the audit entries before resolving (the decision and its entry are then
   * stored); the rest (other people's cards, status cards, driving the run on) is handed to the
   * outbox right after, in order per run. For a caller that answers with the decision (a Teams
   * invoke); the deferred effects are durable either way.
   */
  answerFirst?: boolean;
}

export interface GateSignal {
  runId: RunId;
  gate: string;
  passed: boolean;
  by: string;
  summary: string;
  /**
   * `measured`: Roster produced the result itself (its audit actor is the system "Roster
   * evaluation", not `by`); `self-reported`: a person typed it in. Absent: a person's signal.
   */
  source?: GateSource;
}

const MAX_ATTEMPTS = 60;

/** Another writer is running this action step; the `drive` effect is retried after a back-off. */
export class ActionBusyError extends Error {
  constructor(action: string) {
    super(`the action ${action} is being run by another writer`);
    this.name = 'ActionBusyError';
  }
}
const personActor = (email: string): Actor => ({ kind: 'person', email });
const engineActor: Actor = { kind: 'system', name: 'flow-engine' };
const evaluationActor: Actor = { kind: 'system', name: 'Roster evaluation' };

/**
 * Interprets flows: every change to a run is a compare-and-set on its version, so a transition
 * happens exactly once even when buttons are clicked twice, by two people at once, on two Roster
 * replicas, or when a request is redelivered. Side effects (audit entries, cards, timers) are
 * performed only by the writer whose change was stored.
 */
export class FlowEngine {
  private readonly clock: () => Date;
  private readonly newRunId: () => RunId;

  /** Runs this process is driving now: a `drive` effect queued by the driving loop itself changes nothing. */
  private readonly driving = new Set<string>();

  /** The last deferred settle of each run (see {@link DecideOptions.answerFirst}): the next one waits for it. */
  private readonly deferred = new Map<string, Promise<void>>();

  constructor(private readonly deps: FlowEngineDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.newRunId = deps.newRunId ?? newRunId;
    this.registerPerformers();
  }

  flow(flowId: string): FlowDefinition {
    const flow = this.deps.flows.get(flowId);
    if (!flow) throw new NotFoundError('the flow', flowId);
    return flow;
  }

  async get(runId: RunId): Promise<FlowRun> {
    const run = await this.find(runId);
    if (!run) throw new NotFoundError('the request', runId);
    return run;
  }

  /** The run `runId`, or undefined when none is stored (an agent added without a request); a failed read still throws. */
  find(runId: RunId): Promise<FlowRun | undefined> {
    return this.deps.runs.get(runId);
  }

  /** Runs waiting for this person's decision. */
  waitingFor(email: string): Promise<FlowRun[]> {
    return this.deps.runs.list({ waitingFor: email, status: ['waiting'] });
  }

  /** This person's runs that have not ended. */
  openRequestsOf(email: string): Promise<FlowRun[]> {
    return this.deps.runs.list({ requester: email, status: ['running', 'waiting'] });
  }

  /** Starts a run, sends the requester a status card, and drives it until it waits or ends. */
  async start(input: StartInput): Promise<FlowRun> {
    const { run, settle } = await this.create(input);
    await settle();
    return this.get(run.id);
  }

  /** A new run id, for a caller that stores it with its own record before the run is created. */
  allocateRunId(): RunId {
    return this.newRunId();
  }

  /** Whether the run `runId` exists (one read): a start-run effect whose writer started the run has nothing left to do. */
  async exists(runId: RunId): Promise<boolean> {
    return (await this.deps.runs.get(runId)) !== undefined;
  }

  /**
   * Starts the run `start.id` unless it exists, performs its first effects, and resolves with it:
   * the performer of a record's "start its run" effect, which may run more than once (the writer,
   * then the outbox worker after a crash), so a run is created at most once and people see its
   * cards once.
   */
  async ensureStarted(start: RunStart): Promise<FlowRun> {
    const existing = await this.deps.runs.get(start.id);
    if (existing) return existing;
    // Effects handed over in stored effect data come back as plain BSON: dates are made dates again.
    const effects = (start.effects ?? []).map((e) => ({ ...e, due: new Date(e.due), createdAt: new Date(e.createdAt) }));
    return this.start({ ...start, effects });
  }

  /**
   * Stores a new run with its first effects (audit, status card, `drive` to its first step) and
   * returns it with those `effects` and `settle`, which performs them. `start` settles at once; a
   * caller that must answer first hands `settle` to `Outbox.later` (the effects are durable either
   * way), or performs `effects` its own way. With `open`, a first approval step is opened in the
   * same write (see {@link StartInput.open}). `effects` is empty when another writer created the run.
   */
  async create(input: StartInput): Promise<{ run: FlowRun; effects: readonly PendingEffect[]; settle: () => Promise<void> }> {
    const flow = this.flow(input.flowId);
    const now = this.now();
    const run: FlowRun = {
      id: input.id ?? this.newRunId(),
      flowId: flow.id,
      status: 'running',
      requester: input.requester,
      subject: input.subject,
      context: input.context,
      current: 0,
      steps: Object.fromEntries(flow.steps.map((s) => [s.id, { status: 'pending' as const }])),
      waitingFor: [],
      events: [{ at: now, type: 'started', by: input.requester }],
      version: 0,
      createdAt: now,
      updatedAt: now,
    };
    const started: Effect = { type: 'audit', entry: this.auditEntry(run, personActor(input.requester), 'run.started', { flow: flow.id }) };
    const first = flow.steps[0];
    const opening =
      input.open && first?.type === 'approval' && (!first.when || this.condition(first.when, { run, flow, stepId: first.id }))
        ? (await this.approvalOpening(run, this.effective(first, run), { run, flow, stepId: first.id }))(run).effects
        : undefined;
    // Opened here, the step's cards go first (people wait for them) and the status card already
    // shows the run waiting, so there is nothing to refresh; otherwise `drive` opens the step.
    const sends = opening?.filter((e) => e.type === 'send') ?? [];
    const others = opening?.filter((e) => e.type !== 'send' && e.type !== 'refresh-status') ?? [];
    const effects = this.toPending(run, [
      ...sends,
      started,
      ...others,
      // A quiet start (runtime approvals asked by an agent) sends the requester no status card.
      ...(input.quiet
        ? []
        : [{ type: 'send' as const, to: input.requester, card: this.deps.presenter.status(run), messageKind: 'status' as const }]),
      ...(run.status === 'running' ? [{ type: 'drive' as const }] : []),
    ]);
    const all = [...(input.effects ?? []), ...effects];
    if (!(await this.deps.runs.create(run, all))) {
      // Another writer (or the outbox worker) created this run first: its effects are its own.
      return { run: await this.get(run.id), effects: [], settle: () => Promise.resolve() };
    }
    return { run, effects: all, settle: () => this.deps.outbox.settle({ kind: RUN_HOLDER, id: run.id }, all, 'run.started') };
  }

  /** Records one person's decision on an approval step; a second click by the same person is refused. */
  async decide(input: DecideInput, options: DecideOptions = {}): Promise<FlowRun> {
    if (input.decision === 'deny' && !input.comment?.trim()) {
      throw new InvalidInputError('Please give a reason when you deny a request.', { comment: 'A reason is required to deny.' });
    }
    // A role removed on another replica a moment ago must already count for this decision.
    await this.deps.refreshDirectory?.();
    const run = await this.mutate(
      input.runId,
      'run.decision',
      (run) => {
        const flow = this.flow(run.flowId);
        const stepIndex = flow.steps.findIndex((s) => s.id === input.stepId);
        const defined = flow.steps[stepIndex];
        if (!defined || defined.type !== 'approval') throw new NotFoundError('the approval step', input.stepId);
        const step = this.effective(defined, run);
        const state = run.steps[step.id]!;
        const mine = state.decisions?.find((d) => d.by === input.actor || d.delegate === input.actor);
        if (mine) throw new AlreadyDecidedError(mine.decision, new Date(mine.at));
        if (CLOSED_RUN_STATUSES.includes(run.status))
          throw new RequestClosedError(run.status, run.endedAt ? new Date(run.endedAt) : undefined);
        if (run.current !== stepIndex || state.status !== 'waiting') {
          throw new NotWaitingError(
            state.status === 'approved'
              ? 'This step is already approved; no more decisions are needed.'
              : 'This step is not open for decisions.',
            { stepStatus: state.status },
          );
        }
        const principal = this.actingFor(run, step, state, input.actor);
        const delegated = principal !== input.actor;

        const now = this.now();
        state.decisions = [
          ...(state.decisions ?? []),
          {
            by: principal,
            ...(delegated ? { delegate: input.actor } : {}),
            decision: input.decision,
            comment: input.comment?.trim(),
            at: now,
          },
        ];
        run.events.push({
          at: now,
          type: input.decision,
          stepId: step.id,
          by: input.actor,
          detail: [delegated ? `on behalf of ${principal}` : undefined, input.comment?.trim()].filter(Boolean).join(': ') || undefined,
        });
        let label = 'run.decision';
        const effects: Effect[] = [
          {
            type: 'audit',
            entry: this.auditEntry(run, personActor(input.actor), `decision.${input.decision}`, {
              step: step.id,
              ...(delegated ? { onBehalfOf: principal } : {}),
              ...(input.comment ? { comment: input.comment.trim() } : {}),
            }),
          },
        ];
        if (input.decision === 'deny') {
          state.status = 'denied';
          state.endedAt = now;
          this.close(run, 'denied', `Denied by ${input.actor}: ${input.comment?.trim()}`, effects);
        } else {
          const approvers = state.decisions.filter((d) => d.decision === 'approve').map((d) => d.by);
          if (quorumMet(step.quorum, state.groups ?? [], approvers)) {
            state.status = 'approved';
            state.endedAt = now;
            run.waitingFor = [];
            run.current = stepIndex + 1;
            run.status = 'running';
            effects.push({ type: 'audit', entry: this.auditEntry(run, engineActor, 'step.approved', { step: step.id, approvers }) });
            label = 'run.approved';
          } else {
            run.waitingFor = this.withDelegates(state, this.stillWaitingOn(step, state.groups ?? [], approvers));
          }
        }
        effects.push({ type: 'refresh-cards', stepId: step.id });
        return { run, effects, label };
      },
      options,
    );
    // Driven on later, the run is as stored: the caller shows it as decided.
    return run.status === 'running' && !options.answerFirst ? this.get(run.id) : run;
  }

  /** Delivers an external fact to a waiting gate (e.g. evaluation results); a failure keeps it waiting. */
  async signalGate(signal: GateSignal): Promise<FlowRun> {
    const run = await this.mutate(signal.runId, 'run.gate', (run) => {
      if (CLOSED_RUN_STATUSES.includes(run.status))
        throw new RequestClosedError(run.status, run.endedAt ? new Date(run.endedAt) : undefined);
      const flow = this.flow(run.flowId);
      const step = flow.steps[run.current];
      if (!step || step.type !== 'gate' || step.gate !== signal.gate || run.steps[step.id]!.status !== 'waiting') {
        throw new NotWaitingError(`This request isn't waiting for ${signal.gate} results right now.`, { gate: signal.gate });
      }
      const state = run.steps[step.id]!;
      const now = this.now();
      state.attempts = [
        ...(state.attempts ?? []),
        { at: now, by: signal.by, passed: signal.passed, summary: signal.summary, ...(signal.source ? { source: signal.source } : {}) },
      ];
      run.events.push({
        at: now,
        type: signal.passed ? 'gate-passed' : 'gate-failed',
        stepId: step.id,
        by: signal.by,
        detail: signal.summary,
      });
      const effects: Effect[] = [
        {
          type: 'audit',
          entry: this.auditEntry(
            run,
            signal.source === 'measured' ? evaluationActor : personActor(signal.by),
            `gate.${signal.passed ? 'passed' : 'failed'}`,
            { step: step.id, gate: signal.gate, summary: signal.summary, ...(signal.source ? { source: signal.source } : {}) },
          ),
        },
        { type: 'refresh-status' },
      ];
      if (signal.passed) {
        state.status = 'passed';
        state.endedAt = now;
        run.current += 1;
        run.status = 'running';
        run.waitingFor = [];
      }
      return { run, effects };
    });
    return run.status === 'running' ? this.get(run.id) : run;
  }

  /**
   * Cancels an open run (by its requester or an IT admin; authorised by the caller). With
   * `whileWaiting`, only a run waiting for people is cancelled: one that is running a step (its
   * approval just completed) refuses, checked in the same compare-and-set as the cancellation.
   */
  async cancel(runId: RunId, by: string, reason: string, options: { whileWaiting?: boolean } = {}): Promise<FlowRun> {
    return this.mutate(runId, 'run.cancelled', (run) => {
      // Said to whoever tried to cancel it: "already cancelled", "nothing left to cancel"…
      if (CLOSED_RUN_STATUSES.includes(run.status))
        throw new RequestClosedError(run.status, run.endedAt ? new Date(run.endedAt) : undefined, 'cancel');
      if (options.whileWaiting && run.status !== 'waiting')
        throw new NotWaitingError('This request has just been decided and is being carried out; it can no longer be cancelled.', {
          status: run.status,
        });
      const effects: Effect[] = [{ type: 'audit', entry: this.auditEntry(run, personActor(by), 'run.cancelled', { reason }) }];
      this.close(run, 'cancelled', `Cancelled by ${by}: ${reason}`, effects);
      // Who cancelled and why, apart from the outcome sentence, for the cards that say so.
      const closing = run.events.at(-1)!;
      closing.by = by;
      closing.detail = reason;
      const step = this.flow(run.flowId).steps[run.current];
      if (step?.type === 'approval') effects.push({ type: 'refresh-approvals', stepId: step.id });
      // Its reminders, escalations and expiry have nothing left to do.
      effects.push({ type: 'clear-timers' });
      return { run, effects };
    });
  }

  /** Handles a durable timer (reminder, escalation, expiry); stale timers change nothing. */
  async onTimer(timer: FlowTimer): Promise<void> {
    const current = await this.deps.runs.get(timer.runId);
    if (!current || current.status !== 'waiting') return;
    const flow = this.flow(current.flowId);
    const step = flow.steps[current.current];
    if (!step || step.id !== timer.stepId || current.steps[step.id]?.status !== 'waiting') return;
    if (timer.kind === 'expire') await this.expire(timer);
    else if (timer.kind === 'remind' && step.type === 'approval') await this.remind(timer, this.effective(step, current));
    else if (timer.kind === 'escalate' && step.type === 'approval') await this.escalate(timer, this.effective(step, current));
  }

  /**
   * The safety sweep's part: expires the run if its waiting step is past its expiry by more than
   * `graceMs` (its expiry timer was lost or keeps failing), audited as caught by the sweep.
   */
  async expireOverdue(runId: RunId, graceMs: number): Promise<boolean> {
    const run = await this.deps.runs.get(runId);
    if (!run || run.status !== 'waiting') return false;
    const step = this.flow(run.flowId).steps[run.current];
    const state = step ? run.steps[step.id] : undefined;
    if (!step || state?.status !== 'waiting' || !state.expiresAt) return false;
    if (Date.parse(state.expiresAt) + graceMs > this.clock().getTime()) return false;
    await this.expire({ runId, stepId: step.id, kind: 'expire' }, true);
    return (await this.deps.runs.get(runId))?.status === 'expired';
  }

  /** Moves a `running` run through its steps until it waits for people or ends. */
  async drive(runId: RunId): Promise<FlowRun> {
    if (this.driving.has(runId)) return this.get(runId);
    this.driving.add(runId);
    try {
      return await this.driveLoop(runId);
    } finally {
      this.driving.delete(runId);
    }
  }

  private async driveLoop(runId: RunId): Promise<FlowRun> {
    for (let guard = 0; guard < 1000; guard++) {
      const run = await this.get(runId);
      if (run.status !== 'running') return run;
      const flow = this.flow(run.flowId);
      const step = flow.steps[run.current];
      if (!step) {
        await this.tryMutate(run, 'run.completed', (r) => {
          const effects: Effect[] = [];
          this.close(r, 'completed', 'Completed', effects);
          return { run: r, effects };
        });
        continue;
      }
      const ctx: StepContext = { run, flow, stepId: step.id };
      if (step.when && !this.condition(step.when, ctx)) {
        await this.tryMutate(run, 'run.step', (r) => {
          r.steps[step.id] = { status: 'skipped', endedAt: this.now() };
          r.current += 1;
          return { run: r, effects: [] };
        });
        continue;
      }
      switch (step.type) {
        case 'check':
          await this.runCheck(run, step, ctx);
          break;
        case 'gate':
          await this.openGate(run, step, ctx);
          break;
        case 'approval':
          await this.openApproval(run, this.effective(step, run), ctx);
          break;
        case 'action':
          await this.runAction(run, step, ctx);
          break;
        case 'notify':
          await this.runNotify(run, step);
          break;
      }
    }
    throw new Error(`Run ${runId} did not settle`);
  }

  private async runCheck(run: FlowRun, step: Extract<FlowStep, { type: 'check' }>, ctx: StepContext): Promise<void> {
    const check = this.deps.registry.checks[step.check];
    if (!check) throw new Error(`unknown check ${step.check}`);
    const result = await check(ctx);
    await this.tryMutate(run, 'run.step', (r) => {
      const now = this.now();
      const effects: Effect[] = [];
      if (result.ok) {
        r.steps[step.id] = { status: 'passed', endedAt: now };
        r.current += 1;
      } else {
        r.steps[step.id] = { status: 'failed', endedAt: now, reason: result.reason };
        effects.push({ type: 'audit', entry: this.auditEntry(r, engineActor, 'run.rejected', { step: step.id, reason: result.reason }) });
        this.close(r, 'rejected', result.reason, effects);
      }
      return { run: r, effects };
    });
  }

  private async openGate(run: FlowRun, step: Extract<FlowStep, { type: 'gate' }>, ctx: StepContext): Promise<void> {
    const now = this.clock();
    const expiresAt = step.expiresAfter ? new Date(now.getTime() + step.expiresAfter.ms) : undefined;
    const waitingOn = this.deps.registry.gates[step.gate]?.waitingOn(ctx) ?? [run.requester];
    await this.tryMutate(run, 'run.step', (r) => {
      r.steps[step.id] = { status: 'waiting', startedAt: now.toISOString(), ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) };
      r.status = 'waiting';
      r.waitingFor = [];
      r.events.push({ at: now.toISOString(), type: 'waiting', stepId: step.id, detail: step.gate });
      const effects: Effect[] = [{ type: 'refresh-status' }];
      if (expiresAt)
        effects.push({
          type: 'timer',
          at: expiresAt,
          timer: { runId: r.id, stepId: step.id, kind: 'expire', at: expiresAt.toISOString() },
        });
      for (const person of waitingOn) {
        const card = this.deps.presenter.gateWaiting?.(r, step.id, step.gate, person);
        if (card && person !== r.requester) effects.push({ type: 'send', to: person, card, stepId: step.id });
      }
      return { run: r, effects };
    });
  }

  private async openApproval(run: FlowRun, step: ApprovalStep, ctx: StepContext): Promise<void> {
    await this.tryMutate(run, 'run.step', await this.approvalOpening(run, step, ctx));
  }

  /**
   * What opening an approval step does to the run (waiting for its people, their cards, its
   * timers; failed when nobody may approve), after the reads it needs (who is away).
   */
  private async approvalOpening(run: FlowRun, step: ApprovalStep, ctx: StepContext): Promise<(r: FlowRun) => Mutation> {
    const groups = step.approvers
      .filter((g) => !g.when || this.condition(g.when, ctx))
      .map((g): ApprovalGroupState => {
        const role = this.interpolate(g.role, run.context);
        return { role, eligible: this.eligiblePeople(run, step, role) };
      });
    const now = this.clock();
    const empty = groups.filter((g) => g.eligible.length === 0);
    if (empty.length > 0 && step.escalateTo) {
      const fallback = this.eligiblePeople(run, step, this.interpolate(step.escalateTo, run.context));
      for (const g of empty) {
        g.eligible = fallback;
        g.escalatedTo = step.escalateTo;
      }
    }
    const stillEmpty = groups.filter((g) => g.eligible.length === 0);
    const delegates = await this.delegatesFor(run, step, [...new Set(groups.flatMap((g) => g.eligible))]);
    return (r) => {
      const effects: Effect[] = [];
      if (stillEmpty.length > 0) {
        const reason = `Nobody may approve as ${stillEmpty.map((g) => g.role).join(', ')} (separation of duties or an empty role).`;
        r.steps[step.id] = { status: 'failed', endedAt: now.toISOString(), reason };
        effects.push({ type: 'audit', entry: this.auditEntry(r, engineActor, 'run.failed', { step: step.id, reason }) });
        this.close(r, 'failed', reason, effects);
        return { run: r, effects };
      }
      const expiresAt = new Date(now.getTime() + step.expiresAfter.ms);
      r.steps[step.id] = {
        status: 'waiting',
        startedAt: now.toISOString(),
        groups,
        decisions: [],
        reminders: 0,
        expiresAt: expiresAt.toISOString(),
        ...(Object.keys(delegates).length > 0 ? { delegates } : {}),
      };
      r.status = 'waiting';
      r.waitingFor = this.withDelegates(r.steps[step.id]!, [...new Set(groups.flatMap((g) => g.eligible))]);
      r.events.push({ at: now.toISOString(), type: 'waiting', stepId: step.id, detail: 'approval' });
      effects.push(
        {
          type: 'audit',
          entry: this.auditEntry(r, engineActor, 'approval.requested', {
            step: step.id,
            groups: groups.map((g) => ({ role: g.role, eligible: g.eligible })),
            quorum: step.quorum,
            expiresAt: expiresAt.toISOString(),
          }),
        },
        { type: 'refresh-status' },
        { type: 'timer', at: expiresAt, timer: { runId: r.id, stepId: step.id, kind: 'expire', at: expiresAt.toISOString() } },
      );
      // An approver who is away gets no card: their delegate does.
      for (const person of r.waitingFor.filter((p) => !delegates[p]))
        effects.push({ type: 'send', to: person, card: this.deps.presenter.approval(r, step.id, person), stepId: step.id });
      if (step.remindAfter && step.remindAfter.ms < step.expiresAfter.ms) {
        const at = new Date(now.getTime() + step.remindAfter.ms);
        effects.push({ type: 'timer', at, timer: { runId: r.id, stepId: step.id, kind: 'remind', n: 1, at: at.toISOString() } });
      }
      if (step.escalateAfter && step.escalateTo && step.escalateAfter.ms < step.expiresAfter.ms) {
        const at = new Date(now.getTime() + step.escalateAfter.ms);
        effects.push({ type: 'timer', at, timer: { runId: r.id, stepId: step.id, kind: 'escalate', at: at.toISOString() } });
      }
      return { run: r, effects };
    };
  }

  private async runAction(run: FlowRun, step: Extract<FlowStep, { type: 'action' }>, ctx: StepContext): Promise<void> {
    const action = this.deps.registry.actions[step.action];
    if (!action) throw new Error(`unknown action ${step.action}`);
    const state = run.steps[step.id];
    if (state?.status === 'running') {
      // Another writer claimed this action and finishes it; a claim older than the outbox lease
      // (a writer that died) is taken over.
      if (state.startedAt && this.clock().getTime() - Date.parse(state.startedAt) < this.deps.outbox.settings.leaseMs) {
        throw new ActionBusyError(step.action);
      }
    }
    const claimed = await this.tryMutate(run, 'run.action-claimed', (r) => {
      r.steps[step.id] = { status: 'running', startedAt: this.now() };
      return { run: r, effects: [] };
    });
    if (!claimed) return;
    try {
      const patch = (await action({ ...ctx, run: claimed })) ?? {};
      this.deps.faultPoint?.('run.action-done');
      await this.tryMutate(claimed, 'run.step', (r) => {
        r.context = { ...r.context, ...patch };
        r.steps[step.id] = { ...r.steps[step.id]!, status: 'done', endedAt: this.now() };
        r.current += 1;
        return { run: r, effects: [{ type: 'refresh-status' }] };
      });
    } catch (err) {
      if (!isRosterError(err)) this.deps.log.error({ err, runId: run.id, action: step.action }, 'flow action failed');
      const expected = isRosterError(err);
      await this.mutate(run.id, 'run.failed', (r) => {
        const reason = expected ? err.userMessage : `The step "${step.title ?? step.id}" failed; IT has been told.`;
        const effects: Effect[] = [
          {
            type: 'audit',
            entry: this.auditEntry(r, engineActor, 'run.failed', {
              step: step.id,
              error: err instanceof Error ? err.message : String(err),
            }),
          },
        ];
        r.steps[step.id] = { ...r.steps[step.id]!, status: 'failed', endedAt: this.now(), reason };
        this.close(r, expected ? 'rejected' : 'failed', reason, effects);
        return { run: r, effects };
      });
    }
  }

  private async runNotify(run: FlowRun, step: Extract<FlowStep, { type: 'notify' }>): Promise<void> {
    const recipients = [...new Set(step.to.flatMap((to) => this.recipients(run, to)))];
    await this.tryMutate(run, 'run.step', (r) => {
      r.steps[step.id] = { status: 'done', endedAt: this.now() };
      r.current += 1;
      return {
        run: r,
        effects: recipients.map((to) => ({
          type: 'send' as const,
          to,
          card: this.deps.presenter.notify(step.card, r, to),
          stepId: step.id,
        })),
      };
    });
  }

  private async expire(timer: FlowTimer, caughtBySweep = false): Promise<void> {
    await this.mutate(timer.runId, 'run.expired', (r) => {
      const state = r.steps[timer.stepId];
      if (r.status !== 'waiting' || !state || state.status !== 'waiting') return null;
      const now = this.now();
      state.status = 'expired';
      state.endedAt = now;
      const effects: Effect[] = [
        {
          type: 'audit',
          entry: this.auditEntry(r, { kind: 'system', name: caughtBySweep ? 'safety-sweep' : 'scheduler' }, 'run.expired', {
            step: timer.stepId,
            ...(caughtBySweep ? { caughtBy: 'the safety sweep' } : {}),
          }),
        },
      ];
      this.close(r, 'expired', `Expired on ${now} without a decision`, effects);
      if (state.groups) effects.push({ type: 'refresh-approvals', stepId: timer.stepId });
      return { run: r, effects };
    });
  }

  private async remind(timer: FlowTimer, step: ApprovalStep): Promise<void> {
    const n = timer.n ?? 1;
    await this.mutate(timer.runId, 'run.reminded', (r) => {
      const state = r.steps[step.id]!;
      if (r.status !== 'waiting' || state.status !== 'waiting' || (state.reminders ?? 0) >= n) return null;
      state.reminders = n;
      const now = this.clock();
      r.events.push({ at: now.toISOString(), type: 'reminded', stepId: step.id, detail: `reminder ${n}` });
      // A reminder due at a moment goes to the people who were waited on then: someone an
      // escalation added later has just received the approval card and is not reminded of it.
      const dueAt = timer.at ? Date.parse(timer.at) : Number.POSITIVE_INFINITY;
      const joinedLater = new Set((state.joined ?? []).filter((j) => Date.parse(j.at) > dueAt).map((j) => j.person));
      const to = r.waitingFor.filter((p) => !joinedLater.has(p));
      const effects: Effect[] = [
        {
          type: 'audit',
          entry: this.auditEntry(r, { kind: 'system', name: 'scheduler' }, 'approval.reminded', { step: step.id, n, to }),
        },
      ];
      // An approver who is away gets no reminder: their delegate does.
      for (const person of to.filter((p) => !state.delegates?.[p]))
        // A reminder is not urgent: it waits for the approver's working hours.
        effects.push({ type: 'send', to: person, card: this.deps.presenter.reminder(r, step.id, person), quiet: true });
      const nextDelay = step.remindAfter!.ms * step.reminderBackoff ** n;
      const nextAt = new Date(now.getTime() + nextDelay);
      if (state.expiresAt && nextAt.getTime() < Date.parse(state.expiresAt)) {
        effects.push({
          type: 'timer',
          at: nextAt,
          timer: { runId: r.id, stepId: step.id, kind: 'remind', n: n + 1, at: nextAt.toISOString() },
        });
      }
      return { run: r, effects };
    });
  }

  private async escalate(timer: FlowTimer, step: ApprovalStep): Promise<void> {
    await this.mutate(timer.runId, 'run.escalated', (r) => {
      const state = r.steps[step.id]!;
      if (r.status !== 'waiting' || state.status !== 'waiting' || state.escalated || !step.escalateTo) return null;
      const role = this.interpolate(step.escalateTo, r.context);
      const approvers = (state.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by);
      const missing = unsatisfiedGroups(state.groups ?? [], approvers);
      const decided = new Set((state.decisions ?? []).map((d) => d.by));
      const added = this.eligiblePeople(r, step, role).filter((p) => !decided.has(p));
      for (const group of state.groups ?? []) {
        if (!missing.includes(group)) continue;
        group.eligible = [...new Set([...group.eligible, ...added])];
        group.escalatedTo = role;
      }
      state.escalated = true;
      const before = new Set(r.waitingFor);
      r.waitingFor = this.withDelegates(state, this.stillWaitingOn(step, state.groups ?? [], approvers));
      const now = this.now();
      state.joined = [...(state.joined ?? []), ...r.waitingFor.filter((p) => !before.has(p)).map((person) => ({ person, at: now }))];
      r.events.push({ at: now, type: 'escalated', stepId: step.id, detail: role });
      const effects: Effect[] = [
        {
          type: 'audit',
          entry: this.auditEntry(r, { kind: 'system', name: 'scheduler' }, 'approval.escalated', {
            step: step.id,
            to: role,
            missing: missing.map((g) => g.role),
            added,
          }),
        },
        { type: 'refresh-status' },
      ];
      for (const person of r.waitingFor) {
        if (!before.has(person))
          effects.push({ type: 'send', to: person, card: this.deps.presenter.approval(r, step.id, person), stepId: step.id });
      }
      return { run: r, effects };
    });
  }

  /**
   * Re-routes the approvals waiting on someone who left the directory or lost the role they were
   * asked as: they are taken off each group they no longer qualify for, the group's current
   * role holders (else the step's escalation role) are added and get the card, delegations to
   * or from them end. Returns how many requests changed.
   */
  async reassign(email: string, reason: string): Promise<number> {
    let changed = 0;
    for (const waiting of await this.deps.runs.list({ waitingFor: email, status: ['waiting'] })) {
      const before = waiting.version;
      const run = await this.mutate(waiting.id, 'run.reassigned', (r) => this.reassignIn(r, email, reason));
      if (run.version !== before) changed += 1;
    }
    return changed;
  }

  /**
   * Starts (`delegate` set) or ends (`undefined`) a delegation on the approvals already waiting
   * on `principal`: the delegate gets the cards; separation of duties still holds for them.
   */
  async delegateOpen(principal: string, delegate: string | undefined): Promise<number> {
    let changed = 0;
    for (const waiting of await this.deps.runs.list({ waitingFor: principal, status: ['waiting'] })) {
      const before = waiting.version;
      const run = await this.mutate(waiting.id, 'run.delegated', (r) => {
        const step = this.flow(r.flowId).steps[r.current];
        const state = step ? r.steps[step.id] : undefined;
        if (!step || step.type !== 'approval' || r.status !== 'waiting' || state?.status !== 'waiting') return null;
        if (!(state.groups ?? []).some((g) => g.eligible.includes(principal))) return null;
        const current = state.delegates?.[principal];
        if (current === delegate || (delegate && !this.mayDelegateTo(r, step, delegate))) return null;
        const delegates = { ...state.delegates };
        if (delegate) delegates[principal] = delegate;
        else delete delegates[principal];
        state.delegates = delegates;
        const waitingBefore = new Set(r.waitingFor);
        const approvers = (state.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by);
        r.waitingFor = this.withDelegates(state, this.stillWaitingOn(step, state.groups ?? [], approvers));
        const effects: Effect[] = [
          {
            type: 'audit',
            entry: this.auditEntry(r, personActor(principal), delegate ? 'approval.delegated' : 'approval.delegation-ended', {
              step: step.id,
              principal,
              delegate: delegate ?? current,
            }),
          },
          { type: 'refresh-approvals', stepId: step.id },
        ];
        // The delegate gets the card; an approver who is back gets theirs again.
        const to = delegate && !waitingBefore.has(delegate) ? delegate : !delegate ? principal : undefined;
        if (to) effects.push({ type: 'send', to, card: this.deps.presenter.approval(r, step.id, to), stepId: step.id });
        return { run: r, effects };
      });
      if (run.version !== before) changed += 1;
    }
    return changed;
  }

  private reassignIn(r: FlowRun, email: string, reason: string): Mutation | null {
    const step = this.flow(r.flowId).steps[r.current];
    const state = step ? r.steps[step.id] : undefined;
    if (!step || step.type !== 'approval' || r.status !== 'waiting' || state?.status !== 'waiting') return null;
    const decided = new Set((state.decisions ?? []).map((d) => d.by));
    const present = (list: string[]) => list.filter((e) => e !== email && !decided.has(e) && findPersonByEmail(this.deps.org, e));
    const roles: string[] = [];
    const added = new Set<string>();
    for (const group of state.groups ?? []) {
      if (!group.eligible.includes(email) || this.holds(r, group, email)) continue;
      group.eligible = group.eligible.filter((e) => e !== email);
      let fresh = present(this.eligiblePeople(r, step, group.role)).filter((e) => !group.eligible.includes(e));
      if (group.eligible.length + fresh.length === 0 && step.escalateTo) {
        const role = this.interpolate(step.escalateTo, r.context);
        fresh = present(this.eligiblePeople(r, step, role));
        group.escalatedTo = role;
      }
      group.eligible.push(...fresh);
      for (const e of fresh) added.add(e);
      roles.push(group.role);
    }
    const delegates = { ...state.delegates };
    let delegationsEnded = false;
    for (const [principal, delegate] of Object.entries(delegates)) {
      if (principal === email || delegate === email) {
        delete delegates[principal];
        delegationsEnded = true;
      }
    }
    if (roles.length === 0 && !delegationsEnded) return null;
    state.delegates = delegates;
    const before = new Set(r.waitingFor);
    const approvers = (state.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by);
    r.waitingFor = this.withDelegates(state, this.stillWaitingOn(step, state.groups ?? [], approvers));
    const now = this.now();
    r.events.push({ at: now, type: 'reassigned', stepId: step.id, detail: `${email}: ${reason}` });
    const effects: Effect[] = [
      {
        type: 'audit',
        entry: this.auditEntry(r, { kind: 'system', name: 'directory' }, 'approval.reassigned', {
          step: step.id,
          from: email,
          to: [...added],
          roles,
          reason,
          ...(delegationsEnded ? { delegationsEnded: true } : {}),
        }),
      },
      { type: 'refresh-approvals', stepId: step.id },
      { type: 'refresh-status' },
    ];
    for (const person of r.waitingFor) {
      if (!before.has(person) && !delegates[person])
        effects.push({ type: 'send', to: person, card: this.deps.presenter.approval(r, step.id, person), stepId: step.id });
    }
    return { run: r, effects };
  }

  /** Who the actor decides as: themselves, or the approver they stand in for; refused otherwise. */
  private actingFor(run: FlowRun, step: ApprovalStep, state: StepState, actor: string): string {
    const groups = state.groups ?? [];
    const own = groups.filter((g) => g.eligible.includes(actor));
    if (own.length > 0) {
      if (own.some((g) => this.holds(run, g, actor))) return actor;
      throw new ForbiddenError(
        `You no longer hold the role this approval needs (${own.map((g) => g.role).join(', ')}): the directory changed since the request reached you.`,
        { actor, step: step.id },
      );
    }
    const standIns = Object.entries(state.delegates ?? {})
      .filter(([principal, delegate]) => delegate === actor && run.waitingFor.includes(principal))
      .map(([principal]) => principal);
    if (standIns.length > 0) {
      if (step.separationOfDuties && !this.mayDelegateTo(run, step, actor)) {
        throw new SeparationOfDutiesError(
          actor === run.requester
            ? "You can't approve or deny your own request, not even on someone else's behalf; another approver has to decide."
            : "You are this agent's only sponsor, so you can't approve its request, not even on someone else's behalf.",
        );
      }
      const principal = standIns.find((p) => groups.some((g) => g.eligible.includes(p) && this.holds(run, g, p)));
      if (principal) return principal;
    }
    this.assertMayDecide(run, step, groups, actor);
    throw new ForbiddenError(`Only these approvers can decide this step: ${groups.map((g) => g.role).join(', ')}.`, {
      actor,
      step: step.id,
    });
  }

  /** Whether a person still qualifies for a group: in the directory, and holding its role (or the escalation role). */
  private holds(run: FlowRun, group: ApprovalGroupState, email: string): boolean {
    const person = findPersonByEmail(this.deps.org, email);
    if (!person) return false;
    if (['sponsors', 'sponsor', 'requester'].includes(group.role)) return true;
    if (hasRole(person, group.role)) return true;
    // A group the run's settings spelled out as people (a business unit's approver, an on-call
    // level): no directory role has its name, so being among those people is holding it.
    if (this.settingsOf(run)?.people?.[group.role]?.includes(email)) return true;
    return group.escalatedTo !== undefined && hasRole(person, this.interpolate(group.escalatedTo, run.context));
  }

  /** Separation of duties for a delegate: never their own request, nor an agent they alone sponsor. */
  private mayDelegateTo(run: FlowRun, step: ApprovalStep, delegate: string): boolean {
    if (!findPersonByEmail(this.deps.org, delegate)) return false;
    if (!step.separationOfDuties) return true;
    const sponsors = (run.context.sponsors as string[] | undefined) ?? [];
    return delegate !== run.requester && !(sponsors.length === 1 && sponsors[0] === delegate);
  }

  /** The delegates of the approvers who are away now, among `people`. */
  private async delegatesFor(run: FlowRun, step: ApprovalStep, people: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (people.length === 0) return out;
    // One read for all the step's approvers where the store can (a card each waits on it).
    const all = this.deps.delegatesOf ? await this.deps.delegatesOf(people) : undefined;
    if (!all && !this.deps.delegateOf) return out;
    for (const person of people) {
      const delegate = all ? all.get(person) : await this.deps.delegateOf!(person);
      if (delegate && delegate !== person && this.mayDelegateTo(run, step, delegate)) out[person] = delegate;
    }
    return out;
  }

  /** `waiting` plus the delegates of those in it who are away. */
  private withDelegates(state: StepState, waiting: string[]): string[] {
    const delegates = state.delegates ?? {};
    return [...new Set([...waiting, ...waiting.flatMap((p) => (delegates[p] ? [delegates[p]] : []))])];
  }

  /** Ends a run and queues what ending means (cards, the flow's onFailure action). */
  private close(run: FlowRun, status: RunStatus, outcome: string, effects: Effect[]): void {
    const now = this.now();
    run.status = status;
    run.outcome = outcome;
    run.endedAt = now;
    run.waitingFor = [];
    run.events.push({ at: now, type: status, detail: outcome });
    if (status === 'completed') effects.push({ type: 'audit', entry: this.auditEntry(run, engineActor, 'run.completed', {}) });
    effects.push({ type: 'refresh-status' }, { type: 'on-close' });
  }

  private assertMayDecide(run: FlowRun, step: ApprovalStep, groups: ApprovalGroupState[], actor: string): void {
    if (groups.some((g) => g.eligible.includes(actor))) return;
    if (step.separationOfDuties && actor === run.requester) {
      throw new SeparationOfDutiesError("You can't approve or deny your own request; another approver has to decide.");
    }
    const sponsors = (run.context.sponsors as string[] | undefined) ?? [];
    if (step.separationOfDuties && sponsors.length === 1 && sponsors[0] === actor) {
      throw new SeparationOfDutiesError(
        "You are this agent's only sponsor, so you can't approve its request; another approver has to decide.",
      );
    }
    throw new ForbiddenError(`Only these approvers can decide this step: ${groups.map((g) => g.role).join(', ')}.`, {
      actor,
      step: step.id,
    });
  }

  private eligiblePeople(run: FlowRun, step: ApprovalStep, role: string): string[] {
    const sponsors = (run.context.sponsors as string[] | undefined) ?? [];
    return this.peopleFor(run, role).filter((email) => {
      if (!step.separationOfDuties) return true;
      if (email === run.requester) return false;
      if (sponsors.length === 1 && sponsors[0] === email) return false;
      return true;
    });
  }

  /** People holding a role; `sponsors` and `requester` name run fields. */
  private peopleFor(run: FlowRun, role: string): string[] {
    const given = this.settingsOf(run)?.people?.[role];
    if (given) return [...given];
    if (role === 'requester') return [run.requester];
    if (role === 'sponsors' || role === 'sponsor') return (run.context.sponsors as string[] | undefined) ?? [];
    return peopleWithRole(this.deps.org, role).map((p) => p.email);
  }

  /** The per-run approval settings, honoured only for flows with a `configurable` approval step. */
  private settingsOf(run: FlowRun): ApprovalSettings | undefined {
    const settings = run.context.approval as ApprovalSettings | undefined;
    if (!settings || typeof settings !== 'object') return undefined;
    const flow = this.deps.flows.get(run.flowId);
    return flow?.steps.some((s) => s.type === 'approval' && s.configurable) ? settings : undefined;
  }

  /** A configurable approval step with the run's settings applied; any other step as written. */
  private effective(step: ApprovalStep, run: FlowRun): ApprovalStep {
    const o = step.configurable ? this.settingsOf(run) : undefined;
    if (!o) return step;
    const duration = (ms: number | undefined, fallback: ApprovalStep['expiresAfter'] | undefined) =>
      ms === undefined ? fallback : { text: `${Math.round(ms / 1000)}s`, ms };
    return {
      ...step,
      ...(o.approvers ? { approvers: o.approvers.map((role) => ({ role })) } : {}),
      ...(o.quorum !== undefined ? { quorum: o.quorum } : {}),
      ...(o.separationOfDuties !== undefined ? { separationOfDuties: o.separationOfDuties } : {}),
      ...(o.escalateTo !== undefined ? { escalateTo: o.escalateTo } : {}),
      expiresAfter: duration(o.expiresAfterMs, step.expiresAfter)!,
      remindAfter: duration(o.remindAfterMs, step.remindAfter),
      escalateAfter: duration(o.escalateAfterMs, step.escalateAfter),
    };
  }

  private recipients(run: FlowRun, to: string): string[] {
    return this.peopleFor(run, this.interpolate(to, run.context));
  }

  private stillWaitingOn(step: ApprovalStep, groups: ApprovalGroupState[], approvers: string[]): string[] {
    const open = step.quorum === 'all' ? unsatisfiedGroups(groups, approvers) : groups;
    const decided = new Set(approvers);
    return [...new Set(open.flatMap((g) => g.eligible))].filter((p) => !decided.has(p));
  }

  private condition(name: string, ctx: StepContext): boolean {
    const fn = this.deps.registry.conditions[name];
    if (!fn) throw new Error(`unknown condition ${name}`);
    return fn(ctx);
  }

  private interpolate(template: string, context: Record<string, unknown>): string {
    return template.replace(/\$\{([a-zA-Z0-9_]+)\}/g, (_, key: string) => String(context[key] ?? ''));
  }

  private auditEntry(run: FlowRun, actor: Actor, action: string, details: Record<string, unknown>): AuditInput {
    return { actor, action, subject: { ...run.subject, type: run.subject.type }, details: { runId: run.id, flow: run.flowId, ...details } };
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /**
   * Applies `change` to a fresh copy of the run and stores it, with its effects in the run's
   * outbox, if nobody wrote in between, retrying on conflict; `change` re-validates every time, so
   * a lost race that made the change pointless (already approved, expired) ends in the coded error
   * or `null` for "nothing to do". The effects are then performed (see {@link Outbox.settle}).
   */
  private async mutate(
    runId: RunId,
    label: string,
    change: (run: FlowRun) => Mutation | null,
    options: DecideOptions = {},
  ): Promise<FlowRun> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.get(runId);
      const result = change(structuredClone(stored));
      if (!result) return stored;
      const next = await this.store(stored.version, label, result, options);
      if (next) return next;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 5 * (attempt + 1))));
    }
    throw new ConflictError(runId);
  }

  /** Like mutate, but against the version the caller saw: losing the race means someone else moved the run. */
  private async tryMutate(seen: FlowRun, label: string, change: (run: FlowRun) => Mutation): Promise<FlowRun | undefined> {
    return this.store(seen.version, label, change(structuredClone(seen)));
  }

  private async store(version: number, label: string, result: Mutation, options: DecideOptions = {}): Promise<FlowRun | undefined> {
    const next = { ...result.run, version: version + 1, updatedAt: this.now() };
    // A run left running must be driven on; stored as an effect, a crash cannot strand it.
    const effects = this.toPending(next, next.status === 'running' ? [...result.effects, { type: 'drive' }] : result.effects);
    const stored = await this.deps.runs.replace(next, version, effects);
    if (!stored) return undefined;
    const holder = { kind: RUN_HOLDER, id: next.id };
    const name = result.label ?? label;
    if (!options.answerFirst) {
      await this.deps.outbox.settle(holder, effects, name, stored);
      return next;
    }
    // Audit entries keep their order among themselves whichever effects come between them. Those
    // performed before the answer leave the outbox with the rest, in one write after it.
    const audited = await this.deps.outbox.settleKeeping(
      holder,
      effects.filter((e) => e.type === AUDIT_EFFECT),
      name,
      stored,
    );
    await this.settleAfter(next.id, async () => {
      await this.deps.outbox.settle(
        holder,
        effects.filter((e) => e.type !== AUDIT_EFFECT),
        `${name}.after-answer`,
        [],
        { done: audited },
      );
    });
    return next;
  }

  /**
   * Hands `settle` to the outbox (performed right after the caller answered), after the run's
   * previous deferred settle: two decisions a moment apart refresh people's cards in the order
   * they were stored, so an older view never lands last. Not src/core/keyed-serial.ts: that starts a
   * task once the previous one ends, whereas here the place in line is taken when the decision is
   * stored and the start is the outbox queue's (or the caller's, when the queue pushes back).
   */
  private async settleAfter(runId: RunId, settle: () => Promise<void>): Promise<void> {
    const previous = this.deferred.get(runId);
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    this.deferred.set(runId, finished);
    void finished.then(() => {
      if (this.deferred.get(runId) === finished) this.deferred.delete(runId);
    });
    // Queued after the previous one (or run by the caller when the queue pushes back), it waits for it.
    await this.deps.outbox.later(
      async () => {
        try {
          await previous;
          await settle();
        } finally {
          finish();
        }
      },
      { urgent: true },
    );
  }

  private toPending(run: FlowRun, effects: Effect[]): PendingEffect[] {
    const { outbox } = this.deps;
    return effects.map((effect) => {
      switch (effect.type) {
        case 'audit':
          // Recorded at the time of the transition, even when a retry appends it later.
          return outbox.effect(AUDIT_EFFECT, { ...effect.entry, at: effect.entry.at ?? this.clock() });
        case 'send':
          return outbox.effect(FLOW_EFFECTS.send, {
            runId: run.id,
            to: effect.to,
            card: effect.card,
            ...(effect.stepId ? { stepId: effect.stepId } : {}),
            ...(effect.quiet ? { quiet: true } : {}),
            kind: effect.messageKind ?? effect.card.kind,
          });
        case 'refresh-approvals':
          return outbox.effect(FLOW_EFFECTS.refreshApprovals, { runId: run.id, stepId: effect.stepId });
        case 'refresh-status':
          return outbox.effect(FLOW_EFFECTS.refreshStatus, { runId: run.id });
        case 'refresh-cards':
          return outbox.effect(FLOW_EFFECTS.refreshCards, { runId: run.id, stepId: effect.stepId });
        case 'timer':
          return outbox.effect(FLOW_EFFECTS.timer, { at: effect.at, timer: effect.timer });
        case 'on-close':
          return outbox.effect(FLOW_EFFECTS.onClose, { runId: run.id });
        case 'clear-timers':
          return outbox.effect(FLOW_EFFECTS.clearTimers, { runId: run.id });
        case 'drive':
          return outbox.effect(FLOW_EFFECTS.drive, { runId: run.id });
      }
    });
  }

  /** The performers of the flow effects; each is idempotent on the effect id. */
  private registerPerformers(): void {
    const { outbox, runs, notifier, presenter } = this.deps;
    outbox.register<{ runId: RunId; to: string; card: OutgoingCard; stepId?: string; kind: string }>({
      type: FLOW_EFFECTS.send,
      perform: async (data, { effectId }) => {
        const now = this.clock();
        const claim = await runs.claimMessage(effectId, now, new Date(now.getTime() - outbox.settings.leaseMs));
        if (claim === 'sent') return;
        if (claim === 'busy') throw new Error('another writer is sending this card');
        const ref = await sendClaimed(
          () => notifier.send(data.to, data.card),
          () => runs.releaseMessage(effectId, now),
        );
        // Nobody to reach on any channel is an answer, not a failure to retry.
        if (!ref) return;
        await runs.saveMessage({ runId: data.runId, stepId: data.stepId, person: data.to, kind: data.kind, ref }, effectId);
      },
    });
    outbox.register<{ runId: RunId }>({
      type: FLOW_EFFECTS.refreshStatus,
      perform: async ({ runId }) => {
        const run = await runs.get(runId);
        if (!run) return;
        const card = presenter.status(run);
        for (const m of await runs.messages(run.id, { kind: 'status' })) await notifier.update(m.ref as never, card);
      },
    });
    const refreshApprovals = async (run: FlowRun, stepId: string, messages: readonly StoredMessage[]) => {
      for (const m of messages) {
        if (m.stepId !== stepId || m.kind !== 'approval-request') continue;
        await notifier.update(m.ref as never, presenter.approval(run, stepId, m.person));
      }
    };
    outbox.register<{ runId: RunId; stepId: string }>({
      type: FLOW_EFFECTS.refreshApprovals,
      perform: async ({ runId, stepId }) => {
        const run = await runs.get(runId);
        if (!run) return;
        await refreshApprovals(run, stepId, await runs.messages(run.id, { stepId }));
      },
    });
    // Every decision refreshes both: two database commands fewer per click than the two effects
    // apart (each read the run, and its messages of one kind). The status cards are still updated
    // when an approval card's update fails; the effect is then retried whole (updates change nothing twice).
    outbox.register<{ runId: RunId; stepId: string }>({
      type: FLOW_EFFECTS.refreshCards,
      perform: async ({ runId, stepId }) => {
        const run = await runs.get(runId);
        if (!run) return;
        const messages = await runs.messages(run.id);
        const approvals = await refreshApprovals(run, stepId, messages).then(
          () => undefined,
          (err: unknown) => ({ err }),
        );
        const status = messages.filter((m) => m.kind === 'status');
        if (status.length > 0) {
          const card = presenter.status(run);
          for (const m of status) await notifier.update(m.ref as never, card);
        }
        if (approvals) throw approvals.err;
      },
    });
    outbox.register<{ at: Date; timer: FlowTimer }>({
      type: FLOW_EFFECTS.timer,
      perform: async ({ at, timer }, { effectId }) => this.deps.timers.schedule(new Date(at), timer, effectId),
    });
    outbox.register<{ runId: RunId }>({
      type: FLOW_EFFECTS.onClose,
      perform: async ({ runId }) => {
        const run = await runs.get(runId);
        if (!run) return;
        const flow = this.flow(run.flowId);
        if (run.status !== 'completed' && flow.onFailure) {
          const action = this.deps.registry.actions[flow.onFailure];
          await action?.({ run, flow, stepId: flow.steps[run.current]?.id ?? '' });
        }
      },
    });
    outbox.register<{ runId: RunId }>({
      type: FLOW_EFFECTS.clearTimers,
      // Timers of a closed run would change nothing when due (see onTimer); removing them keeps the schedule honest.
      perform: async ({ runId }) => this.deps.timers.clear?.(runId),
    });
    outbox.register<{ runId: RunId }>({
      type: FLOW_EFFECTS.drive,
      perform: async ({ runId }) => {
        await this.drive(runId);
      },
    });
  }
}
