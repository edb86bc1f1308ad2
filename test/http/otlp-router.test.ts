import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import type { PriceTable } from '../../src/config/schemas.js';
import type { AgentId } from '../../src/core/ids.js';
import type { TelemetryPrincipal } from '../../src/core/telemetry.js';
import { createOtlpRouter } from '../../src/http/otlp.js';
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
  const ingested: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    const ingest: TelemetryIngest = {
      authenticate: () => Promise.resolve({ principal: { kind: 'agent', agentId: AGENT } satisfies TelemetryPrincipal }),
      ingest: (_principal, body) => {
        ingested.push(...(body as { events: Array<Record<string, unknown>> }).events);
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
      spans.map(
        (s): ReadableSpan => ({
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
        }),
      ),
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
      expect.objectContaining({ eventId: '5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174', costUSD: 0.25, latencyMs: 250, tokens: 1500 }),
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
});
