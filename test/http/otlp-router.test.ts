import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import path from 'node:path';
import express from 'express';
import protobuf from 'protobufjs';
import type { PriceTable } from '../../src/config/schemas.js';
import type { AgentId } from '../../src/core/ids.js';
import { otlpTraceRequestSchema, tasksFromSpans } from '../../src/core/otlp-genai.js';
import type { BuiltEvent, TelemetryPrincipal } from '../../src/core/telemetry.js';
import { createOtlpRouter, protobufSpanRequest } from '../../src/http/otlp.js';
import type { TelemetryIngest } from '../../src/http/telemetry.js';
import { silentLogger } from '../helpers/logger.js';

/*
 * The OTLP route on its own, in front of a recording ingest (the storage side is otlp.test.ts's,
 * over the database): which price tables a request reads, and the events it hands the JSON ingest.
 */
const AGENT = 'agt_0123456789abcdef' as AgentId;
const PRICES: PriceTable = { inputPerMillionTokensUSD: 1, outputPerMillionTokensUSD: 5 } as PriceTable;

describe('the OTLP route', () => {
  let server: Server;
  let url: string;
  const priceReads: string[][] = [];
  const ingested: BuiltEvent[] = [];

  beforeAll(async () => {
    const ingest: TelemetryIngest = {
      authenticate: () => Promise.resolve({ principal: { kind: 'agent', agentId: AGENT } satisfies TelemetryPrincipal }),
      ingest: () => Promise.reject(new Error('OTLP hands its events to ingestBuilt')),
      ingestBuilt: (_principal, events) => {
        ingested.push(...events);
        return Promise.resolve({ ok: true, result: { accepted: 0, duplicates: 0, rejected: [] } });
      },
      idle: () => Promise.resolve(),
    };
    const app = express();
    app.use(
      '/v1/traces',
      createOtlpRouter({
        ingest,
        pricesOf: (agentIds) => {
          priceReads.push(agentIds);
          return Promise.resolve(new Map(agentIds.map((id) => [id, PRICES])));
        },
        log: silentLogger(),
      }),
    );
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    priceReads.length = 0;
    ingested.length = 0;
  });

  const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
  /** invoke_agent spans as the SDK's protobuf exporter encodes them. */
  function protobufBody(spans: Array<{ traceId: string; spanId: string; costUSD?: number }>): Uint8Array {
    const resource = resourceFromAttributes({ 'service.name': 'otlp-route-test' });
    const end = Date.now() - 1000;
    const body = ProtobufTraceSerializer.serializeRequest(
      spans.map((s): ReadableSpan => ({
        name: 'invoke_agent',
        kind: SpanKind.INTERNAL,
        spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED }),
        startTime: hr(end - 250),
        endTime: hr(end),
        duration: hr(250),
        status: { code: SpanStatusCode.OK },
        attributes: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.usage.input_tokens': 1000,
          'gen_ai.usage.output_tokens': 500,
          ...(s.costUSD !== undefined ? { 'roster.cost_usd': s.costUSD } : {}),
        },
        links: [],
        events: [],
        ended: true,
        resource,
        instrumentationScope: { name: 'otlp-route-test' },
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      })),
    );
    return body!;
  }
  const post = (body: Uint8Array) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer agent-key-0123' }, body });

  it('reads no price table when every span states its cost; event ids are the spans ids in hex', async () => {
    const res = await post(
      protobufBody([
        { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', costUSD: 0.25 },
        { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b175', costUSD: 0 },
      ]),
    );
    expect(res.status).toBe(200);
    expect(priceReads).toEqual([]);
    expect(ingested).toEqual([
      expect.objectContaining({
        eventId: '5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174',
        costUSD: 0.25,
        latencyMs: 250,
        tokens: 1500,
      }),
      expect.objectContaining({ eventId: '5b8efff798038103d269b633813fc60c-eee19b7ec3c1b175', costUSD: 0 }),
    ]);
  });

  it('reads the price table once when a span does not state its cost, and prices only that span with it', async () => {
    const res = await post(
      protobufBody([
        { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', costUSD: 0.25 },
        { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203332' },
      ]),
    );
    expect(res.status).toBe(200);
    expect(priceReads).toEqual([[AGENT]]);
    // $1 per million input tokens, $5 per million output tokens.
    expect(ingested.map((e) => e.costUSD)).toEqual([0.25, 0.0035]);
  });

  it('reads the member of an attribute value sent last, as protobuf has it, when a sender sets two', async () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(process.cwd(), 'proto', target);
    root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
    const type = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    const end = BigInt(Date.now() - 1000) * 1_000_000n;
    // Members are encoded in field order: stringValue (1) before intValue (3), so intValue is the one set.
    const body = type
      .encode(
        type.fromObject({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: Buffer.alloc(16, 1),
                      spanId: Buffer.alloc(8, 2),
                      startTimeUnixNano: String(end - 250_000_000n),
                      endTimeUnixNano: String(end),
                      attributes: [
                        { key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } },
                        { key: 'roster.segment', value: { stringValue: 'emea', intValue: 5 } },
                        { key: 'gen_ai.usage.input_tokens', value: { stringValue: 'many', intValue: 7 } },
                        { key: 'roster.cost_usd', value: { doubleValue: 0.5 } },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        }),
      )
      .finish();
    expect((await post(body)).status).toBe(200);
    expect(ingested).toEqual([expect.objectContaining({ tokens: 7, costUSD: 0.5, latencyMs: 250 })]);
    expect(ingested[0]).not.toHaveProperty('segment');
  });

  /*
   * What the route did before reading decoded requests itself: toObject with every bytes field as
   * base64, each traceId/spanId/parentSpanId turned to hex, then the JSON mapping's schema. The
   * protobuf path must map the same tasks, and refuse the same requests with the same message.
   */
  describe('reads a decoded protobuf request as the JSON mapping of protobufjs toObject', () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(process.cwd(), 'proto', target);
    root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
    const type = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    const hexIds = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(hexIds);
      if (!value || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          ['traceId', 'spanId', 'parentSpanId'].includes(k) && typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : hexIds(v),
        ]),
      );
    };
    const viaToObject = (decoded: protobuf.Message) => {
      const parsed = otlpTraceRequestSchema.safeParse(
        hexIds(type.toObject(decoded, { longs: String, enums: Number, bytes: String, defaults: false })),
      );
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return { invalid: `${issue.path.join('.') || 'body'}: ${issue.message}` };
      }
      return tasksFromSpans(parsed.data, { foreignAgentIds: true });
    };
    const viaRoute = (decoded: protobuf.Message) => {
      const request = protobufSpanRequest(decoded as unknown as Record<string, unknown>);
      return 'invalid' in request ? request : tasksFromSpans(request, { foreignAgentIds: true });
    };
    const decode = (request: Record<string, unknown>) => type.decode(type.encode(type.fromObject(request)).finish());
    const span = (id: number, extra: Record<string, unknown>) => ({
      traceId: Buffer.alloc(16, id),
      spanId: Buffer.alloc(8, id + 1),
      startTimeUnixNano: '1796100756142000001',
      endTimeUnixNano: '18446744073709551615',
      ...extra,
    });
    const op = (name: string) => ({ key: 'gen_ai.operation.name', value: { stringValue: name } });

    it('maps the same tasks', () => {
      const decoded = decode({
        resourceSpans: [
          { resource: { attributes: [{ key: 'gen_ai.agent.id', value: { stringValue: AGENT } }] }, scopeSpans: [{ spans: [] }, {}] },
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'support' } },
                { key: 'process.runtime.uptime', value: { doubleValue: Infinity } },
                { key: 'roster.agent.id', value: { stringValue: 'vendor-7' } },
              ],
            },
            scope: { name: 'scope' },
            scopeSpans: [
              {
                spans: [
                  span(1, {
                    name: 'invoke_agent',
                    parentSpanId: Buffer.alloc(8, 9),
                    status: { code: 2, message: 'failed' },
                    // Value kinds on attributes Roster reads, and one it does not read.
                    attributes: [
                      op('invoke_agent'),
                      { key: 'roster.segment', value: { stringValue: '' } },
                      { key: 'roster.outcome', value: { boolValue: false } },
                      { key: 'gen_ai.usage.input_tokens', value: { intValue: '-9007199254740993' } },
                      { key: 'gen_ai.usage.output_tokens', value: { intValue: '9007199254740995' } },
                      { key: 'roster.cost_usd', value: { doubleValue: 0.5 } },
                      { key: 'roster.task_type', value: { bytesValue: Buffer.from('x') } },
                      { key: 'gen_ai.agent.id', value: { arrayValue: { values: [{ stringValue: 'y' }] } } },
                      { key: 'roster.correctness' },
                      { key: 'http.request.method', value: { stringValue: 'GET' } },
                    ],
                    events: [{ name: 'event', timeUnixNano: '1' }],
                    links: [{ traceId: Buffer.alloc(16, 3), spanId: Buffer.alloc(8, 3) }],
                  }),
                  span(2, { status: {} }),
                  span(3, {
                    parentSpanId: Buffer.alloc(0),
                    attributes: [
                      op('invoke_agent'),
                      { key: 'gen_ai.usage.input_tokens', value: { intValue: '9007199254740993' } },
                      { key: 'roster.task_type', value: { stringValue: 'triage' } },
                      { key: 'roster.task_type', value: {} },
                      { key: 'roster.correctness', value: { intValue: '1' } },
                      { key: 'roster.segment', value: { stringValue: 'emea' } },
                      { key: 'roster.outcome', value: { stringValue: 'handed-to-human' } },
                    ],
                  }),
                  span(4, {
                    traceId: Buffer.alloc(16, 3),
                    parentSpanId: Buffer.alloc(8, 4),
                    attributes: [op('chat'), { key: 'gen_ai.usage.input_tokens', value: { intValue: 5 } }],
                  }),
                  span(5, {
                    traceId: Buffer.alloc(16, 3),
                    parentSpanId: Buffer.alloc(8, 4),
                    attributes: [op('execute_tool')],
                  }),
                  span(6, { attributes: [op('invoke_agent'), { key: 'gen_ai.agent.id', value: { stringValue: AGENT } }] }),
                ],
              },
            ],
          },
          {},
        ],
      });
      const mapped = viaRoute(decoded);
      expect(mapped).toEqual(viaToObject(decoded));
      expect(mapped).toMatchObject({ spans: 6, ignored: 1 });
      // Exact 64-bit values: the nearest numbers to the integers sent.
      expect('tasks' in mapped && mapped.tasks.map((task) => task.usage.input)).toEqual([-9007199254740992, 9007199254740992, 0]);
    });

    it.each([
      ['a trace id of the wrong length', { traceId: Buffer.alloc(15, 1) }],
      ['no span id', { spanId: undefined }],
      ['a parent span id of the wrong length', { parentSpanId: Buffer.alloc(9, 1) }],
      ['no start time', { startTimeUnixNano: undefined }],
      ['an end time of 0 (not sent)', { endTimeUnixNano: '0' }],
      // Doubles the decoder gives and zod refuses (its numbers are finite), on attributes Roster reads.
      [
        'a cost that is not a number',
        {
          attributes: [
            op('invoke_agent'),
            { key: 'http.response.body.size', value: { doubleValue: Infinity } },
            { key: 'roster.cost_usd', value: { doubleValue: NaN } },
          ],
        },
      ],
      ['an infinite correctness', { attributes: [{ key: 'roster.correctness', value: { doubleValue: -Infinity } }] }],
    ])('refuses %s at the same place with the same message', (_name, fault) => {
      // The fault in the second span of the second scope of the second resource, a later span being wrong too.
      const decoded = decode({
        resourceSpans: [
          { scopeSpans: [{ spans: [span(1, { attributes: [op('invoke_agent')] })] }] },
          { scopeSpans: [{}, { spans: [span(2, {}), { ...span(4, {}), ...fault }, span(3, { spanId: Buffer.alloc(7, 1) })] }] },
        ],
      });
      const refused = viaRoute(decoded);
      expect(refused).toEqual(viaToObject(decoded));
      expect(refused).toEqual({ invalid: expect.stringMatching(/^resourceSpans\.1\.scopeSpans\.1\.spans\.1\./) });
    });

    it('refuses an infinite double of a resource attribute Roster reads, before the spans', () => {
      const decoded = decode({
        resourceSpans: [
          {
            resource: {
              attributes: [
                { key: 'process.runtime.uptime', value: { doubleValue: NaN } },
                { key: 'gen_ai.usage.input_tokens', value: { doubleValue: Infinity } },
              ],
            },
            scopeSpans: [{ spans: [span(1, { spanId: Buffer.alloc(1) })] }],
          },
        ],
      });
      const refused = viaRoute(decoded);
      expect(refused).toEqual(viaToObject(decoded));
      expect(refused).toEqual({ invalid: expect.stringMatching(/^resourceSpans\.0\.resource\.attributes\.1\.value\.doubleValue: /) });
    });
  });
});
