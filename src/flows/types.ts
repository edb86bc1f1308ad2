import type { Actor, AuditLog, AuditSubject } from '../core/audit.js';
import type { Notifier, OutgoingCard } from '../core/notifications.js';
import type { OrgConfig } from '../config/schemas.js';
import type { Logger } from 'pino';
import type { FlowDefinition } from './schema.js';
import type { Outbox } from '../core/outbox.js';
import type { PendingEffect } from '../core/ports.js';
import type { AgentId, RunId } from '../core/ids.js';

/** Closed status of a run. `waiting` means it waits for people (a gate or an approval). */
export type RunStatus = 'running' | 'waiting' | 'completed' | 'rejected' | 'denied' | 'expired' | 'cancelled' | 'failed';
export const CLOSED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'rejected', 'denied', 'expired', 'cancelled', 'failed'];

export type StepStatus = 'pending' | 'running' | 'waiting' | 'passed' | 'approved' | 'denied' | 'expired' | 'done' | 'skipped' | 'failed';

export interface Decision {
  /** Whose decision it counts as: the approver, also when their delegate clicked. */
  by: string;
  /** The delegate who decided on behalf of `by` while they were away. */
  delegate?: string;
  decision: 'approve' | 'deny';
  comment?: string;
  /** ISO time. */
  at: string;
}

/** Approvers of one group, resolved by role when the step starts (and widened on escalation). */
export interface ApprovalGroupState {
  role: string;
  eligible: string[];
  escalatedTo?: string;
}

export interface GateAttempt {
  at: string;
  by: string;
  passed: boolean;
  summary: string;
  /** Where the result came from: Roster's own run of the role's suite, or numbers a person typed in. */
  source?: GateSource;
}

/** Origin of a gate's result. */
export type GateSource = 'measured' | 'self-reported';

export interface StepState {
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  groups?: ApprovalGroupState[];
  decisions?: Decision[];
  reminders?: number;
  escalated?: boolean;
  attempts?: GateAttempt[];
  reason?: string;
  /** ISO time at which a waiting step expires. */
  expiresAt?: string;
  /** People an escalation added, and when: reminders due before that are not theirs. */
  joined?: Array<{ person: string; at: string }>;
  /** Approvers away, by e-mail → the delegate who decides for them (cards go to the delegate). */
  delegates?: Record<string, string>;
}

export interface RunEvent {
  at: string;
  type: string;
  stepId?: string;
  by?: string;
  detail?: string;
}

/**
 * Per-run settings of a `configurable` approval step, written to `run.context.approval` by the
 * code that starts the run (e.g. from a catalog role's decision boundary). Only server code
 * writes a run's context, so these are trusted like the YAML.
 */
export interface ApprovalSettings {
  /** Approver groups (roles); with `people`, who holds each. */
  approvers?: string[];
  /** People per role, resolved by the starter; roles not listed are looked up in the directory. */
  people?: Record<string, string[]>;
  quorum?: 'all' | 'any' | number;
  expiresAfterMs?: number;
  remindAfterMs?: number;
  escalateAfterMs?: number;
  escalateTo?: string;
  separationOfDuties?: boolean;
}

/** A persisted flow run: plain JSON keyed by a business id, reloaded on every click or job. */
export interface FlowRun {
  id: RunId;
  flowId: string;
  status: RunStatus;
  /** E-mail of the person who started it. */
  requester: string;
  subject: AuditSubject;
  /** Facts the steps read and write (no secrets). */
  context: Record<string, unknown>;
  /** Index of the current step. */
  current: number;
  steps: Record<string, StepState>;
  /** People who may still decide the current approval step (for "waiting for me" queries). */
  waitingFor: string[];
  events: RunEvent[];
  version: number;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  /** Why it ended, for people. */
  outcome?: string;
}

/** Reference to a message sent through the notification port, kept to update it in place. */
export interface StoredMessage {
  runId: RunId;
  stepId?: string;
  person: string;
  kind: string;
  ref: Record<string, unknown>;
}

