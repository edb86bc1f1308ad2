import { z } from 'zod';
import type { PriceTable } from '../config/schemas.js';
import type { BuiltEvent } from './telemetry.js';

/*
 * OpenTelemetry traces in: an OTLP ExportTraceServiceRequest (decoded from JSON or protobuf into
 * the JSON mapping, ids as hex) becomes telemetry task events. GenAI semantic conventions are in
 * Development, so the mapping keys on the attributes present, accepts the older names beside the
 * current ones, and never stores message content.
 */

const anyValueSchema = z.object({
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  intValue: z.union([z.string(), z.number()]).optional(),
  doubleValue: z.union([z.number(), z.string()]).optional(),
});
/** An attribute value, the members Roster reads (a decoded protobuf value has at most one set). */
export type AnyValue = z.output<typeof anyValueSchema>;
/** An attribute's value, when it has one (checked only on the attributes Roster reads). */
export const attributeValueSchema = anyValueSchema.optional();
/** Nanoseconds since the epoch: a decimal string or a number in JSON; a bigint from a protobuf fixed64. */
const nanosSchema = z
  .union([z.bigint().nonnegative(), z.string().regex(/^\d{1,20}$/), z.number().int().min(0)])
  .transform((v) => (typeof v === 'bigint' ? v : BigInt(v)));
const hexIdSchema = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `expected ${bytes} bytes as hex`);

/** The attributes Roster reads, on a span or on its resource. */
export const READ_ATTRIBUTES: ReadonlySet<string> = new Set([
  'gen_ai.operation.name',
  'gen_ai.agent.id',
  'roster.agent.id',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'roster.task_type',
  'roster.outcome',
  'roster.correctness',
  'roster.segment',
  'roster.cost_usd',
]);

/** The attributes of a span or resource that Roster reads, by key: the last one sent with a value. */
export type Attributes = Readonly<Partial<Record<string, AnyValue>>>;

/**
 * A list of attributes: those Roster reads are validated (a malformed value is refused, at its
 * index) and kept by key, the last with a value winning as a Map built from the list would hold;
 * every other attribute is passed over unread and unvalidated, as OTLP receivers must tolerate
 * attributes they do not know.
 */
const attributesSchema = z.array(z.unknown()).transform((list, ctx): Attributes => {
  const read: Partial<Record<string, AnyValue>> = {};
  for (let i = 0; i < list.length; i += 1) {
    const kv = list[i] as { key?: unknown; value?: unknown } | null | undefined;
    const key = kv?.key;
    if (typeof key !== 'string' || !READ_ATTRIBUTES.has(key)) continue;
    const value = attributeValueSchema.safeParse(kv!.value);
    if (!value.success) {
      // The issues of the value, where it is in the list (already worded: zod keeps their message).
      for (const issue of value.error.issues) ctx.issues.push({ ...issue, path: [i, 'value', ...issue.path] } as z.core.$ZodRawIssue);
    } else if (value.data) read[key] = value.data;
  }
  return read;
});

const spanSchema = z.object({
  traceId: hexIdSchema(16),
  spanId: hexIdSchema(8),
  parentSpanId: z.union([hexIdSchema(8), z.literal('')]).optional(),
  startTimeUnixNano: nanosSchema,
  endTimeUnixNano: nanosSchema,
  attributes: attributesSchema.optional(),
  status: z.object({ code: z.number().int().optional() }).optional(),
});

/**
 * The parts of an OTLP ExportTraceServiceRequest Roster reads; unknown fields, and attributes
 * other than {@link READ_ATTRIBUTES}, are ignored, as OTLP asks.
 */
export const otlpTraceRequestSchema = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: attributesSchema.optional() }).optional(),
        scopeSpans: z.array(z.object({ spans: z.array(spanSchema).optional() })).optional(),
      }),
    )
    .optional(),
});
export type OtlpTraceRequest = z.output<typeof otlpTraceRequestSchema>;
export type Span = z.output<typeof spanSchema>;

/**
 * The fields of a span a decoder cannot vouch for (ids of any length, times missing), with the span
 * schema's own rules and messages. The protobuf path parses these with zod; the decoder types its
 * attribute values and status codes, and what the mapping makes of them is parsed once, in the
 * event built (builtEventSchema), instead of value by value here as well.
 */
export const spanIdsAndTimesSchema = spanSchema.pick({
  traceId: true,
  spanId: true,
  parentSpanId: true,
  startTimeUnixNano: true,
  endTimeUnixNano: true,
});

