import { randomBytes } from 'node:crypto';
import type { Env } from './config/env.js';
import { bindHost, DeploymentError, deploymentProblems } from './config/deployment.js';
import type { OrgConfig } from './config/org-config.js';
import type { Logger } from './logger.js';
import { openDatabase, type Database } from './store/database.js';
import { createScheduler, type Scheduler } from './jobs/scheduler.js';
import { defineJobs } from './jobs/index.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import type { FlowDefinition } from './flows/schema.js';
import { createServices, type Services } from './services.js';
import { ChatService } from './channels/chat.js';
import { createDashboardRouter } from './http/dashboard.js';
import { parseFindQuery } from './core/agent-search.js';
import { RoutingNotifier, type Channel, type ChannelDeps } from './channels/port.js';
import { createAgentApi, type AgentApi } from './api/index.js';
import type { EvalSuites } from './config/eval-suites.js';
import { SecretBox } from './evals/secrets.js';
import { registerOutboxMetrics } from './http/outbox-metrics.js';
import { createFaultPoint } from './fault-point.js';
import { LiveDirectory } from './config/live-directory.js';
import { ConfigError } from './config/org-config.js';
import { createScimRouter } from './scim/router.js';
import { registerBusinessMetrics } from './http/business-metrics.js';
import type { WebhookConfig } from './config/webhooks.js';
import { registerWebhookMetrics } from './http/webhook-metrics.js';
import { loadAuditSigner, loadAuditVerifyKeys, reloadAuditSigner } from './config/audit-signing-key.js';
import type { PagerTransport, ResolvedPager } from './core/pager.js';
import { createPagerTransport } from './http/pager-sender.js';
import { createPagerRouter } from './http/pager-routes.js';
import { ChartLinks } from './core/trend-chart.js';
import { createChartRouter } from './http/charts.js';

/** Builds one chat channel; resolves undefined when the environment does not configure it. */
export type ChannelFactory = (deps: ChannelDeps) => Promise<Channel | undefined>;

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
  /** Evaluation timing for tests: claim lifetime, resume interval, progress interval. */
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
  /** The rotations' pagers with their secrets (main.ts resolves and checks them: src/config/pager.ts); chat only when absent. */
  pagers?: readonly ResolvedPager[];
  /** Replaces the pagers' HTTP transport (tests of the policy itself use the real one). */
  pagerTransport?: PagerTransport;
}

