import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { RateLimiter } from '../core/rate-limit.js';
import { clientAddress } from '../http/rate-limit.js';
import type { Logger } from '../logger.js';
import { listOf, resourceTypes, schemas, serviceProviderConfig } from './discovery.js';
import { ScimError, type Resource } from './resources.js';
import type { ListParams, ScimService, WriteContext } from './scim-service.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json';

export interface ScimRouterOptions {
  service: ScimService;
  /** The bearer token identity providers present (ROSTER_SCIM_TOKEN). */
  token: string;
  log: Logger;
  /** Public URL of /scim/v2, for `location` and `$ref` (else derived from the request). */
  publicBase?: string;
  /** Requests per minute per client (bursts up to the same number); default 3,000. */
  perMinute?: number;
}

/** The `:id` route parameter (Express 5 types it loosely). */
const idOf = (req: Request): string => String(req.params.id ?? '');

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Who is provisioning, for the audit trail: Entra ID and Okta are named, anything else by its user agent. */
export function provisioningSource(userAgent: string | undefined): string {
  const ua = (userAgent ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 120);
  if (/okta/i.test(ua)) return 'Okta';
  if (/azure|entra|microsoft|aad/i.test(ua)) return 'Microsoft Entra ID';
  return ua ? `SCIM client (${ua})` : 'SCIM client';
}

/**
 * The SCIM 2.0 service provider at /scim/v2 (RFC 7644): bearer-token authentication compared
 * in constant time, a rate limit per client, `application/scim+json` both ways (plain JSON
 * accepted), and every failure as a SCIM error body with a 4xx: never a 5xx for bad input.
 */
