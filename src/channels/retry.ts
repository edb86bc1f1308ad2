import type { Logger } from '../logger.js';

/** How often and how long a send to a chat platform is retried. */
export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** First back-off when the platform gives no Retry-After; doubled each time, with jitter. */
  baseDelayMs: number;
  /** Longest single wait: a Retry-After beyond it is not waited for (the send fails, to be retried later by its owner). */
  maxDelayMs: number;
}

/**
 * Sends are retried 4 times over at most about a minute: long enough for Slack's and Teams'
 * per-second rate limits and brief outages, short enough that a card is never hours late.
 */
export const SEND_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * The options @slack/web-api's WebClient takes for the same policy. The WebClient already waits
 * for Retry-After on 429 before retrying; `retryConfig` (node-retry) spaces the retries of 5xx
 * answers and network errors. Its default (ten retries over about thirty minutes) would hold a
 * card, and the flow step behind it, for half an hour.
 */
export const SLACK_RETRY_CONFIG = {
  retries: SEND_RETRY.retries,
  factor: 2,
  minTimeout: SEND_RETRY.baseDelayMs,
  maxTimeout: SEND_RETRY.maxDelayMs,
  randomize: true,
} as const;

/** Milliseconds to wait from a Retry-After header (delta seconds or an HTTP date), if it says. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Whether a failure is worth retrying, and after how long the platform asked to wait. */
export interface RetryVerdict {
  retry: boolean;
  afterMs?: number;
}

/**
 * Classifies an error thrown by the Microsoft 365 Agents SDK's ConnectorClient (its HttpError has
 * `status` and the fetch `response.headers`): 429 and 5xx are retried, honouring Retry-After;
 * network failures (no status) are retried; other 4xx (403 uninstalled, 404, 413 too big) are not.
 */
export function connectorRetryVerdict(err: unknown): RetryVerdict {
  const e = err as { status?: unknown; response?: { status?: unknown; headers?: unknown } } | undefined;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.response?.status === 'number' ? e.response.status : undefined;
  if (status === undefined) return { retry: isNetworkError(err) };
  if (status !== 429 && status < 500) return { retry: false };
  const headers = e?.response?.headers;
  const header =
    headers && typeof (headers as Headers).get === 'function'
      ? (headers as Headers).get('retry-after')
      : ((headers as Record<string, string> | undefined)?.['retry-after'] ?? undefined);
  const afterMs = retryAfterMs(header);
  return { retry: true, ...(afterMs !== undefined ? { afterMs } : {}) };
}

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | undefined)?.cause?.code ?? (err as { code?: unknown })?.code;
  return (
    typeof code === 'string' &&
    ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation`, retrying as `verdict` says: after the platform's Retry-After when given, else
 * with exponential back-off and jitter. The last error is thrown when retries run out or a wait
 * would exceed `policy.maxDelayMs`.
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  verdict: (err: unknown) => RetryVerdict,
  options: { policy?: RetryPolicy; log?: Logger; what: string },
): Promise<T> {
  const policy = options.policy ?? SEND_RETRY;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      const v = verdict(err);
      if (!v.retry || attempt >= policy.retries) throw err;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
      const wait = v.afterMs ?? backoff;
      if (wait > policy.maxDelayMs) throw err;
      options.log?.warn(
        { what: options.what, attempt: attempt + 1, waitMs: Math.round(wait), status: (err as { status?: unknown }).status },
        'chat platform send failed; retrying',
      );
      await sleep(wait);
    }
  }
}
