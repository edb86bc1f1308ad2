import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import protobuf from 'protobufjs';
import type { PriceTable } from '../config/schemas.js';
import {
  otlpTraceRequestSchema,
  priceTask,
  READ_ATTRIBUTES,
  attributeValueSchema,
  spanIdsAndTimesSchema,
  tasksFromSpans,
  type AnyValue,
  type Attributes,
  type OtlpTraceRequest,
  type Span,
  type SpanMapping,
} from '../core/otlp-genai.js';
import type { TelemetryPrincipal } from '../core/telemetry.js';
import type { Logger } from '../logger.js';
import { clientAddress } from './rate-limit.js';
import type { TelemetryIngest } from './telemetry.js';

/** The opentelemetry-proto definitions Roster ships (v1.11.0, Apache-2.0, see proto/LICENSE). */
const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

/**
 * AnyValue messages with the name of their member in a field of their own. protobufjs's decoder
 * names each member it reads in the oneof's virtual property `value`, whose setter deletes every
 * other member: seven deletes per attribute, 5 ms of a 1,000-span batch. An own `value` (a class
 * field shadows the accessor) takes the name instead: the member read last, the one protobuf says
 * is set, the only one readKeyValues reads.
 */
class AnyValueMessage extends protobuf.Message {
  value: string | undefined = undefined;
}

function loadTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  root.lookupType('opentelemetry.proto.common.v1.AnyValue').ctor = AnyValueMessage;
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

type Decoded = Record<string, unknown>;

/** Set on the message itself (protobufjs's message prototypes carry every field's default). */
const has = (m: Decoded, field: string) => m[field] != null && Object.prototype.hasOwnProperty.call(m, field);
const list = (m: Decoded, field: string) =>
  Array.isArray(m[field]) && (m[field] as unknown[]).length > 0 ? (m[field] as Decoded[]) : undefined;
const isLong = (v: unknown): v is { low: number; high: number; unsigned: boolean } =>
  typeof v === 'object' && v !== null && (v as { __isLong__?: unknown }).__isLong__ === true;
/** A protobufjs Long as a bigint (Long's own toString divides by 10^6 in Long arithmetic, a new Long per step). */
const bigintOf = (v: { low: number; high: number; unsigned: boolean }) => {
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? bits : BigInt.asIntN(64, bits);
};
/**
 * A 64-bit integer (protobufjs's Long, or a number) as the nearest number, the one the mapping made
 * of its decimal string: high × 2^32 is exact, so the sum is rounded once (Long's own toNumber).
 */
const integer = (v: unknown) => (isLong(v) ? (v.unsigned ? v.high >>> 0 : v.high) * 4294967296 + (v.low >>> 0) : (v as number));
/** A span time (fixed64: a Long, or a number) as the bigint the span schema makes of it, without a decimal string between. */
const nanos = (v: unknown) => (isLong(v) ? bigintOf(v) : v);
/** Bytes as hex; protobufjs gives Node Buffers here, other Uint8Arrays are viewed as one first. */
const hex = (v: unknown) =>
  Buffer.isBuffer(v) ? v.toString('hex') : v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : v;

/** An attribute value whose member Roster does not read (bytes, array, key-value list) or with none set. */
const UNREAD_VALUE: AnyValue = Object.freeze({});

/**
 * A decoded AnyValue as the span schema outputs it: the member set (see loadTypes; protobufjs's own
 * messages name it in the same `value`), 64-bit integers as numbers; an unread member (bytes,
 * array, key-value list) or none as no value; or, when the schema refuses it, undefined. The decoder
 * types every member; only a double can be refused (NaN or infinite: zod's numbers are finite).
 */
function anyValue(v: Decoded): AnyValue | undefined {
  switch (v.value) {
    case 'stringValue':
      return { stringValue: v.stringValue as string };
    case 'intValue':
      return { intValue: integer(v.intValue) };
    case 'doubleValue':
      return Number.isFinite(v.doubleValue) ? { doubleValue: v.doubleValue as number } : undefined;
    case 'boolValue':
      return { boolValue: v.boolValue as boolean };
    default:
      return UNREAD_VALUE;
  }
}

/**
 * Each read attribute's key, by itself: a decoded key is a fresh string, and storing a property
 * under one costs V8 a string-table look-up per store; the key kept here is the interned literal.
 */
const READ_KEYS: ReadonlyMap<string, string> = new Map([...READ_ATTRIBUTES].map((key) => [key, key]));

/** The span schema's refusal of an attribute's value: where it is in the attribute list, and why. */
class AttributeRefusal {
  constructor(
    readonly path: PropertyKey[],
    readonly message: string,
  ) {}

  /** The refusal as the route answers it, `at` the path of the attribute list. */
  at(...listPath: Array<string | number>): { invalid: string } {
    return { invalid: `${[...listPath, ...this.path].map(String).join('.')}: ${this.message}` };
  }
}

/**
 * The attributes Roster reads ({@link READ_ATTRIBUTES}) by key, the last sent with a value winning,
 * as the span schema keeps them (undefined when there are none); or the schema's refusal of the
 * first malformed one. The others are passed over unread.
 */
function readAttributes(values: Decoded[] | undefined): Attributes | undefined | AttributeRefusal {
  if (!values) return undefined;
  let read: Record<string, AnyValue> | undefined;
  for (let i = 0; i < values.length; i += 1) {
    const kv = values[i]!;
    const key = typeof kv.key === 'string' ? READ_KEYS.get(kv.key) : undefined;
    if (key === undefined || !has(kv, 'value')) continue;
    const value = anyValue(kv.value as Decoded);
    if (!value) {
      // The issue and message the span schema gives for this value (see attributesSchema): only a double is refused.
      const issue = attributeValueSchema.safeParse({ doubleValue: (kv.value as Decoded).doubleValue }).error!.issues[0]!;
      return new AttributeRefusal([i, 'value', ...issue.path], issue.message);
    }
    (read ??= {})[key] = value;
  }
  return read;
}

