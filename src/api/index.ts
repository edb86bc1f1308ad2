import type { Router } from 'express';
import express from 'express';
import type { Env } from '../config/env.js';
import type { OrgConfig } from '../config/schemas.js';
import type { KeyRefusal } from '../core/agent-keys.js';
import type { AuditLog } from '../core/audit.js';
import type { LiveScopes } from '../core/live-scopes.js';
import { RateLimiter } from '../core/rate-limit.js';
import type { Logger } from '../logger.js';
import type { ApiUsageRepository } from '../store/api-usage-store.js';
import type { SigningKeyRepository } from '../store/signing-key-store.js';
import { apiUrls, createAccessCheckRouter, createOAuthRouter, createWellKnownRouter, type ApiUrls } from './oauth.js';
import { buildOpenApiDocument } from './openapi.js';
import { createSigningKeys, type SigningKeys } from './signing-keys.js';
import { AccessTokens } from './tokens.js';
import type { VerifyKey } from './agent-secret.js';
import { ApiUsage } from './usage.js';
import type { AgentCommandBus } from './runtime-routes.js';
import { createMcpRouter, createProtectedResourceRouter } from './mcp.js';
import { createRuntimeRouter } from './runtime-routes.js';
import type { AgentId } from '../core/ids.js';

export interface AgentApiSettings {
  env: Env;
  org: OrgConfig;
  /** Where the token-signing keys are kept (when Roster keeps them). */
  signingKeys: SigningKeyRepository;
  /** Where the API's use is counted. */
  usage: ApiUsageRepository;
  /**
   * What the agent API decides calls from: an agent with its grants and boundary changes in one
   * read (shared for ROSTER_ACCESS_CACHE_MS), the same the agents' commands on the bus read.
   */
  live: LiveScopes;
  /** Hears every write this process makes to agents, grants and boundary changes (src/store/access-writes.ts): `live` forgets them. */
  onAccessWrite(listener: (agentId: string | undefined) => void): () => void;
  audit: AuditLog;
  log: Logger;
  /** The issuer; known only once the server listens when the port is picked then. */
  issuer: () => string;
  /** A retired agent's key was used at the token endpoint. */
  onRetiredKey?(agentId: AgentId): Promise<void>;
  /** The one key check every door uses (AgentKeys.verifyAgentKey), with the claimed client's record when known. */
  verifyKey: VerifyKey;
  /** A revoked, rotated-out or retired agent's key was presented at the token endpoint. */
  onRefusedKey?(agentId: AgentId, reason: KeyRefusal): Promise<void>;
  /** The command bus the access check, the runtime routes and the MCP tools give the agents' commands to. */
  bus: AgentCommandBus;
  /** Replaces the per-client limiter (a shared one, or a generous one for benchmarks). */
  limiter?: RateLimiter;
  clock?: () => Date;
}

/** The agent-facing API: routers to mount, and what to stop. */
export interface AgentApi {
  mounts: Array<{ path: string; handler: Router | express.RequestHandler }>;
  keys: SigningKeys;
  tokens: AccessTokens;
  live: LiveScopes;
  usage: ApiUsage;
  urls(): ApiUrls;
  stop(): Promise<void>;
}

/**
 * Builds the OAuth authorization server (token, introspection, discovery, JWKS), the access
 * check and the OpenAPI document. Its jobs (signing-key rotation, the hourly usage summary) are
 * in src/jobs, on `keys` and `usage`.
 */
export async function createAgentApi(s: AgentApiSettings): Promise<AgentApi> {
  const { env, log } = s;
  const tokenLifetimeMs = env.ROSTER_OAUTH_TOKEN_LIFETIME_S * 1000;
  const keys = await createSigningKeys({
    ...(env.ROSTER_OAUTH_SIGNING_KEY ? { signingKey: env.ROSTER_OAUTH_SIGNING_KEY } : {}),
    ...(env.ROSTER_OAUTH_SIGNING_KEY_FILE ? { signingKeyFile: env.ROSTER_OAUTH_SIGNING_KEY_FILE } : {}),
    ...(env.ROSTER_OAUTH_KEK ? { kek: env.ROSTER_OAUTH_KEK } : {}),
    rotationMs: env.ROSTER_OAUTH_KEY_ROTATION_DAYS * 86_400_000,
    tokenLifetimeMs,
    repo: s.signingKeys,
    log: log.child({ component: 'signing-keys' }),
    ...(s.clock ? { clock: s.clock } : {}),
  });
  let cachedUrls: ApiUrls | undefined;
  const urls = () => {
    const issuer = s.issuer();
    if (cachedUrls?.issuer !== issuer) cachedUrls = apiUrls(issuer);
    return cachedUrls;
  };
  const tokens = new AccessTokens({ issuer: () => urls().issuer, keys, ...(s.clock ? { clock: s.clock } : {}) });
  const { live } = s;
  // This process's own writes to agents, grants and boundary changes are seen by its next call.
  const stopForgetting = s.onAccessWrite((agentId) => live.forget(agentId));
  const usage = new ApiUsage({ repo: s.usage, audit: s.audit, log, ...(s.clock ? { clock: s.clock } : {}) });
  const limiter = s.limiter ?? new RateLimiter({ requests: env.ROSTER_API_RATE_LIMIT_PER_MINUTE, perMs: 60_000 });
  const deps = {
    org: s.org,
    live,
    tokens,
    keys,
    usage,
    limiter,
    urls,
    resources: env.ROSTER_OAUTH_RESOURCES,
    introspectionClients: env.ROSTER_OAUTH_INTROSPECTION_CLIENTS,
    tokenLifetimeMs,
    ...(s.onRetiredKey ? { onRetiredKey: s.onRetiredKey } : {}),
    verifyKey: s.verifyKey,
    ...(s.onRefusedKey ? { onRefusedKey: s.onRefusedKey } : {}),
    log: log.child({ component: 'agent-api' }),
  };

  log.info({ source: keys.source, tokenLifetimeS: env.ROSTER_OAUTH_TOKEN_LIFETIME_S }, 'agent API ready');

  let openapi: { issuer: string; doc: unknown } | undefined;
  const openapiHandler: express.RequestHandler = (_req, res) => {
    const issuer = urls().issuer;
    if (openapi?.issuer !== issuer) openapi = { issuer, doc: buildOpenApiDocument(issuer.replace(/\/+$/, '')) };
    res.set('Cache-Control', 'public, max-age=300').json(openapi.doc);
  };
  const openapiRouter = express.Router();
  openapiRouter.get('/openapi.json', openapiHandler);

  const routeDeps = { bus: s.bus, live, tokens, limiter, urls, log: log.child({ component: 'agent-api' }) };

  return {
    mounts: [
      { path: '/oauth', handler: createOAuthRouter(deps) },
      { path: '/.well-known', handler: createWellKnownRouter(deps) },
      { path: '/api/v1/access', handler: createAccessCheckRouter({ ...deps, bus: s.bus }) },
      { path: '/api', handler: openapiRouter },
      { path: '/api/v1', handler: createRuntimeRouter(routeDeps) },
      { path: '/mcp', handler: createMcpRouter({ ...routeDeps, version: '0.1.0', log: log.child({ component: 'mcp' }) }) },
      { path: '/.well-known/oauth-protected-resource', handler: createProtectedResourceRouter(urls) },
    ],
    keys,
    tokens,
    live,
    usage,
    urls,
    async stop() {
      stopForgetting();
      await usage.close();
    },
  };
}
