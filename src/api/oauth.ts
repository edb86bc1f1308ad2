import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { OrgConfig } from '../config/schemas.js';
import { sha256 } from '../core/agents.js';
import { LiveScopes, selectScopes, tokenExpiry, tokenStillValid, type AccessDecision } from '../core/live-scopes.js';
import { AgentRefusal } from '../core/errors.js';
import { asAgent } from '../commands/index.js';
import type { AgentCommandBus } from './runtime-routes.js';
import type { Logger } from '../logger.js';
import { isClientId, verifyAgentSecret, type VerifyKey } from './agent-secret.js';
import type { KeyRefusal } from '../core/agent-keys.js';
import { clientCredentials } from './client-auth.js';
import type { RateLimiter } from '../core/rate-limit.js';
import { accessCheckRequestSchema, introspectionRequestSchema, tokenRequestSchema, type OAuthErrorCode } from './schemas.js';
import type { SigningKeys } from './signing-keys.js';
import type { AccessTokens } from './tokens.js';
import type { ApiUsage } from './usage.js';
import { idOrUndefined, type AgentId } from '../core/ids.js';

/** Largest form or JSON body the agent-facing API reads. */
export const API_BODY_LIMIT = '16kb';

/** Where the agent-facing API lives, derived from the issuer (ROSTER_PUBLIC_URL). */
export interface ApiUrls {
  /** Exactly ROSTER_PUBLIC_URL: `iss` of every token and the metadata's `issuer`. */
  issuer: string;
  /** Roster's own API as a resource: the default audience, and the one the access check accepts. */
  rosterAudience: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  jwksUri: string;
  openapi: string;
  /** The MCP server as a resource (RFC 8707/9728): the audience of tokens for `/mcp`. */
  mcpResource: string;
  /** Its Protected Resource Metadata (RFC 9728). */
  mcpMetadata: string;
}

/** The URLs of the API for an issuer. */
export function apiUrls(issuer: string): ApiUrls {
  const base = issuer.replace(/\/+$/, '');
  return {
    issuer,
    rosterAudience: `${base}/api/v1`,
    tokenEndpoint: `${base}/oauth/token`,
    introspectionEndpoint: `${base}/oauth/introspect`,
    jwksUri: `${base}/.well-known/jwks.json`,
    openapi: `${base}/api/openapi.json`,
    mcpResource: `${base}/mcp`,
    mcpMetadata: `${base}/.well-known/oauth-protected-resource/mcp`,
  };
}

export interface OAuthDeps {
  org: OrgConfig;
  live: LiveScopes;
  tokens: AccessTokens;
  keys: SigningKeys;
  usage: ApiUsage;
  limiter: RateLimiter;
  /** Resolved after the server listens (the port may be picked then). */
  urls: () => ApiUrls;
  /** Resource URIs agents may ask tokens for (besides Roster's own API). */
  resources: string[];
  /** `<client id>:<sha256 hex>` of resource servers allowed to introspect. */
  introspectionClients: string[];
  tokenLifetimeMs: number;
  /** A retired agent's key was used: the retired-key alert. */
  onRetiredKey?(agentId: string): Promise<void>;
  /** The one key check (AgentKeys.verifyAgentKey). */
  verifyKey: VerifyKey;
  /** A revoked, rotated-out or retired agent's key was presented. */
  onRefusedKey?(agentId: AgentId, reason: KeyRefusal): Promise<void>;
  log: Logger;
}

function oauthError(res: Response, status: number, error: OAuthErrorCode, description: string, challenge?: string): void {
  res.status(status);
  res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  if (challenge) res.set('WWW-Authenticate', challenge);
  res.json({ error, error_description: description });
}

const BASIC_CHALLENGE = 'Basic realm="roster", charset="UTF-8"';

/** Turns body-parser failures (malformed, too large, wrong charset) into RFC-style 4xx answers. */
function bodyErrors(err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  const status = err.status && err.status >= 400 && err.status < 500 ? err.status : undefined;
  if (!status) return next(err);
  oauthError(res, status, 'invalid_request', status === 413 ? 'The request body is too large.' : 'The request body cannot be read.');
}

