import { timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { sha256 } from '../core/agents.js';
import { telemetryBatchSchema, validateBatch, type IngestResult, type Rejection, type TelemetryPrincipal } from '../core/telemetry.js';
import type { Logger } from '../logger.js';
import type { TelemetryStore } from '../store/telemetry-store.js';

export interface TelemetryRouteDeps {
  store: TelemetryStore;
  /** SHA-256 hex digests of platform keys (gateways hosting many agents). */
  platformKeyHashes: string[];
  /** Called once per batch for agent ids the registry does not know (shadow agents). */
  onUnregistered(agentIds: string[]): Promise<void>;
  /** Called when a key of a retired agent is used (a retired agent that still runs). */
  onRetiredKey(agentId: string): Promise<void>;
  /** Called after new events were stored, with the agents they concern (error-spike detection). */
  onIngested?(agentIds: string[]): Promise<void>;
  log: Logger;
  /** Largest accepted body. */
  bodyLimit?: string;
}

const LIVE = new Set(['active', 'probation', 'suspended', 'retiring', 'requested']);

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Who is sending, or the refusal to answer with. */
export type Authentication = { principal: TelemetryPrincipal } | { status: number; error: string; message: string };

/**
 * The telemetry ingest path both doors share (the JSON API and OTLP traces): the key check, and
 * the per-event validation, registry checks, storage and error-spike hand-off of a batch.
 */
export interface TelemetryIngest {
  authenticate(authorization: string): Promise<Authentication>;
  /** Validates and stores a batch of events in the JSON API's shape; `body` is `{ events }`. */
  ingest(principal: TelemetryPrincipal, body: unknown): Promise<{ ok: true; result: IngestResult } | { ok: false; message: string }>;
}

export function createTelemetryIngest(deps: TelemetryRouteDeps): TelemetryIngest {
  return {
    async authenticate(header) {
      const key = /^Bearer\s+(\S{8,512})$/.exec(header)?.[1];
      if (!key) return { status: 401, error: 'missing_key', message: 'Send Authorization: Bearer <agent or platform key>.' };
      const hash = sha256(key);
      const platform = deps.platformKeyHashes.findIndex((h) => sameHash(h, hash));
      if (platform >= 0) return { principal: { kind: 'platform', name: `platform-${platform + 1}` } };
      const agent = await deps.store.agentByKeyHash(hash);
      if (agent?.status === 'retired' || agent?.status === 'rejected') {
        await deps.onRetiredKey(agent.agentId).catch((err: unknown) => deps.log.error({ err }, 'could not raise the retired-key alert'));
        return { status: 401, error: 'agent_retired', message: 'This agent is retired; its key no longer works.' };
      }
      if (agent && !agent.revoked && LIVE.has(agent.status)) return { principal: { kind: 'agent', agentId: agent.agentId } };
      return { status: 401, error: 'invalid_key', message: 'Unknown or revoked key.' };
    },

    async ingest(principal, body) {
      const batch = telemetryBatchSchema.safeParse(body);
      if (!batch.success) {
        const issue = batch.error.issues[0]!;
        return { ok: false, message: `${issue.path.join('.') || 'body'}: ${issue.message}` };
      }
      const { valid, rejected } = validateBatch(principal, batch.data.events);
      let accepted = valid;
      const extra: Rejection[] = [];
      if (principal.kind === 'platform' && valid.length > 0) {
        const ids = [...new Set(valid.map((v) => v.event.agentId))];
        const known = await deps.store.knownAgents(ids);
        const blocked = await deps.store.blocked(ids);
        const unknown = new Set<string>();
        accepted = valid.filter(({ index, event }) => {
          if (blocked.has(event.agentId)) {
            extra.push({ index, eventId: event.eventId, reason: `agentId: ${event.agentId} is blocked by IT` });
            return false;
          }
          const status = known.get(event.agentId);
          if (status && LIVE.has(status)) return true;
          if (!status) unknown.add(event.agentId);
          const reason = status ? `agentId: ${event.agentId} is ${status}` : `agentId: ${event.agentId} is not registered in Roster`;
          extra.push({ index, eventId: event.eventId, reason });
          return false;
        });
        if (unknown.size > 0)
          await deps.onUnregistered([...unknown]).catch((err: unknown) => deps.log.error({ err }, 'could not raise shadow-agent alerts'));
      }
      const stored = await deps.store.ingest(accepted.map((v) => v.event));
      if (stored.inserted > 0 && deps.onIngested) {
        await deps
          .onIngested([...new Set(accepted.map((v) => v.event.agentId))])
          .catch((err: unknown) => deps.log.error({ err }, 'error-spike check failed'));
      }
      return {
        ok: true,
        result: {
          accepted: stored.inserted,
          duplicates: stored.duplicates,
          rejected: [...rejected, ...extra].sort((a, b) => a.index - b.index),
        },
      };
    },
  };
}

/**
 * `POST /api/v1/telemetry`: `Authorization: Bearer <agent or platform key>`, body
 * `{ events: [...] }` (at most 1,000). Keys are compared by their SHA-256 digest; the reply says
 * how many events were accepted and which were rejected and why.
 */
export function createTelemetryRouter(deps: TelemetryRouteDeps, ingest = createTelemetryIngest(deps)): Router {
  const router = express.Router();
  router.post('/', express.json({ limit: deps.bodyLimit ?? '1mb', type: () => true }), async (req, res, next) => {
    try {
      const auth = await ingest.authenticate(String(req.headers.authorization ?? ''));
      if ('status' in auth) return void res.status(auth.status).json({ error: auth.error, message: auth.message });
      const outcome = await ingest.ingest(auth.principal, req.body);
      if (!outcome.ok) return void res.status(400).json({ error: 'invalid_batch', message: outcome.message });
      res.status(200).json(outcome.result);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
