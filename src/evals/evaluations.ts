import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { EvalCase, EvalSuite, EvalSuites } from '../config/eval-suites.js';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, roleById } from '../config/directory.js';
import type { AgentRecord, AgentRepository } from '../core/agents.js';
import type { AuditInput } from '../core/audit.js';
import { AUDIT_EFFECT } from '../core/audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from '../core/chat-effects.js';
import { DuplicateError, InvalidInputError, NotFoundError, NotWaitingError, UnknownPersonError } from '../core/errors.js';
import {
  evaluateMeasured,
  measure,
  measuredSubmission,
  regressions,
  versionOutcome,
  type EvaluationVerdict,
  type MeasuredMetrics,
} from '../core/evaluation.js';
import type { MeasuredAccuracy } from '../core/checkin-assessment.js';
import type { MeasuredReader } from '../core/checkin-service.js';
import type { Notifier, OutgoingCard } from '../core/notifications.js';
import type { Outbox } from '../core/outbox.js';
import type { PendingEffect } from '../core/ports.js';
import { assertMayManageEvaluation } from '../core/policies.js';
import type { FlowEngine } from '../flows/engine.js';
import type { Logger } from '../logger.js';
import { createCaller, ENDPOINT_KINDS, httpJudge, type AgentCaller, type EndpointConfig } from './callers.js';
import { expectedText, grade, type Judge } from './graders.js';
import { EndpointError, HostPolicy } from './guarded-http.js';
import type { SecretBox } from './secrets.js';
import type { EndpointRecord, EvalCaseRecord, EvalPurpose, EvalRepository, EvalRunRecord } from './types.js';
import { trustedId, type AgentId, type EvalRunId, type RunId } from '../core/ids.js';

/** Why a run stopped early: the budget ran out, someone cancelled, or this process is stopping. */
class RunStop extends EndpointError {
  constructor(
    readonly kind: 'budget' | 'cancel' | 'stop',
    reason: string,
  ) {
    super(reason);
  }
}

/** A run's counts in this process, and its case writes still in flight. */
interface Tally {
  done: number;
  passed: number;
  writes: Array<Promise<void>>;
}

/** What registering an endpoint takes, validated at the edge. */
export const endpointInputSchema = z.object({
  kind: z.enum(ENDPOINT_KINDS, { error: 'Pick how Roster reaches the agent: http, openai or mcp.' }),
  url: z.string().trim().min(1, 'Give the endpoint URL.').max(2000),
  target: z.string().trim().max(200).optional(),
  secret: z.string().max(4000).optional(),
});
export type EndpointInput = z.input<typeof endpointInputSchema>;

/** The holder kind of evaluation runs in the outbox (the `eval_runs` collection). */
export const EVAL_RUN_HOLDER = 'eval-run';
/** The holder kind of registered endpoints (`agentId:version`) in the outbox: a registration's audit entry. */
export const EVAL_ENDPOINT_HOLDER = 'eval-endpoint';

/** Outbox effects of a run's end, besides its audit entry and verdict cards. */
export const EVAL_EFFECTS = {
  /** The requester's progress message shows how the run ended. */
  progress: 'evaluation.progress',
  /** A completed run's verdict goes to the request's gate or the version check (or, a passing re-interview, on record). */
  outcome: 'evaluation.outcome',
} as const;

/** Hooks the evaluation service calls when a run ends (the gate, development, check-ins). */
export interface EvaluationHooks {
  /** A request's gate gets the measured verdict. */
  gate?(run: EvalRunRecord, verdict: EvaluationVerdict, metrics: MeasuredMetrics): Promise<void>;
  /** A proposed version's outcome: promotion when it passed and did not regress, else refused with the numbers. */
  version?(run: EvalRunRecord, verdict: EvaluationVerdict, metrics: MeasuredMetrics, regressions: string[]): Promise<void>;
}

