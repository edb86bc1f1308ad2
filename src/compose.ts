import { randomBytes } from 'node:crypto';
import type { Agenda } from 'agenda';
import type { Registry } from 'prom-client';
import type { Env } from './config/env.js';
import { bindHost, DeploymentError, deploymentProblems } from './config/deployment.js';
import { ConfigError, type OrgConfig } from './config/org-config.js';
import type { Person } from './config/schemas.js';
import type { EvalSuites } from './config/eval-suites.js';
import type { WebhookConfig } from './config/webhooks.js';
import { LiveDirectory } from './config/live-directory.js';
import { findPersonByEmail } from './config/directory.js';
import { loadAuditSigner, loadAuditVerifyKeys, reloadAuditSigner } from './config/audit-signing-key.js';
import type { Logger } from './logger.js';
import { createFaultPoint } from './fault-point.js';
import { openDatabase, type Database } from './store/database.js';
import { createStore, type Store } from './store/index.js';
import { DEFAULT_KEY_CACHE_MS, KeyCache } from './core/key-cache.js';
import type { Notifier } from './core/notifications.js';
import { Outbox, type OutboxSettings } from './core/outbox.js';
import { auditPerformer } from './core/audit-effects.js';
import { chatSendPerformer, parkedEffectNotice } from './core/chat-effects.js';
import { WebhookDispatcher } from './core/webhooks.js';
import { AgentKeys, type KeyRefusal } from './core/agent-keys.js';
import { AccessCommands, DEFAULT_ACCESS_SETTINGS, GrantSteps, type AccessSettings } from './core/access.js';
import { AccessReviews } from './core/access-review.js';
import { Retirement } from './core/retirement.js';
import { Reactivation } from './core/reactivation.js';
import { Development, promotionStartPerformer } from './core/development.js';
import { RuntimeApprovals, RuntimeDecisions } from './core/runtime-approvals.js';
import { BoundaryChanges } from './core/boundary-changes.js';
import { Handoffs } from './core/handoffs.js';
import { CommandBus, createHandlers } from './commands/index.js';
import { RunPresenter } from './views/run-presenter.js';
import { accessReviewCards, grantCards } from './views/access-cards.js';
import { checkpointAlarmCards, parkedEffectCard } from './views/operator-notices.js';
import { boundaryChangeCards } from './views/boundary-change-cards.js';
import { handoffCards } from './views/handoff-cards.js';
import { complianceRemediationCards } from './views/compliance-cards.js';
import { webhookCards } from './views/webhook-cards.js';
import { agentKeyCards } from './views/agent-key-cards.js';
import { evaluationCards } from './views/evaluation-cards.js';
import { delegationCards, retirementCards } from './views/offboarding-cards.js';
import { developmentCards } from './views/development-cards.js';
import { leaverCards, sponsorshipCards } from './views/sponsorship-cards.js';
import { findingInWords } from './core/checkin-assessment.js';
import { CheckInService } from './core/checkin-service.js';
import { AlertService } from './core/alerts.js';
import { AlertPager, type PagerTransport, type ResolvedPager } from './core/pager.js';
import { SupervisionCards, trendChartOf } from './views/supervision-cards.js';
import { TelemetryAlerts } from './core/telemetry-alerts.js';
import { Governance } from './core/governance.js';
import { Sponsorships } from './core/sponsorships.js';
import { Leavers } from './core/leavers.js';
import { Delegations, activeDelegate, activeDelegates } from './core/delegations.js';
import { DashboardLinks, fleetView } from './core/fleet.js';
import { AgentSearch } from './core/agent-search.js';
import { AgentPicker } from './core/agent-pickers.js';
import { AuditCheckpoints, type CheckpointSigner, type CheckpointVerifier } from './core/audit-checkpoints.js';
import { CheckpointAlarm } from './core/audit-checkpoint-alarm.js';
import { ChartLinks } from './core/trend-chart.js';
import { DirectoryService } from './directory/directory-service.js';
import { ScimService } from './scim/scim-service.js';
import { Evaluations } from './evals/evaluations.js';
import { SecretBox } from './evals/secrets.js';
import { measuredVerdictHooks } from './evals/verdict-hooks.js';
import type { FlowDefinition } from './flows/schema.js';
import { createStepRegistry } from './flows/steps.js';
import { FlowEngine } from './flows/engine.js';
import { ChatService } from './channels/chat.js';
import { RoutingNotifier, type Channel, type ChannelFactory } from './channels/port.js';
import { createAgentApi, type AgentApi } from './api/index.js';
import { apiUrls } from './api/oauth.js';
import { LiveScopes } from './core/live-scopes.js';
import { createScheduler, type Scheduler } from './jobs/scheduler.js';
import { defineJobs } from './jobs/index.js';
import { createFlowTimers } from './jobs/flow-timers.js';
import { createGrantTimers } from './jobs/grants.js';
import { createAlertTimers } from './jobs/alert-timer.js';
import { createHandoffTimers } from './jobs/handoff-timer.js';
import { createDelegationTimers } from './jobs/delegation-timer.js';
import { createDirectoryChanges } from './jobs/directory-change.js';
import { createQuietHours } from './jobs/quiet-hours.js';
import type { SafetySweepDeps } from './jobs/safety-sweep.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import { createTelemetryIngest, createTelemetryRouter, type TelemetryRouteDeps } from './http/telemetry.js';
import { createOtlpRouter } from './http/otlp.js';
import { createPagerTransport } from './http/pager-sender.js';
import { createPagerRouter } from './http/pager-routes.js';
import { createDashboardRouter } from './http/dashboard.js';
import { createChartRouter } from './http/charts.js';
import { createScimRouter } from './scim/router.js';
import { createWebhookTransport, WebhookHostPolicy } from './http/webhook-sender.js';
import { outboxMetrics } from './http/outbox-metrics.js';
import { webhookMetrics } from './http/webhook-metrics.js';
import { registerBusinessMetrics } from './http/business-metrics.js';
import { roleById } from './config/directory.js';
import type { AgentId } from './core/ids.js';

