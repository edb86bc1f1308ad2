import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { MAX_BATCH, telemetryEventSchema } from '../core/telemetry.js';
import {
  accessCheckRequestSchema,
  accessCheckResponseSchema,
  apiErrorSchema,
  authorizationServerMetadataSchema,
  introspectionRequestSchema,
  introspectionResponseSchema,
  jwksSchema,
  oauthErrorSchema,
  telemetryResultSchema,
  tokenRequestSchema,
  tokenResponseSchema,
} from './schemas.js';
import { approvalRequestSchema, approvalViewSchema, consumeRequestSchema } from '../core/runtime-approvals.js';
import { handoffRequestSchema, handoffViewSchema } from '../core/handoffs.js';
import { MAX_WAIT_S } from '../core/long-poll.js';

const FORM = 'application/x-www-form-urlencoded';
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const noStore = { 'Cache-Control': { description: 'Always `no-store`.', schema: { type: 'string' as const } } };
const retryAfter = { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'string' as const } } };

/**
 * The OpenAPI 3.1 description of every agent-facing route (`/oauth/*`, `/api/v1/*`, the
 * discovery documents), generated from the zod schemas the routes parse with.
 */
export function buildOpenApiDocument(serverUrl: string): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const clientBasic = registry.registerComponent('securitySchemes', 'clientSecretBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'client_secret_basic: the client id and secret (each form-urlencoded) as HTTP Basic credentials.',
  });
  const agentToken = registry.registerComponent('securitySchemes', 'agentAccessToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from /oauth/token (RFC 9068 JWT) whose audience is Roster’s API.',
  });
  const agentKey = registry.registerComponent('securitySchemes', 'agentKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An agent key (its client secret) or a platform key.',
  });
  const tooMany = { ...json(oauthErrorSchema, 'Too many requests from this client.'), headers: retryAfter };

  registry.registerPath({
    method: 'post',
    path: '/oauth/token',
    operationId: 'issueToken',
    summary: 'Client credentials grant: an access token with the agent’s live scopes',
    description:
      'The agent authenticates as an OAuth client (client id = agent id, secret = its key) with HTTP Basic or in the body, not both. ' +
      'The token’s `scope` is exactly the agent’s active grants (narrowed by `scope`), and it expires no later than the earliest included grant.',
    security: [{ [clientBasic.name]: [] }, {}],
    request: { body: { required: true, content: { [FORM]: { schema: tokenRequestSchema } } } },
    responses: {
      200: { ...json(tokenResponseSchema, 'The access token.'), headers: noStore },
      400: json(oauthErrorSchema, 'invalid_request, unsupported_grant_type, invalid_scope or invalid_target.'),
      401: json(
        oauthErrorSchema,
        'invalid_client: unknown agent, wrong secret, or an agent that may not act (suspended, retiring, retired).',
      ),
      413: json(oauthErrorSchema, 'The body is too large.'),
      429: tooMany,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/oauth/introspect',
    operationId: 'introspectToken',
    summary: 'Token introspection (RFC 7662) for resource servers',
    description:
      'Answers from the live state: a token whose agent was suspended or whose scope was revoked or expired is inactive at once.',
    security: [{ [clientBasic.name]: [] }, {}],
    request: { body: { required: true, content: { [FORM]: { schema: introspectionRequestSchema } } } },
    responses: {
      200: { ...json(introspectionResponseSchema, 'The token’s state.'), headers: noStore },
      400: json(oauthErrorSchema, 'invalid_request.'),
      401: json(oauthErrorSchema, 'invalid_client: the caller is not a configured resource server.'),
      413: json(oauthErrorSchema, 'The body is too large.'),
      429: tooMany,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/.well-known/oauth-authorization-server',
    operationId: 'authorizationServerMetadata',
    summary: 'Authorization server metadata (RFC 8414)',
    responses: { 200: json(authorizationServerMetadataSchema, 'The metadata.') },
  });
  registry.registerPath({
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    summary: 'The public keys that verify Roster’s access tokens',
    responses: { 200: json(jwksSchema, 'Current, next and recently retired keys.') },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/v1/access/check',
    operationId: 'checkAccess',
    summary: 'May I use this scope on this resource now?',
    description: 'Answers from the live state, with the reason and the grant’s expiry. The caller is the agent named by its token.',
    security: [{ [agentToken.name]: [] }],
    request: { body: { required: true, content: { 'application/json': { schema: accessCheckRequestSchema } } } },
    responses: {
      200: json(accessCheckResponseSchema, 'The decision.'),
      400: json(apiErrorSchema, 'The body is not a valid request.'),
      401: json(apiErrorSchema, 'No token, or a token that is malformed, expired, not Roster’s or not for Roster’s API.'),
      429: tooMany,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/v1/telemetry',
    operationId: 'ingestTelemetry',
    summary: 'Report task events',
    description: `At most ${MAX_BATCH} events per request; an agent key reports for its own agent, a platform key for any (events then name agentId).`,
    security: [{ [agentKey.name]: [] }],
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              events: z.array(telemetryEventSchema).min(1).max(MAX_BATCH),
            }),
          },
        },
      },
    },
    responses: {
      200: json(telemetryResultSchema, 'How many events were stored, duplicates, and rejections with reasons.'),
      400: json(apiErrorSchema, 'The body is not a batch.'),
      401: json(apiErrorSchema, 'Missing, unknown, revoked or retired key.'),
    },
  });
  const unknownAgent = '`unknown_agent`: Roster no longer knows the agent the token names.';
  const agentErrors = {
    401: json(apiErrorSchema, 'No token, or one that is malformed, expired, not Roster’s or not for Roster’s API.'),
    403: json(apiErrorSchema, '`agent_not_active`: the agent is suspended, retiring or retired.'),
    404: json(apiErrorSchema, unknownAgent),
    429: json(apiErrorSchema, '`rate_limited`: too many requests from this agent.'),
  };
  const idParam = (prefix: string) =>
    z.object({ id: z.string().meta({ description: `The id returned when it was created (\`${prefix}_…\`).` }) });
  const waitParam = z.object({
    wait: z
      .string()
      .optional()
      .meta({
        description: `Long poll: seconds (0 to ${MAX_WAIT_S}) to wait for a decision before answering; 0 or absent answers at once.`,
      }),
  });
  registry.registerPath({
    method: 'post',
    path: '/api/v1/approvals',
    operationId: 'requestApproval',
    summary: 'Ask a human before acting',
    description:
      'Autonomous actions are answered `allowed` and forbidden ones `denied` at once (repeated forbidden attempts alert the sponsors); ' +
      'others send an approval card to the people the role names, in Slack or Teams, and answer `pending`. A retry with the same ' +
      '`idempotency_key` gets the same answer (200, `Idempotent-Replayed: true`) and never a second card.',
    security: [{ [agentToken.name]: [] }],
    request: { body: { required: true, content: { 'application/json': { schema: approvalRequestSchema } } } },
    responses: {
      200: json(approvalViewSchema, 'A replay: the answer already given.'),
      201: json(approvalViewSchema, 'Allowed, denied, or pending with cards sent.'),
      400: json(apiErrorSchema, '`invalid_request` or `unknown_action`.'),
      409: json(apiErrorSchema, '`idempotency_key_reused`: the key was used for a different request.'),
      413: json(apiErrorSchema, '`details_too_large` or `payload_too_large`.'),
      422: json(apiErrorSchema, '`invalid_details`: the details do not match the action’s declared fields.'),
      ...agentErrors,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/approvals/{id}',
    operationId: 'getApproval',
    summary: 'The decision on a request (long poll)',
    security: [{ [agentToken.name]: [] }],
    request: { params: idParam('apr'), query: waitParam },
    responses: {
      200: json(approvalViewSchema, 'The request now (still `pending` when the wait ended without a decision).'),
      400: json(apiErrorSchema, '`invalid_wait`.'),
      ...agentErrors,
      404: json(apiErrorSchema, `\`not_found\`: no such request for this agent; or ${unknownAgent}`),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/v1/approvals/{id}/consume',
    operationId: 'consumeApproval',
    summary: 'Use an approval, bound to the approved details',
    description: 'Succeeds once for a `once` approval (or within its window); the details must be the approved ones.',
    security: [{ [agentToken.name]: [] }],
    request: { params: idParam('apr'), body: { required: true, content: { 'application/json': { schema: consumeRequestSchema } } } },
    responses: {
      200: json(approvalViewSchema, 'Used: act now.'),
      400: json(apiErrorSchema, '`invalid_request`.'),
      409: json(apiErrorSchema, '`details_mismatch`, `not_approved`, `already_used` or `approval_expired`.'),
      ...agentErrors,
      404: json(apiErrorSchema, `\`not_found\`; or ${unknownAgent}`),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/v1/handoffs',
    operationId: 'handOff',
    summary: 'Hand a case to people',
    description:
      'Puts the case in the queue the role names for its kind: a card with Take it to the queue’s people, who resolve it with an outcome. ' +
      'Counts as a `handed-to-human` task in the agent’s check-ins.',
    security: [{ [agentToken.name]: [] }],
    request: { body: { required: true, content: { 'application/json': { schema: handoffRequestSchema } } } },
    responses: {
      200: json(handoffViewSchema, 'A replay: the case already created.'),
      201: json(handoffViewSchema, 'The case, open.'),
      400: json(apiErrorSchema, '`invalid_request` or `unknown_kind`.'),
      409: json(apiErrorSchema, '`idempotency_key_reused` or `queue_empty`.'),
      413: json(apiErrorSchema, '`details_too_large` or `payload_too_large`.'),
      ...agentErrors,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/handoffs/{id}',
    operationId: 'getHandoff',
    summary: 'The state and outcome of a case (long poll)',
    security: [{ [agentToken.name]: [] }],
    request: { params: idParam('hof'), query: waitParam },
    responses: {
      200: json(handoffViewSchema, 'The case now.'),
      400: json(apiErrorSchema, '`invalid_wait`.'),
      ...agentErrors,
      404: json(apiErrorSchema, `\`not_found\`; or ${unknownAgent}`),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/.well-known/oauth-protected-resource/mcp',
    operationId: 'mcpProtectedResourceMetadata',
    summary: 'Protected Resource Metadata (RFC 9728) of the MCP server at /mcp',
    responses: {
      200: json(
        z.object({
          resource: z.string(),
          authorization_servers: z.array(z.string()),
          bearer_methods_supported: z.array(z.string()),
          jwks_uri: z.string(),
          resource_name: z.string(),
          resource_documentation: z.string(),
        }),
        'The metadata.',
      ),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/mcp',
    operationId: 'mcp',
    summary: 'MCP server (Streamable HTTP, stateless): tools request_approval, hand_off_to_human, check_access, report_task',
    description: 'JSON-RPC 2.0 per the Model Context Protocol; the bearer token’s audience must be `<issuer>/mcp`.',
    security: [{ [agentToken.name]: [] }],
    request: { body: { required: true, content: { 'application/json': { schema: z.looseObject({ jsonrpc: z.literal('2.0') }) } } } },
    responses: {
      200: { description: 'The JSON-RPC response.', content: { 'application/json': { schema: z.looseObject({}) } } },
      202: { description: 'A notification was accepted.' },
      401: { description: 'No or a bad token, or an agent that may not act; `WWW-Authenticate` names the resource metadata.' },
      405: { description: 'Only POST is served (stateless).' },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    responses: { 200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: z.looseObject({}) } } } },
  });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Roster agent API',
      version: '1.0.0',
      description:
        'What agents and the gateways guarding real systems call: OAuth 2.0 client credentials with RFC 9068 JWT access tokens, ' +
        'introspection, the live access check and telemetry.',
    },
    servers: [{ url: serverUrl }],
  });
}
