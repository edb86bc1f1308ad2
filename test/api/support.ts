import * as oauth from 'oauth4webapi';
import { issueTelemetryKey, sha256, type AgentRecord, type GrantRecord } from '../../src/core/agents.js';
import { agentRecord } from '../helpers/harness.js';
import { asGrantId } from '../helpers/ids.js';

/** A resource server's credentials for introspection, and the env that configures it. */
export const GATEWAY = { id: 'crm-gateway', secret: 'gw-secret-0b7c1d2e3f4a5b6c', resource: 'https://crm.gateway.test/' };
export const gatewayEnv = (extra: Record<string, string> = {}) => ({
  ROSTER_OAUTH_INTROSPECTION_CLIENTS: `${GATEWAY.id}:${sha256(GATEWAY.secret)}`,
  ROSTER_OAUTH_RESOURCES: GATEWAY.resource,
  ...extra,
});

/** oauth4webapi over plain HTTP on loopback. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** RFC 8414 discovery with oauth4webapi (it checks the issuer). */
export async function discover(baseUrl: string): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(baseUrl);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
}

/** An active agent with a key (its client secret), stored with the given active grants. */
export async function agentWithKey(
  services: { agents: { insert(a: AgentRecord): Promise<void> }; grants: { insertMany(g: GrantRecord[]): Promise<void> } },
  grants: Array<{ scope: string; expiresInMs: number; status?: GrantRecord['status'] }>,
  overrides: Partial<AgentRecord> = {},
): Promise<{ agent: AgentRecord; key: string; grants: GrantRecord[] }> {
  const base = agentRecord({ name: `Agent ${Math.random().toString(36).slice(2, 8)}`, ...overrides });
  const now = new Date();
  const { key, credential } = issueTelemetryKey(base.id, now);
  const agent = { ...base, credentials: [credential] };
  await services.agents.insert(agent);
  const records: GrantRecord[] = grants.map((g, i) => ({
    id: asGrantId(`grt_${base.id.slice(4)}${i}`),
    agentId: base.id,
    scope: g.scope,
    reason: 'test',
    requestedBy: base.sponsors[0]!,
    approvedBy: [base.sponsors[0]!],
    startsAt: new Date(now.getTime() - 60_000).toISOString(),
    expiresAt: new Date(now.getTime() + g.expiresInMs).toISOString(),
    status: g.status ?? 'active',
    source: 'default',
    createdAt: now.toISOString(),
  }));
  await services.grants.insertMany(records);
  return { agent, key, grants: records };
}

/** The payload of a JWT, unverified (to read claims in assertions). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** POSTs a form with optional Basic credentials; resolves status, headers and JSON body. */
export async function postForm(
  url: string,
  form: Record<string, string | string[]> | string,
  basic?: { id: string; secret: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  let body: string;
  if (typeof form === 'string') body = form;
  else {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    body = params.toString();
  }
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(basic
        ? {
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`,
          }
        : {}),
      ...headers,
    },
    body,
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A running Roster as the agent-facing helpers need it (read when called: tests assign it in beforeAll). */
type RosterUnderTest = { baseUrl: string; services: Parameters<typeof agentWithKey>[0] };

/**
 * What an agent does against a running Roster: get an access token with its key (client
 * credentials at /oauth/token, for `resource` when given), and call the agent API with it.
 */
export function agentClient(roster: () => RosterUnderTest) {
  return {
    /** A new active agent without grants and an access token for it. */
    async agentAndToken(overrides: Partial<AgentRecord>, resource?: string): Promise<{ agent: AgentRecord; token: string }> {
      const { agent, key } = await agentWithKey(roster().services, [], overrides);
      const res = await postForm(
        `${roster().baseUrl}/oauth/token`,
        { grant_type: 'client_credentials', ...(resource ? { resource } : {}) },
        { id: agent.id, secret: key },
      );
      expect(res.status).toBe(200);
      return { agent, token: String(res.body.access_token) };
    },
    /** A JSON call with the token; a string body is sent as it is (to send what is not JSON). */
    async api(token: string, method: string, url: string, body?: unknown) {
      const res = await fetch(`${roster().baseUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
    },
  };
}