/** Token usage of a task, priced later with the agent's catalog role. */
export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
}

/** A task event built from an `invoke_agent` span (the JSON telemetry API's event shape), and what it cost. */
export interface SpanTask {
  /** The event, in the JSON API's parsed shape; `costUSD` is filled in with {@link priceTask}. */
  event: BuiltEvent;
  usage: TokenUsage;
  /** `roster.cost_usd` when the span states its cost itself. */
  statedCostUSD?: number;
}

/** What a request held: its tasks, and how many spans were neither a task nor part of one. */
export interface SpanMapping {
  tasks: SpanTask[];
  spans: number;
  ignored: number;
}

const OTLP_STATUS_ERROR = 2;
const INFERENCE = new Set(['chat', 'generate_content', 'text_completion', 'embeddings']);
const ROSTER_AGENT_ID = /^agt_[0-9a-f]{16}$/;

const NO_ATTRIBUTES: Attributes = {};

/** A string attribute, when sent and not empty. */
function text(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key]?.stringValue;
  return v === '' ? undefined : v;
}

/** A numeric attribute (an int or a double), when sent and finite. */
function num(attrs: Attributes, key: string): number | undefined {
  const v = attrs[key];
  const n = v?.intValue !== undefined ? Number(v.intValue) : v?.doubleValue !== undefined ? Number(v.doubleValue) : undefined;
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

/** Usage attributes, current names first, then the pre-1.27 `prompt`/`completion` ones. */
function usageOf(attrs: Attributes): TokenUsage | undefined {
  const input = num(attrs, 'gen_ai.usage.input_tokens') ?? num(attrs, 'gen_ai.usage.prompt_tokens');
  const output = num(attrs, 'gen_ai.usage.output_tokens') ?? num(attrs, 'gen_ai.usage.completion_tokens');
  if (input === undefined && output === undefined) return undefined;
  return { input: input ?? 0, output: output ?? 0, cacheRead: num(attrs, 'gen_ai.usage.cache_read.input_tokens') ?? 0 };
}

/** A span as the mapping reads it: its attributes and its resource's, its operation, its trace and span ids in lower case. */
interface SpanEntry {
  span: Span;
  attrs: Attributes;
  resource: Attributes;
  op: string | undefined;
  trace: string;
  id: string;
}

/** `trace:span`, lower case: a span's key in the indexes of which task a span counts towards. */
const keyOf = (s: SpanEntry) => `${s.trace}:${s.id}`;

/**
 * Turns GenAI spans into task events: each `invoke_agent` span is one task (agent id from
 * `gen_ai.agent.id` on the span or the resource, outcome from the span status, latency from its
 * duration, tokens from its usage or else its inference spans', tool calls from its `execute_tool`
 * spans). Inference and tool spans count towards the task they run under; every other span is
 * ignored and counted. `foreignAgentIds` keeps an agent id that is not a Roster id (a platform key
 * names agents; with an agent key the key decides and a vendor's own id is dropped).
 */
export function tasksFromSpans(request: OtlpTraceRequest, options: { foreignAgentIds: boolean }): SpanMapping {
  const all: SpanEntry[] = [];
  const tasks: SpanEntry[] = [];
  /** Tool and inference spans, which count towards a task. */
  const members: SpanEntry[] = [];
  let ignored = 0;
  for (const rs of request.resourceSpans ?? []) {
    const resource = rs.resource?.attributes ?? NO_ATTRIBUTES;
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const attrs = span.attributes ?? NO_ATTRIBUTES;
        const op = text(attrs, 'gen_ai.operation.name');
        const entry: SpanEntry = { span, attrs, resource, op, trace: span.traceId.toLowerCase(), id: span.spanId.toLowerCase() };
        all.push(entry);
        if (op === 'invoke_agent') tasks.push(entry);
        else if (op === 'execute_tool' || (op !== undefined && INFERENCE.has(op))) members.push(entry);
        else ignored += 1;
      }
    }
  }

  // Which task each tool and inference span counts towards; the indexes are built only when there are some.
  const children = new Map<string, SpanEntry[]>();
  if (members.length > 0) {
    const byId = new Map(all.map((s) => [keyOf(s), s]));
    const taskKeys = new Set(tasks.map(keyOf));
    /** The tasks of each trace, for a span with no invoke_agent above it. */
    const tasksByTrace = new Map<string, SpanEntry[]>();
    for (const t of tasks) {
      const same = tasksByTrace.get(t.trace);
      if (same) same.push(t);
      else tasksByTrace.set(t.trace, [t]);
    }
    for (const s of members) {
      // The nearest invoke_agent above it; failing that, the only one in its trace.
      let owner: string | undefined;
      let parent = s.span.parentSpanId;
      for (let hops = 0; parent && hops < 64 && !owner; hops += 1) {
        const k = `${s.trace}:${parent.toLowerCase()}`;
        if (taskKeys.has(k)) owner = k;
        parent = byId.get(k)?.span.parentSpanId;
      }
      if (!owner) {
        const sameTrace = tasksByTrace.get(s.trace);
        if (sameTrace?.length === 1) owner = keyOf(sameTrace[0]!);
      }
      if (!owner) {
        ignored += 1;
        continue;
      }
      const below = children.get(owner);
      if (below) below.push(s);
      else children.set(owner, [s]);
    }
  }

  return {
    spans: all.length,
    ignored,
    tasks: tasks.map((entry) => {
      const { span, attrs, resource, trace, id } = entry;
      const below = children.size > 0 ? children.get(keyOf(entry)) : undefined;
      let usage = usageOf(attrs);
      if (!usage) {
        usage = { input: 0, output: 0, cacheRead: 0 };
        for (const c of below ?? []) {
          const u = c.op !== 'execute_tool' ? usageOf(c.attrs) : undefined;
          if (u) usage = { input: usage.input + u.input, output: usage.output + u.output, cacheRead: usage.cacheRead + u.cacheRead };
        }
      }
      const ids = [
        text(attrs, 'gen_ai.agent.id'),
        text(resource, 'gen_ai.agent.id'),
        text(attrs, 'roster.agent.id'),
        text(resource, 'roster.agent.id'),
      ];
      const agentId =
        ids.find((id) => id !== undefined && ROSTER_AGENT_ID.test(id)) ?? (options.foreignAgentIds ? ids.find(Boolean) : undefined);
      const stated = text(attrs, 'roster.outcome');
      const outcome =
        stated === 'success' || stated === 'failure' || stated === 'handed-to-human'
          ? stated
          : span.status?.code === OTLP_STATUS_ERROR
            ? 'failure'
            : 'success';
      const durationNs = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0n;
      const correctness = num(attrs, 'roster.correctness');
      const segment = text(attrs, 'roster.segment');
      const statedCostUSD = num(attrs, 'roster.cost_usd');
      let toolCalls = 0;
      for (const c of below ?? []) if (c.op === 'execute_tool') toolCalls += 1;
      // Valid where built (see BuiltEvent): a 49-character id, a Date from at most 2^64 ns, a task type
      // and segment of 1 to 100 characters, a known outcome; the numbers are checked at ingest.
      const event: BuiltEvent = {
        eventId: `${trace}-${id}`,
        ...(agentId ? { agentId } : {}),
        time: new Date(Number(span.endTimeUnixNano / 1_000_000n)),
        taskType: (text(attrs, 'roster.task_type') ?? 'invoke_agent').slice(0, 100),
        outcome,
        ...(correctness !== undefined ? { correctness } : {}),
        latencyMs: Number(durationNs) / 1e6,
        // Filled in by priceTask, once the role's price table is known.
        costUSD: 0,
        tokens: Math.max(0, Math.round(usage.input + usage.output)),
        toolCalls,
        ...(segment ? { segment: segment.slice(0, 100) } : {}),
      };
      return { event, usage, ...(statedCostUSD !== undefined ? { statedCostUSD } : {}) };
    }),
  };
}

/** A task's cost: what the span states, else its token usage at the role's prices, else 0. */
export function priceTask(task: SpanTask, prices: PriceTable | undefined): number {
  if (task.statedCostUSD !== undefined) return task.statedCostUSD;
  if (!prices) return 0;
  const { input, output, cacheRead } = task.usage;
  const cached = Math.min(Math.max(0, cacheRead), Math.max(0, input));
  const usd =
    ((input - cached) * prices.inputPerMillionTokensUSD +
      cached * (prices.cacheReadPerMillionTokensUSD ?? prices.inputPerMillionTokensUSD) +
      output * prices.outputPerMillionTokensUSD) /
    1_000_000;
  return Math.round(usd * 1e8) / 1e8;
}
