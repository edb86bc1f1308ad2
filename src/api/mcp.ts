import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { AgentRefusal } from '../core/errors.js';
import { handoffRequestSchema } from '../core/handoffs.js';
import { MAX_WAIT_S } from '../core/long-poll.js';
import { approvalRequestSchema } from '../core/runtime-approvals.js';
import { isRosterError } from '../core/errors.js';
import type { LiveScopes } from '../core/live-scopes.js';
import { assertAgentMayAct } from '../core/policies.js';
import { reportTaskSchema } from '../core/telemetry.js';
import { actingAgent, asAgent } from '../commands/index.js';
import type { Logger } from '../logger.js';
import { accessAnswer, API_BODY_LIMIT, type ApiUrls } from './oauth.js';
import { spendOrRefuse, type AgentCommandBus } from './runtime-routes.js';
import type { RateLimiter } from '../core/rate-limit.js';
import { accessCheckRequestSchema } from './schemas.js';
import type { AccessTokens } from './tokens.js';
import type { AgentId } from '../core/ids.js';

export interface McpDeps {
  /** Where each tool gives the agent's command (the same handlers as the HTTP routes). */
  bus: AgentCommandBus;
  /** The agents' live access, for the token check before any tool. */
  live: Pick<LiveScopes, 'agent'>;
  tokens: AccessTokens;
  limiter: RateLimiter;
  urls: () => ApiUrls;
  version: string;
  log: Logger;
}

const waitField = z
  .number()
  .int()
  .min(0)
  .max(MAX_WAIT_S)
  .optional()
  .meta({
    description: `Seconds (0 to ${MAX_WAIT_S}) to wait for the decision before answering; call again with the same idempotency_key to keep waiting.`,
  });

/** The tools' input schemas: the HTTP API's own, plus how long to wait. */
export const mcpToolSchemas = {
  request_approval: approvalRequestSchema.extend({ wait: waitField }),
  hand_off_to_human: handoffRequestSchema.extend({ wait: waitField }),
  // extend() gives a copy without the OpenAPI component id, so the tool schema is inline, not a $ref.
  check_access: accessCheckRequestSchema.extend({}),
  report_task: reportTaskSchema.extend({}),
};

const ok = (value: object): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  structuredContent: value as Record<string, unknown>,
});

/** A refusal as a tool result the model can read (isError), never a protocol failure. */
function refused(err: unknown, log: Logger): CallToolResult {
  if (err instanceof AgentRefusal || isRosterError(err)) {
    const code = err instanceof AgentRefusal ? err.apiCode : err.code;
    return {
      isError: true,
      content: [{ type: 'text', text: `${code}: ${err.userMessage}` }],
      structuredContent: { error: code, error_description: err.userMessage },
    };
  }
  log.error({ err }, 'an MCP tool failed');
  return { isError: true, content: [{ type: 'text', text: 'temporarily_unavailable: Roster cannot answer right now; retry shortly.' }] };
}

/** A fresh MCP server for one request (stateless), whose tools act for `agentId`. */
function serverFor(deps: McpDeps, agentId: AgentId): McpServer {
  const server = new McpServer(
    { name: 'roster', version: deps.version },
    {
      instructions:
        'Ask a human before you act (request_approval), hand a case to people (hand_off_to_human), check your access and report tasks.',
    },
  );
  const actor = asAgent(agentId);
  const run = async (work: () => Promise<object>): Promise<CallToolResult> => {
    try {
      return ok(await work());
    } catch (err) {
      return refused(err, deps.log);
    }
  };
  server.registerTool(
    'request_approval',
    {
      title: 'Ask a human before acting',
      description:
        'Ask whether you may take an action of your role. Autonomous actions are allowed at once, forbidden ones denied; others go to the people your role names, who approve or deny in Slack or Teams. ' +
        'Pass wait (seconds) to wait for the decision; repeat the call with the same idempotency_key to keep waiting. Act only on status allowed or approved.',
      inputSchema: mcpToolSchemas.request_approval,
    },
    async (args) =>
      run(async () => {
        const { wait, ...request } = args as z.output<typeof mcpToolSchemas.request_approval>;
        const { view } = await deps.bus.execute(actor, { type: 'runtime.approval.request', body: request });
        return view.status === 'pending' && wait
          ? deps.bus.execute(actor, { type: 'runtime.approval.show', approvalId: view.id, wait })
          : view;
      }),
  );
  server.registerTool(
    'hand_off_to_human',
    {
      title: 'Hand a case to people',
      description:
        'Put a case in the queue your role names for its kind; a person takes it and resolves it with an outcome. Pass wait (seconds) to wait for the outcome; repeat with the same idempotency_key to keep waiting.',
      inputSchema: mcpToolSchemas.hand_off_to_human,
    },
    async (args) =>
      run(async () => {
        const { wait, ...request } = args as z.output<typeof mcpToolSchemas.hand_off_to_human>;
        const { view } = await deps.bus.execute(actor, { type: 'runtime.handoff.create', body: request });
        return view.status !== 'resolved' && wait
          ? deps.bus.execute(actor, { type: 'runtime.handoff.show', handoffId: view.id, wait })
          : view;
      }),
  );
  server.registerTool(
    'check_access',
    {
      title: 'May I use this scope now?',
      description: 'Answers from Roster’s live state whether you hold a scope now, with the reason and the grant’s expiry.',
      inputSchema: mcpToolSchemas.check_access,
    },
    async (args) =>
      run(async () => {
        const { scope, resource, decision } = await deps.bus.execute(actor, { type: 'runtime.access.check', ...args });
        return accessAnswer(agentId, scope, resource, decision);
      }),
  );
  server.registerTool(
    'report_task',
    {
      title: 'Report a finished task',
      description: 'Reports one task (outcome, latency, cost, correctness) for your check-ins. An event id is counted once.',
      inputSchema: mcpToolSchemas.report_task,
    },
    async (args) =>
      run(() => {
        // The SDK hands over the parsed arguments (time already a Date); the command takes the wire form, as from HTTP.
        const { time, ...task } = args as z.output<typeof mcpToolSchemas.report_task>;
        return deps.bus.execute(actor, { type: 'runtime.task.report', body: { ...task, time: time.toISOString() } });
      }),
  );
  return server;
}

