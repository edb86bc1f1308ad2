import { Ajv2020 } from 'ajv/dist/2020.js';
import * as oauth from 'oauth4webapi';
import { startTestRoster } from '../helpers/app.js';
import { agentWithKey, discover, GATEWAY, gatewayEnv, insecure } from './support.js';

/*
 * Every answer of the agent-facing API, as an agent's own OAuth client (oauth4webapi) receives it,
 * is one /api/openapi.json documents for its path, method and status, with a body its schema
 * accepts (an independent JSON Schema validator, Ajv). Each route is called for its answers and
 * its refusals; the last test checks that every documented /oauth and /api/v1 route was met, so a
 * new route cannot go unchecked.
 */

const SOFIA = 'sofia.alvarez@brightwater.example';

interface Documented {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components: object;
}

describe('the agent-facing API answers as its OpenAPI document says', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let doc: Documented;
  let as: oauth.AuthorizationServer;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const met = new Set<string>();

  beforeAll(async () => {
    // The live access read at every call (no cache), so an agent changed in the database is seen at once.
    roster = await startTestRoster({ env: gatewayEnv({ ROSTER_ACCESS_CACHE_MS: '0' }) });
    doc = (await (await fetch(`${roster.baseUrl}/api/openapi.json`)).json()) as Documented;
    as = await discover(roster.baseUrl);
  });
  afterAll(async () => {
    await roster?.stop();
  });

  /** The answer, checked against the document: its status is documented for the route, and its body matches. */
  async function documented(method: string, path: string, res: Response): Promise<{ status: number; body: Record<string, unknown> }> {
    const text = await res.text();
    const body = (text ? JSON.parse(text) : undefined) as Record<string, unknown>;
    const response = doc.paths[path]?.[method]?.responses[String(res.status)];
    const route = `${method.toUpperCase()} ${path} answered ${res.status} ${text}`;
    expect({ route, documented: response !== undefined }).toEqual({ route, documented: true });
    const schema = response!.content?.['application/json']?.schema;
    if (schema) {
      const validate = ajv.compile({ ...schema, components: doc.components });
      validate(body);
      expect({ route, errors: validate.errors ?? [] }).toEqual({ route, errors: [] });
    }
    met.add(`${method} ${path}`);
    return { status: res.status, body };
  }

  /** An agent with a key, and an access token for Roster's API from oauth4webapi's client credentials grant. */
  async function agentWithToken(name: string, grants: Parameters<typeof agentWithKey>[1] = []) {
    const { agent, key } = await agentWithKey(roster.services, grants, {
      catalogRoleId: 'resume-screener',
      businessUnit: 'people-ops',
      sponsors: [SOFIA],
      requestedBy: SOFIA,
      name,
    });
    const client = { client_id: agent.id };
    const granted = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(key), {}, insecure);
    await documented('post', '/oauth/token', granted.clone());
    const { access_token } = await oauth.processClientCredentialsResponse(as, client, granted);
    return { agent, key, token: access_token };
  }

  /** A call with the token as oauth4webapi sends it; a refusal with a challenge is answered all the same. */
  async function call(token: string, method: string, url: string, body?: unknown): Promise<Response> {
    const headers = new Headers(body === undefined ? {} : { 'content-type': 'application/json' });
    const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    try {
      return await oauth.protectedResourceRequest(token, method, new URL(`${roster.baseUrl}${url}`), headers, raw, insecure);
    } catch (err) {
      if (err instanceof oauth.WWWAuthenticateChallengeError) return err.response;
      throw err;
    }
  }

  const ask = (key: string, action = 'candidate.screen') => ({ action, summary: 'Screen application A-7.', idempotency_key: key });
  const handOff = (key: string) => ({ kind: 'candidate-review', summary: 'Please review candidate C-7.', idempotency_key: key });
  const NO_APPROVAL = 'apr_000000000000000000000000';
  const NO_HANDOFF = 'hof_000000000000000000000000';

  it('the access check, the token and introspection', async () => {
    const { agent, token } = await agentWithToken('Documented checker', [{ scope: 'kb:read', expiresInMs: 3_600_000 }]);
    const check = (body: unknown, t = token) => call(t, 'POST', '/api/v1/access/check', body);
    expect(await documented('post', '/api/v1/access/check', await check({ scope: 'kb:read' }))).toMatchObject({
      status: 200,
      body: { agent_id: agent.id, scope: 'kb:read' },
    });
    expect(await documented('post', '/api/v1/access/check', await check({ scope: '' }))).toMatchObject({ status: 400 });
    expect(await documented('post', '/api/v1/access/check', await check({ scope: 'kb:read' }, 'not.a.token'))).toMatchObject({
      status: 401,
    });

    const gateway = { client_id: GATEWAY.id };
    const introspected = await oauth.introspectionRequest(as, gateway, oauth.ClientSecretBasic(GATEWAY.secret), token, insecure);
    expect(await documented('post', '/oauth/introspect', introspected)).toMatchObject({ status: 200, body: { active: true } });
  });

  it('runtime approvals: asked, replayed, read, consumed, and each refusal', async () => {
    const { token } = await agentWithToken('Documented asker');
    const asked = await documented('post', '/api/v1/approvals', await call(token, 'POST', '/api/v1/approvals', ask('doc-ask-0001')));
    expect(asked).toMatchObject({ status: 201, body: { status: 'allowed' } });
    const id = String(asked.body.id);
    expect(
      await documented('post', '/api/v1/approvals', await call(token, 'POST', '/api/v1/approvals', ask('doc-ask-0001'))),
    ).toMatchObject({
      status: 200,
    });
    const reused = await call(token, 'POST', '/api/v1/approvals', { ...ask('doc-ask-0001'), summary: 'Something else.' });
    expect(await documented('post', '/api/v1/approvals', reused)).toMatchObject({ status: 409, body: { error: 'idempotency_key_reused' } });
    const unknown = await call(token, 'POST', '/api/v1/approvals', ask('doc-ask-0002', 'made.up'));
    expect(await documented('post', '/api/v1/approvals', unknown)).toMatchObject({ status: 400, body: { error: 'unknown_action' } });
    const bad = await call(token, 'POST', '/api/v1/approvals', { summary: 'no action' });
    expect(await documented('post', '/api/v1/approvals', bad)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });

    const read = (path: string) => call(token, 'GET', path).then((res) => documented('get', '/api/v1/approvals/{id}', res));
    expect(await read(`/api/v1/approvals/${id}`)).toMatchObject({ status: 200, body: { id, status: 'allowed' } });
    expect(await read(`/api/v1/approvals/${id}?wait=soon`)).toMatchObject({ status: 400, body: { error: 'invalid_wait' } });
    expect(await read(`/api/v1/approvals/${NO_APPROVAL}`)).toMatchObject({ status: 404, body: { error: 'not_found' } });

    const consume = (approval: string, body: unknown) =>
      call(token, 'POST', `/api/v1/approvals/${approval}/consume`, body).then((res) =>
        documented('post', '/api/v1/approvals/{id}/consume', res),
      );
    expect(await consume(id, { details_hash: asked.body.details_hash })).toMatchObject({ status: 200, body: { id } });
    expect(await consume(id, { details_hash: 'sha256:other' })).toMatchObject({ status: 409, body: { error: 'details_mismatch' } });
    expect(await consume(id, {})).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await consume(NO_APPROVAL, { details: {} })).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('hand-offs: created, replayed, read, and each refusal', async () => {
    const { token } = await agentWithToken('Documented hand-off');
    const created = await documented('post', '/api/v1/handoffs', await call(token, 'POST', '/api/v1/handoffs', handOff('doc-hof-0001')));
    expect(created).toMatchObject({ status: 201, body: { status: 'open' } });
    const id = String(created.body.id);
    expect(
      await documented('post', '/api/v1/handoffs', await call(token, 'POST', '/api/v1/handoffs', handOff('doc-hof-0001'))),
    ).toMatchObject({
      status: 200,
    });
    const unknown = await call(token, 'POST', '/api/v1/handoffs', { ...handOff('doc-hof-0002'), kind: 'made-up' });
    expect(await documented('post', '/api/v1/handoffs', unknown)).toMatchObject({ status: 400, body: { error: 'unknown_kind' } });

    const read = (path: string) => call(token, 'GET', path).then((res) => documented('get', '/api/v1/handoffs/{id}', res));
    expect(await read(`/api/v1/handoffs/${id}`)).toMatchObject({ status: 200, body: { id, status: 'open' } });
    expect(await read(`/api/v1/handoffs/${id}?wait=-1`)).toMatchObject({ status: 400, body: { error: 'invalid_wait' } });
    expect(await read(`/api/v1/handoffs/${NO_HANDOFF}`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('an agent that may not act, and one whose record is gone while its token lives: refused on every route', async () => {
    const suspended = await agentWithToken('Documented suspended');
    const gone = await agentWithToken('Documented gone');
    await roster.services.agents.update(suspended.agent.id, { status: 'suspended' });
    await roster.db.connection.collection<{ _id: string }>('agents').deleteOne({ _id: gone.agent.id });
    for (const [{ token }, status, error] of [
      [suspended, 403, 'agent_not_active'],
      [gone, 404, 'unknown_agent'],
    ] as const) {
      const refusal = { status, body: { error } };
      const routes: Array<[string, string, string, unknown?]> = [
        ['post', '/api/v1/approvals', '/api/v1/approvals', ask('doc-gone-0001')],
        ['get', '/api/v1/approvals/{id}', `/api/v1/approvals/${NO_APPROVAL}`],
        ['post', '/api/v1/approvals/{id}/consume', `/api/v1/approvals/${NO_APPROVAL}/consume`, { details: {} }],
        ['post', '/api/v1/handoffs', '/api/v1/handoffs', handOff('doc-gone-0002')],
        ['get', '/api/v1/handoffs/{id}', `/api/v1/handoffs/${NO_HANDOFF}`],
      ];
      for (const [method, path, url, body] of routes)
        expect(await documented(method, path, await call(token, method.toUpperCase(), url, body))).toMatchObject(refusal);
    }
  });

  it('telemetry, the discovery documents and this document', async () => {
    const { key } = await agentWithToken('Documented reporter');
    const event = {
      eventId: 'doc-evt-0001',
      time: new Date().toISOString(),
      taskType: 'screen',
      outcome: 'success',
      latencyMs: 900,
      costUSD: 0.01,
    };
    const reported = await call(key, 'POST', '/api/v1/telemetry', { events: [event] });
    expect(await documented('post', '/api/v1/telemetry', reported)).toMatchObject({ status: 200 });
    for (const path of [
      '/.well-known/oauth-authorization-server',
      '/.well-known/jwks.json',
      '/.well-known/oauth-protected-resource/mcp',
      '/api/openapi.json',
    ])
      expect(await documented('get', path, await fetch(`${roster.baseUrl}${path}`))).toMatchObject({ status: 200 });
  });

  it('met every documented route but the MCP server (the MCP SDK client drives it: test/e2e/mcp-tools.test.ts)', () => {
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(routes.filter((route) => route !== 'post /mcp' && !met.has(route))).toEqual([]);
  });
});
