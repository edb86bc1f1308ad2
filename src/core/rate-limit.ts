/*
 * Token buckets keyed by principal (a person, a key, a client address): each principal may spend
 * `requests` at once and gets them back evenly over `perMs`. Memory is bounded: the least recently
 * used principals are forgotten first (a forgotten principal starts with a full bucket again).
 */

/** One rule: at most `requests` per `perMs` milliseconds for one principal. */
export interface RateRule {
  requests: number;
  perMs: number;
}

/** The answer for one request: allowed, or refused with the whole seconds until one is allowed again. */
export type RateDecision = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-principal token buckets for one rule (one door); see the module comment. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;

  constructor(
    readonly rule: RateRule,
    private readonly options: { now?: () => number; maxPrincipals?: number } = {},
  ) {
    if (!(rule.requests > 0) || !(rule.perMs > 0)) throw new RangeError('a rate limit needs requests > 0 and a period > 0');
    this.ratePerMs = rule.requests / rule.perMs;
  }

  /** Spends one request of `principal` (or `cost` of them); refused when its bucket is empty. */
  take(principal: string, cost = 1): RateDecision {
    const bucket = this.refill(principal);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { ok: true, remaining: Math.floor(bucket.tokens) };
    }
    return { ok: false, retryAfterSeconds: this.wait(bucket, cost) };
  }

  /** Whether `principal` could spend one request now, without spending it (a door that charges failures only). */
  check(principal: string): RateDecision {
    const bucket = this.buckets.get(principal);
    if (!bucket) return { ok: true, remaining: this.rule.requests };
    const refilled = this.refill(principal);
    return refilled.tokens >= 1
      ? { ok: true, remaining: Math.floor(refilled.tokens) }
      : { ok: false, retryAfterSeconds: this.wait(refilled, 1) };
  }

  private wait(bucket: Bucket, cost: number): number {
    return Math.max(1, Math.ceil((cost - bucket.tokens) / this.ratePerMs / 1000));
  }

  private refill(principal: string): Bucket {
    const now = (this.options.now ?? Date.now)();
    let bucket = this.buckets.get(principal);
    if (bucket) {
      bucket.tokens = Math.min(this.rule.requests, bucket.tokens + (now - bucket.at) * this.ratePerMs);
      bucket.at = now;
      // Re-inserting keeps the map in least-recently-used order for eviction.
      this.buckets.delete(principal);
    } else {
      bucket = { tokens: this.rule.requests, at: now };
      const max = this.options.maxPrincipals ?? 100_000;
      while (this.buckets.size >= max) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(principal, bucket);
    return bucket;
  }
}
