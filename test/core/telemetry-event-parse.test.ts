import { parseTelemetryEvent, telemetryEventSchema, validateBatch } from '../../src/core/telemetry.js';

/*
 * Ingest checks a plainly valid event by hand before zod (a batch of 1,000 spent most of its
 * validation in zod's per-field work): whatever it accepts must be exactly what the schema makes
 * of it, and whatever the schema refuses must be refused with the schema's own reason.
 */

const valid = {
  eventId: 'ev-1',
  agentId: 'agt_0123456789abcdef',
  time: '2026-11-30T10:15:30.123Z',
  taskType: 'answer',
  outcome: 'success',
  correctness: 1,
  latencyMs: 420,
  costUSD: 0.004,
  tokens: 900,
  toolCalls: 2,
  segment: 'emea',
  favourable: true,
  decisionSummary: 'Answered from the KB.',
};
const { agentId: _a, correctness: _c, tokens: _t, toolCalls: _tc, segment: _s, favourable: _f, decisionSummary: _d, ...required } = valid;

/** Each case changes one thing of a valid event (undefined deletes the field). */
const changes: Array<Record<string, unknown>> = [
  {},
  { time: '2026-11-30T10:15:30Z' },
  { time: '2026-11-30T11:15:30+01:00' },
  { time: '2024-02-29T00:00:00Z' },
  { time: '2023-02-29T00:00:00Z' },
  { time: '2026-11-30T24:00:00Z' },
  { time: '2026-11-30T10:15:30' },
  { time: '2026-11-30T10:15Z' },
  { time: '2026-11-30t10:15:30z' },
  { time: '2026-11-30' },
  { time: 1_796_000_000_000 },
  { eventId: '' },
  { eventId: 'x'.repeat(128) },
  { eventId: 'x'.repeat(129) },
  { eventId: 7 },
  { eventId: undefined },
  { agentId: 'agt_0123456789ABCDEF' },
  { agentId: 'agt_123' },
  { agentId: undefined },
  { taskType: '' },
  { taskType: 'y'.repeat(101) },
  { outcome: 'handed-to-human' },
  { outcome: 'failure' },
  { outcome: 'timeout' },
  { correctness: 0 },
  { correctness: 1.5 },
  { correctness: -0.1 },
  { correctness: '1' },
  { correctness: Number.NaN },
  { latencyMs: 3_600_000 },
  { latencyMs: 3_600_001 },
  { latencyMs: -1 },
  { latencyMs: Number.POSITIVE_INFINITY },
  { latencyMs: -0 },
  { costUSD: 10_000.5 },
  { costUSD: null },
  { tokens: 1.5 },
  { tokens: 2 ** 60 },
  { tokens: 100_000_001 },
  { toolCalls: 100_001 },
  { toolCalls: 0 },
  { segment: '' },
  { segment: 's'.repeat(100) },
  { segment: 's'.repeat(101) },
  { favourable: 'yes' },
  { favourable: false },
  { decisionSummary: '' },
  { decisionSummary: 'd'.repeat(2001) },
  { extra: 1 },
];

const withChange = (change: Record<string, unknown>) => {
  const event: Record<string, unknown> = { ...valid, ...change };
  for (const [key, value] of Object.entries(change)) if (value === undefined && !(key in required)) delete event[key];
  return event;
};

describe('parseTelemetryEvent', () => {
  it.each(changes.map((change) => [JSON.stringify(change), change] as const))('answers as the schema does: %s', (_name, change) => {
    const event = withChange(change);
    expect(parseTelemetryEvent(event)).toEqual(telemetryEventSchema.safeParse(event));
  });

  it('answers as the schema does for the required fields alone, an undefined field, other shapes and an own __proto__ key', () => {
    const cases: unknown[] = [
      required,
      { ...required, segment: undefined },
      { ...required, eventId: undefined },
      null,
      [],
      'event',
      JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(required).slice(1)}`),
    ];
    for (const raw of cases) expect(parseTelemetryEvent(raw)).toEqual(telemetryEventSchema.safeParse(raw));
  });

  it('validates a batch as before: the same events accepted, the same reasons for those refused', () => {
    const events = changes.map(withChange);
    const { valid: accepted, rejected } = validateBatch({ kind: 'platform', name: 'platform-1' }, events);
    const bySchema = events.map((e) => telemetryEventSchema.safeParse(e));
    expect(accepted.map((v) => v.index)).toEqual(
      bySchema.flatMap((r, i) => (r.success && (r.data.agentId ?? undefined) !== undefined ? [i] : [])),
    );
    for (const { index, event } of accepted) {
      const parsed = bySchema[index]!;
      expect(parsed.success && { ...parsed.data, agentId: parsed.data.agentId }).toEqual(event);
    }
    for (const r of rejected) {
      const parsed = bySchema[r.index]!;
      if (!parsed.success)
        expect(r.reason).toBe(`${parsed.error.issues[0]!.path.join('.') || 'event'}: ${parsed.error.issues[0]!.message}`);
      else expect(r.reason).toBe('agentId: required with a platform key');
    }
    expect(accepted.length + rejected.length).toBe(events.length);
  });
});