export interface EvaluationDeps {
  org: OrgConfig;
  /** The progress and verdict cards (src/views/evaluation-cards.ts). */
  cards: EvaluationCards;
  suites: EvalSuites;
  repo: EvalRepository;
  agents: AgentRepository;
  notifier: Notifier;
  /** A run's end and its effects are one update; the outbox performs them (again after a crash). */
  outbox: Outbox;
  engine: FlowEngine;
  box: SecretBox;
  log: Logger;
  hooks?: EvaluationHooks;
  clock?: () => Date;
  /** How long a process's claim on a run lasts without renewal (a restart resumes after it). */
  leaseMs?: number;
  /** Minimum time between two progress updates of one run. */
  progressEveryMs?: number;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/** A duration in seconds as the cards and refusals write it, e.g. "4.2 s". */
export const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
/** An amount in US dollars, with four decimals below a cent. */
export const usd = (n: number) => `$${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;

/** Presenter port: the cards of an evaluation run. */
export interface EvaluationCards {
  /** The progress message: n of m cases, elapsed, and Cancel while it runs (`final`: no Cancel). */
  progress(run: EvalRunRecord, final?: boolean): OutgoingCard;
  /** The verdict: each metric against the role's threshold, the run's cost, and the failing cases a click away. */
  verdict(run: EvalRunRecord): OutgoingCard;
}

/**
 * The interview: runs a catalog role's suite against a candidate agent where it runs, with
 * bounded concurrency, a per-case timeout and a total budget; stores every case as it finishes
 * (a restart resumes from there), posts progress, can be cancelled, never runs two suites against
 * one agent at once, and hands the measured verdict to the request's gate or the version check.
 */
export class Evaluations implements MeasuredReader {
  readonly policy: HostPolicy;
  private readonly clock: () => Date;
  private readonly instanceId = `proc_${randomBytes(6).toString('hex')}`;
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly lastProgress = new Map<string, number>();
  private stopped = false;

  constructor(private readonly deps: EvaluationDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.policy = new HostPolicy(deps.org.settings.evaluation.allowedHosts);
    this.registerPerformers();
  }

  /** The suite of a catalog role, if IT wrote one. */
  suite(roleId: string): EvalSuite | undefined {
    return this.deps.suites.get(roleId);
  }

  /** Registers how Roster reaches a version of an agent; the secret is sealed and never shown again. */
  async registerEndpoint(actorEmail: string, agentId: AgentId, version: string | undefined, input: EndpointInput): Promise<void> {
    const actor = this.person(actorEmail);
    const agent = await this.agent(agentId);
    this.assertManager(actor, agent, 'register its endpoint');
    const parsed = endpointInputSchema.safeParse(input);
    if (!parsed.success) {
      const fields: Record<string, string> = {};
      for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'url')] ??= issue.message;
      throw new InvalidInputError(Object.values(fields).join(' '), fields);
    }
    const e = parsed.data;
    try {
      this.policy.check(e.url);
    } catch (err) {
      const message = `${(err as Error).message}.`;
      throw new InvalidInputError(message.charAt(0).toUpperCase() + message.slice(1), { url: message });
    }
    if (e.kind === 'mcp' && !e.target) throw new InvalidInputError('Name the MCP tool Roster calls.', { target: 'Name the MCP tool.' });
    const v = version ?? agent.version;
    await this.saveEndpoint(
      {
        agentId: agent.id,
        version: v,
        kind: e.kind,
        url: e.url,
        ...(e.target ? { target: e.target } : {}),
        ...(e.secret ? { secret: this.deps.box.seal(e.secret, agent.id) } : {}),
        registeredBy: actor.email,
        registeredAt: this.clock().toISOString(),
      },
      { secret: e.secret ? 'stored encrypted' : 'none' },
    );
  }

  /** Stores an endpoint with its audit entry in its outbox, then performs it: a crash after the write still audits it. */
  private async saveEndpoint(endpoint: EndpointRecord, extra: { secret: string }): Promise<void> {
    const effects = [
      this.auditEffect(endpoint.registeredBy, 'evaluation.endpoint-registered', endpoint.agentId, {
        version: endpoint.version,
        kind: endpoint.kind,
        url: endpoint.url,
        ...(endpoint.target ? { target: endpoint.target } : {}),
        ...extra,
      }),
    ];
    await this.deps.repo.saveEndpoint(endpoint, effects);
    await this.deps.outbox.settle(
      { kind: EVAL_ENDPOINT_HOLDER, id: `${endpoint.agentId}:${endpoint.version}` },
      effects,
      'evaluation.endpoint-registered',
    );
  }

  /**
   * Registers how Roster reaches the live version and starts the suite: the request's gate while
   * the agent is requested, else a re-interview of the working agent.
   */
  async registerAndStart(actorEmail: string, agentId: AgentId, input: EndpointInput): Promise<EvalRunRecord> {
    const agent = await this.agent(agentId);
    await this.registerEndpoint(actorEmail, agent.id, undefined, input);
    return this.start(actorEmail, { agentId: agent.id, purpose: agent.status === 'requested' ? 'request' : 'rerun' });
  }

  /**
   * The endpoint of a proposed version: the newest registered one (kind, tool or model, sealed
   * secret) with its URL replaced when a new one is given.
   */
  async registerVersionEndpoint(actorEmail: string, agentId: AgentId, version: string, url?: string): Promise<void> {
    const actor = this.person(actorEmail);
    const agent = await this.agent(agentId);
    this.assertManager(actor, agent, 'register its endpoint');
    const previous = await this.deps.repo.latestEndpoint(agent.id);
    if (!previous && !url)
      throw new InvalidInputError(`Roster doesn't know how to reach ${agent.name} yet: add endpoint=<url> to the command.`);
    if (url) {
      try {
        this.policy.check(url);
      } catch (err) {
        throw new InvalidInputError(`The endpoint: ${(err as Error).message}.`, { url: (err as Error).message });
      }
    }
    await this.saveEndpoint(
      {
        ...(previous ?? { kind: 'http' as const }),
        agentId: agent.id,
        version,
        url: url ?? previous!.url,
        registeredBy: actor.email,
        registeredAt: this.clock().toISOString(),
      },
      { secret: previous?.secret ? 'kept encrypted' : 'none' },
    );
  }

  /**
   * Starts a suite run against an agent: `request` (its evaluation gate must be waiting),
   * `version` (a proposed version; its endpoint, or the live one's with `url` replaced) or
   * `rerun` (scheduled, no actor).
   */
  async start(
    actorEmail: string | undefined,
    input: { agentId: AgentId; purpose: EvalPurpose; version?: string; changelog?: string },
  ): Promise<EvalRunRecord> {
    const actor = actorEmail ? this.person(actorEmail) : undefined;
    const agent = await this.agent(input.agentId);
    if (actor) this.assertManager(actor, agent, 'start its evaluation');
    const suite = this.suite(agent.catalogRoleId);
    if (!suite) throw new NotFoundError('an evaluation suite for the role', agent.catalogRoleId);
    const version = input.version ?? agent.version;
    let requestRunId: RunId | undefined;
    if (input.purpose === 'request') {
      const request = await this.deps.engine.get(agent.requestRunId);
      const step = this.deps.engine.flow(request.flowId).steps[request.current];
      if (request.status !== 'waiting' || step?.type !== 'gate' || step.gate !== 'evaluation')
        throw new NotWaitingError(`${agent.name} isn't waiting for its evaluation (its request is ${request.status}).`);
      requestRunId = request.id;
    } else if (!['active', 'probation'].includes(agent.status)) {
      throw new InvalidInputError(`${agent.name} is ${agent.status}; only a working agent is re-interviewed.`);
    }
    const endpoint = await this.deps.repo.endpoint(agent.id, version);
    if (!endpoint)
      throw new InvalidInputError(`Roster doesn't know how to reach ${agent.name} ${version} yet: register its endpoint first.`, {
        url: 'Register the endpoint first.',
      });
    const now = this.clock();
    const run: EvalRunRecord = {
      id: trustedId('EvalRunId', `evr_${randomBytes(8).toString('hex')}`),
      agentId: agent.id,
      agentName: agent.name,
      roleId: agent.catalogRoleId,
      version,
      purpose: input.purpose,
      ...(requestRunId ? { requestRunId } : {}),
      ...(actor ? { requester: actor.email } : {}),
      ...(input.changelog ? { changelog: input.changelog } : {}),
      suiteHash: suite.hash,
      suiteFile: suite.file,
      endpoint: { kind: endpoint.kind, url: endpoint.url, ...(endpoint.target ? { target: endpoint.target } : {}) },
      status: 'running',
      total: suite.cases.length,
      done: 0,
      passed: 0,
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + suite.budgetMs).toISOString(),
      leaseOwner: this.instanceId,
      leaseUntil: new Date(Date.now() + this.leaseMs()).toISOString(),
    };
    const effects = [
      this.auditEffect(actor?.email, 'evaluation.started', agent.id, {
        evalRunId: run.id,
        purpose: run.purpose,
        version,
        suiteHash: suite.hash,
        cases: run.total,
        endpoint: run.endpoint,
      }),
    ];
    if (!(await this.deps.repo.insertRun(run, effects))) {
      const active = await this.deps.repo.activeRun(agent.id);
      throw new DuplicateError(
        `${agent.name} is already being evaluated${active ? ` (${active.done} of ${active.total} cases, run ${active.id})` : ''}; one suite runs against an agent at a time.`,
      );
    }
    await this.deps.outbox.settle({ kind: EVAL_RUN_HOLDER, id: run.id }, effects, 'evaluation.started');
    // The progress message is sent directly: its reference is stored on the run to update it in
    // place, and a lost one costs only the live count (the end of the run goes through the outbox).
    const to = this.recipients(run, agent);
    const ref = to[0] ? await this.deps.notifier.send(to[0], this.deps.cards.progress(run)).catch(() => undefined) : undefined;
    if (ref) {
      run.progressRef = ref;
      await this.deps.repo.patchRunning(run.id, { progressRef: ref });
    }
    this.launch(run.id);
    return run;
  }

  /**
   * Cancels a running suite. Who may (its starter, the agent's requester, its sponsors or an IT
   * admin) is the `evaluation.cancel` command's rule, asked on the bus.
   */
  async cancel(actorEmail: string, runId: EvalRunId): Promise<EvalRunRecord> {
    const actor = this.person(actorEmail);
    const run = await this.run(runId);
    const finishedAt = this.clock().toISOString();
    const effects = [
      this.auditEffect(actor.email, 'evaluation.cancelled', run.agentId, { evalRunId: run.id, done: run.done, total: run.total }),
      this.deps.outbox.effect(EVAL_EFFECTS.progress, { runId: run.id }),
    ];
    const stored = await this.deps.repo.finish(run.id, { status: 'cancelled', cancelledBy: actor.email, finishedAt }, effects);
    if (!stored) throw new InvalidInputError(`That evaluation of ${run.agentName} already ended.`);
    this.running.get(run.id)?.controller.abort(new RunStop('cancel', 'cancelled'));
    await this.deps.outbox.settle({ kind: EVAL_RUN_HOLDER, id: run.id }, effects, 'evaluation.cancelled', stored);
    return (await this.deps.repo.getRun(run.id)) ?? run;
  }

  /** The newest completed run of an agent's version on a suite hash. */
  async lastCompleted(agentId: AgentId, version: string, suiteHash: string): Promise<EvalRunRecord | undefined> {
    return (await this.deps.repo.runs({ agentId, status: ['completed'] })).find((r) => r.version === version && r.suiteHash === suiteHash);
  }

  /**
   * What check-ins read: per agent, the newest completed scheduled re-run of its live version,
   * held against the measured run that admitted that version on the same suite (or, without one,
   * the baseline recorded at onboarding). One read for all the agents.
   */
  async latestOf(agents: readonly AgentRecord[]): Promise<Map<string, MeasuredAccuracy>> {
    const out = new Map<string, MeasuredAccuracy>();
    const runs = await this.deps.repo.runs({ agentIds: agents.map((a) => a.id), status: ['completed'] });
    for (const agent of agents) {
      const mine = runs.filter((r) => r.agentId === agent.id && r.version === agent.version && r.metrics);
      const rerun = mine.find((r) => r.purpose === 'rerun');
      if (!rerun) continue;
      const admitted = mine.find((r) => r.purpose !== 'rerun' && r.suiteHash === rerun.suiteHash);
      const baseline = admitted
        ? { accuracy: admitted.metrics!.accuracy, source: 'measured' as const, evalRunId: admitted.id }
        : agent.baseline
          ? { accuracy: agent.baseline.accuracy, source: 'recorded' as const }
          : undefined;
      out.set(agent.id, {
        evalRunId: rerun.id,
        accuracy: rerun.metrics!.accuracy,
        cases: rerun.metrics!.cases,
        at: rerun.finishedAt ?? rerun.startedAt,
        suiteHash: rerun.suiteHash,
        ...(baseline ? { baseline } : {}),
      });
    }
    return out;
  }

  /** Picks up runs whose process died or stopped (their claim expired): they continue after their last finished case. */
  async resumeOrphans(): Promise<number> {
    if (this.stopped) return 0;
    const orphans = await this.deps.repo.orphans(new Date().toISOString());
    for (const run of orphans) this.launch(run.id);
    return orphans.length;
  }

  /** Re-interviews working agents whose last run on their role's suite is older than its cadence. */
  async rerunSweep(now = this.clock()): Promise<number> {
    let started = 0;
    for (const agent of await this.deps.agents.list({ status: ['active', 'probation'] })) {
      const suite = this.suite(agent.catalogRoleId);
      const role = roleById(this.deps.org, agent.catalogRoleId);
      if (!suite || !role) continue;
      if (!(await this.deps.repo.endpoint(agent.id, agent.version))) continue;
      const cadence = suite.rerunEveryMs ?? role.checkInCadence.ms;
      const last = (await this.deps.repo.runs({ agentId: agent.id })).find((r) => r.version === agent.version && r.status !== 'cancelled');
      if (last && (last.status === 'running' || now.getTime() - Date.parse(last.startedAt) < cadence)) continue;
      try {
        await this.start(undefined, { agentId: agent.id, purpose: 'rerun' });
        started += 1;
      } catch (err) {
        this.deps.log.warn({ agentId: agent.id, code: (err as { code?: string }).code }, 'scheduled re-evaluation not started');
      }
    }
    return started;
  }

  /** Stops this process's runs without ending them: another process (or this one restarted) resumes them. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { controller } of this.running.values()) controller.abort(new RunStop('stop', 'Roster is stopping'));
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Number of runs this process is executing now. */
  get activeCount(): number {
    return this.running.size;
  }

  private leaseMs(): number {
    return this.deps.leaseMs ?? 30_000;
  }

  private launch(runId: EvalRunId): void {
    if (this.stopped || this.running.has(runId)) return;
    const controller = new AbortController();
    const done = this.execute(runId, controller)
      .catch((err: unknown) => this.deps.log.error({ err, evalRunId: runId }, 'an evaluation run failed unexpectedly'))
      .finally(() => {
        this.running.delete(runId);
        this.lastProgress.delete(runId);
      });
    this.running.set(runId, { controller, done });
  }

  private async execute(runId: EvalRunId, controller: AbortController): Promise<void> {
    const { repo } = this.deps;
    const lease = () => new Date(Date.now() + this.leaseMs()).toISOString();
    if (!(await repo.takeLease(runId, this.instanceId, lease(), new Date().toISOString()))) return;
    const run = await repo.getRun(runId);
    if (!run || run.status !== 'running') return;
    const suite = this.suite(run.roleId);
    if (!suite || suite.hash !== run.suiteHash) {
      return this.fail(run, 'The suite changed since this run started; start the evaluation again.');
    }
    const registered = await repo.endpoint(run.agentId, run.version);
    const secret = registered?.secret ? this.deps.box.open(registered.secret, run.agentId) : undefined;
    if (!registered || (registered.secret && secret === undefined)) {
      return this.fail(run, 'The endpoint secret cannot be read (ROSTER_EVAL_SECRET_KEY changed?); register the endpoint again.');
    }
    const endpoint: EndpointConfig = {
      kind: registered.kind,
      url: registered.url,
      ...(registered.target ? { target: registered.target } : {}),
      ...(secret ? { secret } : {}),
    };
    const signal = controller.signal;
    const budget = setTimeout(
      () => controller.abort(new RunStop('budget', `the run's budget of ${seconds(suite.budgetMs)} ran out`)),
      Math.max(0, Date.parse(run.deadlineAt) - this.clock().getTime()),
    );
    const renew = setInterval(
      () => {
        void repo.renewLease(runId, this.instanceId, lease()).then(
          (ok) => {
            if (!ok && !signal.aborted) controller.abort(new RunStop('cancel', 'the run ended elsewhere'));
          },
          () => undefined,
        );
      },
      Math.max(200, this.leaseMs() / 3),
    );
    let caller: AgentCaller | undefined;
    try {
      const stored = await repo.cases(runId);
      const done = new Set(stored.map((c) => c.caseId));
      const todo = suite.cases.map((c, index) => ({ c, index })).filter(({ c }) => !done.has(c.id));
      const tally: Tally = { done: stored.length, passed: stored.filter((c) => c.passed).length, writes: [] };
      let setupError: string | undefined;
      try {
        caller = await createCaller(endpoint, { policy: this.policy, suite, maxBytes: this.maxBytes(), signal, runId });
      } catch (err) {
        setupError = err instanceof EndpointError ? err.reason : 'the endpoint could not be set up';
      }
      const judge = suite.judgeUrl ? httpJudge(suite.judgeUrl, this.policy, suite.caseTimeoutMs, signal) : undefined;
      let next = 0;
      const worker = async () => {
        while (next < todo.length && !signal.aborted) {
          const item = todo[next++]!;
          await this.runCase(run, suite, item.c, item.index, caller, setupError, signal, judge, tally);
        }
      };
      await Promise.all(Array.from({ length: Math.min(suite.concurrency, todo.length) }, worker));
      await Promise.all(tally.writes);
      const stop = signal.aborted ? (signal.reason as RunStop) : undefined;
      if (stop?.kind === 'stop') {
        // Let whoever starts next pick it up at once.
        await repo.renewLease(runId, this.instanceId, new Date(0).toISOString());
        return;
      }
      if (stop?.kind === 'cancel') return;
      if (stop?.kind === 'budget') {
        const finished = new Set((await repo.cases(runId)).map((c) => c.caseId));
        for (const { c, index } of todo) {
          if (finished.has(c.id)) continue;
          await repo.saveCase(this.caseRecord(run, c, index, { passed: false, refused: false, error: `not run: ${stop.reason}` }));
        }
      }
      await this.complete(run, suite);
    } finally {
      clearTimeout(budget);
      clearInterval(renew);
      await caller?.close();
    }
  }

  private async runCase(
    run: EvalRunRecord,
    suite: EvalSuite,
    c: EvalCase,
    index: number,
    caller: AgentCaller | undefined,
    setupError: string | undefined,
    runSignal: AbortSignal,
    judge: Judge | undefined,
    tally: Tally,
  ): Promise<void> {
    const started = performance.now();
    const signal = AbortSignal.any([runSignal, AbortSignal.timeout(suite.caseTimeoutMs)]);
    let record: EvalCaseRecord;
    try {
      if (!caller) throw new EndpointError(setupError ?? 'the endpoint could not be set up');
      const result = await caller.call(c, signal);
      const latencyMs = Math.round(performance.now() - started);
      const graded = await grade(suite, c, result.answer, judge);
      const tokens = result.usage ? result.usage.inputTokens + result.usage.outputTokens : undefined;
      const priced =
        result.usage && suite.pricing
          ? (result.usage.inputTokens * suite.pricing.inputPerMillionTokensUSD +
              result.usage.outputTokens * suite.pricing.outputPerMillionTokensUSD) /
            1e6
          : undefined;
      const costUSD = result.costUSD ?? priced;
      record = this.caseRecord(run, c, index, {
        passed: graded.passed,
        refused: result.answer.refused,
        latencyMs,
        ...(costUSD !== undefined ? { costUSD } : {}),
        ...(tokens !== undefined ? { tokens } : {}),
        ...(graded.reason ? { reason: graded.reason } : {}),
        got: result.answer.text,
      });
    } catch (err) {
      const stop = runSignal.aborted ? (runSignal.reason as RunStop) : undefined;
      // Stopped or cancelled mid-case: not recorded, so a resume runs it again.
      if (stop && stop.kind !== 'budget') return;
      const latencyMs = Math.round(performance.now() - started);
      let reason = err instanceof EndpointError ? err.reason : 'the call failed';
      if (stop?.kind === 'budget') reason = `not finished: ${stop.reason}`;
      else if (reason === 'timed out') reason = `timed out after ${seconds(suite.caseTimeoutMs)}`;
      record = this.caseRecord(run, c, index, { passed: false, refused: false, latencyMs, error: reason });
    }
    tally.done += 1;
    if (record.passed) tally.passed += 1;
    // The worker moves on while the case is stored: a crash loses at most the writes in flight,
    // and those cases simply run again on resume.
    tally.writes.push(
      this.deps.repo
        .saveCase(record)
        .catch((err: unknown) => this.deps.log.warn({ err, evalRunId: run.id, caseId: c.id }, 'an evaluation case could not be stored')),
    );
    await this.maybeProgress(run, tally);
  }

  private caseRecord(
    run: EvalRunRecord,
    c: EvalCase,
    index: number,
    r: Pick<EvalCaseRecord, 'passed' | 'refused'> & Partial<EvalCaseRecord>,
  ): EvalCaseRecord {
    return {
      runId: run.id,
      caseId: c.id,
      index,
      ...(c.segment ? { segment: c.segment } : {}),
      mustRefuse: c.grader.type === 'refuse',
      ...r,
      input: clip(c.input, 500),
      expected: clip(expectedText(c), 300),
      got: clip(r.got ?? (r.error ? `(no answer: ${r.error})` : ''), 500),
      at: new Date().toISOString(),
    };
  }

  private async complete(run: EvalRunRecord, suite: EvalSuite): Promise<void> {
    const role = roleById(this.deps.org, run.roleId);
    if (!role) return this.fail(run, `The catalog role ${run.roleId} no longer exists.`);
    const cases = await this.deps.repo.cases(run.id);
    const metrics = measure(
      cases.map((c) => ({
        caseId: c.caseId,
        ...(c.segment ? { segment: c.segment } : {}),
        mustRefuse: c.mustRefuse,
        passed: c.passed,
        refused: c.refused,
        ...(c.latencyMs !== undefined ? { latencyMs: c.latencyMs } : {}),
        ...(c.costUSD !== undefined ? { costUSD: c.costUSD } : {}),
        ...(c.error ? { error: c.error } : {}),
      })),
      suite.fairness,
    );
    const verdict = evaluateMeasured(role.evaluation, metrics, suite.hash);
    const agent = await this.deps.agents.get(run.agentId);
    let regressed: string[] = [];
    let comparedWith: string | undefined;
    if (run.purpose === 'version' && agent) {
      const liveRun = await this.lastCompleted(agent.id, agent.version, suite.hash);
      const live = liveRun?.metrics ? measuredSubmission(liveRun.metrics, role.evaluation) : agent.baseline;
      comparedWith = liveRun
        ? `the live version ${agent.version} (run ${liveRun.id}, same suite)`
        : live
          ? `the live version ${agent.version}'s baseline (no run of it on this suite)`
          : undefined;
      if (live) regressed = regressions(live, measuredSubmission(metrics, role.evaluation), role.drift.accuracyDropMin);
    }
    const patch = {
      status: 'completed' as const,
      finishedAt: this.clock().toISOString(),
      done: cases.length,
      passed: metrics.passed,
      metrics,
      verdict,
      ...(regressed.length ? { regressions: regressed } : {}),
      ...(comparedWith ? { comparedWith } : {}),
    };
    const final: EvalRunRecord = { ...run, ...patch };
    // A passing re-interview of the live version puts Roster's measurement on record in place of
    // typed-in results (what the compliance report's "self-reported" gap asks for).
    const replacesSelfReported = Boolean(
      run.purpose === 'rerun' &&
      verdict.passed &&
      agent?.version === run.version &&
      agent.evaluation &&
      agent.evaluation.source !== 'measured',
    );
    const { outbox } = this.deps;
    const effects: PendingEffect[] = [
      this.auditEffect(undefined, 'evaluation.completed', run.agentId, {
        evalRunId: run.id,
        purpose: run.purpose,
        version: run.version,
        suiteHash: suite.hash,
        passed: versionOutcome(verdict, regressed).admitted,
        accuracy: metrics.accuracy,
        p95LatencyMs: metrics.p95LatencyMs,
        costPerTaskUSD: metrics.costPerTaskUSD,
        totalCostUSD: metrics.totalCostUSD,
        cases: metrics.cases,
        ...(regressed.length ? { regressions: regressed } : {}),
        ...(replacesSelfReported ? { replacesSelfReported } : {}),
      }),
      outbox.effect(EVAL_EFFECTS.progress, { runId: run.id }),
      ...(agent ? this.recipients(final, agent) : []).map((to) =>
        outbox.effect(CHAT_SEND_EFFECT, { to, card: this.deps.cards.verdict(final) } satisfies ChatSend),
      ),
      outbox.effect(EVAL_EFFECTS.outcome, { runId: run.id }),
    ];
    const stored = await this.deps.repo.finish(run.id, patch, effects);
    if (stored) await outbox.settle({ kind: EVAL_RUN_HOLDER, id: run.id }, effects, 'evaluation.completed', stored);
  }

  /**
   * What a completed run decides: the request's gate, the proposed version's outcome, or (a passing
   * re-interview of the live version) Roster's measurement on record. Performed from the outbox, so
   * it may run twice: each branch changes nothing the second time.
   */
  private async handOver(run: EvalRunRecord): Promise<void> {
    const verdict = run.verdict!;
    const metrics = run.metrics!;
    if (run.purpose === 'request') return this.deps.hooks?.gate?.(run, verdict, metrics);
    if (run.purpose === 'version') return this.deps.hooks?.version?.(run, verdict, metrics, run.regressions ?? []);
    if (!verdict.passed) return;
    const agent = await this.deps.agents.get(run.agentId);
    const role = roleById(this.deps.org, run.roleId);
    if (!agent || !role || agent.version !== run.version || agent.evaluation?.source === 'measured') return;
    await this.deps.agents.update(agent.id, {
      evaluation: {
        submission: measuredSubmission(metrics, role.evaluation),
        verdict,
        by: 'roster',
        at: run.finishedAt ?? this.clock().toISOString(),
        source: 'measured',
        evalRunId: run.id,
        suiteHash: run.suiteHash,
      },
    });
  }

  /** The performers of a run's end effects (registered once, at construction). */
  private registerPerformers(): void {
    const { outbox, repo, notifier } = this.deps;
    // An effect's payload is the run's id Roster stored with it.
    outbox.register<{ runId: EvalRunId }>({
      type: EVAL_EFFECTS.progress,
      perform: async ({ runId }) => {
        const run = await repo.getRun(runId);
        if (run?.progressRef) await notifier.update(run.progressRef, this.deps.cards.progress(run, true));
      },
    });
    outbox.register<{ runId: EvalRunId }>({
      type: EVAL_EFFECTS.outcome,
      perform: async ({ runId }) => {
        const run = await repo.getRun(runId);
        if (run?.status === 'completed') await this.handOver(run);
      },
    });
  }

  private async fail(run: EvalRunRecord, failure: string): Promise<void> {
    const effects = [
      this.auditEffect(undefined, 'evaluation.failed', run.agentId, { evalRunId: run.id, failure }),
      this.deps.outbox.effect(EVAL_EFFECTS.progress, { runId: run.id }),
    ];
    const stored = await this.deps.repo.finish(run.id, { status: 'failed', failure, finishedAt: this.clock().toISOString() }, effects);
    if (stored) await this.deps.outbox.settle({ kind: EVAL_RUN_HOLDER, id: run.id }, effects, 'evaluation.failed', stored);
  }

  private async maybeProgress(run: EvalRunRecord, tally: Tally): Promise<void> {
    const every = this.deps.progressEveryMs ?? 2000;
    const last = this.lastProgress.get(run.id) ?? 0;
    if (Date.now() - last < every) return;
    this.lastProgress.set(run.id, Date.now());
    await this.deps.repo.patchRunning(run.id, { done: tally.done, passed: tally.passed });
    if (run.progressRef) {
      await this.deps.notifier
        .update(run.progressRef, this.deps.cards.progress({ ...run, done: tally.done, passed: tally.passed }))
        .catch(() => undefined);
    }
  }

  private recipients(run: EvalRunRecord, agent: AgentRecord): string[] {
    return run.requester ? [run.requester] : agent.sponsors;
  }

  private maxBytes(): number {
    return this.deps.org.settings.evaluation.maxAnswerBytes;
  }

  private assertManager(actor: Person, agent: AgentRecord, what: string): void {
    assertMayManageEvaluation(actor, agent, what);
  }

  private person(email: string): Person {
    const p = findPersonByEmail(this.deps.org, String(email));
    if (!p) throw new UnknownPersonError(String(email));
    return p;
  }

  private async agent(id: AgentId): Promise<AgentRecord> {
    const a = await this.deps.agents.get(id);
    if (!a) throw new NotFoundError('the agent', id);
    return a;
  }

  private async run(id: EvalRunId): Promise<EvalRunRecord> {
    const r = await this.deps.repo.getRun(id);
    if (!r) throw new NotFoundError('the evaluation', id);
    return r;
  }

  /** An audit entry stored with the state change it records (performed by the outbox). */
  private auditEffect(
    actor: string | undefined,
    action: string,
    agentId: AgentId,
    details: Record<string, unknown>,
  ): PendingEffect<AuditInput> {
    return this.deps.outbox.effect(AUDIT_EFFECT, { ...this.auditEntry(actor, action, agentId, details), at: this.clock() });
  }

  private auditEntry(actor: string | undefined, action: string, agentId: AgentId, details: Record<string, unknown>): AuditInput {
    return {
      actor: actor ? { kind: 'person', email: actor } : { kind: 'system', name: 'evaluation' },
      action,
      subject: { type: 'agent', id: agentId, agentId },
      details,
    };
  }
}