/** What a running Roster is built from; main.ts parses and checks the environment and the configuration first. */
export interface RosterOptions {
  env: Env;
  org: OrgConfig;
  /** Flow definitions, validated before start-up. */
  flows: ReadonlyMap<string, FlowDefinition>;
  log: Logger;
  /** The chat channels to build (Slack, Teams); main.ts passes the real ones. */
  channels?: ChannelFactory[];
  /** Tests use `memory`; `npm start` keeps data on disk with `h2`. */
  embeddedBackend?: 'h2' | 'memory';
  /** Overrides the database name (tests isolate themselves this way). */
  dbName?: string;
  /** Agenda polling interval. */
  processEvery?: string | number;
  /** Agenda lock lifetime (see createScheduler). */
  lockLifetimeMs?: number;
  /** Host to bind; by default `bindHost(env)` (loopback in anonymous Teams mode, else every interface). */
  host?: string;
  /** Evaluation suites, validated before start-up (`evals/*.yaml`). */
  suites?: EvalSuites;
  /** Evaluation timing for tests: claim lifetime, resume interval, progress interval, re-run interval. */
  evaluation?: { leaseMs?: number; resumeEvery?: string; progressEveryMs?: number; rerunEvery?: string };
  /** SCIM requests per minute per client (default 3,000); the bench raises it. */
  scimPerMinute?: number;
  /** How often the live directory looks for other replicas' writes (ms, default 1000). */
  directoryPollMs?: number;
  /** Signed webhooks from `config/webhooks.yaml` (main.ts loads and checks it); none when absent. */
  webhooks?: WebhookConfig;
  /** The services' clock (tests move it to pass a webhook's retry window without waiting). */
  clock?: () => Date;
  /** The key cache's monotonic clock in ms (tests move it past `ROSTER_KEY_CACHE_MS` without waiting). */
  keyCacheClock?: () => number;
  /** The agent API's live-access cache's monotonic clock in ms (tests move it past `ROSTER_ACCESS_CACHE_MS` without waiting). */
  accessCacheClock?: () => number;
  /** The rotations' pagers with their secrets (main.ts resolves and checks them: src/config/pager.ts); chat only when absent. */
  pagers?: readonly ResolvedPager[];
  /** Replaces the pagers' HTTP transport (tests of the policy itself use the real one). */
  pagerTransport?: PagerTransport;
  /**
   * Replaces the router to the chat channels as the notifier the domain sends cards through (tests
   * record the cards instead); channels built beside it serve their routes but deliver nothing.
   */
  notifier?: Notifier;
  /** Replaces `ROSTER_FAULT_POINT`'s crash hook (tests arm one point after another). */
  faultPoint?: (name: string) => void;
  /** Outbox tuning beyond `ROSTER_OUTBOX_LEASE_MS` (attempts, back-off), and how often its worker runs. */
  outbox?: Partial<OutboxSettings> & { drainEvery?: string };
  /** Grant reminder timing (default 1 day and 1 hour before expiry, for grants longer than a day). */
  access?: Partial<AccessSettings>;
  /** Length of an alert-escalation "minute" in ms (tests shrink it). */
  alertMinuteMs?: number;
  /** How often the retraining sweep runs, instead of `settings.schedules.retrainingSweep`. */
  retrainingSweepEvery?: string;
}

export interface Roster {
  readonly port: number;
  /** The metrics-only port, when `ROSTER_METRICS_PORT` is set. */
  readonly metricsPort?: number;
  /** The organisation as this Roster reads it (the live SCIM directory's people when provisioned). */
  readonly org: OrgConfig;
  readonly db: Database;
  readonly scheduler: Scheduler;
  readonly http: HttpServer;
  readonly services: Services;
  readonly chat: ChatService;
  readonly channels: Channel[];
  /** The agent-facing API: OAuth authorization server, access check, OpenAPI. */
  readonly api: AgentApi;
  /** Graceful stop: stop accepting, finish in-flight requests, stop jobs, close the database. */
  stop(): Promise<void>;
}

/**
 * The composition root: everything a running Roster needs is built here, in this order, and
 * nowhere else. env and config (main.ts) → store → domain → flow steps → engine → commands →
 * chat → channels → agent API → jobs → HTTP → start. Nothing is bound late: each part gets what
 * it needs when it is built.
 */
