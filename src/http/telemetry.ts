import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import type { KeyRefusal, KeyVerification } from '../core/agent-keys.js';
import { sha256 } from '../core/agents.js';
import { isAgentStatus, isLiveStatus } from '../core/lifecycle.js';
import { RateLimiter, type RateRule } from '../core/rate-limit.js';
import {
  acceptedWindow,
  telemetryBatchSchema,
  validateBatch,
  validateBuiltBatch,
  type BuiltEvent,
  type IngestResult,
  type Rejection,
  type TelemetryPrincipal,
} from '../core/telemetry.js';
import type { Logger } from '../logger.js';
import type { TelemetryStore } from '../store/telemetry-store.js';
import { clientAddress } from './rate-limit.js';
import type { AgentId } from '../core/ids.js';

export interface TelemetryRouteDeps {
  store: TelemetryStore;
  /** The one check of an agent key (an indexed look-up by its hash); see AgentKeys.verifyAgentKey. */
  verifyKey(secret: string): Promise<KeyVerification>;
  /** SHA-256 hex digests of platform keys (gateways hosting many agents). */
  platformKeyHashes: string[];
  /**
   * Called once per batch with the agent ids the registry does not know (shadow agents), and the
   * platform key that sent them: they are folded into one alert per key.
   */
  onUnregistered(platformKey: string, agentIds: AgentId[]): Promise<void>;
  /** Called when a retired agent's key, a revoked key or a rotated-out key is used (something still runs with it). */
  onRefusedKey(agentId: AgentId, reason: KeyRefusal): Promise<void>;
  /**
   * Called after new events were stored, with the agents they concern (error-spike detection):
   * after the reply, one call at a time, with the agents of every batch stored meanwhile.
   */
  onIngested?(agentIds: AgentId[]): Promise<void>;
  /**
   * How long the error-spike check waits after a batch is stored for more batches to join it
   * (default {@link SPIKE_CHECK_DELAY_MS}): under a steady stream of batches, one read serves all
   * the batches of that time instead of one read each.
   */
  spikeCheckDelayMs?: number;
  /** Raw-event retention: older event times are refused per event. */
  retentionDays(): number;
  /** Requests per key, and failed authentications per client address. */
  limits: { perKey: RateRule; failedAuthPerAddress: RateRule };
  clock?: () => Date;
  log: Logger;
  /** Largest accepted body. */
  bodyLimit?: string;
}

/** Refusals that mean something still runs with a key Roster took away: on-call hears of it. */
const ALERTING: ReadonlySet<KeyRefusal> = new Set(['agent-retired', 'revoked', 'rotated-out']);

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Who is sending, or the refusal to answer with (429 carries the seconds to wait). */
export type Authentication =
  { principal: TelemetryPrincipal } | { status: number; error: string; message: string; retryAfterSeconds?: number };

/**
 * The telemetry ingest path both doors share (the JSON API and OTLP traces): the key check with
 * its rate limits, and the per-event validation, registry checks, storage and error-spike hand-off
 * of a batch.
 */
export interface TelemetryIngest {
  /**
   * Checks the key before anything reads the body: one indexed look-up, then the key's rate limit.
   * Failed attempts are limited per client `address` (429 once spent); a valid key is never held
   * back by others' failures.
   */
  authenticate(authorization: string, address?: string): Promise<Authentication>;
  /** Validates and stores a batch of events in the JSON API's shape; `body` is `{ events }`. */
  ingest(principal: TelemetryPrincipal, body: unknown): Promise<{ ok: true; result: IngestResult } | { ok: false; message: string }>;
  /**
   * {@link ingest} for events Roster built from input it parsed already (OTLP spans): the same
   * batch limits, rules and storage, each event checked for what it can get wrong rather than
   * parsed whole again (see validateBuiltBatch).
   */
  ingestBuilt(
    principal: TelemetryPrincipal,
    events: BuiltEvent[],
  ): Promise<{ ok: true; result: IngestResult } | { ok: false; message: string }>;
  /**
   * Resolves once the error-spike checks of every batch stored so far are done (shutdown, tests);
   * a check still waiting out its delay starts at once.
   */
  idle(): Promise<void>;
}

