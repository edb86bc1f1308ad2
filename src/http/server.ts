import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Logger } from '../logger.js';
import { isDirectLoopbackCaller } from './loopback.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { RateRule } from '../core/rate-limit.js';
import { clientAddress, rateLimit } from './rate-limit.js';

/** The largest request body any route accepts (telemetry batches, Slack and Teams deliveries). */
const MAX_BODY_BYTES = 1024 * 1024;

/** Requests per client address on unauthenticated routes when the organisation sets none. */
const DEFAULT_ANONYMOUS_LIMIT: RateRule = { requests: 600, perMs: 60_000 };

/** A readiness probe: resolves to undefined when fine, or to the reason it is not. */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface HttpServerSettings {
  log: Logger;
  readiness: Record<string, ReadinessCheck>;
  /** Routers mounted at their paths (Slack, Teams, telemetry, dashboard), added by their owners. */
  mounts?: Array<{ path: string; router: Router | express.RequestHandler }>;
  /** Requests per client address on routes without authentication (readiness, metrics, dashboard links). */
  anonymousLimit?: RateRule;
  /** Who may read `/metrics` (see {@link metricsGuard}). */
  metrics?: MetricsAccess;
}

/**
 * Access to `/metrics`: with `separatePort` it is served only by {@link HttpServer.listenMetrics}
 * (the public port answers 404); with `token` every scrape needs `Authorization: Bearer <token>`.
 * With neither, the public port serves it to direct loopback callers only (a Prometheus on the
 * same machine), so a forgotten setting never publishes it.
 */
export interface MetricsAccess {
  token?: string;
  separatePort?: boolean;
}

export interface HttpServer {
  readonly app: Express;
  readonly metrics: Metrics;
  /** Adds a router (Slack, Teams, telemetry, dashboard) in front of the not-found handler; before listen(). */
  mount(path: string, handler: Router | express.RequestHandler): void;
  /** Starts listening; resolves with the bound port (0 picks a free one). */
  listen(port: number, host?: string): Promise<number>;
  /** The port it listens on, once it does. */
  port(): number | undefined;
  /** Starts the metrics-only listener (`MetricsAccess.separatePort`); resolves with its port. */
  listenMetrics(port: number, host?: string): Promise<number>;
  /** Stops accepting connections and waits for in-flight requests, up to `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/** The one HTTP server: health, readiness, metrics, and whatever the channels mount. */
export function createHttpServer(settings: HttpServerSettings): HttpServer {
  const { log } = settings;
  const metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.use(metrics.middleware);
  // Every route takes at most 1 MB; Bolt's receiver reads Slack bodies with no limit of its own.
  app.use((req, res, next) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) res.status(413).json({ error: 'payload_too_large' });
    else next();
  });

  // Liveness is cheaper than any limit and probes must never be refused; it stays unlimited.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const perAddress = rateLimit({ rule: settings.anonymousLimit ?? DEFAULT_ANONYMOUS_LIMIT, principal: clientAddress });
  app.use(['/readyz', '/metrics', '/dashboard'], perAddress);

  app.get('/readyz', async (_req, res) => {
    const problems: Record<string, string> = {};
    await Promise.all(
      Object.entries(settings.readiness).map(async ([name, check]) => {
        const reason = await check().catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
        if (reason) problems[name] = reason;
      }),
    );
    if (Object.keys(problems).length === 0) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not ready', problems });
  });

  const access = settings.metrics ?? {};
  const serveMetrics: RequestHandler = async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  };
  if (!access.separatePort) app.get('/metrics', metricsGuard(access, { loopbackOnly: !access.token }), serveMetrics);

  for (const mount of settings.mounts ?? []) app.use(mount.path, mount.router);

  let finished = false;
  const addFallbacks = (): void => {
    if (finished) return;
    finished = true;
    app.use((_req, res) => {
      res.status(404).json({ error: 'not_found' });
    });
    app.use(
      (err: Error & { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
        if (status >= 500) log.error({ err }, 'unhandled error in HTTP handler');
        if (!res.headersSent)
          res.status(status).json({ error: status === 413 ? 'payload_too_large' : status >= 500 ? 'internal_error' : 'bad_request' });
      },
    );
  };

  const server = http.createServer(app);
  server.keepAliveTimeout = 5000;
  let metricsServer: http.Server | undefined;

  return {
    app,
    metrics,
    mount(path, handler) {
      if (finished) throw new Error(`Cannot mount ${path} after the server started listening.`);
      app.use(path, handler);
    },
    listen(port, host) {
      addFallbacks();
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    port() {
      return server.listening ? (server.address() as AddressInfo).port : undefined;
    },
    listenMetrics(port, host) {
      const metricsApp = express();
      metricsApp.disable('x-powered-by');
      metricsApp.get('/metrics', metricsGuard(access, { loopbackOnly: false }), serveMetrics);
      metricsApp.use((_req, res) => {
        res.status(404).json({ error: 'not_found' });
      });
      metricsServer = http.createServer(metricsApp);
      const listening = metricsServer;
      return new Promise((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          listening.off('error', reject);
          resolve((listening.address() as AddressInfo).port);
        });
      });
    },
    async close(graceMs) {
      if (metricsServer?.listening) {
        const closing = metricsServer;
        await new Promise<void>((resolve) => {
          closing.close(() => resolve());
          closing.closeAllConnections();
        });
      }
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        const timer = setTimeout(() => {
          log.warn('in-flight requests did not finish in time; closing their connections');
          server.closeAllConnections();
        }, graceMs);
        // Keep-alive connections become idle once their in-flight response is sent; close them as they do.
        const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(timer);
          clearInterval(idleSweep);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}

/** A digest, so the comparison takes the same time whatever the lengths. */
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Lets a scrape of `/metrics` through when it carries the configured bearer token (compared in
 * constant time), or, with no token configured and `loopbackOnly`, when it comes straight from
 * this machine. Anything else: 401 with a token configured, 403 without one.
 */
export function metricsGuard(access: MetricsAccess, options: { loopbackOnly: boolean }): RequestHandler {
  const expected = access.token ? digest(access.token) : undefined;
  return (req, res, next) => {
    if (expected) {
      const [scheme, token, ...rest] = req.headers.authorization?.trim().split(/\s+/) ?? [];
      if (scheme?.toLowerCase() === 'bearer' && token && rest.length === 0 && timingSafeEqual(digest(token), expected)) return next();
      res.set('WWW-Authenticate', 'Bearer realm="metrics"').status(401).json({ error: 'unauthorized' });
      return;
    }
    if (!options.loopbackOnly || isDirectLoopbackCaller(req)) return next();
    res
      .status(403)
      .json({ error: 'forbidden', detail: 'metrics are served to this machine only: set ROSTER_METRICS_TOKEN or ROSTER_METRICS_PORT' });
  };
}
