import { createConversationStore } from '../../../src/store/conversation-store.js';
import { startTeamsTestRoster, type TeamsTestRoster } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { loadOrgConfig } from '../../../src/config/org-config.js';
import { passingEvaluation, people, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { cardText } from './card-reading.js';
import { TeamsClient, teamsUser } from './teams-client.js';
import { commandsOf } from '../../helpers/commands.js';

const noahEmail = 'noah.fischer@brightwater.example'; // approver:engineering

/**
 * Anonymous local mode (no Teams credentials) is for the Agents Playground on this machine: it
 * listens on loopback, answers direct loopback callers only, replies only to a connector on
 * loopback, and learns how to reach nobody but the sender of an activity.
 */
describe('Teams anonymous local mode', () => {
  let t: TeamsTestRoster;
  /** A second connector on loopback, where an attacker would like other people's cards to go. */
  let attacker: FakeConnector;
  let attackerClient: TeamsClient;

  beforeAll(async () => {
    t = await startTeamsTestRoster();
    attacker = await FakeConnector.start();
    attackerClient = new TeamsClient(t.roster.baseUrl, attacker.serviceUrl);
  });
  afterAll(async () => {
    await t?.stop();
    await attacker?.close();
  });
  beforeEach(() => {
    t.connector.reset();
    attacker.reset();
  });

  const store = () => createConversationStore(t.roster.db.connection);

  it('membersAdded never redirects anyone else: only the sender is remembered', async () => {
    const noah = teamsUser(t.roster.chat.person(noahEmail)!);
    const grace = teamsUser(t.roster.chat.person(people.grace)!);
    const amara = teamsUser(t.roster.chat.person(people.amara)!);
    // Noah installs Roster: his reference points at his connector.
    expect((await t.client.install(noah)).status).toBe(200);
    expect((await t.client.membersAdded(noah)).status).toBe(200);
    const noahBefore = await store().get(noah.aadObjectId);
    expect(noahBefore).toMatchObject({ serviceUrl: t.connector.serviceUrl, conversationId: noah.conversationId });

    // Amara claims, from her own conversation on her connector, that Noah and Grace were added.
    const claim = await attackerClient.membersAdded(amara, [
      { id: noah.id, aadObjectId: noah.aadObjectId, name: noah.name },
      { id: grace.id, aadObjectId: grace.aadObjectId, name: grace.name },
    ]);
    expect(claim.status).toBe(200);
    expect(await store().get(noah.aadObjectId)).toMatchObject({
      serviceUrl: t.connector.serviceUrl,
      userId: noah.id,
      conversationId: noah.conversationId,
    });
    expect(await store().get(grace.aadObjectId)).toBeUndefined();
    // Amara herself, the sender, is remembered (she spoke to Roster).
    expect(await store().get(amara.aadObjectId)).toMatchObject({ serviceUrl: attacker.serviceUrl });

    // Noah's next approval card goes to Noah, not to the attacker's connector.
    const { agentId } = await commandsOf(t.roster.services).requestAgent(people.grace, {
      roleId: 'kb-answerer',
      name: 'Redirect Target',
      purpose: 'Answers questions.',
      businessUnit: 'engineering',
      sponsors: [people.grace],
      justification: 'Tests.',
    });
    await commandsOf(t.roster.services).submitEvaluation(
      people.liam,
      agentId,
      passingEvaluation(loadOrgConfig(SHIPPED_CONFIG), 'kb-answerer'),
    );
    const deadline = Date.now() + 15_000;
    while (!t.connector.posts(noah.conversationId).some((p) => cardText(FakeConnector.card(p)).includes('Redirect Target'))) {
      if (Date.now() > deadline) throw new Error('Noah never got the approval card');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(attacker.calls).toEqual([]);
  });

  it('answers only direct loopback callers: a request relayed by a reverse proxy gets 401', async () => {
    const me = teamsUser(t.roster.chat.person(people.amara)!);
    const relayed: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.7' },
      { forwarded: 'for=203.0.113.7;proto=https' },
      { 'x-real-ip': '203.0.113.7' },
    ];
    for (const headers of relayed) expect((await t.client.message(me, 'catalog', headers)).status).toBe(401);
    expect(t.connector.calls).toEqual([]);
    // The same request straight from this machine is answered (so the 401s are the proxy check).
    expect((await t.client.message(me, 'catalog')).status).toBe(200);
    expect(t.connector.posts(me.conversationId)).toHaveLength(1);
  });

  it('never calls a serviceUrl off loopback, whether posted or found in a stored reference', async () => {
    const me = teamsUser(t.roster.chat.person(people.marcus)!);
    const offLoopback = 'http://connector.invalid/teams/';
    const posted = await t.client.post({ ...t.client.base(me, 'message'), text: 'catalog', serviceUrl: offLoopback });
    expect(posted.status).toBe(403);
    expect(await store().get(me.aadObjectId)).toBeUndefined();

    // A reference written before this check existed: proactive cards to it are refused by the SDK's host policy.
    await store().save({
      aadObjectId: me.aadObjectId,
      userId: me.id,
      botId: '28:roster-test-bot',
      serviceUrl: offLoopback,
      channelId: 'msteams',
      conversationId: me.conversationId,
    });
    const teams = t.roster.channels.find((c) => c.name === 'teams')!;
    const marcus = t.roster.chat.person(people.marcus)!;
    const card = t.roster.chat.notice('info', 'Hello', 'Hi');
    await expect(teams.notifier.send(marcus, { kind: card.kind, data: card.data as unknown as Record<string, unknown> })).rejects.toThrow(
      /not in the configured allowed hosts/,
    );
    expect(t.connector.calls).toEqual([]);
  });
});