export async function composeRoster(options: RosterOptions): Promise<Roster> {
  const { env, log } = options;

  // Config: what this process runs with, refused before anything opens.
  const host = options.host ?? bindHost(env);
  const problems = deploymentProblems(env, host);
  if (problems.length > 0) throw new DeploymentError(problems);
  // Production refuses to start without a configured key (envProblems); elsewhere one is kept in the data directory.
  const auditKey = loadAuditSigner(env, { generate: true });
  if (!auditKey) throw new DeploymentError(['ROSTER_AUDIT_SIGNING_KEY: required in production (it signs the audit checkpoints)']);
  // With SCIM, people come from the identity provider: the directory lives in the database and
  // every look-up reads the live list; people.yaml only seeds a database that was never seeded.
  const fileOrg = options.org;
  if (env.ROSTER_SCIM_TOKEN && !fileOrg.directory) {
    throw new ConfigError([
      `${env.ROSTER_CONFIG_DIR}/org.yaml: directory: required when ROSTER_SCIM_TOKEN is set (map identity-provider groups to roles and business units)`,
    ]);
  }
  const live = env.ROSTER_SCIM_TOKEN && fileOrg.directory ? new LiveDirectory(fileOrg.directory, fileOrg.businessUnits) : undefined;
  const org = live ? live.orgConfig(fileOrg) : fileOrg;
  // Chart images go into Slack cards only when chat clients can fetch them: from the public URL.
  const chartLinks = env.ROSTER_PUBLIC_URL
    ? new ChartLinks(env.ROSTER_CHART_SECRET ?? randomBytes(32).toString('hex'), env.ROSTER_PUBLIC_URL)
    : undefined;
  const suites: EvalSuites = options.suites ?? new Map();
  if (!env.ROSTER_EVAL_SECRET_KEY && suites.size > 0)
    log.warn('ROSTER_EVAL_SECRET_KEY is not set: endpoint secrets are sealed with a key that lasts only as long as this process');

  // Store: the database, the scheduler on it, the HTTP server (routes are mounted last, it listens last), the repositories.
  const db = await openDatabase(
    { uri: env.MONGODB_URI, dataDir: env.ROSTER_DATA_DIR, embeddedBackend: options.embeddedBackend, dbName: options.dbName },
    log,
  );
  // What is running so far, stopped again if a later part fails to build.
  const built: { scheduler?: Scheduler; http?: HttpServer; api?: AgentApi; channels: Channel[] } = { channels: [] };
  try {
    const scheduler = (built.scheduler = createScheduler({
      connection: db.connection,
      log: log.child({ component: 'scheduler' }),
      processEvery: options.processEvery,
      lockLifetimeMs: options.lockLifetimeMs,
    }));
    const { agenda } = scheduler;
    const server = (built.http = createHttpServer({
      log: log.child({ component: 'http' }),
      anonymousLimit: { requests: org.settings.rateLimits.anonymous.requests, perMs: org.settings.rateLimits.anonymous.per.ms },
      readiness: {
        database: async () => ((await db.ping()) ? undefined : 'the database does not answer'),
        scheduler: async () => (scheduler.isRunning() ? undefined : 'the scheduler is not running'),
      },
      metrics: {
        ...(env.ROSTER_METRICS_TOKEN ? { token: env.ROSTER_METRICS_TOKEN } : {}),
        separatePort: env.ROSTER_METRICS_PORT !== undefined,
      },
    }));
    const clock = options.clock ?? (() => new Date());
    // Every write to an agent through the store's agent repository drops its cached keys (see KeyCache for the bound).
    const keyCache = new KeyCache({ ttlMs: env.ROSTER_KEY_CACHE_MS, ...(options.keyCacheClock ? { now: options.keyCacheClock } : {}) });
    const store = await createStore(db.connection, { clock, keyCache });

    // Domain → flow steps → engine → commands. The domain sends cards through the notifier port:
    // the router to the chat channels, which join it below, before anything can send.
    const router = options.notifier ? undefined : new RoutingNotifier(org, log.child({ component: 'notifier' }));
    const notifier = options.notifier ?? router!;
    const faultPoint = options.faultPoint ?? createFaultPoint(env.ROSTER_FAULT_POINT, env.NODE_ENV);
    const { drainEvery, ...outboxSettings } = options.outbox ?? {};
    // The agent API's issuer: Roster's public URL, or where it listens (PORT=0 picks a port only then).
    const issuer = () => env.ROSTER_PUBLIC_URL ?? `http://127.0.0.1:${server.port() ?? env.PORT}`;
    const { services, telemetryRoutes, checkpointAlarm } = await buildServices({
      org,
      flows: options.flows,
      suites,
      log,
      clock,
      agenda,
      notifier,
      store,
      keyCache,
      metrics: server.metrics.registry,
      publicUrl: env.ROSTER_PUBLIC_URL ?? `http://127.0.0.1:${env.PORT}`,
      ...(env.ROSTER_DASHBOARD_SECRET ? { dashboardSecret: env.ROSTER_DASHBOARD_SECRET } : {}),
      ...(chartLinks ? { chartLinks } : {}),
      platformKeyHashes: env.ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256,
      ...(live ? { directory: { live, seed: fileOrg.people } } : {}),
      ...(options.webhooks ? { webhooks: options.webhooks } : {}),
      ...(options.pagers?.length
        ? {
            pagers: {
              pagers: options.pagers,
              transport: options.pagerTransport ?? createPagerTransport({ production: env.NODE_ENV === 'production' }),
              publicUrl: env.ROSTER_PUBLIC_URL,
            },
          }
        : {}),
      ...(env.ROSTER_EVAL_SECRET_KEY ? { evalSecretKey: SecretBox.parseKey(env.ROSTER_EVAL_SECRET_KEY)! } : {}),
      ...(options.evaluation ? { evaluation: options.evaluation } : {}),
      outbox: { leaseMs: env.ROSTER_OUTBOX_LEASE_MS, ...outboxSettings },
      ...(options.access ? { access: options.access } : {}),
      ...(options.alertMinuteMs ? { alertMinuteMs: options.alertMinuteMs } : {}),
      ...(faultPoint ? { faultPoint } : {}),
      auditSigner: auditKey.signer,
      auditVerifyKeys: loadAuditVerifyKeys(env),
      liveAccessCache: { ttlMs: env.ROSTER_ACCESS_CACHE_MS, ...(options.accessCacheClock ? { now: options.accessCacheClock } : {}) },
      knownResource: (resource) => resource === apiUrls(issuer()).rosterAudience || env.ROSTER_OAUTH_RESOURCES.includes(resource),
    });

    // Chat: what people type and click, on every platform.
    const chat = new ChatService(org, services, log.child({ component: 'chat' }));

    // Channels: each platform's adapter; its notifier joins the router.
    const { channels } = built;
    for (const factory of options.channels ?? []) {
      const channel = await factory({ env, org, services, chat, connection: db.connection, log: log.child({ component: 'channel' }) });
      if (!channel) continue;
      channels.push(channel);
      router?.register(channel.notifier);
    }
    if (channels.length === 0 && router) log.warn('no chat channel is configured: cards are logged, not delivered');

    // The agent API: OAuth, the access check, runtime approvals, hand-offs and MCP for agents.
    const api = (built.api = await createAgentApi({
      env,
      org,
      signingKeys: store.signingKeys,
      usage: store.apiUsage,
      live: services.live,
      onAccessWrite: store.liveAccess.onWrite,
      audit: services.audit,
      log: log.child({ component: 'agent-api' }),
      issuer,
      verifyKey: (secret, verifyOptions) => services.agentKeys.verifyAgentKey(secret, verifyOptions),
      onRefusedKey: (agentId, reason) => services.supervision.reportRefusedKey(agentId, reason),
      bus: services.bus,
    }));

    // Jobs: every Agenda job (src/jobs/index.ts lists them).
    const reloadSigner = auditKey.source === 'ROSTER_AUDIT_SIGNING_KEY_FILE' ? () => reloadAuditSigner(env) : undefined;
    await defineJobs(agenda, {
      org,
      log: log.child({ component: 'jobs' }),
      clock,
      connection: db.connection,
      engine: services.engine,
      access: services.access,
      reviews: services.reviews,
      outbox: services.outbox,
      sweep: services.sweep,
      // A key kept in a file is read again by each checkpoint run: a file that became unreadable is told to IT.
      auditCheckpoints: {
        checkpoints: services.checkpoints,
        log: log.child({ component: 'audit' }),
        ...(reloadSigner ? { signer: reloadSigner } : {}),
        alarm: checkpointAlarm,
      },
      alerts: services.supervision.alerts,
      checkins: services.supervision.checkins,
      telemetry: services.supervision.telemetry,
      agents: services.agents,
      handoffs: services.handoffs,
      delegations: services.delegations,
      ...(services.directory ? { directory: services.directory } : {}),
      leavers: services.leavers,
      evaluations: services.evaluations,
      suites,
      development: services.development,
      ...(options.webhooks?.subscriptions.length ? { webhooks: services.webhooks } : {}),
      signingKeys: api.keys,
      usage: api.usage,
      every: {
        ...(drainEvery ? { outboxDrain: drainEvery } : {}),
        ...(options.retrainingSweepEvery ? { retrainingSweep: options.retrainingSweepEvery } : {}),
        ...(options.evaluation?.resumeEvery ? { evaluationsResume: options.evaluation.resumeEvery } : {}),
        ...(options.evaluation?.rerunEvery ? { evaluationsRerun: options.evaluation.rerunEvery } : {}),
      },
    });

    // HTTP: the routes, in this order (the not-found handler comes last, at listen).
    registerBusinessMetrics(server.metrics.registry, db.connection);
    server.mount('/api/v1/telemetry', createTelemetryRouter(telemetryRoutes, services.supervision.ingest));
    server.mount(
      '/v1/traces',
      createOtlpRouter({
        ingest: services.supervision.ingest,
        pricesOf: async (agentIds) => {
          const roles = await services.supervision.telemetry.rolesOf(agentIds);
          return new Map(agentIds.map((id) => [id, roleById(org, roles.get(id) ?? '')?.prices]));
        },
        log: log.child({ component: 'otlp' }),
      }),
    );
    const pager = services.supervision.pager;
    if (pager) {
      server.mount(
        '/pager',
        createPagerRouter({
          org,
          inbound: (provider) => pager.inbound(provider),
          alert: (id) => services.supervision.alertRepo.get(id),
          apply: (origin, action, alertId) => services.supervision.alerts.fromPager(origin, action, alertId),
          limit: { requests: org.settings.rateLimits.anonymous.requests, perMs: org.settings.rateLimits.anonymous.per.ms },
          log: log.child({ component: 'pager' }),
        }),
      );
    }
    for (const mount of api.mounts) server.mount(mount.path, mount.handler);
    if (services.scim && env.ROSTER_SCIM_TOKEN) {
      server.mount(
        '/scim/v2',
        createScimRouter({
          service: services.scim,
          token: env.ROSTER_SCIM_TOKEN,
          log: log.child({ component: 'scim' }),
          ...(env.ROSTER_PUBLIC_URL ? { publicBase: `${env.ROSTER_PUBLIC_URL.replace(/\/$/, '')}/scim/v2` } : {}),
          ...(options.scimPerMinute ? { perMinute: options.scimPerMinute } : {}),
        }),
      );
    }
    server.mount(
      '/dashboard',
      createDashboardRouter({
        org,
        links: services.dashboard.links,
        // The page's parts are the chat words' commands, given by the viewer (a person) on the bus.
        fleet: (viewer) => services.bus.execute(viewer, { type: 'fleet.show' }),
        compliance: (viewer) => services.bus.execute(viewer, { type: 'compliance.report' }),
        find: (viewer, words, page) => services.bus.execute(viewer, { type: 'agents.find', query: words, page }),
        audit: services.audit,
        log: log.child({ component: 'dashboard' }),
      }),
    );
    if (chartLinks) {
      server.mount(
        '/charts',
        createChartRouter({
          links: chartLinks,
          chart: (id) => services.supervision.chart(id),
          limit: { requests: org.settings.rateLimits.anonymous.requests, perMs: org.settings.rateLimits.anonymous.per.ms },
          log: log.child({ component: 'charts' }),
        }),
      );
    }
    for (const channel of channels) if (channel.mount) server.mount(channel.mount.path, channel.mount.handler);

    // Start: state left by the last process first, then the scheduler, then the doors.
    if (services.directory) {
      services.directory.startPolling(options.directoryPollMs ?? 1000);
      log.info(services.directory.live.size, 'directory loaded; SCIM provisioning at /scim/v2');
    } else {
      // people.yaml is read once at start-up: sponsors who left since the last start are handled now.
      const leavers = await services.leavers.check();
      if (leavers.leavers.length) log.info(leavers, 'sponsors left the directory; their agents were offered to their managers');
    }
    // Runs a previous process left (stopped or killed) continue from their last finished case.
    if (suites.size > 0) await services.evaluations.resumeOrphans();
    await scheduler.start();
    // Effects a previous process left behind are performed now, not at the worker's next turn.
    void services.outbox.drain().catch((err: unknown) => log.error({ err }, 'performing the pending effects failed'));
    const port = await server.listen(env.PORT, host);
    const metricsPort = env.ROSTER_METRICS_PORT !== undefined ? await server.listenMetrics(env.ROSTER_METRICS_PORT, host) : undefined;
    for (const channel of channels) await channel.start?.();
    log.info({ port, host: host ?? 'all interfaces', metricsPort, channels: channels.map((c) => c.name) }, 'HTTP server listening');

    const started = { db, scheduler, http: server, api };
    let stopping: Promise<void> | undefined;
    return {
      port,
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      org,
      ...started,
      services,
      chat,
      channels,
      stop() {
        stopping ??= (async () => {
          const graceMs = env.ROSTER_SHUTDOWN_TIMEOUT_S * 1000 * 0.5;
          services.directory?.stopPolling();
          await started.http.close(graceMs);
          await started.api.stop().catch((err: unknown) => log.warn({ err }, 'stopping the agent API failed'));
          // Effects handed to the outbox after an answer are performed before channels close (or left to the worker after the grace);
          // so are the error-spike checks of telemetry already answered, and the clicks already acknowledged.
          await Promise.race([
            Promise.all([...channels.map((channel) => channel.idle?.()), services.outbox.idle(), services.supervision.ingest.idle()]).then(
              () => services.outbox.idle(),
            ),
            new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
          ]);
          // Suite runs pause here and resume from their last finished case in the next process.
          await services.evaluations.stop().catch((err: unknown) => log.warn({ err }, 'stopping evaluations failed'));
          await services.webhooks.stop();
          for (const channel of channels)
            await channel.stop?.().catch((err: unknown) => log.warn({ err, channel: channel.name }, 'stopping a channel failed'));
          await started.scheduler.stop().catch((err: unknown) => log.warn({ err }, 'stopping the scheduler failed'));
          await started.db.close();
          log.info('Roster stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await built.http?.close(0);
    await built.api?.stop().catch(() => undefined);
    for (const channel of built.channels) await channel.stop?.().catch(() => undefined);
    await built.scheduler?.stop().catch(() => undefined);
    await db.close();
    throw err;
  }
}

/**
 * Roster's domain for a command-line tool or the demo seed, on a connection that is already open:
 * the same services a running Roster has, but no channel, no HTTP and no job is defined or run (a
 * running Roster does that), and cards go nowhere.
 */
export async function composeTools(options: {
  connection: Database['connection'];
  org: OrgConfig;
  flows: ReadonlyMap<string, FlowDefinition>;
  log: Logger;
}): Promise<Services> {
  const { connection, org, flows, log } = options;
  const clock = () => new Date();
  const keyCache = new KeyCache({ ttlMs: DEFAULT_KEY_CACHE_MS });
  const store = await createStore(connection, { clock, keyCache });
  // An Agenda that is never started: what the tool schedules is stored, for a running Roster to run.
  const { agenda } = createScheduler({ connection, log });
  const { services } = await buildServices({
    org,
    flows,
    suites: new Map(),
    log,
    clock,
    agenda,
    notifier: quietNotifier,
    store,
    keyCache,
    publicUrl: 'http://127.0.0.1:3978',
  });
  return services;
}

/** Cards of a command-line tool go nowhere. */
const quietNotifier: Notifier = {
  send: async () => undefined,
  update: async () => undefined,
};

/** What {@link buildServices} builds the domain from. */
interface ServiceSettings {
  org: OrgConfig;
  flows: ReadonlyMap<string, FlowDefinition>;
  suites: EvalSuites;
  log: Logger;
  clock: () => Date;
  /** Where timers are stored (scheduling only: the jobs are defined later). */
  agenda: Agenda;
  /** Where cards go. */
  notifier: Notifier;
  store: Store;
  keyCache: KeyCache;
  /** The /metrics registry the outbox and webhooks count in; none for a tool. */
  metrics?: Registry;
  /** Public base URL of this Roster, for links sent in chat and the webhooks' CloudEvent source. */
  publicUrl: string;
  /** Secret that signs dashboard links (a random one per process when unset). */
  dashboardSecret?: string;
  /** Signs links to chart images (`/charts/<id>.png`); only with a public URL chat clients can reach. */
  chartLinks?: ChartLinks;
  /** SHA-256 digests of platform telemetry keys. */
  platformKeyHashes?: string[];
  /** The live directory provisioned over SCIM; `org.people` is its list. `seed` (people.yaml) fills a database never seeded. */
  directory?: { live: LiveDirectory; seed: readonly Person[] };
  webhooks?: WebhookConfig;
  pagers?: { pagers: readonly ResolvedPager[]; transport: PagerTransport; publicUrl?: string | undefined };
  /** Key sealing endpoint secrets (`ROSTER_EVAL_SECRET_KEY`); a random one per process when absent. */
  evalSecretKey?: Buffer;
  evaluation?: { leaseMs?: number; progressEveryMs?: number };
  outbox?: Partial<OutboxSettings>;
  access?: Partial<AccessSettings>;
  alertMinuteMs?: number;
  faultPoint?: (name: string) => void;
  /** Signs the audit chain's checkpoints (a key from outside the database). */
  auditSigner?: CheckpointSigner;
  /** Public keys older checkpoints were signed with (after a rotation: ROSTER_AUDIT_VERIFY_KEYS). */
  auditVerifyKeys?: readonly CheckpointVerifier[];
  /** How long an agent's live access read is shared (ROSTER_ACCESS_CACHE_MS; none for a tool). */
  liveAccessCache?: { ttlMs: number; now?: () => number };
  /** Resource URIs the access check knows (Roster's own API and ROSTER_OAUTH_RESOURCES); none for a tool. */
  knownResource?: (resource: string) => boolean;
}

/**
 * Domain → flow steps → engine → commands, on the store. What the flow steps call is built before
 * the engine (it runs them); what starts, decides or re-routes runs is built after it and gets it.
 */
async function buildServices(s: ServiceSettings) {
  const { org, flows, log, clock, agenda, notifier, store } = s;
  const measuredRoles = new Set(s.suites.keys());
  const publicUrl = s.publicUrl;

  // The outbox: each state change's effects are stored with it and performed here (again after a crash).
  const outbox = new Outbox({
    repo: store.outbox,
    log: log.child({ component: 'outbox' }),
    clock,
    ...(s.outbox ? { settings: s.outbox } : {}),
    ...(s.faultPoint ? { faultPoint: s.faultPoint } : {}),
    ...(s.metrics ? { observer: outboxMetrics(s.metrics, store.outbox) } : {}),
    // Reminders that can wait reach people in their working hours, in their own zone.
    quiet: createQuietHours(agenda, {
      hours: org.settings.workingHours,
      clock,
      zoneOf: async (email) =>
        (await notifier.timeZoneOf?.(email).catch(() => undefined)) ?? findPersonByEmail(org, email)?.timeZone ?? org.settings.timeZone,
    }),
    onParked: parkedEffectNotice(org, notifier, parkedEffectCard),
  });
  // Signed webhooks tail the audit trail; new subscriptions start at its current end.
  const subscriptions = s.webhooks?.subscriptions ?? [];
  const webhooks = new WebhookDispatcher({
    subscriptions,
    repo: store.webhooks,
    transport: createWebhookTransport(new WebhookHostPolicy(s.webhooks?.allowPrivateHosts ?? [], s.webhooks?.allowLoopbackHttp ?? false)),
    notifier,
    source: publicUrl,
    retryWindowMs: s.webhooks?.retryWindowMs ?? 24 * 3_600_000,
    outbox,
    log: log.child({ component: 'webhooks' }),
    cards: webhookCards,
    clock,
    ...(s.metrics ? { observer: webhookMetrics(s.metrics, subscriptions, store.webhooks) } : {}),
  });
  await webhooks.start();
  // Every append nudges the webhook dispatcher (its job is the backstop, and catches other replicas' appends).
  const audit: typeof store.audit = {
    ...store.audit,
    async append(input, options) {
      const entry = await store.audit.append(input, options);
      webhooks.kick();
      return entry;
    },
    async appendMany(inputs, options) {
      const entries = await store.audit.appendMany(inputs, options);
      webhooks.kick();
      return entries;
    },
  };
  outbox.register(auditPerformer(audit));
  outbox.register(chatSendPerformer({ notifier, deliveries: store.deliveries, leaseMs: outbox.settings.leaseMs, clock }));
  const agentKeys = new AgentKeys({
    org,
    agents: store.agents,
    audit,
    notifier,
    outbox,
    cards: agentKeyCards,
    clock,
    keyCache: s.keyCache,
    log: log.child({ component: 'agent-keys' }),
  });
  // Leavers and lost roles reach the scheduler within seconds of the SCIM write.
  let directory: DirectoryService | undefined;
  let scim: ScimService | undefined;
  if (s.directory) {
    directory = new DirectoryService({
      store: store.directory,
      live: s.directory.live,
      audit,
      outbox,
      log: log.child({ component: 'directory' }),
      clock,
      schedule: createDirectoryChanges(agenda),
    });
    await directory.load(s.directory.seed);
    scim = new ScimService(store.directory, directory, clock);
  }

  // What the flow steps call: none of it needs the engine.
  const accessSettings = { ...DEFAULT_ACCESS_SETTINGS, ...s.access };
  const grantSteps = new GrantSteps({ org, agents: store.agents, grants: store.grants, outbox, clock });
  const retirement = new Retirement({
    org,
    agents: store.agents,
    grants: store.grants,
    runs: store.runs,
    audit,
    outbox,
    archives: store.archives,
    sources: {
      checkIns: (agentId) => store.checkins.listForAgent(agentId),
      alerts: (agentId) => store.alerts.list({ agentId }),
      decisionLog: async (agentId, max) => ({
        events: await store.telemetry.archiveEvents(agentId, max),
        runtimeRequests: await store.runtimeApprovals.recent(agentId, 1000),
      }),
      versions: async (agentId) => (await store.development.versions(agentId)).reverse(),
    },
    cards: retirementCards,
    clock,
  });
  const reactivation = new Reactivation({
    org,
    agents: store.agents,
    outbox,
    runs: store.runs,
    lastCheckIn: async (agentId) => {
      const last = await store.checkins.latest(agentId);
      return last
        ? { id: last.id, at: last.at, verdict: last.verdict, summary: last.findings[0] && findingInWords(last.findings[0]) }
        : undefined;
    },
  });
  const development = new Development({
    org,
    agents: store.agents,
    repo: store.development,
    outbox,
    cards: developmentCards,
    clock,
    measuredRoles,
  });
  const runtimeDecisions = new RuntimeDecisions({ repo: store.runtimeApprovals, outbox, clock });

  // Flow steps.
  const registry = createStepRegistry({
    agentRequest: { org, agents: store.agents, grants: store.grants, clock, outbox, keys: agentKeys, sponsorshipCards },
    grants: grantSteps,
    retirement,
    development,
    reactivation,
    runtime: runtimeDecisions,
  });

  // The engine.
  const presenter = new RunPresenter(org, flows, measuredRoles);
  const engine = new FlowEngine({
    flows,
    registry,
    runs: store.runs,
    audit,
    notifier,
    timers: createFlowTimers(agenda),
    presenter,
    org,
    log: log.child({ component: 'flows' }),
    clock,
    outbox,
    ...(s.faultPoint ? { faultPoint: s.faultPoint } : {}),
    // Read from the stored delegations: the delegation service re-routes through this engine.
    delegateOf: (email) => activeDelegate({ repo: store.delegations, org, clock }, email),
    delegatesOf: (emails) => activeDelegates({ repo: store.delegations, org, clock }, emails),
    ...(directory ? { refreshDirectory: () => directory.refresh() } : {}),
  });
  outbox.register(promotionStartPerformer({ repo: store.development, engine }));

  // Commands: what starts, decides or re-routes runs, and the rest of the domain.
  const grantTimers = createGrantTimers(agenda, accessSettings, clock);
  const access = new AccessCommands({
    org,
    agents: store.agents,
    grants: store.grants,
    audit,
    notifier,
    runs: store.runs,
    engine,
    timers: grantTimers,
    claims: store.claims,
    outbox,
    cards: grantCards(org),
    clock,
    settings: accessSettings,
  });
  const reviews = new AccessReviews({
    org,
    cycles: store.reviewCycles,
    agents: store.agents,
    grants: store.grants,
    timers: grantTimers,
    access,
    outbox,
    settings: accessSettings,
    cards: accessReviewCards,
    clock,
  });
  const evaluations = new Evaluations({
    org,
    cards: evaluationCards(org),
    suites: s.suites,
    repo: store.evaluations,
    agents: store.agents,
    notifier,
    outbox,
    engine,
    box: new SecretBox(s.evalSecretKey ?? randomBytes(32)),
    log: log.child({ component: 'evaluations' }),
    clock,
    ...(s.evaluation?.leaseMs ? { leaseMs: s.evaluation.leaseMs } : {}),
    ...(s.evaluation?.progressEveryMs !== undefined ? { progressEveryMs: s.evaluation.progressEveryMs } : {}),
    hooks: measuredVerdictHooks({ org, agents: store.agents, engine, development, clock, log }),
  });
  const boundaryChanges = new BoundaryChanges({
    org,
    repo: store.boundaryChanges,
    outbox,
    cards: boundaryChangeCards(org),
    clock,
  });
  const runtime = new RuntimeApprovals({
    org,
    repo: store.runtimeApprovals,
    outbox,
    engine,
    decisions: runtimeDecisions,
    overrides: (agentId, action) => boundaryChanges.override(agentId, action),
    clock,
  });

  // Supervision: check-ins, on-call alerts and the telemetry ingest.
  const cards = new SupervisionCards(org, s.chartLinks);
  const pager = s.pagers?.pagers.length
    ? new AlertPager({
        org,
        outbox,
        alerts: store.alerts,
        pagers: s.pagers.pagers,
        transport: s.pagers.transport,
        publicUrl: s.pagers.publicUrl,
        log: log.child({ component: 'pager' }),
      })
    : undefined;
  const alerts = new AlertService({
    org,
    alerts: store.alerts,
    audit,
    notifier,
    timers: createAlertTimers(agenda),
    outbox,
    deliveries: store.deliveries,
    presenter: cards,
    ...(pager ? { pager } : {}),
    roleOf: async (agentId) => (await store.agents.get(agentId))?.catalogRoleId,
    clock,
    ...(s.alertMinuteMs ? { minuteMs: s.alertMinuteMs } : {}),
  });
  const checkins = new CheckInService({
    org,
    agents: store.agents,
    telemetry: store.telemetry,
    checkins: store.checkins,
    alerts,
    outbox,
    presenter: cards,
    // Check-ins read the evaluations' re-runs; a Retrain asks development; a Retire starts the retirement flow.
    measured: evaluations,
    retraining: development,
    retiring: {
      allocateRunId: () => engine.allocateRunId(),
      startRetirement: (by, agentId, reason, id) => retirement.start(engine, by, { agentId, reason, id }),
    },
    clock,
  });
  const telemetryAlerts = new TelemetryAlerts({ org, agents: store.agents, alerts, telemetry: store.telemetry, clock });
  const telemetryRoutes: TelemetryRouteDeps = {
    store: store.telemetry,
    // A busy agent's batches are not each an agent read: the key cache answers for a few seconds.
    verifyKey: (secret) => agentKeys.verifyAgentKey(secret, { cached: true }),
    platformKeyHashes: s.platformKeyHashes ?? [],
    retentionDays: () => org.settings.rawEventRetentionDays,
    limits: {
      perKey: { requests: org.settings.rateLimits.telemetry.requests, perMs: org.settings.rateLimits.telemetry.per.ms },
      failedAuthPerAddress: { requests: org.settings.rateLimits.anonymous.requests, perMs: org.settings.rateLimits.anonymous.per.ms },
    },
    clock,
    log: log.child({ component: 'telemetry' }),
    onIngested: (agentIds) => telemetryAlerts.ingested(agentIds),
    onUnregistered: (platformKey, agentIds) => telemetryAlerts.unregistered(platformKey, agentIds),
    onRefusedKey: (agentId, reason) => telemetryAlerts.refusedKey(agentId, reason),
  };
  const supervision = {
    telemetry: store.telemetry,
    alerts,
    checkins,
    cards,
    /** The chart behind `/charts/<id>.png`. */
    chart: trendChartOf(cards, {
      checkIn: (id) => store.checkins.get(id),
      alert: (id) => store.alerts.get(id),
      agent: (id) => store.agents.get(id),
    }),
    alertRepo: store.alerts,
    checkinRepo: store.checkins,
    reportRefusedKey: (agentId: AgentId, reason: KeyRefusal) => telemetryAlerts.refusedKey(agentId, reason),
    ingest: createTelemetryIngest(telemetryRoutes),
    pager,
  };

  // Governance, sponsorships, leavers, out of office, the dashboard and `find`: the bus's words need them.
  const governance = new Governance({
    org,
    agents: store.agents,
    grants: store.grants,
    audit,
    openAlerts: async (agentId) => store.alerts.list({ agentId, status: ['open', 'acknowledged', 'snoozed'] }),
    events: (agentId, filter) => store.telemetry.events(agentId, filter) as Promise<Array<Record<string, unknown>>>,
    clock,
  });
  const sponsorships = new Sponsorships({ org, agents: store.agents, outbox, cards: sponsorshipCards, clock });
  const leavers = new Leavers({
    org,
    agents: store.agents,
    repo: store.leavers,
    audit,
    notifier,
    outbox,
    sponsorships,
    cards: leaverCards,
    clock,
  });
  const delegations = new Delegations({
    org,
    repo: store.delegations,
    outbox,
    clock,
    timers: createDelegationTimers(agenda),
    reroute: (principal, delegate) => engine.delegateOpen(principal, delegate),
    cards: delegationCards,
  });
  const dashboard = {
    links: new DashboardLinks(s.dashboardSecret ?? randomBytes(32).toString('hex')),
    publicUrl,
    fleet: () =>
      fleetView({
        org,
        agents: store.agents,
        openAlerts: () => store.alerts.list({ status: ['open', 'acknowledged', 'snoozed'] }),
        dailyRollups: (agentId, from, to) => store.telemetry.rollups(agentId, 'day', from, to),
        clock,
      }),
  };
  const search = new AgentSearch({
    org,
    search: (filter, page) => store.agents.search(filter, page),
    holdersOf: (scope) => store.grants.holdersOf(scope),
    lastCheckIn: (verdict) => store.checkins.agentsByLastVerdict(verdict),
    spentOver: (usd, inclusive, since) => store.telemetry.spentOver(usd, inclusive, since),
    reads: store.reads,
    clock,
  });

  // What an agent may do now (its status, grants and boundary changes), read at every call of the
  // agent API, MCP and the agents' commands; the agent API has it forget what this process writes.
  const live = new LiveScopes({
    read: (agentId) => store.liveAccess.read(agentId),
    ...(s.liveAccessCache ? { cache: s.liveAccessCache } : {}),
  });
  // Agents hand cases to people (built before the bus: the agents' commands hand off through it).
  const handoffs = new Handoffs({
    org,
    repo: store.handoffs,
    notifier,
    outbox,
    deliveries: store.deliveries,
    timers: createHandoffTimers(agenda),
    async recordTaskEvent(e) {
      await store.telemetry.ingest([{ ...e, outcome: 'handed-to-human', latencyMs: 0, costUSD: 0 }]);
    },
    cards: handoffCards(org),
    clock,
  });

  // Commands: every door (chat, CLI, agent API, MCP) runs a person's or an agent's command through this bus;
  // each handler gets its own few dependencies.
  const bus = new CommandBus({
    org,
    reads: store.reads,
    handlers: createHandlers({
      decide: { engine },
      showRun: { engine, runs: store.runs },
      cancelRequest: { engine },
      requestAgent: { org, agents: store.agents, engine, shadows: alerts },
      submitEvaluation: { org, agents: store.agents, engine, measuredRoles, clock },
      listAgents: { org, agents: store.agents },
      showAgent: { org, agents: store.agents, grants: store.grants, engine },
      openRequests: { engine },
      requestSuspension: { org, alerts: store.alerts, agents: store.agents, engine },
      decideCheckIn: { checkins: store.checkins, agents: store.agents, service: checkins },
      alertActions: { org, alerts: store.alerts, service: alerts, telemetry: store.telemetry },
      extendGrant: { org, grants: store.grants, agents: store.agents, service: access },
      letGrantExpire: { grants: store.grants, agents: store.agents, service: access },
      revokeGrant: { grants: store.grants, agents: store.agents, service: access },
      confirmBreakGlass: { grants: store.grants, service: access },
      requestAccess: { org, agents: store.agents, service: access },
      breakGlass: { org, agents: store.agents, service: access },
      accessScopes: { org, agents: store.agents },
      answerAccessReview: { grants: store.grants, agents: store.agents, service: reviews },
      governance: {
        org,
        agents: store.agents,
        alerts: store.alerts,
        checkins: store.checkins,
        governance,
        runtime,
        fleet: dashboard.fleet,
        dashboard,
      },
      offboarding: {
        org,
        agents: store.agents,
        engine,
        retirement,
        development,
        evaluations,
      },
      delegation: { delegations },
      findAgents: { org, search },
      // The agent buttons and prompts.
      handoffs: { handoffs },
      addNote: { org, agents: store.agents, alerts: store.alerts, checkins: store.checkins, notes: retirement },
      retraining: { org, agents: store.agents, development },
      requestReactivation: { org, agents: store.agents, engine, reactivation },
      agentKeys: { keys: agentKeys },
      decideBoundaryChange: { changes: boundaryChanges },
      answerSponsorship: { org, agents: store.agents, sponsorships, leavers },
      takeLeaverOffer: { agents: store.agents, offers: store.leavers, leavers, engine, retirement },
      retireFromAlert: { agents: store.agents, alerts: store.alerts, engine, retirement },
      assignAlertSponsor: { org, alerts: store.alerts, service: supervision.alerts, leavers },
      webhookAction: { webhooks },
      cancelEvaluation: { agents: store.agents, runs: store.evaluations, evaluations },
      numbers: { org, agents: store.agents, alerts: store.alerts, checkins: store.checkins },
      registerShadow: { org, alerts: store.alerts },
      evaluationButtons: { agents: store.agents, runs: store.evaluations, evaluations },
      recordDecision: { org, agents: store.agents, governance, notes: retirement },
      fixComplianceGap: {
        agents: store.agents,
        remediation: {
          org,
          grants: store.grants,
          runs: store.runs,
          engine,
          development,
          reviews,
          notifier,
          cards: complianceRemediationCards,
        },
      },
      agentRuntime: {
        org,
        live,
        runtime,
        handoffs,
        ingest: supervision.ingest,
        knownResource: s.knownResource ?? (() => false),
      },
      requestBoundaryChange: { org, agents: store.agents, changes: boundaryChanges },
      waitingTasks: { engine, handoffs, changes: boundaryChanges, fleet: dashboard.fleet },
      pickAgents: { org, agents: store.agents, picker: new AgentPicker(org, store.agents), development, evaluations },
      openEvaluation: { org, agents: store.agents, evaluations, engine },
    }),
  });

  const checkpoints = new AuditCheckpoints({
    audit,
    chain: audit,
    repo: store.checkpoints,
    signer: s.auditSigner,
    ...(s.auditVerifyKeys ? { publicKeys: s.auditVerifyKeys } : {}),
    clock,
  });
  const checkpointAlarm = new CheckpointAlarm({ org, outbox, repo: store.checkpointHealth, cards: checkpointAlarmCards, clock });
  const sweep: SafetySweepDeps = {
    clock,
    log: log.child({ component: 'safety-sweep' }),
    overdueGrants: async (before) =>
      (await store.grants.list({ status: ['active'] }))
        .filter((g) => g.expiresAt && Date.parse(g.expiresAt) < before.getTime())
        .map((g) => g.id),
    expireGrant: (id) => access.expireGrant(id, { caughtBySweep: true }),
    waitingRuns: async () => (await store.runs.list({ status: ['waiting'] })).map((r) => r.id),
    expireRun: (id, graceMs) => engine.expireOverdue(id, graceMs),
    openAlerts: async () => (await store.alerts.list({ status: ['open'] })).map((a) => a.id),
    escalateAlert: (id, graceMs) => alerts.escalateOverdue(id, graceMs),
  };

  const services = {
    outbox,
    outboxRepo: store.outbox,
    /** What the safety sweep sees and does. */
    sweep,
    dashboard,
    /** `find`: agents by status, role, unit, sponsor, scope, data class, risk, last check-in and cost. */
    search,
    /** Sends cards to people on their preferred platform. */
    notifier,
    audit,
    /** Signed checkpoints of the audit chain's head. */
    checkpoints,
    agents: store.agents,
    /** Agent keys: verify (telemetry, OAuth), rotate, re-issue, revoke. */
    agentKeys,
    /** Who looked at which agents (`show`, `list`), recorded beside the audit chain. */
    reads: store.reads,
    grants: store.grants,
    runs: store.runs,
    engine,
    presenter,
    /** Every person's command, from every door: parse, authorise, handle, audit. */
    bus,
    access,
    reviews,
    /** Telemetry, check-ins and on-call alerts. */
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
    /** What each agent may do now, as the agent API, MCP and the agents' commands read it. */
    live,
    /** Sponsors' boundary changes, approved by IT. */
    boundaryChanges,
    /** Signed webhooks (a dispatcher with no subscriptions when none are configured). */
    webhooks,
    webhookRepo: store.webhooks,
  };
  return { services, telemetryRoutes, checkpointAlarm };
}

/** The platform-free services the chat layer, the channels and the agent API are given. */
export type Services = Awaited<ReturnType<typeof buildServices>>['services'];

/** Telemetry, check-ins and on-call alerts. */
export type Supervision = Services['supervision'];
