import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, peopleWithRole, roleById } from '../config/directory.js';
import type { FlowEngine, RunStart } from '../flows/engine.js';
import type { FlowRun, StepRegistry } from '../flows/types.js';
import { AGENT_HOLDER, type AgentRecord, type AgentRepository } from './agents.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import type { Outbox } from './outbox.js';
import type { EffectPerformer, PendingEffect } from './ports.js';
import { ForbiddenError, InvalidInputError, NotFoundError, UnknownPersonError } from './errors.js';
import { evaluate, regressions, versionOutcome, type EvaluationSubmission, type EvaluationVerdict } from './evaluation.js';
import { agentRunContext } from './run-context.js';
import { mayTypeInResults } from './policies.js';
import { displayDate, durationInWords } from './time.js';
import { type AgentId, type RunId } from './ids.js';
import type { OutgoingCard } from './notifications.js';

// The version rule lives with every other who-may rule; re-exported for the importers of this module.
export { assertMayProposeVersion, mayProposeVersion } from './policies.js';

/** A proposed or promoted version of an agent. */
export interface VersionRecord {
  agentId: AgentId;
  version: string;
  changelog: string;
  proposedBy: string;
  proposedAt: string;
  evaluation: {
    submission: EvaluationSubmission;
    verdict: EvaluationVerdict;
    /** `measured`: Roster ran the role's suite (run `evalRunId` on suite `suiteHash`). */
    source?: 'measured' | 'self-reported';
    evalRunId?: string;
    suiteHash?: string;
  };
  status: 'proposed' | 'promoted' | 'refused';
  runId?: RunId;
  promotedAt?: string;
}

/** Retraining state of an agent: due, postponed (with a reason), started or overdue. */
export interface RetrainingRecord {
  agentId: AgentId;
  state: 'due' | 'postponed' | 'started' | 'overdue';
  dueAt: string;
  postponedUntil?: string;
  reason?: string;
  by?: string;
  overdueNotifiedAt?: string;
}

export interface DevelopmentRepository {
  /** Stores a new version with `effects` in its outbox (one write); false when it exists already. */
  saveVersion(v: VersionRecord, effects?: readonly PendingEffect[]): Promise<boolean>;
  versions(agentId: AgentId): Promise<VersionRecord[]>;
  updateVersion(agentId: AgentId, version: string, patch: Partial<VersionRecord>, effects?: readonly PendingEffect[]): Promise<void>;
  retraining(agentId: AgentId): Promise<RetrainingRecord | undefined>;
  /**
   * Writes the retraining record only if its state is still `expected` (or absent when undefined),
   * with `effects` in its outbox (one write).
   */
  setRetraining(
    record: RetrainingRecord,
    expected: RetrainingRecord['state'] | undefined,
    effects?: readonly PendingEffect[],
  ): Promise<boolean>;
}

/** The holder kind of agent versions in the outbox (id `agentId:version`). */
export const VERSION_HOLDER = 'agent-version';

/**
 * Starts the promotion run of a proposed version: stored with the version, so a crash before the
 * run exists leaves the worker to start it, once.
 */
export const VERSION_START_RUN_EFFECT = 'version.start-promotion';

/** The holder kind of retraining records in the outbox (one per agent). */
export const RETRAINING_HOLDER = 'retraining';

/** Presenter port: the notices about versions and retraining. */
export interface DevelopmentCards {
  /** To whoever asked for the version: measured and refused, the live version stays. */
  versionRefused(refused: { agentName: string; version: string; reasons: string[]; liveVersion: string }): OutgoingCard;
  /** To IT admins: a retraining went past its due date (or its postponement); with Start / Postpone. */
  retrainingOverdue(agent: Pick<AgentRecord, 'id' | 'name' | 'sponsors'>, dueAt: string, postponedBecause?: string): OutgoingCard;
  /** To the sponsors: a retraining is due or asked for; with Start / Postpone. */
  retraining(agentId: string, title: string, text: string): OutgoingCard;
}

