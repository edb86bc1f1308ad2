import { z } from 'zod';

/*
 * The agent-facing API's requests and responses. The routes parse with these and the OpenAPI
 * document (src/api/openapi.ts) is generated from the same objects, so the two cannot drift.
 */

/** A single form parameter: the RFC says a parameter must not be sent more than once. */
const formParam = (what: string) => z.string({ error: `${what} must be sent once, as text` }).max(4096);

/** `POST /oauth/token` (application/x-www-form-urlencoded). */
export const tokenRequestSchema = z
  .object({
    grant_type: formParam('grant_type').meta({ description: 'Always `client_credentials`.', example: 'client_credentials' }),
    scope: formParam('scope')
      .optional()
      .meta({ description: 'Space-separated scopes: a subset of the agent’s live grants (never more). All of them when absent.' }),
    resource: z
      .union([z.string().max(2048), z.array(z.string().max(2048)).max(10)])
      .optional()
      .meta({ description: 'RFC 8707 resource indicator(s): the audience of the token. Roster’s own API when absent.' }),
    client_id: formParam('client_id').optional().meta({ description: 'The agent id (client_secret_post only).' }),
    client_secret: formParam('client_secret').optional().meta({ description: 'The agent key (client_secret_post only).' }),
  })
  .meta({ id: 'TokenRequest' });

export const tokenResponseSchema = z
  .object({
    access_token: z.string().meta({ description: 'An RFC 9068 JWT (`typ: at+jwt`).' }),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().positive(),
    scope: z.string().meta({ description: 'The scopes in the token, space-separated.' }),
  })
  .meta({ id: 'TokenResponse' });

export const OAUTH_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'invalid_token',
] as const;
export type OAuthErrorCode = (typeof OAUTH_ERRORS)[number];

export const oauthErrorSchema = z
  .object({
    error: z.enum(OAUTH_ERRORS),
    error_description: z.string().optional(),
  })
  .meta({ id: 'OAuthError', description: 'RFC 6749 §5.2 error (plus RFC 8707 `invalid_target`, RFC 6750 `invalid_token`).' });

/** `POST /oauth/introspect` (application/x-www-form-urlencoded), RFC 7662. */
export const introspectionRequestSchema = z
  .object({
    token: formParam('token').meta({ description: 'The access token to look at.' }),
    token_type_hint: formParam('token_type_hint').optional(),
    client_id: formParam('client_id').optional().meta({ description: 'The resource server id (client_secret_post only).' }),
    client_secret: formParam('client_secret').optional(),
  })
  .meta({ id: 'IntrospectionRequest' });

export const introspectionResponseSchema = z
  .object({
    active: z.boolean(),
    scope: z.string().optional(),
    client_id: z.string().optional(),
    sub: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    iss: z.string().optional(),
    exp: z.number().int().optional(),
    iat: z.number().int().optional(),
    jti: z.string().optional(),
    token_type: z.literal('Bearer').optional(),
    role: z.string().optional().meta({ description: 'The agent’s catalog role.' }),
    business_unit: z.string().optional(),
    sponsors: z.array(z.string()).optional(),
    status: z.string().optional().meta({ description: 'The agent’s lifecycle status now.' }),
  })
  .meta({ id: 'IntrospectionResponse', description: 'Exactly `{"active": false}` for an unknown, expired, revoked or foreign token.' });

/** `POST /api/v1/access/check` (JSON, bearer token): the MCP tool `check_access` and the agent command take it too. */
export { accessCheckRequestSchema } from '../core/live-scopes.js';

export const accessCheckResponseSchema = z
  .object({
    allowed: z.boolean(),
    reason: z.enum([
      'granted',
      'not_granted',
      'expired',
      'revoked',
      'unknown_scope',
      'unknown_resource',
      'agent_not_active',
      'unknown_agent',
    ]),
    message: z.string(),
    agent_id: z.string(),
    scope: z.string(),
    resource: z.string().optional(),
    grant_id: z.string().optional(),
    expires_at: z.string().optional().meta({ description: 'When the allowing grant ends (ISO 8601).' }),
    ended_at: z.string().optional().meta({ description: 'When the last grant of the scope ended (expired or revoked).' }),
  })
  .meta({ id: 'AccessCheckResponse' });

export const apiErrorSchema = z
  .object({ error: z.string(), error_description: z.string().optional(), message: z.string().optional() })
  .meta({ id: 'ApiError' });

export const authorizationServerMetadataSchema = z
  .object({
    issuer: z.string(),
    token_endpoint: z.string(),
    jwks_uri: z.string(),
    introspection_endpoint: z.string(),
    grant_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    introspection_endpoint_auth_methods_supported: z.array(z.string()),
    scopes_supported: z.array(z.string()),
    service_documentation: z.string().optional(),
  })
  .meta({ id: 'AuthorizationServerMetadata', description: 'RFC 8414 metadata.' });

export const jwksSchema = z
  .object({
    keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.literal('sig') }).meta({ id: 'PublicJwk' })),
  })
  .meta({ id: 'JsonWebKeySet' });

export const telemetryResultSchema = z
  .object({
    accepted: z.number().int(),
    duplicates: z.number().int(),
    rejected: z.array(z.object({ index: z.number().int(), eventId: z.string().optional(), reason: z.string() })),
  })
  .meta({ id: 'TelemetryResult' });
