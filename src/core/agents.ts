import type { AgentSearchFilter, AgentSearchPage } from './agent-search.js';
import type { PendingEffect } from './ports.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EvaluationSubmission, EvaluationVerdict } from './evaluation.js';
import type { AgentStatus } from './lifecycle.js';
import type { AgentId, GrantId, RunId } from './ids.js';

export { newAgentId } from './ids.js';

/** A telemetry credential: only its hash is stored; the key itself is shown once. */
export interface AgentCredential {
  id: string;
  prefix: string;
  hash: string;
  issuedAt: string;
  revokedAt?: string;
  /** Rotated out: the key works until this time (the grace period), then is refused. */
  expiresAt?: string;
  /** Who asked for this key (absent for the onboarding key) and why it replaced the previous ones. */
  issuedBy?: string;
}

export interface KnowledgeNote {
  id: string;
  kind: 'failure-mode' | 'high-value-interaction' | 'note';
  text: string;
  by: string;
  at: string;
}

/** The digital employee (SPEC.md "Agent"). */
export interface AgentRecord {
  id: AgentId;
  name: string;
  catalogRoleId: string;
  version: string;
  sponsors: string[];
  businessUnit: string;
  status: AgentStatus;
  /** The status a suspension interrupted (`active` or `probation`); Reactivate brings it back. */
  suspendedFrom?: AgentStatus;
  /**
   * The status a retirement run moved the agent from, stored with the move: a step run again after
   * a crash, and a denied or lapsed retirement, give back this status, not `retiring`.
   */
  retiringFrom?: { status: AgentStatus; runId: string };
  /** People named as sponsors who have not accepted (or, when they named themselves, not been confirmed) yet: they do not count as sponsors. */
  proposedSponsors?: ProposedSponsor[];
  purpose: string;
  justification?: string;
  requestedBy: string;
  requestRunId: RunId;
  credentials: AgentCredential[];
  evaluation?: {
    submission: EvaluationSubmission;
    verdict: EvaluationVerdict;
    by: string;
    at: string;
    /** `measured`: Roster ran the role's suite (run and suite hash kept); otherwise typed in by `by`. */
    source?: 'measured' | 'self-reported';
    evalRunId?: string;
    suiteHash?: string;
    /** Why results were typed in instead of measured. */
    reason?: string;
  };
  baseline?: { accuracy: number; p95LatencyMs: number; costPerTaskUSD: number };
  predecessorId?: AgentId;
  successorId?: AgentId;
  knowledgeNotes: KnowledgeNote[];
  complianceTags: string[];
  createdAt: string;
  updatedAt: string;
  statusChangedAt: string;
}

/** A person named as sponsor, waiting: `by` named them (themselves when they asked to take an ownerless agent). */
export interface ProposedSponsor {
  /** `sp_` + random hex: what an IT admin's Confirm button names. */
  id: string;
  email: string;
  by: string;
  at: string;
}

export type GrantStatus = 'pending' | 'active' | 'expired' | 'revoked' | 'denied';

export interface GrantRecord {
  id: GrantId;
  agentId: AgentId;
  scope: string;
  reason: string;
  requestedBy: string;
  approvedBy: string[];
  /** ISO time; empty while `pending` (the clock starts at approval). */
  startsAt: string;
  /** ISO time; empty while `pending`. */
  expiresAt: string;
  status: GrantStatus;
  /** `default` for catalog defaults granted at onboarding, `break-glass`, else the access request's run id. */
  source: string;
  createdAt: string;
  /** How long the grant lasts once approved (access requests and break-glass). */
  durationMs?: number;
  /** The active grant this one extends; it is superseded when this one becomes active. */
  extends?: GrantId;
  /** When and why it stopped being pending or active (revoked, expired, denied, superseded). */
  endedAt?: string;
  endedBy?: string;
  endReason?: string;
  /** Break-glass: who from security confirmed the use after the fact. */
  confirmedBy?: string;
  /** The reminders sent before expiry (their offsets in ms), each once. */
  remindedBefore?: number[];
  /** A sponsor answered a reminder with Let expire: who and when (no more reminders are sent). */
  letExpireBy?: string;
  letExpireAt?: string;
  /** The latest access review (attestation) this grant was part of. */
  review?: GrantReview;
}

/** A grant's place in an access review cycle, and its answer (once). */
export interface GrantReview {
  cycle: string;
  /** ISO time after which an unanswered grant is escalated and enforced. */
  dueAt: string;
  answer?: 'keep' | 'revoke' | 'flagged' | 'revoked-unanswered';
  by?: string;
  at?: string;
}

export interface AgentFilter {
  ids?: string[];
  sponsor?: string;
  requestedBy?: string;
  businessUnit?: string;
  status?: AgentStatus[];
  /** At most this many, newest first; every match when unset or 0 (read page by page, never cut). */
  limit?: number;
}

/** The holder kind of agents in the outbox: effects of sponsorship and status changes. */
export const AGENT_HOLDER = 'agent';

