import { z } from 'zod';
import type { PriceTable } from '../config/schemas.js';

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
const keyValueSchema = z.object({ key: z.string(), value: anyValueSchema.optional() });
const nanosSchema = z.union([z.string().regex(/^\d{1,20}$/), z.number().int().min(0)]).transform((v) => BigInt(v));
const hexIdSchema = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `expected ${bytes} bytes as hex`);

const spanSchema = z.object({
  traceId: hexIdSchema(16),
  spanId: hexIdSchema(8),
  parentSpanId: z.union([hexIdSchema(8), z.literal('')]).optional(),
  name: z.string().optional(),
  startTimeUnixNano: nanosSchema,
  endTimeUnixNano: nanosSchema,
  attributes: z.array(keyValueSchema).optional(),
  status: z.object({ code: z.number().int().optional() }).optional(),
});

/** The parts of an OTLP ExportTraceServiceRequest Roster reads; unknown fields are ignored, as OTLP asks. */
export const otlpTraceRequestSchema = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: z.array(keyValueSchema).optional() }).optional(),
        scopeSpans: z.array(z.object({ spans: z.array(spanSchema).optional() })).optional(),
      }),
    )
    .optional(),
});
export type OtlpTraceRequest = z.output<typeof otlpTraceRequestSchema>;
type Span = z.output<typeof spanSchema>;
/** A span's or resource's attributes as sent (unknown keys kept, never looked up). */
type Attributes = ReadonlyArray<z.output<typeof keyValueSchema>>;

/** Token usage of a task, priced later with the agent's catalog role. */
export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
}

/** A task event built from an `invoke_agent` span (the JSON telemetry API's event shape), and what it cost. */
export interface SpanTask {
  /** The event as the JSON API receives it; `costUSD` is filled in by {@link priceTask}. */
  event: Record<string, unknown> & { eventId: string; agentId?: string };
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

const NO_ATTRIBUTES: Attributes = [];

function attributes(list: Attributes | undefined): Attributes {
  return list ?? NO_ATTRIBUTES;
}

/**
 * The value of an attribute: the last one with that key and a value, as a Map built from the list
 * would hold. Spans carry a handful of attributes, so a scan of the list costs less than a Map per span.
 */
function attr(attrs: Attributes, key: string): z.output<typeof anyValueSchema> | undefined {
  for (let i = attrs.length - 1; i >= 0; i -= 1) {
    const kv = attrs[i]!;
    if (kv.value && kv.key === key) return kv.value;
  }
  return undefined;
}

function text(attrs: Attributes, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const v = attr(attrs, key)?.stringValue;
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

function num(attrs: Attributes, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const v = attr(attrs, key);
    const n = v?.intValue !== undefined ? Number(v.intValue) : v?.doubleValue !== undefined ? Number(v.doubleValue) : undefined;
    if (n !== undefined && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** Usage attributes, current names first, then the pre-1.27 `prompt`/`completion` ones. */
function usageOf(attrs: Attributes): TokenUsage | undefined {
  const input = num(attrs, 'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens');
  const output = num(attrs, 'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens');
  if (input === undefined && output === undefined) return undefined;
  return { input: input ?? 0, output: output ?? 0, cacheRead: num(attrs, 'gen_ai.usage.cache_read.input_tokens') ?? 0 };
}

/**
 * Turns GenAI spans into task events: each `invoke_agent` span is one task (agent id from
 * `gen_ai.agent.id` on the span or the resource, outcome from the span status, latency from its
 * duration, tokens from its usage or else its inference spans', tool calls from its `execute_tool`
 * spans). Inference and tool spans count towards the task they run under; every other span is
 * ignored and counted. `foreignAgentIds` keeps an agent id that is not a Roster id (a platform key
 * names agents; with an agent key the key decides and a vendor's own id is dropped).
 */
export function tasksFromSpans(request: OtlpTraceRequest, options: { foreignAgentIds: boolean }): SpanMapping {
  const key = (traceId: string, spanId: string) => `${traceId.toLowerCase()}:${spanId.toLowerCase()}`;
  // Each span's key (lower-case trace and span ids) is worked out once.
  const all: Array<{ span: Span; attrs: Attributes; resource: Attributes; op?: string; trace: string; key: string }> = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const attrs = attributes(span.attributes);
        const op = text(attrs, 'gen_ai.operation.name');
        const trace = span.traceId.toLowerCase();
        all.push({ span, attrs, resource, ...(op ? { op } : {}), trace, key: `${trace}:${span.spanId.toLowerCase()}` });
      }
    }
  }
  const byId = new Map(all.map((s) => [s.key, s]));
  const tasks = all.filter((s) => s.op === 'invoke_agent');
  const taskKeys = new Set(tasks.map((t) => t.key));
  /** The tasks of each trace, for a span with no invoke_agent above it. */
  const tasksByTrace = new Map<string, Array<(typeof all)[number]>>();
  for (const t of tasks) {
    const same = tasksByTrace.get(t.trace);
    if (same) same.push(t);
    else tasksByTrace.set(t.trace, [t]);
  }
  const children = new Map<string, Array<(typeof all)[number]>>();
  let ignored = 0;
  for (const s of all) {
    if (s.op === 'invoke_agent') continue;
    if (s.op !== 'execute_tool' && !(s.op && INFERENCE.has(s.op))) {
      ignored += 1;
      continue;
    }
    // The nearest invoke_agent above it; failing that, the only one in its trace.
    let owner: string | undefined;
    let parent = s.span.parentSpanId;
    for (let hops = 0; parent && hops < 64 && !owner; hops += 1) {
      const k = key(s.span.traceId, parent);
      if (taskKeys.has(k)) owner = k;
      parent = byId.get(k)?.span.parentSpanId;
    }
    if (!owner) {
      const sameTrace = tasksByTrace.get(s.trace);
      if (sameTrace?.length === 1) owner = sameTrace[0]!.key;
    }
    if (!owner) {
      ignored += 1;
      continue;
    }
    const below = children.get(owner);
    if (below) below.push(s);
    else children.set(owner, [s]);
  }

  return {
    spans: all.length,
    ignored,
    tasks: tasks.map(({ span, attrs, resource, key: taskKey }) => {
      const below = children.get(taskKey) ?? [];
      const usage =
        usageOf(attrs) ??
        below
          .map((c) => (c.op && INFERENCE.has(c.op) ? usageOf(c.attrs) : undefined))
          .reduce<TokenUsage>(
            (sum, u) => (u ? { input: sum.input + u.input, output: sum.output + u.output, cacheRead: sum.cacheRead + u.cacheRead } : sum),
            { input: 0, output: 0, cacheRead: 0 },
          );
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
      const event: SpanTask['event'] = {
        eventId: `${span.traceId.toLowerCase()}-${span.spanId.toLowerCase()}`,
        ...(agentId ? { agentId } : {}),
        time: new Date(Number(span.endTimeUnixNano / 1_000_000n)).toISOString(),
        taskType: (text(attrs, 'roster.task_type') ?? 'invoke_agent').slice(0, 100),
        outcome,
        latencyMs: Number(durationNs) / 1e6,
        tokens: Math.max(0, Math.round(usage.input + usage.output)),
        toolCalls: below.filter((c) => c.op === 'execute_tool').length,
        ...(correctness !== undefined ? { correctness } : {}),
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
