import type { PriceTable } from '../../src/config/schemas.js';
import { otlpTraceRequestSchema, priceTask, tasksFromSpans } from '../../src/core/otlp-genai.js';
import { acceptedWindow, validateBatch, validateBuiltBatch, type TelemetryPrincipal } from '../../src/core/telemetry.js';

const PRICES = { inputPerMillionTokensUSD: 1, outputPerMillionTokensUSD: 5 } as PriceTable;

/*
 * Which invoke_agent task a tool or model span counts towards: the nearest one above it (through
 * spans that are not GenAI), else the only one in its trace; otherwise it is ignored.
 */
describe('tasksFromSpans', () => {
  const TRACE_AB = '5B8EFFF798038103D269B633813FC60C';
  const TRACE_C = '0af7651916cd43dd8448eb211c80319c';
  const span = (traceId: string, spanId: string, op: string | undefined, parentSpanId?: string, tokens?: number) => ({
    traceId,
    spanId,
    ...(parentSpanId ? { parentSpanId } : {}),
    startTimeUnixNano: '1796100756000000000',
    endTimeUnixNano: '1796100757000000000',
    attributes: [
      ...(op ? [{ key: 'gen_ai.operation.name', value: { stringValue: op } }] : []),
      ...(tokens ? [{ key: 'gen_ai.usage.input_tokens', value: { intValue: String(tokens) } }] : []),
    ],
  });

  it('counts each tool and model span towards the task above it, or the only task of its trace, and ignores the rest', () => {
    const request = otlpTraceRequestSchema.parse({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                span(TRACE_AB, 'A000000000000001', 'invoke_agent'),
                span(TRACE_AB, 'B000000000000001', 'invoke_agent'),
                // Under A through an HTTP span, and under B directly (upper-case parent ids match).
                span(TRACE_AB, 'A000000000000002', undefined, 'A000000000000001'),
                span(TRACE_AB, 'A000000000000003', 'chat', 'A000000000000002', 100),
                span(TRACE_AB, 'A000000000000004', 'execute_tool', 'a000000000000002'),
                span(TRACE_AB, 'A000000000000005', 'execute_tool', 'A000000000000001'),
                span(TRACE_AB, 'B000000000000002', 'execute_tool', 'B000000000000001'),
                // No task above it and two in its trace: ignored.
                span(TRACE_AB, 'F000000000000001', 'execute_tool', 'FFFFFFFFFFFFFFFF'),
                // No parent known, but the only task of its trace.
                span(TRACE_C, 'C000000000000001', 'invoke_agent'),
                span(TRACE_C, 'C000000000000002', 'execute_tool', 'EEEEEEEEEEEEEEEE'),
                span(TRACE_C, 'C000000000000003', 'chat', undefined, 7),
              ],
            },
          ],
        },
      ],
    });
    const mapping = tasksFromSpans(request, { foreignAgentIds: false });
    expect(mapping.spans).toBe(11);
    // The HTTP span and the orphan tool of the two-task trace.
    expect(mapping.ignored).toBe(2);
    expect(mapping.tasks.map((t) => [t.event.eventId, t.event.toolCalls, t.event.tokens])).toEqual([
      [`${TRACE_AB.toLowerCase()}-a000000000000001`, 2, 100],
      [`${TRACE_AB.toLowerCase()}-b000000000000001`, 1, 0],
      [`${TRACE_C}-c000000000000001`, 1, 7],
    ]);
  });

  it('reads a repeated attribute as its last value sent, an attribute without a value hiding nothing', () => {
    const kv = (key: string, value?: Record<string, unknown>) => ({ key, ...(value ? { value } : {}) });
    const request = otlpTraceRequestSchema.parse({
      resourceSpans: [
        {
          resource: {
            attributes: [
              kv('gen_ai.agent.id', { stringValue: 'agt_00000000000000aa' }),
              kv('gen_ai.agent.id', { stringValue: 'agt_00000000000000bb' }),
            ],
          },
          scopeSpans: [
            {
              spans: [
                {
                  ...span(TRACE_C, 'C000000000000001', undefined),
                  attributes: [
                    kv('roster.segment', { stringValue: 'first' }),
                    kv('gen_ai.operation.name', { stringValue: 'invoke_agent' }),
                    kv('roster.segment', { stringValue: 'last' }),
                    kv('gen_ai.usage.input_tokens', { intValue: '5' }),
                    kv('gen_ai.usage.input_tokens'),
                    kv('roster.outcome', { stringValue: 'failure' }),
                    kv('roster.outcome', { stringValue: '' }),
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    const [task] = tasksFromSpans(request, { foreignAgentIds: false }).tasks;
    expect(task?.event).toMatchObject({ agentId: 'agt_00000000000000bb', segment: 'last', tokens: 5, outcome: 'success' });
  });
});

/*
 * The request schema validates what Roster reads: a malformed value of an attribute it maps is
 * refused where it is (the message the route answers with), while attributes it never reads are
 * passed over, whatever they hold, as OTLP receivers must tolerate attributes they do not know.
 */
describe('otlpTraceRequestSchema', () => {
  const request = (attributes: unknown, resource: unknown[] = []) => ({
    resourceSpans: [
      {
        resource: { attributes: resource },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '0af7651916cd43dd8448eb211c80319c',
                spanId: 'C000000000000001',
                startTimeUnixNano: '1796100756000000000',
                endTimeUnixNano: '1796100757000000000',
                attributes,
              },
            ],
          },
        ],
      },
    ],
  });
  const refusal = (body: unknown) => {
    const parsed = otlpTraceRequestSchema.safeParse(body);
    return parsed.success ? undefined : `${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`;
  };
  const SPAN = 'resourceSpans.0.scopeSpans.0.spans.0';

  it('refuses a malformed value of an attribute Roster reads, at its index in the list sent', () => {
    expect(
      refusal(
        request([
          { key: 'service.name', value: { stringValue: 'support' } },
          { key: 'gen_ai.usage.input_tokens', value: { intValue: true } },
        ]),
      ),
    ).toBe(`${SPAN}.attributes.1.value.intValue: Invalid input`);
    expect(refusal(request([{ key: 'gen_ai.operation.name', value: null }]))).toBe(
      `${SPAN}.attributes.0.value: Invalid input: expected object, received null`,
    );
    expect(refusal(request([{ key: 'roster.segment', value: 'emea' }]))).toBe(
      `${SPAN}.attributes.0.value: Invalid input: expected object, received string`,
    );
    expect(refusal(request([{ key: 'roster.cost_usd', value: { doubleValue: false } }]))).toBe(
      `${SPAN}.attributes.0.value.doubleValue: Invalid input`,
    );
    expect(refusal(request([], [{ key: 'gen_ai.agent.id', value: { stringValue: 7 } }]))).toBe(
      'resourceSpans.0.resource.attributes.0.value.stringValue: Invalid input: expected string, received number',
    );
    expect(refusal(request({}))).toBe(`${SPAN}.attributes: Invalid input: expected array, received object`);
  });

  it('passes over attributes it does not read, whatever they hold', () => {
    const parsed = otlpTraceRequestSchema.parse(
      request([
        { key: 'http.response.status_code', value: { intValue: true } },
        5,
        null,
        { key: 7 },
        { key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } },
      ]),
    );
    expect(tasksFromSpans(parsed, { foreignAgentIds: false }).tasks).toHaveLength(1);
  });
});

/*
 * Events built from spans are not parsed whole again at ingest: each is checked for what it can get
 * wrong (validateBuiltBatch). Whatever the spans hold, they are accepted and refused exactly as the
 * JSON API would accept and refuse the same events.
 */
describe('events built from spans', () => {
  const now = BigInt(Date.now()) * 1_000_000n;
  const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
  const span = (n: number, attributes: Array<ReturnType<typeof kv>>, times?: { start: bigint; end: bigint }) => ({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: `c0000000000000${String(n).padStart(2, '0')}`,
    startTimeUnixNano: String(times?.start ?? now - 2_000_000_000n),
    endTimeUnixNano: String(times?.end ?? now - 1_000_000_000n),
    attributes: [kv('gen_ai.operation.name', { stringValue: 'invoke_agent' }), ...attributes],
  });
  const spans = [
    span(1, [kv('roster.correctness', { doubleValue: 0.5 }), kv('roster.cost_usd', { doubleValue: 0.25 })]),
    span(2, [kv('roster.correctness', { doubleValue: 1.5 })]),
    span(3, [kv('roster.cost_usd', { doubleValue: -1 })]),
    span(4, [kv('roster.cost_usd', { doubleValue: 20_000 })]),
    span(5, [kv('gen_ai.usage.input_tokens', { intValue: '200000000' })]),
    span(6, [kv('gen_ai.usage.input_tokens', { doubleValue: 1e308 }), kv('gen_ai.usage.output_tokens', { doubleValue: 1e308 })]),
    span(7, [], { start: now - 4_000_000_000_000n, end: now }),
    span(8, [], { start: 0n, end: 18446744073709551615n }),
    span(9, [], { start: 0n, end: 1n }),
    span(10, [kv('roster.task_type', { stringValue: 't'.repeat(300) }), kv('roster.segment', { stringValue: 's'.repeat(300) })]),
    span(11, [kv('gen_ai.agent.id', { stringValue: 'asst_not_a_roster_agent' })]),
    span(12, [kv('gen_ai.agent.id', { stringValue: 'agt_00000000000000bb' })]),
    span(13, [kv('roster.outcome', { stringValue: 'handed-to-human' }), kv('roster.correctness', { intValue: '-1' })]),
  ];
  const window = acceptedWindow(new Date(), 30);

  it.each([
    ['an agent key', { kind: 'agent', agentId: 'agt_00000000000000aa' }, false],
    ['a platform key', { kind: 'platform', name: 'platform-1' }, true],
  ] as const)('with %s', (_name, principal, foreignAgentIds) => {
    const { tasks } = tasksFromSpans(otlpTraceRequestSchema.parse({ resourceSpans: [{ scopeSpans: [{ spans }] }] }), { foreignAgentIds });
    const events = tasks.map((task) => ({ ...task.event, costUSD: priceTask(task, PRICES) }));
    // As the route built them before: the JSON API's input, the time as an ISO string.
    const asInput = events.map((e) => ({ ...e, time: e.time.toISOString() }));
    const built = validateBuiltBatch(principal as TelemetryPrincipal, events, window);
    expect(built).toEqual(validateBatch(principal as TelemetryPrincipal, asInput, window));
    // Both kinds happen: some accepted, most refused for a reason of their own.
    expect(built.valid.length).toBeGreaterThan(0);
    expect(new Set(built.rejected.map((r) => r.reason.split(':')[0])).size).toBeGreaterThan(3);
  });
});