/** Persistence of agents; implemented with mongoose in src/store. */
export interface AgentRepository {
  /**
   * Inserts a new agent, with `effects` in its outbox (one write); throws DuplicateError when a
   * live agent of that name exists in the business unit.
   */
  insert(agent: AgentRecord, effects?: readonly PendingEffect[]): Promise<void>;
  get(id: AgentId): Promise<AgentRecord | undefined>;
  findByName(businessUnit: string, name: string): Promise<AgentRecord | undefined>;
  list(filter: AgentFilter): Promise<AgentRecord[]>;
  /**
   * The agents `list` returns (without `limit`), one page per read as it is read: a caller that
   * goes through every active agent (the check-in sweep) holds a page of them, not all of them.
   */
  listPages(filter: Omit<AgentFilter, 'limit'>): AsyncIterable<AgentRecord[]>;
  /** One page of a `find` (see AgentSearch), every filter in the query, ordered by name then id. */
  search(filter: AgentSearchFilter, page: { skip: number; limit: number }): Promise<AgentSearchPage>;
  /** Changes status only if it is still `from`, adding `effects` to the agent's outbox (atomic); false when it was not. */
  transition(
    id: AgentId,
    from: AgentStatus,
    to: AgentStatus,
    patch?: Partial<AgentRecord>,
    effects?: readonly PendingEffect[],
  ): Promise<boolean>;
  /** Sets the fields, adding `effects` to the agent's outbox in the same update. */
  update(id: AgentId, patch: Partial<AgentRecord>, effects?: readonly PendingEffect[]): Promise<void>;
  /**
   * Answers a proposed sponsorship atomically: removes `email` from the proposed sponsors and, when
   * accepted, adds it to the sponsors, with `effects` in the agent's outbox. False when it was not
   * proposed (any more): exactly once.
   */
  answerSponsorship(id: AgentId, email: string, accept: boolean, effects?: readonly PendingEffect[]): Promise<boolean>;
  /**
   * Adds a proposed sponsor unless that person is already proposed or a sponsor, with `effects` in
   * the agent's outbox (atomic); false otherwise.
   */
  proposeSponsor(id: AgentId, proposal: ProposedSponsor, effects?: readonly PendingEffect[]): Promise<boolean>;
  /** Adds a credential only when the agent has none yet (exactly once per onboarding). */
  addFirstCredential(id: AgentId, credential: AgentCredential, effects?: readonly PendingEffect[]): Promise<boolean>;
  /** The agent holding a credential with this SHA-256 hash (an indexed look-up), whatever its state. */
  findByKeyHash(hash: string): Promise<AgentRecord | undefined>;
  /**
   * Replaces the agent's credentials only if it still holds exactly the credentials `expectedIds`
   * and its status is one of `statuses` (atomic compare-and-set, with `effects` in the agent's
   * outbox); false when either changed.
   */
  replaceCredentials(
    id: AgentId,
    expectedIds: string[],
    statuses: AgentStatus[],
    next: AgentCredential[],
    effects?: readonly PendingEffect[],
  ): Promise<boolean>;
}

export interface GrantRepository {
  /** The agents holding an active grant of `scope` (one indexed read). */
  holdersOf(scope: string): Promise<AgentId[]>;
  /** Inserts grants; ones with an id that exists already are left as they are (idempotent). */
  insertMany(grants: GrantRecord[]): Promise<void>;
  /**
   * Inserts one grant with `effects` in its outbox (one write); false, and nothing changed, when a
   * grant with that id exists already.
   */
  insert(grant: GrantRecord, effects?: readonly PendingEffect[]): Promise<boolean>;
  listForAgent(agentId: AgentId): Promise<GrantRecord[]>;
  get(id: GrantId): Promise<GrantRecord | undefined>;
  /** Every matching grant (read page by page, never cut). */
  list(filter: {
    agentIds?: AgentId[];
    status?: GrantStatus[];
    source?: string;
    reviewCycle?: string;
    requestedBy?: string;
  }): Promise<GrantRecord[]>;
  /**
   * Sets the fields only if the grant's status is still one of `from` (atomic); resolves the
   * updated grant, or undefined when the status had already moved on.
   */
  transition(
    id: GrantId,
    from: GrantStatus[],
    patch: Partial<GrantRecord>,
    effects?: readonly PendingEffect[],
  ): Promise<GrantRecord | undefined>;
  /**
   * Records that the reminder `offsetMs` before expiry was sent, only if the grant is still active
   * and it was not recorded before (atomic), with `effects` in the grant's outbox; false otherwise.
   */
  markReminded(id: GrantId, offsetMs: number, effects?: readonly PendingEffect[]): Promise<boolean>;
  /**
   * Records the answer of a review cycle only if the grant is in that cycle and unanswered (atomic,
   * with `effects` in the grant's outbox); false otherwise.
   */
  answerReview(
    id: GrantId,
    cycle: string,
    answer: Required<Pick<GrantReview, 'answer' | 'by' | 'at'>>,
    effects?: readonly PendingEffect[],
  ): Promise<boolean>;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A new telemetry key and the credential that stores only its hash. */
export function issueTelemetryKey(agentId: string, now: Date): { key: string; credential: AgentCredential } {
  const secret = randomBytes(24).toString('base64url');
  const key = `rst_${agentId.slice(4, 12)}_${secret}`;
  return {
    key,
    credential: { id: `cred_${randomBytes(6).toString('hex')}`, prefix: key.slice(0, 16), hash: sha256(key), issuedAt: now.toISOString() },
  };
}

/** Constant-time comparison of a presented key with a stored hash. */
export function keyMatches(key: string, hash: string): boolean {
  const a = Buffer.from(sha256(key), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Normalised form of a name for uniqueness within a business unit. */
export function nameKey(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, ' ');
}
