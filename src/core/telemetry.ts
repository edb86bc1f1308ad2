import { z } from 'zod';
import type { AgentId } from './ids.js';

/** Most events one POST may carry. */
export const MAX_BATCH = 1000;

/** One task event an agent (or the platform hosting it) reports (SPEC.md "Telemetry"). */
export const telemetryEventSchema = z.strictObject({
  /** The client's id for the event: retries with the same id are accepted once. */
  eventId: z.string().min(1).max(128),
  /** Required with a platform key; with an agent key it may be omitted or must be the key's agent. */
  agentId: z
    .string()
    .regex(/^agt_[0-9a-f]{16}$/, 'expected an agent id like agt_0123456789abcdef')
    .brand<'AgentId'>()
    .optional(),
  time: z.iso.datetime({ offset: true }).transform((t) => new Date(t)),
  taskType: z.string().min(1).max(100),
  outcome: z.enum(['success', 'failure', 'handed-to-human']),
  correctness: z.number().min(0).max(1).optional(),
  latencyMs: z.number().min(0).max(3_600_000),
  costUSD: z.number().min(0).max(10_000),
  tokens: z.number().int().min(0).max(100_000_000).optional(),
  /** Tool calls the task made (OTLP: its `execute_tool` spans). */
  toolCalls: z.number().int().min(0).max(100_000).optional(),
  /** Segment attribute for fairness (e.g. a region or customer tier); never a personal identifier. */
  segment: z.string().min(1).max(100).optional(),
  /** Whether the outcome was favourable to the person affected; defaults to outcome = success. */
  favourable: z.boolean().optional(),
  /** A short decision summary, kept for explainability for the configured retention. */
  decisionSummary: z.string().max(2000).optional(),
});
export type TelemetryEventInput = z.input<typeof telemetryEventSchema>;
export type TelemetryEvent = z.output<typeof telemetryEventSchema> & { agentId: AgentId };

/** One task event an agent reports about itself (`report_task`): the agent is the caller, so no agentId. */
export const reportTaskSchema = telemetryEventSchema.omit({ agentId: true }).meta({ id: 'TaskReport' });

export const telemetryBatchSchema = z.strictObject({
  events: z.array(z.unknown()).min(1, 'send at least one event').max(MAX_BATCH, `at most ${MAX_BATCH} events per request`),
});

export interface Rejection {
  index: number;
  eventId?: string;
  reason: string;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
}

/** Who is sending: one agent's key, or a platform key that names its agents in the events. */
export type TelemetryPrincipal = { kind: 'agent'; agentId: AgentId } | { kind: 'platform'; name: string };

/** How far ahead of Roster's clock an event time may be (clock skew between hosts). */
export const MAX_FUTURE_MS = 5 * 60_000;

/** The event times Roster accepts: within the raw-event retention, and at most a few minutes ahead. */
export interface TimeWindow {
  notBefore: Date;
  notAfter: Date;
  retentionDays: number;
  futureMs: number;
}

/**
 * The accepted window at `now`: an event dated in 2099 would otherwise keep its agent "active"
 * forever (no dormancy alert) and never be purged; one older than the retention would be purged
 * at once and distort rollups already reviewed.
 */
export function acceptedWindow(now: Date, retentionDays: number, futureMs = MAX_FUTURE_MS): TimeWindow {
  return {
    notBefore: new Date(now.getTime() - retentionDays * 86_400_000),
    notAfter: new Date(now.getTime() + futureMs),
    retentionDays,
    futureMs,
  };
}

type Validated = { valid: Array<{ index: number; event: TelemetryEvent }>; rejected: Rejection[] };

/**
 * Validates each event of a batch on its own, so one bad event never loses the others; returns
 * the valid events (with their agent resolved) and a reason for each rejected one.
 */
export function validateBatch(principal: TelemetryPrincipal, events: unknown[], window?: TimeWindow): Validated {
  return validateEach(principal, events, window, (raw) => {
    const parsed = telemetryEventSchema.safeParse(raw);
    return parsed.success ? { event: parsed.data } : { issue: parsed.error.issues[0]! };
  });
}

