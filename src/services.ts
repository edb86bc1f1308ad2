import { AgentSearch } from './core/agent-search.js';
import { exponential, type Agenda } from 'agenda';
import type { Connection } from 'mongoose';
import type { OrgConfig } from './config/schemas.js';
import type { Logger } from './logger.js';
import type { Notifier } from './core/notifications.js';
import { agentRequestSteps, type AgentRequestDeps } from './core/agent-request.js';
import { AccessCommands, accessSteps, DEFAULT_ACCESS_SETTINGS, type AccessSettings } from './core/access.js';
import { Commands } from './core/commands.js';
import { RunPresenter } from './core/presenter.js';
import { FlowEngine } from './flows/engine.js';
import { loadFlows, registryNames } from './flows/loader.js';
import type { FlowDefinition } from './flows/schema.js';
import type { StepRegistry } from './flows/types.js';
import { createFlowTimers, defineFlowTimerJob, timerLockLifetime } from './jobs/flow-timers.js';
import { createGrantTimers, defineGrantJobs, scheduleAccessReviews } from './jobs/grants.js';
import { AccessReviews, REVIEW_CYCLE_HOLDER } from './core/access-review.js';
import { createReviewCycleRepository, REVIEW_CYCLES } from './store/review-cycle-store.js';
import { suspensionSteps } from './core/suspension.js';
import { Retirement, retirementSteps } from './core/retirement.js';
import { Reactivation, reactivationSteps } from './core/reactivation.js';
import { Development, developmentSteps, RETRAINING_HOLDER, VERSION_HOLDER } from './core/development.js';
import { Governance } from './core/governance.js';
import { Leavers, OFFER_HOLDER } from './core/leavers.js';
import { Sponsorships } from './core/sponsorships.js';
import { AGENT_HOLDER } from './core/agents.js';
import { CHECKIN_HOLDER } from './core/checkins.js';
import { findingInWords } from './core/checkin.js';
import { createLeaverRepository } from './store/leaver-store.js';
import { DashboardLinks, fleetView } from './core/fleet.js';
import { randomBytes } from 'node:crypto';
import { createDevelopmentRepository } from './store/development-store.js';
import { createArchiveRepository } from './store/archive-store.js';
import { createSupervision } from './supervision.js';
import { AgentKeys } from './core/agent-keys.js';
import { DEFAULT_KEY_CACHE_MS, KeyCache, withKeyCacheInvalidation, type KeyCacheOptions } from './core/key-cache.js';
import { createAgentRepository, createGrantRepository } from './store/agent-store.js';
import { createAuditLog } from './store/audit-store.js';
import { createRunRepository } from './store/run-store.js';
import { createClaimRepository } from './store/claim-store.js';
import { createEvalRepository } from './store/eval-store.js';
import type { EvalSuites } from './config/eval-suites.js';
import { EVAL_ENDPOINT_HOLDER, EVAL_RUN_HOLDER, Evaluations } from './evals/evaluations.js';
import { SecretBox } from './evals/secrets.js';
import { measuredSubmission } from './core/evaluation.js';
import { createReadLog } from './store/read-log-store.js';
import { RUNTIME_APPROVAL_HOLDER, RuntimeApprovals } from './core/runtime-approvals.js';
import { HANDOFF_HOLDER, Handoffs } from './core/handoffs.js';
import { createBoundaryChangeRepository, createHandoffRepository, createRuntimeApprovalRepository } from './store/runtime-store.js';
import { BOUNDARY_CHANGE_HOLDER, BoundaryChanges } from './core/boundary-changes.js';
import { createCardDeliveries, createOutboxRepository } from './store/outbox-store.js';
import { chatSendPerformer } from './core/chat-effects.js';
import { createQuietHours } from './jobs/quiet-hours.js';
import { GRANT_HOLDER } from './core/access.js';
import { RosterError } from './core/errors.js';
import { ALERT_HOLDER } from './core/alerts.js';
import { Outbox, type OutboxSettings } from './core/outbox.js';
import { auditPerformer } from './core/audit-effects.js';
import { findPersonByEmail, peopleWithRole } from './config/directory.js';
import { mayRetryWebhooks } from './core/policies.js';
import { defineOutboxJob } from './jobs/outbox.js';
import { defineSafetySweep, type SafetySweepDeps } from './jobs/safety-sweep.js';
import { ensureRecurring } from './jobs/recurring.js';
import { RUN_HOLDER } from './flows/engine.js';
import type { LiveDirectory } from './config/live-directory.js';
import type { Person } from './config/schemas.js';
import { DIRECTORY_GROUP_HOLDER, DIRECTORY_USER_HOLDER, DirectoryService, type DirectoryJob } from './directory/directory-service.js';
import { createDirectoryStore, DIRECTORY_GROUPS, DIRECTORY_USERS } from './store/directory-store.js';
import { ScimService } from './scim/scim-service.js';
import { DELEGATION_HOLDER, Delegations, type DelegationTimer } from './core/delegations.js';
import { createDelegationRepository } from './store/delegation-store.js';
import type { WebhookConfig } from './config/webhooks.js';
import { WEBHOOK_HOLDER, WebhookDispatcher, type WebhookTransport } from './core/webhooks.js';
import { createWebhookRepository, WEBHOOK_SUBSCRIPTIONS } from './store/webhook-store.js';
import { createWebhookTransport, WebhookHostPolicy } from './http/webhook-sender.js';
import { AuditCheckpoints, type CheckpointSigner, type CheckpointVerifier } from './core/audit-checkpoints.js';
import { CHECKPOINT_HEALTH_HOLDER, CheckpointAlarm } from './core/audit-checkpoint-alarm.js';
import { CHECKPOINT_HEALTH_COLLECTION, createCheckpointHealthStore, createCheckpointStore } from './store/audit-checkpoint-store.js';
import { defineAuditCheckpointJob } from './jobs/audit-checkpoint.js';
import type { PagerTransport, ResolvedPager } from './core/pager.js';
import type { ChartLinks } from './core/trend-chart.js';

