import { randomBytes } from 'node:crypto';
import type { CommandStartedEvent } from 'mongodb';
import { startTestRoster } from '../helpers/app.js';
import { monitoredUri, testMongoUri, uniqueDbName } from '../helpers/db.js';
import { findPersonByEmail } from '../../src/config/directory.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { grantRecord, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { agentWithKey, claimsOf, GATEWAY, gatewayEnv, postForm } from './support.js';
import { agentRuntimeHandlers } from '../../src/commands/handlers/agent-runtime.js';
import { asAgent } from '../../src/commands/index.js';
import { LiveScopes } from '../../src/core/live-scopes.js';
import { liveAccessReader } from '../../src/store/live-access-store.js';
import { asGrantId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * The agent API answers from an agent and its grants read at most ROSTER_ACCESS_CACHE_MS (500 ms)
 * ago, one read shared by the calls asking at once. The bound it promises: a revocation, a
 * suspension or a key revoked on this process is seen by the very next call; on another process
 * on the same database, within 1 s.
 */

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const DAY = 86_400_000;
const CACHE_MS = 500;

async function tokenOf(roster: Roster, agent: { id: string }, key: string): Promise<{ status: number; token: string; scope: string }> {
  const res = await postForm(`${roster.baseUrl}/oauth/token`, { grant_type: 'client_credentials' }, { id: agent.id, secret: key });
  return { status: res.status, token: String(res.body.access_token ?? ''), scope: String(res.body.scope ?? res.body.error) };
}

async function check(roster: Roster, token: string, scope: string): Promise<{ allowed: boolean; reason: string }> {
  const res = await fetch(`${roster.baseUrl}/api/v1/access/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ scope }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { allowed: boolean; reason: string };
}

async function active(roster: Roster, token: string): Promise<boolean> {
  const res = await postForm(`${roster.baseUrl}/oauth/introspect`, { token }, { id: GATEWAY.id, secret: GATEWAY.secret });
  expect(res.status).toBe(200);
  return res.body.active === true;
}

describe('the live-access cache on one process: its own writes are seen by the very next call', () => {
  let roster: Roster;
  // The cache's clock stands still unless a test moves it: without the invalidation at each
  // write, every answer below would come from the first read.
  let cacheNow = 0;
  const commands: CommandStartedEvent[] = [];

  beforeAll(async () => {
    roster = await startTestRoster({
      env: gatewayEnv({ MONGODB_URI: monitoredUri(testMongoUri()), ROSTER_ACCESS_CACHE_MS: String(CACHE_MS) }),
      accessCacheClock: () => cacheNow,
    });
    roster.db.connection.getClient().on('commandStarted', (event) => commands.push(event));
  });
  afterAll(async () => {
    await roster?.stop();
  });

  it('another replica’s write is seen once the cache lifetime has passed; this process’s revocation at the very next call', async () => {
    const { agent, key, grants } = await agentWithKey(roster.services, [
      { scope: 'kb:read', expiresInMs: DAY },
      { scope: 'tickets:read', expiresInMs: DAY },
      { scope: 'crm:read', expiresInMs: DAY },
    ]);
    const { token } = await tokenOf(roster, agent, key);
    expect(await check(roster, token, 'crm:read')).toMatchObject({ allowed: true, reason: 'granted' });

    // Another replica revokes crm:read in the database: within the cache lifetime this process may
    // still answer from its read (this is what makes the assertions below able to fail).
    await roster.db.connection
      .collection('grants')
      .updateOne({ _id: grants[2]!.id as never }, { $set: { status: 'revoked', endedAt: new Date().toISOString() } });
    expect(await check(roster, token, 'crm:read')).toMatchObject({ allowed: true });
    expect(await active(roster, token)).toBe(true);
    cacheNow += CACHE_MS;
    expect(await check(roster, token, 'crm:read')).toMatchObject({ allowed: false, reason: 'revoked' });
    expect(await active(roster, token)).toBe(false);

    // Revoked here, through Roster: the very next call of every kind knows, the clock unmoved.
    const fresh = await tokenOf(roster, agent, key);
    expect(fresh.scope).toBe('kb:read tickets:read');
    expect(await check(roster, fresh.token, 'tickets:read')).toMatchObject({ allowed: true });
    expect(await active(roster, fresh.token)).toBe(true);
    await commandsOf(roster.services).revokeGrant(people.tom, grants[1]!.id, 'No longer reads tickets');
    expect(await check(roster, fresh.token, 'tickets:read')).toMatchObject({ allowed: false, reason: 'revoked' });
    expect(await active(roster, fresh.token)).toBe(false);
    expect((await tokenOf(roster, agent, key)).scope).toBe('kb:read');
  });

  it('a suspension, a reactivation, a new grant, a revoked key and a retirement made here: seen at the very next call', async () => {
    const { agent, key } = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const { token } = await tokenOf(roster, agent, key);
    expect(await check(roster, token, 'kb:read')).toMatchObject({ allowed: true });

    await roster.services.agents.transition(agent.id, 'active', 'suspended');
    expect(await check(roster, token, 'kb:read')).toMatchObject({ allowed: false, reason: 'agent_not_active' });
    expect(await active(roster, token)).toBe(false);
    expect(await tokenOf(roster, agent, key)).toMatchObject({ status: 401, scope: 'invalid_client' });

    await roster.services.agents.update(agent.id, { status: 'active' });
    expect(await check(roster, token, 'kb:read')).toMatchObject({ allowed: true });
    await roster.services.grants.insertMany([
      grantRecord(agent.id, 'crm:read', {
        id: asGrantId(`${agent.id}:crm:read:new`),
        reason: 'approved just now',
        startsAt: new Date(Date.now() - 1000).toISOString(),
        source: 'request',
      }),
    ]);
    expect((await tokenOf(roster, agent, key)).scope).toBe('crm:read kb:read');

    expect(await roster.services.agentKeys.revokeKeys(people.tom, agent.id, 'leaked in a log')).toBe(1);
    expect(await tokenOf(roster, agent, key)).toMatchObject({ status: 401, scope: 'invalid_client' });

    const retiring = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    expect((await tokenOf(roster, retiring.agent, retiring.key)).status).toBe(200);
    await roster.services.agents.transition(retiring.agent.id, 'active', 'retired');
    expect(await tokenOf(roster, retiring.agent, retiring.key)).toMatchObject({ status: 401, scope: 'invalid_client' });
  });

  it('a boundary change approved here applies to the very next request; another replica’s once the lifetime has passed', async () => {
    const { agent, key } = await agentWithKey(roster.services, [], {
      catalogRoleId: 'procurement-agent',
      businessUnit: 'risk-compliance',
      sponsors: [people.maya],
      requestedBy: people.daniel,
    });
    const { token } = await tokenOf(roster, agent, key);
    const ask = async (action: string, idempotencyKey: string) => {
      const res = await fetch(`${roster.baseUrl}/api/v1/approvals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ action, summary: 'Compare supplier offers.', idempotency_key: idempotencyKey }),
      });
      return ((await res.json()) as { status: string }).status;
    };
    expect(await ask('suppliers.read', 'boundary-cache-0001')).toBe('allowed');

    // Approved here, through Roster: the very next request is refused, the cache clock unmoved.
    const org = loadOrgConfig(SHIPPED_CONFIG);
    const person = (email: string) => findPersonByEmail(org, email)!;
    const change = await roster.services.bus.execute(person(people.maya), {
      type: 'boundary.request',
      agent: agent.id,
      action: 'suppliers.read',
      mode: 'forbidden',
      reason: 'Supplier data is under a legal hold this quarter.',
    });
    expect(await ask('suppliers.read', 'boundary-cache-0002')).toBe('allowed'); // asked for, not decided
    await roster.services.bus.execute(person(people.liam), { type: 'boundary.decide', changeId: change.id, decision: 'approve' });
    expect(await ask('suppliers.read', 'boundary-cache-0003')).toBe('denied');

    // Another replica approves a change back to autonomous, written straight to the database.
    await roster.db.connection.collection('boundary_changes').insertOne({
      _id: 'bch_remote_0001' as never,
      agentId: agent.id,
      action: 'suppliers.read',
      from: 'forbidden',
      to: 'autonomous',
      status: 'approved',
      createdAt: new Date(Date.now() + 1000).toISOString(),
    });
    expect(await ask('suppliers.read', 'boundary-cache-0004')).toBe('denied');
    cacheNow += CACHE_MS;
    expect(await ask('suppliers.read', 'boundary-cache-0005')).toBe('allowed');
  });

  it('a request refused before it looks at its boundary (a body the schema refuses) leaves no failed read behind', async () => {
    const { agent } = await agentWithKey(roster.services, []);
    // Every ask reads (no cache), and the read after the agent's fails: the boundary's.
    const read = liveAccessReader(roster.db.connection);
    let reads = 0;
    const live = new LiveScopes({
      read: async (agentId) => {
        reads += 1;
        if (reads > 1) throw new Error('the database went away');
        return read(agentId);
      },
    });
    const handler = agentRuntimeHandlers({
      org: loadOrgConfig(SHIPPED_CONFIG),
      live,
      runtime: roster.services.runtime,
      handoffs: roster.services.handoffs,
      ingest: roster.services.supervision.ingest,
      knownResource: () => false,
    })['runtime.approval.request'];
    // The stages the bus runs, on a handler reading through this failing live access.
    const requestApproval = async (body: unknown) => {
      const actor = asAgent(agent.id);
      const command = { type: 'runtime.approval.request' as const, body };
      const subject = await handler.load(actor, command);
      handler.authorise(actor, subject);
      return handler.handle(actor, command, subject);
    };
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      await expect(requestApproval({ action: 'kb.search', idempotency_key: 'refused-0001' })).rejects.toMatchObject({
        status: 400,
      });
      expect(reads).toBe(2);
      // Node reports an unhandled rejection once the microtasks are done: the next turn of the loop.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', note);
    }
  });

  it('200 calls at once for one agent read it once; its own key needs no read at the token endpoint', async () => {
    const { agent, key } = await agentWithKey(roster.services, [{ scope: 'kb:read', expiresInMs: DAY }]);
    const { token } = await tokenOf(roster, agent, key);
    const reads = (from: number) =>
      commands.slice(from).filter((c) => c.commandName === 'aggregate' && c.command.aggregate === 'agents').length;
    const keyLookups = (from: number) =>
      commands.slice(from).filter((c) => c.commandName === 'find' && JSON.stringify(c.command.filter).includes('credentials.hash')).length;

    cacheNow += CACHE_MS; // nothing remembered
    const from = commands.length;
    const answers = await Promise.all(Array.from({ length: 200 }, () => check(roster, token, 'kb:read')));
    expect(answers.every((a) => a.allowed)).toBe(true);
    expect(reads(from)).toBe(1);

    const next = commands.length;
    const introspected = await Promise.all(Array.from({ length: 100 }, () => active(roster, token)));
    const issued = await Promise.all(Array.from({ length: 100 }, () => tokenOf(roster, agent, key)));
    expect(introspected.every(Boolean)).toBe(true);
    expect(issued.every((t) => t.status === 200 && t.scope === 'kb:read')).toBe(true);
    expect(reads(next)).toBe(0);
    expect(keyLookups(next)).toBe(0);

    // A wrong secret for a known client is still refused (and looked up: it may be another agent's key).
    expect(await tokenOf(roster, agent, `${key}x`)).toMatchObject({ status: 401, scope: 'invalid_client' });
    expect(keyLookups(next)).toBe(1);
  });
});

