/** A per-key request budget; `take` spends one request or says how long to wait. */
export interface RateLimiter {
  take(key: string): { ok: true } | { ok: false; retryAfterS: number };
  /** Releases the sweep timer. */
  close(): void;
}

/**
 * A token bucket per key, in this process: `perMinute` requests a minute with bursts up to the
 * same number. Each replica counts for itself, so N replicas allow N times the budget at most.
 */
export function createRateLimiter(perMinute: number, clock: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const ratePerMs = perMinute / 60_000;
  // Full buckets carry no information: drop them so unknown client ids cannot grow the map without bound.
  const sweep = setInterval(() => {
    const now = clock();
    for (const [key, b] of buckets) if (b.tokens + (now - b.at) * ratePerMs >= perMinute) buckets.delete(key);
  }, 60_000);
  sweep.unref();
  return {
    take(key) {
      const now = clock();
      const b = buckets.get(key) ?? { tokens: perMinute, at: now };
      b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * ratePerMs);
      b.at = now;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000)) };
    },
    close() {
      clearInterval(sweep);
    },
  };
}
