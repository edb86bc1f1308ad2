import type { EvaluationVerdict, MeasuredMetrics } from '../core/evaluation.js';
import type { MessageRef } from '../core/notifications.js';
import type { PendingEffect } from '../core/ports.js';
import type { EndpointKind } from './callers.js';
import type { SealedSecret } from './secrets.js';
import type { AgentId, EvalRunId, RunId } from '../core/ids.js';

/** Why a suite runs: the request's evaluation gate, a proposed version, or the scheduled re-interview. */
export type EvalPurpose = 'request' | 'version' | 'rerun';

/** Status of a suite run; only `running` changes, and only once. */
export type EvalRunStatus = 'running' | 'completed' | 'cancelled' | 'failed';

/** One run of a role's suite against one version of an agent. */
export interface EvalRunRecord {
  id: EvalRunId;
  agentId: AgentId;
  agentName: string;
  roleId: string;
  version: string;
  purpose: EvalPurpose;
  /** The agent request waiting at its evaluation gate (purpose `request`). */
  requestRunId?: RunId;
  /** Who started it; absent for scheduled re-runs. */
  requester?: string;
  /** What changed, for a proposed version. */
  changelog?: string;
  suiteHash: string;
  suiteFile: string;
  /** The endpoint called (never its secret). */
  endpoint: { kind: EndpointKind; url: string; target?: string };
  status: EvalRunStatus;
  total: number;
  done: number;
  passed: number;
  startedAt: string;
  /** When the run's budget runs out. */
  deadlineAt: string;
  finishedAt?: string;
  /** The process running it and until when its claim holds (a restart resumes after that). */
  leaseOwner?: string;
  leaseUntil?: string;
  /** The requester's progress message, updated in place. */
  progressRef?: MessageRef;
  metrics?: MeasuredMetrics;
  verdict?: EvaluationVerdict;
  /** For versions: the comparison with the live version, when it regressed. */
  regressions?: string[];
  /** What the version was compared with, e.g. "run evr_… of 1.0.0 on the same suite". */
  comparedWith?: string;
  cancelledBy?: string;
  /** Why the run could not finish (suite changed, secret unreadable). */
  failure?: string;
}

/** One graded case of a run; stored as it finishes, so a restart resumes after the last one. */
export interface EvalCaseRecord {
  runId: string;
  caseId: string;
  /** Position in the suite. */
  index: number;
  segment?: string;
  mustRefuse: boolean;
  passed: boolean;
  refused: boolean;
  latencyMs?: number;
  costUSD?: number;
  tokens?: number;
  /** Why the call failed, when it did (unreachable, timed out, not JSON, too large…). */
  error?: string;
  /** Why the answer was graded wrong. */
  reason?: string;
  /** Clipped for display: the case input, the expected answer, what the agent said. */
  input: string;
  expected: string;
  got: string;
  at: string;
}

/** How Roster reaches one version of an agent; the secret sealed, never shown again. */
export interface EndpointRecord {
  agentId: AgentId;
  version: string;
  kind: EndpointKind;
  url: string;
  target?: string;
  secret?: SealedSecret;
  registeredBy: string;
  registeredAt: string;
}

/** Storage of suite runs, their cases and endpoints. */
export interface EvalRepository {
  /**
   * Inserts a running run with `effects` in its outbox; false when another run of the same agent
   * is still running.
   */
  insertRun(run: EvalRunRecord, effects?: readonly PendingEffect[]): Promise<boolean>;
  getRun(id: EvalRunId): Promise<EvalRunRecord | undefined>;
  /** The running run of an agent, if any. */
  activeRun(agentId: AgentId): Promise<EvalRunRecord | undefined>;
  /** Runs of an agent (or of several), newest first. */
  runs(filter: {
    agentId?: AgentId;
    agentIds?: readonly AgentId[];
    status?: EvalRunStatus[];
    purpose?: EvalPurpose;
  }): Promise<EvalRunRecord[]>;
  /** Sets fields of a running run. */
  patchRunning(id: string, patch: Partial<EvalRunRecord>): Promise<void>;
  /** Claims a running run whose lease expired (or is ours); false when another process holds it. */
  takeLease(id: string, owner: string, until: string, now: string): Promise<boolean>;
  /** Extends our claim; false when the run stopped running or another process took it. */
  renewLease(id: string, owner: string, until: string): Promise<boolean>;
  /**
   * Moves a running run to its end state once, adding `effects` to its outbox in the same update;
   * the run's outbox as stored, or undefined when it was no longer running.
   */
  finish(
    id: string,
    patch: Partial<EvalRunRecord> & { status: Exclude<EvalRunStatus, 'running'> },
    effects?: readonly PendingEffect[],
  ): Promise<PendingEffect[] | undefined>;
  /** Running runs nobody holds. */
  orphans(now: string): Promise<EvalRunRecord[]>;
  /** Stores a case result once (a repeat is ignored). */
  saveCase(c: EvalCaseRecord): Promise<void>;
  cases(runId: EvalRunId): Promise<EvalCaseRecord[]>;
  /** Stores (or replaces) the endpoint of a version, with `effects` in its outbox (one write). */
  saveEndpoint(e: EndpointRecord, effects?: readonly PendingEffect[]): Promise<void>;
  endpoint(agentId: AgentId, version: string): Promise<EndpointRecord | undefined>;
  /** The newest endpoint registered for an agent, any version. */
  latestEndpoint(agentId: AgentId): Promise<EndpointRecord | undefined>;
}
