import { timerLockLifetime } from './jobs/flow-timers.js';
import { exponential, type Agenda } from 'agenda';
import { ensureRecurring } from './jobs/recurring.js';
import type { Connection } from 'mongoose';
import type { OrgConfig } from './config/schemas.js';
import type { Logger } from './logger.js';
import { AGENT_HOLDER, type AgentRepository } from './core/agents.js';
import { ALERT_HOLDER, AlertService, type AlertTimer } from './core/alerts.js';
import { AgentKeys, type KeyRefusal } from './core/agent-keys.js';
import type { AuditLog } from './core/audit.js';
import {
  CHECKIN_HOLDER,
  CHECKIN_RETIRE_EFFECT,
  CHECKIN_RETRAIN_EFFECT,
  CheckInService,
  type MeasuredReader,
  type RetirementStarter,
  type RetrainingRequester,
} from './core/checkins.js';
import type { Notifier } from './core/notifications.js';
import { SupervisionCards } from './core/supervision-cards.js';
import type { ChartLinks, TrendChartData } from './core/trend-chart.js';
import { createOtlpRouter } from './http/otlp.js';
import { createTelemetryIngest, createTelemetryRouter, type TelemetryRouteDeps } from './http/telemetry.js';
import { roleById } from './config/directory.js';
import { Outbox } from './core/outbox.js';
import { auditPerformer } from './core/audit-effects.js';
import { createCardDeliveries, createOutboxRepository } from './store/outbox-store.js';
import { chatSendPerformer, type CardDeliveries } from './core/chat-effects.js';
import { createAlertRepository } from './store/alert-store.js';
import { createCheckInRepository } from './store/checkin-store.js';
import { createTelemetryStore } from './store/telemetry-store.js';
import { AlertPager, type PagerTransport, type ResolvedPager } from './core/pager.js';

export const SupervisionJobs = {
  alertTimer: 'alerts.timer',
  sweep: 'checkins.sweep',
  purge: 'telemetry.purge',
} as const;

/** When a burst of failures pages on-call without waiting for the check-in. */
export const ERROR_SPIKE = { minTasks: 20, failureRate: 0.3 } as const;

export interface SupervisionSettings {
  connection: Connection;
  agenda: Agenda;
  org: OrgConfig;
  audit: AuditLog;
  agents: AgentRepository;
  notifier: Notifier;
  log: Logger;
  /** SHA-256 digests of platform telemetry keys. */
  platformKeyHashes?: string[];
  /** Agent keys (the telemetry door verifies keys through it); built from the other settings when absent. */
  keys?: AgentKeys;
  /** Length of an escalation-policy minute in ms (tests shrink it). */
  minuteMs?: number;
  /** How often due check-ins are looked for. */
  sweepEvery?: string;
  /** Roster's own measurements (scheduled suite re-runs) for check-ins; resolved when a check-in runs. */
  measured?: () => MeasuredReader | undefined;
  /** Who starts a retraining when a check-in's Retrain is chosen; resolved when the choice is performed. */
  retraining?: () => RetrainingRequester | undefined;
  /** Who starts a retirement when a check-in's Retire is chosen; resolved when the choice is performed. */
  retiring?: () => RetirementStarter | undefined;
  clock?: () => Date;
  /** Where the effects of alert changes are stored and performed (Roster's shared outbox; one of its own when unset). */
  outbox?: Outbox;
  /** Which cards went out, by effect id. */
  deliveries?: CardDeliveries;
  /** The rotations' pagers (PagerDuty, Opsgenie), their transport, and the URL their incidents link to. */
  pagers?: { pagers: readonly ResolvedPager[]; transport: PagerTransport; publicUrl?: string | undefined };
  /** Signs links to the trend charts' images; only with a public URL (Slack cards show a sparkline otherwise). */
  chartLinks?: ChartLinks;
}

/**
 * Telemetry ingest, check-ins and on-call alerts on one database, with their Agenda jobs:
 * alert timers (escalate, re-notify, wake), the check-in sweep and the raw-event purge.
 */
