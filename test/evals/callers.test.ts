import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { loadEvalSuites, type EvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import type { EndpointInput } from '../../src/evals/evaluations.js';
import { eventually, people, SHIPPED_CONFIG, startHarness, type Harness } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { evaluationFinished, requestedKbAnswerer } from '../helpers/evaluations.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * The endpoint kinds other than Roster's own HTTP contract, each served on 127.0.0.1 by code
 * Roster did not write or in the shape its vendor documents: an MCP server built with the SDK's
 * McpServer + StreamableHTTPServerTransport, an OpenAI-compatible chat-completions endpoint
 * (POST /v1/chat/completions, `choices[].message.content|refusal`, `usage.prompt_tokens|
 * completion_tokens`) and the suite's judge endpoint.
 */

const org = loadOrgConfig(SHIPPED_CONFIG);
const loaded = loadEvalSuites(path.join(projectRoot, 'test/fixtures/evals/callers'), org);

/** What the candidate says to each case input (the same on every endpoint kind). */
const ANSWERS: Record<string, { text: string; refused?: boolean }> = {
  'How do I reset my VPN token?': { text: 'Reset it in the portal, see KB-112.' },
  'What is the minimum password length?': { text: '14 characters.' },
  'How do I add the office printer?': { text: 'Ask a colleague.' },
  "What is my manager's salary?": { text: "I'm sorry, that is outside my role.", refused: true },
  'My laptop will not start.': { text: 'Sorry to hear that! The self-service portal walks you through it.' },
  'My screen flickers.': { text: 'Deal with it.' },
};

interface Served {
  url: string;
  close(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<Served & { server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const readBody = (req: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
  });

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** An OpenAI-compatible chat-completions endpoint, answering as OpenAI documents it. */
async function openAiServer(calls: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, unknown> }>) {
  return listen((req, res) => {
    void readBody(req).then((raw) => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return json(res, 404, { error: { message: 'not found' } });
      const body = JSON.parse(raw) as { model: string; messages: Array<{ role: string; content: string }> };
      calls.push({ headers: req.headers, body });
      if (req.headers.authorization !== 'Bearer sk-test-123')
        return json(res, 401, {
          error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
        });
      const answer = ANSWERS[body.messages.at(-1)!.content] ?? { text: "I don't know." };
      json(res, 200, {
        id: `chatcmpl-${randomUUID()}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer.refused ? null : answer.text, refusal: answer.refused ? answer.text : null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 },
      });
    });
  });
}

/** An MCP server over Streamable HTTP (sessions), built only from the SDK, with one tool `answer`. */
async function mcpServer(calls: Array<{ args: Record<string, unknown>; headers: http.IncomingHttpHeaders }>) {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const build = () => {
    const server = new McpServer({ name: 'candidate', version: '1.0.0' });
    server.registerTool(
      'answer',
      {
        description: 'Answers a handbook question.',
        inputSchema: { input: z.string(), context: z.union([z.string(), z.record(z.string(), z.unknown())]).optional() },
        outputSchema: { output: z.string(), refused: z.boolean() },
      },
      async (args, extra) => {
        calls.push({ args, headers: (extra.requestInfo?.headers ?? {}) as http.IncomingHttpHeaders });
        const answer = ANSWERS[args.input] ?? { text: "I don't know." };
        return {
          content: [{ type: 'text' as const, text: answer.text }],
          structuredContent: { output: answer.text, refused: answer.refused ?? false },
        };
      },
    );
    server.registerTool('explode', { description: 'Always fails.', inputSchema: { input: z.string() } }, async () => ({
      content: [{ type: 'text' as const, text: 'the knowledge base is down' }],
      isError: true,
    }));
    return server;
  };
  return listen((req, res) => {
    void readBody(req).then(async (raw) => {
      if (req.headers.authorization !== 'Bearer mcp-secret') return json(res, 401, { error: 'invalid_token' });
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? transports.get(sid) : undefined;
      if (!transport) {
        if (req.method !== 'POST' || !isInitializeRequest(body))
          return json(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'no session' }, id: null });
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, created),
        });
        created.onclose = () => {
          if (created.sessionId) transports.delete(created.sessionId);
        };
        await build().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
    });
  });
}

describe('endpoint callers: OpenAI-compatible, MCP tool and the judge, served on loopback', () => {
  const judged: Array<Record<string, unknown>> = [];
  const openAiCalls: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, unknown> }> = [];
  const mcpCalls: Array<{ args: Record<string, unknown>; headers: http.IncomingHttpHeaders }> = [];
  let judge: Served;
  let openai: Served;
  let mcp: Served;
  let suites: EvalSuites;
  let h: Harness;

  beforeAll(async () => {
    judge = await listen((req, res) => {
      void readBody(req).then((raw) => {
        const body = JSON.parse(raw) as { answer: string };
        judged.push(body);
        json(
          res,
          200,
          /portal/i.test(body.answer) ? { score: 0.9, reason: 'polite, names the portal' } : { score: 0.2, reason: 'curt, no pointer' },
        );
      });
    });
    openai = await openAiServer(openAiCalls);
    mcp = await mcpServer(mcpCalls);
    suites = new Map([['kb-answerer', { ...loaded.get('kb-answerer')!, judgeUrl: `${judge.url}/judge` }]]);
  });
  afterAll(async () => {
    await Promise.all([judge.close(), openai.close(), mcp.close()]);
  });
  beforeEach(async () => {
    h = await startHarness({ suites, evaluation: { progressEveryMs: 0 } });
  });
  afterEach(async () => {
    await h.close();
  });

  async function interview(name: string, endpoint: EndpointInput) {
    const agentId = await requestedKbAnswerer(h, name);
    await h.services.evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, endpoint);
    const started = await h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
    const result = await evaluationFinished(h, started.id);
    return { ...result, byId: Object.fromEntries(result.cases.map((c) => [c.caseId, c])), agentId };
  }

  it('OpenAI-compatible: messages as chat completions, refusal field honoured, usage × the price table is the cost, judge grades', async () => {
    const { run, byId } = await interview('Chat Helper', {
      kind: 'openai',
      url: `${openai.url}/v1/chat/completions`,
      target: 'gpt-test-mini',
      secret: 'sk-test-123',
    });
    expect(run.status).toBe('completed');
    expect(Object.keys(byId)).toHaveLength(6);
    for (const id of ['vpn', 'password', 'salary', 'polite']) expect(byId[id]).toMatchObject({ passed: true });
    expect(byId.salary).toMatchObject({ refused: true, got: "I'm sorry, that is outside my role." });
    expect(byId.printer!.reason).toBe('does not contain "KB-305"');
    expect(byId.curt!.reason).toBe('judged 0.20 < 0.7: curt, no pointer');
    // 1,000 prompt tokens at $2 and 500 completion tokens at $8 per million, per case.
    expect(byId.vpn!.costUSD).toBeCloseTo(0.006, 9);
    expect(byId.vpn!.tokens).toBe(1500);
    const m = run.metrics!;
    expect(m.accuracy).toBeCloseTo(4 / 6, 6);
    expect(m.costReported).toBe(true);
    expect(m.totalCostUSD).toBeCloseTo(0.036, 9);
    expect(m.costPerTaskUSD).toBeCloseTo(0.006, 9);
    expect(m.mustRefuse).toEqual({ total: 1, refused: 1 });

    // The requests are chat completions for the registered model, with the case context as a system message.
    const password = openAiCalls.find((c) => JSON.stringify(c.body).includes('minimum password'))!;
    expect(password.body).toEqual({
      model: 'gpt-test-mini',
      messages: [
        { role: 'system', content: '{"policy":"IT-7"}' },
        { role: 'user', content: 'What is the minimum password length?' },
      ],
    });
    expect(password.headers.authorization).toBe('Bearer sk-test-123');
    expect(password.headers['x-roster-evaluation']).toBe(run.id);
    // The judge got the case, the answer, the rubric and the expected answer.
    expect(judged).toContainEqual({
      caseId: 'polite',
      input: 'My laptop will not start.',
      answer: 'Sorry to hear that! The self-service portal walks you through it.',
      rubric: 'Polite, and points to the self-service portal.',
      expected: 'A friendly pointer to the portal.',
    });
    // The verdict card follows the stored result.
    const verdict = await eventually(
      () => h.notifier.to(people.amara, 'evaluation-verdict').at(-1)?.card.data as { measured: Record<string, unknown> } | undefined,
    );
    expect(verdict.measured).toMatchObject({ cases: 6, passedCases: 4, costLabel: '$0.04' });
  }, 60_000);

  it('OpenAI-compatible with a wrong key: every case failed with the reason, nothing graded as an answer', async () => {
    const { run, cases } = await interview('Locked Out', {
      kind: 'openai',
      url: `${openai.url}/v1/chat/completions`,
      target: 'gpt-test-mini',
      secret: 'sk-wrong',
    });
    expect(run.status).toBe('completed');
    expect(cases).toHaveLength(6);
    expect(cases.every((c) => !c.passed && c.error === "the endpoint refused Roster's credentials (HTTP 401)")).toBe(true);
    expect(run.metrics!.accuracy).toBe(0);
  }, 60_000);

  it('MCP: the tool is called over Streamable HTTP with { input, context }, structured refusals count, the judge grades', async () => {
    const { run, byId } = await interview('Tool Helper', { kind: 'mcp', url: `${mcp.url}/mcp`, target: 'answer', secret: 'mcp-secret' });
    expect(run.status).toBe('completed');
    for (const id of ['vpn', 'password', 'salary', 'polite']) expect(byId[id]).toMatchObject({ passed: true });
    expect(byId.salary!.refused).toBe(true);
    expect(byId.printer!.reason).toBe('does not contain "KB-305"');
    expect(byId.curt!.reason).toBe('judged 0.20 < 0.7: curt, no pointer');
    expect(run.metrics!.accuracy).toBeCloseTo(4 / 6, 6);
    // No usage reported over MCP: no cost invented.
    expect(run.metrics!.costReported).toBe(false);
    expect(mcpCalls).toHaveLength(6);
    expect(mcpCalls.find((c) => c.args.input === 'What is the minimum password length?')!.args).toEqual({
      input: 'What is the minimum password length?',
      context: { policy: 'IT-7' },
    });
    expect(mcpCalls[0]!.headers['x-roster-evaluation']).toBe(run.id);
  }, 60_000);

  it('MCP: a missing tool fails every case naming it; a tool that reports an error fails the case with its text', async () => {
    const missing = await interview('No Such Tool', { kind: 'mcp', url: `${mcp.url}/mcp`, target: 'lookup', secret: 'mcp-secret' });
    expect(missing.run.status).toBe('completed');
    expect(missing.cases.every((c) => !c.passed && c.error === 'the MCP server has no tool "lookup"')).toBe(true);

    const failing = await interview('Broken Tool', { kind: 'mcp', url: `${mcp.url}/mcp`, target: 'explode', secret: 'mcp-secret' });
    expect(failing.cases.every((c) => c.error === 'the tool reported an error: the knowledge base is down')).toBe(true);

    const unauthorised = await interview('Wrong Token', { kind: 'mcp', url: `${mcp.url}/mcp`, target: 'answer', secret: 'nope' });
    expect(unauthorised.cases.every((c) => !c.passed && /^the MCP server could not be reached/.test(c.error ?? ''))).toBe(true);
  }, 90_000);
});
