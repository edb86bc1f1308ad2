import * as oauth from 'oauth4webapi';
import { startTestRoster } from '../helpers/app.js';
import { eventually, people } from '../helpers/harness.js';
import { agentWithKey, claimsOf, discover, GATEWAY, gatewayEnv, headerOf, insecure, postForm } from './support.js';
import { commandsOf } from '../helpers/commands.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const MINUTE = 60_000;
const DAY = 86_400_000;

describe('Roster as an OAuth 2.0 authorization server for agents (oauth4webapi as the client)', () => {
  let roster: Roster;
  let as: oauth.AuthorizationServer;

  beforeAll(async () => {
    roster = await startTestRoster({ env: gatewayEnv() });
    as = await discover(roster.baseUrl);
  });
  afterAll(async () => {
    await roster?.stop();
  });

  it('publishes RFC 8414 metadata whose issuer is the public URL, and a JWKS with kid, alg and use', async () => {
    expect(as).toMatchObject({
      issuer: roster.baseUrl,
      token_endpoint: `${roster.baseUrl}/oauth/token`,
      introspection_endpoint: `${roster.baseUrl}/oauth/introspect`,
      jwks_uri: `${roster.baseUrl}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
    expect(as.scopes_supported).toEqual(expect.arrayContaining(['crm:read', 'kb:read']));
    const jwks = (await (await fetch(as.jwks_uri!)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
    }
  });

  it('issues an RFC 9068 token with exactly the live scopes, expiring with the earliest grant, with client_secret_basic', async () => {
    const { agent, key } = await agentWithKey(roster.services, [
      { scope: 'kb:read', expiresInMs: 30 * DAY },
      { scope: 'tickets:read', expiresInMs: 2 * MINUTE },
      { scope: 'crm:read', expiresInMs: 30 * DAY, status: 'revoked' },
      { scope: 'tickets:reply', expiresInMs: -MINUTE },
    ]);
    const client = { client_id: agent.id };
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(key), {}, insecure);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    expect(result.token_type).toBe('bearer');
    expect(result.scope).toBe('kb:read tickets:read');

    expect(headerOf(result.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: expect.any(String) });
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(`${roster.baseUrl}/api/v1/access/check`, { headers: { authorization: `Bearer ${result.access_token}` } }),
      `${roster.baseUrl}/api/v1`,
      { ...insecure, signingAlgorithms: ['ES256'] },
    );
    expect(claims).toMatchObject({
      iss: roster.baseUrl,
      sub: agent.id,
      client_id: agent.id,
      aud: `${roster.baseUrl}/api/v1`,
      scope: 'kb:read tickets:read',
      role: 'support-assistant',
      business_unit: 'customer-support',
      sponsors: [people.tom],
      status: 'active',
    });
    // The tickets:read grant ends in 2 minutes: the token cannot outlive it (default lifetime 5 minutes).
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(120);
    expect(claims.exp - claims.iat).toBeGreaterThan(100);
    expect(result.expires_in).toBe(claims.exp - claims.iat);
  });

  it('accepts client_secret_post; narrows with scope; refuses widening and unknown scopes with invalid_scope', async () => {
    const { agent, key } = await agentWithKey(roster.services, [
      { scope: 'kb:read', expiresInMs: 30 * DAY },
      { scope: 'tickets:read', expiresInMs: 30 * DAY },
    ]);
    const client = { client_id: agent.id };
    const narrowed = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost(key), { scope: 'tickets:read' }, insecure),
    );
    expect(narrowed.scope).toBe('tickets:read');
    expect(claimsOf(narrowed.access_token).scope).toBe('tickets:read');
    expect(claimsOf(narrowed.access_token).exp as number).toBeLessThanOrEqual((claimsOf(narrowed.access_token).iat as number) + 300);

    for (const scope of ['kb:read crm:read', 'made:up']) {
      const refused = await oauth
        .processClientCredentialsResponse(
          as,
          client,
          await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(key), { scope }, insecure),
        )
        .catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(oauth.ResponseBodyError);
      expect(refused).toMatchObject({ error: 'invalid_scope', status: 400 });
    }
  });

  it('sets aud from a configured resource (RFC 8707) and refuses others with invalid_target', async () => {
    const { agent, key } = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const ok = await postForm(
      as.token_endpoint!,
      { grant_type: 'client_credentials', resource: GATEWAY.resource },
      { id: agent.id, secret: key },
    );
    expect(ok.status).toBe(200);
    expect(claimsOf(String(ok.body.access_token)).aud).toBe(GATEWAY.resource);
    for (const resource of ['https://elsewhere.test/', 'not a uri', 'https://crm.gateway.test/#frag']) {
      const refused = await postForm(as.token_endpoint!, { grant_type: 'client_credentials', resource }, { id: agent.id, secret: key });
      expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    }
  });

  it('refuses wrong secrets, unknown clients, two auth methods at once, wrong grant types and suspended agents', async () => {
    const { agent, key } = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const url = as.token_endpoint!;
    const grant = { grant_type: 'client_credentials' };

    const wrong = await postForm(url, grant, { id: agent.id, secret: `${key}x` });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(await postForm(url, grant, { id: 'agt_ffffffffffffffff', secret: key })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    expect(await postForm(url, { ...grant, client_id: agent.id })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await postForm(url, { ...grant, client_secret: key }, { id: agent.id, secret: key })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    expect(await postForm(url, { grant_type: 'password' }, { id: agent.id, secret: key })).toMatchObject({
      status: 400,
      body: { error: 'unsupported_grant_type' },
    });
    expect(await postForm(url, {}, { id: agent.id, secret: key })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await postForm(url, { grant_type: ['client_credentials', 'client_credentials'] }, { id: agent.id, secret: key })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });

    for (const status of ['suspended', 'retiring'] as const) {
      await roster.services.agents.update(agent.id, { status });
      const refused = await postForm(url, grant, { id: agent.id, secret: key });
      expect(refused).toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: expect.stringContaining(status) } });
    }
    await roster.services.agents.update(agent.id, { status: 'active' });
    expect((await postForm(url, grant, { id: agent.id, secret: key })).status).toBe(200);
  });

  it('a retired agent using its key gets invalid_client and raises the retired-key alert', async () => {
    const { agent, key } = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }], { status: 'retired' });
    expect(await postForm(as.token_endpoint!, { grant_type: 'client_credentials' }, { id: agent.id, secret: key })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    const alerts = await roster.services.supervision.alertRepo.list({ agentId: agent.id });
    expect(alerts.map((a) => a.kind)).toEqual(['retired-key']);
  });

  it('introspection (resource-server credentials) reflects revocation and suspension at once; foreign and tampered tokens are inactive', async () => {
    const { agent, key, grants } = await agentWithKey(roster.services, [
      { scope: 'kb:read', expiresInMs: DAY },
      { scope: 'tickets:read', expiresInMs: DAY },
    ]);
    const client = { client_id: agent.id };
    const { access_token: token } = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(key), {}, insecure),
    );
    const gateway = { client_id: GATEWAY.id };
    const introspect = async (t: string) =>
      oauth.processIntrospectionResponse(
        as,
        gateway,
        await oauth.introspectionRequest(as, gateway, oauth.ClientSecretBasic(GATEWAY.secret), t, insecure),
      );
    expect(await introspect(token)).toMatchObject({
      active: true,
      sub: agent.id,
      client_id: agent.id,
      scope: 'kb:read tickets:read',
      iss: roster.baseUrl,
      token_type: 'Bearer',
      status: 'active',
    });

    const [header, payload, signature] = token.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claimsOf(token), scope: 'crm:write' })).toString('base64url')}.${signature}`;
    for (const bad of [tampered, `${header}.${payload}.${signature!.slice(0, -4)}AAAA`, 'not-a-token', 'a.b.c']) {
      const answer = await postForm(as.introspection_endpoint!, { token: bad }, { id: GATEWAY.id, secret: GATEWAY.secret });
      expect(answer).toMatchObject({ status: 200, body: { active: false } });
      expect(Object.keys(answer.body)).toEqual(['active']);
    }

    // A caller that is not a configured resource server learns nothing.
    expect(await postForm(as.introspection_endpoint!, { token }, { id: GATEWAY.id, secret: 'wrong-secret-123' })).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
    expect(await postForm(as.introspection_endpoint!, { token }, { id: agent.id, secret: key })).toMatchObject({ status: 401 });

    await commandsOf(roster.services).revokeGrant(people.tom, grants[1]!.id, 'No longer reads tickets');
    expect(await introspect(token)).toEqual({ active: false });

    // A new token without the revoked scope is active; suspending the agent makes it inactive at once.
    const { access_token: fresh } = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(key), {}, insecure),
    );
    expect(claimsOf(fresh).scope).toBe('kb:read');
    expect((await introspect(fresh)).active).toBe(true);
    await roster.services.agents.transition(agent.id, 'active', 'suspended');
    expect(await introspect(fresh)).toEqual({ active: false });
  });

  it('access check: allow with the grant expiry, deny with a reason, from the live state; bad tokens get 401', async () => {
    const { agent, key, grants } = await agentWithKey(roster.services, [
      { scope: 'kb:read', expiresInMs: DAY },
      { scope: 'tickets:read', expiresInMs: DAY },
    ]);
    const token = String(
      (await postForm(as.token_endpoint!, { grant_type: 'client_credentials' }, { id: agent.id, secret: key })).body.access_token,
    );
    const check = async (body: unknown, bearer: string | null = token) => {
      const res = await fetch(`${roster.baseUrl}/api/v1/access/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, challenge: res.headers.get('www-authenticate') };
    };
    expect(await check({ scope: 'tickets:read', resource: GATEWAY.resource })).toMatchObject({
      status: 200,
      body: { allowed: true, reason: 'granted', agent_id: agent.id, expires_at: grants[1]!.expiresAt, grant_id: grants[1]!.id },
    });
    expect((await check({ scope: 'crm:read' })).body).toMatchObject({ allowed: false, reason: 'not_granted' });
    expect((await check({ scope: 'no:such' })).body).toMatchObject({ allowed: false, reason: 'unknown_scope' });
    expect((await check({ scope: 'kb:read', resource: 'https://other.test/' })).body).toMatchObject({
      allowed: false,
      reason: 'unknown_resource',
    });

    await commandsOf(roster.services).revokeGrant(people.tom, grants[1]!.id, 'Done with tickets');
    expect((await check({ scope: 'tickets:read' })).body).toMatchObject({
      allowed: false,
      reason: 'revoked',
      ended_at: expect.any(String),
    });

    await roster.services.agents.transition(agent.id, 'active', 'suspended');
    expect((await check({ scope: 'kb:read' })).body).toMatchObject({ allowed: false, reason: 'agent_not_active' });

    expect(await check({ scope: 'kb:read' }, null)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    const missing = await check({ scope: 'kb:read' }, null);
    expect(missing.challenge).toBe('Bearer realm="roster"');
    expect((await check({ scope: 'kb:read' }, `${token}x`)).challenge).toContain('error="invalid_token"');
    expect((await check({ scope: 'kb:read' }, 'garbage')).status).toBe(401);
    expect((await check({ nope: 1 })).status).toBe(400);
    // A token for the gateway is not accepted by Roster's own API.
    await roster.services.agents.update(agent.id, { status: 'active' });
    const gatewayToken = String(
      (await postForm(as.token_endpoint!, { grant_type: 'client_credentials', resource: GATEWAY.resource }, { id: agent.id, secret: key }))
        .body.access_token,
    );
    expect((await check({ scope: 'kb:read' }, gatewayToken)).status).toBe(401);
  });

  it('counts calls per agent and hour (aggregate audit), not one audit entry per call', async () => {
    const { agent, key } = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const before = (await roster.services.audit.export({ agentId: agent.id })).length;
    for (let i = 0; i < 3; i++)
      expect((await postForm(as.token_endpoint!, { grant_type: 'client_credentials' }, { id: agent.id, secret: key })).status).toBe(200);
    await postForm(as.token_endpoint!, { grant_type: 'client_credentials' }, { id: agent.id, secret: 'wrong-secret-1' });
    await roster.api.usage.flush();
    const doc = await eventually(
      async () => (await roster.db.connection.collection('api_usage').findOne({ agentId: agent.id })) ?? undefined,
    );
    expect(doc.counts).toEqual({ token_issued: 3, token_refused: 1 });
    expect((await roster.services.audit.export({ agentId: agent.id })).length).toBe(before);
  });

  it('never answers 5xx to oversized or malformed bodies', async () => {
    const big = await postForm(as.token_endpoint!, `grant_type=client_credentials&pad=${'x'.repeat(64 * 1024)}`);
    expect(big).toMatchObject({ status: 413, body: { error: 'invalid_request' } });
    const json = await fetch(as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":',
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    const badEncoding = await postForm(as.token_endpoint!, 'grant_type=%E0%A4%A', undefined, { authorization: 'Basic %%%' });
    expect(badEncoding.status).toBeGreaterThanOrEqual(400);
    expect(badEncoding.status).toBeLessThan(500);
  });
});
