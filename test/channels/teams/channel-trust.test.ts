import { createTeamsChannel } from '../../../src/channels/teams/index.js';
import { createConversationStore } from '../../../src/store/conversation-store.js';
import { startTestRoster } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { memoryLogger } from '../../helpers/logger.js';
import { people } from '../../helpers/harness.js';
import { TENANT_ID, TeamsClient, teamsUser, type TeamsUser } from './teams-client.js';
import { BOT_FRAMEWORK_ISSUER, LocalJwks } from './local-jwks.js';
import { commandsOf } from '../../helpers/commands.js';

const CLIENT_ID = '0b3f5a8e-7c1d-4e2f-9a6b-1c2d3e4f5a6b';
const FOREIGN_TENANT = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
/** Another app registered in the same tenant: it can mint app-only tokens for Roster's app id. */
const OTHER_APP = 'c0ffee00-1234-4abc-9def-0123456789ab';

/**
 * Credentials mode trusts Teams only. Every token below is signed by the loopback authority's own
 * key (the one the channel key set publishes), so each refusal comes from the check named in the
 * test, not from the signature; the positive control shows a proper channel token gets through.
 */
describe('Teams credentials mode trusts only Teams', () => {
  let jwks: LocalJwks;
  let connector: FakeConnector;
  /** Where an attacker would like Roster's replies (and its Bot Connector token) to go. */
  let attacker: FakeConnector;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let client: TeamsClient;
  let mem: ReturnType<typeof memoryLogger>;
  let credentials: Record<string, string>;

  beforeAll(async () => {
    jwks = await LocalJwks.start();
    connector = await FakeConnector.start();
    attacker = await FakeConnector.start();
    credentials = {
      connections__serviceConnection__settings__clientId: CLIENT_ID,
      connections__serviceConnection__settings__clientSecret: 'not-a-real-secret',
      connections__serviceConnection__settings__tenantId: TENANT_ID,
      connections__serviceConnection__settings__authorityEndpoint: jwks.url,
      ROSTER_TEAMS_CHANNEL_KEYS_URL: jwks.channelKeysUrl,
    };
    mem = memoryLogger('info');
    roster = await startTestRoster({
      channels: [createTeamsChannel],
      env: { ...credentials, ROSTER_TEAMS_ALLOW_LOOPBACK_CONNECTOR: 'true' },
      log: mem.log,
    });
    client = new TeamsClient(roster.baseUrl, connector.serviceUrl);
  });
  afterAll(async () => {
    await roster?.stop();
    await connector.close();
    await attacker.close();
    await jwks.close();
  });
  /** Log lines already there when the test started: each test judges only its own. */
  let linesBefore = 0;
  beforeEach(() => {
    connector.reset();
    attacker.reset();
    linesBefore = mem.lines().length;
  });

  const channelClaims = () => ({ aud: CLIENT_ID, iss: BOT_FRAMEWORK_ISSUER, serviceurl: connector.serviceUrl });
  const bearer = (claims: Record<string, unknown>) => ({ authorization: `Bearer ${jwks.sign(claims)}` });
  const me = (): TeamsUser => teamsUser(roster.chat.person(people.amara)!);
  const sdkFailures = () =>
    mem
      .lines()
      .slice(linesBefore)
      .filter((l) => l.msg === 'the Agents SDK failed to process a Teams activity');

  /** Nothing stored, nothing sent anywhere, the SDK never reached. */
  const nothingHappened = async () => {
    expect(connector.calls).toEqual([]);
    expect(attacker.calls).toEqual([]);
    expect(await createConversationStore(roster.db.connection).count()).toBe(0);
    expect(sdkFailures()).toEqual([]);
  };

  it('refuses a token from another issuer, even one signed with the channel key', async () => {
    for (const iss of [
      'https://api.botframework.com.evil.example',
      'https://login.botframework.com',
      `https://sts.windows.net/${TENANT_ID}/`,
    ]) {
      expect((await client.message(me(), 'catalog', bearer({ ...channelClaims(), iss }))).status).toBe(401);
    }
    await nothingHappened();
  });

  it("refuses an app-only token another app in the tenant minted for Roster's app id", async () => {
    const appOnly = {
      aud: CLIENT_ID,
      tid: TENANT_ID,
      azp: OTHER_APP,
      appid: OTHER_APP,
      idtyp: 'app',
      roles: [],
      serviceurl: connector.serviceUrl,
    };
    const v2 = bearer({ ...appOnly, iss: `https://login.microsoftonline.com/${TENANT_ID}/v2.0` });
    const v1 = bearer({ ...appOnly, iss: `https://sts.windows.net/${TENANT_ID}/` });
    expect((await client.message(me(), 'catalog', v2)).status).toBe(401);
    expect((await client.message(me(), 'catalog', v1)).status).toBe(401);
    // Impersonating an approver with it changes nothing either.
    const { run } = await commandsOf(roster.services).requestAgent(people.grace, {
      roleId: 'kb-answerer',
      name: 'App-only Target',
      purpose: 'Answers questions.',
      businessUnit: 'engineering',
      sponsors: [people.grace],
      justification: 'Tests.',
    });
    const before = await roster.services.runs.get(run.id);
    const noah = teamsUser(roster.chat.person('noah.fischer@brightwater.example')!);
    const click = {
      ...client.base(noah, 'invoke'),
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: 'approval_approve', data: { runId: run.id, stepId: 'approvals' } } },
    };
    expect((await client.post(click, v2)).status).toBe(401);
    expect(await roster.services.runs.get(run.id)).toEqual(before);
    await nothingHappened();
  });

  it('refuses an activity whose serviceUrl is not the one the token vouches for (or a token that vouches for none)', async () => {
    const toAttacker = { ...client.base(me(), 'message'), text: 'catalog', serviceUrl: attacker.serviceUrl };
    expect((await client.post(toAttacker, bearer(channelClaims()))).status).toBe(401);
    const { serviceurl: _omitted, ...withoutServiceUrl } = channelClaims();
    expect((await client.message(me(), 'catalog', bearer(withoutServiceUrl))).status).toBe(401);
    await nothingHappened();
  });

  it('refuses activities from another channel than Teams', async () => {
    for (const channelId of ['webchat', 'directline', 'emulator']) {
      const activity = { ...client.base(me(), 'message'), text: 'catalog', channelId };
      expect((await client.post(activity, bearer(channelClaims()))).status).toBe(403);
    }
    await nothingHappened();
  });

  it('refuses a foreign tenant, and an activity that names no tenant', async () => {
    const foreign = {
      ...client.base(me(), 'message'),
      text: 'catalog',
      conversation: { id: me().conversationId, conversationType: 'personal', tenantId: FOREIGN_TENANT },
      channelData: { tenant: { id: FOREIGN_TENANT } },
    };
    expect((await client.post(foreign, bearer(channelClaims()))).status).toBe(403);
    const noTenant = {
      ...client.base(me(), 'message'),
      text: 'catalog',
      conversation: { id: me().conversationId, conversationType: 'personal' },
      channelData: {},
    };
    expect((await client.post(noTenant, bearer(channelClaims()))).status).toBe(403);
    // Our tenant on the conversation but a foreign one in channelData: which one would Roster believe? Neither.
    const mixed = { ...client.base(me(), 'message'), text: 'catalog', channelData: { tenant: { id: FOREIGN_TENANT } } };
    expect((await client.post(mixed, bearer(channelClaims()))).status).toBe(403);
    await nothingHappened();
  });

  it('lets a proper Teams channel token through (positive control)', async () => {
    const res = await client.post({ ...client.base(me(), 'installationUpdate'), action: 'add' }, bearer(channelClaims()));
    expect(res.status).not.toBe(401);
    expect(res.status).not.toBe(403);
    // Admitted, the SDK asks Entra for a token to reply with; the loopback authority is plain HTTP,
    // which MSAL refuses, so the turn stops there. That error proves every check above passed.
    const [failure] = sdkFailures();
    expect((failure?.err as { errorCode?: string } | undefined)?.errorCode).toBe('authority_uri_insecure');
    expect(attacker.calls).toEqual([]);
  });

  describe('without the test-only loopback override', () => {
    let strict: Awaited<ReturnType<typeof startTestRoster>>;
    let strictLog: ReturnType<typeof memoryLogger>;
    beforeAll(async () => {
      strictLog = memoryLogger('info');
      strict = await startTestRoster({
        channels: [createTeamsChannel],
        env: { ...credentials, ROSTER_TEAMS_TENANT_IDS: `${TENANT_ID},${FOREIGN_TENANT}` },
        log: strictLog.log,
      });
    });
    afterAll(async () => {
      await strict?.stop();
    });

    it('never calls a Bot Connector outside Microsoft, even with a token that vouches for it', async () => {
      const strictClient = new TeamsClient(strict.baseUrl, attacker.serviceUrl);
      const user = teamsUser(strict.chat.person(people.amara)!);
      const claims = { aud: CLIENT_ID, iss: BOT_FRAMEWORK_ISSUER, serviceurl: attacker.serviceUrl };
      expect((await strictClient.message(user, 'catalog', bearer(claims))).status).toBe(403);
      expect((await strictClient.install(user)).status).toBe(401);
      expect(attacker.calls).toEqual([]);
      expect(await createConversationStore(strict.db.connection).count()).toBe(0);
    });

    it('accepts the tenants ROSTER_TEAMS_TENANT_IDS lists (up to the host check)', async () => {
      // The foreign tenant is listed here, so the only refusal left is the connector host's.
      const strictClient = new TeamsClient(strict.baseUrl, attacker.serviceUrl);
      const user = teamsUser(strict.chat.person(people.amara)!);
      const claims = { aud: CLIENT_ID, iss: BOT_FRAMEWORK_ISSUER, serviceurl: attacker.serviceUrl };
      const activity = {
        ...strictClient.base(user, 'message'),
        text: 'catalog',
        conversation: { id: user.conversationId, conversationType: 'personal', tenantId: FOREIGN_TENANT },
      };
      expect((await strictClient.post(activity, bearer(claims))).status).toBe(403);
      const refusal = strictLog
        .lines()
        .filter((l) => l.msg === 'refused a Teams request')
        .at(-1);
      expect(refusal?.reason).toBe('the serviceUrl is not a Microsoft Bot Connector host');
      expect(attacker.calls).toEqual([]);
    });
  });
});