/** Persistence of runs; implemented with mongoose in src/store. */
export interface RunRepository {
  /** Stores a new run with the effects of its start in its outbox, in one write; false when a run with its id exists. */
  create(run: FlowRun, effects?: readonly PendingEffect[]): Promise<boolean>;
  get(id: RunId): Promise<FlowRun | undefined>;
  /**
   * Writes `run` only if the stored version is still `expectedVersion`, adding `effects` to its
   * outbox in the same atomic update. Resolves with the run's whole outbox as stored, or
   * undefined when someone else wrote first (then nothing is written).
   */
  replace(run: FlowRun, expectedVersion: number, effects?: readonly PendingEffect[]): Promise<PendingEffect[] | undefined>;
  list(filter: { requester?: string; waitingFor?: string; status?: RunStatus[]; agentId?: AgentId; flowId?: string }): Promise<FlowRun[]>;
  /** Keeps a sent message's reference; `id` (an effect id) makes saving it twice keep one. */
  saveMessage(message: StoredMessage, id?: string): Promise<void>;
  /**
   * Claims the sending of the message with this id (an effect id): `sent` when it was sent already,
   * `busy` when another writer claimed it after `staleBefore`, `claimed` when the caller may send it.
   */
  claimMessage(id: string, now: Date, staleBefore: Date): Promise<'sent' | 'busy' | 'claimed'>;
  /** Gives up the claim taken at `claimedAt` whose send failed, so that the retry may send at once. */
  releaseMessage(id: string, claimedAt: Date): Promise<void>;
  messages(runId: RunId, filter?: { stepId?: string; kind?: string }): Promise<StoredMessage[]>;
}

/** A timer the engine asks for; delivered back through {@link FlowEngine.onTimer}. */
export interface FlowTimer {
  runId: RunId;
  stepId: string;
  kind: 'remind' | 'escalate' | 'expire';
  /** Reminder number (1, 2, …). */
  n?: number;
  /** ISO time the timer is due. */
  at?: string;
}

/** Durable timers (Agenda jobs), so they survive a restart. */
export interface FlowTimers {
  /** Schedules a timer; with `key`, scheduling it again keeps the one timer. */
  schedule(at: Date, timer: FlowTimer, key?: string): Promise<void>;
  /** Removes every timer of a run (it ended); removing none is fine. */
  clear?(runId: RunId): Promise<void>;
}

/** What a named check, action or condition sees. */
export interface StepContext {
  run: Readonly<FlowRun>;
  flow: FlowDefinition;
  stepId: string;
}

export type CheckResult = { ok: true } | { ok: false; reason: string };
export type CheckFn = (ctx: StepContext) => Promise<CheckResult> | CheckResult;
/** An action returns facts to merge into the run's context (never secrets). */
export type ActionFn = (ctx: StepContext) => Promise<Record<string, unknown> | void>;
export type ConditionFn = (ctx: StepContext) => boolean;

/** Cards the engine sends and updates; the presenter turns a run into the card for one person. */
export interface FlowPresenter {
  /** The requester's status message, updated in place as the run moves. */
  status(run: FlowRun): OutgoingCard;
  /** The approval card for one person (their buttons depend on whether they may still decide). */
  approval(run: FlowRun, stepId: string, viewer: string): OutgoingCard;
  /** A reminder for someone who still has to decide. */
  reminder(run: FlowRun, stepId: string, viewer: string): OutgoingCard;
  /** A card named by a notify step. */
  notify(card: string, run: FlowRun, recipient: string): OutgoingCard;
  /** Sent to the people waited on when a gate starts waiting (e.g. "submit evaluation results"). */
  gateWaiting?(run: FlowRun, stepId: string, gate: string, recipient: string): OutgoingCard | undefined;
}

/** The named code behind the flows' YAML. */
export interface StepRegistry {
  checks: Record<string, CheckFn>;
  actions: Record<string, ActionFn>;
  conditions: Record<string, ConditionFn>;
  gates: Record<string, { waitingOn: (ctx: StepContext) => string[] }>;
}

export interface FlowEngineDeps {
  flows: ReadonlyMap<string, FlowDefinition>;
  registry: StepRegistry;
  runs: RunRepository;
  audit: AuditLog;
  notifier: Notifier;
  timers: FlowTimers;
  presenter: FlowPresenter;
  /** Where the effects of transitions are stored and performed. */
  outbox: Outbox;
  /** Test-only crash hook (src/core/fault-point.ts). */
  faultPoint?: (name: string) => void;
  org: OrgConfig;
  log: Logger;
  clock?: () => Date;
  /** Run ids; injectable for tests. */
  newRunId?: () => RunId;
  /** Who decides for an approver who is away now (out of office); undefined when nobody does. */
  delegateOf?: (email: string) => Promise<string | undefined>;
  /** `delegateOf` for several approvers in one read: who decides for each of them who is away. */
  delegatesOf?: (emails: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /** Brings the directory up to date before a decision (changes other replicas made). */
  refreshDirectory?: () => Promise<void>;
}

export type { Actor };
