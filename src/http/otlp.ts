import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import protobuf from 'protobufjs';
import type { PriceTable } from '../config/schemas.js';
import { otlpTraceRequestSchema, priceTask, tasksFromSpans, type OtlpTraceRequest } from '../core/otlp-genai.js';
import type { TelemetryPrincipal } from '../core/telemetry.js';
import type { Logger } from '../logger.js';
import { clientAddress } from './rate-limit.js';
import type { TelemetryIngest } from './telemetry.js';

/** The opentelemetry-proto definitions Roster ships (v1.11.0, Apache-2.0, see proto/LICENSE). */
const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

function loadTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  // google.rpc.Status, the body of OTLP failures, without shipping googleapis for two fields.
  const status = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
  root.define('google.rpc').add(status);
  return {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    status: root.lookupType('google.rpc.Status'),
  };
}

let types: ReturnType<typeof loadTypes> | undefined;

export interface OtlpRouteDeps {
  ingest: TelemetryIngest;
  /** The price table of an agent's catalog role, by agent id (one read for all the request's agents). */
  pricesOf(agentIds: string[]): Promise<Map<string, PriceTable | undefined>>;
  log: Logger;
  /** Largest accepted body after decompression (default 1 MB, the server's cap on every route). */
  bodyLimit?: string;
}

type Encoding = 'json' | 'protobuf';

/** `application/json` or `application/x-protobuf`; anything else is refused with 415. */
function encodingOf(req: Request): Encoding | undefined {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  return undefined;
}

/**
 * The span ids of a decoded protobuf request (bytes, left as protobufjs's Buffers) as hex, the JSON
 * encoding's form, in place: only the ids the span schema reads (`resourceSpans[].scopeSpans[].spans[]`
 * trace, span and parent ids); everything else the schema ignores is left as decoded. Before, the whole
 * request was copied to turn every `traceId`/`spanId` anywhere from base64 to hex.
 */
function hexIds(request: Record<string, unknown>): Record<string, unknown> {
  const list = (value: unknown): Array<Record<string, unknown>> =>
    Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => !!v && typeof v === 'object') : [];
  for (const rs of list(request.resourceSpans)) {
    for (const ss of list(rs.scopeSpans)) {
      for (const span of list(ss.spans)) {
        for (const k of ['traceId', 'spanId', 'parentSpanId'] as const) {
          const v = span[k];
          if (v instanceof Uint8Array) span[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
        }
      }
    }
  }
  return request;
}

/**
 * `POST /v1/traces`, OTLP/HTTP in both encodings: GenAI `invoke_agent` spans become telemetry task
 * events and go through the JSON API's own ingest (same keys, validation and storage); other spans
 * are ignored and counted. Answers in the request's encoding: an empty response, or
 * `partialSuccess` with the spans refused and why; failures as a google.rpc.Status.
 */