export function createScimRouter(options: ScimRouterOptions): Router {
  const { service, log } = options;
  const expected = digest(options.token);
  const limiter = new RateLimiter({ requests: options.perMinute ?? 3_000, perMs: 60_000 });
  // Wrong tokens are limited much harder: guessing is not a workload.
  const failures = new RateLimiter({ requests: 12, perMs: 60_000 });
  const router = express.Router();

  const send = (res: Response, status: number, body?: unknown) => {
    res.status(status).type(SCIM_CONTENT_TYPE);
    if (body === undefined) res.end();
    else res.send(JSON.stringify(body));
  };
  const fail = (res: Response, err: ScimError) => send(res, err.status, err.body());

  router.use((req, res, next) => {
    const client = clientAddress(req);
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const ok = match !== null && timingSafeEqual(digest(match[1]!), expected);
    if (!ok) {
      const verdict = failures.take(client);
      if (!verdict.ok) {
        res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
        return fail(res, new ScimError(429, 'too many failed authentications; wait before retrying'));
      }
      res.setHeader('WWW-Authenticate', 'Bearer realm="roster-scim"');
      log.warn({ client, reason: match ? 'wrong token' : 'no bearer token' }, 'SCIM request refused');
      return fail(res, new ScimError(401, match ? 'the bearer token is not valid' : 'a bearer token is required'));
    }
    const verdict = limiter.take(client);
    if (!verdict.ok) {
      res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
      return fail(res, new ScimError(429, 'too many requests; slow down'));
    }
    next();
  });
  router.use(express.json({ type: ['application/json', 'application/scim+json', 'application/*+json'], limit: '1mb', strict: true }));

  const base = (req: Request) => options.publicBase ?? `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
  const ctx = (req: Request): WriteContext => ({ source: provisioningSource(req.get('user-agent')), base: base(req) });
  const params = (req: Request): ListParams => {
    const pick = (name: string) => {
      const key = Object.keys(req.query).find((k) => k.toLowerCase() === name.toLowerCase());
      const value = key ? req.query[key] : undefined;
      if (value !== undefined && typeof value !== 'string') throw new ScimError(400, `${name} must be given once`, 'invalidValue');
      return value;
    };
    const out: ListParams = {};
    for (const name of ['filter', 'startIndex', 'count', 'attributes', 'excludedAttributes'] as const) {
      const value = pick(name);
      if (value !== undefined) out[name] = value;
    }
    return out;
  };
  const body = (req: Request) => {
    if (!req.is(['application/json', 'application/scim+json', 'application/*+json']))
      throw new ScimError(400, 'send the body as application/scim+json', 'invalidSyntax');
    return req.body as unknown;
  };
  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch(next);
    };
  const created = (res: Response, resource: Resource) => {
    res.setHeader('Location', String((resource.meta as { location: string }).location));
    send(res, 201, resource);
  };

  router.get('/ServiceProviderConfig', (req, res) => send(res, 200, serviceProviderConfig(base(req))));
  router.get('/ResourceTypes', (req, res) => send(res, 200, listOf(resourceTypes(base(req)))));
  router.get('/ResourceTypes/:id', (req, res) => {
    const found = resourceTypes(base(req)).find((t) => t.id.toLowerCase() === idOf(req).toLowerCase());
    if (found) send(res, 200, found);
    else fail(res, new ScimError(404, `resource type ${req.params.id} not found`));
  });
  router.get('/Schemas', (req, res) => send(res, 200, listOf(schemas(base(req)))));
  router.get('/Schemas/:id', (req, res) => {
    const found = schemas(base(req)).find((s) => s.id.toLowerCase() === idOf(req).toLowerCase());
    if (found) send(res, 200, found);
    else fail(res, new ScimError(404, `schema ${req.params.id} not found`));
  });

  router.get(
    '/Users',
    handle(async (req, res) => send(res, 200, await service.listUsers(params(req), base(req)))),
  );
  router.post(
    '/Users',
    handle(async (req, res) => created(res, await service.createUser(body(req), ctx(req)))),
  );
  router.get(
    '/Users/:id',
    handle(async (req, res) => send(res, 200, await service.getUser(idOf(req), base(req), params(req)))),
  );
  router.put(
    '/Users/:id',
    handle(async (req, res) => send(res, 200, await service.replaceUser(idOf(req), body(req), ctx(req)))),
  );
  router.patch(
    '/Users/:id',
    handle(async (req, res) => send(res, 200, await service.patchUser(idOf(req), body(req), ctx(req)))),
  );
  router.delete(
    '/Users/:id',
    handle(async (req, res) => {
      await service.deleteUser(idOf(req), ctx(req));
      send(res, 204);
    }),
  );

  router.get(
    '/Groups',
    handle(async (req, res) => send(res, 200, await service.listGroups(params(req), base(req)))),
  );
  router.post(
    '/Groups',
    handle(async (req, res) => created(res, await service.createGroup(body(req), ctx(req)))),
  );
  router.get(
    '/Groups/:id',
    handle(async (req, res) => send(res, 200, await service.getGroup(idOf(req), base(req), params(req)))),
  );
  router.put(
    '/Groups/:id',
    handle(async (req, res) => send(res, 200, await service.replaceGroup(idOf(req), body(req), ctx(req)))),
  );
  router.patch(
    '/Groups/:id',
    handle(async (req, res) => {
      await service.patchGroup(idOf(req), body(req), ctx(req));
      send(res, 204);
    }),
  );
  router.delete(
    '/Groups/:id',
    handle(async (req, res) => {
      await service.deleteGroup(idOf(req), ctx(req));
      send(res, 204);
    }),
  );

  router.use((req, res) => fail(res, new ScimError(404, `no SCIM endpoint ${req.method} ${req.path}`)));

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (err instanceof ScimError) return fail(res, err);
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.parse.failed') return fail(res, new ScimError(400, 'the body is not valid JSON', 'invalidSyntax'));
    if (e.type === 'entity.too.large') return fail(res, new ScimError(413, 'the body is larger than 1 MB'));
    if (e.status && e.status >= 400 && e.status < 500)
      return fail(res, new ScimError(e.status, 'the request cannot be read', 'invalidSyntax'));
    log.error({ err }, 'SCIM request failed');
    fail(res, new ScimError(503, 'the directory is temporarily unavailable; retry later'));
  });
  return router;
}