export async function createSupervision(s: SupervisionSettings) {
  const clock = s.clock ?? (() => new Date());
  const telemetry = createTelemetryStore(s.connection);
  const alertRepo = createAlertRepository(s.connection);
  const checkinRepo = createCheckInRepository(s.connection);
  await Promise.all([telemetry.ensureIndexes(), alertRepo.ensureIndexes(), checkinRepo.ensureIndexes()]);
  const cards = new SupervisionCards(s.org, s.chartLinks);
  /** The chart behind `/charts/<id>.png`: a check-in's or an alert's trend with its agent's baseline and thresholds. */
  const chart = async (id: string): Promise<TrendChartData | undefined> => {
    if (id.startsWith('chk_')) {
      const record = await checkinRepo.get(id);
      return record && cards.checkInChart(record, await s.agents.get(record.agentId));
    }
    const alert = id.startsWith('alr_') ? await alertRepo.get(id) : undefined;
    return alert && cards.alertChart(alert, await s.agents.get(alert.agentId));
  };
  const deliveries = s.deliveries ?? createCardDeliveries(s.connection);
  const outbox = s.outbox ?? standaloneOutbox(s, clock);
  const pager = s.pagers?.pagers.length
    ? new AlertPager({
        org: s.org,
        outbox,
        alerts: alertRepo,
        pagers: s.pagers.pagers,
        transport: s.pagers.transport,
        publicUrl: s.pagers.publicUrl,
        log: s.log.child({ component: 'pager' }),
      })
    : undefined;
  const keys = s.keys ?? new AgentKeys({ org: s.org, agents: s.agents, audit: s.audit, notifier: s.notifier, outbox, clock });
  const alerts = new AlertService({
    org: s.org,
    alerts: alertRepo,
    audit: s.audit,
    notifier: s.notifier,
    timers: {
      schedule: async (at, timer, key) => {
        if (!key) return void (await s.agenda.schedule(at, SupervisionJobs.alertTimer, timer));
        // A retried outbox effect schedules the same timer: one job per key.
        await s.agenda
          .create(SupervisionJobs.alertTimer, { ...timer, key })
          .unique({ 'data.key': key }, { insertOnly: true })
          .schedule(at)
          .save();
      },
    },
    outbox,
    deliveries,
    presenter: cards,
    ...(pager ? { pager } : {}),
    roleOf: async (agentId) => (await s.agents.get(agentId))?.catalogRoleId,
    clock,
    ...(s.minuteMs ? { minuteMs: s.minuteMs } : {}),
  });
  const checkins = new CheckInService({
    org: s.org,
    agents: s.agents,
    telemetry,
    checkins: checkinRepo,
    alerts,
    outbox,
    presenter: cards,
    ...(s.measured ? { measured: s.measured } : {}),
    ...(s.retraining ? { retraining: s.retraining } : {}),
    ...(s.retiring ? { retiring: s.retiring } : {}),
    clock,
  });
  if (s.retiring) {
    const retiring = s.retiring;
    outbox.register<{ agentId: string; by: string; reason: string; runId: string }>({
      type: CHECKIN_RETIRE_EFFECT,
      perform: async ({ agentId, by, reason, runId }) => {
        await retiring()?.startRetirement(by, agentId, reason, runId);
      },
    });
  }
  if (s.retraining) {
    const retraining = s.retraining;
    outbox.register<{ agentId: string; by: string; why: string }>({
      type: CHECKIN_RETRAIN_EFFECT,
      perform: async ({ agentId, by, why }) => {
        await retraining()?.requestRetraining(by, agentId, why);
      },
    });
  }

  /**
   * A refused agent key was used (telemetry or the token endpoint): a retired agent is still running,
   * or something still runs with a revoked or rotated-out key.
   */
  const reportRefusedKey = async (agentId: string, reason: KeyRefusal): Promise<void> => {
    const agent = await s.agents.get(agentId);
    const name = agent?.name ?? agentId;
    const why =
      reason === 'agent-retired'
        ? `is ${agent?.status ?? 'retired'} but still uses its old key: a retired agent is still running.`
        : reason === 'revoked'
          ? 'still uses a key that was revoked: something still runs with it (a leaked key, or a platform not yet switched over).'
          : 'still uses a key that was rotated out after its grace period: its platform has not switched to the new key.';
    await alerts.raise({
      kind: 'retired-key',
      agentId,
      severity: 'critical',
      summary: `${name} ${why}`,
      details: { agentName: name, keyRefusal: reason },
    });
  };

  s.agenda.define(
    SupervisionJobs.alertTimer,
    async (job) => {
      await alerts.onTimer(job.attrs.data as AlertTimer);
    },
    // Short and idempotent, like flow timers: a crashed process delays a page by 30 s at most.
    { lockLifetime: timerLockLifetime(s.agenda), backoff: exponential({ delay: 1000, maxRetries: 6 }) },
  );
  s.agenda.define(
    SupervisionJobs.sweep,
    async (job) => {
      // Each chunk renews the job's lock, so however long a sweep of a large fleet takes, no other
      // replica sees the lock expire and starts a second sweep.
      const result = await checkins.sweep(clock(), () => job.touch());
      if (result.ran || result.dormant || result.ownerless) s.log.info(result, 'check-in sweep');
    },
    { concurrency: 1, lockLimit: 1 },
  );
  s.agenda.define(SupervisionJobs.purge, async () => {
    const before = new Date(clock().getTime() - s.org.settings.rawEventRetentionDays * 86_400_000);
    // A retiring agent's decision log goes into its archive when the retirement completes: keep it until then.
    const retiring = (await s.agents.list({ status: ['retiring'] })).map((a) => a.id);
    const deleted = await telemetry.purgeEventsBefore(before, retiring);
    if (deleted) s.log.info({ deleted, before: before.toISOString() }, 'purged raw telemetry past retention');
  });
  await ensureRecurring(s.agenda, SupervisionJobs.sweep, s.sweepEvery ?? s.org.settings.schedules.checkinSweep ?? '15 minutes');
  await ensureRecurring(s.agenda, SupervisionJobs.purge, s.org.settings.schedules.rawEventPurge ?? '1 day');

  const telemetryDeps: TelemetryRouteDeps = {
    store: telemetry,
    // A busy agent's batches are not each an agent read: the key cache answers for a few seconds.
    verifyKey: (secret) => keys.verifyAgentKey(secret, { cached: true }),
    platformKeyHashes: s.platformKeyHashes ?? [],
    retentionDays: () => s.org.settings.rawEventRetentionDays,
    limits: {
      perKey: { requests: s.org.settings.rateLimits.telemetry.requests, perMs: s.org.settings.rateLimits.telemetry.per.ms },
      failedAuthPerAddress: { requests: s.org.settings.rateLimits.anonymous.requests, perMs: s.org.settings.rateLimits.anonymous.per.ms },
    },
    clock,
    log: s.log.child({ component: 'telemetry' }),
    onIngested: async (agentIds) => {
      // An error spike: in the last hour at least 20 tasks and 30% or more of them failed. One read
      // for every agent of the batches stored since the last check; only spiking agents cost more.
      const now = clock();
      const hours = await telemetry.hourlyRollupsOf(agentIds, new Date(now.getTime() - 3_600_000), new Date(now.getTime() + 3_600_000));
      for (const [agentId, rollups] of hours) {
        const count = rollups.reduce((n, h) => n + h.count, 0);
        const failures = rollups.reduce((n, h) => n + h.outcomes.failure, 0);
        if (count >= ERROR_SPIKE.minTasks && failures / count >= ERROR_SPIKE.failureRate) {
          const agent = await s.agents.get(agentId);
          await alerts.raise({
            kind: 'error-spike',
            agentId,
            severity: 'critical',
            summary: `${agent?.name ?? agentId}: ${failures} of its last ${count} tasks failed (${Math.round((failures / count) * 100)}% in the past hour).`,
            details: { agentName: agent?.name ?? agentId, failures, count },
          });
        }
      }
    },
    onUnregistered: async (platformKey, agentIds) => {
      await alerts.raiseUnregistered(platformKey, agentIds, s.org.settings.unregisteredAgentsListed);
    },
    onRefusedKey: reportRefusedKey,
  };
  const ingest = createTelemetryIngest(telemetryDeps);
  const router = createTelemetryRouter(telemetryDeps, ingest);
  const otlpRouter = createOtlpRouter({
    ingest,
    pricesOf: async (agentIds) => {
      const roles = await telemetry.rolesOf(agentIds);
      return new Map(agentIds.map((id) => [id, roleById(s.org, roles.get(id) ?? '')?.prices]));
    },
    log: s.log.child({ component: 'otlp' }),
  });
  return { telemetry, alerts, checkins, cards, chart, router, otlpRouter, alertRepo, checkinRepo, reportRefusedKey, ingest, pager };
}

