import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import type { EvalCase, EvalSuite } from '../config/eval-suites.js';
import { readsLikeRefusal, type AgentAnswer, type Judge } from './graders.js';
import { EndpointError, guardedRequest, type HostPolicy } from './guarded-http.js';

/*
 * How Roster reaches an agent under evaluation, the way it runs:
 * - `http`: Roster's own JSON contract (README "Evaluation endpoints"): POST
 *   `{ caseId, input, context? }`, answer `{ output, refused?, usage?: { inputTokens, outputTokens }, costUSD? }`;
 * - `openai`: an OpenAI-compatible chat-completions URL (`target` = model);
 * - `mcp`: a tool (`target`) of an MCP server over Streamable HTTP, called with `{ input, context }`.
 */

/** The kinds of endpoint a candidate may register. */
export const ENDPOINT_KINDS = ['http', 'openai', 'mcp'] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

/** A registered endpoint with its secret opened (kept in memory only for the run). */
export interface EndpointConfig {
  kind: EndpointKind;
  url: string;
  /** OpenAI: the model; MCP: the tool name. */
  target?: string;
  secret?: string;
}

/** One answer with what it cost. */
export interface CallResult {
  answer: AgentAnswer;
  usage?: { inputTokens: number; outputTokens: number };
  /** Cost the endpoint reported itself. */
  costUSD?: number;
}

/** Calls one endpoint for each case of a run. */
export interface AgentCaller {
  call(c: EvalCase, signal: AbortSignal): Promise<CallResult>;
  close(): Promise<void>;
}

export interface CallerOptions {
  policy: HostPolicy;
  suite: EvalSuite;
  maxBytes: number;
  /** Aborts the connection set-up (MCP) with the run. */
  signal: AbortSignal;
  /** Sent as `x-roster-evaluation` so the agent can tell evaluation traffic apart. */
  runId: string;
}

const jsonValue: z.ZodType<unknown> = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.record(z.string(), z.unknown()),
  z.array(z.unknown()),
]);

const httpAnswerSchema = z.object({
  output: jsonValue,
  refused: z.boolean().optional(),
  usage: z.object({ inputTokens: z.number().int().min(0), outputTokens: z.number().int().min(0) }).optional(),
  costUSD: z.number().min(0).max(1000).optional(),
});

const openAiAnswerSchema = z.object({
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable().optional(), refusal: z.string().nullable().optional() }) }))
    .min(1),
  usage: z.object({ prompt_tokens: z.number().int().min(0), completion_tokens: z.number().int().min(0) }).optional(),
});

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new EndpointError('the answer is not JSON');
  }
}

function expectOk(status: number): void {
  if (status === 401 || status === 403) throw new EndpointError(`the endpoint refused Roster's credentials (HTTP ${status})`);
  if (status < 200 || status >= 300) throw new EndpointError(`the endpoint answered HTTP ${status}`);
}

const headersFor = (endpoint: EndpointConfig, runId: string): Record<string, string> => ({
  'content-type': 'application/json',
  accept: 'application/json',
  'x-roster-evaluation': runId,
  ...(endpoint.secret ? { authorization: `Bearer ${endpoint.secret}` } : {}),
});

const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** Builds the caller for an endpoint; an MCP endpoint is connected (and its tool checked) here. */
export async function createCaller(endpoint: EndpointConfig, options: CallerOptions): Promise<AgentCaller> {
  const { policy, suite, maxBytes, runId } = options;
  const url = policy.check(endpoint.url);
  // One pool of kept-alive connections per run, at most one per concurrent case.
  const agent = new (url.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: suite.concurrency });
  const close = async () => agent.destroy();
  switch (endpoint.kind) {
    case 'http':
      return {
        async call(c, signal) {
          const res = await guardedRequest(policy, {
            url: endpoint.url,
            headers: headersFor(endpoint, runId),
            body: JSON.stringify({ caseId: c.id, input: c.input, ...(c.context !== undefined ? { context: c.context } : {}) }),
            signal,
            maxBytes,
            agent,
          });
          expectOk(res.status);
          const parsed = httpAnswerSchema.safeParse(parseJson(res.body));
          if (!parsed.success) throw new EndpointError('the answer does not follow the contract ({ "output": … })');
          const a = parsed.data;
          const text = asText(a.output);
          return {
            answer: { text, value: a.output, refused: a.refused ?? readsLikeRefusal(suite, text) },
            ...(a.usage ? { usage: a.usage } : {}),
            ...(a.costUSD !== undefined ? { costUSD: a.costUSD } : {}),
          };
        },
        close,
      };
    case 'openai':
      return {
        async call(c, signal) {
          const messages = [
            ...(c.context !== undefined ? [{ role: 'system', content: asText(c.context) }] : []),
            { role: 'user', content: c.input },
          ];
          const res = await guardedRequest(policy, {
            url: endpoint.url,
            headers: headersFor(endpoint, runId),
            body: JSON.stringify({ model: endpoint.target ?? 'default', messages }),
            signal,
            maxBytes,
            agent,
          });
          expectOk(res.status);
          const parsed = openAiAnswerSchema.safeParse(parseJson(res.body));
          if (!parsed.success) throw new EndpointError('the answer is not a chat completion ({ "choices": [ { "message": … } ] })');
          const message = parsed.data.choices[0]!.message;
          const text = message.content ?? message.refusal ?? '';
          const usage = parsed.data.usage;
          return {
            answer: { text, refused: Boolean(message.refusal) || readsLikeRefusal(suite, text) },
            ...(usage ? { usage: { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens } } : {}),
          };
        },
        close,
      };
    case 'mcp':
      agent.destroy();
      return mcpCaller(endpoint, options);
  }
}

