import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { Activity } from '@microsoft/agents-activity';
import type { AgentApplication, CloudAdapter, TurnState } from '@microsoft/agents-hosting';
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import type { TeamsAuth } from './auth.js';

/** The Bot Framework request type the adapter reads (`body`, `headers`, `user`). */
type AgentsRequest = Parameters<CloudAdapter['process']>[0];

/** The least an activity needs for Roster to answer it (the SDK would otherwise throw, or answer 500). */
const inboundActivitySchema = z.looseObject({
  type: z.string().min(1),
  channelId: z.string().min(1),
  serviceUrl: z.string().url(),
  conversation: z.looseObject({ id: z.string().min(1) }),
  from: z.looseObject({ id: z.string().min(1) }),
  recipient: z.looseObject({ id: z.string().min(1) }),
});

const MAX_BODY = '1mb';

/**
 * `POST /api/messages`: authenticate, parse, hand the activity to the Agents SDK.
 *
 * Order matters: the JWT is checked before the body is even parsed, so an unauthenticated
 * caller learns nothing (always 401). Anonymous requests are let through only in anonymous mode
 * (see {@link TeamsAuth}); anything carrying a token is verified by the adapter's own
 * `authorizeJWT`. A body that is not JSON or not an activity is a 400; the adapter answers
 * invokes with their invoke response and everything else with 200 once the turn is done.
 */
export function messagesRouter(options: {
  auth: TeamsAuth;
  adapter?: CloudAdapter;
  app?: AgentApplication<TurnState>;
  log: Logger;
}): Router {
  const { auth, adapter, app, log } = options;
  const router = express.Router();

  const authorize = async (req: Request, res: Response, next: NextFunction) => {
    if (auth.mode === 'refused' || !adapter) {
      log.warn('refused a Teams request: Teams has no credentials in production');
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    const header = req.headers.authorization;
    if (auth.mode === 'anonymous' && !header?.trim()) {
      (req as unknown as AgentsRequest).user = { name: 'anonymous' };
      next();
      return;
    }
    await adapter.authorizeRequest(req as unknown as AgentsRequest, res, next);
    if (res.statusCode === 401) log.info('refused a Teams request without a valid token');
  };

  const handle = async (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (!inboundActivitySchema.safeParse(body).success || !isActivity(body)) {
      res.status(400).json({ error: 'bad_request', detail: 'the body is not a Bot Framework activity' });
      return;
    }
    try {
      await adapter!.process(req as unknown as AgentsRequest, res, (context) => app!.run(context));
    } catch (err) {
      log.error({ err, type: (body as { type?: string }).type }, 'the Agents SDK failed to process a Teams activity');
      if (!res.headersSent) res.status(500).json({ error: 'internal_error' });
    }
  };

  router.post('/', authorize, express.json({ limit: MAX_BODY }), handle);
  router.all('/', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'method_not_allowed' });
  });
  router.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large') {
      res.status(413).json({ error: 'payload_too_large' });
      return;
    }
    if (err.status && err.status >= 400 && err.status < 500) {
      res.status(400).json({ error: 'bad_request', detail: 'the body is not JSON' });
      return;
    }
    log.error({ err }, 'unexpected error on /api/messages');
    res.status(500).json({ error: 'internal_error' });
  });
  return router;
}

function isActivity(body: unknown): boolean {
  try {
    Activity.fromObject(body as Record<string, unknown>);
    return true;
  } catch {
    return false;
  }
}