export function createTelemetryIngest(deps: TelemetryRouteDeps): TelemetryIngest {
  const clock = deps.clock ?? (() => new Date());
  const perKey = new RateLimiter(deps.limits.perKey);
  const failures = new RateLimiter(deps.limits.failedAuthPerAddress);
  const spikes = spikeChecks(deps);

  async function check(header: string): Promise<{ principal: TelemetryPrincipal; bucket: string } | Authentication> {
    const key = /^Bearer\s+(\S{8,512})$/.exec(header)?.[1];
    if (!key) return { status: 401, error: 'missing_key', message: 'Send Authorization: Bearer <agent or platform key>.' };
    const hash = sha256(key);
    const platform = deps.platformKeyHashes.findIndex((h) => sameHash(h, hash));
    if (platform >= 0) return { principal: { kind: 'platform', name: `platform-${platform + 1}` }, bucket: `platform:${platform}` };
    const verdict = await deps.verifyKey(key);
    if (verdict.ok && isLiveStatus(verdict.agent.status)) {
      return { principal: { kind: 'agent', agentId: verdict.agent.id }, bucket: `key:${verdict.credential.id}` };
    }
    if (!verdict.ok && verdict.agent && ALERTING.has(verdict.reason)) {
      const agentId = verdict.agent.id;
      await deps
        .onRefusedKey(agentId, verdict.reason)
        .catch((err: unknown) => deps.log.error({ err, agentId }, 'could not raise the retired-key alert'));
      if (verdict.reason === 'agent-retired')
        return { status: 401, error: 'agent_retired', message: 'This agent is retired; its key no longer works.' };
      return {
        status: 401,
        error: verdict.reason === 'revoked' ? 'key_revoked' : 'key_rotated_out',
        message: verdict.reason === 'revoked' ? 'This key was revoked.' : 'This key was rotated out; use the new one.',
      };
    }
    return { status: 401, error: 'invalid_key', message: 'Unknown or revoked key.' };
  }

  const refusal = (error: z.ZodError): { ok: false; message: string } => {
    const issue = error.issues[0]!;
    return { ok: false, message: `${issue.path.join('.') || 'body'}: ${issue.message}` };
  };

  /** The registry checks of a platform key's events, then storage and the error-spike hand-off. */
  async function store(
    principal: TelemetryPrincipal,
    { valid, rejected }: ReturnType<typeof validateBatch>,
  ): Promise<{ ok: true; result: IngestResult }> {
    let accepted = valid;
    const extra: Rejection[] = [];
    if (principal.kind === 'platform' && valid.length > 0) {
      const ids = [...new Set(valid.map((v) => v.event.agentId))];
      const [known, blocked] = await Promise.all([deps.store.knownAgents(ids), deps.store.blocked(ids)]);
      const unknown = new Set<AgentId>();
      accepted = valid.filter(({ index, event }) => {
        if (blocked.has(event.agentId)) {
          extra.push({ index, eventId: event.eventId, reason: `agentId: ${event.agentId} is blocked by IT` });
          return false;
        }
        const status = known.get(event.agentId);
        if (status && isAgentStatus(status) && isLiveStatus(status)) return true;
        if (!status) unknown.add(event.agentId);
        const reason = status ? `agentId: ${event.agentId} is ${status}` : `agentId: ${event.agentId} is not registered in Roster`;
        extra.push({ index, eventId: event.eventId, reason });
        return false;
      });
      if (unknown.size > 0)
        await deps
          .onUnregistered(principal.name, [...unknown])
          .catch((err: unknown) => deps.log.error({ err }, 'could not raise the unregistered-agents alert'));
    }
    const stored = await deps.store.ingest(accepted.map((v) => v.event));
    if (stored.inserted > 0) spikes.add(accepted.map((v) => v.event.agentId));
    return {
      ok: true,
      result: {
        accepted: stored.inserted,
        duplicates: stored.duplicates,
        rejected: [...rejected, ...extra].sort((a, b) => a.index - b.index),
      },
    };
  }

  return {
    async authenticate(header, address = 'unknown') {
      const auth = await check(header);
      if ('status' in auth) {
        const limited = failures.take(address);
        if (!limited.ok) return tooMany(limited.retryAfterSeconds);
        return auth;
      }
      const allowed = perKey.take((auth as { bucket: string }).bucket);
      if (!allowed.ok) return tooMany(allowed.retryAfterSeconds);
      return { principal: (auth as { principal: TelemetryPrincipal }).principal };
    },

    async ingest(principal, body) {
      const batch = telemetryBatchSchema.safeParse(body);
      if (!batch.success) return refusal(batch.error);
      return store(principal, validateBatch(principal, batch.data.events, acceptedWindow(clock(), deps.retentionDays())));
    },

    async ingestBuilt(principal, events) {
      const batch = telemetryBatchSchema.safeParse({ events });
      if (!batch.success) return refusal(batch.error);
      return store(principal, validateBuiltBatch(principal, events, acceptedWindow(clock(), deps.retentionDays())));
    },

    idle: () => spikes.idle(),
  };
}

