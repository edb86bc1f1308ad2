import express, { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { OrgConfig } from '../config/schemas.js';
import type { AlertRecord, PagerOrigin } from '../core/alerts.js';
import type { RateRule } from '../core/rate-limit.js';
import {
  opsgenieChange,
  opsgenieWebhookSchema,
  PAGER_NAMES,
  pagerDutyChange,
  pagerDutyWebhookSchema,
  sameSecret,
  verifyPagerDutySignature,
  type PagerChange,
  type PagerProvider,
  type ResolvedPager,
} from '../core/pager.js';
import { clientAddress, rateLimit } from './rate-limit.js';
import type { AlertId } from '../core/ids.js';

/*
 * The pagers' way back in: `POST /pager/pagerduty` (V3 webhook subscriptions) and `POST
 * /pager/opsgenie` (an outgoing webhook integration). Rate-limited per address before anything
 * else, authenticated on the raw body (PagerDuty's HMAC signature; Opsgenie's shared secret in a
 * header or as the basic-auth password), then parsed. A delivery about something Roster did not
 * open, or that the authenticating subscription's rotation does not page, is answered 202 and
 * changes nothing; the vendor then stops retrying it.
 */

/** The header carrying Opsgenie's shared secret (added under the webhook integration's custom headers). */
export const OPSGENIE_SECRET_HEADER = 'x-roster-webhook-secret';

export interface PagerRouteDeps {
  org: OrgConfig;
  /** The pagers that take acknowledgements back (those with a webhook secret). */
  inbound(provider: PagerProvider): ResolvedPager[];
  alert(id: AlertId): Promise<AlertRecord | undefined>;
  apply(origin: PagerOrigin, action: 'acknowledge' | 'resolve', alertId: AlertId): Promise<{ alert: AlertRecord; changed: boolean }>;
  limit: RateRule;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

const bodyOf = (req: Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

/** The router mounted at `/pager`. */
export function createPagerRouter(deps: PagerRouteDeps): Router {
  const router = Router();
  router.use(rateLimit({ rule: deps.limit, principal: clientAddress }));
  const raw = express.raw({ limit: '256kb', type: () => true });

  router.post('/pagerduty', raw, async (req, res) => {
    const pagers = deps.inbound('pagerduty');
    if (pagers.length === 0)
      return void res.status(404).json({ error: 'not_configured', message: 'No rotation takes PagerDuty webhooks.' });
    const body = bodyOf(req);
    const signature = req.get('x-pagerduty-signature');
    const verified = pagers.filter((p) => verifyPagerDutySignature(body, signature, p.webhookSecret!));
    if (verified.length === 0) return refuse(res, 'pagerduty', req);
    const parsed = parse(body, pagerDutyWebhookSchema);
    if ('error' in parsed) return void res.status(400).json(parsed);
    await act(res, 'pagerduty', verified, pagerDutyChange(deps.org, parsed.data));
  });

  router.post('/opsgenie', raw, async (req, res) => {
    const pagers = deps.inbound('opsgenie');
    if (pagers.length === 0) return void res.status(404).json({ error: 'not_configured', message: 'No rotation takes Opsgenie webhooks.' });
    const given = [req.get(OPSGENIE_SECRET_HEADER), basicPassword(req.get('authorization'))].filter((s): s is string => Boolean(s));
    const verified = pagers.filter((p) => given.some((g) => sameSecret(g, p.webhookSecret!)));
    if (verified.length === 0) return refuse(res, 'opsgenie', req);
    const parsed = parse(bodyOf(req), opsgenieWebhookSchema);
    if ('error' in parsed) return void res.status(400).json(parsed);
    await act(res, 'opsgenie', verified, opsgenieChange(deps.org, parsed.data));
  });

  const refuse = (res: Response, provider: PagerProvider, req: Request): void => {
    deps.log.warn({ provider, address: clientAddress(req) }, 'a pager webhook failed authentication');
    res.status(401).json({ error: 'invalid_signature', message: `The ${PAGER_NAMES[provider]} webhook could not be authenticated.` });
  };

  const act = async (
    res: Response,
    provider: PagerProvider,
    verified: ResolvedPager[],
    outcome: { change: PagerChange } | { ignored: string },
  ): Promise<void> => {
    if ('ignored' in outcome) return void res.status(202).json({ status: 'ignored', reason: outcome.ignored });
    const { change } = outcome;
    try {
      const alert = await deps.alert(change.alertId);
      // A subscription authenticates for its own rotations: one rotation's secret cannot act on another's alerts.
      if (!alert || !verified.some((p) => p.rotation === alert.rotation))
        return void res.status(202).json({ status: 'ignored', reason: 'no such alert is paged through this subscription' });
      const origin: PagerOrigin = {
        provider,
        name: PAGER_NAMES[provider],
        ...(change.onBehalfOf ? { onBehalfOf: change.onBehalfOf.email } : {}),
        ...(change.responder ? { responder: change.responder } : {}),
        ...(change.reference ? { reference: change.reference } : {}),
      };
      const result = await deps.apply(origin, change.action, alert.id);
      deps.log.info({ provider, alertId: alert.id, action: change.action, changed: result.changed }, 'pager webhook applied');
      res.status(200).json({ status: result.changed ? result.alert.status : 'unchanged', alertId: alert.id });
    } catch (err) {
      deps.log.error({ err, provider, alertId: change.alertId }, 'applying a pager webhook failed');
      // A 5xx makes the vendor deliver it again later, when the database is back.
      res.status(503).json({ error: 'unavailable', message: 'Roster could not apply the change now; deliver it again later.' });
    }
  };
  return router;
}

function parse<S extends z.ZodType>(body: Buffer, schema: S): { data: z.output<S> } | { error: string; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'invalid_json', message: 'The body is not JSON.' };
  }
  const result = schema.safeParse(json);
  if (result.success) return { data: result.data };
  const issue = result.error.issues[0];
  return { error: 'invalid_body', message: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
}

/** The password of an `Authorization: Basic` header. */
function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]{1,1000})$/i.exec(header?.trim() ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}