/**
 * An event Roster builds itself from input it has parsed already (an OTLP span), in the output
 * shape of {@link telemetryEventSchema}: its id, time, task type, outcome and segment are made
 * valid where it is built; its agent id (as the span names it) and the numbers worked out from
 * the span are checked by {@link builtEventSchema}.
 */
export type BuiltEvent = Omit<TelemetryEvent, 'agentId'> & { agentId?: string };

/**
 * The checks of {@link telemetryEventSchema} a {@link BuiltEvent} can fail, the same rules and
 * messages, and those of the strings it takes from a span's attributes (task type, outcome, segment:
 * made valid where built, parsed here as every value Roster uses is).
 */
const builtEventSchema = telemetryEventSchema
  .pick({
    agentId: true,
    taskType: true,
    outcome: true,
    correctness: true,
    latencyMs: true,
    costUSD: true,
    tokens: true,
    toolCalls: true,
    segment: true,
  })
  .strip();

/**
 * {@link validateBatch} for events Roster built ({@link BuiltEvent}): each is checked by
 * {@link builtEventSchema} instead of being parsed whole again, then admitted by the same rules.
 */
export function validateBuiltBatch(principal: TelemetryPrincipal, events: readonly BuiltEvent[], window?: TimeWindow): Validated {
  return validateEach(principal, events, window, (event) => {
    const checked = builtEventSchema.safeParse(event);
    // Its other fields are made valid where it is built (see BuiltEvent).
    return checked.success ? { event: event as TelemetryEvent } : { issue: checked.error.issues[0]! };
  });
}

/** Each event checked by `check` (its first issue refuses it, named by its eventId when it has one), then {@link admit}ted. */
function validateEach<T>(
  principal: TelemetryPrincipal,
  events: readonly T[],
  window: TimeWindow | undefined,
  check: (event: T) => { event: z.output<typeof telemetryEventSchema> } | { issue: z.core.$ZodIssue },
): Validated {
  const valid: Validated['valid'] = [];
  const rejected: Rejection[] = [];
  events.forEach((raw, index) => {
    const checked = check(raw);
    if ('issue' in checked) {
      const { issue } = checked;
      const eventId =
        typeof (raw as { eventId?: unknown })?.eventId === 'string'
          ? String((raw as { eventId: string }).eventId).slice(0, 128)
          : undefined;
      rejected.push({ index, ...(eventId ? { eventId } : {}), reason: `${issue.path.join('.') || 'event'}: ${issue.message}` });
      return;
    }
    admit(principal, index, checked.event, window, valid, rejected);
  });
  return { valid, rejected };
}

/** The rules after an event's own fields: its time within the window, its agent as the key allows. */
function admit(
  principal: TelemetryPrincipal,
  index: number,
  event: z.output<typeof telemetryEventSchema>,
  window: TimeWindow | undefined,
  valid: Array<{ index: number; event: TelemetryEvent }>,
  rejected: Rejection[],
): void {
  if (window && (event.time < window.notBefore || event.time > window.notAfter)) {
    const reason =
      event.time > window.notAfter
        ? `time: ${event.time.toISOString()} is in the future; events may be at most ${Math.round(window.futureMs / 60_000)} minutes ahead of Roster's clock`
        : `time: ${event.time.toISOString()} is older than the ${window.retentionDays}-day retention of raw events`;
    rejected.push({ index, eventId: event.eventId, reason });
    return;
  }
  if (principal.kind === 'agent') {
    if (event.agentId && event.agentId !== principal.agentId) {
      rejected.push({ index, eventId: event.eventId, reason: `agentId: this key may only send events for ${principal.agentId}` });
      return;
    }
    valid.push({ index, event: { ...event, agentId: principal.agentId } });
  } else if (!event.agentId) {
    rejected.push({ index, eventId: event.eventId, reason: 'agentId: required with a platform key' });
  } else {
    valid.push({ index, event: { ...event, agentId: event.agentId } });
  }
}

/** A key segment safe to use as a stored field name (no dots or dollar signs). */
export function fieldKey(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || '_';
}