/**
 * `/mcp`: MCP over Streamable HTTP (stateless: a server per request), an OAuth resource server.
 * The bearer token must be Roster's, for the MCP resource (`<issuer>/mcp`), and its agent must
 * still be allowed to act; otherwise 401 with the RFC 9728 metadata URL in `WWW-Authenticate`.
 */
export function createMcpRouter(deps: McpDeps): Router {
  const router = express.Router();
  const challenge = (error?: string, description?: string) =>
    `Bearer resource_metadata="${deps.urls().mcpMetadata}"${error ? `, error="${error}"` : ''}${description ? `, error_description="${description}"` : ''}`;
  const refuse = (res: Response, status: number, code: string, description: string, error?: string) => {
    res.set('WWW-Authenticate', challenge(error, description));
    res.status(status).json({ error: code, error_description: description });
  };
  router.post('/', express.json({ limit: API_BODY_LIMIT }), async (req: Request, res: Response) => {
    try {
      const header = req.headers.authorization;
      const address = req.socket.remoteAddress ?? 'unknown';
      if (!header) {
        if (spendOrRefuse(deps.limiter, res, `mcp:ip:${address}`)) return;
        // RFC 6750 §3.1: no error code when the request carried no credentials.
        return refuse(res, 401, 'invalid_token', 'Send Authorization: Bearer <access token for this resource>.');
      }
      const token = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header)?.[1];
      const verified = token ? await deps.tokens.verify(token, deps.urls().mcpResource) : undefined;
      if (!verified?.ok) {
        if (spendOrRefuse(deps.limiter, res, `mcp:ip:${address}`)) return;
        const why = verified?.problem === 'expired' ? 'The token expired.' : 'The token is not valid for this resource.';
        return refuse(res, 401, 'invalid_token', why, 'invalid_token');
      }
      const agentId = verified.claims.sub;
      if (spendOrRefuse(deps.limiter, res, `mcp:${agentId}`)) return;
      try {
        assertAgentMayAct(await actingAgent(deps.live, agentId));
      } catch (err) {
        const why = err instanceof AgentRefusal ? err.userMessage : 'The agent may not act.';
        return refuse(res, 401, 'invalid_token', why, 'invalid_token');
      }
      const server = serverFor(deps, agentId);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      deps.log.error({ err }, 'MCP request failed');
      if (!res.headersSent)
        res
          .status(503)
          .set('Retry-After', '5')
          .json({ jsonrpc: '2.0', error: { code: -32603, message: 'Roster cannot answer right now.' }, id: null });
    }
  });
  // Stateless: no server-initiated stream and no sessions to end.
  router.all('/', (_req, res) => {
    res
      .set('Allow', 'POST')
      .status(405)
      .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  });
  router.use((err: Error & { status?: number }, _req: Request, res: Response, next: express.NextFunction) => {
    if (res.headersSent || !err.status || err.status >= 500) return next(err);
    res
      .status(err.status)
      .json({ jsonrpc: '2.0', error: { code: -32700, message: err.status === 413 ? 'Request too large.' : 'Parse error.' }, id: null });
  });

  return router;
}

/** `/.well-known/oauth-protected-resource/mcp` (RFC 9728): where agents get tokens for `/mcp`. */
export function createProtectedResourceRouter(urls: () => ApiUrls): Router {
  const router = express.Router();
  router.get('/mcp', (_req, res) => {
    const u = urls();
    res.set('Cache-Control', 'public, max-age=300').json({
      resource: u.mcpResource,
      authorization_servers: [u.issuer],
      bearer_methods_supported: ['header'],
      jwks_uri: u.jwksUri,
      resource_name: 'Roster MCP server',
      resource_documentation: u.openapi,
    });
  });
  return router;
}
