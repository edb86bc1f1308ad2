import { EndpointError, guardedRequest } from '../evals/guarded-http.js';
import type { PagerTransport } from '../core/pager.js';
import { retryAfterMs, WebhookHostPolicy } from './webhook-sender.js';

/*
 * The pagers' transport: the webhooks' outbound policy (https only, plain http to loopback only
 * outside production, resolved addresses checked at connect time, no redirects, a timeout) for
 * one JSON request per attempt. The vendor's answer body is read to a small cap and dropped: it
 * may echo the request, and the request carries the routing or API key.
 */

/** A transport to the vendors (or, outside production, their fakes on 127.0.0.1). */
export function createPagerTransport(options: { production: boolean; timeoutMs?: number }): PagerTransport {
  const policy = new WebhookHostPolicy([], !options.production);
  return async (request) => {
    try {
      const parsed = policy.check(request.url);
      if (!policy.literalAllowed(parsed)) return { error: `${parsed.hostname} is an internal address` };
      const res = await guardedRequest(policy, {
        url: request.url,
        method: 'POST',
        headers: { ...request.headers, accept: 'application/json', 'user-agent': 'Roster-Pager/1.0' },
        body: request.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        maxBytes: 16 * 1024,
      });
      const retryAfter = retryAfterMs(res.headers['retry-after'], new Date());
      return { status: res.status, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
    } catch (err) {
      if (err instanceof EndpointError) return { error: err.reason };
      return { error: 'the service could not be reached' };
    }
  };
}