/** A fetch for the MCP SDK that goes through the guarded client (same host policy, cap, no redirects). */
function guardedFetch(policy: HostPolicy, maxBytes: number, fallback: AbortSignal) {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const method = (init?.method ?? 'GET').toUpperCase();
    // No standing SSE stream: every answer arrives on the POST that asked for it.
    if (method === 'GET') return new Response(null, { status: 405 });
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    const res = await guardedRequest(policy, {
      url: String(input),
      method: method === 'DELETE' ? 'DELETE' : 'POST',
      headers,
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
      signal: init?.signal ?? fallback,
      maxBytes,
    });
    const empty = res.status === 202 || res.status === 204 || res.body.length === 0;
    return new Response(empty ? null : new Uint8Array(res.body), { status: res.status, headers: res.headers });
  };
}

async function mcpCaller(endpoint: EndpointConfig, options: CallerOptions): Promise<AgentCaller> {
  const { policy, suite, maxBytes, signal } = options;
  const tool = endpoint.target;
  if (!tool) throw new EndpointError('name the MCP tool to call');
  const transport = new StreamableHTTPClientTransport(new URL(endpoint.url), {
    fetch: guardedFetch(policy, maxBytes, signal),
    requestInit: {
      headers: { 'x-roster-evaluation': options.runId, ...(endpoint.secret ? { authorization: `Bearer ${endpoint.secret}` } : {}) },
    },
  });
  const client = new Client({ name: 'roster-evaluation', version: '1.0.0' });
  try {
    await client.connect(transport, { signal, timeout: suite.caseTimeoutMs });
    const { tools } = await client.listTools(undefined, { signal, timeout: suite.caseTimeoutMs });
    if (!tools.some((t) => t.name === tool)) throw new EndpointError(`the MCP server has no tool "${tool.slice(0, 100)}"`);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err instanceof EndpointError
      ? err
      : new EndpointError(`the MCP server could not be reached (${(err as Error).message.slice(0, 160)})`);
  }
  return {
    async call(c, caseSignal) {
      let result;
      try {
        result = await client.callTool(
          { name: tool, arguments: { input: c.input, ...(c.context !== undefined ? { context: c.context } : {}) } },
          undefined,
          { signal: caseSignal, timeout: suite.caseTimeoutMs },
        );
      } catch (err) {
        if (err instanceof EndpointError) throw err;
        if (caseSignal.aborted)
          throw new EndpointError((caseSignal.reason as Error | undefined)?.name === 'TimeoutError' ? 'timed out' : 'stopped');
        throw new EndpointError(`the tool call failed (${(err as Error).message.slice(0, 160)})`);
      }
      const content = Array.isArray(result.content) ? (result.content as Array<{ type: string; text?: string }>) : [];
      const text = content
        .filter((p) => p.type === 'text')
        .map((p) => p.text ?? '')
        .join('\n');
      if (result.isError) throw new EndpointError(`the tool reported an error: ${text.slice(0, 160)}`);
      const structured = (result.structuredContent ?? undefined) as { refused?: unknown; output?: unknown } | undefined;
      const value = structured?.output;
      return {
        answer: {
          text: value !== undefined ? asText(value) : text,
          ...(value !== undefined ? { value } : {}),
          refused: structured?.refused === true || readsLikeRefusal(suite, text),
        },
      };
    },
    close: () => client.close().catch(() => undefined),
  };
}

const judgeAnswerSchema = z.object({ score: z.number().min(0).max(1), reason: z.string().max(2000).optional() });

/** The suite's judge endpoint: POST `{ input, context?, answer, rubric, expected? }` → `{ score: 0..1, reason? }`. */
export function httpJudge(url: string, policy: HostPolicy, timeoutMs: number, runSignal: AbortSignal): Judge {
  return async ({ case: c, answer, rubric, expected }) => {
    const res = await guardedRequest(policy, {
      url,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        caseId: c.id,
        input: c.input,
        ...(c.context !== undefined ? { context: c.context } : {}),
        answer,
        rubric,
        ...(expected ? { expected } : {}),
      }),
      signal: AbortSignal.any([runSignal, AbortSignal.timeout(timeoutMs)]),
      maxBytes: 65_536,
    });
    expectOk(res.status);
    const parsed = judgeAnswerSchema.safeParse(parseJson(res.body));
    if (!parsed.success) throw new EndpointError('the judge answer is not { "score": 0..1 }');
    return parsed.data;
  };
}