describe('the live-access cache across two Roster processes on one database', () => {
  let a: Roster;
  let b: Roster;

  beforeAll(async () => {
    // Replicas share the signing keys (stored sealed under one KEK) and the issuer (the public URL).
    const env = gatewayEnv({ ROSTER_OAUTH_KEK: randomBytes(32).toString('base64'), ROSTER_PUBLIC_URL: 'http://roster.replicas.test' });
    const dbName = uniqueDbName('replicas');
    a = await startTestRoster({ env, dbName });
    b = await startTestRoster({ env, dbName });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('a grant revoked on one process is refused by the other for every call it receives 1 s after the revocation', async () => {
    const { agent, key, grants } = await agentWithKey(a.services, [
      { scope: 'kb:read', expiresInMs: DAY },
      { scope: 'crm:read', expiresInMs: DAY },
    ]);
    const { token } = await tokenOf(a, agent, key);
    expect(claimsOf(token).scope).toBe('crm:read kb:read');
    // The other process has read the agent and its grants, and remembers them.
    expect(await check(b, token, 'crm:read')).toMatchObject({ allowed: true });
    expect(await active(b, token)).toBe(true);

    await commandsOf(a.services).revokeGrant(people.tom, grants[1]!.id, 'Done with the CRM');
    const revokedAt = performance.now();
    expect(await check(a, token, 'crm:read')).toMatchObject({ allowed: false, reason: 'revoked' });

    // The other process is asked over and over; whatever it answered before, every request it
    // receives from 1 s after the revocation on is refused. Timed by when each request was sent,
    // so a slow machine does not blur the bound.
    const late: Array<{ sentAfterMs: number; allowed: boolean; reason: string; active: boolean }> = [];
    while (late.length < 3) {
      const sentAfterMs = performance.now() - revokedAt;
      const [answer, stillActive] = await Promise.all([check(b, token, 'crm:read'), active(b, token)]);
      if (sentAfterMs >= 1000) late.push({ sentAfterMs, ...answer, active: stillActive });
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(late.map(({ allowed, reason, active }) => ({ allowed, reason, active }))).toEqual(
      late.map(() => ({ allowed: false, reason: 'revoked', active: false })),
    );
    expect((await tokenOf(b, agent, key)).scope).toBe('kb:read');
  });
});