export interface ServiceSettings {
  connection: Connection;
  agenda: Agenda;
  org: OrgConfig;
  log: Logger;
  notifier: Notifier;
  /** Directory of `*.yaml` flows (default `./flows`), or flows already loaded. */
  flows: string | ReadonlyMap<string, FlowDefinition>;
  clock?: () => Date;
  /** Secret that signs dashboard links (a random one per process when unset). */
  dashboardSecret?: string;
  /** Public base URL of this Roster, for links sent in chat. */
  publicUrl?: string;
  /** Signs links to chart images (`/charts/<id>.png`); set only when Roster has a public URL chat clients can reach. */
  chartLinks?: ChartLinks;
  /** SHA-256 digests of platform telemetry keys. */
  platformKeyHashes?: string[];
  /** The telemetry door's key cache (`ROSTER_KEY_CACHE_MS`; default 5 s); tests may move its clock. */
  keyCache?: KeyCacheOptions;
  /** Length of an alert-escalation "minute" in ms (tests shrink it). */
  alertMinuteMs?: number;
  /** Grant reminder timing (default 1 day and 1 hour before expiry, for grants longer than a day). */
  access?: Partial<AccessSettings>;
  /** How often the retraining sweep (due, overdue) runs; default once a day. */
  retrainingSweepEvery?: string;
  /** Evaluation suites by catalog role (`evals/*.yaml`); none when absent. */
  suites?: EvalSuites;
  /** Key sealing endpoint secrets (`ROSTER_EVAL_SECRET_KEY`); a random one per process when absent. */
  evalSecretKey?: Buffer;
  /** How long a process's claim on a suite run lasts (a restart resumes after it); default 30 s. */
  evalLeaseMs?: number;
  /** How often orphaned suite runs are looked for (Agenda interval); default every 30 seconds. */
  evalResumeEvery?: string;
  /** How often scheduled re-interviews are looked for; default every hour. */
  evalRerunEvery?: string;
  /** Minimum time between two progress updates of one run; default 2 s. */
  evalProgressEveryMs?: number;
  /** Outbox tuning (lease, retry limit, back-off). */
  outbox?: Partial<OutboxSettings>;
  /** How often the outbox worker runs (default every 5 seconds). */
  outboxDrainEvery?: string;
  /** Test-only crash hook (src/fault-point.ts). */
  faultPoint?: (name: string) => void;
  /**
   * The live directory provisioned over SCIM (when ROSTER_SCIM_TOKEN is set); `org.people` must be
   * its list. `seed` (people.yaml) fills a database that was never seeded.
   */
  directory?: { live: LiveDirectory; seed: readonly Person[] };
  /** Signed webhooks (`config/webhooks.yaml`); none when absent. */
  webhooks?: WebhookConfig;
  /** Replaces the webhooks' HTTP transport (tests of the policy itself use the real one). */
  webhookTransport?: WebhookTransport;
  /** How often the webhook worker runs on every replica (default every 2 seconds); appends also nudge it. */
  webhookEvery?: string;
  /** Signs the audit chain's checkpoints (a key from outside the database); without it no checkpoint job runs. */
  auditSigner?: CheckpointSigner;
  /** Reads the signing key again for each checkpoint run (a key kept in a file); absent, `auditSigner` is used. */
  reloadAuditSigner?: () => CheckpointSigner;
  /** Public keys older checkpoints were signed with (after a rotation: ROSTER_AUDIT_VERIFY_KEYS). */
  auditVerifyKeys?: readonly CheckpointVerifier[];
  /** The rotations' pagers (PagerDuty, Opsgenie; src/config/pager.ts), their transport, and the URL their incidents link to. */
  pagers?: { pagers: readonly ResolvedPager[]; transport: PagerTransport; publicUrl?: string | undefined };
}