export interface Roster {
  readonly port: number;
  /** The metrics-only port, when `ROSTER_METRICS_PORT` is set. */
  readonly metricsPort?: number;
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
 * Composition root: config → store → services → channels → jobs → http.
 * Everything a running Roster needs is built here and nowhere else.
 */
export async function startRoster(options: RosterOptions): Promise<Roster> {
  const { env, log } = options;
  const host = options.host ?? bindHost(env);
  const problems = deploymentProblems(env, host);
  if (problems.length > 0) throw new DeploymentError(problems);
  const faultPoint = createFaultPoint(env.ROSTER_FAULT_POINT, env.NODE_ENV);
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
  const db = await openDatabase(
    { uri: env.MONGODB_URI, dataDir: env.ROSTER_DATA_DIR, embeddedBackend: options.embeddedBackend, dbName: options.dbName },
    log,
  );
  let scheduler: Scheduler | undefined;
  let http: HttpServer | undefined;
  let api: AgentApi | undefined;
  let boundPort: number | undefined;
  const channels: Channel[] = [];
  try {
    scheduler = createScheduler({
      connection: db.connection,
      log: log.child({ component: 'scheduler' }),
      processEvery: options.processEvery,
      lockLifetimeMs: options.lockLifetimeMs,
    });
    await defineJobs(scheduler.agenda, {
      log: log.child({ component: 'jobs' }),
      connection: db.connection,
      ...(org.settings.schedules.deliveryKeyPurge ? { deliveryKeyPurge: org.settings.schedules.deliveryKeyPurge } : {}),
    });
    const notifier = new RoutingNotifier(org, log.child({ component: 'notifier' }));
    // Chart images go into Slack cards only when chat clients can fetch them: from the public URL.
    const chartLinks = env.ROSTER_PUBLIC_URL
      ? new ChartLinks(env.ROSTER_CHART_SECRET ?? randomBytes(32).toString('hex'), env.ROSTER_PUBLIC_URL)
      : undefined;
    const services = await createServices({
      connection: db.connection,
      agenda: scheduler.agenda,
      org,
      log,
      notifier,
      flows: options.flows,
      platformKeyHashes: env.ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256,
      keyCache: { ttlMs: env.ROSTER_KEY_CACHE_MS, ...(options.keyCacheClock ? { now: options.keyCacheClock } : {}) },
      ...(env.ROSTER_DASHBOARD_SECRET ? { dashboardSecret: env.ROSTER_DASHBOARD_SECRET } : {}),
      publicUrl: env.ROSTER_PUBLIC_URL ?? `http://127.0.0.1:${env.PORT}`,
      ...(chartLinks ? { chartLinks } : {}),
      ...(options.suites ? { suites: options.suites } : {}),
      ...(env.ROSTER_EVAL_SECRET_KEY ? { evalSecretKey: SecretBox.parseKey(env.ROSTER_EVAL_SECRET_KEY)! } : {}),
      ...(options.evaluation?.leaseMs ? { evalLeaseMs: options.evaluation.leaseMs } : {}),
      ...(options.evaluation?.resumeEvery ? { evalResumeEvery: options.evaluation.resumeEvery } : {}),
      ...(options.evaluation?.rerunEvery ? { evalRerunEvery: options.evaluation.rerunEvery } : {}),
      ...(options.evaluation?.progressEveryMs !== undefined ? { evalProgressEveryMs: options.evaluation.progressEveryMs } : {}),
      outbox: { leaseMs: env.ROSTER_OUTBOX_LEASE_MS },
      ...(faultPoint ? { faultPoint } : {}),
      ...(live ? { directory: { live, seed: fileOrg.people } } : {}),
      ...(options.webhooks ? { webhooks: options.webhooks } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      auditSigner: auditKey.signer,
      // A key kept in a file is read again by each checkpoint run: a file that became unreadable is told to IT.
      ...(auditKey.source === 'ROSTER_AUDIT_SIGNING_KEY_FILE' ? { reloadAuditSigner: () => reloadAuditSigner(env) } : {}),
      auditVerifyKeys: loadAuditVerifyKeys(env),
      ...(options.pagers?.length
        ? {
            pagers: {
              pagers: options.pagers,
              transport: options.pagerTransport ?? createPagerTransport({ production: env.NODE_ENV === 'production' }),
              publicUrl: env.ROSTER_PUBLIC_URL,
            },
          }
        : {}),
    });
    if (!env.ROSTER_EVAL_SECRET_KEY && options.suites?.size)
      log.warn('ROSTER_EVAL_SECRET_KEY is not set: endpoint secrets are sealed with a key that lasts only as long as this process');
    const chat = new ChatService(org, services, log.child({ component: 'chat' }));
    if (services.directory) {
      services.directory.startPolling(options.directoryPollMs ?? 1000);
      log.info(services.directory.live.size, 'directory loaded; SCIM provisioning at /scim/v2');
    } else {
      // people.yaml is read once at start-up: sponsors who left since the last start are handled now.
      const leavers = await services.leavers.check();
      if (leavers.leavers.length) log.info(leavers, 'sponsors left the directory; their agents were offered to their managers');
    }

    const sched = scheduler;
    http = createHttpServer({
      log: log.child({ component: 'http' }),
      anonymousLimit: { requests: org.settings.rateLimits.anonymous.requests, perMs: org.settings.rateLimits.anonymous.per.ms },
      readiness: {
        database: async () => ((await db.ping()) ? undefined : 'the database does not answer'),
        scheduler: async () => (sched.isRunning() ? undefined : 'the scheduler is not running'),
      },
      metrics: {
        ...(env.ROSTER_METRICS_TOKEN ? { token: env.ROSTER_METRICS_TOKEN } : {}),
        separatePort: env.ROSTER_METRICS_PORT !== undefined,
      },
    });

    registerBusinessMetrics(http.metrics.registry, db.connection);
    http.mount('/api/v1/telemetry', services.supervision.router);
    http.mount('/v1/traces', services.supervision.otlpRouter);
    const pager = services.supervision.pager;
    if (pager) {
      http.mount(
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
    api = await createAgentApi({
      env,
      org,
      connection: db.connection,
      agenda: scheduler.agenda,
      agents: services.agents,
      grants: services.grants,
      audit: services.audit,
      log: log.child({ component: 'agent-api' }),
      issuer: () => env.ROSTER_PUBLIC_URL ?? `http://127.0.0.1:${boundPort ?? env.PORT}`,
      verifyKey: (secret) => services.agentKeys.verifyAgentKey(secret),
      onRefusedKey: (agentId, reason) => services.supervision.reportRefusedKey(agentId, reason),
      runtime: { approvals: services.runtime, handoffs: services.handoffs, ingest: services.supervision.ingest },
    });
    for (const mount of api.mounts) http.mount(mount.path, mount.handler);
    if (services.scim && env.ROSTER_SCIM_TOKEN) {
      http.mount(
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
    http.mount(
      '/dashboard',
      createDashboardRouter({
        org,
        links: services.dashboard.links,
        fleet: services.dashboard.fleet,
        compliance: (viewer) => services.governance.complianceReport(viewer),
        find: async (viewer, words, page) => services.search.find(viewer, { ...parseFindQuery(org, words), page }),
        audit: services.audit,
        log: log.child({ component: 'dashboard' }),
      }),
    );

    if (chartLinks) {
      http.mount(
        '/charts',
        createChartRouter({
          links: chartLinks,
          chart: (id) => services.supervision.chart(id),
          limit: { requests: org.settings.rateLimits.anonymous.requests, perMs: org.settings.rateLimits.anonymous.per.ms },
          log: log.child({ component: 'charts' }),
        }),
      );
    }

    for (const factory of options.channels ?? []) {
      const channel = await factory({ env, org, services, chat, connection: db.connection, log: log.child({ component: 'channel' }) });
      if (!channel) continue;
      channels.push(channel);
      notifier.register(channel.notifier);
      if (channel.mount) http.mount(channel.mount.path, channel.mount.handler);
    }
    if (channels.length === 0) log.warn('no chat channel is configured: cards are logged, not delivered');

    registerOutboxMetrics(http.metrics.registry, services.outbox, services.outboxRepo);
    registerWebhookMetrics(http.metrics.registry, services.webhooks, services.webhookRepo);
    await scheduler.start();
    // Effects a previous process left behind are performed now, not at the worker's next turn.
    void services.outbox.drain().catch((err: unknown) => log.error({ err }, 'performing the pending effects failed'));
    const port = await http.listen(env.PORT, host);
    boundPort = port;
    const metricsPort = env.ROSTER_METRICS_PORT !== undefined ? await http.listenMetrics(env.ROSTER_METRICS_PORT, host) : undefined;
    for (const channel of channels) await channel.start?.();
    log.info({ port, host: host ?? 'all interfaces', metricsPort, channels: channels.map((c) => c.name) }, 'HTTP server listening');

    const started = { db, scheduler, http, api };
    let stopping: Promise<void> | undefined;
    return {
      port,
      ...(metricsPort !== undefined ? { metricsPort } : {}),
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
    await http?.close(0);
    await api?.stop().catch(() => undefined);
    for (const channel of channels) await channel.stop?.().catch(() => undefined);
    await scheduler?.stop().catch(() => undefined);
    await db.close();
    throw err;
  }
}