export type Supervision = Awaited<ReturnType<typeof createSupervision>>;

/** An outbox for the alerts alone, when supervision runs without the rest of Roster (its tests). */
function standaloneOutbox(s: SupervisionSettings, clock: () => Date): Outbox {
  return createAlertOutbox(s.connection, s.audit, s.log, clock, s.notifier).outbox;
}

/**
 * The outbox and card deliveries an AlertService (and the check-ins) need, for supervision used
 * without the rest of Roster. With a notifier, it sends the check-ins' review cards too.
 */
export function createAlertOutbox(
  connection: Connection,
  audit: AuditLog,
  log: Logger,
  clock: () => Date = () => new Date(),
  notifier?: Notifier,
): { outbox: Outbox; deliveries: CardDeliveries } {
  const outbox = new Outbox({
    repo: createOutboxRepository(connection, { [ALERT_HOLDER]: 'alerts', [CHECKIN_HOLDER]: 'checkins', [AGENT_HOLDER]: 'agents' }),
    log,
    clock,
  });
  const deliveries = createCardDeliveries(connection);
  outbox.register(auditPerformer(audit));
  if (notifier) outbox.register(chatSendPerformer({ notifier, deliveries, leaseMs: outbox.settings.leaseMs, clock }));
  return { outbox, deliveries };
}