export interface DevelopmentDeps {
  org: OrgConfig;
  agents: AgentRepository;
  repo: DevelopmentRepository;
  /** Where a promotion's and each retraining change's audit entry and notices are stored with the change. */
  outbox: Outbox;
  /** The version and retraining notices (src/views/development-cards.ts). */
  cards: DevelopmentCards;
  clock?: () => Date;
  /** How long a due retraining may wait (after any postponement) before IT admins are told. */
  overdueAfterMs?: number;
  /** Catalog roles Roster evaluates itself: their versions are measured, typed-in numbers are an IT admin's override. */
  measuredRoles?: ReadonlySet<string>;
}

export const versionInputSchema = z.object({
  version: z
    .string()
    .trim()
    .regex(/^\d+\.\d+\.\d+$/, 'Use a version like 1.2.0.'),
  changelog: z.string().trim().min(5, 'Say what changed (at least 5 characters).').max(3000),
  evaluation: z.object({
    accuracy: z.coerce.number().min(0).max(1),
    p95LatencyMs: z.coerce.number().min(0),
    costPerTaskUSD: z.coerce.number().min(0),
    roleFitChecked: z.array(z.string()).default([]),
  }),
});
export type VersionInput = z.input<typeof versionInputSchema>;

/**
 * The performer of {@link VERSION_START_RUN_EFFECT}: the worker starts the promotion run a crashed
 * writer could not. It drives the engine, which runs the development steps, so it is registered
 * once the engine exists.
 */
export function promotionStartPerformer(deps: {
  repo: Pick<DevelopmentRepository, 'versions'>;
  engine: Pick<FlowEngine, 'ensureStarted'>;
}): EffectPerformer<{ agentId: AgentId; version: string; start: RunStart }> {
  return {
    type: VERSION_START_RUN_EFFECT,
    perform: async ({ agentId, version, start }) => {
      const stored = (await deps.repo.versions(agentId)).find((v) => v.version === version);
      // A version no longer waiting for promotion needs no run.
      if (stored?.status === 'proposed') await deps.engine.ensureStarted(start);
    },
  };
}

/**
 * Development: new versions must pass the evaluation gate and not regress beyond the catalog's
 * margin against the live version, then go through `flows/retraining-promotion.yaml` (sponsor and
 * IT admin) while the old version stays live; retraining comes due on the catalog cadence, may be
 * postponed with a reason, and is escalated to IT admins when overdue.
 */
export class Development {
  private readonly clock: () => Date;

