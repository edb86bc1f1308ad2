import fc from 'fast-check';
import { OAUTH_ERRORS } from '../../src/api/schemas.js';
import { startTestRoster } from '../helpers/app.js';
import { eventually } from '../helpers/harness.js';
import { sha256 } from '../../src/core/agents.js';
import { agentClient, agentWithKey, GATEWAY, gatewayEnv, postForm } from './support.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const DAY = 86_400_000;
/** A second resource server allowed to introspect. */
const OTHER_GATEWAY = { id: 'tickets-gateway', secret: 'gw-secret-9f8e7d6c5b4a3921' };

/** Any header value fetch can send (visible ASCII and spaces). */
const headerText = fc.stringMatching(/^[\x21-\x7e ]{0,200}$/);

describe('bad input at the agent-facing API: an RFC error code and a 4xx, never a 5xx', () => {
  let roster: Roster;
  let agent: { id: string; key: string };

  beforeAll(async () => {
    roster = await startTestRoster({ env: gatewayEnv({ ROSTER_OAUTH_TOKEN_LIFETIME_S: '2', ROSTER_API_RATE_LIMIT_PER_MINUTE: '100000' }) });
    const made = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    agent = { id: made.agent.id, key: made.key };
  });
  afterAll(async () => {
    await roster?.stop();
  });

  it('random token and introspection requests (fields, encodings, credentials) get 4xx with an RFC error code', async () => {
    const field = fc.constantFrom('grant_type', 'scope', 'resource', 'client_id', 'client_secret', 'token', 'token_type_hint', 'x');
    const value = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom('client_credentials', 'password', 'kb:read', 'kb:read crm:write', GATEWAY.resource, agent.id, agent.key, ''),
    );
    const auth = fc.oneof(
      fc.constant(undefined),
      headerText,
      fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
      fc.constantFrom(
        `Basic ${Buffer.from(`${agent.id}:wrong-secret-x`).toString('base64')}`,
        `Basic ${Buffer.from(`${GATEWAY.id}:nope-nope-nope`).toString('base64')}`,
        'Bearer abc.def.ghi',
      ),
    );
    const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/oauth/token', '/oauth/introspect'),
        fc.array(fc.tuple(field, value), { maxLength: 6 }),
        auth,
        contentType,
        fc.boolean(),
        async (path, pairs, authorization, type, rawGarbage) => {
          const body = rawGarbage ? pairs.map(([k, v]) => `${k}=${v}%`).join('&') : new URLSearchParams(pairs).toString();
          const res = await fetch(`${roster.baseUrl}${path}`, {
            method: 'POST',
            headers: { 'content-type': type, ...(authorization !== undefined ? { authorization } : {}) },
            body,
          });
          const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
          if (res.status === 200) {
            // Only a well-formed request can succeed: a token for the agent, or an introspection answer.
            expect(path === '/oauth/token' ? typeof json.access_token : typeof json.active).toBe(
              path === '/oauth/token' ? 'string' : 'boolean',
            );
            return;
          }
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(OAUTH_ERRORS).toContain(json.error);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);

  it('random access-check bodies and bearer headers get 4xx with a code, or a decision', async () => {
    const token = String(
      (await postForm(`${roster.baseUrl}/oauth/token`, { grant_type: 'client_credentials' }, { id: agent.id, secret: agent.key })).body
        .access_token,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(`Bearer ${token}`), headerText, fc.constant(undefined)),
        fc.oneof(fc.json(), fc.string({ maxLength: 80 })),
        async (authorization, body) => {
          const res = await fetch(`${roster.baseUrl}/api/v1/access/check`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
            body,
          });
          const json = (await res.json()) as Record<string, unknown>;
          if (res.status === 200) return void expect(typeof json.allowed).toBe('boolean');
          expect([400, 401, 413]).toContain(res.status);
          expect(['invalid_request', 'invalid_token']).toContain(json.error);
        },
      ),
      { numRuns: 100 },
    );
  }, 120_000);

  it('an expired token is inactive at introspection and refused by the access check', async () => {
    const token = String(
      (await postForm(`${roster.baseUrl}/oauth/token`, { grant_type: 'client_credentials' }, { id: agent.id, secret: agent.key })).body
        .access_token,
    );
    const introspect = () => postForm(`${roster.baseUrl}/oauth/introspect`, { token }, { id: GATEWAY.id, secret: GATEWAY.secret });
    expect((await introspect()).body.active).toBe(true);
    await eventually(async () => (await introspect()).body.active === false, 10_000);
    const res = await fetch(`${roster.baseUrl}/api/v1/access/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ scope: 'kb:read' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('The token expired.');
  });
});

describe('rate limits per client at the agent-facing API', () => {
  let roster: Roster;
  beforeAll(async () => {
    roster = await startTestRoster({
      env: gatewayEnv({
        ROSTER_API_RATE_LIMIT_PER_MINUTE: '5',
        // Two resource servers, to show one's spent budget leaves the other's alone.
        ROSTER_OAUTH_INTROSPECTION_CLIENTS: [GATEWAY, OTHER_GATEWAY].map((g) => `${g.id}:${sha256(g.secret)}`).join(','),
      }),
    });
  });
  afterAll(async () => {
    await roster?.stop();
  });

  it('the sixth token request of a client in a minute gets 429 with Retry-After; another client is not affected', async () => {
    const a = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const b = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const ask = (who: { agent: { id: string }; key: string }, secret = who.key) =>
      postForm(`${roster.baseUrl}/oauth/token`, { grant_type: 'client_credentials' }, { id: who.agent.id, secret });
    // Wrong secrets count too: guessing is limited like everything else.
    for (let i = 0; i < 3; i++) expect((await ask(a, 'wrong-secret-zz')).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await ask(a)).status).toBe(200);
    const limited = await ask(a);
    expect(limited).toMatchObject({ status: 429, body: { error: 'invalid_request' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await ask(b)).status).toBe(200);
  });

  /** A token for a fresh agent holding kb:read (one token request of its own budget). */
  async function tokenOf(): Promise<{ agentId: string; token: string }> {
    const made = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const res = await postForm(
      `${roster.baseUrl}/oauth/token`,
      { grant_type: 'client_credentials' },
      { id: made.agent.id, secret: made.key },
    );
    expect(res.status).toBe(200);
    return { agentId: made.agent.id, token: String(res.body.access_token) };
  }

  it('the sixth introspection by a resource server in a minute gets 429 with Retry-After; another resource server is not affected', async () => {
    const { token } = await tokenOf();
    const introspect = (gateway: { id: string; secret: string }) =>
      postForm(`${roster.baseUrl}/oauth/introspect`, { token }, { id: gateway.id, secret: gateway.secret });
    // A wrong secret spends the client's budget too: guessing a gateway's secret is limited.
    expect((await introspect({ id: GATEWAY.id, secret: 'wrong-gateway-secret' })).status).toBe(401);
    for (let i = 0; i < 4; i++) expect(await introspect(GATEWAY)).toMatchObject({ status: 200, body: { active: true } });
    const limited = await introspect(GATEWAY);
    expect(limited).toMatchObject({ status: 429, body: { error: 'invalid_request' } });
    expect(OAUTH_ERRORS).toContain(limited.body.error);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body).not.toHaveProperty('active');
    expect(await introspect(OTHER_GATEWAY)).toMatchObject({ status: 200, body: { active: true } });
  });

  it('the sixth access check of an agent in a minute gets 429 with Retry-After; another agent is not affected', async () => {
    const a = await tokenOf();
    const b = await tokenOf();
    const check = (token: string) => agentClient(() => roster).api(token, 'POST', '/api/v1/access/check', { scope: 'kb:read' });
    for (let i = 0; i < 5; i++) expect(await check(a.token)).toMatchObject({ status: 200, body: { allowed: true, agent_id: a.agentId } });
    const limited = await check(a.token);
    expect(limited).toMatchObject({ status: 429, body: { error: 'invalid_request' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body).not.toHaveProperty('allowed');
    expect(await check(b.token)).toMatchObject({ status: 200, body: { allowed: true, agent_id: b.agentId } });
  });
});
