import type { Request, RequestHandler, Response } from 'express';
import { RateLimiter, type RateDecision, type RateRule } from '../core/rate-limit.js';

/** The client's address as Express sees it (`trust proxy` decides whether X-Forwarded-For counts). */
export function clientAddress(req: Request): string {
  return `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}

/** Answers a refused request: 429, `Retry-After` in seconds, and a JSON body with a code. */
export function sendTooManyRequests(res: Response, decision: Extract<RateDecision, { ok: false }>): void {
  res
    .status(429)
    .set('Retry-After', String(decision.retryAfterSeconds))
    .json({ error: 'rate_limited', message: `Too many requests; retry in ${decision.retryAfterSeconds} s.` });
}

/**
 * Express middleware that rate-limits per principal: `principal(req)` names who is asking (a
 * client id, a key's hash, the client address); requests without a principal pass. Every door
 * (telemetry, dashboard, health, OAuth, SCIM …) builds its own with its own rule.
 */
export function rateLimit(options: { rule: RateRule | RateLimiter; principal: (req: Request) => string | undefined }): RequestHandler {
  const limiter = options.rule instanceof RateLimiter ? options.rule : new RateLimiter(options.rule);
  return (req, res, next) => {
    const who = options.principal(req);
    if (who === undefined) return next();
    const decision = limiter.take(who);
    if (!decision.ok) return sendTooManyRequests(res, decision);
    next();
  };
}