/** The collections whose records carry an outbox, by holder kind. */
export const OUTBOX_HOLDERS: Record<string, string> = {
  [RUN_HOLDER]: 'flow_runs',
  [GRANT_HOLDER]: 'grants',
  [ALERT_HOLDER]: 'alerts',
  [DELEGATION_HOLDER]: 'delegations',
  [OFFER_HOLDER]: 'sponsorship_offers',
  [EVAL_RUN_HOLDER]: 'eval_runs',
  [EVAL_ENDPOINT_HOLDER]: 'eval_endpoints',
  [RUNTIME_APPROVAL_HOLDER]: 'runtime_approvals',
  [HANDOFF_HOLDER]: 'handoffs',
  [AGENT_HOLDER]: 'agents',
  [BOUNDARY_CHANGE_HOLDER]: 'boundary_changes',
  [CHECKIN_HOLDER]: 'checkins',
  [RETRAINING_HOLDER]: 'retraining',
  [VERSION_HOLDER]: 'agent_versions',
  [WEBHOOK_HOLDER]: WEBHOOK_SUBSCRIPTIONS,
  [CHECKPOINT_HEALTH_HOLDER]: CHECKPOINT_HEALTH_COLLECTION,
  [REVIEW_CYCLE_HOLDER]: REVIEW_CYCLES,
  [DIRECTORY_USER_HOLDER]: DIRECTORY_USERS,
  [DIRECTORY_GROUP_HOLDER]: DIRECTORY_GROUPS,
};

/** Agenda job names of the directory and delegations. */
export const DIRECTORY_JOBS = { change: 'directory.change', delegation: 'delegations.timer' } as const;

/** The Agenda job that queues and sends webhook deliveries. */
export const WEBHOOK_JOB = 'webhooks.deliver';

export type Services = Awaited<ReturnType<typeof createServices>>;

const accessNotReady = (): AccessCommands => {
  throw new Error('access commands are not built yet');
};
const retirementNotReady = (): Retirement => {
  throw new Error('retirement is not built yet');
};
const developmentNotReady = (): Development => {
  throw new Error('development is not built yet');
};
const runtimeNotReady = (): RuntimeApprovals => {
  throw new Error('runtime approvals are not built yet');
};

/** The named actions of the runtime-approval flow, resolved when a step runs. */
function runtimeSteps(runtime: () => RuntimeApprovals): Pick<StepRegistry, 'actions'> & Partial<StepRegistry> {
  return {
    actions: {
      'runtime.approved': (ctx) => runtime().steps().actions['runtime.approved']!(ctx),
      'runtime.closed': (ctx) => runtime().steps().actions['runtime.closed']!(ctx),
    },
  };
}
const reactivationNotReady = (): Reactivation => {
  throw new Error('reactivation is not built yet');
};

/** Every named check, action, condition and gate the flows may use. `access` is resolved only when a step runs. */
export function createStepRegistry(
  deps: AgentRequestDeps,
  access: () => AccessCommands = accessNotReady,
  retirement: () => Retirement = retirementNotReady,
  development: () => Development = developmentNotReady,
  runtime: () => RuntimeApprovals = runtimeNotReady,
  reactivation: () => Reactivation = reactivationNotReady,
): StepRegistry {
  const parts: Array<Partial<StepRegistry>> = [
    runtimeSteps(runtime),
    agentRequestSteps(deps),
    accessSteps(access),
    suspensionSteps({ agents: deps.agents, outbox: deps.outbox }),
    retirementSteps(retirement),
    developmentSteps(development),
    reactivationSteps(reactivation),
  ];
  return {
    checks: Object.assign({}, ...parts.map((p) => p.checks)) as StepRegistry['checks'],
    actions: Object.assign({}, ...parts.map((p) => p.actions)) as StepRegistry['actions'],
    conditions: Object.assign({}, ...parts.map((p) => p.conditions)) as StepRegistry['conditions'],
    gates: Object.assign({}, ...parts.map((p) => p.gates)) as StepRegistry['gates'],
  };
}