/** Catches what a handler throws: a server-side failure is 503 with a code, never a stack. */
function failure(log: Logger, res: Response, err: unknown): void {
  log.error({ err }, 'agent API request failed');
  if (res.headersSent) return;
  res
    .status(503)
    .set('Retry-After', '5')
    .json({ error: 'temporarily_unavailable', error_description: 'Roster cannot answer right now; retry shortly.' });
}

/** Client-side address for rate limiting unauthenticated callers. */
const addressOf = (req: Request) => req.socket.remoteAddress ?? 'unknown';

function limited(deps: OAuthDeps, res: Response, key: string): boolean {
  const taken = deps.limiter.take(key);
  if (taken.ok) return false;
  res.set('Retry-After', String(taken.retryAfterSeconds));
  oauthError(res, 429, 'invalid_request', `Too many requests; retry in ${taken.retryAfterSeconds} s.`);
  return true;
}

/** RFC 8707: an absolute URI without a fragment. */
function isResourceUri(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    const url = new URL(value);
    return Boolean(url.protocol) && value.length <= 2048;
  } catch {
    return false;
  }
}

/** `POST /oauth/token` and `POST /oauth/introspect`. */
export function createOAuthRouter(deps: OAuthDeps): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: API_BODY_LIMIT, parameterLimit: 50 });
  const introspectors = deps.introspectionClients.map((pair) => {
    const colon = pair.indexOf(':');
    return { id: pair.slice(0, colon), hash: Buffer.from(pair.slice(colon + 1).toLowerCase(), 'hex') };
  });

  router.post('/token', form, async (req, res) => {
    try {
      if (!req.is('application/x-www-form-urlencoded') || typeof req.body !== 'object' || req.body === null) {
        if (limited(deps, res, `token:ip:${addressOf(req)}`)) return;
        return oauthError(res, 400, 'invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
      }
      const body = req.body as Record<string, unknown>;
      const creds = clientCredentials(req, body);
      if (limited(deps, res, `token:${creds.ok ? creds.clientId : (creds.clientId ?? `ip:${addressOf(req)}`)}`)) return;
      if (!creds.ok) return oauthError(res, creds.error === 'invalid_client' ? 401 : 400, creds.error, creds.description, BASIC_CHALLENGE);

      // The client as the live access holds it (usually remembered): its own keys need no read.
      const clientAgent = isClientId(creds.clientId) ? idOrUndefined('AgentId', creds.clientId) : undefined;
      const claimed = clientAgent ? (await deps.live.agent(clientAgent))?.agent : undefined;
      const checked = await verifyAgentSecret(deps.verifyKey, creds.clientId, creds.secret, claimed);
      if (!checked.ok) {
        if (checked.agent) deps.usage.count(checked.agent.id, 'token_refused');
        // A revoked, rotated-out or retired agent's key still in use pages on-call (as telemetry does).
        if (checked.agent && checked.reason && checked.reason !== 'unknown' && checked.reason !== 'malformed' && deps.onRefusedKey)
          await deps
            .onRefusedKey(checked.agent.id, checked.reason)
            .catch((err: unknown) => deps.log.error({ err }, 'could not raise the refused-key alert'));
        return oauthError(res, 401, 'invalid_client', 'Unknown client or wrong secret.', BASIC_CHALLENGE);
      }
      const agent = checked.agent;
      const parsed = tokenRequestSchema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return oauthError(res, 400, 'invalid_request', issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message);
      }
      const request = parsed.data;
      if (request.grant_type !== 'client_credentials') {
        return oauthError(res, 400, 'unsupported_grant_type', 'Roster issues tokens for grant_type=client_credentials only.');
      }

      const live = await deps.live.of(agent.id);
      if (!live || !live.eligible) {
        deps.usage.count(agent.id, 'token_refused');
        if ((agent.status === 'retired' || agent.status === 'rejected') && deps.onRetiredKey)
          await deps.onRetiredKey(agent.id).catch((err: unknown) => deps.log.error({ err }, 'could not raise the retired-key alert'));
        // invalid_client (not unauthorized_client): the agent may not act at all, with any grant.
        return oauthError(
          res,
          401,
          'invalid_client',
          `The agent is ${live?.agent.status ?? agent.status}: it gets no tokens.`,
          BASIC_CHALLENGE,
        );
      }
      const selection = selectScopes(deps.org, live.scopes, request.scope);
      if (!selection.ok) {
        deps.usage.count(agent.id, 'token_refused');
        return oauthError(res, 400, 'invalid_scope', selection.description);
      }
      const urls = deps.urls();
      const asked = request.resource === undefined ? [] : Array.isArray(request.resource) ? request.resource : [request.resource];
      const allowed = new Set([urls.rosterAudience, urls.mcpResource, ...deps.resources]);
      for (const resource of asked) {
        if (!isResourceUri(resource))
          return oauthError(res, 400, 'invalid_target', 'A resource must be an absolute URI without a fragment.');
        if (!allowed.has(resource)) {
          deps.usage.count(agent.id, 'token_refused');
          return oauthError(res, 400, 'invalid_target', 'That resource is not one Roster issues tokens for.');
        }
      }
      const audience = asked.length ? [...new Set(asked)] : [urls.rosterAudience];
      const expiresAt = tokenExpiry(live.at, deps.tokenLifetimeMs, selection.scopes);
      const { token, claims } = await deps.tokens.issue(live.agent, selection.scopes, audience, expiresAt);
      deps.usage.count(agent.id, 'token_issued');
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      res.json({
        access_token: token,
        token_type: 'Bearer',
        expires_in: Math.max(1, claims.exp - claims.iat),
        scope: claims.scope ?? '',
      });
    } catch (err) {
      failure(deps.log, res, err);
    }
  });

  router.post('/introspect', form, async (req, res) => {
    try {
      const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
      const creds = clientCredentials(req, body);
      if (limited(deps, res, `introspect:${creds.ok ? creds.clientId : `ip:${addressOf(req)}`}`)) return;
      if (!creds.ok) return oauthError(res, creds.error === 'invalid_client' ? 401 : 400, creds.error, creds.description, BASIC_CHALLENGE);
      const digest = Buffer.from(sha256(creds.secret), 'hex');
      // Every configured pair is compared, so timing does not tell which ids exist.
      let known = false;
      for (const c of introspectors)
        if (c.id === creds.clientId && c.hash.length === digest.length && timingSafeEqual(c.hash, digest)) known = true;
      if (!known) return oauthError(res, 401, 'invalid_client', 'Unknown resource server or wrong secret.', BASIC_CHALLENGE);
      if (!req.is('application/x-www-form-urlencoded')) {
        return oauthError(res, 400, 'invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
      }
      const parsed = introspectionRequestSchema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return oauthError(res, 400, 'invalid_request', issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message);
      }
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      // token_type_hint is only a hint (RFC 7662 §2.1): Roster has one kind of token, so it is not consulted.
      const verified = await deps.tokens.verify(parsed.data.token);
      if (!verified.ok) return void res.json({ active: false });
      const claims = verified.claims;
      const live = await deps.live.of(claims.sub);
      const scopes = claims.scope ? claims.scope.split(' ') : [];
      if (!live || !tokenStillValid(live, scopes)) {
        if (live) deps.usage.count(claims.sub, 'introspection_inactive');
        return void res.json({ active: false });
      }
      deps.usage.count(claims.sub, 'introspection_active');
      res.json({
        active: true,
        ...(claims.scope ? { scope: claims.scope } : {}),
        client_id: claims.client_id,
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        token_type: 'Bearer',
        role: live.agent.catalogRoleId,
        business_unit: live.agent.businessUnit,
        sponsors: live.agent.sponsors,
        status: live.agent.status,
      });
    } catch (err) {
      failure(deps.log, res, err);
    }
  });

  router.use(bodyErrors);
  return router;
}