/**
 * A decoded protobuf request as the span schema outputs it ({@link OtlpTraceRequest}), built in one
 * pass, or the first refusal, the same path and message as the schema gives for the same request in
 * the JSON mapping. Each span's ids and times are parsed by {@link spanIdsAndTimesSchema} (ids hex
 * from the bytes, times the bigints of fixed64s); its read attributes and status code are taken as
 * the decoder typed them (strings, booleans, doubles, 64-bit integers as numbers, an int32), which
 * the schema's checks of those values cannot refuse; what the mapping makes of them is checked in
 * the built event (builtEventSchema). Names, events, links, scopes and unread attributes are never
 * copied.
 */
export function protobufSpanRequest(request: Decoded): OtlpTraceRequest | { invalid: string } {
  const resourceSpans = list(request, 'resourceSpans');
  if (!resourceSpans) return {};
  const out: NonNullable<OtlpTraceRequest['resourceSpans']> = [];
  for (let r = 0; r < resourceSpans.length; r += 1) {
    const rs = resourceSpans[r]!;
    const attributes = has(rs, 'resource') ? readAttributes(list(rs.resource as Decoded, 'attributes')) : undefined;
    if (attributes instanceof AttributeRefusal) return attributes.at('resourceSpans', r, 'resource', 'attributes');
    const scopes: Array<{ spans?: Span[] }> = [];
    for (const [s, ss] of (list(rs, 'scopeSpans') ?? []).entries()) {
      const decodedSpans = list(ss, 'spans');
      if (!decodedSpans) {
        scopes.push({});
        continue;
      }
      const spans: Span[] = [];
      for (let i = 0; i < decodedSpans.length; i += 1) {
        const span = decodedSpans[i]!;
        const parsed = spanIdsAndTimesSchema.safeParse({
          traceId: has(span, 'traceId') ? hex(span.traceId) : undefined,
          spanId: has(span, 'spanId') ? hex(span.spanId) : undefined,
          parentSpanId: has(span, 'parentSpanId') ? hex(span.parentSpanId) : undefined,
          startTimeUnixNano: has(span, 'startTimeUnixNano') ? nanos(span.startTimeUnixNano) : undefined,
          endTimeUnixNano: has(span, 'endTimeUnixNano') ? nanos(span.endTimeUnixNano) : undefined,
        });
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          return { invalid: ['resourceSpans', r, 'scopeSpans', s, 'spans', i, ...issue.path].join('.') + `: ${issue.message}` };
        }
        const kept: Span = parsed.data;
        const attrs = readAttributes(list(span, 'attributes'));
        if (attrs instanceof AttributeRefusal) return attrs.at('resourceSpans', r, 'scopeSpans', s, 'spans', i, 'attributes');
        if (attrs) kept.attributes = attrs;
        if (has(span, 'status')) {
          const status = span.status as Decoded;
          kept.status = has(status, 'code') ? { code: status.code as number } : {};
        }
        spans.push(kept);
      }
      scopes.push({ spans });
    }
    out.push({ ...(attributes ? { resource: { attributes } } : {}), scopeSpans: scopes });
  }
  return { resourceSpans: out };
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
      const mapping = spansOf(encoding, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), auth.principal);
      if ('invalid' in mapping) return fail(res, encoding, 400, 3, mapping.invalid);
      const outcome = await ingestSpans(auth.principal, mapping);
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

  /**
   * The request's spans as tasks, or why the body is refused. Synchronous, so that the decoded and
   * parsed request (every span) is garbage once the tasks are out, not kept through the writes.
   */
  function spansOf(encoding: Encoding, bytes: Buffer, principal: TelemetryPrincipal): SpanMapping | { invalid: string } {
    let request: OtlpTraceRequest | { invalid: string };
    if (encoding === 'json') {
      let decoded: unknown;
      try {
        decoded = bytes.length === 0 ? {} : JSON.parse(bytes.toString('utf8'));
      } catch {
        return { invalid: 'The body is not a valid JSON ExportTraceServiceRequest.' };
      }
      const parsed = otlpTraceRequestSchema.safeParse(decoded);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return { invalid: `${issue.path.join('.') || 'body'}: ${issue.message}` };
      }
      request = parsed.data;
    } else {
      let decoded: Decoded;
      try {
        decoded = t.request.decode(bytes) as unknown as Decoded;
      } catch {
        return { invalid: 'The body is not a valid protobuf ExportTraceServiceRequest.' };
      }
      request = protobufSpanRequest(decoded);
      if ('invalid' in request) return request;
    }
    return tasksFromSpans(request, { foreignAgentIds: principal.kind === 'platform' });
  }

  async function ingestSpans(
    principal: TelemetryPrincipal,
    mapping: SpanMapping,
  ): Promise<{ invalid: string } | { rejected: number; message: string }> {
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
    // The events are this request's own: each is priced in place rather than copied.
    const events = mapping.tasks.map((task) => {
      task.event.costUSD = priceTask(task, prices.get(task.event.agentId ?? (principal.kind === 'agent' ? principal.agentId : '')));
      return task.event;
    });
    const outcome = await deps.ingest.ingestBuilt(principal, events);
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