/**
 * Loads and validates `flows/*.yaml` against the registry's names without a database, so a bad
 * flow stops start-up (and `roster config check`) naming the file and the step.
 */
export function loadFlowDefinitions(dir: string): Map<string, FlowDefinition> {
  const unused = undefined as never;
  return loadFlows(
    dir,
    registryNames(
      createStepRegistry({ org: unused, agents: unused, grants: unused, audit: unused, notifier: unused, clock: unused, outbox: unused }),
    ),
  );
}

/** Builds the platform-free services on a database connection; channels and jobs use these. */
export async function createServices(settings: ServiceSettings) {
  const { connection, agenda, org, log, notifier } = settings;
  const clock = settings.clock ?? (() => new Date());
  const auditStore = createAuditLog(connection, { clock });
  // Every append nudges the webhook dispatcher (the recurring job is the backstop, and catches other replicas' appends).
  const webhookNudge: { kick?: () => void } = {};
  const audit: typeof auditStore = {
    ...auditStore,
    async append(input, options) {
      const entry = await auditStore.append(input, options);
      webhookNudge.kick?.();
      return entry;
    },
    async appendMany(inputs, options) {
      const entries = await auditStore.appendMany(inputs, options);
      webhookNudge.kick?.();
      return entries;
    },
  };
  // Every write to an agent through this repository drops its cached keys (see KeyCache for the bound).
  const keyCache = new KeyCache(settings.keyCache ?? { ttlMs: DEFAULT_KEY_CACHE_MS });
  const agents = withKeyCacheInvalidation(createAgentRepository(connection), keyCache);
  const grants = createGrantRepository(connection);
  const runs = createRunRepository(connection);
  const outboxRepo = createOutboxRepository(connection, OUTBOX_HOLDERS);
  await Promise.all([
    audit.ensureIndexes(),
    agents.ensureIndexes(),
    grants.ensureIndexes(),
    runs.ensureIndexes(),
    outboxRepo.ensureIndexes(),
  ]);
  const outbox = new Outbox({
    repo: outboxRepo,
    log: log.child({ component: 'outbox' }),
    clock,
    ...(settings.outbox ? { settings: settings.outbox } : {}),
    ...(settings.faultPoint ? { faultPoint: settings.faultPoint } : {}),
  });
  outbox.register(auditPerformer(audit));
  const deliveries = createCardDeliveries(connection);
  outbox.register(chatSendPerformer({ notifier, deliveries, leaseMs: outbox.settings.leaseMs, clock }));
  // Reminders that can wait reach people in their working hours, in their own zone.
  outbox.holdQuietEffects(
    createQuietHours(agenda, outbox, {
      hours: org.settings.workingHours,
      clock,
      zoneOf: async (email) =>
        (await notifier.timeZoneOf?.(email).catch(() => undefined)) ?? findPersonByEmail(org, email)?.timeZone ?? org.settings.timeZone,
    }),
  );
  outbox.onEffectParked(async ({ holder, effect }) => {
    const card = {
      kind: 'notice',
      data: {
        level: 'error',
        title: 'An effect keeps failing',
        text: `Roster could not perform "${effect.type}" for ${holder.kind} ${holder.id} after ${effect.attempts} attempts (last: ${effect.lastError ?? 'unknown'}). It is parked: nothing else of this kind for that ${holder.kind} happens until it is retried. Once the cause is fixed, run: roster outbox retry ${effect.id}`,
      },
    };
    for (const admin of peopleWithRole(org, 'it-admin')) await notifier.send(admin.email, card).catch(() => undefined);
  });
  const late2: { delegations?: Delegations; directory?: DirectoryService } = {};

  // The access steps call the access commands, which need the engine the registry goes into.
  const late: {
    access?: AccessCommands;
    retirement?: Retirement;
    development?: Development;
    runtime?: RuntimeApprovals;
    evaluations?: Evaluations;
    reactivation?: Reactivation;
  } = {};
  const agentKeys = new AgentKeys({ org, agents, audit, notifier, outbox, clock, keyCache, log: log.child({ component: 'agent-keys' }) });
  const registry = createStepRegistry(
    { org, agents, grants, audit, notifier, clock, outbox, keys: agentKeys },
    () => late.access ?? accessNotReady(),
    () => late.retirement ?? retirementNotReady(),
    () => late.development ?? developmentNotReady(),
    () => late.runtime ?? runtimeNotReady(),
    () => late.reactivation ?? reactivationNotReady(),
  );
  const flows = typeof settings.flows === 'string' ? loadFlows(settings.flows, registryNames(registry)) : settings.flows;
  const suites: EvalSuites = settings.suites ?? new Map();
  const measuredRoles = new Set(suites.keys());
  const presenter = new RunPresenter(org, flows, measuredRoles);
  const engine = new FlowEngine({
    flows,
    registry,
    runs,
    audit,
    notifier,
    timers: createFlowTimers(agenda),
    presenter,
    org,
    log: log.child({ component: 'flows' }),
    clock,
    outbox,
    ...(settings.faultPoint ? { faultPoint: settings.faultPoint } : {}),
    delegateOf: (email) => late2.delegations?.delegateOf(email) ?? Promise.resolve(undefined),
    refreshDirectory: () => late2.directory?.refresh() ?? Promise.resolve(),
  });
  defineFlowTimerJob(agenda, (timer) => engine.onTimer(timer));
  const accessSettings = { ...DEFAULT_ACCESS_SETTINGS, ...settings.access };
  const grantTimers = createGrantTimers(agenda, accessSettings, clock);
  const accessCommands = new AccessCommands({
    org,
    agents,
    grants,
    audit,
    notifier,
    runs,
    engine,
    timers: grantTimers,
    claims: createClaimRepository(connection),
    outbox,
    clock,
    settings: accessSettings,
  });
  late.access = accessCommands;
  const reviews = new AccessReviews({
    org,
    cycles: createReviewCycleRepository(connection),
    agents,
    grants,
    timers: grantTimers,
    access: accessCommands,
    outbox,
    settings: accessSettings,
    clock,
  });
  defineGrantJobs(agenda, () => ({
    expireGrant: (id) => accessCommands.expireGrant(id),
    remindGrant: (id, offsetMs) => accessCommands.remindGrant(id, offsetMs),
    startReview: () => reviews.start(),
    reviewDue: (cycle) => reviews.due(cycle),
  }));
  await scheduleAccessReviews(agenda, org.settings.accessReviewCadence, org.settings.schedules.accessReviews);
  const reads = createReadLog(connection, clock);
  await reads.ensureIndexes();
  const commands = new Commands({ org, agents, grants, audit, reads, engine, clock, measuredRoles });
  const supervision = await createSupervision({
    outbox,
    deliveries,
    // Check-ins read the evaluations' re-runs; the evaluations are built further down.
    measured: () => late.evaluations,
    // A check-in's Retrain asks the development service, built further down, for the retraining.
    retraining: () => late.development,
    // A check-in's Retire starts the retirement flow (the retirement service is built further down).
    retiring: () => {
      const retirement = late.retirement;
      return retirement
        ? {
            allocateRunId: () => engine.allocateRunId(),
            startRetirement: (by: string, agentId: string, reason: string, id: string) =>
              retirement.start(engine, by, { agentId, reason, id }),
          }
        : undefined;
    },
    connection,
    agenda,
    org,
    audit,
    agents,
    notifier,
    log,
    clock,
    keys: agentKeys,
    ...(settings.platformKeyHashes ? { platformKeyHashes: settings.platformKeyHashes } : {}),
    ...(settings.alertMinuteMs ? { minuteMs: settings.alertMinuteMs } : {}),
    ...(settings.pagers ? { pagers: settings.pagers } : {}),
    ...(settings.chartLinks ? { chartLinks: settings.chartLinks } : {}),
  });
  const archives = createArchiveRepository(connection);
  await archives.ensureIndexes();
  const retirement = new Retirement({
    org,
    agents,
    grants,
    runs,
    audit,
    outbox,
    archives,
    sources: {
      checkIns: (agentId) => supervision.checkinRepo.listForAgent(agentId),
      alerts: (agentId) => supervision.alertRepo.list({ agentId }),
      decisionLog: async (agentId, max) => ({
        events: await supervision.telemetry.archiveEvents(agentId, max),
        runtimeRequests: (await late.runtime?.recent(agentId, 1000)) ?? [],
      }),
      // Built further down; an archive is only made once everything runs.
      versions: async (agentId) => (await late.development?.versionHistory(agentId)) ?? [],
    },
    clock,
  });
  late.retirement = retirement;
  const reactivation = new Reactivation({
    org,
    agents,
    outbox,
    runs,
    lastCheckIn: async (agentId) => {
      const last = await supervision.checkinRepo.latest(agentId);
      return last
        ? { id: last.id, at: last.at, verdict: last.verdict, summary: last.findings[0] && findingInWords(last.findings[0]) }
        : undefined;
    },
  });
  late.reactivation = reactivation;
  const developmentRepo = createDevelopmentRepository(connection);
  await developmentRepo.ensureIndexes();
  const development = new Development({
    org,
    agents,
    repo: developmentRepo,
    outbox,
    engine: () => engine,
    clock,
    measuredRoles,
  });
  late.development = development;
  const evalRepo = createEvalRepository(connection);
  await evalRepo.ensureIndexes();
  const evaluations = new Evaluations({
    org,
    suites,
    repo: evalRepo,
    agents,
    notifier,
    outbox,
    engine: () => engine,
    box: new SecretBox(settings.evalSecretKey ?? randomBytes(32)),
    log: log.child({ component: 'evaluations' }),
    clock,
    ...(settings.evalLeaseMs ? { leaseMs: settings.evalLeaseMs } : {}),
    ...(settings.evalProgressEveryMs !== undefined ? { progressEveryMs: settings.evalProgressEveryMs } : {}),
    hooks: {
      async gate(run, verdict, metrics) {
        const role = org.catalog.find((r) => r.id === run.roleId);
        if (verdict.passed && role) {
          await agents.update(run.agentId, {
            evaluation: {
              submission: measuredSubmission(metrics, role.evaluation),
              verdict,
              by: 'roster',
              at: clock().toISOString(),
              source: 'measured',
              evalRunId: run.id,
              suiteHash: run.suiteHash,
            },
          });
        }
        const agent = await agents.get(run.agentId);
        try {
          await engine.signalGate({
            runId: run.requestRunId!,
            gate: 'evaluation',
            passed: verdict.passed,
            by: run.requester ?? agent?.requestedBy ?? 'roster',
            summary: verdict.summary,
            source: 'measured',
          });
        } catch (err) {
          // A coded error is an answer (the request was cancelled, expired or already signalled, this
          // being the outbox performing it again): the run's result stays on record. Anything else is retried.
          if (!(err instanceof RosterError)) throw err;
          log.info({ evalRunId: run.id, code: (err as { code?: string }).code }, 'a measured verdict arrived after the request closed');
        }
      },
      async version(run, verdict, metrics, regressed) {
        const role = org.catalog.find((r) => r.id === run.roleId);
        if (!role) return;
        await development.recordMeasuredVersion(engine, run, measuredSubmission(metrics, role.evaluation), verdict, regressed);
      },
    },
  });
  late.evaluations = evaluations;
  agenda.define('evaluations.resume', async () => {
    await evaluations.resumeOrphans();
  });
  agenda.define('evaluations.rerun', async () => {
    await evaluations.rerunSweep(clock());
  });
  if (suites.size > 0) {
    await ensureRecurring(agenda, 'evaluations.resume', settings.evalResumeEvery ?? '30 seconds');
    await ensureRecurring(agenda, 'evaluations.rerun', settings.evalRerunEvery ?? '1 hour');
    // Runs a previous process left (stopped or killed) continue from their last finished case.
    await evaluations.resumeOrphans();
  }
  const governance = new Governance({
    org,
    agents,
    grants,
    audit,
    openAlerts: async (agentId) => supervision.alertRepo.list({ agentId, status: ['open', 'acknowledged', 'snoozed'] }),
    events: (agentId, filter) => supervision.telemetry.events(agentId, filter) as Promise<Array<Record<string, unknown>>>,
    clock,
  });
  agenda.define('retraining.sweep', async () => {
    await development.retrainingSweep(clock());
  });
  const runtimeRepo = createRuntimeApprovalRepository(connection);
  const handoffRepo = createHandoffRepository(connection);
  const boundaryChangeRepo = createBoundaryChangeRepository(connection);
  await Promise.all([runtimeRepo.ensureIndexes(), handoffRepo.ensureIndexes(), boundaryChangeRepo.ensureIndexes()]);
  const boundaryChanges = new BoundaryChanges({
    org,
    repo: boundaryChangeRepo,
    outbox,
    findAgent: (id) => agents.get(id),
    clock,
  });
  const runtime = new RuntimeApprovals({
    org,
    repo: runtimeRepo,
    outbox,
    engine: () => engine,
    overrides: (agentId, action) => boundaryChanges.override(agentId, action),
    clock,
  });
  late.runtime = runtime;
  // Like flow timers: a failed reminder or escalation of a hand-off is retried with back-off.
  agenda.define(
    'handoffs.timer',
    async (job) => {
      const data = job.attrs.data as { handoffId?: unknown; kind?: unknown };
      if (typeof data.handoffId === 'string' && (data.kind === 'remind' || data.kind === 'escalate'))
        await handoffs.onTimer({ handoffId: data.handoffId, kind: data.kind });
    },
    { backoff: exponential({ delay: 1000, maxRetries: 6 }) },
  );
  const handoffs = new Handoffs({
    org,
    repo: handoffRepo,
    notifier,
    outbox,
    deliveries,
    timers: {
      async schedule(at, timer, key) {
        // A retried outbox effect schedules the same timer: one job per key.
        await agenda
          .create('handoffs.timer', { ...timer, key })
          .unique({ 'data.key': key }, { insertOnly: true })
          .schedule(at)
          .save();
      },
    },
    async recordTaskEvent(e) {
      await supervision.telemetry.ingest([{ ...e, outcome: 'handed-to-human', latencyMs: 0, costUSD: 0 }]);
    },
    clock,
  });
  await ensureRecurring(agenda, 'retraining.sweep', settings.retrainingSweepEvery ?? org.settings.schedules.retrainingSweep ?? '1 day');
  const sponsorships = new Sponsorships({
    org,
    agents,
    outbox,
    clock,
  });
  const leavers = new Leavers({ org, agents, repo: createLeaverRepository(connection), audit, notifier, outbox, sponsorships, clock });

  const delegations = new Delegations({
    org,
    repo: createDelegationRepository(connection),
    outbox,
    clock,
    timers: {
      schedule: async (at, job, key) => {
        // Scheduling the same effect twice (a retried outbox effect) keeps one job.
        await agenda
          .create(DIRECTORY_JOBS.delegation, { ...job, key })
          .unique({ 'data.key': key }, { insertOnly: true })
          .schedule(at)
          .save();
      },
    },
    reroute: (principal, delegate) => engine.delegateOpen(principal, delegate),
  });
  late2.delegations = delegations;
  agenda.define(
    DIRECTORY_JOBS.delegation,
    async (job) => {
      const { id, kind } = job.attrs.data as DelegationTimer;
      if (kind === 'start') await delegations.start(id);
      else await delegations.end(id);
    },
    { lockLifetime: timerLockLifetime(agenda), backoff: exponential({ delay: 1000, maxRetries: 6 }) },
  );

  // Leavers and lost roles: durable jobs, run once across replicas, within seconds of the SCIM write.
  let directory: DirectoryService | undefined;
  let scim: ScimService | undefined;
  if (settings.directory) {
    const store = createDirectoryStore(connection);
    directory = new DirectoryService({
      store,
      live: settings.directory.live,
      audit,
      outbox,
      log: log.child({ component: 'directory' }),
      clock,
      schedule: async (job, key) => {
        // A reaction performed again (after a crash) queues the same job once.
        await agenda
          .create(DIRECTORY_JOBS.change, { ...job, key })
          .unique({ 'data.key': key }, { insertOnly: true })
          .schedule(new Date())
          .save();
      },
    });
    late2.directory = directory;
    await directory.load(settings.directory.seed);
    scim = new ScimService(store, directory, clock);
  }
  // Every step is idempotent (conditional updates, keyed audit entries and offers), so a job that
  // failed half-way is retried whole.
  agenda.define(
    DIRECTORY_JOBS.change,
    async (job) => {
      const change = job.attrs.data as DirectoryJob;
      await late2.directory?.refresh();
      if (change.kind === 'leaver') {
        await delegations.endAllFor(change.email);
        await engine.reassign(change.email, `left the directory (${change.reason} by ${change.source})`);
        await leavers.left(change.email, change.manager, change.source);
      } else {
        await engine.reassign(change.email, `no longer holds ${change.roles.join(', ')} (${change.source})`);
      }
    },
    { backoff: exponential({ delay: 2000, maxRetries: 8 }) },
  );
  const dashboard = {
    links: new DashboardLinks(settings.dashboardSecret ?? randomBytes(32).toString('hex')),
    publicUrl: settings.publicUrl ?? 'http://127.0.0.1:3978',
    fleet: () =>
      fleetView({
        org,
        agents,
        openAlerts: () => supervision.alertRepo.list({ status: ['open', 'acknowledged', 'snoozed'] }),
        dailyRollups: (agentId, from, to) => supervision.telemetry.rollups(agentId, 'day', from, to),
        clock,
      }),
  };
  await defineOutboxJob(agenda, outbox, settings.outboxDrainEvery);
  const webhookRepo = createWebhookRepository(connection);
  await webhookRepo.ensureIndexes();
  const webhookConfig = settings.webhooks;
  const webhooks = new WebhookDispatcher({
    subscriptions: webhookConfig?.subscriptions ?? [],
    repo: webhookRepo,
    transport:
      settings.webhookTransport ??
      createWebhookTransport(new WebhookHostPolicy(webhookConfig?.allowPrivateHosts ?? [], webhookConfig?.allowLoopbackHttp ?? false)),
    notifier,
    source: settings.publicUrl ?? 'http://127.0.0.1:3978',
    retryWindowMs: webhookConfig?.retryWindowMs ?? 24 * 3_600_000,
    mayRetry: (email) => mayRetryWebhooks(findPersonByEmail(org, email)),
    outbox,
    log: log.child({ component: 'webhooks' }),
    clock,
  });
  if (webhookConfig && webhookConfig.subscriptions.length > 0) {
    await webhooks.start();
    agenda.define(WEBHOOK_JOB, async () => {
      await webhooks.tick();
    });
    await ensureRecurring(agenda, WEBHOOK_JOB, settings.webhookEvery ?? '2 seconds');
    webhookNudge.kick = () => webhooks.kick();
  }
  const checkpointStore = createCheckpointStore(connection);
  await checkpointStore.ensureIndexes();
  const checkpoints = new AuditCheckpoints({
    audit,
    chain: audit,
    repo: checkpointStore,
    signer: settings.auditSigner,
    ...(settings.auditVerifyKeys ? { publicKeys: settings.auditVerifyKeys } : {}),
    clock,
  });
  if (settings.auditSigner)
    await defineAuditCheckpointJob(agenda, checkpoints, log.child({ component: 'audit' }), {
      cadence: org.settings.schedules.auditCheckpoints,
      ...(settings.reloadAuditSigner ? { signer: settings.reloadAuditSigner } : {}),
      alarm: new CheckpointAlarm({ org, outbox, repo: createCheckpointHealthStore(connection), clock }),
    });
  const sweep: SafetySweepDeps = {
    clock,
    log: log.child({ component: 'safety-sweep' }),
    overdueGrants: async (before) =>
      (await grants.list({ status: ['active'] })).filter((g) => g.expiresAt && Date.parse(g.expiresAt) < before.getTime()).map((g) => g.id),
    expireGrant: (id) => accessCommands.expireGrant(id, { caughtBySweep: true }),
    waitingRuns: async () => (await runs.list({ status: ['waiting'] })).map((r) => r.id),
    expireRun: (id, graceMs) => engine.expireOverdue(id, graceMs),
    openAlerts: async () => (await supervision.alertRepo.list({ status: ['open'] })).map((a) => a.id),
    escalateAlert: (id, graceMs) => supervision.alerts.escalateOverdue(id, graceMs),
  };
  await defineSafetySweep(agenda, sweep);
  const search = new AgentSearch({
    org,
    search: (filter, page) => agents.search(filter, page),
    holdersOf: (scope) => grants.holdersOf(scope),
    lastCheckIn: (verdict) => supervision.checkinRepo.agentsByLastVerdict(verdict),
    spentOver: (usd, inclusive, since) => supervision.telemetry.spentOver(usd, inclusive, since),
    reads,
    clock,
  });
  return {
    outbox,
    outboxRepo,
    sweep,
    dashboard,
    /** `find`: agents by status, role, unit, sponsor, scope, data class, risk, last check-in and cost. */
    search,
    /** Sends cards to people on their preferred platform. */
    notifier,
    audit,
    /** Signed checkpoints of the audit chain's head. */
    checkpoints,
    agents,
    /** Agent keys: verify (telemetry, OAuth), rotate, re-issue, revoke. */
    agentKeys,
    /** Who looked at which agents (`show`, `list`), recorded beside the audit chain. */
    reads,
    grants,
    runs,
    engine,
    presenter,
    commands,
    access: accessCommands,
    reviews,
    supervision,
    retirement,
    reactivation,
    development,
    evaluations,
    governance,
    leavers,
    delegations,
    /** The live directory (SCIM mode only). */
    directory,
    /** The SCIM service provider (SCIM mode only). */
    scim,
    sponsorships,
    registry,
    flows,
    /** Agents asking a human before they act. */
    runtime,
    /** Agents handing cases to people. */
    handoffs,
    /** Sponsors' boundary changes, approved by IT. */
    boundaryChanges,
    /** Signed webhooks (a dispatcher with no subscriptions when none are configured). */
    webhooks,
    webhookRepo,
  };
}