/** `/.well-known/oauth-authorization-server` (RFC 8414) and `/.well-known/jwks.json`. */
export function createWellKnownRouter(deps: Pick<OAuthDeps, 'org' | 'keys' | 'urls' | 'log'>): Router {
  const router = express.Router();
  router.get('/oauth-authorization-server', (_req, res) => {
    const urls = deps.urls();
    res.set('Cache-Control', 'public, max-age=300');
    // response_types_supported is left out: it is meaningless without an authorization endpoint
    // (RFC 8414 erratum 7793), and listing a value would claim a flow Roster does not serve.
    res.json({
      issuer: urls.issuer,
      token_endpoint: urls.tokenEndpoint,
      jwks_uri: urls.jwksUri,
      introspection_endpoint: urls.introspectionEndpoint,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: deps.org.scopes.map((s) => s.id),
      service_documentation: urls.openapi,
    });
  });
  router.get('/jwks.json', async (_req, res) => {
    try {
      res.set('Cache-Control', 'public, max-age=300');
      res.json({ keys: await deps.keys.published() });
    } catch (err) {
      failure(deps.log, res, err);
    }
  });
  return router;
}

/**
 * `POST /api/v1/access/check`: may the calling agent (its bearer token) use a scope now? The body
 * is parsed here, in this route's words, then the agent's `runtime.access.check` is given to the bus.
 */
