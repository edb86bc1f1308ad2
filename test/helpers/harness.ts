import type { Weekday } from '../../src/core/time.js';
import path from 'node:path';
import type { AccessSettings } from '../../src/core/access.js';
import type { OutboxSettings } from '../../src/core/outbox.js';
import { issueTelemetryKey, newAgentId, type AgentRecord, type GrantRecord } from '../../src/core/agents.js';
import type { CheckInRecord } from '../../src/core/checkin-service.js';
import type { AgentId } from '../../src/core/ids.js';
import type { FlowRun } from '../../src/flows/types.js';
import { isRosterError } from '../../src/core/errors.js';
import type { OrgConfig } from '../../src/config/schemas.js';
import type { EvalSuites } from '../../src/config/eval-suites.js';
import type { WebhookConfig } from '../../src/config/webhooks.js';
import type { PagerTransport, ResolvedPager } from '../../src/core/pager.js';
import type { Scheduler } from '../../src/jobs/scheduler.js';
import type { Services } from '../../src/services.js';
import type { ChatService } from '../../src/channels/chat.js';
import { startTestRoster, type TestRoster } from './app.js';
import { generateEvents } from '../../src/demo/synthetic-telemetry.js';
import { openTestDb, type TestDb } from './db.js';
import { RecordingNotifier } from './recording-notifier.js';
import { projectRoot } from './roster-process.js';
import { commandsOf } from './commands.js';
import { asAgentId, asCheckInId, asGrantId, asRunId } from './ids.js';

export const SHIPPED_CONFIG = path.join(projectRoot, 'config');
export const SHIPPED_FLOWS = path.join(projectRoot, 'flows');
/** The shipped flows with delays of seconds, for tests where the scheduler really fires timers. */
export const FAST_FLOWS = path.join(projectRoot, 'test/fixtures/flows/fast');

export interface Harness {
  /** The test's own connection to Roster's database (Roster has its own). */
  db: TestDb;
  org: OrgConfig;
  scheduler: Scheduler;
  notifier: RecordingNotifier;
  services: Services;
  chat: ChatService;
  /** The whole Roster, as startTestRoster composes it. */
  roster: TestRoster;
  /**
   * Stops this Roster and starts another on the same database (a restart, or with `changes` a
   * start-up with another configuration), keeping the recording notifier.
   */
  restart(changes?: HarnessOptions): Promise<Harness>;
  close(): Promise<void>;
}

/**
 * The organisation working round the clock: reminders that wait for working hours go out at
 * once whatever time of day a test runs. A test of working hours sets its own (settings/org).
 */
export function roundTheClock(org: OrgConfig): OrgConfig {
  const always = { start: '00:00', end: '24:00', days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as Weekday[] };
  return { ...org, settings: { ...org.settings, workingHours: always } };
}

/** What a harness is started with. */
export interface HarnessOptions {
  flows?: string;
  db?: TestDb;
  notifier?: RecordingNotifier;
  access?: Partial<AccessSettings>;
  /** The services' clock (the scheduler itself runs in real time). */
  clock?: () => Date;
  retrainingSweepEvery?: string;
  /** Evaluation suites (none by default) and evaluation timing. */
  suites?: EvalSuites;
  evaluation?: { leaseMs?: number; resumeEvery?: string; progressEveryMs?: number; rerunEvery?: string };
  /** The crash hook of the outbox and the engine (see src/fault-point.ts): throw from it to stop a writer after its state change. */
  faultPoint?: (name: string) => void;
  /**
   * Outbox tuning: its lease (how soon its worker takes over a dead writer's effects), attempts before
   * parking, back-off, and how often the worker runs.
   */
  outbox?: Partial<OutboxSettings> & { drainEvery?: string };
  /** Signed webhooks (config/webhooks.yaml as loaded); none by default. */
  webhooks?: WebhookConfig;
  /** Changes to the shipped configuration for this test (e.g. a scope made break-glass-eligible). */
  org?: (org: OrgConfig) => OrgConfig;
  /** The rotations' pagers as src/config/pager.ts resolves them, and their transport; none by default. */
  pagers?: { pagers: ResolvedPager[]; transport: PagerTransport };
  /** The SCIM-provisioned directory of org.yaml (as with ROSTER_SCIM_TOKEN), seeded from people.yaml; a new one per start. */
  directory?: boolean;
  /** Length of an alert-escalation "minute" in ms (the default policy's 15 and 30 minutes in about a second). */
  alertMinuteMs?: number;
}

/** A SCIM bearer token for harnesses with the provisioned directory. */
const HARNESS_SCIM_TOKEN = 'harness-scim-token-0123456789abcdef0123456789';

/** Endpoint secrets of a harness's suites are sealed with one key, so a restart can still open them. */
const HARNESS_EVAL_KEY = '07'.repeat(32);