/** The default of {@link TelemetryRouteDeps.spikeCheckDelayMs}: an alert pages on-call at most this much later. */
export const SPIKE_CHECK_DELAY_MS = 100;

/**
 * The error-spike check, off the reply's path: it starts a short while after a batch is stored
 * (see {@link TelemetryRouteDeps.spikeCheckDelayMs}), and agents of batches stored meanwhile or
 * while a check runs wait for it or the next one, so however many batches arrive there is one
 * check in flight, each reading all its agents at once.
 */
function spikeChecks(deps: Pick<TelemetryRouteDeps, 'onIngested' | 'log' | 'spikeCheckDelayMs'>): {
  add(agentIds: AgentId[]): void;
  idle(): Promise<void>;
} {
  const waiting = new Set<AgentId>();
  let running: Promise<void> | undefined;
  /** Ends the wait of a check still waiting out its delay, so that it starts now. */
  let startNow: (() => void) | undefined;
  const delayMs = Math.max(0, deps.spikeCheckDelayMs ?? SPIKE_CHECK_DELAY_MS);
  const run = async () => {
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        startNow = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      startNow = undefined;
    }
    while (waiting.size > 0) {
      const agentIds = [...waiting];
      waiting.clear();
      await deps.onIngested!(agentIds).catch((err: unknown) => deps.log.error({ err }, 'error-spike check failed'));
    }
    running = undefined;
  };
  return {
    add(agentIds) {
      if (!deps.onIngested) return;
      for (const id of agentIds) waiting.add(id);
      running ??= run();
    },
    idle: async () => {
      // Nothing more is worth waiting for (shutdown, a test reading the outcome): the waiting check starts now.
      while (running) {
        startNow?.();
        await running;
      }
    },
  };
}

function tooMany(retryAfterSeconds: number): Authentication {
  return { status: 429, error: 'rate_limited', message: `Too many requests; retry in ${retryAfterSeconds} s.`, retryAfterSeconds };
}

/** Answers a refused authentication: its status and code, with `Retry-After` on 429. */
export function sendRefusal(res: Response, auth: Extract<Authentication, { status: number }>): void {
  if (auth.retryAfterSeconds !== undefined) res.set('Retry-After', String(auth.retryAfterSeconds));
  res.status(auth.status).json({ error: auth.error, message: auth.message });
}

/**
 * `POST /api/v1/telemetry`: `Authorization: Bearer <agent or platform key>`, body
 * `{ events: [...] }` (at most 1,000). The key is checked before the body is read (an unknown
 * caller costs a header and one indexed look-up, never a JSON parse); the reply says how many
 * events were accepted and which were rejected and why.
 */
export function createTelemetryRouter(deps: TelemetryRouteDeps, ingest = createTelemetryIngest(deps)): Router {
  const router = express.Router();
  const parseJson = express.json({ limit: deps.bodyLimit ?? '1mb', type: () => true });
  const readBody = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => parseJson(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
  router.post('/', async (req, res, next) => {
    try {
      const auth = await ingest.authenticate(String(req.headers.authorization ?? ''), clientAddress(req));
      if ('status' in auth) return sendRefusal(res, auth);
      await readBody(req, res);
      const outcome = await ingest.ingest(auth.principal, req.body);
      if (!outcome.ok) return void res.status(400).json({ error: 'invalid_batch', message: outcome.message });
      res.status(200).json(outcome.result);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
