import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AgentRefusal, isRosterError } from '../core/errors.js';
import type { Logger } from '../logger.js';
import { asAgent, type CommandBus } from '../commands/index.js';
import { API_BODY_LIMIT, type ApiUrls } from './oauth.js';
import type { RateLimiter } from '../core/rate-limit.js';
import type { AccessTokens } from './tokens.js';
import type { AgentId } from '../core/ids.js';

/** The bus, as the agent API's doors use it: they give it the agents' commands. */
export type AgentCommandBus = Pick<CommandBus, 'execute'>;

export interface RuntimeRouteDeps {
  bus: AgentCommandBus;
  tokens: AccessTokens;
  limiter: RateLimiter;
  urls: () => ApiUrls;
  log: Logger;
}

type Handler = (agentId: AgentId, req: Request, res: Response) => Promise<void>;

const bearerChallenge = (error?: string, description?: string) =>
  `Bearer realm="roster"${error ? `, error="${error}"` : ''}${description ? `, error_description="${description}"` : ''}`;

/** Answers a refusal or failure: a coded 4xx for anything the caller can fix, 503 (never a stack) otherwise. */
export function sendError(res: Response, log: Logger, err: unknown): void {
  if (res.headersSent) return;
  if (err instanceof AgentRefusal) return void res.status(err.status).json({ error: err.apiCode, error_description: err.userMessage });
  if (isRosterError(err)) {
    const status = err.code === 'not_found' ? 404 : err.code === 'forbidden' ? 403 : err.code === 'conflict' ? 409 : 400;
    return void res.status(status).json({ error: err.code, error_description: err.userMessage });
  }
  log.error({ err }, 'agent API request failed');
  res
    .status(503)
    .set('Retry-After', '5')
    .json({ error: 'temporarily_unavailable', error_description: 'Roster cannot answer right now; retry shortly.' });
}

/** Spends one request of `key`; when its budget is spent, answers 429 with Retry-After and returns true. */
export function spendOrRefuse(limiter: RateLimiter, res: Response, key: string): boolean {
  const taken = limiter.take(key);
  if (taken.ok) return false;
  res.set('Retry-After', String(taken.retryAfterSeconds));
  res.status(429).json({ error: 'rate_limited', error_description: `Too many requests; retry in ${taken.retryAfterSeconds} s.` });
  return true;
}

/**
 * `POST /api/v1/approvals`, `GET /api/v1/approvals/{id}?wait=`, `POST /api/v1/approvals/{id}/consume`,
 * `POST /api/v1/handoffs` and `GET /api/v1/handoffs/{id}?wait=`: the calling agent is the one
 * named by its bearer token (audience Roster's API), rate-limited per agent like the access check.
 * Each route gives the bus the agent's command (the same the MCP tools give); this door words the result.
 */
export function createRuntimeRouter(deps: RuntimeRouteDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: API_BODY_LIMIT, type: () => true });

  const authed =
    (handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        res.set('Cache-Control', 'no-store');
        const header = req.headers.authorization;
        const token = header ? /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header)?.[1] : undefined;
        const address = req.socket.remoteAddress ?? 'unknown';
        if (!header) {
          if (limited(res, `runtime:ip:${address}`)) return;
          res.set('WWW-Authenticate', bearerChallenge());
          return void res.status(401).json({ error: 'invalid_token', error_description: 'Send Authorization: Bearer <access token>.' });
        }
        const verified = token ? await deps.tokens.verify(token, deps.urls().rosterAudience) : undefined;
        if (!verified?.ok) {
          if (limited(res, `runtime:ip:${address}`)) return;
          const why = verified?.problem === 'expired' ? 'The token expired.' : 'The token is not valid here.';
          res.set('WWW-Authenticate', bearerChallenge('invalid_token', why));
          return void res.status(401).json({ error: 'invalid_token', error_description: why });
        }
        if (limited(res, `runtime:${verified.claims.sub}`)) return;
        await handler(verified.claims.sub, req, res);
      } catch (err) {
        sendError(res, deps.log, err);
      }
    };

  const limited = (res: Response, key: string) => spendOrRefuse(deps.limiter, res, key);

  const base = () => deps.urls().rosterAudience;
  const param = (req: Request) => String(req.params.id ?? '');

  router.post(
    '/approvals',
    json,
    authed(async (agentId, req, res) => {
      const { view, created } = await deps.bus.execute(asAgent(agentId), { type: 'runtime.approval.request', body: req.body });
      if (!created) res.set('Idempotent-Replayed', 'true');
      res.set('Location', `${base()}/approvals/${view.id}`);
      res.status(created ? 201 : 200).json(view);
    }),
  );
  router.get(
    '/approvals/:id',
    authed(async (agentId, req, res) => {
      res.json(await deps.bus.execute(asAgent(agentId), { type: 'runtime.approval.show', approvalId: param(req), wait: req.query.wait }));
    }),
  );
  router.post(
    '/approvals/:id/consume',
    json,
    authed(async (agentId, req, res) => {
      res.json(await deps.bus.execute(asAgent(agentId), { type: 'runtime.approval.consume', approvalId: param(req), body: req.body }));
    }),
  );
  router.post(
    '/handoffs',
    json,
    authed(async (agentId, req, res) => {
      const { view, created } = await deps.bus.execute(asAgent(agentId), { type: 'runtime.handoff.create', body: req.body });
      if (!created) res.set('Idempotent-Replayed', 'true');
      res.set('Location', `${base()}/handoffs/${view.id}`);
      res.status(created ? 201 : 200).json(view);
    }),
  );
  router.get(
    '/handoffs/:id',
    authed(async (agentId, req, res) => {
      res.json(await deps.bus.execute(asAgent(agentId), { type: 'runtime.handoff.show', handoffId: param(req), wait: req.query.wait }));
    }),
  );
  router.use((err: Error & { status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent || !err.status || err.status >= 500) return next(err);
    res.status(err.status).json({
      error: err.status === 413 ? 'payload_too_large' : 'invalid_request',
      error_description: err.status === 413 ? 'The request body is too large.' : 'The body is not valid JSON.',
    });
  });
  return router;
}