/**
 * Roster, as startTestRoster composes it (the composition production uses), on a fresh database
 * with a recording notifier instead of chat channels, its scheduler running.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = options.db ?? (await openTestDb());
  const notifier = options.notifier ?? new RecordingNotifier();
  const env: Record<string, string> = {
    ...(options.directory ? { ROSTER_SCIM_TOKEN: HARNESS_SCIM_TOKEN } : {}),
    ...(options.suites ? { ROSTER_EVAL_SECRET_KEY: HARNESS_EVAL_KEY } : {}),
  };
  const roster = await startTestRoster({
    env,
    dbName: db.dbName,
    notifier,
    flowsDir: options.flows ?? SHIPPED_FLOWS,
    ...(options.org ? { org: options.org } : {}),
    ...(options.access ? { access: options.access } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.faultPoint ? { faultPoint: options.faultPoint } : {}),
    ...(options.retrainingSweepEvery ? { retrainingSweepEvery: options.retrainingSweepEvery } : {}),
    ...(options.suites ? { suites: options.suites } : {}),
    ...(options.evaluation ? { evaluation: options.evaluation } : {}),
    ...(options.outbox ? { outbox: options.outbox } : {}),
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    ...(options.pagers ? { pagers: options.pagers.pagers, pagerTransport: options.pagers.transport } : {}),
    ...(options.alertMinuteMs ? { alertMinuteMs: options.alertMinuteMs } : {}),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await roster.stop();
  };
  return {
    db,
    org: roster.org,
    scheduler: roster.scheduler,
    notifier,
    services: roster.services,
    chat: roster.chat,
    roster,
    async restart(changes = {}) {
      await stop();
      return startHarness({ ...options, ...changes, db, notifier });
    },
    async close() {
      await stop();
      await db.close();
    },
  };
}

/** E-mails of the sample organisation's people used across tests. */
export const people = {
  amara: 'amara.osei@brightwater.example', // requester, people-ops
  sofia: 'sofia.alvarez@brightwater.example', // approver:people-ops
  liam: 'liam.oneill@brightwater.example', // it-admin
  aisha: 'aisha.khan@brightwater.example', // it-admin
  grace: 'grace.liu@brightwater.example', // security
  elena: 'elena.rossi@brightwater.example', // dpo
  maya: 'maya.chen@brightwater.example', // approver:finance
  daniel: 'daniel.okafor@brightwater.example', // requester, finance
  marcus: 'marcus.johnson@brightwater.example', // compliance
  tom: 'tom.becker@brightwater.example', // requester, customer-support
};

/** Typed-in results that pass the role's thresholds, with the reason an IT admin must give for typing them in. */
export const passingEvaluation = (org: OrgConfig, roleId: string) => {
  const role = org.catalog.find((r) => r.id === roleId)!;
  return {
    accuracy: Math.min(1, role.evaluation.minAccuracy + 0.03),
    p95LatencyMs: Math.round(role.evaluation.maxP95LatencyMs * 0.6),
    costPerTaskUSD: role.evaluation.maxCostPerTaskUSD / 2,
    roleFitChecked: role.evaluation.roleFit,
    notes: 'Measured by the vendor on our test set; no endpoint Roster can reach yet.',
  };
};

/**
 * A kb-answerer agent `requester` asked for in engineering (and sponsors), its results typed in by
 * an IT admin and passed: the request waits for the engineering approver and an IT admin.
 */
export async function requestAwaitingApproval(
  services: Services,
  org: OrgConfig,
  requester: string,
  name: string,
): Promise<{ runId: string; agentId: string }> {
  const { run, agentId } = await commandsOf(services).requestAgent(requester, {
    roleId: 'kb-answerer',
    name,
    purpose: 'Answers engineering how-to questions from the handbook.',
    businessUnit: 'engineering',
    sponsors: [requester],
    justification: 'Saves the platform team hours each week.',
  });
  await commandsOf(services).submitEvaluation(people.liam, agentId, passingEvaluation(org, 'kb-answerer'));
  return { runId: run.id, agentId };
}

/** Waits until `probe` returns a truthy value (scheduler-driven outcomes), or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An agent record as the store holds it: active, in customer support, sponsored by Tom; override what a test needs. */
export function agentRecord(overrides: Partial<AgentRecord> = {}): AgentRecord {
  const now = new Date().toISOString();
  const id = overrides.id ?? newAgentId();
  return {
    id,
    name: 'Support Copilot',
    catalogRoleId: 'support-assistant',
    version: '1.0.0',
    sponsors: [people.tom],
    businessUnit: 'customer-support',
    status: 'active',
    purpose: 'Drafts replies to customer tickets.',
    requestedBy: overrides.sponsors?.[0] ?? people.tom,
    requestRunId: asRunId(`run_${id}`),
    credentials: [],
    knowledgeNotes: [],
    complianceTags: [],
    createdAt: now,
    updatedAt: now,
    statusChangedAt: now,
    ...overrides,
  };
}

