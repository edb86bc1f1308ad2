import { isIP } from 'node:net';
import { EndpointError, guardedRequest, HostPolicy, isInternalAddress } from '../evals/guarded-http.js';
import { urlProblem } from '../config/webhooks.js';
import type { TransportResult, WebhookTransport } from '../core/webhooks.js';

/*
 * The webhook transport: one POST per attempt under the delivery policy. https only (plain http
 * to loopback outside production), the resolved address checked at connect time (a name cannot be
 * pointed at an internal service after start-up unless IT listed it), redirects never followed,
 * a timeout, and the answer's body read to a small cap and dropped (never stored or logged).
 */

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/** Which hosts webhook deliveries may reach. */
export class WebhookHostPolicy extends HostPolicy {
  private readonly privateHosts: Set<string>;

  constructor(
    allowPrivateHosts: readonly string[],
    private readonly allowLoopbackHttp: boolean,
  ) {
    super(allowPrivateHosts);
    this.privateHosts = new Set(allowPrivateHosts.map(bare));
  }

  override check(raw: string): URL {
    const problem = urlProblem(raw, [...this.privateHosts], this.allowLoopbackHttp);
    if (problem) throw new EndpointError(`the webhook URL ${problem}`);
    return new URL(raw);
  }

  /** A host or address IT listed, loopback when plain http to it is allowed, or a public address. */
  protected override resolvedAllowed(hostname: string, address: string): boolean {
    if (this.privateHosts.has(bare(hostname)) || this.privateHosts.has(bare(address))) return true;
    if (this.allowLoopbackHttp && /^(127\.|::1$|::ffff:127\.)/.test(bare(address))) return true;
    return !isInternalAddress(address);
  }

  /** IP literals skip DNS, so they are checked here too. */
  literalAllowed(url: URL): boolean {
    const host = bare(url.hostname);
    return isIP(host) === 0 || this.resolvedAllowed(host, host);
  }
}

/** `Retry-After` in ms (delta-seconds or an HTTP date). */
export function retryAfterMs(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** A transport that posts under `policy`, timing out after `timeoutMs` (default 15 s), as `userAgent` (default `Roster-Webhooks/1.0`). */
export function createWebhookTransport(
  policy: WebhookHostPolicy,
  options: { timeoutMs?: number; userAgent?: string } = {},
): WebhookTransport {
  return async (url, headers, body): Promise<TransportResult> => {
    try {
      const parsed = policy.check(url);
      if (!policy.literalAllowed(parsed)) return { error: `${parsed.hostname} is an internal address IT did not allow` };
      const res = await guardedRequest(policy, {
        url,
        method: 'POST',
        headers: { ...headers, 'user-agent': options.userAgent ?? 'Roster-Webhooks/1.0' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
        maxBytes: 64 * 1024,
      });
      const retryAfter = retryAfterMs(res.headers['retry-after'], new Date());
      return { status: res.status, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
    } catch (err) {
      if (err instanceof EndpointError) return { error: err.reason };
      return { error: 'the receiver could not be reached' };
    }
  };
}
