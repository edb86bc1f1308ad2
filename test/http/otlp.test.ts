import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { gzipSync } from 'node:zlib';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { sha256 } from '../../src/core/agents.js';
import { startTestRoster } from '../helpers/app.js';
import { agentWithTelemetryKey } from '../helpers/harness.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const PLATFORM_KEY = 'platform-key-for-the-otlp-gateway-0123456789';

/*
 * OTLP/HTTP traces in, sent by the OpenTelemetry SDK's own exporters (JSON and protobuf): GenAI
 * invoke_agent spans become task events, stored and rolled up like the JSON API's.
 */
describe('POST /v1/traces (OTLP/HTTP)', () => {
  let roster: Roster;
  beforeAll(async () => {
    roster = await startTestRoster({ env: { ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256: sha256(PLATFORM_KEY) } });
  });
  afterAll(async () => {
    await roster.stop();
  });

  const agentWithKey = (name: string) =>
    agentWithTelemetryKey(roster.services.agents, {
      name,
      catalogRoleId: 'kb-answerer',
      sponsors: ['noah.fischer@brightwater.example'],
      businessUnit: 'engineering',
      purpose: 'Answers questions.',
    });

  /** An agent task as an instrumented agent framework traces it: invoke_agent with a model call and tools under it. */
  async function traceTask(
    exporter: SpanExporter,
    resource: Record<string, string>,
    task: { agentId?: string; failed?: boolean; tools: number; usageOn: 'agent' | 'chat' },
  ): Promise<{ traceId: string; spanId: string }> {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'support-agent', ...resource }),
      // The SDK's batching processor (its default for production) sends a task's spans together.
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('genai-test');
    const start = Date.now() - 5_000;
    const usage = { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 500 };
    const agentSpan = tracer.startSpan(
      'invoke_agent Support',
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.agent.name': 'Support',
          ...(task.agentId ? { 'gen_ai.agent.id': task.agentId } : {}),
          ...(task.usageOn === 'agent' ? usage : {}),
        },
      },
      context.active(),
    );
    const inside = trace.setSpan(context.active(), agentSpan);
    const chat = tracer.startSpan(
      'chat claude-haiku-4-5',
      {
        kind: SpanKind.CLIENT,
        startTime: start + 100,
        attributes: { 'gen_ai.operation.name': 'chat', ...(task.usageOn === 'chat' ? usage : {}) },
      },
      inside,
    );
    chat.end(start + 900);
    for (let i = 0; i < task.tools; i += 1) {
      const tool = tracer.startSpan(
        'execute_tool search',
        { startTime: start + 1000 + i, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' } },
        inside,
      );
      tool.end(start + 1100 + i);
    }
    // A span that is not GenAI (the HTTP client under the tool) is ignored.
    tracer.startSpan('GET', { startTime: start + 1000, attributes: { 'http.request.method': 'GET' } }, inside).end(start + 1050);
    if (task.failed) agentSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'tool failed' });
    agentSpan.end(start + 1500);
    await provider.forceFlush();
    await provider.shutdown();
    const { traceId, spanId } = agentSpan.spanContext();
    return { traceId, spanId };
  }

  const events = (agentId: string) => roster.services.supervision.telemetry.events(agentId);
  /**
   * Where the SDK's exporters send, with 30 s for an answer instead of their default 10 s: the full
   * test run on two shared cores once took longer than 10 s to answer a fresh Roster's first export
   * ("Request timed out"). These tests prove the protocol; time belongs to bench/.
   */
  const exporterOptions = () => ({ url: `${roster.baseUrl}/v1/traces`, timeoutMillis: 30_000 });

  it('takes an agent task from the SDK JSON exporter with the agent key: outcome, latency, tokens, tool calls and cost from the price table', async () => {
    const { agent, key } = await agentWithKey('Traced JSON Agent');
    const exporter = new JsonExporter({ ...exporterOptions(), headers: { Authorization: `Bearer ${key}` } });
    const { traceId, spanId } = await traceTask(exporter, {}, { tools: 2, usageOn: 'agent' });
    const [stored, ...more] = await events(agent.id);
    expect(more).toEqual([]);
    expect(stored).toMatchObject({
      _id: `${agent.id}:${traceId}-${spanId}`,
      agentId: agent.id,
      taskType: 'invoke_agent',
      outcome: 'success',
      latencyMs: 1500,
      tokens: 1500,
      toolCalls: 2,
      // kb-answerer: $1 per million input tokens, $5 per million output tokens.
      costUSD: 0.0035,
    });
    const [day] = await roster.services.supervision.telemetry.rollups(
      agent.id,
      'day',
      new Date(Date.now() - 2 * 86_400_000),
      new Date(Date.now() + 86_400_000),
    );
    expect(day).toMatchObject({ count: 1, tokens: 1500, costSum: 0.0035 });
  });

  it('takes tasks of several agents from the SDK protobuf exporter with a platform key, agent ids from the resource, failures from the status', async () => {
    const first = await agentWithKey('Traced Proto Agent A');
    const second = await agentWithKey('Traced Proto Agent B');
    const exporter = () => new ProtoExporter({ ...exporterOptions(), headers: { Authorization: `Bearer ${PLATFORM_KEY}` } });
    await traceTask(exporter(), { 'gen_ai.agent.id': first.agent.id }, { tools: 1, usageOn: 'chat' });
    await traceTask(exporter(), {}, { agentId: second.agent.id, failed: true, tools: 3, usageOn: 'agent' });
    expect(await events(first.agent.id)).toEqual([
      expect.objectContaining({ outcome: 'success', tokens: 1500, toolCalls: 1, costUSD: 0.0035 }),
    ]);
    expect(await events(second.agent.id)).toEqual([expect.objectContaining({ outcome: 'failure', toolCalls: 3 })]);
  });

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(`${roster.baseUrl}/v1/traces`, { method: 'POST', headers, body });

  it('answers partialSuccess for spans it refuses and counts the spans it ignores; retries are stored once', async () => {
    const { agent } = await agentWithKey('Traced Partial Agent');
    const now = BigInt(Date.now()) * 1_000_000n;
    const span = (spanId: string, attributes: Array<{ key: string; value: Record<string, unknown> }>) => ({
      traceId: '5B8EFFF798038103D269B633813FC60C',
      spanId,
      name: 'span',
      startTimeUnixNano: String(now - 2_000_000_000n),
      endTimeUnixNano: String(now - 1_000_000_000n),
      attributes,
    });
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gateway' } }] },
          scopeSpans: [
            {
              spans: [
                span('EEE19B7EC3C1B174', [
                  { key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } },
                  { key: 'gen_ai.agent.id', value: { stringValue: agent.id } },
                ]),
                span('EEE19B7EC3C1B175', [
                  { key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } },
                  { key: 'gen_ai.agent.id', value: { stringValue: 'asst_not_a_roster_agent' } },
                ]),
                span('EEE19B7EC3C1B176', [{ key: 'db.system', value: { stringValue: 'postgresql' } }]),
              ],
            },
          ],
        },
      ],
    });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${PLATFORM_KEY}` };
    const res = await post(body, headers);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const reply = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(reply.partialSuccess.rejectedSpans).toBe('1');
    expect(reply.partialSuccess.errorMessage).toMatch(/asst_not_a_roster_agent|agentId/);
    expect(reply.partialSuccess.errorMessage).toMatch(/1 of 3 spans were not GenAI agent spans and were ignored/);
    expect(await post(body, headers).then((r) => r.status)).toBe(200);
    expect(await events(agent.id)).toHaveLength(1);
  });

  it('refuses an unauthenticated exporter with 401, an oversized request with 413, and other content types with 415', async () => {
    const exporter = new JsonExporter(exporterOptions());
    const provider = new BasicTracerProvider({ spanProcessors: [] });
    const span = provider.getTracer('t').startSpan('invoke_agent', { attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
    span.end();
    const result = await new Promise<{ code: number; error?: Error & { code?: number } }>((resolve) =>
      exporter.export([span as never], (r) => resolve(r as never)),
    );
    expect(result.code).toBe(1);
    expect(result.error?.code).toBe(401);
    await exporter.shutdown();

    const noKey = await post('{}', { 'content-type': 'application/json' });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ code: 16 });

    const { key } = await agentWithKey('Traced Big Agent');
    const big = await post(Buffer.alloc(2 * 1024 * 1024, 0x20), {
      'content-type': 'application/x-protobuf',
      authorization: `Bearer ${key}`,
    });
    expect(big.status).toBe(413);
    // The limit holds after decompression: a small gzip body that inflates past it is refused too, in protobuf.
    const bomb = await post(gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20)), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
      authorization: `Bearer ${key}`,
    });
    expect(bomb.status).toBe(413);
    expect(bomb.headers.get('content-type')).toMatch(/^application\/x-protobuf/);

    const garbage = await post(Buffer.from([0xff, 0xff, 0xff]), {
      'content-type': 'application/x-protobuf',
      authorization: `Bearer ${key}`,
    });
    expect(garbage.status).toBe(400);
    expect((await post('x', { 'content-type': 'text/plain', authorization: `Bearer ${key}` })).status).toBe(415);
    expect(await post('{}', { 'content-type': 'application/json', authorization: `Bearer ${key}` }).then((r) => r.json())).toEqual({});
  });
});