export function createOtlpRouter(deps: OtlpRouteDeps): Router {
  types ??= loadTypes();
  const t = types;
  const router = express.Router();
  const raw = express.raw({ limit: deps.bodyLimit ?? '1mb', type: () => true });

  const send = (res: Response, encoding: Encoding, status: number, body: Record<string, unknown>, type = t.response) => {
    if (encoding === 'json') return void res.status(status).json(body);
    res
      .status(status)
      .type('application/x-protobuf')
      .send(Buffer.from(type.encode(type.fromObject(body)).finish()));
  };
  // google.rpc.Status codes: 3 INVALID_ARGUMENT, 16 UNAUTHENTICATED, 8 RESOURCE_EXHAUSTED.
  const fail = (res: Response, encoding: Encoding, status: number, code: number, message: string) =>
    send(res, encoding, status, { code, message }, t.status);

  router.post('/', async (req, res, next) => {
    const encoding = encodingOf(req);
    try {
      if (!encoding) return void res.status(415).json({ code: 3, message: 'Send application/json or application/x-protobuf.' });
      const auth = await deps.ingest.authenticate(String(req.headers.authorization ?? ''), clientAddress(req));
      if ('status' in auth) {
        if (auth.retryAfterSeconds === undefined) return fail(res, encoding, auth.status, 16, auth.message);
        res.set('Retry-After', String(auth.retryAfterSeconds));
        return fail(res, encoding, 429, 8, auth.message);
      }
      const bodyError = await new Promise<{ status?: number; type?: string } | undefined>((resolve) =>
        raw(req, res, (err?: unknown) => resolve(err as { status?: number; type?: string } | undefined)),
      );
      if (bodyError) {
        if (bodyError.status === 413)
          return fail(res, encoding, 413, 8, 'The request is larger than Roster accepts; send smaller batches.');
        return fail(res, encoding, 400, 3, 'The request body could not be read.');
      }
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let decoded: unknown;
      try {
        decoded =
          encoding === 'json'
            ? bytes.length === 0
              ? {}
              : JSON.parse(bytes.toString('utf8'))
            : hexIds(t.request.toObject(t.request.decode(bytes), { longs: String, enums: Number, defaults: false }));
      } catch {
        return fail(
          res,
          encoding,
          400,
          3,
          `The body is not a valid ${encoding === 'json' ? 'JSON' : 'protobuf'} ExportTraceServiceRequest.`,
        );
      }
      const request = otlpTraceRequestSchema.safeParse(decoded);
      if (!request.success) {
        const issue = request.error.issues[0]!;
        return fail(res, encoding, 400, 3, `${issue.path.join('.') || 'body'}: ${issue.message}`);
      }
      const outcome = await ingestSpans(auth.principal, request.data);
      if ('invalid' in outcome) return fail(res, encoding, 400, 3, outcome.invalid);
      send(
        res,
        encoding,
        200,
        outcome.rejected > 0 || outcome.message
          ? { partialSuccess: { rejectedSpans: String(outcome.rejected), errorMessage: outcome.message } }
          : {},
      );
    } catch (err) {
      next(err);
    }
  });

  async function ingestSpans(
    principal: TelemetryPrincipal,
    request: OtlpTraceRequest,
  ): Promise<{ invalid: string } | { rejected: number; message: string }> {
    const mapping = tasksFromSpans(request, { foreignAgentIds: principal.kind === 'platform' });
    const notes: string[] = [];
    if (mapping.ignored > 0) {
      notes.push(`${mapping.ignored} of ${mapping.spans} spans were not GenAI agent spans and were ignored`);
      deps.log.debug({ ignored: mapping.ignored, spans: mapping.spans }, 'OTLP spans ignored');
    }
    if (mapping.tasks.length === 0) return { rejected: 0, message: notes.join('; ') };
    // Only tasks without a stated cost are priced: when every span states it, no price table is read.
    const unpriced = mapping.tasks.filter((task) => task.statedCostUSD === undefined);
    const agentIds = [...new Set(unpriced.map((task) => task.event.agentId ?? (principal.kind === 'agent' ? principal.agentId : '')))];
    const prices = agentIds.some(Boolean) ? await deps.pricesOf(agentIds.filter(Boolean)) : new Map<string, PriceTable | undefined>();
    const events = mapping.tasks.map((task) => ({
      ...task.event,
      costUSD: priceTask(task, prices.get(task.event.agentId ?? (principal.kind === 'agent' ? principal.agentId : ''))),
    }));
    const outcome = await deps.ingest.ingest(principal, { events });
    if (!outcome.ok) return { invalid: outcome.message };
    const { rejected } = outcome.result;
    if (rejected.length > 0) {
      notes.unshift(
        `${rejected.length} invoke_agent spans refused: ${rejected
          .slice(0, 5)
          .map((r) => `${r.eventId ?? `#${r.index}`}: ${r.reason}`)
          .join('; ')}${rejected.length > 5 ? '; …' : ''}`,
      );
    }
    return { rejected: rejected.length, message: notes.join('; ') };
  }

  return router;
}
