import type { Env } from './config/env.js';
import type { OrgConfig } from './config/org-config.js';
import type { Logger } from './logger.js';
import { openDatabase, type Database } from './store/database.js';
import { createScheduler, type Scheduler } from './jobs/scheduler.js';
import { defineJobs } from './jobs/index.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import type { FlowDefinition } from './flows/schema.js';
import type { Notifier } from './core/notifications.js';
import { LogNotifier } from './channels/log-notifier.js';
import { createServices, type Services } from './services.js';

export interface RosterOptions {
  env: Env;
  org: OrgConfig;
  /** Flow definitions, validated before start-up. */
  flows: ReadonlyMap<string, FlowDefinition>;
  log: Logger;
  /** Where cards go; defaults to the channels configured in the environment. */
  notifier?: Notifier;
  /** Tests use `memory`; `npm start` keeps data on disk with `h2`. */
  embeddedBackend?: 'h2' | 'memory';
  /** Overrides the database name (tests isolate themselves this way). */
  dbName?: string;
  /** Agenda polling interval. */
  processEvery?: string | number;
}

export interface Roster {
  readonly port: number;
  readonly db: Database;
  readonly scheduler: Scheduler;
  readonly http: HttpServer;
  readonly services: Services;
  /** Graceful stop: stop accepting, finish in-flight requests, stop jobs, close the database. */
  stop(): Promise<void>;
}

/**
 * Composition root: config → store → services → channels → jobs → http.
 * Everything a running Roster needs is built here and nowhere else.
 */
export async function startRoster(options: RosterOptions): Promise<Roster> {
  const { env, log } = options;
  const db = await openDatabase(
    { uri: env.MONGODB_URI, dataDir: env.ROSTER_DATA_DIR, embeddedBackend: options.embeddedBackend, dbName: options.dbName },
    log,
  );
  let scheduler: Scheduler | undefined;
  let http: HttpServer | undefined;
  try {
    scheduler = createScheduler({
      connection: db.connection,
      log: log.child({ component: 'scheduler' }),
      processEvery: options.processEvery,
    });
    await defineJobs(scheduler.agenda, { log: log.child({ component: 'jobs' }) });
    const notifier = options.notifier ?? new LogNotifier(log.child({ component: 'notifier' }));
    const services = await createServices({
      connection: db.connection,
      agenda: scheduler.agenda,
      org: options.org,
      log,
      notifier,
      flows: options.flows,
    });
    const sched = scheduler;
    http = createHttpServer({
      log: log.child({ component: 'http' }),
      readiness: {
        database: async () => ((await db.ping()) ? undefined : 'the database does not answer'),
        scheduler: async () => (sched.isRunning() ? undefined : 'the scheduler is not running'),
      },
    });
    await scheduler.start();
    const port = await http.listen(env.PORT);
    log.info({ port }, 'HTTP server listening');
    const started = { db, scheduler, http, services };
    let stopping: Promise<void> | undefined;
    return {
      port,
      ...started,
      stop() {
        stopping ??= (async () => {
          const graceMs = env.ROSTER_SHUTDOWN_TIMEOUT_S * 1000 * 0.5;
          await started.http.close(graceMs);
          await started.scheduler.stop().catch((err: unknown) => log.warn({ err }, 'stopping the scheduler failed'));
          await started.db.close();
          log.info('Roster stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await http?.close(0);
    await scheduler?.stop().catch(() => undefined);
    await db.close();
    throw err;
  }
}