/** A completed retirement run of `agentId` as the run store holds it, created and updated at `at`; override what a test needs. */
export function completedRunRecord(id: string, agentId: AgentId, at: string, overrides: Partial<FlowRun> = {}): FlowRun {
  return {
    id: asRunId(id),
    flowId: 'retirement',
    status: 'completed',
    requester: people.tom,
    subject: { type: 'agent', id: agentId, agentId },
    context: {},
    current: 0,
    steps: {},
    waitingFor: [],
    events: [],
    version: 1,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/** An agent record (see {@link agentRecord}) with a fresh telemetry key, stored; resolves it and the key in clear. */
export async function agentWithTelemetryKey(
  agents: { insert(agent: AgentRecord): Promise<void> },
  overrides: Partial<AgentRecord> = {},
): Promise<{ agent: AgentRecord; key: string }> {
  const id = overrides.id ?? newAgentId();
  const { key, credential } = issueTelemetryKey(id, new Date());
  const agent = agentRecord({ ...overrides, id, credentials: [credential] });
  await agents.insert(agent);
  return { agent, key };
}

/**
 * An agent stored with no sponsor in the directory (`sponsors: []` unless `overrides` name people
 * gone) and its open ownerless alert, with the check-in sweep's summary.
 */
export async function ownerlessAgent(h: Pick<Harness, 'services'>, overrides: Partial<AgentRecord> = {}) {
  const agent = agentRecord({ sponsors: [], ...overrides });
  await h.services.agents.insert(agent);
  const alert = await h.services.supervision.alerts.raise({
    kind: 'ownerless',
    agentId: agent.id,
    severity: 'warning',
    summary: `${agent.name} has no sponsor left in the directory.`,
    details: { agentName: agent.name },
  });
  return { agent, alert };
}

/**
 * An agent 40 days old whose accuracy fell over the last 14 of its 30 days of telemetry, stored
 * with that telemetry, and its check-in run: degraded, so its sponsors get a review card (with
 * Retrain) and on-call a drift alert. Override what a test needs (name, sponsors, baseline …).
 */
export async function degradedAgent(h: Pick<Harness, 'services'>, overrides: Partial<AgentRecord> = {}): Promise<AgentRecord> {
  const day = 86_400_000;
  const created = new Date(Date.now() - 40 * day).toISOString();
  const agent = agentRecord({ createdAt: created, updatedAt: created, statusChangedAt: created, ...overrides });
  await h.services.agents.insert(agent);
  const end = new Date(Math.floor(Date.now() / day) * day);
  await h.services.supervision.telemetry.ingest(
    generateEvents({ agentId: agent.id, profile: 'accuracy-drop', days: 30, end, driftDays: 14 }),
  );
  await h.services.supervision.checkins.run(agent.id);
  return agent;
}

/** An active grant of `scope` to the agent, made by hand by Tom for a day; override what a test needs. */
export function grantRecord(agentId: string, scope: string, overrides: Partial<GrantRecord> = {}): GrantRecord {
  const now = new Date();
  return {
    id: asGrantId(`${agentId}:${scope}:manual`),
    agentId: asAgentId(agentId),
    scope,
    reason: 'granted by hand',
    requestedBy: people.tom,
    approvedBy: [people.tom],
    startsAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
    status: 'active',
    source: 'manual',
    createdAt: now.toISOString(),
    ...overrides,
  };
}

/** A check-in that found the agent degraded (accuracy fell), made now; store it with `supervision.checkinRepo.save`. */
export function degradedCheckIn(id: string, agentId: string): CheckInRecord {
  const now = new Date().toISOString();
  return {
    id: asCheckInId(id),
    agentId: asAgentId(agentId),
    at: now,
    window: { baselineFrom: new Date(0).toISOString(), currentFrom: now, to: now },
    verdict: 'degraded',
    recommendation: 'retrain',
    findings: [
      {
        metric: 'accuracy',
        method: 'two-proportion z-test',
        statistic: 3,
        threshold: 2,
        severity: 'degraded',
        summary: 'accuracy fell from 0.93 to 0.71',
      },
    ],
    metrics: [],
    trend: '',
    sample: { baseline: 0, current: 0 },
  };
}

/** The coded error a promise rejects with (fails the test when it resolves or throws something else). */
export async function errorOf(p: Promise<unknown>): Promise<{ code: string; userMessage: string }> {
  try {
    await p;
  } catch (err) {
    if (isRosterError(err)) return { code: err.code, userMessage: err.userMessage };
    throw err;
  }
  throw new Error('expected a coded error');
}
