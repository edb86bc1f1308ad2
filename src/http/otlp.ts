import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';
import protobuf from 'protobufjs';
import type { PriceTable } from '../config/schemas.js';
import { otlpTraceRequestSchema, priceTask, READ_ATTRIBUTES, tasksFromSpans, type SpanMapping } from '../core/otlp-genai.js';
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
/** A 64-bit integer (protobufjs's Long, or a number) as its decimal string, as `toObject({ longs: String })` gives it. */
const decimal = (v: unknown) => String(isLong(v) ? bigintOf(v) : v);
/** A span time (fixed64: a Long, or a number) as the bigint the span schema makes of it, without a decimal string between. */
const nanos = (v: unknown) => (isLong(v) ? bigintOf(v) : v);
/** Bytes as hex; protobufjs gives Node Buffers here, other Uint8Arrays are viewed as one first. */
const hex = (v: unknown) =>
  Buffer.isBuffer(v) ? v.toString('hex') : v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : v;

/** The attributes Roster reads ({@link READ_ATTRIBUTES}), in order; the others are left behind unread. */
function readKeyValues(values: Decoded[]): Decoded[] {
  const out: Decoded[] = [];
  for (const kv of values) {
    if (!has(kv, 'key') || !READ_ATTRIBUTES.has(kv.key as string)) continue;
    const read: Decoded = { key: kv.key };
    if (has(kv, 'value')) {
      const v = kv.value as Decoded;
      const value: Decoded = {};
      // The member set, as the decoder named it (see loadTypes); a message from elsewhere is asked field by field.
      const member = v.value;
      if (typeof member === 'string') {
        if (member === 'intValue') value.intValue = decimal(v.intValue);
        else if (member === 'stringValue' || member === 'boolValue' || member === 'doubleValue') value[member] = v[member];
      } else {
        if (has(v, 'stringValue')) value.stringValue = v.stringValue;
        if (has(v, 'boolValue')) value.boolValue = v.boolValue;
        if (has(v, 'intValue')) value.intValue = decimal(v.intValue);
        if (has(v, 'doubleValue')) value.doubleValue = v.doubleValue;
      }
      read.value = value;
    }
    out.push(read);
  }
  return out;
}

/**
 * The parts of a decoded protobuf request the span schema reads, in the JSON encoding's form (ids as
 * hex, 64-bit attribute values as decimal strings), as `toObject({ longs: String, enums: Number,
 * defaults: false })` would give them with bytes turned to hex, span times as the bigints the schema
 * makes of them: only fields set on the message, repeated fields only when not empty. Everything the
 * schema ignores (names, events, links, scopes, attributes other than {@link READ_ATTRIBUTES}, other
 * attribute value kinds) is not copied. Before, the whole request was copied by toObject with every
 * bytes field as base64, then copied again to turn each traceId/spanId anywhere into hex.
 */
export function spanRequest(request: Decoded): Decoded {
  const out: Decoded = {};
  const resourceSpans = list(request, 'resourceSpans');
  if (!resourceSpans) return out;
  out.resourceSpans = resourceSpans.map((rs) => {
    const rsOut: Decoded = {};
    if (has(rs, 'resource')) {
      const attributes = list(rs.resource as Decoded, 'attributes');
      rsOut.resource = attributes ? { attributes: readKeyValues(attributes) } : {};
    }
    const scopeSpans = list(rs, 'scopeSpans');
    if (scopeSpans)
      rsOut.scopeSpans = scopeSpans.map((ss) => {
        const spans = list(ss, 'spans');
        return spans
          ? {
              spans: spans.map((span) => {
                const s: Decoded = {};
                for (const id of ['traceId', 'spanId', 'parentSpanId']) if (has(span, id)) s[id] = hex(span[id]);
                for (const time of ['startTimeUnixNano', 'endTimeUnixNano']) if (has(span, time)) s[time] = nanos(span[time]);
                const attributes = list(span, 'attributes');
                if (attributes) s.attributes = readKeyValues(attributes);
                if (has(span, 'status')) {
                  const status = span.status as Decoded;
                  s.status = has(status, 'code') ? { code: status.code } : {};
                }
                return s;
              }),
            }
          : {};
      });
    return rsOut;
  });
  return out;
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
    let decoded: unknown;
    try {
      decoded =
        encoding === 'json'
          ? bytes.length === 0
            ? {}
            : JSON.parse(bytes.toString('utf8'))
          : spanRequest(t.request.decode(bytes) as unknown as Decoded);
    } catch {
      return { invalid: `The body is not a valid ${encoding === 'json' ? 'JSON' : 'protobuf'} ExportTraceServiceRequest.` };
    }
    const request = otlpTraceRequestSchema.safeParse(decoded);
    if (!request.success) {
      const issue = request.error.issues[0]!;
      return { invalid: `${issue.path.join('.') || 'body'}: ${issue.message}` };
    }
    return tasksFromSpans(request.data, { foreignAgentIds: principal.kind === 'platform' });
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
