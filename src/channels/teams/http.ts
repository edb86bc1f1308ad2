import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { Activity } from '@microsoft/agents-activity';
import type { AgentApplication, CloudAdapter, TurnState } from '@microsoft/agents-hosting';
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { isDirectLoopbackCaller } from '../../http/loopback.js';
import { TEAMS_CHANNEL_ID, type TeamsAuth } from './auth.js';
import { ChannelTokenError, sameServiceUrl, type ChannelToken } from './channel-token.js';

/** The Bot Framework request type the adapter reads (`body`, `headers`, `user`). */
type AgentsRequest = Parameters<CloudAdapter['process']>[0];

/** The least an activity needs for Roster to answer it (the SDK would otherwise throw, or answer 500). */
const inboundActivitySchema = z.looseObject({
  type: z.string().min(1),
  channelId: z.string().min(1),
  serviceUrl: z.string().url(),
  conversation: z.looseObject({ id: z.string().min(1), tenantId: z.string().optional() }),
  from: z.looseObject({ id: z.string().min(1) }),
  recipient: z.looseObject({ id: z.string().min(1) }),
  channelData: z.looseObject({ tenant: z.looseObject({ id: z.string().optional() }).optional() }).optional(),
});
type InboundActivity = z.infer<typeof inboundActivitySchema>;

/** The Entra tenant ids the activity names for its conversation (Teams puts it in both places). */
function tenantsOf(activity: InboundActivity): string[] {
  return [activity.conversation.tenantId, activity.channelData?.tenant?.id]
    .filter((t): t is string => Boolean(t))
    .map((t) => t.toLowerCase());
}

const MAX_BODY = '1mb';

/** What a verified request carries to the handler. */
interface Admission {
  token?: ChannelToken;
}

/** A refusal: 401 when the caller is not who it must be, 403 when it is but may not come in. */
class Refusal {
  constructor(
    readonly status: 401 | 403,
    readonly reason: string,
  ) {}
}

/**
 * `POST /api/messages`: authenticate, parse, admit, hand the activity to the Agents SDK.
 *
 * Order matters: the caller is authenticated before the body is even parsed, so an
 * unauthenticated caller learns nothing (always 401). In anonymous mode only direct loopback
 * callers without a token get in; in credentials mode only a Bot Framework channel token (see
 * `ChannelTokenVerifier`). Then the activity itself must fit: the `serviceUrl` the token
 * vouches for, from Teams, in an allowed tenant, to a Bot Connector host Roster may call (in
 * anonymous mode: one on loopback). A body that is not JSON or not an activity is a 400; the
 * adapter answers invokes with their invoke response and everything else with 200 once the turn is done.
 */
export function messagesRouter(options: {
  auth: TeamsAuth;
  adapter?: CloudAdapter;
  app?: AgentApplication<TurnState>;
  log: Logger;
}): Router {
  const { auth, adapter, app, log } = options;
  const router = express.Router();

  const refuse = (res: Response, refusal: Refusal, detail: Record<string, unknown> = {}) => {
    log.warn({ ...detail, status: refusal.status, reason: refusal.reason }, 'refused a Teams request');
    res.status(refusal.status).json({ error: refusal.status === 401 ? 'unauthorized' : 'forbidden' });
  };

  const authorize = async (req: Request, res: Response, next: NextFunction) => {
    if (auth.mode === 'refused' || !adapter) return refuse(res, new Refusal(401, 'Teams is not configured here'));
    const header = req.headers.authorization;
    if (auth.mode === 'anonymous') {
      if (!isDirectLoopbackCaller(req)) return refuse(res, new Refusal(401, 'anonymous Teams mode answers this machine only'));
      // There is no app id to verify a token for: a caller sending one expects checks that cannot happen.
      if (header?.trim()) return refuse(res, new Refusal(401, 'a token was sent to anonymous local mode'));
      res.locals.admission = {} satisfies Admission;
      return next();
    }
    const token = bearer(header);
    if (!token) return refuse(res, new Refusal(401, header?.trim() ? 'a malformed Authorization header' : 'no token'));
    try {
      res.locals.admission = { token: await auth.verifier.verify(token) } satisfies Admission;
    } catch (err) {
      return refuse(res, new Refusal(401, err instanceof ChannelTokenError ? err.reason : 'the token could not be verified'));
    }
    next();
  };

  const handle = async (req: Request, res: Response) => {
    const body: unknown = req.body;
    const parsed = inboundActivitySchema.safeParse(body);
    if (!parsed.success || !isActivity(body)) {
      res.status(400).json({ error: 'bad_request', detail: 'the body is not a Bot Framework activity' });
      return;
    }
    const refusal = admit(auth, res.locals.admission as Admission, parsed.data);
    if (refusal) return refuse(res, refusal, { type: parsed.data.type, channelId: parsed.data.channelId });
    const token = (res.locals.admission as Admission).token;
    (req as unknown as AgentsRequest).user = token ? token.claims : { name: 'anonymous' };
    try {
      await adapter!.process(req as unknown as AgentsRequest, res, (context) =>
        app!.run(context).catch((err: unknown) => {
          throw asTurnError(err);
        }),
      );
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

/** Whether an authenticated activity may be handled, or why not. */
function admit(auth: TeamsAuth, admission: Admission, activity: InboundActivity): Refusal | undefined {
  if (auth.mode === 'refused') return new Refusal(401, 'Teams is not configured here');
  if (auth.mode === 'anonymous') {
    return auth.hosts.isAllowed(activity.serviceUrl)
      ? undefined
      : new Refusal(403, 'anonymous mode replies only to a connector on loopback');
  }
  const token = admission.token;
  if (!token) return new Refusal(401, 'no token');
  if (!sameServiceUrl(token.claims.serviceurl, activity.serviceUrl)) return new Refusal(401, 'the token is for another serviceUrl');
  if (activity.channelId !== TEAMS_CHANNEL_ID) return new Refusal(403, 'not a Teams activity');
  if (token.endorsements && !token.endorsements.includes(activity.channelId)) {
    return new Refusal(401, 'the signing key is not endorsed for this channel');
  }
  if (!auth.hosts.isAllowed(activity.serviceUrl)) return new Refusal(403, 'the serviceUrl is not a Microsoft Bot Connector host');
  const tenants = tenantsOf(activity);
  if (tenants.length === 0 || !tenants.every((t) => auth.tenants.includes(t))) return new Refusal(403, 'a tenant Roster does not serve');
  return undefined;
}

/** The token of a well-formed `Authorization: Bearer <token>` header. */
function bearer(header: string | undefined): string | undefined {
  const parts = header?.trim().split(/\s+/) ?? [];
  return parts.length === 2 && parts[0]!.toLowerCase() === 'bearer' ? parts[1] : undefined;
}

/**
 * The SDK gives a failed turn to `onTurnError` (the person is told, Teams gets its 200) only when
 * the failure is an `Error` of this realm; anything else escapes as a 500: a thrown non-Error, or
 * an error from another realm, as Node's own `fetch` failures are under Jest (a reply whose
 * kept-alive connection to the Bot Connector was reset, seen under load).
 */
function asTurnError(err: unknown): Error {
  if (err instanceof Error) return err;
  const message = err && typeof err === 'object' && 'message' in err ? String(err.message) : String(err);
  return new Error(message, { cause: err });
}

function isActivity(body: unknown): boolean {
  try {
    Activity.fromObject(body as Record<string, unknown>);
    return true;
  } catch {
    return false;
  }
}
