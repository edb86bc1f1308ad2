import type { PagerTransport } from '../core/pager.js';
import { createWebhookTransport, WebhookHostPolicy } from './webhook-sender.js';

/*
 * The pagers' transport is the webhooks' (https only, plain http to loopback only outside
 * production, resolved addresses checked at connect time, no redirects, a timeout, the answer's
 * body read to a cap and dropped: it may echo the request, which carries the routing or API key),
 * with no private host allowed and its own user agent.
 */

/** A transport to the vendors (or, outside production, their fakes on 127.0.0.1). */
export function createPagerTransport(options: { production: boolean; timeoutMs?: number }): PagerTransport {
  const send = createWebhookTransport(new WebhookHostPolicy([], !options.production), {
    timeoutMs: options.timeoutMs ?? 10_000,
    userAgent: 'Roster-Pager/1.0',
  });
  return (request) => send(request.url, { ...request.headers, accept: 'application/json' }, request.body);
}
