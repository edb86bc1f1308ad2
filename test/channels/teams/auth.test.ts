import { createTeamsChannel } from '../../../src/channels/teams/index.js';
import { createConversationStore } from '../../../src/store/conversation-store.js';
import { startTestRoster } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { memoryLogger } from '../../helpers/logger.js';
import { people } from '../../helpers/harness.js';
import { TENANT_ID, TeamsClient, teamsUser } from './teams-client.js';
import { BOT_FRAMEWORK_ISSUER, LocalJwks } from './local-jwks.js';
import { commandsOf } from '../../helpers/commands.js';

const CLIENT_ID = '0b3f5a8e-7c1d-4e2f-9a6b-1c2d3e4f5a6b';
/** Teams deliveries carry Bot Framework channel tokens; the channel keys are served on loopback by LocalJwks. */
const ISSUER = BOT_FRAMEWORK_ISSUER;

describe('Teams /api/messages authentication', () => {
  let connector: FakeConnector;
  let jwks: LocalJwks;
  let credentials: Record<string, string>;
  /** A token only a key other than the authority's signed. */
  const forgedToken = (claims: Record<string, unknown>) => jwks.sign(claims, { forged: true });
  beforeAll(async () => {
    connector = await FakeConnector.start();
    jwks = await LocalJwks.start();
    credentials = {
      connections__serviceConnection__settings__clientId: CLIENT_ID,
      connections__serviceConnection__settings__clientSecret: 'not-a-real-secret',
      connections__serviceConnection__settings__tenantId: TENANT_ID,
      // Keys are fetched from loopback, never from Microsoft: tests talk to 127.0.0.1 only.
      connections__serviceConnection__settings__authorityEndpoint: jwks.url,
      ROSTER_TEAMS_CHANNEL_KEYS_URL: jwks.channelKeysUrl,
      // The fake Bot Connector is on loopback (a test-only override, refused in production).
      ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR: 'true',
    };
  });
  afterAll(async () => {
    await connector.close();
    await jwks.close();
  });
  beforeEach(() => connector.reset());

  describe('with an Azure Bot registration configured', () => {
    let roster: Awaited<ReturnType<typeof startTestRoster>>;
    let client: TeamsClient;
    let mem: ReturnType<typeof memoryLogger>;
    beforeAll(async () => {
      mem = memoryLogger('info');
      roster = await startTestRoster({ channels: [createTeamsChannel], env: credentials, log: mem.log });
      client = new TeamsClient(roster.baseUrl, connector.serviceUrl);
    });
    afterAll(async () => {
      await roster?.stop();
    });

    const nothingHappened = async () => {
      expect(connector.calls).toEqual([]);
      expect(await createConversationStore(roster.db.connection).count()).toBe(0);
      expect(await roster.services.agents.list({})).toEqual([]);
    };

    it('refuses a request without a token (401) and stores nothing', async () => {
      const me = teamsUser(roster.chat.person(people.amara)!);
      expect((await client.install(me)).status).toBe(401);
      expect((await client.message(me, 'catalog')).status).toBe(401);
      await nothingHappened();
    });

    it('refuses malformed Authorization headers', async () => {
      const me = teamsUser(roster.chat.person(people.amara)!);
      for (const header of ['Bearer', 'Bearer not-a-jwt', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Bearer a.b.c d']) {
        expect((await client.message(me, 'catalog', { authorization: header })).status).toBe(401);
      }
      await nothingHappened();
    });

    it('refuses forged tokens: for another app, for this app but signed by someone else, or expired', async () => {
      const me = teamsUser(roster.chat.person(people.amara)!);
      const claims = { aud: CLIENT_ID, iss: ISSUER, tid: TENANT_ID, serviceurl: connector.serviceUrl };
      const otherApp = jwks.sign({ ...claims, aud: 'some-other-app' });
      expect((await client.message(me, 'catalog', { authorization: `Bearer ${otherApp}` })).status).toBe(401);
      // Right audience and issuer, but the signature is not from the authority's key (under its key id, or another).
      const forged = forgedToken(claims);
      expect((await client.message(me, 'catalog', { authorization: `Bearer ${forged}` })).status).toBe(401);
      const forgedUnderRealKid = jwks.sign(claims, { forged: true, kid: LocalJwks.KID });
      expect((await client.message(me, 'catalog', { authorization: `Bearer ${forgedUnderRealKid}` })).status).toBe(401);
      expect(jwks.fetches).toContain(LocalJwks.CHANNEL_KEYS_PATH);
      const expired = jwks.sign({ ...claims, iat: 1_700_000_000, nbf: 1_700_000_000, exp: 1_700_003_600 });
      expect((await client.message(me, 'catalog', { authorization: `Bearer ${expired}` })).status).toBe(401);
      await nothingHappened();
    });

    it('lets a token the authority signed for this app through (so the refusals above are the signature check)', async () => {
      const me = teamsUser(roster.chat.person(people.amara)!);
      const token = jwks.sign({ aud: CLIENT_ID, iss: ISSUER, tid: TENANT_ID, serviceurl: connector.serviceUrl });
      const accepted = await client.post({ ...client.base(me, 'installationUpdate'), action: 'add' }, { authorization: `Bearer ${token}` });
      expect(accepted.status).not.toBe(401);
      // Past the JWT check the SDK asks Entra for a token to reply with; with the authority on
      // plain-HTTP loopback MSAL refuses it, so the turn goes no further here (in production the
      // authority is https). That error proves the incoming token was accepted.
      const failure = mem.lines().find((l) => l.msg === 'the Agents SDK failed to process a Teams activity');
      expect((failure?.err as { errorCode?: string } | undefined)?.errorCode).toBe('authority_uri_insecure');
      expect(connector.calls).toEqual([]);
    });

    it('refuses a forged approval: the request stays exactly as it was', async () => {
      const { run } = await commandsOf(roster.services).requestAgent(people.grace, {
        roleId: 'kb-answerer',
        name: 'Forgery Target',
        purpose: 'Answers questions.',
        businessUnit: 'engineering',
        sponsors: [people.grace],
        justification: 'Tests.',
      });
      const before = await roster.services.runs.get(run.id);
      const noah = teamsUser(roster.chat.person('noah.fischer@brightwater.example')!);
      const forged = forgedToken({ aud: CLIENT_ID, iss: ISSUER, tid: TENANT_ID });
      const res = await client.post(
        {
          ...client.base(noah, 'invoke'),
          name: 'adaptiveCard/action',
          value: { action: { type: 'Action.Execute', verb: 'approval_approve', data: { runId: run.id, stepId: 'approvals' } } },
        },
        { authorization: `Bearer ${forged}` },
      );
      expect(res.status).toBe(401);
      expect(await roster.services.runs.get(run.id)).toEqual(before);
      expect(connector.calls).toEqual([]);
    });
  });

  describe('in production without a client id', () => {
    it('refuses every request with 401 and says why at start-up', async () => {
      const { log, lines } = memoryLogger('info');
      const roster = await startTestRoster({
        channels: [createTeamsChannel],
        env: { NODE_ENV: 'production', ROSTER_AUDIT_SIGNING_KEY: 'ab'.repeat(32) },
        log,
      });
      try {
        const client = new TeamsClient(roster.baseUrl, connector.serviceUrl);
        const me = teamsUser(roster.chat.person(people.amara)!);
        expect((await client.install(me)).status).toBe(401);
        expect((await client.message(me, 'help')).status).toBe(401);
        expect(connector.calls).toEqual([]);
        const warning = lines().find((l) => l.level === 40 && String(l.msg).includes('connections__serviceConnection__settings__clientId'));
        expect(warning?.msg).toContain('refused');
        expect(await roster.channels.find((c) => c.name === 'teams')!.notifier.canReach(roster.chat.person(people.amara)!)).toBe(false);
      } finally {
        await roster.stop();
      }
    });
  });

  describe('in anonymous local mode', () => {
    let roster: Awaited<ReturnType<typeof startTestRoster>>;
    let client: TeamsClient;
    beforeAll(async () => {
      roster = await startTestRoster({ channels: [createTeamsChannel] });
      client = new TeamsClient(roster.baseUrl, connector.serviceUrl);
    });
    afterAll(async () => {
      await roster?.stop();
    });

    it('answers bad JSON and bodies that are not activities with 400, never 500', async () => {
      const me = teamsUser(roster.chat.person(people.amara)!);
      expect((await client.post('{"type": "message", ')).status).toBe(400);
      expect((await client.post({})).status).toBe(400);
      expect((await client.post([1, 2, 3])).status).toBe(400);
      expect((await client.post({ ...client.base(me, 'message'), conversation: undefined, text: 'help' })).status).toBe(400);
      expect((await client.post({ ...client.base(me, 'message'), type: 42 })).status).toBe(400);
      expect((await client.post({ ...client.base(me, 'message'), serviceUrl: 'not a url' })).status).toBe(400);
      const plain = await fetch(`${roster.baseUrl}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'help',
      });
      expect(plain.status).toBe(400);
      expect((await fetch(`${roster.baseUrl}/api/messages`)).status).toBe(405);
      expect(connector.calls).toEqual([]);
    });

    it('still verifies a token when one is sent', async () => {
      const me = teamsUser(roster.chat.person(people.amara)!);
      const token = forgedToken({ aud: 'anything', iss: ISSUER });
      expect((await client.message(me, 'help', { authorization: `Bearer ${token}` })).status).toBe(401);
      expect((await client.message(me, 'help')).status).toBe(200);
      expect(connector.posts(me.conversationId)).toHaveLength(1);
    });
  });
});