  constructor(private readonly deps: DevelopmentDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Proposes a version with typed-in results: checked against the catalog and the live version,
   * then the promotion flow starts. Who may propose, and only for a working agent, is the bus's
   * `agent.version.propose` (assertMayProposeVersion); typed-in numbers for a measured role stay an IT admin's.
   */
  async proposeVersion(
    engine: FlowEngine,
    actorEmail: string,
    agentId: AgentId,
    input: VersionInput,
  ): Promise<{ run: FlowRun; verdict: EvaluationVerdict }> {
    const actor = this.person(actorEmail);
    const agent = await this.agent(agentId);
    if (this.deps.measuredRoles?.has(agent.catalogRoleId) && !mayTypeInResults(actor))
      throw new ForbiddenError(
        `Roster measures new versions of ${agent.name} itself: "update ${agent.id} <version> [endpoint=<url>] <changelog>" runs the role's suite against it. Only an IT admin may type numbers in instead.`,
      );
    const parsed = versionInputSchema.safeParse(input);
    if (!parsed.success) throw new InvalidInputError(parsed.error.issues.map((i) => i.message).join(' '));
    const { version, changelog, evaluation: submission } = parsed.data;
    if ((await this.deps.repo.versions(agent.id)).some((v) => v.version === version) || version === agent.version) {
      throw new InvalidInputError(`${agent.name} already has a version ${version}.`);
    }
    const role = roleById(this.deps.org, agent.catalogRoleId);
    if (!role) throw new NotFoundError('the catalog role', agent.catalogRoleId);
    const verdict = evaluate(role.evaluation, submission);
    const live = agent.baseline;
    const regressed = live ? regressions(live, submission, role.drift.accuracyDropMin) : [];
    const outcome = versionOutcome(verdict, regressed);
    const record: VersionRecord = {
      agentId: agent.id,
      version,
      changelog,
      proposedBy: actor.email,
      proposedAt: this.clock().toISOString(),
      evaluation: { submission, verdict, source: 'self-reported' },
      status: outcome.admitted ? 'proposed' : 'refused',
    };
    const versionHolder = { kind: VERSION_HOLDER, id: `${agent.id}:${version}` };
    if (record.status === 'refused') {
      const refused = [
        this.entry(actor.email, 'version.refused', agent.id, {
          version,
          failed: verdict.results.filter((r) => !r.passed).map((r) => r.explanation),
          regressions: regressed,
        }),
      ];
      if (await this.deps.repo.saveVersion(record, refused)) await this.deps.outbox.settle(versionHolder, refused, 'version.refused');
      throw new InvalidInputError(`Version ${version} of ${agent.name} is refused: ${outcome.reasons.join('; ')}.`);
    }
    const run = await this.propose(engine, agent, record, verdict, actor.email, 'new');
    // Another proposal of the same number was stored first (two clicks at once).
    if (!run) throw new InvalidInputError(`${agent.name} already has a version ${version}.`);
    return { run, verdict };
  }

  /**
   * Stores a proposed version with the start of its promotion run and its audit entry (one write;
   * `existing`: added to a version stored before without them), then performs them. A crash after
   * the write leaves the worker to start the run, once; the run's id is stored with the version.
   * Undefined when another writer stored a new version of that number first.
   */
  private async propose(
    engine: FlowEngine,
    agent: AgentRecord,
    record: VersionRecord,
    verdict: EvaluationVerdict,
    requester: string,
    stored: 'new' | 'existing',
    auditActor: string | undefined = requester,
  ): Promise<FlowRun | undefined> {
    const start: RunStart = {
      id: engine.allocateRunId(),
      flowId: 'retraining-promotion',
      requester,
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      context: {
        ...agentRunContext(this.deps.org, agent, {
          purpose: `Promote ${agent.name} from ${agent.version} to ${record.version}: ${record.changelog}`,
          justification: verdict.summary,
        }),
        version: record.version,
      },
    };
    const effects = [
      this.deps.outbox.effect(VERSION_START_RUN_EFFECT, { agentId: agent.id, version: record.version, start }),
      this.entry(auditActor, 'version.proposed', agent.id, { version: record.version, runId: start.id, summary: verdict.summary }),
    ];
    if (stored === 'new') {
      if (!(await this.deps.repo.saveVersion({ ...record, runId: start.id }, effects))) return undefined;
    } else await this.deps.repo.updateVersion(agent.id, record.version, { runId: start.id }, effects);
    await this.deps.outbox.settle({ kind: VERSION_HOLDER, id: `${agent.id}:${record.version}` }, effects, 'version.proposed');
    // Started by the effect just performed; started here if that failed, so the proposer hears why.
    return engine.ensureStarted(start);
  }

  /**
   * Checks a version proposal that Roster will measure (a new version number, a changelog); the
   * caller then runs the suite and hands the outcome to {@link recordMeasuredVersion}. Who may
   * propose, and only for a working agent, is the bus's `agent.version.propose` (assertMayProposeVersion).
   */
  async checkMeasuredProposal(agentId: AgentId, version: string, changelog: string): Promise<AgentRecord> {
    const agent = await this.agent(agentId);
    const parsed = versionInputSchema.shape.version.safeParse(version);
    if (!parsed.success) throw new InvalidInputError('Use a version like 1.2.0.');
    if (versionInputSchema.shape.changelog.safeParse(changelog).success === false)
      throw new InvalidInputError('Say what changed (at least 5 characters).');
    if ((await this.deps.repo.versions(agent.id)).some((v) => v.version === parsed.data) || parsed.data === agent.version)
      throw new InvalidInputError(`${agent.name} already has a version ${parsed.data}.`);
    return agent;
  }

  /**
   * A measured version's outcome: refused with the numbers when it failed the thresholds or
   * regressed against the live version, else proposed and sent through the promotion flow.
   */
  async recordMeasuredVersion(
    engine: FlowEngine,
    run: { id: string; agentId: AgentId; version: string; changelog?: string; requester?: string; suiteHash: string },
    submission: EvaluationSubmission,
    verdict: EvaluationVerdict,
    regressed: string[],
  ): Promise<VersionRecord> {
    const agent = await this.agent(run.agentId);
    const proposer = run.requester ?? agent.sponsors[0] ?? 'roster';
    const outcome = versionOutcome(verdict, regressed);
    const record: VersionRecord = {
      agentId: agent.id,
      version: run.version,
      changelog: run.changelog ?? '(no changelog)',
      proposedBy: proposer,
      proposedAt: this.clock().toISOString(),
      evaluation: { submission, verdict, source: 'measured', evalRunId: run.id, suiteHash: run.suiteHash },
      status: outcome.admitted ? 'proposed' : 'refused',
    };
    const versionHolder = { kind: VERSION_HOLDER, id: `${agent.id}:${run.version}` };
    // A refused version's notice to whoever asked is stored with the version.
    const refusedNotice: PendingEffect[] =
      record.status === 'refused' && run.requester
        ? [
            this.deps.outbox.effect<ChatSend>(CHAT_SEND_EFFECT, {
              to: run.requester,
              card: this.deps.cards.versionRefused({
                agentName: agent.name,
                version: run.version,
                reasons: outcome.reasons,
                liveVersion: agent.version,
              }),
            }),
          ]
        : [];
    if (record.status === 'refused') {
      if (!(await this.deps.repo.saveVersion(record, refusedNotice)))
        return (await this.deps.repo.versions(agent.id)).find((v) => v.version === run.version) ?? record;
      await this.deps.outbox.settle(versionHolder, refusedNotice, 'version.refused');
      return record;
    }
    const stored = (await this.deps.repo.versions(agent.id)).find((v) => v.version === run.version);
    if (stored) {
      // Performed again (the outbox after a crash): a version stored with its run's start has it
      // in its own outbox; only one stored before versions held their start gets it now.
      if (stored.evaluation.evalRunId !== run.id || stored.status !== 'proposed' || stored.runId) return stored;
      const started = await this.propose(engine, agent, stored, verdict, proposer, 'existing', run.requester);
      return { ...stored, runId: started!.id };
    }
    const started = await this.propose(engine, agent, record, verdict, proposer, 'new', run.requester);
    if (!started) return (await this.deps.repo.versions(agent.id)).find((v) => v.version === run.version) ?? record;
    return { ...record, runId: started.id };
  }

  /** The version history of an agent, newest first (proposed, promoted and refused). */
  versionHistory(agentId: AgentId): Promise<VersionRecord[]> {
    return this.deps.repo.versions(agentId).then((v) => v.reverse());
  }

  /** Step `version.promote`: the new version goes live (the old one served until now). */
  async promote(run: FlowRun): Promise<Record<string, unknown>> {
    const { agentId, version } = run.context as { agentId: AgentId; version: string };
    const agent = await this.agent(agentId);
    const proposed = (await this.deps.repo.versions(agentId)).find((v) => v.version === version);
    if (!proposed || proposed.status === 'promoted') return {};
    const now = this.clock().toISOString();
    const s = proposed.evaluation.submission;
    const effects = [this.entry(undefined, 'version.promoted', agentId, { from: agent.version, to: version, runId: run.id })];
    await this.deps.agents.update(
      agentId,
      { version, baseline: { accuracy: s.accuracy, p95LatencyMs: s.p95LatencyMs, costPerTaskUSD: s.costPerTaskUSD } },
      effects,
    );
    await this.deps.repo.updateVersion(agentId, version, { status: 'promoted', promotedAt: now });
    await this.deps.repo.setRetraining({ agentId, state: 'started', dueAt: now }, (await this.deps.repo.retraining(agentId))?.state);
    await this.deps.outbox.settle({ kind: AGENT_HOLDER, id: agentId }, effects, 'version.promoted');
    return { promotedAt: now };
  }

  /** Sends "retraining due" for every agent past its cadence, and escalates overdue ones. */
  async retrainingSweep(now = this.clock()): Promise<{ due: number; overdue: number }> {
    let due = 0;
    let overdue = 0;
    const overdueAfter = this.deps.overdueAfterMs ?? 14 * 86_400_000;
    for (const agent of await this.deps.agents.list({ status: ['active', 'probation'] })) {
      const role = roleById(this.deps.org, agent.catalogRoleId);
      if (!role) continue;
      const promoted = (await this.deps.repo.versions(agent.id)).filter((v) => v.promotedAt).map((v) => Date.parse(v.promotedAt!));
      const since = Math.max(Date.parse(agent.createdAt), ...promoted);
      const dueAt = since + role.retrainingCadence.ms;
      const current = await this.deps.repo.retraining(agent.id);
      if (now.getTime() < dueAt) continue;
      if (!current || (current.state === 'started' && Date.parse(current.dueAt) < dueAt)) {
        const effects = [
          this.entry(undefined, 'retraining.due', agent.id, { dueAt: new Date(dueAt).toISOString() }),
          ...this.sponsorNotices(
            agent,
            `Retraining due: ${agent.name}`,
            `${agent.name} is due for retraining (every ${durationInWords(role.retrainingCadence.ms, { exact: true })}). Start it, or postpone it with a reason; IT admins are told when it is overdue.`,
          ),
        ];
        const record: RetrainingRecord = { agentId: agent.id, state: 'due', dueAt: new Date(dueAt).toISOString() };
        if (await this.deps.repo.setRetraining(record, current?.state, effects)) {
          due += 1;
          await this.settle(agent.id, effects, 'retraining.due');
        }
        continue;
      }
      const waitingSince = current.state === 'postponed' ? Date.parse(current.postponedUntil!) : Date.parse(current.dueAt);
      if (
        (current.state === 'due' || current.state === 'postponed') &&
        now.getTime() >= waitingSince + (current.state === 'postponed' ? 0 : overdueAfter)
      ) {
        const effects = [
          this.entry(undefined, 'retraining.overdue', agent.id, {
            dueAt: current.dueAt,
            ...(current.reason ? { postponedBecause: current.reason } : {}),
          }),
          ...peopleWithRole(this.deps.org, 'it-admin').map((admin) =>
            this.deps.outbox.effect<ChatSend>(CHAT_SEND_EFFECT, {
              to: admin.email,
              card: this.deps.cards.retrainingOverdue(agent, current.dueAt, current.reason),
            }),
          ),
        ];
        if (
          await this.deps.repo.setRetraining({ ...current, state: 'overdue', overdueNotifiedAt: now.toISOString() }, current.state, effects)
        ) {
          overdue += 1;
          await this.settle(agent.id, effects, 'retraining.overdue');
        }
      }
    }
    return { due, overdue };
  }

  /**
   * "Start retraining": a sponsor or IT admin says the retraining is under way (no more reminders until the next cadence).
   * Who may is the `retraining.start` command's rule, asked before.
   */
  async startRetraining(actor: Person, agent: AgentRecord): Promise<RetrainingRecord> {
    const current = await this.deps.repo.retraining(agent.id);
    if (current?.state === 'started') return current;
    if (!current) throw new InvalidInputError(`${agent.name} has no retraining due.`);
    const next: RetrainingRecord = { agentId: agent.id, state: 'started', dueAt: current.dueAt, by: actor.email };
    const effects = [this.entry(actor.email, 'retraining.started', agent.id, { dueAt: current.dueAt, was: current.state })];
    if (!(await this.deps.repo.setRetraining(next, current.state, effects)))
      throw new InvalidInputError('The retraining changed meanwhile; try again.');
    await this.settle(agent.id, effects, 'retraining.started');
    return next;
  }

  /**
   * Asks for a retraining now (e.g. the fix for an open fairness finding): the retraining becomes
   * due and the sponsors get Start / Postpone. Nothing changes when one is already due or under way.
   */
  async requestRetraining(actorEmail: string, agentId: AgentId, why: string): Promise<RetrainingRecord> {
    const actor = this.person(actorEmail);
    const agent = await this.agent(agentId);
    const current = await this.deps.repo.retraining(agent.id);
    if (current && current.state !== 'started') return current;
    if (current?.state === 'started' && Date.parse(current.dueAt) >= this.clock().getTime() - 86_400_000) return current;
    const next: RetrainingRecord = { agentId: agent.id, state: 'due', dueAt: this.clock().toISOString() };
    const effects = [
      this.entry(actor.email, 'retraining.requested', agent.id, { why }),
      ...this.sponsorNotices(agent, `Retraining requested: ${agent.name}`, `${actor.name} asked for ${agent.name} to be retrained: ${why}`),
    ];
    if (!(await this.deps.repo.setRetraining(next, current?.state, effects)))
      throw new InvalidInputError('The retraining changed meanwhile; try again.');
    await this.settle(agent.id, effects, 'retraining.requested');
    return next;
  }

  /** The sponsors' Start / Postpone notices, as effects of a retraining change. */
  private sponsorNotices(agent: AgentRecord, title: string, text: string): PendingEffect[] {
    return agent.sponsors.map((sponsor) =>
      this.deps.outbox.effect<ChatSend>(CHAT_SEND_EFFECT, {
        to: sponsor,
        card: this.deps.cards.retraining(agent.id, title, text),
      }),
    );
  }

  private settle(agentId: AgentId, effects: readonly PendingEffect[], label: string): Promise<void> {
    return this.deps.outbox.settle({ kind: RETRAINING_HOLDER, id: agentId }, effects, label);
  }

  /**
   * Postpones `agent`'s due retraining for `actor`, whom the caller authorised (the
   * `retraining.postpone` command, from "retraining due" or the typed `retrain <agent> postpone`); a reason is required.
   */
  async postpone(actor: Person, agent: AgentRecord, days: number, reason: string): Promise<RetrainingRecord> {
    if (!reason?.trim() || reason.trim().length < 3)
      throw new InvalidInputError('Say why the retraining is postponed.', { reason: 'Required.' });
    if (!Number.isInteger(days) || days < 1 || days > 90)
      throw new InvalidInputError('Postpone by 1 to 90 days.', { days: 'Postpone by 1 to 90 days.' });
    const current = await this.deps.repo.retraining(agent.id);
    if (current?.state === 'postponed' && current.postponedUntil) {
      const by = current.by ? ` by ${findPersonByEmail(this.deps.org, current.by)?.name ?? current.by}` : '';
      throw new InvalidInputError(
        `${agent.name}'s retraining is already postponed until ${displayDate(current.postponedUntil)}${by}${current.reason ? `: "${current.reason}"` : ''}.`,
      );
    }
    if (!current || !['due', 'overdue'].includes(current.state)) throw new InvalidInputError(`${agent.name} has no retraining due.`);
    const next: RetrainingRecord = {
      ...current,
      state: 'postponed',
      postponedUntil: new Date(this.clock().getTime() + days * 86_400_000).toISOString(),
      reason: reason.trim(),
      by: actor.email,
    };
    const effects = [this.entry(actor.email, 'retraining.postponed', agent.id, { days, reason: next.reason, until: next.postponedUntil })];
    if (!(await this.deps.repo.setRetraining(next, current.state, effects)))
      throw new InvalidInputError('The retraining changed meanwhile; try again.');
    await this.settle(agent.id, effects, 'retraining.postponed');
    return next;
  }

  /** Whether the agent's retraining may be postponed now: one is due or overdue (what {@link postpone} requires). */
  async postponable(agentId: AgentId): Promise<boolean> {
    const current = await this.deps.repo.retraining(agentId);
    return current !== undefined && ['due', 'overdue'].includes(current.state);
  }

  /** An agent's retraining: due, postponed, overdue or started, and since when; undefined when none was ever due. */
  retraining(agentId: AgentId): Promise<RetrainingRecord | undefined> {
    return this.deps.repo.retraining(agentId);
  }

  private person(email: string) {
    const p = findPersonByEmail(this.deps.org, String(email));
    if (!p) throw new UnknownPersonError(String(email));
    return p;
  }

  private async agent(id: AgentId): Promise<AgentRecord> {
    const a = await this.deps.agents.get(id);
    if (!a) throw new NotFoundError('the agent', id);
    return a;
  }

  /** An audit entry to store in an outbox with the change it records. */
  private entry(actor: string | undefined, action: string, agentId: AgentId, details: Record<string, unknown>): PendingEffect {
    return this.deps.outbox.effect<AuditInput>(AUDIT_EFFECT, {
      actor: actor ? { kind: 'person', email: actor } : { kind: 'system', name: 'development' },
      action,
      subject: { type: 'agent', id: agentId, agentId },
      details,
      at: this.clock(),
    });
  }
}

/** Named steps of `flows/retraining-promotion.yaml`. */
export function developmentSteps(development: Development): StepRegistry {
  return { checks: {}, conditions: {}, gates: {}, actions: { 'version.promote': (ctx) => development.promote(ctx.run) } };
}