export function createAccessCheckRouter(deps: OAuthDeps & { bus: AgentCommandBus }): Router {
  const router = express.Router();
  const bearerChallenge = (error?: string, description?: string) =>
    `Bearer realm="roster"${error ? `, error="${error}"` : ''}${description ? `, error_description="${description}"` : ''}`;
  router.post('/check', express.json({ limit: API_BODY_LIMIT, type: () => true }), async (req, res) => {
    try {
      const header = req.headers.authorization;
      const token = header ? /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header)?.[1] : undefined;
      if (!header) {
        if (limited(deps, res, `check:ip:${addressOf(req)}`)) return;
        res.set('WWW-Authenticate', bearerChallenge());
        return void res.status(401).json({ error: 'invalid_token', error_description: 'Send Authorization: Bearer <access token>.' });
      }
      const verified = token ? await deps.tokens.verify(token, deps.urls().rosterAudience) : undefined;
      if (!verified?.ok) {
        if (limited(deps, res, `check:ip:${addressOf(req)}`)) return;
        const why = verified?.problem === 'expired' ? 'The token expired.' : 'The token is not valid here.';
        res.set('WWW-Authenticate', bearerChallenge('invalid_token', why));
        return void res.status(401).json({ error: 'invalid_token', error_description: why });
      }
      const agentId = verified.claims.sub;
      if (limited(deps, res, `check:${agentId}`)) return;
      const parsed = accessCheckRequestSchema.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return void res
          .status(400)
          .json({ error: 'invalid_request', error_description: `${issue.path.join('.') || 'body'}: ${issue.message}` });
      }
      const { scope } = parsed.data;
      res.set('Cache-Control', 'no-store');
      let check;
      try {
        // The same command, and handler, as the MCP tool check_access.
        check = await deps.bus.execute(asAgent(agentId), { type: 'runtime.access.check', ...parsed.data });
      } catch (err) {
        // This door answers an agent Roster does not know (its token outlived it) instead of refusing it.
        if (!(err instanceof AgentRefusal && err.apiCode === 'unknown_agent')) throw err;
        return void res.json({ allowed: false, reason: 'unknown_agent', message: err.userMessage, agent_id: agentId, scope });
      }
      deps.usage.count(agentId, check.decision.allowed ? 'access_allowed' : 'access_denied');
      res.json(accessAnswer(agentId, check.scope, check.resource, check.decision));
    } catch (err) {
      failure(deps.log, res, err);
    }
  });
  router.use((err: Error & { status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent || !err.status || err.status >= 500) return next(err);
    res.status(err.status).json({
      error: 'invalid_request',
      error_description: err.status === 413 ? 'The request body is too large.' : 'The body is not valid JSON.',
    });
  });
  return router;
}

/** The access check's answer (`POST /api/v1/access/check`, the MCP tool `check_access`). */
export type AccessAnswer = Record<string, unknown> & { allowed: boolean; reason: string };

/** The access check's answer to an agent about a scope: the same from the HTTP route and the MCP tool. */
export function accessAnswer(agentId: AgentId, scope: string, resource: string | undefined, decision: AccessDecision): AccessAnswer {
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    message: decision.message,
    agent_id: agentId,
    scope,
    ...(resource ? { resource } : {}),
    ...(decision.grantId ? { grant_id: decision.grantId } : {}),
    ...(decision.expiresAt ? { expires_at: decision.expiresAt } : {}),
    ...(decision.endedAt ? { ended_at: decision.endedAt } : {}),
  };
}
